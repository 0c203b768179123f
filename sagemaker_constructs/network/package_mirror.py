"""A CodeArtifact PyPI mirror that notebooks without internet access can install from."""

from __future__ import annotations

import re
from typing import Final

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_codeartifact as codeartifact
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from sagemaker_constructs._defaults import new_key
from sagemaker_constructs._validation import Problems
from sagemaker_constructs.network.notebook_network import INotebookNetwork
from sagemaker_constructs.setup.notebook_setup import (
    CA_DOMAIN_ALLOWED,
    CA_REPOSITORY_ALLOWED,
    PackageIndex,
)

DOMAIN_PATTERN: Final = re.compile(r"[a-z][a-z0-9-]{0,48}[a-z0-9]")
REPOSITORY_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,99}")


class PackageMirror(Construct):
    """A CodeArtifact domain and repository with public PyPI as its upstream.

    Notebooks reach it through the ``codeartifact.api`` and ``codeartifact.repositories``
    interface endpoints (private DNS), which are added to ``network``. Use
    :meth:`package_index` as a :class:`NotebookSetup` step; the notebook's role then
    gets read access to this repository only.

    Attributes:
        domain: The L1 ``CfnDomain``.
        repository: The repository notebooks install from (L1 ``CfnRepository``).
        upstream: The repository holding the ``public:pypi`` external connection.
        key: KMS key encrypting the domain's assets.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain_name: str,
        repository_name: str = "pypi",
        network: INotebookNetwork | None = None,
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """Create the mirror: a KMS-encrypted domain, a store and the repository notebooks use.

        Args:
            scope: Parent construct.
            id: Construct ID; the repository notebooks use is the child ``Resource``.
            domain_name: CodeArtifact domain name, required: 2 to 50 lower-case letters,
                digits and hyphens, starting with a letter. An invalid name raises one
                ``ConstructValidationError`` here, together with any other problem.
            repository_name: Repository notebooks install from. Default: ``pypi``; its
                upstream, holding the ``public:pypi`` external connection, is named
                ``<repository_name>-store``.
            network: Notebook network to add the ``codeartifact.api`` and
                ``codeartifact.repositories`` interface endpoints to (each only if the
                network does not have it yet). Default: no endpoints are added, so the VPC
                must already reach CodeArtifact privately.
            encryption_key: KMS key encrypting the domain's assets. Default: a new key with
                rotation enabled, created under this construct with ``removal_policy``.
            removal_policy: Applied to the domain, both repositories and a created key.
                Default: ``RETAIN``, so cached packages survive a stack deletion.

        Raises:
            ConstructValidationError: ``domain_name`` or ``repository_name`` is invalid;
                the message lists every problem with the value given and what is allowed.
        """
        super().__init__(scope, id)
        p = Problems(self)
        p.pattern(
            "domain_name",
            domain_name,
            DOMAIN_PATTERN,
            CA_DOMAIN_ALLOWED,
        )
        p.pattern(
            "repository_name",
            repository_name,
            REPOSITORY_PATTERN,
            CA_REPOSITORY_ALLOWED,
        )
        p.kms_key("encryption_key", encryption_key)
        p.raise_if_any()

        self.domain_name = domain_name
        self.repository_name = repository_name
        self.key = encryption_key or new_key(
            self,
            "Key",
            description=f"Encrypts CodeArtifact domain {domain_name}",
            removal_policy=removal_policy,
        )
        self.domain = codeartifact.CfnDomain(
            self, "Domain", domain_name=domain_name, encryption_key=self.key.key_arn
        )
        self.upstream = codeartifact.CfnRepository(
            self,
            "Upstream",
            domain_name=self.domain.attr_name,
            repository_name=f"{repository_name}-store",
            description="Caches packages from public PyPI",
            external_connections=["public:pypi"],
        )
        self.repository = codeartifact.CfnRepository(
            self,
            "Resource",
            domain_name=self.domain.attr_name,
            repository_name=repository_name,
            description="PyPI mirror for SageMaker notebooks",
            upstreams=[self.upstream.attr_name],
        )
        for resource in (self.domain, self.upstream, self.repository):
            resource.apply_removal_policy(removal_policy)

        if network is not None:
            for name, service in (
                ("codeartifact.api", ec2.InterfaceVpcEndpointAwsService.CODEARTIFACT_API),
                (
                    "codeartifact.repositories",
                    ec2.InterfaceVpcEndpointAwsService.CODEARTIFACT_REPOSITORIES,
                ),
            ):
                if name not in network.interface_endpoints:
                    network.add_interface_endpoint(name, service)

    def package_index(self, *, conda_channel: str | None = None) -> PackageIndex:
        """A setup step pointing pip of every kernel at this mirror."""
        return PackageIndex(
            code_artifact_domain=self.domain_name,
            code_artifact_repository=self.repository_name,
            conda_channel=conda_channel,
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` fetch a token for and read from the mirror's repository."""
        stack = Stack.of(self)
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
            resource_arns=[
                stack.format_arn(
                    service="codeartifact",
                    resource="repository",
                    resource_name=f"{self.domain_name}/{self.repository_name}",
                )
            ],
        )
