"""Secure-by-default AWS CDK v2 constructs for SageMaker notebook and Studio environments."""

from sagemaker_constructs._validation import ConstructValidationError, Problem
from sagemaker_constructs.network.notebook_network import ENDPOINT_NAMES, NotebookNetwork
from sagemaker_constructs.network.package_mirror import PackageMirror
from sagemaker_constructs.notebooks.notebook_instance import NotebookInstance
from sagemaker_constructs.notebooks.notebook_lifecycle_config import (
    INotebookLifecycleConfig,
    NotebookLifecycleConfig,
)
from sagemaker_constructs.setup.lifecycle_script import MAX_BASE64_CHARS, LifecycleScript
from sagemaker_constructs.setup.notebook_setup import (
    BUILT_IN_KERNELS,
    CondaEnvironment,
    ConnectivityCheck,
    CustomStep,
    IdleAutoStop,
    NotebookSetup,
    PackageIndex,
    PackageInstall,
)
from sagemaker_constructs.setup.studio_setup import StudioSetup
from sagemaker_constructs.studio.studio_custom_image import StudioCustomImage
from sagemaker_constructs.studio.studio_domain import IStudioDomain, StudioDomain
from sagemaker_constructs.studio.studio_lifecycle_config import StudioLifecycleConfig
from sagemaker_constructs.studio.studio_user_profile import StudioUserProfile

__all__ = [
    "BUILT_IN_KERNELS",
    "CondaEnvironment",
    "ConnectivityCheck",
    "CustomStep",
    "ENDPOINT_NAMES",
    "IdleAutoStop",
    "INotebookLifecycleConfig",
    "IStudioDomain",
    "NotebookSetup",
    "PackageIndex",
    "PackageInstall",
    "PackageMirror",
    "MAX_BASE64_CHARS",
    "ConstructValidationError",
    "LifecycleScript",
    "NotebookInstance",
    "NotebookLifecycleConfig",
    "NotebookNetwork",
    "Problem",
    "StudioCustomImage",
    "StudioDomain",
    "StudioLifecycleConfig",
    "StudioSetup",
    "StudioUserProfile",
]
