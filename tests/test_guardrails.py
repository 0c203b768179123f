"""Guardrails: the permissions boundary on every team role and the synth-time aspect."""

from __future__ import annotations

import copy
import json

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from sagemaker_constructs import ConstructValidationError, NotebookInstance
from sagemaker_constructs.governance.notebook_guardrails import NotebookGuardrails
from sagemaker_constructs.governance.notebook_permissions_boundary import (
    NotebookPermissionsBoundary,
)
from stacks import build_app, parse_config
from tests.conftest import EXAMPLE_CONFIG, Synthesized, isolated_vpc, new_app, new_stack

BASE = yaml.safe_load(EXAMPLE_CONFIG.read_text())


def _boundary_statements(template: dict) -> dict[str, dict]:
    (policy,) = [
        r
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and k.startswith("PermissionsBoundary")
    ]
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_every_team_role_has_the_team_boundary(example: Synthesized):
    for stack in example.built.teams.values():
        template = example.template_json(stack.artifact_id)
        boundary_id = next(k for k in template["Resources"] if k.startswith("PermissionsBoundary"))
        roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
        assert roles
        for role in roles:
            assert role["Properties"]["PermissionsBoundary"] == {"Ref": boundary_id}


def test_boundary_denies_notebooks_outside_the_guardrails(example: Synthesized):
    statements = _boundary_statements(example.template_json("sagemaker-team-fraud"))
    create = "sagemaker:CreateNotebookInstance"
    assert statements["DenyNotebookWithDirectInternet"]["Condition"] == {
        "StringNotEquals": {"sagemaker:DirectInternetAccess": "Disabled"}
    }
    assert statements["DenyNotebookWithRootAccess"]["Condition"] == {
        "StringNotEquals": {"sagemaker:RootAccess": "Disabled"}
    }
    assert statements["DenyEnablingRootAccess"]["Action"] == "sagemaker:UpdateNotebookInstance"
    assert statements["DenyNotebookWithoutVolumeKey"]["Condition"] == {
        "Null": {"sagemaker:VolumeKmsKey": "true"}
    }
    assert statements["DenyNotebookWithoutSubnet"]["Condition"] == {
        "Null": {"sagemaker:VpcSubnets": "true"}
    }
    subnets = statements["DenyNotebookOutsidePlatformSubnets"]["Condition"][
        "ForAnyValue:StringNotEquals"
    ]["sagemaker:VpcSubnets"]
    assert len(subnets) == 2 and all("Fn::GetStackOutput" in s for s in subnets)
    types = statements["DenyInstanceTypesNotAllowed"]
    assert types["Action"] == [create, "sagemaker:UpdateNotebookInstance"]
    assert types["Condition"]["ForAnyValue:StringNotEquals"]["sagemaker:InstanceTypes"] == [
        "ml.t3.medium",
        "ml.t3.large",
        "ml.m5.xlarge",
        "ml.m5.2xlarge",
    ]
    for sid, s in statements.items():
        if sid.startswith("Deny"):
            assert s["Effect"] == "Deny"


def test_team_guardrails_override_the_platform_allow_list(example: Synthesized):
    statements = _boundary_statements(example.template_json("sagemaker-team-vision"))
    assert statements["DenyInstanceTypesNotAllowed"]["Condition"]["ForAnyValue:StringNotEquals"][
        "sagemaker:InstanceTypes"
    ] == ["ml.g5.xlarge", "ml.g5.2xlarge"]


def _build(data: dict) -> cdk.App:
    app = new_app()
    build_app(app, parse_config(data))
    return app


