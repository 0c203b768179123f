"""Build every stack of the platform from a validated config."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Environment, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks

from .config import PlatformConfig
from .platform_stack import PlatformStack
from .studio_stack import StudioStack
from .team_stack import TeamStack


@dataclass
class PlatformApp:
    platform: PlatformStack
    teams: dict[str, TeamStack]
    studio: StudioStack | None = None

    @property
    def stacks(self) -> list[Stack]:
        return [self.platform, *([self.studio] if self.studio else []), *self.teams.values()]


def build_app(app: App, config: PlatformConfig) -> PlatformApp:
    """Add the platform stack, the Studio stack (with ``studio``) and one per team to ``app``."""
    settings = config.platform
    env = None
    if settings.env.account or settings.env.region:
        env = Environment(account=settings.env.account, region=settings.env.region)
    prefix = settings.prefix

    platform = PlatformStack(
        app,
        f"{prefix}-platform",
        settings=settings,
        env=env,
        description="SageMaker notebook platform: network, shared key, log groups",
    )
    studio: StudioStack | None = None
    if settings.studio is not None:
        studio = StudioStack(
            app,
            f"{prefix}-studio",
            settings=settings.studio,
            network=platform.network,
            log_key=platform.key,
            log_retention_days=settings.log_retention_days,
            prefix=prefix,
            package_mirror=settings.package_mirror,
            env=env,
            description="SageMaker Studio domain (VPC only) shared by the teams",
        )
    teams: dict[str, TeamStack] = {}
    for team in config.teams:
        stack = TeamStack(
            app,
            f"{prefix}-team-{team.name}",
            team=team,
            network=platform.network,
            access_logs_bucket=platform.access_logs_bucket,
            package_mirror=settings.package_mirror,
            guardrails=settings.guardrails,
            prefix=prefix,
            studio_domain=studio.domain if studio else None,
            env=env,
            description=f"SageMaker notebooks of team {team.name}",
        )
        teams[team.name] = stack
    for key, value in settings.tags.items():
        Tags.of(app).add(key, value)
    return PlatformApp(platform=platform, teams=teams, studio=studio)


def register_compliance_checks(app: App) -> None:
    """Run cdk-nag's AwsSolutions, HIPAA, NIST 800-53 rev 5 and PCI DSS 3.2.1 packs at synth.

    An unacknowledged finding of any pack fails synth.
    """
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True),
        HIPAASecurityChecks(app),
        NIST80053R5Checks(app),
        PCIDSS321Checks(app),
    )
