"""One stack per team: its key, data bucket, notebooks and their roles."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aws_cdk import CfnOutput, CfnResource, RemovalPolicy, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sagemaker_constructs import (
    CondaChannelS3,
    ConstructValidationError,
    LifecycleScript,
    NotebookInstance,
    NotebookLifecycleConfig,
    NotebookNetwork,
    NotebookSchedules,
    OfficeHours,
    Problem,
    StudioCustomImage,
    StudioDomain,
    StudioSpace,
    StudioUserProfile,
    TeamAlerts,
    TeamBudget,
    lifecycle_scripts,
    new_key,
)
from sagemaker_constructs.governance import acknowledge, acknowledge_wildcard_resource
from sagemaker_constructs.governance.notebook_guardrails import NotebookGuardrails
from sagemaker_constructs.governance.notebook_permissions_boundary import (
    NotebookPermissionsBoundary,
)
from sagemaker_constructs.governance.person_access import PersonAccess
from sagemaker_constructs.governance.stack_limits import MAX_OUTPUTS, MAX_RESOURCES
from sagemaker_constructs.studio.studio_domain import STUDIO_LOG_GROUP_NAME

from .config import (
    Guardrails,
    HomeBackupTarget,
    PackageMirrorSettings,
    PersonAccessSettings,
    Team,
)

# The share of each of CloudFormation's per-stack limits (resources, outputs) that one
# stack's notebooks may take. The rest is headroom: a team's first stack also holds its
# key, bucket, policies, lifecycle configuration and Studio resources, and the outputs
# its other stacks read from it.
NOTEBOOK_SHARE = 0.75


class TeamStack(Stack):
    """A team's notebooks (one per member), KMS key, data bucket and roles.

    With a ``studio`` section (and the platform's Studio domain): a Studio execution role
    shared by the team's user profiles, one user profile per listed person, and the
    team's custom images (ECR repositories encrypted with the team's key).

    A team's roles can use only its own bucket and key: nothing here names another
    team's resources (the Studio role names the shared domain, its ID and key).

    Each notebook's subnet (Availability Zone) comes from the notebook's ``subnet`` or
    else from a SHA-256 of its user's name (:func:`stable_index`), never from its position
    in the list: the subnet is create-only and the name fixed, so a position-based choice
    made inserting, reordering or removing notebooks fail the deploy.

    A team with more notebooks than one stack takes comfortably (75 at 3 resources and
    2 outputs each; see :func:`notebooks_per_stack`) keeps the first 75 here and gets
    one :class:`TeamNotebookStack` per further 75, ``<id>-2``, ``<id>-3``, ..., in config
    order. A team that fits in one stack is built exactly as before: same stack, same
    construct IDs.

    Attributes:
        key: The team's KMS key (bucket, notebook volumes, image repositories).
        bucket: The team's data bucket.
        data_policy: Customer-managed policy giving read/write on the bucket and use of
            the key; attached to every notebook role and the Studio role of the team.
        notebooks: The team's notebooks, by user, whichever stack each is in.
        notebook_stacks: The team's further notebook stacks (empty when one stack fits).
        notebook_cost: Resources and outputs of one notebook, measured on the first.
        notebooks_per_stack: How many notebooks each of the team's stacks takes.
        studio_role: The team's Studio execution role, or ``None``.
        studio_policy: Its customer-managed Studio permissions, or ``None``.
        studio_images: The team's custom images, by config name.
        studio_profiles: The team's Studio user profiles, by user.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        team: Team,
        network: NotebookNetwork,
        package_mirror: PackageMirrorSettings | None = None,
        conda_channel: CondaChannelS3 | None = None,
        guardrails: Guardrails | None = None,
        person_access: PersonAccessSettings | None = None,
        access_logs_bucket: s3.IBucket,
        prefix: str,
        studio_domain: StudioDomain | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        Tags.of(self).add("team", team.name)
        if team.cost_center:
            Tags.of(self).add("cost-center", team.cost_center)

        # Every role of the team is capped by the boundary; the aspect fails synth for a
        # notebook that breaks the organisation's policy, naming the team and notebook.
        limits = (guardrails or Guardrails()).merged(team.guardrails)
        self.permissions_boundary = NotebookPermissionsBoundary(
            self,
            "PermissionsBoundary",
            subnet_ids=network.notebook_subnets().subnet_ids,
            allowed_instance_types=limits.allowed_instance_types,
        )
        iam.PermissionsBoundary.of(self).apply(self.permissions_boundary.policy)
        self._guardrails = NotebookGuardrails(
            owner=f"team {team.name}",
            allowed_instance_types=limits.allowed_instance_types,
            max_volume_size_gib=limits.max_volume_size_gib,
        )
        self._guardrails.apply_to(self)

        self.key = new_key(
            self,
            "Key",
            description=f"Encrypts team {team.name}'s data and notebook volumes",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.key.add_alias(f"alias/{prefix}/{team.name}")

        self.bucket = s3.Bucket(
            self,
            "DataBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix=f"{team.name}/",
            removal_policy=RemovalPolicy.RETAIN,
        )

        team_objects = self.bucket.arn_for_objects("*")
        self.data_policy = iam.ManagedPolicy(
            self,
            "DataAccessPolicy",
            description=f"Read/write team {team.name}'s data bucket and use its key",
            # One JSON document handed to node, not a PolicyStatement per statement.
            document=iam.PolicyDocument.from_json(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ListTeamBucket",
                            "Effect": "Allow",
                            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                            "Resource": self.bucket.bucket_arn,
                        },
                        {
                            "Sid": "ReadWriteTeamObjects",
                            "Effect": "Allow",
                            "Action": [
                                "s3:GetObject",
                                "s3:PutObject",
                                "s3:DeleteObject",
                                "s3:AbortMultipartUpload",
                            ],
                            "Resource": team_objects,
                        },
                        {
                            "Sid": "UseTeamKey",
                            "Effect": "Allow",
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                            "Resource": self.key.key_arn,
                        },
                    ],
                }
            ),
        )

        acknowledge(
            self.bucket,
            [
                f"{pack}-S3BucketReplicationEnabled"
                for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
            ],
            "Replication needs a destination bucket in another Region or account that "
            "the organisation's backup design owns; here the data is protected by "
            "versioning, a customer-managed key and DeletionPolicy Retain (see "
            "docs/SECURITY.md).",
        )
        acknowledge_wildcard_resource(
            self.data_policy,
            team_objects,
            "Object-level actions on every object of this team's own data bucket, which "
            "exists to hold the team's notebook data; no other bucket is named.",
        )

        if team.setup is not None:
            # The home backup goes to the team's bucket under each person's prefix
            # (home/<user>/), so a person's new notebook finds the old one's backup.
            backup = HomeBackupTarget(
                bucket_name=self.bucket.bucket_name,
                kms_key_arn=self.key.key_arn,
                owners=team.notebook_owners(),
            )
            scripts = {"setup": team.setup.notebook_setup(package_mirror, conda_channel, backup)}
        else:
            scripts = {
                "on_start": LifecycleScript.from_text(lifecycle_scripts.read("register_kernels.sh"))
            }
        self.lifecycle_config = NotebookLifecycleConfig(
            self,
            "LifecycleConfig",
            lifecycle_config_name=f"{prefix}-{team.name}",
            **scripts,
        )

        # Notebooks go to this stack, then, when there are more than fit in one stack,
        # ``notebooks_per_stack`` at a time to ``<id>-2``, ``<id>-3``, ... in config
        # order, so that appending notebooks never moves one. How many fit comes from
        # what the first notebook costs, against a share of CloudFormation's limits.
        self.notebooks: dict[str, NotebookInstance] = {}
        self.notebook_stacks: list[TeamNotebookStack] = []
        self.notebook_cost: StackCost | None = None
        self.notebooks_per_stack: int | None = None
        subnets = network.notebook_subnets().subnets
        self._check_subnets(team, len(subnets))
        target: Stack = self
        for index, nb in enumerate(team.notebooks):
            if self.notebooks_per_stack and index % self.notebooks_per_stack == 0:
                target = self._add_notebook_stack(scope, id, team, kwargs)
            settings = team.resolved(nb)
            subnet = nb.subnet if nb.subnet is not None else stable_index(nb.user, len(subnets))
            notebook = NotebookInstance(
                target,
                f"Notebook-{nb.user}",
                notebook_instance_name=team.notebook_name(nb),
                vpc=network.vpc,
                # Spread over the Availability Zones by person, not by position: the
                # subnet is create-only, so it must not follow the notebook's list index.
                vpc_subnets=ec2.SubnetSelection(subnets=[subnets[subnet]]),
                security_groups=[network.notebook_security_group],
                instance_type=settings.instance_type,
                volume_size_gib=settings.volume_size_gib,
                platform_identifier=settings.platform_identifier,
                encryption_key=self.key,
                lifecycle_config=self.lifecycle_config,
                tags={"owner": nb.user},
                # The example app exports each notebook's name and console URL.
                create_outputs=True,
            )
            assert notebook.policy is not None
            if target is self:
                self.data_policy.attach_to_role(notebook.role)
            else:
                # From the role's side: the policy naming the role would make this stack
                # depend on the notebook's, which depends on this one.
                notebook.role.add_managed_policy(self.data_policy)
            self.notebooks[nb.user] = notebook
            if self.notebook_cost is None:
                self.notebook_cost = cost_of(notebook)
                self.notebooks_per_stack = notebooks_per_stack(self.notebook_cost)

        self._add_cost_controls(team)

        self.studio_role: iam.Role | None = None
        self.studio_policy: iam.ManagedPolicy | None = None
        self.studio_images: dict[str, StudioCustomImage] = {}
        self.studio_profiles: dict[str, StudioUserProfile] = {}
        self.studio_spaces: dict[str, StudioSpace] = {}
        if team.studio is not None and studio_domain is not None:
            self._add_studio(team, studio_domain, prefix)
        self.person_access: dict[str, PersonAccess] = {}
        if person_access is not None:
            self._add_person_access(team, network, person_access, prefix)

    def _check_subnets(self, team: Team, count: int) -> None:
        """An explicit ``subnet`` beyond the synthesized subnets (an environment-agnostic
        stack gets two Availability Zones whatever ``max_azs`` says) fails synth."""
        problems = [
            Problem(
                f"team {team.name}: notebooks[{n}].subnet",
                nb.subnet,
                f"0 to {count - 1} (this synth has {count} notebook subnets)",
            )
            for n, nb in enumerate(team.notebooks)
            if nb.subnet is not None and nb.subnet >= count
        ]
        if problems:
            raise ConstructValidationError(self.node.path, problems)

    def _add_person_access(
        self,
        team: Team,
        network: NotebookNetwork,
        settings: PersonAccessSettings,
        prefix: str,
    ) -> None:
        endpoints = (
            [
                network.interface_endpoints[name]
                for name in ("sagemaker.api", "notebook", "studio")
                if name in network.interface_endpoints
            ]
            if settings.through_vpc_endpoints
            else []
        )
        for user in dict.fromkeys([*self.notebooks, *self.studio_profiles]):
            notebook = self.notebooks.get(user)
            profile = self.studio_profiles.get(user)
            # Beside the notebook: a notebook in a split-off stack is referenced from there.
            scope = Stack.of(notebook) if notebook is not None and profile is None else self
            self.person_access[user] = PersonAccess(
                scope,
                f"Access-{user}",
                person=user,
                notebooks=[notebook] if notebook is not None else [],
                studio_user_profiles=[profile] if profile is not None else [],
                vpc_endpoints=endpoints,
                source_ip_ranges=settings.source_ip_ranges,
                managed_policy_name=f"{prefix}-{team.name}-{user}-access",
            )

    def _add_cost_controls(self, team: Team) -> None:
        """Office-hours schedules, the team's alert topic and alarm, and its budget."""
        scheduled: list[tuple[NotebookInstance, OfficeHours]] = []
        for nb in team.notebooks:
            hours = nb.office_hours or team.office_hours
            if hours is not None:
                scheduled.append((self.notebooks[nb.user], hours.office_hours()))
        self.schedules: NotebookSchedules | None = None
        if scheduled:
            self.schedules = NotebookSchedules(
                self,
                "OfficeHours",
                notebooks=scheduled,
                description=f"Stops team {team.name}'s notebooks outside office hours",
            )
        self.alerts: TeamAlerts | None = None
        if team.alerts is not None:
            self.alerts = TeamAlerts(
                self,
                "Alerts",
                team_name=team.name,
                encryption_key=self.key,
                email_subscriptions=team.alerts.emails,
                studio_log_group_name=STUDIO_LOG_GROUP_NAME if team.studio is not None else None,
            )
        self.budget: TeamBudget | None = None
        if team.budget is not None and self.alerts is not None and team.cost_center:
            self.budget = TeamBudget(
                self,
                "Budget",
                monthly_limit_usd=team.budget.monthly_limit_usd,
                tag_key="cost-center",
                tag_value=team.cost_center,
                topic=self.alerts.topic,
                thresholds_percent=team.budget.thresholds_percent,
            )

    def _add_notebook_stack(
        self, scope: Construct, id: str, team: Team, kwargs: dict
    ) -> TeamNotebookStack:
        number = len(self.notebook_stacks) + 2
        stack_id = f"{id}-{number}"
        if scope.node.try_find_child(stack_id) is not None:
            raise ConstructValidationError(
                self.node.path,
                [
                    Problem(
                        "team.notebooks",
                        f"{len(team.notebooks)} notebooks",
                        f"notebook stack {stack_id} is the stack of another team; rename that "
                        "team (a team's notebook stacks are <stack>-2, <stack>-3, ...)",
                    )
                ],
            )
        stack_name = kwargs.get("stack_name")
        stack = TeamNotebookStack(
            scope,
            stack_id,
            team=team,
            team_stack=self,
            env=kwargs.get("env"),
            stack_name=f"{stack_name}-{number}" if stack_name else None,
            description=f"SageMaker notebooks of team {team.name} (stack {number})",
        )
        self.notebook_stacks.append(stack)
        return stack

    def _add_studio(self, team: Team, domain: StudioDomain, prefix: str) -> None:
        assert team.studio is not None
        self.studio_role = iam.Role(
            self,
            "StudioRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Studio execution role of team {team.name} (one per team)",
        )
        self.studio_policy = policy = iam.ManagedPolicy(
            self,
            "StudioPolicy",
            description=f"Team {team.name} in Studio: own private spaces and apps only",
        )
        domain.configure_execution_role(self.studio_role, self.studio_policy)
        self.data_policy.attach_to_role(self.studio_role)

        for image in team.studio.images:
            self.studio_images[image.name] = StudioCustomImage(
                self,
                f"StudioImage-{image.name}",
                image_name=team.studio_image_name(image),
                image_tag=image.tag,
                repository_name=f"{prefix}/{team.name}/{image.name}",
                encryption_key=self.key,
                app_type=image.app_type,  # type: ignore[arg-type]
                display_name=image.display_name,
                activity_monitor=image.activity_monitor,
            )
        # An image without a tag has no version yet: its repository exists, to push to.
        offered = [i for i in self.studio_images.values() if i.attachable()]
        for user in team.studio.users:
            self.studio_profiles[user] = StudioUserProfile(
                self,
                f"StudioUser-{user}",
                domain=domain,
                user_profile_name=team.studio_profile_name(user),
                execution_role=self.studio_role,
                custom_images=offered,
                tags={"owner": user},
            )
        for space in team.studio.spaces:
            self.studio_spaces[space.name] = StudioSpace(
                self,
                f"StudioSpace-{space.name}",
                domain=domain,
                space_name=f"{team.name}-{space.name}",
                owner=self.studio_profiles[space.owner],
                sharing=space.sharing,
                app_type=space.app_type,
                instance_type=space.instance_type,
                ebs_size_gib=space.ebs_size_gib,
                tags={"team": team.name},
            )
            self.studio_spaces[space.name].grant_use(policy)