def test_disallowed_instance_type_and_volume_fail_synth_naming_team_and_notebook():
    data = copy.deepcopy(BASE)
    data["teams"][2]["notebooks"][1]["instance_type"] = "ml.p4d.24xlarge"
    data["teams"][0]["notebooks"][1]["volume_size_gib"] = 300
    app = _build(data)
    with pytest.raises(RuntimeError) as err:
        app.synth()
    message = str(err.value)
    assert (
        "ERROR team vision: notebook vision-grace: instance type ml.p4d.24xlarge is not allowed "
        "(rule: allowed instance types ml.g5.xlarge, ml.g5.2xlarge)" in message
    )
    assert (
        "ERROR team fraud: notebook fraud-bob: volume of 300 GiB is over the maximum "
        "(rule: at most 200 GiB)" in message
    )
    assert message.count("ERROR team") == 2


def test_example_app_has_no_guardrail_errors(example: Synthesized):
    report = json.loads((example.outdir / "validation-report.json").read_text())
    messages = json.dumps(report)
    assert "ERROR team" not in messages and "error-annotation" not in messages


@pytest.mark.parametrize("applied", ["apply_to", "aspect"])
def test_guardrails_reject_internet_and_root_whatever_the_construct_allowed(applied: str):
    stack = new_stack()
    NotebookInstance(
        stack,
        "Nb",
        notebook_instance_name="open-nb",
        allow_direct_internet=True,
        allow_root_access=True,
    )
    guardrails = NotebookGuardrails(owner="team x")
    if applied == "apply_to":
        guardrails.apply_to(stack)
    else:
        cdk.Aspects.of(stack).add(guardrails)
    with pytest.raises(RuntimeError) as err:
        Template.from_stack(stack)
    message = str(err.value)
    assert (
        "ERROR team x: notebook open-nb: direct internet access must be disabled (rule: internet never enabled)"
        in message
    )
    assert "ERROR team x: notebook open-nb: root access must be disabled (rule: no root)" in message


def test_apply_to_checks_what_changed_after_it_and_only_its_scope():
    """The check runs at synth: an escape-hatch edit made after ``apply_to`` is caught, a
    notebook outside the scope is not checked, a compliant notebook gets no error."""
    app = new_app()
    checked = cdk.Stack(app, "Checked")
    other = cdk.Stack(app, "Other")
    guardrails = NotebookGuardrails(
        owner="team x", allowed_instance_types=["ml.t3.medium"], max_volume_size_gib=50
    )
    guardrails.apply_to(checked)
    vpc = isolated_vpc(checked)
    NotebookInstance(checked, "Fine", notebook_instance_name="fine-nb", vpc=vpc)
    late = NotebookInstance(checked, "Late", notebook_instance_name="late-nb", vpc=vpc)
    late.resource.instance_type = "ml.m5.xlarge"
    late.resource.volume_size_in_gb = 80
    NotebookInstance(
        other,
        "Free",
        notebook_instance_name="free-nb",
        instance_type="ml.m5.xlarge",
        vpc=isolated_vpc(other),
    )
    with pytest.raises(RuntimeError) as err:
        app.synth()
    message = str(err.value)
    assert (
        "ERROR team x: notebook late-nb: instance type ml.m5.xlarge is not allowed "
        "(rule: allowed instance types ml.t3.medium)" in message
    )
    assert (
        "ERROR team x: notebook late-nb: volume of 80 GiB is over the maximum "
        "(rule: at most 50 GiB)" in message
    )
    assert "fine-nb" not in message and "free-nb" not in message
    assert message.count("ERROR team x") == 2


def test_boundary_validation():
    with pytest.raises(ConstructValidationError) as err:
        NotebookPermissionsBoundary(new_stack(), "B", subnet_ids=[], allowed_instance_types=["p4d"])
    assert [p.prop for p in err.value.problems] == ["subnet_ids", "allowed_instance_types[0]"]


def test_boundary_without_allow_list_has_no_instance_type_statement():
    stack = new_stack()
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        restrict_default_security_group=False,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="i", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    NotebookPermissionsBoundary(stack, "B", subnet_ids=vpc.select_subnets().subnet_ids)
    doc = json.dumps(Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy"))
    assert "sagemaker:InstanceTypes" not in doc and "DenyNotebookWithDirectInternet" in doc
