"""Secure-by-default AWS CDK v2 constructs for SageMaker notebook environments."""

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
]
