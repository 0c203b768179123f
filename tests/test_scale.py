"""Organisation scale: 100 teams, a team too big for one stack, CloudFormation's limits.

One app is synthesized for the module (it takes a while): 100 teams of 3 notebooks plus
one team of 160 notebooks, with the compliance packs and the limits check, as
`cdk synth` runs them.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import jsii
import pytest

from sagemaker_constructs import ConstructValidationError
from sagemaker_constructs.governance import register_compliance_checks
from sagemaker_constructs.governance.stack_limits import (
    MAX_INLINE_TEMPLATE_BYTES,
    MAX_OUTPUTS,
    MAX_RESOURCES,
    MAX_TEMPLATE_BYTES,
    LimitProblem,
    StackLimitsCheck,
    assembly_problems,
    errors,
    template_problems,
)
from stacks import build_app, parse_config
from stacks.app_builder import PlatformApp
from stacks.team_stack import NOTEBOOK_SHARE, StackCost, notebooks_per_stack
from tests.conftest import new_app

SMALL_TEAMS = 100
BIG_TEAM = "big"
BIG_TEAM_NOTEBOOKS = 160  # 75 + 75 + 10


def small_team(number: int) -> dict:
    return {
        "name": f"team-{number:03d}",
        "cost_center": f"cc-{1000 + number}",
        "notebooks": [{"user": "u1"}, {"user": "u2", "volume_size_gib": 20}, {"user": "u3"}],
    }


def big_team(name: str = BIG_TEAM, notebooks: int = BIG_TEAM_NOTEBOOKS) -> dict:
    return {"name": name, "notebooks": [{"user": f"user-{i:03d}"} for i in range(notebooks)]}


def config(teams: list[dict]) -> dict:
    return {
        "platform": {"prefix": "sagemaker", "tags": {"managed-by": "sagemaker-constructs"}},
        "teams": teams,
    }


@dataclass
class Scale:
    built: PlatformApp
    outdir: Path
    assembly: cdk.cx_api.CloudAssembly

    def template(self, stack_id: str) -> dict:
        return json.loads((self.outdir / f"{stack_id}.template.json").read_text())

    @property
    def templates(self) -> dict[str, dict]:
        return {
            p.name.removesuffix(".template.json"): json.loads(p.read_text())
            for p in sorted(self.outdir.glob("*.template.json"))
        }


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> Scale:
    outdir = tmp_path_factory.mktemp("scale.out")
    app = new_app(outdir)
    teams = [small_team(n) for n in range(1, SMALL_TEAMS + 1)] + [big_team()]
    built = build_app(app, parse_config(config(teams)))
    register_compliance_checks(app)
    assembly = app.synth()
    return Scale(built=built, outdir=outdir, assembly=assembly)


def notebooks_of(template: dict) -> list[str]:
    return [
        r["Properties"]["NotebookInstanceName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SageMaker::NotebookInstance"
    ]


# --- 100 teams -------------------------------------------------------------------------


def test_every_stack_is_within_cloudformation_limits(scale: Scale):
    templates = scale.templates
    assert len(templates) == 1 + SMALL_TEAMS + 3
    for name, template in templates.items():
        size = (scale.outdir / f"{name}.template.json").stat().st_size
        assert len(template["Resources"]) <= MAX_RESOURCES, name
        assert len(template.get("Outputs", {})) <= MAX_OUTPUTS, name
        assert size <= MAX_TEMPLATE_BYTES, name
    assert errors(assembly_problems(scale.assembly)) == []


def test_each_small_team_has_one_stack_with_its_three_notebooks(scale: Scale):
    for number in range(1, SMALL_TEAMS + 1):
        name = f"team-{number:03d}"
        team = scale.built.teams[name]
        assert team.stack_name == f"sagemaker-team-{name}"
        assert team.notebook_stacks == []
        assert sorted(notebooks_of(scale.template(team.artifact_id))) == [
            f"{name}-u1",
            f"{name}-u2",
            f"{name}-u3",
        ]


def test_compliance_packs_and_limits_check_pass_at_scale(scale: Scale):
    report = json.loads((scale.outdir / "validation-report.json").read_text())
    for plugin in report["pluginReports"]:
        assert plugin["conclusion"] == "success", plugin["pluginName"]
        severe = [v for v in plugin["violations"] if v.get("severity") != "warning"]
        assert severe == [], plugin["pluginName"]


def test_a_small_team_keeps_its_stack_and_logical_ids(scale: Scale, tmp_path: Path):
    """A team's stack is the same whether it is alone or one of a hundred (and one split)."""
    alone = new_app(tmp_path)
    built = build_app(alone, parse_config(config([small_team(1)])))
    alone.synth()
    stack = built.teams["team-001"]
    notebook = stack.notebooks["u1"]
    ids = {
        stack.resolve(stack.get_logical_id(c.node.default_child or c))
        for c in (notebook.resource, notebook.role, notebook.policy)
    }
    big_stack = scale.built.teams["team-001"]
    assert (big_stack.artifact_id, big_stack.stack_name) == (stack.artifact_id, stack.stack_name)
    in_big_app = scale.template(big_stack.artifact_id)
    assert len(ids) == 3 and ids <= set(in_big_app["Resources"])
    # The whole template is the same, not only the notebook's IDs.
    assert json.loads((tmp_path / f"{stack.artifact_id}.template.json").read_text()) == in_big_app


