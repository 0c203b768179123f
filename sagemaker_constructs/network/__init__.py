"""Networking for notebooks and Studio without direct internet access.

``NotebookNetwork`` provides the VPC, isolated subnets, security groups and the interface
endpoints (``ENDPOINT_NAMES``) the services need; ``PackageMirror`` provides a CodeArtifact
repository that proxies public PyPI for hosts without internet; ``CondaChannel`` an S3
bucket holding a static conda channel they read through the S3 gateway endpoint.
"""

from sagemaker_constructs.network.conda_channel import CondaChannel
from sagemaker_constructs.network.notebook_network import (
    ENDPOINT_NAMES,
    INotebookNetwork,
    NotebookNetwork,
)
from sagemaker_constructs.network.package_mirror import PackageMirror

__all__ = ["CondaChannel", "ENDPOINT_NAMES", "INotebookNetwork", "NotebookNetwork", "PackageMirror"]
