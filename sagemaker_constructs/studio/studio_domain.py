"""A SageMaker Studio domain that is secure by default."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Protocol, runtime_checkable

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
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from sagemaker_constructs._compliance import acknowledge_wildcard_resource
from sagemaker_constructs._defaults import (
    allow_https_within_vpc,
    new_key,
    select_subnets,
    service_role,
)
from sagemaker_constructs._names import NAME_MAX_LENGTH
from sagemaker_constructs._validation import STUDIO_TAG_VALUE_LENGTH, Problems, is_token
from sagemaker_constructs.network.notebook_network import NFS_DESCRIPTION, NFS_PORT
from sagemaker_constructs.studio.studio_custom_image import (
    StudioCustomImage,
    warn_idle_shutdown_ineffective,
)
from sagemaker_constructs.studio.studio_lifecycle_config import (
    StudioLifecycleConfig,
    lazy_any,
    lazy_string,
)
from sagemaker_constructs.studio.studio_portal_settings import StudioPortalSettings

#: Instance types users may run JupyterLab and Code Editor apps on, unless told otherwise.
DEFAULT_INSTANCE_TYPES: Final = ("ml.t3.medium", "ml.t3.large", "ml.m5.large", "ml.m5.xlarge")
DEFAULT_INSTANCE_TYPE: Final = "ml.t3.medium"
#: Size limits of a space's EBS volume (``SpaceEbsVolumeSizeInGb``).
MIN_EBS_SIZE_GIB: Final = 5
MAX_EBS_SIZE_GIB: Final = 16_384
#: Limits of the built-in idle shutdown (``IdleTimeoutInMinutes``).
MIN_IDLE_TIMEOUT_MINUTES: Final = 60
MAX_IDLE_TIMEOUT_MINUTES: Final = 525_600
MAX_SECURITY_GROUPS: Final = 5
MAX_SUBNETS: Final = 16
#: Studio apps log here (lifecycle scripts included); one log group per account and region.
STUDIO_LOG_GROUP_NAME: Final = "/aws/sagemaker/studio"

# SSM parameter names: letters, digits and _.-/ ; a path may not begin with aws or ssm.
PARAMETER_PREFIX_PATTERN: Final = re.compile(r"(/[A-Za-z0-9_.-]+)+")
PARAMETER_PREFIX_ALLOWED: Final = (
    "an SSM parameter path such as /org/sagemaker/studio: '/'-separated segments of letters, "
    "digits and _.-, not ending in '/', not starting with /aws or /ssm, at most 900 characters"
)
#: What a domain publishes under its ``parameter_prefix``, and the importer reads.
DOMAIN_PARAMETERS: Final = ("domain-id", "domain-name", "security-group-id", "execution-role-arn")

TAG_KEY_ALLOWED: Final = "a key of 1 to 128 characters not starting with 'aws:'"
_SHARING_PREFIX_ALLOWED = "an S3 key prefix of letters, digits and ! - _ . * ' /, ending in /"


def _is_sharing_prefix(value: str) -> bool:
    # S3's safe characters without ( and ): the prefix is part of a resource in the role's
    # policy, and a cdk-nag acknowledgement naming that resource cannot hold parentheses.
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!-_.*'/")
    return 1 <= len(value) <= 512 and value.endswith("/") and set(value) <= allowed


@runtime_checkable
class IStudioDomain(Protocol):
    """A Studio domain, created here (:class:`StudioDomain`) or imported
    (:meth:`StudioDomain.from_domain_attributes`); what ``StudioUserProfile`` takes."""

    @property
    def domain_id(self) -> str: ...

    @property
    def domain_arn(self) -> str: ...

    @property
    def domain_name(self) -> str: ...

    @property
    def custom_images(self) -> tuple[StudioCustomImage, ...]: ...


class _ImportedStudioDomain(Resource):
    """A domain defined elsewhere: only its ID (and what the importer was told) is known."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain_id: str,
        domain_name: str | None,
        security_group: ec2.ISecurityGroup | None,
        execution_role: iam.IRole | None,
    ) -> None:
        super().__init__(scope, id)
        self._domain_id = domain_id
        self._domain_name = domain_name or domain_id
        self.role: iam.IRole | None = execution_role
        self.security_group = security_group
        self._connections = ec2.Connections(
            security_groups=[security_group] if security_group else []
        )
        self._profiles: dict[str, str] = {}
        self.lifecycle_configs: dict[str, StudioLifecycleConfig] = {}

    @property
    def domain_id(self) -> str:
        return self._domain_id

    @property
    def domain_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="sagemaker", resource="domain", resource_name=self._domain_id
        )

    @property
    def domain_name(self) -> str:
        return self._domain_name

    @property
    def custom_images(self) -> tuple[StudioCustomImage, ...]:
        # The domain's own images are not known; a profile lists only its own.
        return ()

    @property
    def connections(self) -> ec2.Connections:
        return self._connections

    def _register_user_profile(self, name: str, path: str) -> str | None:
        if is_token(name):
            return None
        other = self._profiles.get(name)
        if other is None:
            self._profiles[name] = path
        return other


def check_parameter_prefix(problems: Problems, prop: str, prefix: str | None) -> None:
    """An SSM parameter path to publish under (tokens and ``None`` are skipped)."""
    if prefix is None or is_token(prefix):
        return
    if (
        not isinstance(prefix, str)
        or not PARAMETER_PREFIX_PATTERN.fullmatch(prefix)
        or len(prefix) > 900
        or prefix.lower().startswith(("/aws", "/ssm"))
    ):
        problems.add(prop, prefix, PARAMETER_PREFIX_ALLOWED)


