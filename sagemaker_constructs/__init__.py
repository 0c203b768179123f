"""Secure-by-default AWS CDK v2 constructs for SageMaker notebook environments."""

from ._validation import ConstructValidationError, Problem
from .lifecycle_script import MAX_BASE64_CHARS, LifecycleScript
from .notebook_instance import NotebookInstance
from .notebook_lifecycle_config import NotebookLifecycleConfig
from .notebook_network import ENDPOINT_NAMES, NotebookNetwork

__all__ = [
    "ENDPOINT_NAMES",
    "MAX_BASE64_CHARS",
    "ConstructValidationError",
    "LifecycleScript",
    "NotebookInstance",
    "NotebookLifecycleConfig",
    "NotebookNetwork",
    "Problem",
]
