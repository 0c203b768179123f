"""Networking for notebooks and Studio without direct internet access.

``NotebookNetwork`` provides the VPC, isolated subnets, security groups and the interface
endpoints (``ENDPOINT_NAMES``) the services need; ``PackageMirror`` provides a CodeArtifact
repository that proxies public PyPI for hosts without internet.
"""

from sagemaker_constructs.network.notebook_network import (
    ENDPOINT_NAMES,
    INotebookNetwork,
    NotebookNetwork,
)
from sagemaker_constructs.network.package_mirror import PackageMirror

__all__ = ["ENDPOINT_NAMES", "INotebookNetwork", "NotebookNetwork", "PackageMirror"]
