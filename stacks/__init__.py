"""Composition of the constructs per team, from a validated config file."""

from .app_builder import build_app, register_compliance_checks
from .config import ConfigError, PlatformConfig, load_config, parse_config
from .platform_stack import PlatformStack
from .studio_stack import StudioStack
from .team_stack import TeamStack

__all__ = [
    "ConfigError",
    "PlatformConfig",
    "PlatformStack",
    "StudioStack",
    "TeamStack",
    "build_app",
    "load_config",
    "parse_config",
    "register_compliance_checks",
]