def check_app_settings(
    problems: Problems,
    *,
    jupyter_lab_instance_types: Sequence[str],
    default_jupyter_lab_instance_type: str,
    code_editor_instance_types: Sequence[str],
    default_code_editor_instance_type: str,
    default_ebs_size_gib: int,
    max_ebs_size_gib: int,
) -> None:
    """The domain's rules for its apps' instance types and volume sizes, as problems.

    :class:`StudioDomain` applies them to its props; a config model can apply the same rules
    (``Problems(None)``, then read ``problems.items``) to report them before any construct
    exists. Props are named as :class:`StudioDomain`'s.
    """
    for prop, types, default in (
        (
            "jupyter_lab_instance_types",
            jupyter_lab_instance_types,
            default_jupyter_lab_instance_type,
        ),
        (
            "code_editor_instance_types",
            code_editor_instance_types,
            default_code_editor_instance_type,
        ),
    ):
        problems.instance_types(
            prop, types, "studio", default=default, default_prop="default_" + prop.removesuffix("s")
        )
    for prop, size in (
        ("default_ebs_size_gib", default_ebs_size_gib),
        ("max_ebs_size_gib", max_ebs_size_gib),
    ):
        if size is None:  # both sizes are required by CloudFormation
            problems.add(prop, None, f"an integer from {MIN_EBS_SIZE_GIB} to {MAX_EBS_SIZE_GIB}")
        problems.integer_range(prop, size, MIN_EBS_SIZE_GIB, MAX_EBS_SIZE_GIB)
    sizes_valid = all(
        isinstance(v, int) and not isinstance(v, bool) and MIN_EBS_SIZE_GIB <= v <= MAX_EBS_SIZE_GIB
        for v in (default_ebs_size_gib, max_ebs_size_gib)
    )
    if sizes_valid and default_ebs_size_gib > max_ebs_size_gib:
        problems.add(
            "default_ebs_size_gib",
            default_ebs_size_gib,
            f"at most max_ebs_size_gib ({max_ebs_size_gib})",
        )


