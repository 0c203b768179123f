"""Composition of the constructs per team, from a validated config file."""

from .app_builder import build_app, register_compliance_checks
from .config import ConfigError, PlatformConfig, load_config, parse_config
from .limits import StackLimitsCheck, assembly_problems
from .pipeline_stack import PipelineStack, PlatformStage
from .platform_stack import PlatformStack
from .studio_stack import StudioStack
from .team_stack import TeamNotebookStack, TeamStack

__all__ = [
    "ConfigError",
    "PipelineStack",
    "PlatformConfig",
    "PlatformStack",
    "PlatformStage",
    "StackLimitsCheck",
    "StudioStack",
    "TeamNotebookStack",
    "TeamStack",
    "assembly_problems",
    "build_app",
    "load_config",
    "parse_config",
    "register_compliance_checks",
]
