"""SageMaker notebook instances and their lifecycle configurations.

``NotebookInstance`` creates a notebook in a VPC with KMS encryption, no direct internet,
root access off and a customer-managed role policy; ``NotebookLifecycleConfig`` holds the
on-create / on-start scripts (usually rendered by ``sagemaker_constructs.setup``).
"""

from sagemaker_constructs.notebooks.notebook_instance import INotebookInstance, NotebookInstance
from sagemaker_constructs.notebooks.notebook_lifecycle_config import (
    INotebookLifecycleConfig,
    NotebookLifecycleConfig,
)

__all__ = [
    "INotebookInstance",
    "INotebookLifecycleConfig",
    "NotebookInstance",
    "NotebookLifecycleConfig",
]
