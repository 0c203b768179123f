"""The platform's config file: a validated model and a loader with readable errors.

Every error names the file, the field path (``teams[1].notebooks[0].volume_size_gib``),
the value given and what is allowed. Limits come from the constructs, so the config
accepts exactly what they accept.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sagemaker_constructs import (
    ENDPOINT_NAMES,
    STUDIO_TAG_VALUE_LENGTH,
    CondaChannelS3,
    CondaEnvironment,
    ConnectivityCheck,
    EnvironmentVariables,
    HomeBackup,
    IdleAutoStop,
    JupyterLabExtension,
    NotebookSetup,
    PackageIndex,
    PackageInstall,
    PipInstallEverywhere,
    Problems,
    StudioSetup,
    check_app_settings,
    instance_type_problem,
    tag_problem,
)
from sagemaker_constructs.cost.office_hours import (
    DAYS_ALLOWED,
    DAYS_PATTERN,
    TIME_ALLOWED,
    TIME_PATTERN,
    OfficeHours,
)
from sagemaker_constructs.cost.team_alerts import EMAIL_PATTERN
from sagemaker_constructs.cost.team_budget import MAX_NOTIFICATIONS
from sagemaker_constructs.network.conda_channel import DEFAULT_BUCKET_NAME
from sagemaker_constructs.network.package_mirror import DOMAIN_PATTERN, REPOSITORY_PATTERN
from sagemaker_constructs.notebooks.notebook_instance import (
    MAX_VOLUME_SIZE_GIB,
    MIN_VOLUME_SIZE_GIB,
    SUPPORTED_PLATFORMS,
)
from sagemaker_constructs.setup.notebook_setup import (
    BUCKET_ALLOWED,
    CA_DOMAIN_ALLOWED,
    S3_PREFIX_ALLOWED,
    bucket_name_ok,
    s3_prefix_ok,
)
from sagemaker_constructs.setup.studio_setup import STUDIO_APP_TYPES
from sagemaker_constructs.studio.studio_custom_image import (
    DISPLAY_NAME_ALLOWED,
    DISPLAY_NAME_PATTERN,
    IMAGE_TAG_ALLOWED,
    IMAGE_TAG_PATTERN,
)
from sagemaker_constructs.studio.studio_domain import (
    DEFAULT_INSTANCE_TYPE,
    DEFAULT_INSTANCE_TYPES,
    MAX_EBS_SIZE_GIB,
    MAX_IDLE_TIMEOUT_MINUTES,
    MIN_EBS_SIZE_GIB,
    MIN_IDLE_TIMEOUT_MINUTES,
)
from sagemaker_constructs.studio.studio_portal_settings import (
    APP_TYPES,
    ML_TOOLS,
    UNMANAGED_ML_TOOLS,
    UNSUPPORTED_APP_TYPES,
    StudioPortalSettings,
)

# Team and user names end up in stack names, notebook names and S3 prefixes, so they are
# held to the strictest of those: lower-case letters, digits and single hyphens.
SLUG_PATTERN = re.compile(r"[a-z]([a-z0-9]|-(?=[a-z0-9]))*")
SLUG_ALLOWED = (
    "lower-case letters, digits and single hyphens, starting with a letter, "
    "not ending with a hyphen"
)
TEAM_NAME_MAX = 24
USER_NAME_MAX = 32
PREFIX_MAX = 20
STUDIO_IMAGE_NAME_MAX = 38
# The notebook and Studio user profile name "<team>-<user>", the lifecycle config name
# "<prefix>-<team>" and the Studio image name "<team>-<image>" must fit SageMaker's 63
# characters, and the Studio lifecycle config name prefix "<prefix>-jupyterlab" its 50;
# these limits guarantee it.
GENERATION_MAX = 99  # the suffix "-g99" fits: 24 + 1 + 32 + 4 <= 63
assert TEAM_NAME_MAX + 1 + USER_NAME_MAX + len(f"-g{GENERATION_MAX}") <= 63
assert TEAM_NAME_MAX + 1 + USER_NAME_MAX <= 63 and PREFIX_MAX + 1 + TEAM_NAME_MAX <= 63
assert TEAM_NAME_MAX + 1 + STUDIO_IMAGE_NAME_MAX <= 63 and PREFIX_MAX + len("-codeeditor") <= 50
RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


class ConfigError(Exception):
    """The config file is unreadable or invalid; ``str()`` is one line per problem."""

    def __init__(self, path: str | Path, problems: Sequence[str]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        super().__init__("\n".join(f"{self.path}: {p}" for p in self.problems))


def _check(ok: bool, allowed: str) -> None:
    if not ok:
        raise PydanticCustomError("not_allowed", "allowed: {allowed}", {"allowed": allowed})


def _slug(max_length: int):
    def check(value: str) -> str:
        _check(
            bool(SLUG_PATTERN.fullmatch(value)) and len(value) <= max_length,
            f"1 to {max_length} {SLUG_ALLOWED}",
        )
        return value

    return AfterValidator(check)


def _in_range(low: int, high: int):
    def check(value: int) -> int:
        _check(low <= value <= high, f"an integer from {low} to {high}")
        return value

    return AfterValidator(check)


def _instance_type_of(kind: str):
    # The constructs' own check: the offered types, the nearest ones for a near miss.
    def check(value: str) -> str:
        problem = instance_type_problem(value, kind)
        _check(problem is None, problem or "")
        return value

    return AfterValidator(check)


def _platform(value: str) -> str:
    _check(value in SUPPORTED_PLATFORMS, " or ".join(SUPPORTED_PLATFORMS))
    return value


def _retention(value: int) -> int:
    _check(value in RETENTION_DAYS, "one of " + ", ".join(map(str, RETENTION_DAYS)) + " days")
    return value


def _endpoint(value: str) -> str:
    _check(value in ENDPOINT_NAMES, "one of " + ", ".join(ENDPOINT_NAMES))
    return value


def _tag_value(value: str) -> str:
    problem = tag_problem("cost-center", value)
    _check(problem is None and value != "", "1 to 256 letters, digits, spaces or _.:/=+-@")
    return value


def _tags(tags: dict[str, str]) -> dict[str, str]:
    for key, value in tags.items():
        problem = tag_problem(key, value)
        if problem is None and value == "":
            problem = "a non-empty value (CodeArtifact rejects empty tag values)"
        _check(problem is None, f"tag {key!r}: {problem}")
    return tags


def _not_aws(value: str) -> str:
    # The prefix starts KMS alias names (alias/<prefix>/<team>); alias/aws/ is AWS's.
    _check(value != "aws", "any prefix but 'aws' (alias/aws/ is reserved for AWS keys)")
    return value


def _code_artifact_domain(value: str) -> str:
    _check(bool(DOMAIN_PATTERN.fullmatch(value)), CA_DOMAIN_ALLOWED)
    return value


def _code_artifact_repository(value: str) -> str:
    _check(bool(REPOSITORY_PATTERN.fullmatch(value)), "2 to 100 letters, digits, '.', '_' or '-'")
    return value


def _channel_bucket(value: str) -> str:
    _check(bucket_name_ok(value), BUCKET_ALLOWED)
    return value


def _channel_prefix(value: str) -> str:
    _check(s3_prefix_ok(value), S3_PREFIX_ALLOWED)
    return value


def _image_tag(value: str) -> str:
    _check(bool(IMAGE_TAG_PATTERN.fullmatch(value)), IMAGE_TAG_ALLOWED)
    return value


def _display_name(value: str) -> str:
    _check(bool(DISPLAY_NAME_PATTERN.fullmatch(value)), DISPLAY_NAME_ALLOWED)
    return value


def _studio_app_type(value: str) -> str:
    _check(value in STUDIO_APP_TYPES, " or ".join(STUDIO_APP_TYPES))
    return value


InstanceType = Annotated[str, _instance_type_of("notebook")]
# Studio offers other types than notebook instances, and a space fewer than the domain.
StudioInstanceType = Annotated[str, _instance_type_of("studio")]
SpaceInstanceType = Annotated[str, _instance_type_of("space")]
VolumeSize = Annotated[int, _in_range(MIN_VOLUME_SIZE_GIB, MAX_VOLUME_SIZE_GIB)]
PlatformId = Annotated[str, AfterValidator(_platform)]
EbsSize = Annotated[int, _in_range(MIN_EBS_SIZE_GIB, MAX_EBS_SIZE_GIB)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Environment(_Model):
    """Where the stacks deploy. Omitted: environment-agnostic (synth needs no account)."""

    account: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")] | None = None


class ExistingVpc(_Model):
    """An existing VPC to wrap instead of creating one."""

    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")]
    availability_zones: Annotated[list[str], Field(min_length=2)]
    subnet_ids: Annotated[
        list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]], Field(min_length=2)
    ]
    #: Route tables of ``subnet_ids``, same order; needed unless ``s3`` is in existing_endpoints.
    route_table_ids: list[Annotated[str, Field(pattern=r"^rtb-[0-9a-f]{8,17}$")]] = []
    existing_endpoints: list[Annotated[str, AfterValidator(_endpoint)]] = []
    has_flow_logs: bool = False
    #: The subnets route to an internet or NAT gateway and that is accepted (a warning).
    #: Default: subnets are taken as isolated.
    allow_internet_routed_subnets: bool = False

    @model_validator(mode="after")
    def _one_subnet_per_az(self) -> ExistingVpc:
        if len(self.subnet_ids) != len(self.availability_zones):
            raise PydanticCustomError(
                "subnets_per_az",
                "got {n} subnet_ids for {m} availability_zones; "
                "allowed: one subnet per zone, in the same order",
                {"n": len(self.subnet_ids), "m": len(self.availability_zones)},
            )
        if "s3" not in self.existing_endpoints and len(self.route_table_ids) != len(
            self.subnet_ids
        ):
            raise PydanticCustomError(
                "subnets_per_az",
                "got {n} route_table_ids for {m} subnet_ids; allowed: one route table per subnet "
                "(for the S3 gateway endpoint), or 's3' in existing_endpoints",
                {"n": len(self.route_table_ids), "m": len(self.subnet_ids)},
            )
        return self


class Network(_Model):
    cidr: str = "10.0.0.0/16"
    max_azs: Annotated[int, _in_range(2, 6)] = 2
    existing_vpc: ExistingVpc | None = None
    #: The Region's AWS-managed S3 prefix list (com.amazonaws.<region>.s3): notebooks'
    #: only egress besides the VPC endpoints. Unset: notebooks cannot reach S3.
    s3_prefix_list_id: Annotated[str, Field(pattern=r"^pl-[0-9a-f]{8,17}$")] | None = None
    #: Endpoint policies admit this AWS Organization instead of only this account.
    organization_id: Annotated[str, Field(pattern=r"^o-[a-z0-9]{10,32}$")] | None = None

    @model_validator(mode="after")
    def _cidr_holds_the_subnets(self) -> Network:
        # NotebookNetwork makes one /20 subnet per Availability Zone.
        largest = 20 - (self.max_azs - 1).bit_length()
        try:
            network = ipaddress.IPv4Network(self.cidr)
            ok = 16 <= network.prefixlen <= largest
        except ValueError:
            ok = False
        if not ok:
            raise PydanticCustomError(
                "not_allowed_at",
                "cidr: got {cidr!r}; allowed: an IPv4 network address from /16 to /{largest} "
                "(room for one /20 subnet in each of max_azs={azs} zones)",
                {"cidr": self.cidr, "largest": largest, "azs": self.max_azs},
            )
        return self


def _cidr_range(value: str) -> str:
    try:
        ipaddress.ip_network(value)
    except ValueError:
        raise PydanticCustomError(
            "cidr_range",
            "got {value!r}; allowed: a CIDR range like 203.0.113.0/24",
            {"value": value},
        ) from None
    return value


class PersonAccessSettings(_Model):
    """One IAM managed policy per person: open only their own notebook and Studio profile.

    The policy is named ``<prefix>-<team>-<user>-access``, for a customer managed policy
    reference in the person's IAM Identity Center permission set (docs/SECURITY.md).
    """

    #: Calls may come through the platform's SageMaker API, notebook and Studio endpoints.
    through_vpc_endpoints: bool = True
    #: Calls may come from these address ranges (office, VPN egress).
    source_ip_ranges: list[Annotated[str, AfterValidator(_cidr_range)]] = []

    @model_validator(mode="after")
    def _some_network(self) -> PersonAccessSettings:
        if not self.through_vpc_endpoints and not self.source_ip_ranges:
            raise PydanticCustomError(
                "no_network",
                "through_vpc_endpoints: got false with no source_ip_ranges; allowed: "
                "true, or at least one source address range",
            )
        return self


class PackageMirrorSettings(_Model):
    """A CodeArtifact PyPI mirror in the platform stack, with its VPC endpoints."""

    domain: Annotated[str, AfterValidator(_code_artifact_domain)]
    repository: Annotated[str, AfterValidator(_code_artifact_repository)] = "pypi"


class CondaChannelSettings(_Model):
    """An S3 conda channel in the platform stack (sagemaker_constructs.CondaChannel)."""

    #: "{account}" and "{region}" stand for the platform's.
    bucket_name: Annotated[str, AfterValidator(_channel_bucket)] = DEFAULT_BUCKET_NAME
    prefix: Annotated[str, AfterValidator(_channel_prefix)] = "conda-channel"

    def source(self) -> CondaChannelS3:
        """The channel as a setup value (no key: what the config alone knows)."""
        return CondaChannelS3(bucket_name=self.bucket_name, prefix=self.prefix)


class Guardrails(_Model):
    """The organisation's notebook policy, enforced at synth time and by IAM boundaries."""

    allowed_instance_types: Annotated[list[InstanceType], Field(min_length=1)] | None = None
    max_volume_size_gib: VolumeSize | None = None

    def merged(self, override: Guardrails | None) -> Guardrails:
        """These guardrails with a team's own values taking precedence."""
        if override is None:
            return self
        return Guardrails(
            allowed_instance_types=override.allowed_instance_types or self.allowed_instance_types,
            max_volume_size_gib=override.max_volume_size_gib or self.max_volume_size_gib,
        )