# --- a team too big for one stack ------------------------------------------------------


def test_notebooks_per_stack_follows_from_what_a_notebook_costs(scale: Scale):
    team = scale.built.teams[BIG_TEAM]
    assert team.notebook_cost == StackCost(resources=3, outputs=2)
    assert team.notebooks_per_stack == 75 == notebooks_per_stack(team.notebook_cost)
    assert (
        notebooks_per_stack(StackCost(resources=3, outputs=0))
        == int(MAX_RESOURCES * NOTEBOOK_SHARE) // 3
    )
    assert notebooks_per_stack(StackCost(resources=10, outputs=1)) == 37


def test_a_big_team_is_split_in_config_order(scale: Scale):
    team = scale.built.teams[BIG_TEAM]
    stacks = [team, *team.notebook_stacks]
    assert [s.stack_name for s in stacks] == [
        "sagemaker-team-big",
        "sagemaker-team-big-2",
        "sagemaker-team-big-3",
    ]
    users = [f"big-user-{i:03d}" for i in range(BIG_TEAM_NOTEBOOKS)]
    per_stack = [notebooks_of(scale.template(s.artifact_id)) for s in stacks]
    assert [sorted(n) for n in per_stack] == [users[:75], users[75:150], users[150:]]
    assert set(team.notebooks) == {f"user-{i:03d}" for i in range(BIG_TEAM_NOTEBOOKS)}


def test_every_notebook_exists_exactly_once(scale: Scale):
    names = Counter(n for t in scale.templates.values() for n in notebooks_of(t))
    assert sum(names.values()) == SMALL_TEAMS * 3 + BIG_TEAM_NOTEBOOKS
    assert max(names.values()) == 1


def test_split_stacks_stay_well_within_limits(scale: Scale):
    team = scale.built.teams[BIG_TEAM]
    for stack in (team, *team.notebook_stacks):
        template = scale.template(stack.artifact_id)
        assert len(template["Resources"]) <= 0.8 * MAX_RESOURCES
        assert len(template["Outputs"]) <= 0.8 * MAX_OUTPUTS
    first = scale.template(team.artifact_id)
    # The team's own resources stay in its first stack; the others hold notebooks only.
    kinds = Counter(r["Type"] for r in first["Resources"].values())
    for kind in (
        "AWS::KMS::Key",
        "AWS::S3::Bucket",
        "AWS::SageMaker::NotebookInstanceLifecycleConfig",
    ):
        assert kinds[kind] == 1
    assert kinds["AWS::IAM::ManagedPolicy"] == 2 + 75  # data policy, boundary, notebooks
    for stack in team.notebook_stacks:
        kinds = Counter(r["Type"] for r in scale.template(stack.artifact_id)["Resources"].values())
        assert set(kinds) == {
            "AWS::IAM::Role",
            "AWS::IAM::ManagedPolicy",
            "AWS::SageMaker::NotebookInstance",
        }


def test_notebook_stacks_use_the_first_stacks_key_boundary_and_policies(scale: Scale):
    team = scale.built.teams[BIG_TEAM]
    second = scale.template(team.notebook_stacks[0].artifact_id)

    def from_first(value) -> bool:
        return value.get("Fn::GetStackOutput", {}).get("StackName") == "sagemaker-team-big"

    for resource in second["Resources"].values():
        props = resource["Properties"]
        if resource["Type"] == "AWS::SageMaker::NotebookInstance":
            assert from_first(props["KmsKeyId"])
            assert from_first(props["LifecycleConfigName"])
        if resource["Type"] == "AWS::IAM::Role":
            assert from_first(props["PermissionsBoundary"])
            assert any(from_first(arn) for arn in props["ManagedPolicyArns"])  # data policy
            assert {"Key": "team", "Value": "big"} in props["Tags"]
    # The data policy names only the roles of its own stack: no reference goes back.
    first = scale.template(team.artifact_id)
    (data_policy,) = [r for k, r in first["Resources"].items() if k.startswith("DataAccessPolicy")]
    assert len(data_policy["Properties"]["Roles"]) == 75
    manifest = json.loads((scale.outdir / "manifest.json").read_text())["artifacts"]
    for stack in team.notebook_stacks:
        assert team.artifact_id in manifest[stack.artifact_id]["dependencies"]


