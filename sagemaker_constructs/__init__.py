"""Secure-by-default AWS CDK v2 constructs for SageMaker notebook and Studio environments.

Everything here is public API; modules whose names start with ``_`` are internals and may
change without notice. The subpackages group the same names by area: ``notebooks``,
``studio``, ``network``, ``setup`` (lifecycle scripts), ``governance`` (guardrails,
compliance packs, acknowledgments, limits) and ``review`` (the change-review tool).
"""

from sagemaker_constructs._defaults import NOTEBOOK_LOG_GROUP_NAME, allow_cloudwatch_logs, new_key
from sagemaker_constructs._instance_types import (
    NOTEBOOK_INSTANCE_TYPES,
    STUDIO_INSTANCE_TYPES,
    STUDIO_SPACE_INSTANCE_TYPES,
    instance_type_problem,
)
from sagemaker_constructs._validation import (
    STUDIO_TAG_VALUE_LENGTH,
    ConstructValidationError,
    Problem,
    Problems,
    tag_problem,
)
from sagemaker_constructs.cost.notebook_schedules import NotebookSchedules
from sagemaker_constructs.cost.office_hours import OfficeHours
from sagemaker_constructs.cost.team_alerts import TeamAlerts
from sagemaker_constructs.cost.team_budget import TeamBudget
from sagemaker_constructs.governance import (
    NotebookGuardrails,
    NotebookPermissionsBoundary,
    StackLimitsCheck,
    acknowledge,
    acknowledge_wildcard_resource,
)
from sagemaker_constructs.network.conda_channel import CondaChannel
from sagemaker_constructs.network.notebook_network import (
    ENDPOINT_NAMES,
    INotebookNetwork,
    NotebookNetwork,
)
from sagemaker_constructs.network.package_mirror import PackageMirror
from sagemaker_constructs.notebooks.notebook_instance import INotebookInstance, NotebookInstance
from sagemaker_constructs.notebooks.notebook_lifecycle_config import (
    INotebookLifecycleConfig,
    NotebookLifecycleConfig,
)
from sagemaker_constructs.setup.lifecycle_script import MAX_BASE64_CHARS, LifecycleScript
from sagemaker_constructs.setup.notebook_setup import (
    BUILT_IN_KERNELS,
    CondaChannelS3,
    CondaEnvironment,
    ConnectivityCheck,
    CustomStep,
    EnvironmentVariables,
    HomeBackup,
    IdleAutoStop,
    JupyterLabExtension,
    NotebookSetup,
    PackageIndex,
    PackageInstall,
    PipInstallEverywhere,
)
from sagemaker_constructs.setup.studio_setup import StudioSetup
from sagemaker_constructs.studio.studio_custom_image import StudioCustomImage
from sagemaker_constructs.studio.studio_domain import (
    IStudioDomain,
    StudioDomain,
    check_app_settings,
)
from sagemaker_constructs.studio.studio_lifecycle_config import StudioLifecycleConfig
from sagemaker_constructs.studio.studio_portal_settings import StudioPortalSettings
from sagemaker_constructs.studio.studio_space import StudioSpace
from sagemaker_constructs.studio.studio_user_profile import StudioUserProfile

__all__ = [
    "BUILT_IN_KERNELS",
    "CondaChannel",
    "CondaChannelS3",
    "CondaEnvironment",
    "ConnectivityCheck",
    "CustomStep",
    "EnvironmentVariables",
    "JupyterLabExtension",
    "PipInstallEverywhere",
    "ENDPOINT_NAMES",
    "HomeBackup",
    "IdleAutoStop",
    "INotebookInstance",
    "INotebookNetwork",
    "INotebookLifecycleConfig",
    "IStudioDomain",
    "NotebookSetup",
    "PackageIndex",
    "PackageInstall",
    "PackageMirror",
    "MAX_BASE64_CHARS",
    "NOTEBOOK_INSTANCE_TYPES",
    "STUDIO_INSTANCE_TYPES",
    "STUDIO_SPACE_INSTANCE_TYPES",
    "NOTEBOOK_LOG_GROUP_NAME",
    "NotebookGuardrails",
    "NotebookPermissionsBoundary",
    "StackLimitsCheck",
    "acknowledge",
    "acknowledge_wildcard_resource",
    "allow_cloudwatch_logs",
    "new_key",
    "tag_problem",
    "STUDIO_TAG_VALUE_LENGTH",
    "instance_type_problem",
    "check_app_settings",
    "ConstructValidationError",
    "LifecycleScript",
    "NotebookInstance",
    "NotebookLifecycleConfig",
    "NotebookNetwork",
    "NotebookSchedules",
    "OfficeHours",
    "Problem",
    "Problems",
    "StudioCustomImage",
    "StudioDomain",
    "StudioLifecycleConfig",
    "StudioPortalSettings",
    "StudioSetup",
    "StudioSpace",
    "StudioUserProfile",
    "TeamAlerts",
    "TeamBudget",
]
