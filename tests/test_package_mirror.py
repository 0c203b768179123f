"""PackageMirror: CodeArtifact domain + PyPI upstream, endpoints in the notebook network."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from sagemaker_constructs import ConstructValidationError, NotebookNetwork, PackageMirror
from tests.conftest import new_stack


@pytest.fixture(scope="module")
def mirror() -> tuple[PackageMirror, Template]:
    stack = new_stack()
    net = NotebookNetwork(stack, "Net")
    m = PackageMirror(stack, "Mirror", domain_name="ml-platform", network=net)
    return m, Template.from_stack(stack)


def test_pypi_upstream_and_encrypted_retained_domain(mirror):
    _, t = mirror
    t.has_resource(
        "AWS::CodeArtifact::Domain",
        {
            "Properties": {
                "DomainName": "ml-platform",
                "EncryptionKey": {
                    "Fn::GetAtt": [
                        json.loads('"MirrorKey"')
                        and next(
                            k
                            for k in t.find_resources("AWS::KMS::Key")
                            if k.startswith("MirrorKey")
                        ),
                        "Arn",
                    ]
                },
            },
            "DeletionPolicy": "Retain",
        },
    )
    t.has_resource_properties(
        "AWS::CodeArtifact::Repository",
        {"RepositoryName": "pypi-store", "ExternalConnections": ["public:pypi"]},
    )
    repos = t.find_resources(
        "AWS::CodeArtifact::Repository", {"Properties": {"RepositoryName": "pypi"}}
    )
    (repo,) = repos.values()
    assert "Upstream" in json.dumps(repo["Properties"]["Upstreams"])


def test_codeartifact_endpoints_with_private_dns_behind_the_endpoint_group(mirror):
    m, t = mirror
    names = json.dumps(
        [e["Properties"]["ServiceName"] for e in t.find_resources("AWS::EC2::VPCEndpoint").values()]
    )
    assert ".codeartifact.api" in names and ".codeartifact.repositories" in names
    for ep in t.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}
    ).values():
        assert ep["Properties"]["PrivateDnsEnabled"] is True
        assert len(ep["Properties"]["SecurityGroupIds"]) == 1


def test_package_index_step_points_at_the_mirror(mirror):
    m, _ = mirror
    step = m.package_index()
    assert (step.code_artifact_domain, step.code_artifact_repository) == ("ml-platform", "pypi")


def test_invalid_names():
    with pytest.raises(ConstructValidationError) as err:
        PackageMirror(new_stack(), "M", domain_name="ML", repository_name="x")
    assert [p.prop for p in err.value.problems] == ["domain_name", "repository_name"]


def test_the_network_is_taken_through_its_interface():
    """NotebookNetwork satisfies INotebookNetwork, the type PackageMirror's prop takes."""
    from sagemaker_constructs import INotebookNetwork, NotebookNetwork

    net = NotebookNetwork(new_stack(), "Net")
    assert isinstance(net, INotebookNetwork)
    assert not isinstance(object(), INotebookNetwork)