def _time_zone(value: str) -> str:
    _check(value in zoneinfo.available_timezones(), "an IANA time zone name (Europe/Berlin)")
    return value


def _time(value: str) -> str:
    _check(bool(TIME_PATTERN.fullmatch(value)), TIME_ALLOWED)
    return value


def _days(value: str) -> str:
    _check(bool(DAYS_PATTERN.fullmatch(value)), DAYS_ALLOWED)
    return value


def _email(value: str) -> str:
    _check(bool(EMAIL_PATTERN.fullmatch(value)), "an e-mail address")
    return value


def _percent(value: float) -> float:
    _check(0 < value <= 1000, "a percentage above 0, at most 1000")
    return value


def _dollars(value: float) -> float:
    _check(0 < value <= 1e9, "a number of US dollars above 0")
    return value


class OfficeHoursSettings(_Model):
    """When a team's notebooks run: stopped daily at ``stop``, optionally started."""

    time_zone: Annotated[str, AfterValidator(_time_zone)]
    start: Annotated[str, AfterValidator(_time)] = "08:00"
    stop: Annotated[str, AfterValidator(_time)] = "19:00"
    days: Annotated[str, AfterValidator(_days)] = "MON-FRI"
    start_notebooks: bool = False

    @model_validator(mode="after")
    def _stop_after_start(self) -> OfficeHoursSettings:
        if self.start >= self.stop:
            raise PydanticCustomError(
                "not_allowed",
                "stop {stop!r} is not after start {start!r}; allowed: a stop after the start",
                {"stop": self.stop, "start": self.start},
            )
        return self

    def office_hours(self) -> OfficeHours:
        return OfficeHours(**self.model_dump())


