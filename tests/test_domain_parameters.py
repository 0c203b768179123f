"""A domain published as SSM parameters by one app and imported by another."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from sagemaker_constructs import ConstructValidationError, StudioDomain, StudioUserProfile
from sagemaker_constructs.studio.studio_domain import DOMAIN_PARAMETERS
from tests.conftest import isolated_vpc, new_stack

PREFIX = "/acme/sagemaker/studio"


@pytest.fixture(scope="module")
def published() -> tuple[StudioDomain, Template]:
    stack = new_stack("Platform")
    domain = StudioDomain(stack, "Domain", vpc=isolated_vpc(stack), parameter_prefix=PREFIX)
    return domain, Template.from_stack(stack)


def test_the_domain_publishes_its_id_name_group_and_role(published):
    domain, t = published
    found = {
        p["Properties"]["Name"]: p["Properties"]["Value"]
        for p in t.find_resources("AWS::SSM::Parameter").values()
    }
    assert set(found) == {f"{PREFIX}/{key}" for key in DOMAIN_PARAMETERS}
    resolved = {name: json.dumps(value) for name, value in found.items()}
    domain_logical_id = domain.stack.get_logical_id(domain.resource)
    assert domain_logical_id in resolved[f"{PREFIX}/domain-id"]
    assert "DomainId" in resolved[f"{PREFIX}/domain-id"]
    assert "GroupId" in resolved[f"{PREFIX}/security-group-id"]
    assert '"Arn"' in resolved[f"{PREFIX}/execution-role-arn"]
    assert set(domain.parameters) == set(DOMAIN_PARAMETERS)


def test_nothing_is_published_by_default():
    stack = new_stack()
    StudioDomain(stack, "Domain", vpc=isolated_vpc(stack))
    assert Template.from_stack(stack).find_resources("AWS::SSM::Parameter") == {}


def test_another_app_adds_a_profile_to_the_published_domain():
    stack = new_stack("TeamApp")
    domain = StudioDomain.from_domain_parameters(stack, "Shared", parameter_prefix=PREFIX)
    StudioUserProfile(stack, "Alice", domain=domain, user_profile_name="alice")
    template = Template.from_stack(stack).to_json()
    parameters = template["Parameters"]
    ssm_names = {
        p["Default"]: name
        for name, p in parameters.items()
        if p["Type"] == "AWS::SSM::Parameter::Value<String>"
    }
    assert set(ssm_names) - {"/cdk-bootstrap/hnb659fds/version"} == {
        f"{PREFIX}/{k}" for k in DOMAIN_PARAMETERS
    }
    (profile,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::UserProfile"
    ]
    props = profile["Properties"]
    assert props["DomainId"] == {"Ref": ssm_names[f"{PREFIX}/domain-id"]}
    assert props["UserSettings"]["ExecutionRole"] == {
        "Ref": ssm_names[f"{PREFIX}/execution-role-arn"]
    }


@pytest.mark.parametrize(
    "prefix", ["acme/studio", "/acme/studio/", "/aws/studio", "/SSM/x", "/a b"]
)
def test_a_bad_prefix_is_named(prefix):
    stack = new_stack()
    with pytest.raises(ConstructValidationError, match="parameter_prefix: got"):
        StudioDomain(stack, "Domain", vpc=isolated_vpc(stack), parameter_prefix=prefix)
    with pytest.raises(ConstructValidationError, match="parameter_prefix: got"):
        StudioDomain.from_domain_parameters(stack, "Imported", parameter_prefix=prefix)