def test_a_notebook_stack_id_taken_by_another_team_is_an_error():
    teams = [big_team("ml", 76), {"name": "ml-2", "notebooks": [{"user": "ann"}]}]
    with pytest.raises(ConstructValidationError, match=r"teams\[1\]\.name: got 'ml-2'"):
        build_app(new_app(), parse_config(config(teams)))
    with pytest.raises(
        ConstructValidationError,
        match=r"team\.notebooks: got '76 notebooks'; allowed: notebook stack "
        r"sagemaker-team-ml-2 is the stack of another team",
    ):
        build_app(new_app(), parse_config(config(teams[::-1])))


# --- the limits check ------------------------------------------------------------------


def test_limits_check_names_the_stack_and_the_limit():
    template = {
        "Resources": {
            f"R{i}": {"Type": "AWS::CloudFormation::WaitConditionHandle"} for i in range(501)
        },
        "Outputs": {f"O{i}": {"Value": "x"} for i in range(201)},
    }
    problems = template_problems("sagemaker-team-x", template, size=MAX_TEMPLATE_BYTES + 1)
    assert [str(p) for p in problems] == [
        "stack sagemaker-team-x: 501 resources; CloudFormation allows at most 500 per stack",
        "stack sagemaker-team-x: 201 outputs; CloudFormation allows at most 200 per stack",
        "stack sagemaker-team-x: 1,000,001 bytes of template; CloudFormation allows at most "
        "1,000,000 per stack",
    ]
    assert {p.severity for p in problems} == {"error"}
    # At the limits exactly: only the warning that the template must come from S3.
    at_limits = {
        "Resources": dict(list(template["Resources"].items())[:MAX_RESOURCES]),
        "Outputs": dict(list(template["Outputs"].items())[:MAX_OUTPUTS]),
    }
    assert template_problems("s", at_limits, size=MAX_TEMPLATE_BYTES) == [
        LimitProblem(
            "s",
            "TemplateNeedsS3",
            "bytes of template",
            MAX_TEMPLATE_BYTES,
            MAX_INLINE_TEMPLATE_BYTES,
            "warning",
            "",
        )
    ]
    assert template_problems("s", at_limits, size=MAX_INLINE_TEMPLATE_BYTES) == []


def test_template_over_the_inline_size_is_a_warning_only():
    (problem,) = template_problems("sagemaker-team-x", {}, size=60_000)
    assert problem.severity == "warning"
    assert str(problem) == (
        "stack sagemaker-team-x: template is 60,000 bytes, over the 51,200 bytes "
        "CloudFormation accepts inline; it deploys only from S3 (as the CDK CLI and CDK "
        "Pipelines do)"
    )


def over_the_limit(app: cdk.App) -> cdk.Stack:
    # Outputs: aws-cdk-lib itself already refuses a stack of more than 500 resources.
    stack = cdk.Stack(app, "Chatty")
    for i in range(MAX_OUTPUTS + 1):
        cdk.CfnOutput(stack, f"Output{i}", value=str(i))
    cdk.CfnWaitConditionHandle(stack, "Handle")
    return stack


def test_limits_check_fails_synth_of_a_stack_over_a_limit():
    app = new_app()
    over_the_limit(app)
    cdk.Validations.of(app).add_plugins(StackLimitsCheck())
    with pytest.raises(RuntimeError) as failed:
        app.synth()
    message = str(failed.value)
    assert "stack Chatty: 201 outputs; CloudFormation allows at most 200 per stack" in message
    assert "CloudFormationLimits" in message


def test_assembly_problems_reads_a_written_assembly():
    app = new_app()
    over_the_limit(app)
    problems = assembly_problems(app.synth())
    assert [(p.stack, p.rule, p.value) for p in problems] == [("Chatty", "TooManyOutputs", 201)]


def test_limits_check_names_a_stage_stack_by_its_construct_path():
    """The check's stack names come from the assembly manifests: a Stage's stack is named by
    its construct path, as CDK's own ``stack_templates`` of the validation context names it."""
    app = new_app()
    stage = cdk.Stage(app, "Prod")
    over_the_limit(stage)
    cdk.Stack(app, "Small")
    seen: dict[str, str] = {}

    @jsii.implements(cdk.IPolicyValidationPlugin)
    class Recorder:
        name = "Recorder"
        version = "1.0.0"
        rule_ids: list[str] = []

        def validate(self, context):
            for stack in context.stack_templates:
                seen[stack.template_path] = stack.stack_construct_path
            return cdk.PolicyValidationPluginReport(success=True, violations=[])

    cdk.Validations.of(app).add_plugins(StackLimitsCheck(), Recorder())
    with pytest.raises(RuntimeError) as failed:
        app.synth()
    message = str(failed.value)
    assert seen and "Prod/Chatty" in seen.values()
    assert "stack Prod/Chatty: 201 outputs; CloudFormation allows at most 200 per stack" in message
    assert "Small" not in message.replace("CloudFormationLimits", "")