class AlertSettings(_Model):
    """The team's SNS topic (KMS-encrypted) and the lifecycle failure alarm."""

    emails: list[Annotated[str, AfterValidator(_email)]] = []


class BudgetSettings(_Model):
    """A monthly cost budget on the team's cost_center tag; notifies the alert topic."""

    monthly_limit_usd: Annotated[float, AfterValidator(_dollars)]
    thresholds_percent: Annotated[
        list[Annotated[float, AfterValidator(_percent)]],
        Field(min_length=1, max_length=MAX_NOTIFICATIONS),
    ] = [80.0, 100.0]


class NotebookDefaults(_Model):
    instance_type: InstanceType = "ml.t3.medium"
    volume_size_gib: VolumeSize = MIN_VOLUME_SIZE_GIB
    platform_identifier: PlatformId = SUPPORTED_PLATFORMS[0]


class Notebook(_Model):
    """One notebook instance, owned by one team member."""

    user: Annotated[str, _slug(USER_NAME_MAX)]
    instance_type: InstanceType | None = None
    volume_size_gib: VolumeSize | None = None
    platform_identifier: PlatformId | None = None
    #: This notebook's own office hours, instead of the team's.
    office_hours: OfficeHoursSettings | None = None
    #: Which of the notebook subnets (one per Availability Zone, 0-based, in the
    #: network's order) the notebook is placed in. Default: chosen from a hash of
    #: ``user``, so inserting, reordering or removing other notebooks never moves this
    #: one (the subnet is create-only and the notebook name fixed).
    subnet: Annotated[int, _in_range(0, 5)] | None = None
    #: Bumped to give the person a new notebook under a new name, ``<team>-<user>-g<N>``
    #: (0: ``<team>-<user>``), e.g. to migrate to another ``platform_identifier`` in one
    #: deploy: the name is fixed and the platform create-only, so a platform change under
    #: the old name cannot deploy. The old notebook is retained. docs/platforms.md.
    generation: Annotated[int, _in_range(0, GENERATION_MAX)] = 0


class CondaEnvironmentSettings(_Model):
    name: str
    python_version: str = "3.11"
    conda_packages: list[str] = []
    pip_packages: list[str] = []
    #: Build it from this built-in environment, without a conda channel.
    base_environment: str | None = None
    optional: bool = False


class PackageInstallSettings(_Model):
    kernel: str
    pip_packages: list[str] = []
    conda_packages: list[str] = []
    optional: bool = False


class IdleAutoStopSettings(_Model):
    idle_minutes: int = 60
    ignore_connections: bool = False
    check_interval_minutes: int = 5
    terminal_idle_minutes: int | None = None


