"""StudioSpace: shared team spaces within the domain's limits, retained."""

from __future__ import annotations

import json

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from sagemaker_constructs import ConstructValidationError, StudioSpace, StudioUserProfile
from tests.cost.test_cost_config import errors_of, with_change
from tests.test_studio_domain import make

SPACE = "AWS::SageMaker::Space"


def space(**props):
    domain = make(max_ebs_size_gib=50)
    stack = Stack.of(domain)
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    owner = StudioUserProfile(
        stack, "Dave", domain=domain, user_profile_name="ds-dave", execution_role=role
    )
    props.setdefault("space_name", "ds-models")
    return StudioSpace(stack, "Space", domain=domain, owner=owner, **props), stack


def test_shared_space_owned_by_a_profile_and_retained():
    built, stack = space(instance_type="ml.t3.medium", ebs_size_gib=20)
    (resource,) = Template.from_stack(stack).find_resources(SPACE).values()
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    props = resource["Properties"]
    assert props["SpaceSharingSettings"] == {"SharingType": "Shared"}
    assert props["OwnershipSettings"] == {"OwnerUserProfileName": "ds-dave"}
    settings = props["SpaceSettings"]
    assert settings["AppType"] == "JupyterLab"
    assert settings["JupyterLabAppSettings"]["DefaultResourceSpec"] == {
        "InstanceType": "ml.t3.medium"
    }
    assert settings["SpaceStorageSettings"] == {"EbsStorageSettings": {"EbsVolumeSizeInGb": 20}}


def test_space_outside_the_domains_limits_is_one_error_listing_each():
    with pytest.raises(ConstructValidationError) as err:
        space(space_name="-bad", instance_type="ml.p4d.24xlarge", ebs_size_gib=51)
    text = str(err.value)
    assert "3 invalid properties" in text
    assert "space_name: got '-bad'" in text
    assert "instance_type: got 'ml.p4d.24xlarge'" in text
    assert "ebs_size_gib: got 51; allowed: an integer from 5 to 50" in text


def test_grant_use_names_only_this_space_and_its_apps():
    built, stack = space()
    policy = iam.ManagedPolicy(stack, "TeamPolicy")
    built.grant_use(policy)
    doc = stack.resolve(policy.document.to_json())
    resources = [s["Resource"] for s in doc["Statement"]]
    rendered = str(resources)
    assert ":space/*/ds-models" in rendered and ":app/*/ds-models/*" in rendered
    assert all("ds-models" in str(r) for r in resources)


def test_config_space_owner_type_and_size_are_checked():
    data = with_change("teams[1].studio.spaces[0].owner", "zoe")
    data["teams"][1]["studio"]["spaces"][0]["instance_type"] = "ml.m5.2xlarge"
    data["teams"][1]["studio"]["spaces"][0]["ebs_size_gib"] = 500
    lines = errors_of(data)
    assert len(lines) == 3, lines
    assert lines[0].startswith("teams.yaml: teams[1].studio.spaces[0].owner: got 'zoe'")
    assert lines[1].startswith("teams.yaml: teams[1].studio.spaces[0].instance_type: got")
    assert lines[2].startswith("teams.yaml: teams[1].studio.spaces[0].ebs_size_gib: got 500")


def test_example_team_has_a_shared_space_its_studio_role_may_use(example):
    template = example.template_json("sagemaker-team-forecasting")
    spaces = [r for r in template["Resources"].values() if r["Type"] == SPACE]
    assert [s["Properties"]["SpaceName"] for s in spaces] == ["forecasting-models"]
    assert spaces[0]["Properties"]["SpaceSharingSettings"] == {"SharingType": "Shared"}
    (policy,) = [
        r
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and k.startswith("StudioPolicy")
    ]
    sids = {s.get("Sid") for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert {"UseSpaceForecastingModels", "AppsOfSpaceForecastingModels"} <= sids
    for name in example.built.teams:
        if name != "forecasting":
            other = example.template_json(example.built.teams[name].artifact_id)
            assert "forecasting-models" not in json.dumps(other), name
