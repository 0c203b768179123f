"""A SageMaker notebook instance that is secure by default."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final, Literal, Protocol, runtime_checkable

import jsii
from aws_cdk import (
    Annotations,
    ArnFormat,
    CfnOutput,
    Names,
    RemovalPolicy,
    Resource,
    Stack,
    Tags,
    Token,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, Node

from sagemaker_constructs._compliance import (
    acknowledge_all,
    construct_cache,
    read_once,
    wildcard_resource_rule,
)
from sagemaker_constructs._defaults import (
    NOTEBOOK_LOG_GROUP_NAME,
    allow_https_within_vpc,
    aws_region,
    first_subnet_id,
    new_key,
    service_role,
)
from sagemaker_constructs._instance_types import NOTEBOOK_INSTANCE_TYPES_ALLOWED
from sagemaker_constructs._names import NAME_MAX_LENGTH
from sagemaker_constructs._validation import ConstructValidationError, Problem, Problems, is_token
from sagemaker_constructs.notebooks.notebook_lifecycle_config import INotebookLifecycleConfig

DEFAULT_PLATFORM: Final = "notebook-al2023-v1"
#: Platforms the service no longer accepts for new notebooks.
RETIRED_PLATFORMS: Final = ("notebook-al1-v1", "notebook-al2-v1", "notebook-al2-v2")
#: Platforms accepted with a warning.
DEPRECATED_PLATFORMS: Final = ("notebook-al2-v3",)
SUPPORTED_PLATFORMS: Final = (DEFAULT_PLATFORM, *DEPRECATED_PLATFORMS)

MIN_VOLUME_SIZE_GIB: Final = 5
MAX_VOLUME_SIZE_GIB: Final = 16_384
MAX_SECURITY_GROUPS: Final = 5
MAX_ADDITIONAL_CODE_REPOSITORIES: Final = 3

INSTANCE_TYPE_PATTERN: Final = re.compile(
    r"ml\.[a-z][a-z0-9]*(-[a-z0-9]+)*\.(medium|large|xlarge|[1-9][0-9]*xlarge)"
)
INSTANCE_TYPE_ALLOWED: Final = NOTEBOOK_INSTANCE_TYPES_ALLOWED
_REMOVAL_POLICIES: Final = (
    RemovalPolicy.RETAIN,
    RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    RemovalPolicy.DESTROY,
)


def check_instance_type(problems: Problems, prop: str, value: object) -> None:
    """A notebook instance type must be one SageMaker offers (tokens are not checked)."""
    problems.instance_type(prop, value, "notebook")


CODE_REPOSITORY_PATTERN: Final = re.compile(r"https://[^/\s]+(/\S*)?|[a-zA-Z0-9](-*[a-zA-Z0-9])*")
CODE_REPOSITORY_ALLOWED: Final = (
    "an https:// Git URL, or the name of an AWS::SageMaker::CodeRepository "
    "(letters, digits, hyphens), at most 1024 characters"
)


@runtime_checkable
class INotebookInstance(Protocol):
    """A notebook instance, created here or imported.

    Constructs that act on notebooks (``PersonAccess``, ``NotebookSchedules``) take any of
    these: a :class:`NotebookInstance`, or one from
    :meth:`NotebookInstance.from_notebook_instance_name` /
    :meth:`NotebookInstance.from_notebook_instance_attributes`.
    """

    @property
    def node(self) -> Node:
        """The construct's node (an importer returns a construct too)."""
        ...

    @property
    def notebook_instance_name(self) -> str:
        """The notebook instance's name."""
        ...

    @property
    def notebook_instance_arn(self) -> str:
        """The notebook instance's ARN (SageMaker writes the name in lower case there)."""
        ...