class PackageIndexSettings(_Model):
    """pip: the platform's mirror or an index URL; conda: the platform's channel or a URL."""

    use_platform_mirror: bool = False
    pip_index_url: str | None = None
    conda_channel: str | None = None
    use_platform_conda_channel: bool = False


class HomeBackupSettings(_Model):
    """Each notebook's SageMaker folder backed up to the team's bucket and restored on a new
    notebook of the same person (sagemaker_constructs.HomeBackup). The team stack fills in
    the bucket, the key and which notebook is whose; the prefix is ``home/<user>/``."""

    interval_minutes: int = 60
    #: Folders of the SageMaker folder not backed up (default: the conda environments).
    exclude: list[str] = ["envs"]


@dataclass(frozen=True)
class HomeBackupTarget:
    """What the team stack gives the backup: the bucket, its key, notebook name -> user."""

    bucket_name: str
    kms_key_arn: str | None
    owners: Mapping[str, str]


#: The key prefix of a person's backup in the team's bucket.
HOME_BACKUP_PREFIX = "home/{owner}/"


class Setup(_Model):
    """What the team's lifecycle scripts do (see sagemaker_constructs.NotebookSetup)."""

    package_index: PackageIndexSettings | None = None
    connectivity_checks: list[str] = []
    conda_environments: list[CondaEnvironmentSettings] = []
    packages: list[PackageInstallSettings] = []
    #: Pinned pip packages installed into every environment (built-in ones and the above).
    pip_everywhere: list[str] = []
    #: Pinned pip packages of JupyterLab extensions, installed into Jupyter's environment.
    jupyterlab_extensions: list[str] = []
    #: Seen by every kernel and terminal. No secrets: the values are in the template.
    environment_variables: dict[str, str] = {}
    idle_auto_stop: IdleAutoStopSettings | None = None
    #: Back up each notebook's /home/ec2-user/SageMaker to the team bucket (docs/lifecycle.md).
    home_backup: HomeBackupSettings | None = None

    def steps(
        self,
        mirror: PackageMirrorSettings | None,
        channel: CondaChannelS3 | None = None,
        backup: HomeBackupTarget | None = None,
    ) -> list[tuple[str, object]]:
        """The setup steps, each with its field path in this section.

        ``channel`` is the platform's conda channel, used when the section asks for it;
        ``backup`` where ``home_backup`` goes (without it, there is no backup step).
        """
        steps: list[tuple[str, object]] = []
        if self.package_index is not None:
            pi = self.package_index
            use_mirror = pi.use_platform_mirror and mirror is not None
            use_channel = pi.use_platform_conda_channel and channel is not None
            steps.append(
                (
                    "package_index",
                    PackageIndex(
                        pip_index_url=pi.pip_index_url,
                        code_artifact_domain=mirror.domain if use_mirror else None,
                        code_artifact_repository=mirror.repository if use_mirror else None,
                        conda_channel=pi.conda_channel,
                        conda_channel_s3=channel if use_channel else None,
                    ),
                )
            )
        steps += [
            (f"connectivity_checks[{i}]", ConnectivityCheck(url=url))
            for i, url in enumerate(self.connectivity_checks)
        ]
        steps += [
            (f"conda_environments[{i}]", CondaEnvironment(**env.model_dump()))
            for i, env in enumerate(self.conda_environments)
        ]
        steps += [
            (f"packages[{i}]", PackageInstall(**pkg.model_dump()))
            for i, pkg in enumerate(self.packages)
        ]
        if self.pip_everywhere:
            steps.append(("pip_everywhere", PipInstallEverywhere(pip_packages=self.pip_everywhere)))
        if self.jupyterlab_extensions:
            steps.append(
                (
                    "jupyterlab_extensions",
                    JupyterLabExtension(pip_packages=self.jupyterlab_extensions),
                )
            )
        if self.environment_variables:
            steps.append(
                (
                    "environment_variables",
                    EnvironmentVariables(values=self.environment_variables),
                )
            )
        if self.idle_auto_stop is not None:
            steps.append(("idle_auto_stop", IdleAutoStop(**self.idle_auto_stop.model_dump())))
        if self.home_backup is not None and backup is not None:
            steps.append(
                (
                    "home_backup",
                    HomeBackup(
                        bucket_name=backup.bucket_name,
                        prefix=HOME_BACKUP_PREFIX,
                        owners=dict(backup.owners),
                        kms_key_arn=backup.kms_key_arn,
                        interval_minutes=self.home_backup.interval_minutes,
                        exclude=tuple(self.home_backup.exclude),
                    ),
                )
            )
        return steps

    def notebook_setup(
        self,
        mirror: PackageMirrorSettings | None,
        channel: CondaChannelS3 | None = None,
        backup: HomeBackupTarget | None = None,
    ) -> NotebookSetup:
        return NotebookSetup([step for _, step in self.steps(mirror, channel, backup)])


class StudioSetupSettings(_Model):
    """What the Studio apps' start script does (see sagemaker_constructs.StudioSetup)."""

    package_index: PackageIndexSettings | None = None
    connectivity_checks: list[str] = []
    packages: list[PackageInstallSettings] = []

    def steps(
        self, mirror: PackageMirrorSettings | None, channel: CondaChannelS3 | None = None
    ) -> list[tuple[str, object]]:
        """The setup steps, each with its field path in this section.

        The Studio script does not fetch an S3 conda channel: ``channel`` is not used.
        """
        return Setup(
            package_index=self.package_index,
            connectivity_checks=self.connectivity_checks,
            packages=self.packages,
        ).steps(mirror)

    def studio_setup(self, mirror: PackageMirrorSettings | None) -> StudioSetup:
        return StudioSetup([step for _, step in self.steps(mirror)])


def _app_type(value: str) -> str:
    _check(value in APP_TYPES, "one of " + ", ".join(APP_TYPES))
    return value


def _ml_tool(value: str) -> str:
    _check(value in ML_TOOLS, "one of " + ", ".join(ML_TOOLS))
    return value