@jsii.implements(iam.IGrantable, ec2.IConnectable)
class StudioDomain(Resource):
    """A SageMaker Studio domain: VPC only, IAM sign-in, encrypted, home volume retained.

    Secure by default: apps reach the network only through the VPC (``VpcOnly``; the VPC
    needs the SageMaker, STS, CloudWatch Logs, KMS and Studio endpoints and the S3 gateway,
    as ``NotebookNetwork(studio=True)`` provides), users sign in with IAM, the EFS home
    file system and the spaces' EBS volumes are encrypted with a customer-managed key, and
    the domain is retained when the stack is deleted or the domain replaced.
    CloudFormation's delete handler deletes the home file system with the domain (the
    ``RetentionPolicy`` of ``DeleteDomain`` is not a resource property), so retaining the
    domain is what keeps the home file system; delete it later with
    ``aws sagemaker delete-domain --retention-policy HomeEfsFileSystem=Retain``.

    Default user settings: JupyterLab and Code Editor apps on the allowed instance types
    only (enforced in the execution roles' permissions), spaces' EBS volumes of
    ``default_ebs_size_gib`` and at most ``max_ebs_size_gib``, the built-in idle shutdown
    after ``idle_timeout_minutes``, the lifecycle configurations given as the default
    (and only) ones, notebook output sharing disabled, and the execution role's
    ``sts:SourceIdentity`` set to the user profile's name
    (``ExecutionRoleIdentityConfig``), so CloudTrail names the person behind a team's
    shared role and the role's permissions can tell its users apart.

    Attributes:
        resource: The L1 ``CfnDomain``.
        domain_id: The domain's ID.
        domain_arn: The domain's ARN.
        domain_name: The domain's name.
        url: The domain's Studio URL.
        key: The KMS key of the domain's storage.
        role: The default execution role.
        policy: The customer-managed policy of a created default role, or ``None``.
        security_group: The security group created for the apps, or ``None`` when
            security groups were given.
        connections: The apps' security groups (``ec2.IConnectable``).
        grant_principal: The default execution role (``iam.IGrantable``).
        jupyter_lab_instance_types: Instance types allowed for JupyterLab apps.
        code_editor_instance_types: Instance types allowed for Code Editor apps.
        lifecycle_configs: The default lifecycle configuration by app type.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        domain_name: str | None = None,
        encryption_key: kms.IKey | None = None,
        execution_role: iam.IRole | None = None,
        jupyter_lab_instance_types: Sequence[str] = DEFAULT_INSTANCE_TYPES,
        default_jupyter_lab_instance_type: str = DEFAULT_INSTANCE_TYPE,
        code_editor_instance_types: Sequence[str] = DEFAULT_INSTANCE_TYPES,
        default_code_editor_instance_type: str = DEFAULT_INSTANCE_TYPE,
        default_ebs_size_gib: int = MIN_EBS_SIZE_GIB,
        max_ebs_size_gib: int = 100,
        idle_timeout_minutes: int | None = 60,
        jupyter_lab_lifecycle_config: StudioLifecycleConfig | None = None,
        code_editor_lifecycle_config: StudioLifecycleConfig | None = None,
        custom_images: Sequence[StudioCustomImage] = (),
        notebook_output_sharing: bool = False,
        sharing_bucket: s3.IBucket | None = None,
        sharing_prefix: str = "shared-notebooks/",
        sharing_key: kms.IKey | None = None,
        allow_public_internet: bool = False,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        create_outputs: bool = False,
        portal_settings: StudioPortalSettings | None = None,
        parameter_prefix: str | None = None,
    ) -> None:
        """Create the domain.

        Args:
            vpc: The VPC the apps and the home file system are in.
            vpc_subnets: Subnets for the apps, at most 16. Default: the VPC's default
                selection (private, else isolated subnets).
            security_groups: Up to 5 security groups for the apps; each is given an NFS
                rule within itself (port 2049, for the EFS home volume). Default: a new
                group with that rule and HTTPS outbound.
            domain_name: At most 63 letters, digits and hyphens. Default: a name unique in
                the account, derived from the construct path.
            encryption_key: KMS key for the home file system and the spaces' volumes.
                Default: a new key with rotation enabled, retained.
            execution_role: Default execution role, for user profiles without their own.
                Its trust policy must allow ``sts:SetSourceIdentity`` (see
                :meth:`configure_execution_role`). Default: a new role with the Studio
                permissions only (no data access).
            jupyter_lab_instance_types: Instance types allowed for JupyterLab apps.
                Default: :data:`DEFAULT_INSTANCE_TYPES`.
            default_jupyter_lab_instance_type: One of them, the default.
                Default: ``ml.t3.medium``.
            code_editor_instance_types: Instance types allowed for Code Editor apps.
                Default: :data:`DEFAULT_INSTANCE_TYPES`.
            default_code_editor_instance_type: One of them, the default.
                Default: ``ml.t3.medium``.
            default_ebs_size_gib: EBS volume size of a new space, 5 to 16384 GiB, at most
                ``max_ebs_size_gib``. Default: 5.
            max_ebs_size_gib: Largest volume a user may give a space, 5 to 16384 GiB.
                Default: 100.
            idle_timeout_minutes: Shut JupyterLab and Code Editor apps down after this many
                idle minutes, 60 to 525600 (Studio's built-in idle shutdown). ``None``
                disables it and leaves a warning. Default: 60.
            jupyter_lab_lifecycle_config: Default (and only) lifecycle configuration of
                JupyterLab apps. Default: none.
            code_editor_lifecycle_config: Default (and only) lifecycle configuration of
                Code Editor apps. Default: none.
            custom_images: Images offered to every user (each must have a version).
                Default: none; see also :meth:`add_custom_image`.
            notebook_output_sharing: Let users share notebooks with their cell output.
                Enabling needs ``sharing_bucket`` and leaves a warning. Default: disabled.
            sharing_bucket: Bucket for shared notebooks. Default: none.
            sharing_prefix: Key prefix for shared notebooks in ``sharing_bucket``.
                Default: ``shared-notebooks/``.
            sharing_key: Key encrypting shared notebooks. Default: the domain's key.
            allow_public_internet: Give apps SageMaker-managed internet access
                (``PublicInternetOnly``). Default: disabled; enabling leaves a warning.
            tags: Tags for the domain and everything this construct creates.
                Default: none.
            removal_policy: Applied to the domain and a created key. Default: retained
                (which keeps the home file system); anything else leaves a warning.
            create_outputs: Add stack outputs with the domain's ID and URL.
                Default: none; the app decides what its stacks export.
            portal_settings: Apps, ML tools and instance types the Studio portal hides.
                ``StudioPortalSettings()`` hides what this product does not set up
                (Studio Classic, RStudio, Canvas, cluster and partner tools). Default:
                nothing hidden. People always land in the new Studio (``studio::``).
            parameter_prefix: Publish the domain's ID, name, apps' security group and
                default execution role ARN as SSM String parameters under this path
                (``<prefix>/domain-id`` ...), so that other apps can import it with
                :meth:`from_domain_parameters`. Default: nothing is published.
        """
        super().__init__(scope, id)
        subnet_ids = select_subnets(vpc, vpc_subnets).subnet_ids if vpc is not None else []
        self._parameter_prefix = parameter_prefix
        self._validate(
            vpc=vpc,
            subnet_ids=subnet_ids,
            security_groups=security_groups,
            encryption_key=encryption_key,
            domain_name=domain_name,
            jupyter_lab_instance_types=jupyter_lab_instance_types,
            default_jupyter_lab_instance_type=default_jupyter_lab_instance_type,
            code_editor_instance_types=code_editor_instance_types,
            default_code_editor_instance_type=default_code_editor_instance_type,
            default_ebs_size_gib=default_ebs_size_gib,
            max_ebs_size_gib=max_ebs_size_gib,
            idle_timeout_minutes=idle_timeout_minutes,
            jupyter_lab_lifecycle_config=jupyter_lab_lifecycle_config,
            code_editor_lifecycle_config=code_editor_lifecycle_config,
            custom_images=custom_images,
            notebook_output_sharing=notebook_output_sharing,
            sharing_bucket=sharing_bucket,
            sharing_prefix=sharing_prefix,
            sharing_key=sharing_key,
            tags=tags,
            portal_settings=portal_settings,
            flags={
                "notebook_output_sharing": notebook_output_sharing,
                "allow_public_internet": allow_public_internet,
                "create_outputs": create_outputs,
            },
            removal_policy=removal_policy,
        )
        self._warn(
            allow_public_internet=allow_public_internet,
            notebook_output_sharing=notebook_output_sharing,
            idle_timeout_minutes=idle_timeout_minutes,
            removal_policy=removal_policy,
        )
        name = domain_name or Names.unique_resource_name(
            self, max_length=NAME_MAX_LENGTH, separator="-"
        )
        self.domain_name: str = name
        self.jupyter_lab_instance_types: tuple[str, ...] = tuple(jupyter_lab_instance_types)
        self.code_editor_instance_types: tuple[str, ...] = tuple(code_editor_instance_types)
        self.max_ebs_size_gib: int = max_ebs_size_gib
        self._default_instance_types = {
            "JupyterLab": default_jupyter_lab_instance_type,
            "CodeEditor": default_code_editor_instance_type,
        }
        self._idle_timeout_minutes = idle_timeout_minutes
        self.lifecycle_configs: dict[str, StudioLifecycleConfig] = {
            app: lc
            for app, lc in (
                ("JupyterLab", jupyter_lab_lifecycle_config),
                ("CodeEditor", code_editor_lifecycle_config),
            )
            if lc is not None
        }
        self._custom_images: list[StudioCustomImage] = []
        self._profiles: dict[str, str] = {}
        self._spaces: dict[str, str] = {}
        self._sharing = (
            (sharing_bucket, sharing_prefix) if notebook_output_sharing and sharing_bucket else None
        )

        self.key: kms.IKey = encryption_key or new_key(
            self,
            "Key",
            description=f"Encrypts the home file system and spaces of Studio domain {name}",
            removal_policy=removal_policy,
        )
        self._sharing_key = sharing_key or self.key

        self.security_group: ec2.SecurityGroup | None = None
        if security_groups is None:
            self.security_group = ec2.SecurityGroup(
                self,
                "SecurityGroup",
                vpc=vpc,
                description=f"Studio domain {name}: HTTPS within the VPC, NFS within the group",
                allow_all_outbound=False,
            )
            # Only the VPC's own range (its interface endpoints), never 0.0.0.0/0; pass
            # NotebookNetwork's studio_security_group for S3 through the gateway.
            allow_https_within_vpc(self, self.security_group, vpc)
            security_groups = [self.security_group]
        for group in security_groups:
            # The apps mount their EFS home volume over NFS (idempotent on a group that
            # already has the rule, e.g. NotebookNetwork's Studio group).
            group.connections.allow_internally(NFS_PORT, NFS_DESCRIPTION)
        self._connections = ec2.Connections(security_groups=list(security_groups))

        # The resource is created before the default role's policy, which names it.
        self.resource = sagemaker.CfnDomain(
            self,
            "Resource",
            domain_name=name,
            auth_mode="IAM",
            app_network_access_type="PublicInternetOnly" if allow_public_internet else "VpcOnly",
            vpc_id=vpc.vpc_id,
            subnet_ids=list(subnet_ids),
            kms_key_id=self.key.key_arn,
            tag_propagation="ENABLED",
            domain_settings=sagemaker.CfnDomain.DomainSettingsProperty(
                execution_role_identity_config="USER_PROFILE_NAME"
            ),
            default_user_settings=sagemaker.CfnDomain.UserSettingsProperty(
                execution_role=lazy_string(lambda: self.role.role_arn),
                security_groups=[g.security_group_id for g in security_groups],
                default_landing_uri="studio::",
                studio_web_portal="ENABLED",
                jupyter_lab_app_settings=self._app_settings(sagemaker.CfnDomain, "JupyterLab"),
                code_editor_app_settings=self._app_settings(sagemaker.CfnDomain, "CodeEditor"),
                space_storage_settings=sagemaker.CfnDomain.DefaultSpaceStorageSettingsProperty(
                    default_ebs_storage_settings=sagemaker.CfnDomain.DefaultEbsStorageSettingsProperty(
                        default_ebs_volume_size_in_gb=default_ebs_size_gib,
                        maximum_ebs_volume_size_in_gb=max_ebs_size_gib,
                    )
                ),
                sharing_settings=self._sharing_settings(),
                studio_web_portal_settings=portal_settings.to_cfn() if portal_settings else None,
            ),
        )
        self.resource.apply_removal_policy(removal_policy)
        for lc in self.lifecycle_configs.values():
            self.resource.node.add_dependency(lc)
        self.domain_id: str = self.resource.attr_domain_id
        self.domain_arn: str = self.resource.attr_domain_arn
        self.url: str = self.resource.attr_url

        self.policy: iam.ManagedPolicy | None = None
        if execution_role is None:
            created, self.policy = service_role(
                self,
                service="sagemaker.amazonaws.com",
                description=f"Default execution role of Studio domain {name} (no data access)",
                policy_description=f"Use Studio domain {name}: own private spaces and apps only",
            )
            self.configure_execution_role(created, self.policy)
            execution_role = created
        self.role: iam.IRole = execution_role

        for image in custom_images:
            self.add_custom_image(image)
        for key, value in (tags or {}).items():
            Tags.of(self).add(key, value)
        if create_outputs:
            CfnOutput(self, "DomainIdOutput", value=self.domain_id, description="Studio domain")
            CfnOutput(self, "UrlOutput", value=self.url, description=f"Studio URL of {name}")
        self.parameters: dict[str, ssm.StringParameter] = {}
        if parameter_prefix is not None:
            values = {
                "domain-id": self.domain_id,
                "domain-name": name,
                "security-group-id": list(security_groups)[0].security_group_id,
                "execution-role-arn": self.role.role_arn,
            }
            for key in DOMAIN_PARAMETERS:
                self.parameters[key] = ssm.StringParameter(
                    self,
                    f"Parameter-{key}",
                    parameter_name=f"{parameter_prefix}/{key}",
                    string_value=values[key],
                    description=f"{key} of Studio domain {name}",
                )

    # -- interfaces --

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The default execution role (``iam.IGrantable``)."""
        return self.role

    @property
    def connections(self) -> ec2.Connections:
        """The apps' security groups (``ec2.IConnectable``)."""
        return self._connections

    # -- custom images and user settings --

    @property
    def custom_images(self) -> tuple[StudioCustomImage, ...]:
        """Images offered to every user of the domain."""
        return tuple(self._custom_images)

    def add_custom_image(self, image: StudioCustomImage) -> None:
        """Offer ``image`` (which must have a version) to every user of the domain.

        The image must be in this domain's stack or one it depends on.
        """
        p = Problems(self)
        _check_images(p, "custom_images", [*self._custom_images, image])
        p.raise_if_any()
        image.attach_to(self.resource)
        self._custom_images.append(image)
        if self._idle_timeout_minutes is not None:
            warn_idle_shutdown_ineffective(image, self._idle_timeout_minutes)

    def _app_settings(
        self, namespace: Any, app_type: str, extra_images: Iterable[StudioCustomImage] = ()
    ) -> Any:
        """The domain's settings of ``app_type`` apps, plus ``extra_images``.

        Used for the domain's defaults and by user profiles with images of their own,
        which repeat the domain's default instance type and lifecycle configuration with
        their images (the idle shutdown stays the domain's: a profile cannot set it).
        Nothing here references a resource, so a profile in another stack adds no
        cross-stack reference.

        Args:
            namespace: ``sagemaker.CfnDomain`` or ``sagemaker.CfnUserProfile`` (whose
                property classes are built).
            app_type: ``"JupyterLab"`` or ``"CodeEditor"``.
            extra_images: Images of the profile.
        """
        lc = self.lifecycle_configs.get(app_type)
        extra = tuple(extra_images)
        if self._idle_timeout_minutes is not None:
            for image in (*self._custom_images, *extra):
                if image.app_type == app_type:
                    warn_idle_shutdown_ineffective(image, self._idle_timeout_minutes)

        def images() -> list[dict[str, str]] | None:
            chosen = [i for i in (*self._custom_images, *extra) if i.app_type == app_type]
            return [
                {"appImageConfigName": i.app_image_config_name, "imageName": i.image_name}
                for i in chosen
            ] or None

        idle = None
        # A user profile's app settings have no AppLifecycleManagement (CloudFormation
        # schema of AWS::SageMaker::UserProfile): idle shutdown is the domain's.
        if namespace is sagemaker.CfnDomain:
            idle = namespace.AppLifecycleManagementProperty(
                idle_settings=namespace.IdleSettingsProperty(lifecycle_management="DISABLED")
                if self._idle_timeout_minutes is None
                else namespace.IdleSettingsProperty(
                    lifecycle_management="ENABLED",
                    idle_timeout_in_minutes=self._idle_timeout_minutes,
                )
            )
        settings_class = (
            namespace.JupyterLabAppSettingsProperty
            if app_type == "JupyterLab"
            else namespace.CodeEditorAppSettingsProperty
        )
        return settings_class(
            default_resource_spec=namespace.ResourceSpecProperty(
                instance_type=self._default_instance_types[app_type],
                lifecycle_config_arn=lc.lifecycle_config_arn if lc else None,
            ),
            lifecycle_config_arns=[lc.lifecycle_config_arn] if lc else None,
            custom_images=lazy_any(images),
            app_lifecycle_management=idle,
        )

    @staticmethod
    def from_domain_attributes(
        scope: Construct,
        id: str,
        *,
        domain_id: str,
        domain_name: str | None = None,
        security_group: ec2.ISecurityGroup | None = None,
        execution_role: iam.IRole | None = None,
    ) -> IStudioDomain:
        """A domain that exists already (another stack or app), for ``StudioUserProfile``.

        Args:
            domain_id: The domain's ID (``d-...``).
            domain_name: Its name, used in messages only. Default: the ID.
            security_group: Its apps' security group (``connections``). Default: none.
            execution_role: Its default execution role, the profiles' role when they are
                given none. Default: unknown; a profile without ``execution_role`` then
                uses the domain's default without naming it.

        What cannot be known about an imported domain: its custom images and its default
        instance types and lifecycle configurations. A profile with ``custom_images``
        lists only its own images and sets no default resource spec.
        """
        p = Problems(scope)
        if not is_token(domain_id) and not re.fullmatch(r"d-[a-z0-9]{1,61}", domain_id):
            p.add("domain_id", domain_id, "a domain ID: 'd-' then lower-case letters and digits")
        p.raise_if_any()
        return _ImportedStudioDomain(
            scope,
            id,
            domain_id=domain_id,
            domain_name=domain_name,
            security_group=security_group,
            execution_role=execution_role,
        )

    @staticmethod
    def from_domain_parameters(
        scope: Construct, id: str, *, parameter_prefix: str
    ) -> IStudioDomain:
        """A domain published by ``StudioDomain(parameter_prefix=...)`` in this account and Region.

        The values are read at deploy time (CloudFormation ``AWS::SSM::Parameter::Value``
        parameters): the importing app needs no lookup, and a re-published domain is picked
        up on the next deploy. Returns what :meth:`from_domain_attributes` returns, with the
        security group and execution role the domain published.
        """
        p = Problems(scope)
        check_parameter_prefix(p, "parameter_prefix", parameter_prefix)
        p.raise_if_any()

        def read(key: str) -> str:
            return ssm.StringParameter.value_for_string_parameter(
                scope, f"{parameter_prefix}/{key}"
            )

        return StudioDomain.from_domain_attributes(
            scope,
            id,
            domain_id=read("domain-id"),
            domain_name=read("domain-name"),
            security_group=ec2.SecurityGroup.from_security_group_id(
                scope, f"{id}SecurityGroup", read("security-group-id")
            ),
            execution_role=iam.Role.from_role_arn(
                scope, f"{id}ExecutionRole", read("execution-role-arn"), mutable=False
            ),
        )

    def _sharing_settings(self) -> sagemaker.CfnDomain.SharingSettingsProperty:
        if self._sharing is None:
            return sagemaker.CfnDomain.SharingSettingsProperty(notebook_output_option="Disabled")
        bucket, prefix = self._sharing
        return sagemaker.CfnDomain.SharingSettingsProperty(
            notebook_output_option="Allowed",
            s3_output_path=f"s3://{bucket.bucket_name}/{prefix}",
            s3_kms_key_id=self._sharing_key.key_arn,
        )

    def _register_user_profile(self, name: str, path: str) -> str | None:
        """Record a user profile of this domain; the path of another one of that name, if any.

        Called by ``StudioUserProfile`` so that a name is used once per domain.
        """
        if is_token(name):
            return None
        other = self._profiles.get(name)
        if other is None:
            self._profiles[name] = path
        return other

    def _register_space(self, name: str, path: str) -> str | None:
        """Record a space of this domain; the path of another one of that name, if any."""
        if is_token(name):
            return None
        other = self._spaces.get(name)
        if other is None:
            self._spaces[name] = path
        return other

    # -- execution roles --

    def configure_execution_role(self, role: iam.Role, policy: iam.ManagedPolicy) -> None:
        """Make ``role`` an execution role of this domain, its permissions in ``policy``.

        Lets SageMaker set the role's source identity (the user profile's name), attaches
        ``policy`` (customer-managed) to ``role``, and adds to it what using Studio needs:
        list and describe the domain's resources; create, update and delete only private
        spaces and apps whose owner is the user the role acts for
        (``sagemaker:OwnerUserProfileArn`` = ``.../<domain>/${aws:SourceIdentity}``) on the
        allowed instance types; tag them on create; write Studio's log streams; use the
        domain's key; and what the lifecycle configurations and output sharing need.
        Resource wildcards are scoped to this account and region (the domain's ID stays in
        conditions, so the statements work from another stack) and acknowledged one by
        one with the evidence.
        """
        role.assume_role_policy.add_statements(  # type: ignore[union-attr]
            iam.PolicyStatement(
                sid="SageMakerSetsSourceIdentity",
                actions=["sts:SetSourceIdentity"],
                principals=[iam.ServicePrincipal("sagemaker.amazonaws.com")],
            )
        )
        policy.attach_to_role(role)
        reasons: dict[str, list[str]] = {}
        for statement, reason in self._execution_statements():
            policy.add_statements(statement)
            for resource in statement.resources:
                if "*" in json.dumps(Stack.of(policy).resolve(resource)):
                    reasons.setdefault(resource, [])
                    if reason not in reasons[resource]:
                        reasons[resource].append(reason)
        for resource, why in reasons.items():
            acknowledge_wildcard_resource(policy, resource, " ".join(why))

    def _execution_statements(self) -> list[tuple[iam.PolicyStatement, str]]:
        stack = Stack.of(self)

        def arn(resource: str, name: str = "*") -> str:
            return stack.format_arn(service="sagemaker", resource=resource, resource_name=name)

        spaces, apps, profiles = arn("space"), arn("app"), arn("user-profile")
        owner = arn("user-profile", f"{self.domain_id}/${{aws:SourceIdentity}}")
        own_private = {
            "ArnLike": {"sagemaker:OwnerUserProfileArn": owner},
            "StringEquals": {"sagemaker:SpaceSharingType": "Private"},
            "ForAllValues:StringEquals": {
                "sagemaker:InstanceTypes": sorted(
                    {*self.jupyter_lab_instance_types, *self.code_editor_instance_types}
                )
            },
        }
        owned = (
            "Create, update and delete are limited by conditions to private spaces and apps "
            "owned by the user the role acts for (OwnerUserProfileArn = this domain's "
            "profile named by aws:SourceIdentity) on the allowed instance types; space and "
            "app names are chosen by users at run time."
        )
        read = (
            "Describe/ListTags only (read-only metadata) of this account's Studio resources, "
            "which Studio lists to its users; names are chosen at run time."
        )
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=STUDIO_LOG_GROUP_NAME,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        statements: list[tuple[iam.PolicyStatement, str]] = [
            (
                iam.PolicyStatement(
                    sid="StudioList",
                    actions=[
                        "sagemaker:ListApps",
                        "sagemaker:ListDomains",
                        "sagemaker:ListSpaces",
                        "sagemaker:ListUserProfiles",
                    ],
                    resources=["*"],
                ),
                "sagemaker:List* actions support no resource-level permissions.",
            ),
            (
                iam.PolicyStatement(
                    sid="DescribeThisDomain",
                    actions=["sagemaker:DescribeDomain", "sagemaker:ListTags"],
                    resources=[self.domain_arn],
                ),
                "",
            ),
            (
                iam.PolicyStatement(
                    sid="StudioDescribe",
                    actions=[
                        "sagemaker:DescribeApp",
                        "sagemaker:DescribeSpace",
                        "sagemaker:DescribeUserProfile",
                        "sagemaker:ListTags",
                    ],
                    resources=[apps, spaces, profiles],
                ),
                read,
            ),
            (
                iam.PolicyStatement(
                    sid="StudioDescribeImages",
                    actions=[
                        "sagemaker:DescribeAppImageConfig",
                        "sagemaker:DescribeImage",
                        "sagemaker:DescribeImageVersion",
                        "sagemaker:ListImageVersions",
                    ],
                    resources=[arn("image"), arn("image-version"), arn("app-image-config")],
                ),
                "Describe only (read-only metadata) of this account's images, which Studio "
                "offers to its users.",
            ),
            (
                iam.PolicyStatement(
                    sid="OwnPrivateSpaces",
                    actions=[
                        "sagemaker:CreateSpace",
                        "sagemaker:UpdateSpace",
                        "sagemaker:DeleteSpace",
                    ],
                    resources=[spaces],
                    conditions=own_private,
                ),
                owned,
            ),
            (
                iam.PolicyStatement(
                    sid="OwnPrivateApps",
                    actions=["sagemaker:CreateApp", "sagemaker:DeleteApp"],
                    resources=[apps],
                    conditions=own_private,
                ),
                owned,
            ),
            (
                iam.PolicyStatement(
                    sid="TagOnCreate",
                    actions=["sagemaker:AddTags"],
                    resources=[spaces, apps],
                    conditions={"Null": {"sagemaker:TaggingAction": "false"}},
                ),
                "AddTags only as part of a create call (sagemaker:TaggingAction), which "
                "Studio makes with tags.",
            ),
            (
                iam.PolicyStatement(
                    sid="WriteStudioLogStreams",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{log_group}:log-stream:*"],
                ),
                f"Streams of the {STUDIO_LOG_GROUP_NAME} group only, which Studio names "
                "<domain>/<space>/<app> at run time.",
            ),
            (
                iam.PolicyStatement(
                    sid="DescribeStudioLogStreams",
                    actions=["logs:DescribeLogStreams"],
                    resources=[f"{log_group}:*"],
                ),
                f"logs:DescribeLogStreams is authorized on the group; ':*' is the ARN form "
                f"of the {STUDIO_LOG_GROUP_NAME} group itself.",
            ),
            (
                iam.PolicyStatement(
                    sid="UseDomainKey",
                    actions=[
                        "kms:Decrypt",
                        "kms:Encrypt",
                        "kms:GenerateDataKey",
                        "kms:ReEncryptFrom",
                        "kms:ReEncryptTo",
                        "kms:DescribeKey",
                    ],
                    resources=[self.key.key_arn],
                ),
                "",
            ),
            (
                iam.PolicyStatement(
                    sid="GrantDomainKeyToAwsServices",
                    actions=["kms:CreateGrant"],
                    resources=[self.key.key_arn],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
                "",
            ),
        ]
        for lc in self.lifecycle_configs.values():
            for statement in lc.execution_role_statements():
                statements.append(
                    (
                        statement,
                        "sts:GetServiceBearerToken supports no resource-level permissions; "
                        "it is limited to CodeArtifact by the sts:AWSServiceName condition.",
                    )
                )
        if self._sharing is not None:
            bucket, prefix = self._sharing
            statements.append(
                (
                    iam.PolicyStatement(
                        sid="WriteSharedNotebooks",
                        actions=["s3:PutObject", "s3:GetObject"],
                        resources=[bucket.arn_for_objects(f"{prefix}*")],
                    ),
                    f"Objects under the {prefix} prefix of the sharing bucket only, which "
                    "Studio names after the shared notebook.",
                )
            )
            if self._sharing_key is not self.key:
                statements.append(
                    (
                        iam.PolicyStatement(
                            sid="UseSharingKey",
                            actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                            resources=[self._sharing_key.key_arn],
                        ),
                        "",
                    )
                )
        return statements

    # -- validation and warnings --

    def _validate(
        self,
        *,
        vpc: ec2.IVpc | None,
        subnet_ids: Sequence[str],
        security_groups: Sequence[ec2.ISecurityGroup] | None,
        encryption_key: kms.IKey | None,
        domain_name: str | None,
        jupyter_lab_instance_types: Sequence[str],
        default_jupyter_lab_instance_type: str,
        code_editor_instance_types: Sequence[str],
        default_code_editor_instance_type: str,
        default_ebs_size_gib: int,
        max_ebs_size_gib: int,
        idle_timeout_minutes: int | None,
        jupyter_lab_lifecycle_config: StudioLifecycleConfig | None,
        code_editor_lifecycle_config: StudioLifecycleConfig | None,
        custom_images: Sequence[StudioCustomImage],
        notebook_output_sharing: bool,
        sharing_bucket: s3.IBucket | None,
        sharing_prefix: str,
        sharing_key: kms.IKey | None,
        tags: Mapping[str, str] | None,
        portal_settings: StudioPortalSettings | None = None,
        flags: Mapping[str, object] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        p = Problems(self)
        # "false" is truthy: it would enable the option.
        for prop, flag in (flags or {}).items():
            p.boolean(prop, flag)
        p.removal_policy(
            "removal_policy", removal_policy, "the domain and its key have no snapshots"
        )
        if portal_settings is not None and not isinstance(portal_settings, StudioPortalSettings):
            p.add("portal_settings", portal_settings, "a StudioPortalSettings")
            portal_settings = None
        if portal_settings is not None:
            portal_settings.check(p, "portal_settings")
            hidden = portal_settings.hidden_instance_types
            for default in dict.fromkeys(
                d
                for d in (default_jupyter_lab_instance_type, default_code_editor_instance_type)
                if isinstance(d, str)
            ):
                if isinstance(hidden, list | tuple) and default in hidden:
                    p.add(
                        "portal_settings.hidden_instance_types",
                        list(portal_settings.hidden_instance_types),
                        f"types other than the default instance type {default}",
                    )
        if vpc is None:
            p.add("vpc", None, "a VPC (the apps and the EFS home file system are in it)")
        elif not is_token(list(subnet_ids)) and not 1 <= len(subnet_ids) <= MAX_SUBNETS:
            p.add("vpc_subnets", f"{len(subnet_ids)} subnets", f"1 to {MAX_SUBNETS} subnets")
        p.security_groups(
            "security_groups",
            security_groups,
            limit=MAX_SECURITY_GROUPS,
            # e.g. NotebookNetwork.studio_security_group, which is None unless studio=True.
            none_hint="NotebookNetwork.studio_security_group is None unless the network is "
            "created with studio=True",
        )
        p.kms_key("encryption_key", encryption_key)
        p.kms_key("sharing_key", sharing_key)
        p.sagemaker_name("domain_name", domain_name)
        check_app_settings(
            p,
            jupyter_lab_instance_types=jupyter_lab_instance_types,
            default_jupyter_lab_instance_type=default_jupyter_lab_instance_type,
            code_editor_instance_types=code_editor_instance_types,
            default_code_editor_instance_type=default_code_editor_instance_type,
            default_ebs_size_gib=default_ebs_size_gib,
            max_ebs_size_gib=max_ebs_size_gib,
        )
        p.integer_range(
            "idle_timeout_minutes",
            idle_timeout_minutes,
            MIN_IDLE_TIMEOUT_MINUTES,
            MAX_IDLE_TIMEOUT_MINUTES,
        )
        for prop, lc, app in (
            ("jupyter_lab_lifecycle_config", jupyter_lab_lifecycle_config, "JupyterLab"),
            ("code_editor_lifecycle_config", code_editor_lifecycle_config, "CodeEditor"),
        ):
            if lc is not None and lc.app_type != app:
                p.add(prop, f"a {lc.app_type} configuration", f"a {app} configuration")
        _check_images(p, "custom_images", custom_images)
        if notebook_output_sharing is True and sharing_bucket is None:
            p.add(
                "sharing_bucket",
                None,
                "a bucket for shared notebooks (notebook_output_sharing is enabled)",
            )
        if notebook_output_sharing is False:
            for prop, value in (("sharing_bucket", sharing_bucket), ("sharing_key", sharing_key)):
                if value is not None:
                    p.add(prop, "given", "only with notebook_output_sharing=True")
        if not isinstance(sharing_prefix, str) or (
            not is_token(sharing_prefix) and not _is_sharing_prefix(sharing_prefix)
        ):
            p.add("sharing_prefix", sharing_prefix, _SHARING_PREFIX_ALLOWED)
        # The shared AWS tag rules, with the Studio resources' limits (values 1 to 128).
        p.tags("tags", tags, value_length=STUDIO_TAG_VALUE_LENGTH)
        check_parameter_prefix(p, "parameter_prefix", self._parameter_prefix)
        p.raise_if_any()

    def _warn(
        self,
        *,
        allow_public_internet: bool,
        notebook_output_sharing: bool,
        idle_timeout_minutes: int | None,
        removal_policy: RemovalPolicy,
    ) -> None:
        notes = Annotations.of(self)
        if allow_public_internet:
            notes.add_warning_v2(
                "sagemaker-constructs:studio-public-internet",
                "allow_public_internet=True: Studio apps get SageMaker-managed internet access "
                "outside the VPC's controls (AppNetworkAccessType PublicInternetOnly).",
            )
        if notebook_output_sharing:
            notes.add_warning_v2(
                "sagemaker-constructs:studio-output-sharing",
                "notebook_output_sharing=True: shared notebooks carry their cell output "
                "(which may hold data) to the sharing bucket.",
            )
        if idle_timeout_minutes is None:
            notes.add_warning_v2(
                "sagemaker-constructs:studio-no-idle-shutdown",
                "idle_timeout_minutes=None: idle JupyterLab and Code Editor apps keep running "
                "(and billing) until users stop them.",
            )
        if removal_policy != RemovalPolicy.RETAIN:
            notes.add_warning_v2(
                "sagemaker-constructs:studio-home-deleted",
                "removal_policy is not RETAIN: deleting the domain deletes its EFS home file "
                "system with every user's files.",
            )


def _check_images(
    p: Problems,
    prop: str,
    images: Sequence[StudioCustomImage],
    offered: Sequence[StudioCustomImage] = (),
) -> None:
    """Each image has a version and is listed once (also among ``offered`` ones)."""
    names = {image.image_name for image in offered}
    for i, image in enumerate(images):
        if not image.attachable():
            p.add(
                f"{prop}[{i}]",
                f"image {image.image_name!r} without a version",
                "an image with image_tag or image_uri (push the image, then set the tag)",
            )
        if image.image_name in names:
            p.add(
                f"{prop}[{i}]",
                image.image_name,
                "each image at most once (the domain's images are offered already)",
            )
        names.add(image.image_name)
