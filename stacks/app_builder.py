"""Build every stack of the platform from a validated config."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Environment, Stack, Stage, Tags
from constructs import Construct

from sagemaker_constructs import ConstructValidationError, Problem

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
    def team_stacks(self) -> list[Stack]:
        """Every team stack: each team's first stack, then its notebook stacks, if any."""
        return [s for team in self.teams.values() for s in (team, *team.notebook_stacks)]

    @property
    def stacks(self) -> list[Stack]:
        return [self.platform, *([self.studio] if self.studio else []), *self.team_stacks]


def build_app(scope: Construct, config: PlatformConfig) -> PlatformApp:
    """Add the platform stack, the Studio stack (with ``studio``) and the team stacks.

    ``scope`` is the ``App``, or a ``Stage`` such as a pipeline stage: the same stacks,
    with the same IDs and stack names, are built into either. Stacks built into the App
    deploy to ``platform.env`` (environment-agnostic when unset); in a Stage they take
    the Stage's environment. A team's notebooks are spread over several stacks when one
    would come near CloudFormation's limits (see :class:`TeamStack`).
    """
    settings = config.platform
    env = None
    in_stage = Stage.is_stage(scope) and not App.is_app(scope)
    if not in_stage and (settings.env.account or settings.env.region):
        env = Environment(account=settings.env.account, region=settings.env.region)
    prefix = settings.prefix

    def stack_args(stack_id: str, description: str) -> dict:
        # The stack name is the ID in a Stage too (CDK would prefix the stage's name), so
        # a platform deployed with `cdk deploy` keeps its stacks when a pipeline takes over.
        return {"env": env, "stack_name": stack_id, "description": description}

    platform = PlatformStack(
        scope,
        f"{prefix}-platform",
        settings=settings,
        **stack_args(
            f"{prefix}-platform", "SageMaker notebook platform: network, shared key, log groups"
        ),
    )
    studio: StudioStack | None = None
    if settings.studio is not None:
        studio = StudioStack(
            scope,
            f"{prefix}-studio",
            settings=settings.studio,
            network=platform.network,
            log_key=platform.key,
            log_retention_days=settings.log_retention_days,
            prefix=prefix,
            package_mirror=settings.package_mirror,
            **stack_args(
                f"{prefix}-studio", "SageMaker Studio domain (VPC only) shared by the teams"
            ),
        )
    teams: dict[str, TeamStack] = {}
    for index, team in enumerate(config.teams):
        stack_id = f"{prefix}-team-{team.name}"
        if scope.node.try_find_child(stack_id) is not None:
            raise ConstructValidationError(
                scope.node.path or "App",
                [
                    Problem(
                        f"teams[{index}].name",
                        team.name,
                        f"a name whose stack {stack_id} is not already a notebook stack of "
                        "another team (rename the team)",
                    )
                ],
            )
        stack = TeamStack(
            scope,
            stack_id,
            team=team,
            network=platform.network,
            access_logs_bucket=platform.access_logs_bucket,
            package_mirror=settings.package_mirror,
            conda_channel=platform.conda_channel.source if platform.conda_channel else None,
            guardrails=settings.guardrails,
            person_access=settings.person_access,
            prefix=prefix,
            studio_domain=studio.domain if studio else None,
            **stack_args(stack_id, f"SageMaker notebooks of team {team.name}"),
        )
        teams[team.name] = stack
    for key, value in settings.tags.items():
        Tags.of(scope).add(key, value)
    return PlatformApp(platform=platform, teams=teams, studio=studio)