class StudioPortal(_Model):
    """Hidden apps, ML tools and instance types of the Studio portal."""

    hidden_app_types: list[Annotated[str, AfterValidator(_app_type)]] = list(UNSUPPORTED_APP_TYPES)
    hidden_ml_tools: list[Annotated[str, AfterValidator(_ml_tool)]] = list(UNMANAGED_ML_TOOLS)
    hidden_instance_types: list[StudioInstanceType] = []

    def settings(self) -> StudioPortalSettings:
        return StudioPortalSettings(
            hidden_app_types=tuple(self.hidden_app_types),
            hidden_ml_tools=tuple(self.hidden_ml_tools),
            hidden_instance_types=tuple(self.hidden_instance_types),
        )


class StudioSettings(_Model):
    """The platform's SageMaker Studio domain (stack ``<prefix>-studio``), VPC only."""

    jupyter_lab_instance_types: Annotated[list[StudioInstanceType], Field(min_length=1)] = list(
        DEFAULT_INSTANCE_TYPES
    )
    default_jupyter_lab_instance_type: StudioInstanceType = DEFAULT_INSTANCE_TYPE
    code_editor_instance_types: Annotated[list[StudioInstanceType], Field(min_length=1)] = list(
        DEFAULT_INSTANCE_TYPES
    )
    default_code_editor_instance_type: StudioInstanceType = DEFAULT_INSTANCE_TYPE
    default_ebs_size_gib: EbsSize = MIN_EBS_SIZE_GIB
    max_ebs_size_gib: EbsSize = 100
    idle_timeout_minutes: Annotated[
        int, _in_range(MIN_IDLE_TIMEOUT_MINUTES, MAX_IDLE_TIMEOUT_MINUTES)
    ] = 60
    allow_public_internet: bool = False
    setup: StudioSetupSettings | None = None
    #: What the Studio portal hides; omitted fields take the recommended locked-down set.
    portal: StudioPortal | None = None


class StudioImage(_Model):
    """A team's custom image: an ECR repository, and a version once ``tag`` is pushed."""

    name: Annotated[str, _slug(STUDIO_IMAGE_NAME_MAX)]
    tag: Annotated[str, AfterValidator(_image_tag)] | None = None
    display_name: Annotated[str, AfterValidator(_display_name)] | None = None
    app_type: Annotated[str, AfterValidator(_studio_app_type)] = "JupyterLab"
    #: Built on SageMaker Distribution 2.0+ or with jupyter-activity-monitor-extension, so
    #: the domain's idle shutdown can stop its apps; without it synth warns.
    activity_monitor: bool = False


class StudioSpaceSettings(_Model):
    """A Studio space of the team (``<team>-<name>``), shared by default, retained."""

    name: Annotated[str, _slug(STUDIO_IMAGE_NAME_MAX)]
    owner: Annotated[str, _slug(USER_NAME_MAX)]
    sharing: Literal["Shared", "Private"] = "Shared"
    app_type: Literal["JupyterLab", "CodeEditor"] = "JupyterLab"
    instance_type: SpaceInstanceType | None = None
    ebs_size_gib: EbsSize | None = None


class TeamStudio(_Model):
    """A team's Studio users (one user profile each), custom images and spaces."""

    users: Annotated[list[Annotated[str, _slug(USER_NAME_MAX)]], Field(min_length=1)]
    images: list[StudioImage] = []
    spaces: list[StudioSpaceSettings] = []

    @field_validator("users")
    @classmethod
    def _unique_users(cls, users: list[str]) -> list[str]:
        seen: set[str] = set()
        for user in users:
            if user in seen:
                raise PydanticCustomError(
                    "duplicate_user",
                    "user '{user}' is listed twice; allowed: one user profile per person",
                    {"user": user},
                )
            seen.add(user)
        return users

    @field_validator("images")
    @classmethod
    def _unique_images(cls, images: list[StudioImage]) -> list[StudioImage]:
        seen: set[str] = set()
        for image in images:
            if image.name in seen:
                raise PydanticCustomError(
                    "duplicate_user",
                    "image '{name}' is listed twice; allowed: unique image names",
                    {"name": image.name},
                )
            seen.add(image.name)
        return images


class Team(_Model):
    name: Annotated[str, _slug(TEAM_NAME_MAX)]
    cost_center: Annotated[str, AfterValidator(_tag_value)] | None = None
    notebook_defaults: NotebookDefaults = NotebookDefaults()
    setup: Setup | None = None
    notebooks: Annotated[list[Notebook], Field(min_length=1)]
    studio: TeamStudio | None = None
    #: The team's own guardrails; unset fields fall back to platform.guardrails.
    guardrails: Guardrails | None = None
    #: Stop the team's notebooks outside these hours (EventBridge Scheduler).
    office_hours: OfficeHoursSettings | None = None
    #: An SNS topic for the team and an alarm on failed lifecycle steps.
    alerts: AlertSettings | None = None
    #: A monthly budget on cost_center; needs cost_center and alerts.
    budget: BudgetSettings | None = None

    @model_validator(mode="after")
    def _budget_needs_tag_and_topic(self) -> Team:
        if self.budget is not None and (self.cost_center is None or self.alerts is None):
            raise PydanticCustomError(
                "not_allowed",
                "budget needs cost_center (the tag it filters on) and alerts (the topic it "
                "notifies); allowed: a budget on a team with both",
                {},
            )
        return self

    @field_validator("notebooks")
    @classmethod
    def _unique_users(cls, notebooks: list[Notebook]) -> list[Notebook]:
        seen: set[str] = set()
        for nb in notebooks:
            if nb.user in seen:
                raise PydanticCustomError(
                    "duplicate_user",
                    "user '{user}' has two notebooks; allowed: one notebook per user",
                    {"user": nb.user},
                )
            seen.add(nb.user)
        return notebooks

    def notebook_name(self, nb: Notebook) -> str:
        base = f"{self.name}-{nb.user}"
        return f"{base}-g{nb.generation}" if nb.generation else base

    def notebook_owners(self) -> dict[str, str]:
        """Notebook name -> user, for the home backup's ``{owner}``."""
        return {self.notebook_name(nb): nb.user for nb in self.notebooks}

    def studio_profile_name(self, user: str) -> str:
        return f"{self.name}-{user}"

    def studio_image_name(self, image: StudioImage) -> str:
        return f"{self.name}-{image.name}"

    def resolved(self, nb: Notebook) -> NotebookDefaults:
        """The notebook's settings with the team's defaults filled in."""
        d = self.notebook_defaults
        return NotebookDefaults(
            instance_type=nb.instance_type or d.instance_type,
            volume_size_gib=nb.volume_size_gib or d.volume_size_gib,
            platform_identifier=nb.platform_identifier or d.platform_identifier,
        )


