"""Lifecycle scripts built from typed steps instead of hand-written shell.

``NotebookSetup`` (notebook instances) and ``StudioSetup`` (Studio apps) render ordered
steps (``PackageIndex``, ``PackageInstall``, ``CondaEnvironment``, ``ConnectivityCheck``,
``IdleAutoStop``, ``CustomStep``) into a ``LifecycleScript`` that fits the service's size limit
(``MAX_BASE64_CHARS``).
"""

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

__all__ = [
    "BUILT_IN_KERNELS",
    "MAX_BASE64_CHARS",
    "CondaChannelS3",
    "CondaEnvironment",
    "ConnectivityCheck",
    "CustomStep",
    "EnvironmentVariables",
    "JupyterLabExtension",
    "PipInstallEverywhere",
    "HomeBackup",
    "IdleAutoStop",
    "LifecycleScript",
    "NotebookSetup",
    "PackageIndex",
    "PackageInstall",
    "StudioSetup",
]