@jsii.implements(iam.IGrantable)
class _ImportedNotebookInstance(Resource):
    """A notebook instance defined elsewhere, known by name (and maybe its role)."""

    def __init__(self, scope: Construct, id: str, name: str, role: iam.IRole | None) -> None:
        super().__init__(scope, id)
        self._name = name
        self._role = role
        self._arn = Stack.of(self).format_arn(
            service="sagemaker",
            resource="notebook-instance",
            resource_name=name if Token.is_unresolved(name) else name.lower(),
        )

    @property
    def notebook_instance_name(self) -> str:
        return self._name

    @property
    def notebook_instance_arn(self) -> str:
        return self._arn

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The notebook's execution role, when the importer was given it."""
        if self._role is None:
            raise ConstructValidationError(
                self.node.path,
                [
                    Problem(
                        "role",
                        None,
                        "the notebook's execution role, given to "
                        "NotebookInstance.from_notebook_instance_attributes(role=...), "
                        "before granting to an imported notebook",
                    )
                ],
            )
        return self._role


def _check_imported_name(scope: Construct, name: str) -> None:
    problems = Problems(scope)
    problems.sagemaker_name("notebook_instance_name", name)
    problems.raise_if_any()


@jsii.implements(iam.IGrantable, ec2.IConnectable)
class NotebookInstance(Resource):
    """A SageMaker notebook instance, its execution role and its encrypted volume.

    Secure by default: placed in a VPC subnet with direct internet access disabled, root
    access disabled, IMDSv2 required, the current Amazon Linux 2023 platform, the EBS
    volume encrypted with a customer-managed KMS key, and a least-privilege execution role
    scoped to this notebook's own ARN. The notebook (and so its volume) is retained when
    the stack is deleted or the resource is replaced.

    Attributes:
        resource: The L1 ``CfnNotebookInstance``.
        notebook_instance_name: The notebook's name.
        notebook_instance_arn: The notebook's ARN.
        role: The execution role.
        policy: The customer-managed policy holding the created role's permissions, or
            ``None`` when a role was given.
        key: The KMS key encrypting the volume.
        security_group: The security group created for the notebook, or ``None`` when
            security groups were given.
        connections: Network connections of the notebook (``ec2.IConnectable``).
        grant_principal: The execution role (``iam.IGrantable``).
        console_url: The notebook's page in the SageMaker console.
        jupyter_url: The notebook's Jupyter URL (sign-in goes through the console or a
            presigned URL).
    """

    @staticmethod
    def from_notebook_instance_name(
        scope: Construct, id: str, notebook_instance_name: str
    ) -> INotebookInstance:
        """A notebook instance that exists already (another stack or app), by name.

        Enough for the constructs that name notebooks in policies or schedules; to grant to
        its role, use :meth:`from_notebook_instance_attributes` with ``role``.
        """
        _check_imported_name(scope, notebook_instance_name)
        return _ImportedNotebookInstance(scope, id, notebook_instance_name, None)

    @staticmethod
    def from_notebook_instance_attributes(
        scope: Construct,
        id: str,
        *,
        notebook_instance_name: str,
        role: iam.IRole | None = None,
    ) -> INotebookInstance:
        """A notebook instance that exists already, by name and (optionally) its role.

        Args:
            notebook_instance_name: Its name.
            role: Its execution role. Without it, granting to the imported notebook
                (``bucket.grant_read(imported)``) raises ``ConstructValidationError``.
        """
        _check_imported_name(scope, notebook_instance_name)
        return _ImportedNotebookInstance(scope, id, notebook_instance_name, role)

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        instance_type: str = "ml.t3.medium",
        notebook_instance_name: str | None = None,
        volume_size_gib: int = MIN_VOLUME_SIZE_GIB,
        encryption_key: kms.IKey | None = None,
        role: iam.IRole | None = None,
        platform_identifier: str = DEFAULT_PLATFORM,
        lifecycle_config: INotebookLifecycleConfig | None = None,
        default_code_repository: str | None = None,
        additional_code_repositories: Sequence[str] = (),
        allow_direct_internet: bool = False,
        allow_root_access: bool = False,
        minimum_instance_metadata_service_version: Literal["1", "2"] = "2",
        accelerator_types: Sequence[str] = (),
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        create_outputs: bool = False,
    ) -> None:
        """Create the notebook instance.

        Args:
            vpc: VPC to place the notebook in. Required unless ``allow_direct_internet``
                is set.
            vpc_subnets: Subnets to choose from; the notebook goes in the first selected.
                Default: the VPC's default selection (private, else isolated subnets).
            security_groups: Up to 5 security groups. Default: a new security group with
                no inbound rules and HTTPS to the VPC's range only.
            instance_type: ``ml.<family>.<size>``. Default: ``ml.t3.medium``.
            notebook_instance_name: Name of the notebook, at most 63 characters. Default:
                a name unique in the account, derived from the construct path.
            volume_size_gib: EBS volume size, 5 to 16384 GiB. Default: 5. Volumes can grow
                but never shrink.
            encryption_key: KMS key for the volume. Default: a new key with rotation
                enabled, retained on delete.
            role: Execution role. Default: a new role whose customer-managed policy allows
                only writing this notebook's log streams and using its volume key.
            platform_identifier: Default: ``notebook-al2023-v1``. ``notebook-al2-v3`` is
                accepted with a warning; retired platforms are rejected.
            lifecycle_config: Scripts run on create and on start. Default: none.
            default_code_repository: Git URL or CodeRepository name cloned as the
                default repository. Default: none.
            additional_code_repositories: Up to 3 more repositories. Default: none.
            allow_direct_internet: Give the notebook SageMaker-managed internet access.
                Default: disabled; enabling leaves a warning.
            allow_root_access: Give notebook users root. Default: disabled; enabling
                leaves a warning. Lifecycle scripts run as root either way.
            minimum_instance_metadata_service_version: ``"2"`` (IMDSv2 only) or ``"1"``.
                Default: ``"2"``.
            accelerator_types: Elastic Inference accelerators. Amazon Elastic Inference is
                no longer offered, so any value is rejected. Default: none.
            tags: Tags for the notebook and everything this construct creates.
                Default: none.
            removal_policy: Applied to the notebook and a created key. Default: retained
                on stack delete and on replacement.
            create_outputs: Add stack outputs with the notebook's name and console URL.
                Default: none; the app decides what its stacks export.
        """
        super().__init__(scope, id)
        self._validate(
            vpc=vpc,
            security_groups=security_groups,
            encryption_key=encryption_key,
            instance_type=instance_type,
            notebook_instance_name=notebook_instance_name,
            volume_size_gib=volume_size_gib,
            platform_identifier=platform_identifier,
            default_code_repository=default_code_repository,
            additional_code_repositories=additional_code_repositories,
            allow_direct_internet=allow_direct_internet,
            allow_root_access=allow_root_access,
            create_outputs=create_outputs,
            minimum_instance_metadata_service_version=minimum_instance_metadata_service_version,
            accelerator_types=accelerator_types,
            tags=tags,
            removal_policy=removal_policy,
        )
        self._warn(
            instance_type=instance_type,
            platform_identifier=platform_identifier,
            allow_direct_internet=allow_direct_internet,
            allow_root_access=allow_root_access,
            minimum_instance_metadata_service_version=minimum_instance_metadata_service_version,
        )
        # The scope itself when it is a stack (answered in Python), else asked of node.
        stack = scope if isinstance(scope, Stack) else Stack.of(self)

        name = notebook_instance_name or Names.unique_resource_name(
            self, max_length=NAME_MAX_LENGTH, separator="-"
        )
        self.notebook_instance_name: str = name
        # Notebook ARNs carry the name in lower case.
        self.notebook_instance_arn: str = self._arn_prefix(stack) + (
            name if is_token(name) else name.lower()
        )

        self.key: kms.IKey = encryption_key or new_key(
            self,
            "Key",
            description=f"Encrypts the volume of notebook {name}",
            removal_policy=removal_policy,
        )

        self.security_group: ec2.SecurityGroup | None = None
        if security_groups is None and vpc is not None:
            self.security_group = ec2.SecurityGroup(
                self,
                "SecurityGroup",
                vpc=vpc,
                description=f"Notebook {name}: no inbound, HTTPS within the VPC",
                allow_all_outbound=False,
            )
            # The VPC's range (its interface endpoints), never 0.0.0.0/0; NotebookNetwork's
            # group adds S3 through its prefix list.
            allow_https_within_vpc(self, self.security_group, vpc)
            security_groups = [self.security_group]
        self._security_groups: list[ec2.ISecurityGroup] = list(security_groups or [])
        self._connections: ec2.Connections | None = None

        self.policy: iam.ManagedPolicy | None = None
        if role is None:
            created, self.policy = service_role(
                self,
                service="sagemaker.amazonaws.com",
                description=f"Execution role of SageMaker notebook {name}",
                policy_description=f"Least-privilege permissions of SageMaker notebook {name}",
                document=self._base_document(stack, name),
            )
            role = created
            own_streams, any_stream = self._log_stream_arns(stack, name)
            acknowledge_all(
                self.policy,
                [
                    (
                        wildcard_resource_rule(self.policy, own_streams, stack),
                        "SageMaker names a notebook's log streams '<notebook-name>/<source>' "
                        "at run time (jupyter.log, LifecycleConfigOnStart, ...); the wildcard "
                        "covers only this notebook's own streams.",
                    ),
                    (
                        wildcard_resource_rule(self.policy, any_stream, stack),
                        "logs:DescribeLogStreams is authorized on the log group; ':*' here is "
                        "the ARN form of the /aws/sagemaker/NotebookInstances group itself.",
                    ),
                ],
            )
        self.role: iam.IRole = role

        subnet_id = None
        if vpc is not None:
            subnet_id = first_subnet_id(vpc, vpc_subnets)

        key_arn = self._key_arn()
        self.resource = sagemaker.CfnNotebookInstance(
            self,
            "Resource",
            notebook_instance_name=name,
            instance_type=instance_type,
            role_arn=role.role_arn,
            subnet_id=subnet_id,
            security_group_ids=[read_once(sg, "security_group_id") for sg in self._security_groups]
            or None,
            direct_internet_access="Enabled" if allow_direct_internet else "Disabled",
            root_access="Enabled" if allow_root_access else "Disabled",
            instance_metadata_service_configuration=sagemaker.CfnNotebookInstance.InstanceMetadataServiceConfigurationProperty(
                minimum_instance_metadata_service_version=minimum_instance_metadata_service_version
            ),
            platform_identifier=platform_identifier,
            volume_size_in_gb=volume_size_gib,
            kms_key_id=key_arn,
            lifecycle_config_name=lifecycle_config.lifecycle_config_name
            if lifecycle_config
            else None,
            default_code_repository=default_code_repository,
            additional_code_repositories=list(additional_code_repositories) or None,
        )
        self.resource.apply_removal_policy(removal_policy)
        #: Whether the notebook has SageMaker-managed internet access (lifecycle steps
        #: without a package source can then still install from public indexes).
        self.direct_internet_access: bool = allow_direct_internet is True
        if lifecycle_config is not None:
            lifecycle_config.bind(self)
        # The role's permissions must exist before the notebook starts and runs its
        # lifecycle scripts, which write to CloudWatch Logs with them.
        if self.policy is not None:
            self.resource.node.add_dependency(self.policy)
        for key, value in (tags or {}).items():
            Tags.of(self).add(key, value)

        region = aws_region()
        self.console_url: str = (
            f"https://{region}.console.aws.amazon.com/sagemaker/home"
            f"?region={region}#/notebook-instances/{name}"
        )
        self.jupyter_url: str = f"https://{name}.notebook.{region}.sagemaker.aws/"
        if create_outputs:
            CfnOutput(self, "NameOutput", value=name, description="Notebook instance name")
            CfnOutput(
                self,
                "ConsoleUrlOutput",
                value=self.console_url,
                description=f"Console page of notebook {name} (open Jupyter from there)",
            )

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The execution role (``iam.IGrantable``)."""
        return self.role

    @property
    def connections(self) -> ec2.Connections:
        """The notebook's security groups (``ec2.IConnectable``)."""
        # Made on first use (most notebooks are never connected to anything), then kept:
        # rules added through it go to the same security groups either way.
        if self._connections is None:
            self._connections = ec2.Connections(security_groups=self._security_groups)
        return self._connections

    @staticmethod
    def _arn_prefix(stack: Stack) -> str:
        """``arn:<partition>:sagemaker:<region>:<account>:notebook-instance/`` of ``stack``,
        formatted once per stack (the same for every notebook in it)."""
        cache = construct_cache(stack)
        if "notebook_arn_prefix" not in cache:
            cache["notebook_arn_prefix"] = stack.format_arn(
                service="sagemaker", resource="notebook-instance", resource_name=""
            )
        prefix: str = cache["notebook_arn_prefix"]
        return prefix

    def _log_stream_arns(self, stack: Stack, name: str) -> tuple[str, str]:
        """ARNs of this notebook's own log streams and of the notebook log group's streams."""
        # The same for every notebook of the stack: formatted once per stack.
        cache = construct_cache(stack)
        if "notebook_log_group_arn" not in cache:
            cache["notebook_log_group_arn"] = stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=NOTEBOOK_LOG_GROUP_NAME,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        log_group_arn = cache["notebook_log_group_arn"]
        return f"{log_group_arn}:log-stream:{name}/*", f"{log_group_arn}:*"

    def _key_arn(self) -> str:
        """The volume key's ARN."""
        # A key's ARN never changes: read once per key object (a team's notebooks share one).
        key_arn: str = read_once(self.key, "key_arn")
        return key_arn

    def _base_document(self, stack: Stack, name: str) -> iam.PolicyDocument:
        """The created role's own permissions, handed to node as one JSON document."""
        own_streams, any_stream = self._log_stream_arns(stack, name)
        key_arn = self._key_arn()
        statements = [
            {
                "Sid": "WriteOwnLogStreams",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": own_streams,
            },
            {
                "Sid": "DescribeNotebookLogStreams",
                "Effect": "Allow",
                "Action": "logs:DescribeLogStreams",
                "Resource": any_stream,
            },
            {
                "Sid": "UseVolumeKey",
                "Effect": "Allow",
                "Action": [
                    "kms:Decrypt",
                    "kms:Encrypt",
                    "kms:GenerateDataKey",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:DescribeKey",
                ],
                "Resource": key_arn,
            },
            {
                "Sid": "GrantVolumeKeyToAwsServices",
                "Effect": "Allow",
                "Action": "kms:CreateGrant",
                "Resource": key_arn,
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ]
        return iam.PolicyDocument.from_json({"Version": "2012-10-17", "Statement": statements})

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        """Add a statement to the created role's customer-managed policy.

        With a role that was given, the statement goes to that role's default policy.
        """
        if self.policy is not None:
            self.policy.add_statements(statement)
        else:
            self.role.add_to_principal_policy(statement)

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant ``actions`` on this notebook instance to ``grantee``."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.notebook_instance_arn]
        )

    def grant_presigned_url(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` open this notebook's Jupyter UI (CreatePresignedNotebookInstanceUrl)."""
        return self.grant(grantee, "sagemaker:CreatePresignedNotebookInstanceUrl")

    def _validate(
        self,
        *,
        vpc: ec2.IVpc | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
        encryption_key: kms.IKey | None,
        instance_type: str,
        notebook_instance_name: str | None,
        volume_size_gib: int,
        platform_identifier: str,
        default_code_repository: str | None,
        additional_code_repositories: Sequence[str],
        allow_direct_internet: bool,
        allow_root_access: bool,
        create_outputs: bool,
        minimum_instance_metadata_service_version: str,
        accelerator_types: Sequence[str],
        tags: Mapping[str, str] | None,
        removal_policy: RemovalPolicy,
    ) -> None:
        p = Problems(self)
        check_instance_type(p, "instance_type", instance_type)
        p.sagemaker_name("notebook_instance_name", notebook_instance_name)
        p.integer_range(
            "volume_size_gib", volume_size_gib, MIN_VOLUME_SIZE_GIB, MAX_VOLUME_SIZE_GIB
        )
        if not is_token(platform_identifier):
            if platform_identifier in RETIRED_PLATFORMS:
                p.add(
                    "platform_identifier",
                    platform_identifier,
                    f"{' or '.join(SUPPORTED_PLATFORMS)} ({platform_identifier} is retired)",
                )
            else:
                p.one_of("platform_identifier", platform_identifier, SUPPORTED_PLATFORMS)
        p.boolean("allow_direct_internet", allow_direct_internet)
        p.boolean("allow_root_access", allow_root_access)
        p.boolean("create_outputs", create_outputs)
        if removal_policy not in _REMOVAL_POLICIES:
            p.add(
                "removal_policy",
                removal_policy,
                "RemovalPolicy.RETAIN, RETAIN_ON_UPDATE_OR_DELETE or DESTROY (a notebook "
                "and its key have no snapshots)",
            )
        if vpc is None and allow_direct_internet is not True:
            p.add(
                "vpc",
                None,
                "a VPC (required while direct internet access is disabled, the default)",
            )
        if vpc is None and security_groups:
            p.add("security_groups", f"{len(security_groups)} items", "none without a vpc")
        p.security_groups("security_groups", security_groups, limit=MAX_SECURITY_GROUPS)
        p.kms_key("encryption_key", encryption_key)
        p.one_of(
            "minimum_instance_metadata_service_version",
            minimum_instance_metadata_service_version,
            ("1", "2"),
            required=True,
        )
        p.pattern(
            "default_code_repository",
            default_code_repository,
            CODE_REPOSITORY_PATTERN,
            CODE_REPOSITORY_ALLOWED,
            max_length=1024,
        )
        p.max_items(
            "additional_code_repositories",
            additional_code_repositories,
            MAX_ADDITIONAL_CODE_REPOSITORIES,
        )
        for i, repo in enumerate(additional_code_repositories):
            p.pattern(
                f"additional_code_repositories[{i}]",
                repo,
                CODE_REPOSITORY_PATTERN,
                CODE_REPOSITORY_ALLOWED,
                max_length=1024,
                required=True,
            )
        repos = [
            r
            for r in (default_code_repository, *additional_code_repositories)
            if isinstance(r, str) and r
        ]
        if len(set(repos)) != len(repos):
            p.add("additional_code_repositories", repos, "each repository at most once")
        if accelerator_types:
            p.add(
                "accelerator_types",
                list(accelerator_types),
                "none (Amazon Elastic Inference is no longer offered; choose a GPU "
                "instance_type instead)",
            )
        p.tags("tags", tags)
        p.raise_if_any()

    def _warn(
        self,
        *,
        instance_type: str,
        platform_identifier: str,
        allow_direct_internet: bool,
        allow_root_access: bool,
        minimum_instance_metadata_service_version: str,
    ) -> None:
        if not (
            allow_direct_internet
            or allow_root_access
            or minimum_instance_metadata_service_version == "1"
            or platform_identifier in DEPRECATED_PLATFORMS
        ):
            return  # nothing to say: no round trip for Annotations.of
        notes = Annotations.of(self)
        if allow_direct_internet:
            notes.add_warning_v2(
                "sagemaker-constructs:notebook-direct-internet",
                "allow_direct_internet=True: the notebook gets SageMaker-managed internet "
                "access outside the VPC's controls (Security Hub SageMaker.1).",
            )
        if allow_root_access:
            notes.add_warning_v2(
                "sagemaker-constructs:notebook-root-access",
                "allow_root_access=True: notebook users get root (Security Hub SageMaker.3).",
            )
        if minimum_instance_metadata_service_version == "1":
            notes.add_warning_v2(
                "sagemaker-constructs:notebook-imdsv1",
                "minimum_instance_metadata_service_version='1' allows IMDSv1.",
            )
        if platform_identifier in DEPRECATED_PLATFORMS:
            notes.add_warning_v2(
                "sagemaker-constructs:notebook-al2",
                f"platform_identifier={platform_identifier!r}: Amazon Linux 2 notebooks can no "
                f"longer be created or restarted after 2026-06-30; use {DEFAULT_PLATFORM!r}.",
            )