ACCOUNT_PATTERN = re.compile(r"\d{12}")
REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
CONNECTION_ARN_PATTERN = re.compile(
    r"arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z]{2}(-[a-z]+)+-\d:\d{12}:"
    r"connection/[0-9a-f-]{36}"
)
REPOSITORY_PATTERN_GIT = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
BRANCH_PATTERN = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./-]{0,199}")
# A stage name is a construct ID and a CodePipeline stage name, and prefixes the
# pipeline's CodeBuild project names; short slugs keep all of them valid.
ENVIRONMENT_NAME_MAX = 20


def _account(value: str) -> str:
    _check(bool(ACCOUNT_PATTERN.fullmatch(value)), "a 12-digit AWS account ID, quoted in YAML")
    return value


def _region(value: str) -> str:
    _check(bool(REGION_PATTERN.fullmatch(value)), "an AWS Region such as eu-west-1")
    return value


def _connection_arn(value: str) -> str:
    _check(
        bool(CONNECTION_ARN_PATTERN.fullmatch(value)),
        "the ARN of an AWS CodeConnections connection "
        "(arn:aws:codeconnections:<region>:<account>:connection/<id>)",
    )
    return value


def _git_repository(value: str) -> str:
    _check(bool(REPOSITORY_PATTERN_GIT.fullmatch(value)), "'owner/repository'")
    return value


def _branch(value: str) -> str:
    _check(
        bool(BRANCH_PATTERN.fullmatch(value)) and ".." not in value,
        "a branch name of letters, digits, '.', '_', '-' and '/'",
    )
    return value


class PipelineEnvironment(_Model):
    """One deployment target of the pipeline: a stage with every stack of the platform."""

    name: Annotated[str, _slug(ENVIRONMENT_NAME_MAX)]
    account: Annotated[str, AfterValidator(_account)]
    region: Annotated[str, AfterValidator(_region)]
    #: Wait for a person's approval in the pipeline before deploying this environment.
    manual_approval: bool = False


class PipelineSettings(_Model):
    """A CDK Pipelines pipeline (stack ``<prefix>-pipeline``) that deploys the platform.

    The pipeline runs in ``account``/``region`` (a tooling account), synthesizes this app
    from ``repository`` at ``branch`` through the CodeConnections ``connection_arn`` and
    deploys one stage per environment, in order.
    """

    connection_arn: Annotated[str, AfterValidator(_connection_arn)]
    repository: Annotated[str, AfterValidator(_git_repository)]
    branch: Annotated[str, AfterValidator(_branch)] = "main"
    account: Annotated[str, AfterValidator(_account)]
    region: Annotated[str, AfterValidator(_region)]
    environments: Annotated[list[PipelineEnvironment], Field(min_length=1)]

    @field_validator("environments")
    @classmethod
    def _unique_environments(cls, envs: list[PipelineEnvironment]) -> list[PipelineEnvironment]:
        names: dict[str, int] = {}
        places: dict[tuple[str, str], int] = {}
        for i, env in enumerate(envs):
            if env.name in names:
                # "duplicate_team" errors are shown as "<field path>: <message>".
                raise PydanticCustomError(
                    "duplicate_team",
                    "environment '{name}' is listed twice; allowed: unique environment names",
                    {"name": env.name},
                )
            place = (env.account, env.region)
            if place in places:
                raise PydanticCustomError(
                    "duplicate_team",
                    "environments[{i}] ({name}) deploys to account {account} in {region} like "
                    "environments[{j}]; allowed: one environment per account and Region (the "
                    "platform's resource names, such as notebook names, are unique there)",
                    {
                        "i": i,
                        "name": env.name,
                        "account": env.account,
                        "region": env.region,
                        "j": places[place],
                    },
                )
            names[env.name] = i
            places[place] = i
        return envs

    @property
    def multi_account(self) -> bool:
        """Whether any environment is in another account than the pipeline."""
        return any(env.account != self.account for env in self.environments)


def _pipeline_without_env(pipeline: PipelineSettings | None, info) -> PipelineSettings | None:
    # platform.env is where `cdk deploy` puts the stacks; with a pipeline each
    # environment names its own, and a second answer would be ignored silently.
    env = info.data.get("env")
    if pipeline is not None and env is not None and (env.account or env.region):
        raise PydanticCustomError(
            "duplicate_team",
            "platform.env is set too; allowed: platform.env unset with a pipeline (each "
            "pipeline environment names its account and Region)",
        )
    return pipeline


class PlatformSettings(_Model):
    prefix: Annotated[str, _slug(PREFIX_MAX), AfterValidator(_not_aws)] = "sagemaker"
    env: Environment = Environment()
    network: Network = Network()
    log_retention_days: Annotated[int, AfterValidator(_retention)] = 365
    tags: Annotated[dict[str, str], AfterValidator(_tags)] = {}
    package_mirror: PackageMirrorSettings | None = None
    #: An S3 conda channel (and its bucket) for notebooks without internet.
    conda_channel: CondaChannelSettings | None = None
    studio: StudioSettings | None = None
    guardrails: Guardrails = Guardrails()
    #: Person-bound access policies; unset: none are created.
    person_access: PersonAccessSettings | None = None
    #: Deploy with CDK Pipelines to these environments instead of with `cdk deploy`.
    pipeline: Annotated[PipelineSettings | None, AfterValidator(_pipeline_without_env)] = None


class PlatformConfig(_Model):
    """The whole config file."""

    platform: PlatformSettings = PlatformSettings()
    teams: Annotated[list[Team], Field(min_length=1)]

    @field_validator("teams")
    @classmethod
    def _unique_teams(cls, teams: list[Team]) -> list[Team]:
        seen: set[str] = set()
        for team in teams:
            if team.name in seen:
                raise PydanticCustomError(
                    "duplicate_team",
                    "team '{name}' is listed twice; allowed: unique team names",
                    {"name": team.name},
                )
            seen.add(team.name)
        return teams


