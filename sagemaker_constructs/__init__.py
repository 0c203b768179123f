"""Secure-by-default AWS CDK v2 constructs for SageMaker notebook and Studio environments."""

from ._validation import ConstructValidationError, Problem
from .lifecycle_script import MAX_BASE64_CHARS, LifecycleScript
from .notebook_instance import NotebookInstance
from .notebook_lifecycle_config import NotebookLifecycleConfig
from .notebook_network import ENDPOINT_NAMES, NotebookNetwork
from .notebook_setup import (
    BUILT_IN_KERNELS,
    CondaEnvironment,
    ConnectivityCheck,
    CustomStep,
    IdleAutoStop,
    NotebookSetup,
    PackageIndex,
    PackageInstall,
)
from .package_mirror import PackageMirror
from .studio_custom_image import StudioCustomImage
from .studio_domain import StudioDomain
from .studio_lifecycle_config import StudioLifecycleConfig
from .studio_setup import StudioSetup
from .studio_user_profile import StudioUserProfile

__all__ = [
    "BUILT_IN_KERNELS",
    "CondaEnvironment",
    "ConnectivityCheck",
    "CustomStep",
    "ENDPOINT_NAMES",
    "IdleAutoStop",
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