class TeamNotebookStack(Stack):
    """More notebooks of a team with more than fit in one stack (``<team stack>-2``, ...).

    It holds only notebooks, with their roles and policies. The team's key, data bucket,
    data policy, lifecycle configuration and permissions boundary stay in the team's
    first stack (:class:`TeamStack`), which this stack reads them from; the same
    boundary caps its roles, the same guardrails aspect checks its notebooks, and it has
    the team's tags.
    """

    def __init__(
        self, scope: Construct, id: str, *, team: Team, team_stack: TeamStack, **kwargs
    ) -> None:
        super().__init__(scope, id, **kwargs)
        Tags.of(self).add("team", team.name)
        if team.cost_center:
            Tags.of(self).add("cost-center", team.cost_center)
        iam.PermissionsBoundary.of(self).apply(team_stack.permissions_boundary.policy)
        team_stack._guardrails.apply_to(self)
        self.add_stack_dependency(team_stack)


def stable_index(key: str, count: int) -> int:
    """A position in ``range(count)`` that depends on ``key`` only (SHA-256, not
    ``hash()``, which changes between processes)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % count


@dataclass(frozen=True)
class StackCost:
    """How many CloudFormation resources and outputs a construct adds to its stack."""

    resources: int
    outputs: int


def cost_of(construct: Construct) -> StackCost:
    """The resources and outputs ``construct`` and its children declare."""
    resources = outputs = 0
    for child in construct.node.find_all():
        if isinstance(child, CfnOutput):
            outputs += 1
        # isinstance, not CfnResource.is_cfn_resource (a round trip to node per child): jsii
        # hands back each construct as an instance of its own class.
        elif isinstance(child, CfnResource):
            resources += 1
    return StackCost(resources=resources, outputs=outputs)


def notebooks_per_stack(cost: StackCost) -> int:
    """How many notebooks costing ``cost`` each one stack takes.

    They may use :data:`NOTEBOOK_SHARE` of CloudFormation's resource and output limits:
    75 notebooks of 3 resources and 2 outputs each (the outputs bind first).
    """
    budgets = [
        (int(MAX_RESOURCES * NOTEBOOK_SHARE), cost.resources),
        (int(MAX_OUTPUTS * NOTEBOOK_SHARE), cost.outputs),
    ]
    return max(1, min((budget // each for budget, each in budgets if each), default=1))