def _field_path(loc: Sequence[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith(("function-", "constrained-")) or part in {"str", "int"}:
            continue  # pydantic's internal validator names, not config fields
        else:
            # Keys come from the file: keep the path on one line whatever they hold.
            part = str(part).encode("unicode_escape").decode("ascii")
            path += f".{part}" if path else part
    return path or "(top level)"


def _fields_of(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """Field names allowed at ``loc`` (the parent of an unknown key), for "did you mean"."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            inner = getattr(candidate, "__args__", None)
            for c in (candidate, *(inner or ())):
                if isinstance(c, type) and issubclass(c, BaseModel):
                    current = c
                    break
    return list(getattr(current, "model_fields", {}))


def _describe(error: Any) -> str:
    loc = error["loc"]
    path = _field_path(loc)
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        # The unknown key itself is always named, even when it looks like one of
        # pydantic's internal validator names that _field_path leaves out.
        key = str(loc[-1]).encode("unicode_escape").decode("ascii")
        parent = _field_path(loc[:-1])
        path = key if parent == "(top level)" else f"{parent}.{key}"
        allowed = _fields_of(PlatformConfig, loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        return f"{path}: unknown field{hint}; allowed fields: {', '.join(allowed)}"
    if kind == "missing":
        return f"{path}: missing; this field is required"
    if kind == "not_allowed_at":  # a model-level rule about one of its fields
        return f"{path}.{error['msg']}"
    if kind == "not_allowed":
        return f"{path}: got {value!r}; {error['msg']}"
    if kind in {"duplicate_user", "duplicate_team", "subnets_per_az"}:
        return f"{path}: {error['msg']}"
    if kind == "string_pattern_mismatch":
        return f"{path}: got {value!r}; allowed: a string matching {error['ctx']['pattern']}"
    return f"{path}: got {value!r}; allowed: {error['msg']}"


def parse_config(data: Any, source: str | Path = "<config>") -> PlatformConfig:
    """Validate already-parsed config data; raise :class:`ConfigError` on any problem."""
    if data is None:
        raise ConfigError(
            source,
            ["the file is empty; allowed: a mapping with 'teams' (and optionally 'platform')"],
        )
    if not isinstance(data, dict):
        raise ConfigError(
            source,
            [f"got a {type(data).__name__} at the top level; allowed: a mapping with 'teams'"],
        )
    try:
        config = PlatformConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, [_describe(e) for e in exc.errors()]) from None
    problems = (
        _name_collisions(config)
        + _subnet_problems(config)
        + _setup_problems(config)
        + _studio_problems(config)
    )
    if problems:
        raise ConfigError(source, problems)
    return config


# NotebookSetup names its step fields after the constructs; these are the config's names.
_WHOLE_SECTION = {
    "pip_everywhere": "pip_packages",
    "jupyterlab_extensions": "pip_packages",
    "environment_variables": "values",
}
_FIELD_NAMES = {
    "pip_index_url/code_artifact_domain": "pip_index_url/use_platform_mirror",
    "code_artifact_domain": "use_platform_mirror",
    "code_artifact_repository": "use_platform_mirror",
    "url": "",
}


def _name_collisions(config: PlatformConfig) -> list[str]:
    """Notebook names '<team>-<user>' must be unique across teams (team 'a' + user 'b-c'
    and team 'a-b' + user 'c' would both be 'a-b-c')."""
    first: dict[str, str] = {}
    problems = []
    for t, team in enumerate(config.teams):
        for n, nb in enumerate(team.notebooks):
            name, where = team.notebook_name(nb), f"teams[{t}].notebooks[{n}].user"
            if name in first:
                problems.append(
                    f"{where}: got {nb.user!r}; allowed: a user whose notebook name "
                    f"{name!r} is not already {first[name]}'s"
                )
            else:
                first[name] = where
    return problems


def subnet_count(network: Network) -> int:
    """How many notebook subnets the network has: one per Availability Zone."""
    if network.existing_vpc is not None:
        return len(network.existing_vpc.subnet_ids)
    return network.max_azs


def _subnet_problems(config: PlatformConfig) -> list[str]:
    """An explicit ``subnet`` must name one of the network's notebook subnets."""
    count = subnet_count(config.platform.network)
    return [
        f"teams[{t}].notebooks[{n}].subnet: got {nb.subnet}; allowed: 0 to {count - 1} "
        f"(one of the network's {count} notebook subnets, one per Availability Zone)"
        for t, team in enumerate(config.teams)
        for n, nb in enumerate(team.notebooks)
        if nb.subnet is not None and nb.subnet >= count
    ]


def _setup_problems(config: PlatformConfig) -> list[str]:
    """Check every team's setup with the library's own rules; name the config fields."""
    mirror = config.platform.package_mirror
    settings = config.platform.conda_channel
    channel = settings.source() if settings is not None else None
    problems = []
    for t, team in enumerate(config.teams):
        # The team stack's bucket and key stand in for a sample: only the section's own
        # fields (and the notebooks' names) are checked here.
        backup = HomeBackupTarget("team-bucket-sample", None, team.notebook_owners())
        if team.setup is not None and not team.setup.steps(mirror, channel, backup):
            problems.append(
                f"teams[{t}].setup: got a setup without steps; allowed: at least one step "
                "(package_index, connectivity_checks, conda_environments, packages, "
                "pip_everywhere, jupyterlab_extensions, environment_variables, "
                "idle_auto_stop, home_backup), or no setup section"
            )
        elif team.setup is not None:
            problems += _steps_problems(
                f"teams[{t}].setup",
                team.setup,
                team.setup.notebook_setup(mirror, channel, backup),
                mirror,
                channel,
                backup=backup,
            )
    return problems


def _steps_problems(
    where: str,
    section: Setup | StudioSetupSettings,
    setup: NotebookSetup | StudioSetup,
    mirror: PackageMirrorSettings | None,
    channel: CondaChannelS3 | None = None,
    *,
    direct_internet: bool = False,
    backup: HomeBackupTarget | None = None,
) -> list[str]:
    """The problems of ``setup``, composed from the config ``section`` at ``where``.

    Without ``direct_internet``, an installing step with no source for its kind of package
    is one problem naming the step, the kind and the fix.
    """
    index = section.package_index
    platform_only = [
        f"{where}.package_index.{flag}: got True; allowed: only with platform.{needed} set"
        for flag, needed, present in (
            ("use_platform_mirror", "package_mirror", mirror is not None),
            ("use_platform_conda_channel", "conda_channel", channel is not None),
        )
        if index is not None and getattr(index, flag) and not present
    ]
    if platform_only:
        return platform_only
    problems = []
    paths = [
        path
        for path, _ in (
            section.steps(mirror, channel, backup)
            if isinstance(section, Setup)
            else section.steps(mirror, channel)
        )
    ]
    for i, field, value, allowed in setup.step_problems():
        base, bracket, index_part = field.partition("[")
        # Sections that are one list or mapping: their field is the section itself.
        name = "" if _WHOLE_SECTION.get(paths[i]) == base else _FIELD_NAMES.get(base, base)
        path = f"{where}.{paths[i]}" + (f".{name}" if name else "")
        # The config's lists reach the library as tuples (its steps are frozen): echo them
        # as the YAML list the user wrote.
        shown = list(value) if isinstance(value, tuple) else value
        problems.append(f"{path}{bracket}{index_part}: got {shown!r}; allowed: {allowed}")
    if not problems and not direct_internet:
        for i, kind, what in setup.missing_sources():
            fix = _SOURCE_FIX[kind]
            if kind == "conda" and isinstance(setup.steps[i], CondaEnvironment):
                fix += ", or base_environment: python3 with pip_packages only"
            problems.append(
                f"{where}.{paths[i]}: got {kind} packages ({what}) with no {kind} source on a "
                f"notebook without internet access; allowed: {fix}"
            )
    return problems


# How a config gives each kind of package a source, for the missing-source error.
_SOURCE_FIX = {
    "pip": "package_index.use_platform_mirror: true (with platform.package_mirror) or "
    "package_index.pip_index_url",
    "conda": "package_index.use_platform_conda_channel: true (with platform.conda_channel) "
    "or package_index.conda_channel",
}


def _studio_problems(config: PlatformConfig) -> list[str]:
    """Checks across Studio fields, with the constructs' rules and messages."""
    studio = config.platform.studio
    problems = []
    if studio is not None:
        where = "platform.studio"
        checks = Problems(None)
        check_app_settings(
            checks,
            jupyter_lab_instance_types=studio.jupyter_lab_instance_types,
            default_jupyter_lab_instance_type=studio.default_jupyter_lab_instance_type,
            code_editor_instance_types=studio.code_editor_instance_types,
            default_code_editor_instance_type=studio.default_code_editor_instance_type,
            default_ebs_size_gib=studio.default_ebs_size_gib,
            max_ebs_size_gib=studio.max_ebs_size_gib,
        )
        problems += [f"{where}.{problem}" for problem in checks.items]
        # The platform's tags go on the Studio resources too, whose values are shorter.
        for key, value in config.platform.tags.items():
            problems += _studio_tag_value(f"platform.tags[{key!r}]", value)
        if studio.setup is not None:
            mirror = config.platform.package_mirror
            problems += _steps_problems(
                f"{where}.setup",
                studio.setup,
                studio.setup.studio_setup(mirror),
                mirror,
                direct_internet=studio.allow_public_internet,
            )
    profiles: dict[str, str] = {}
    for t, team in enumerate(config.teams):
        if team.studio is None:
            continue
        if studio is None:
            problems.append(
                f"teams[{t}].studio: got a studio section; allowed: only with platform.studio set"
            )
            continue
        if team.cost_center is not None:  # the team's tag on its profiles and spaces
            problems += _studio_tag_value(f"teams[{t}].cost_center", team.cost_center)
        for u, user in enumerate(team.studio.users):
            profile = team.studio_profile_name(user)
            where = f"teams[{t}].studio.users[{u}]"
            if profile in profiles:
                problems.append(
                    f"{where}: got {user!r}; allowed: a user whose profile name {profile!r} is "
                    f"not taken already (by {profiles[profile]}; one profile per person)"
                )
            profiles.setdefault(profile, where)
        problems += _space_problems(f"teams[{t}].studio", team.studio, studio)
    return problems


def _studio_tag_value(field: str, value: str) -> list[str]:
    high = STUDIO_TAG_VALUE_LENGTH[1]
    if len(value) <= high:
        return []
    return [
        f"{field}: got {value!r}; allowed: a tag value of at most {high} characters (the "
        "SageMaker Studio resources' limit, with platform.studio set)"
    ]


def _space_problems(where: str, team: TeamStudio, studio: StudioSettings) -> list[str]:
    """A space's owner is a Studio user of the team; its type and size the domain allows."""
    problems = []
    for s, space in enumerate(team.spaces):
        at = f"{where}.spaces[{s}]"
        if space.owner not in team.users:
            problems.append(
                f"{at}.owner: got {space.owner!r}; allowed: one of the team's Studio users: "
                + ", ".join(team.users)
            )
        allowed = (
            studio.jupyter_lab_instance_types
            if space.app_type == "JupyterLab"
            else studio.code_editor_instance_types
        )
        if space.instance_type is not None and space.instance_type not in allowed:
            problems.append(
                f"{at}.instance_type: got {space.instance_type!r}; allowed: one of the "
                f"domain's {space.app_type} instance types: " + ", ".join(allowed)
            )
        if space.ebs_size_gib is not None and space.ebs_size_gib > studio.max_ebs_size_gib:
            problems.append(
                f"{at}.ebs_size_gib: got {space.ebs_size_gib}; allowed: at most "
                f"platform.studio.max_ebs_size_gib ({studio.max_ebs_size_gib})"
            )
    return problems


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (PyYAML keeps the last)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            continue  # construct_mapping reports the unhashable key itself
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} given twice (lines {seen[key]} and {line}); allowed: each key once",
                key_node.start_mark,
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def load_config(path: str | Path) -> PlatformConfig:
    """Read and validate a YAML config file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(p, [f"cannot read the file ({exc.strerror})"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            p, [f"byte {exc.start}: not UTF-8 text; allowed: a YAML file encoded in UTF-8"]
        ) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(p, [f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"]) from None
    return parse_config(data, p)
