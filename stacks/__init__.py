"""Composition of the constructs per team, from a validated config file."""

from .app_builder import build_app
from .config import ConfigError, PlatformConfig, load_config, parse_config
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
    "StudioStack",
    "TeamNotebookStack",
    "TeamStack",
    "build_app",
    "load_config",
    "parse_config",
]
