"""The CDK Pipelines pipeline: one stage per environment, compliant, snapshotted.

The example config has no pipeline (`make synth` builds the stacks directly), so the
config here is the example's teams plus a ``pipeline`` section: a dev environment in
the pipeline's Region and a prod environment in another account and Region, behind a
manual approval. It is synthesized once for the module, with the compliance packs.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml
from syrupy.extensions.json import JSONSnapshotExtension

from sagemaker_constructs.governance import register_compliance_checks
from stacks import ConfigError, PipelineStack, parse_config
from stacks.pipeline_stack import CDK_CLI_VERSION
from tests.conftest import EXAMPLE_CONFIG, ROOT, Synthesized, cdk_context
from tests.test_security_doc import DOC, PACKS
from tests.test_snapshots import reviewable

TOOLING = "123456789012"
CONNECTION = (
    "arn:aws:codeconnections:eu-west-1:123456789012:connection/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
)
ENVIRONMENTS = [
    {"name": "dev", "account": "111111111111", "region": "eu-west-1"},
    {"name": "prod", "account": "222222222222", "region": "eu-central-1", "manual_approval": True},
]
PIPELINE = {
    "connection_arn": CONNECTION,
    "repository": "acme/sagemaker-platform",
    "branch": "main",
    "account": TOOLING,
    "region": "eu-west-1",
    "environments": ENVIRONMENTS,
}
CONFIG_FILE = "config/platform.yaml"
STACKS = [
    "sagemaker-platform",
    "sagemaker-studio",
    "sagemaker-team-fraud",
    "sagemaker-team-forecasting",
    "sagemaker-team-vision",
]


def pipeline_config(**pipeline) -> dict:
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    data["platform"]["pipeline"] = copy.deepcopy(pipeline or PIPELINE)
    return data


def context(environments: list[dict]) -> dict:
    """cdk.json's flags, and the Availability Zones `cdk synth` would look up (and cache)."""
    zones = {
        f"availability-zones:account={e['account']}:region={e['region']}": [
            f"{e['region']}{z}" for z in "abc"
        ]
        for e in environments
    }
    return {**cdk_context(), **zones}


@dataclass
class Pipeline:
    stack: PipelineStack
    outdir: Path
    assembly: cdk.cx_api.CloudAssembly

    @property
    def template(self) -> dict:
        return self.json(f"{self.stack.artifact_id}.template.json")

    def json(self, name: str) -> dict:
        return json.loads((self.outdir / name).read_text())

    @property
    def own_templates(self) -> dict[str, dict]:
        """The pipeline stack's and its cross-Region support stacks' templates."""
        return {
            s.stack_name: self.json(s.template_file)
            for s in self.assembly.stacks
            if s.stack_name.startswith(self.stack.stack_name)
        }


def synth_pipeline(outdir: Path, data: dict) -> Pipeline:
    app = cdk.App(context=context(data["platform"]["pipeline"]["environments"]), outdir=str(outdir))
    stack = PipelineStack(
        app, "sagemaker-pipeline", config=parse_config(data), config_file=CONFIG_FILE
    )
    register_compliance_checks(app)
    return Pipeline(stack=stack, outdir=outdir, assembly=app.synth())


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    return synth_pipeline(tmp_path_factory.mktemp("pipeline.out"), pipeline_config())


def pipeline_resource(template: dict) -> dict:
    (resource,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    return resource["Properties"]


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


# --- stages ----------------------------------------------------------------------------


def test_one_stage_per_environment_with_every_stack_of_the_platform(pipeline: Pipeline):
    assert list(pipeline.stack.stages) == ["dev", "prod"]
    for env in ENVIRONMENTS:
        stage = pipeline.stack.stages[env["name"]]
        nested = pipeline.assembly.get_nested_assembly(stage.artifact_id)
        assert sorted(s.stack_name for s in nested.stacks) == sorted(STACKS)
        for stack in nested.stacks:
            assert (stack.environment.account, stack.environment.region) == (
                env["account"],
                env["region"],
            )
        assert list(stage.platform_app.teams) == ["fraud", "forecasting", "vision"]


def test_stages_hold_the_stacks_cdk_deploy_would_deploy(pipeline: Pipeline, example: Synthesized):
    """Built by the same build_app: same stacks, same resources, same logical IDs.

    Except the security-group rules between the platform's groups: CDK names those after
    the peer group's construct path, which in a stage starts with the pipeline and stage.
    """
    rules = ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")
    nested = pipeline.assembly.get_nested_assembly(pipeline.stack.stages["prod"].artifact_id)
    for stack in nested.stacks:
        in_stage = json.loads(Path(stack.template_full_path).read_text())["Resources"]
        in_app = example.template_json(stack.stack_name)["Resources"]
        assert Counter(r["Type"] for r in in_stage.values()) == Counter(
            r["Type"] for r in in_app.values()
        )
        assert {k: r["Type"] for k, r in in_stage.items() if r["Type"] not in rules} == {
            k: r["Type"] for k, r in in_app.items() if r["Type"] not in rules
        }


def test_pipeline_deploys_the_stages_in_order_after_source_build_and_assets(pipeline: Pipeline):
    stages = pipeline_resource(pipeline.template)["Stages"]
    assert [s["Name"] for s in stages] == [
        "Source",
        "Build",
        "UpdatePipeline",
        "Assets",
        "dev",
        "prod",
    ]
    (source,) = stages[0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"] == {
        "ConnectionArn": CONNECTION,
        "FullRepositoryId": "acme/sagemaker-platform",
        "BranchName": "main",
    }
    for env, stage in zip(ENVIRONMENTS, stages[4:], strict=True):
        actions = stage["Actions"]
        if env.get("manual_approval"):
            assert actions[0]["ActionTypeId"]["Category"] == "Approval"
            actions = actions[1:]
        deployed = [
            a["Configuration"]["StackName"] for a in actions if a["Name"].endswith(".Deploy")
        ]
        assert sorted(deployed) == sorted(STACKS)
        for action in actions:
            role = json.dumps(action["RoleArn"])
            assert f"cdk-hnb659fds-deploy-role-{env['account']}-{env['region']}" in role
            assert action.get("Region", "eu-west-1") == env["region"]


def test_synth_step_runs_make_synth_with_the_same_config_file(pipeline: Pipeline):
    projects = resources(pipeline.template, "AWS::CodeBuild::Project")
    (synth,) = [p for k, p in projects.items() if "Synth" in k]
    spec = json.loads(synth["Properties"]["Source"]["BuildSpec"])
    assert spec["phases"]["build"]["commands"] == [f'make synth CDK_ARGS="-c config={CONFIG_FILE}"']
    assert spec["phases"]["install"]["runtime-versions"] == {"python": "3.11", "nodejs": "20"}
    assert spec["artifacts"]["base-directory"] == "cdk.out"
    (mutation,) = [p for k, p in projects.items() if "SelfMutation" in k]
    assert f"aws-cdk@{CDK_CLI_VERSION}" in mutation["Properties"]["Source"]["BuildSpec"]
    assert (
        json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
        == CDK_CLI_VERSION
    )


def test_synth_step_may_use_only_the_environments_lookup_roles(pipeline: Pipeline):
    statements = [
        s
        for p in resources(pipeline.template, "AWS::IAM::ManagedPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "LookUpContextInTheEnvironments"
    ]
    assert statements == [
        {
            "Sid": "LookUpContextInTheEnvironments",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": [
                f"arn:aws:iam::{e['account']}:role/cdk-hnb659fds-lookup-role-{e['account']}-{e['region']}"
                for e in ENVIRONMENTS
            ],
        }
    ]


# --- security --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nag_reports(pipeline: Pipeline) -> dict[str, dict]:
    report = pipeline.json("validation-report.json")
    return {r["pluginName"]: r for r in report["pluginReports"]}


@pytest.mark.parametrize(
    "pack", ["AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"]
)
def test_cdk_nag_pack_has_no_unsuppressed_findings(nag_reports, pack):
    assert nag_reports[pack]["conclusion"] == "success"
    assert nag_reports[pack]["violations"] == []


def acknowledgments(outdir: Path) -> list[tuple[str, str, str]]:
    found = []
    for meta in outdir.rglob("*.metadata.json"):
        for path, entries in json.loads(meta.read_text()).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    found += [
                        (path, rule, reason)
                        for rule, reason in entry["data"].items()
                        if rule.startswith(PACKS)
                    ]
    return found


def test_acknowledgments_are_scoped_reasoned_and_none_is_stale(pipeline: Pipeline, nag_reports):
    acks = acknowledgments(pipeline.outdir)
    for path, rule, reason in acks:
        assert path.count("/") >= 2, f"{rule} acknowledged on a whole stack or app: {path}"
        assert not re.search(r"AwsSolutions-SM[123]\b", rule), rule
        if "IAM5" in rule:
            assert re.search(r"IAM5\[(Resource|Action)::", rule), rule
        assert len(reason) >= 60, (path, rule)
    suppressed = {
        v["ruleName"] for r in nag_reports.values() for v in r.get("suppressedViolations", [])
    }
    assert {rule.split("::", 1)[1] for _, rule, _ in acks} == suppressed


def test_every_pipeline_acknowledgment_is_in_security_md(pipeline: Pipeline):
    rows = [line.split("|") for line in DOC.splitlines() if line.startswith("| `")]
    own = [a for a in acknowledgments(pipeline.outdir) if not _in_a_stage(a[0], pipeline)]
    assert own, "expected the pipeline's own acknowledgments"
    missing = []
    for path, rule, _ in own:
        base = rule.split("::", 1)[1].split("[")[0].split("-", 1)[1]
        documented = any(
            any(_pattern(p).match(path) for p in re.findall(r"`([^`]+)`", row[1]))
            and base in row[2]
            for row in rows
        )
        if not documented:
            missing.append(f"{path}: {rule}")
    assert missing == []


def _in_a_stage(path: str, pipeline: Pipeline) -> bool:
    return any(
        path.startswith(f"/{pipeline.stack.node.id}/{env}/") for env in pipeline.stack.stages
    )


def _pattern(cell: str) -> re.Pattern[str]:
    return re.compile("^/" + re.escape(cell).replace(r"\*", "[^/]+") + "(/Resource)*$")


def test_no_inline_policies_in_the_pipeline(pipeline: Pipeline):
    for name, template in pipeline.own_templates.items():
        assert resources(template, "AWS::IAM::Policy") == {}, name
        for role in resources(template, "AWS::IAM::Role").values():
            assert "Policies" not in role["Properties"], name
    managed = resources(pipeline.template, "AWS::IAM::ManagedPolicy")
    assert len(managed) >= 6
    for policy in managed.values():
        assert policy["Properties"]["Roles"]


def test_source_role_may_use_the_connection_under_its_own_service_prefix(pipeline: Pipeline):
    # The action prefix must match the ARN's service prefix (codeconnections here).
    grants = [
        statement
        for policy in resources(pipeline.template, "AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Resource") == CONNECTION
    ]
    assert any(
        s["Effect"] == "Allow" and s["Action"] == "codeconnections:UseConnection" for s in grants
    ), grants


def test_artifact_buckets_are_kms_encrypted_versioned_and_access_logged(pipeline: Pipeline):
    templates = pipeline.own_templates
    assert sorted(templates) == ["sagemaker-pipeline", "sagemaker-pipeline-support-eu-central-1"]
    for name, template in templates.items():
        buckets = resources(template, "AWS::S3::Bucket")
        (artifacts,) = [b for k, b in buckets.items() if "AccessLogs" not in k]
        props = artifacts["Properties"]
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert "KMSMasterKeyID" in rule["ServerSideEncryptionByDefault"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["LoggingConfiguration"]["LogFilePrefix"] == "artifacts/"
        for key in resources(template, "AWS::KMS::Key").values():
            assert key["Properties"]["EnableKeyRotation"] is True, name


def test_codebuild_projects_are_encrypted_and_get_their_source_from_the_pipeline(
    pipeline: Pipeline,
):
    projects = resources(pipeline.template, "AWS::CodeBuild::Project")
    assert len(projects) == 3  # synth, self-mutation, file assets
    for project in projects.values():
        props = project["Properties"]
        assert props["EncryptionKey"] == {
            "Fn::GetAtt": [
                next(iter(resources(pipeline.template, "AWS::KMS::Key"))),
                "Arn",
            ]
        }
        assert props["Source"]["Type"] == "CODEPIPELINE"
        assert props["Environment"]["Image"] == "aws/codebuild/standard:7.0"
        assert props["Environment"].get("PrivilegedMode") in (None, False)


def test_single_account_single_region_pipeline_is_compliant_too(tmp_path: Path):
    env = {"name": "prod", "account": TOOLING, "region": "eu-west-1"}
    synthesized = synth_pipeline(tmp_path, pipeline_config(**{**PIPELINE, "environments": [env]}))
    assert sorted(synthesized.own_templates) == ["sagemaker-pipeline"]
    report = synthesized.json("validation-report.json")
    for plugin in report["pluginReports"]:
        assert plugin["conclusion"] == "success", plugin["pluginName"]
    suppressed = {
        v["ruleName"] for r in report["pluginReports"] for v in r.get("suppressedViolations", [])
    }
    acks = {rule.split("::", 1)[1] for _, rule, _ in acknowledgments(tmp_path)}
    assert acks == suppressed


def test_cfn_lint_on_the_pipeline_templates(pipeline: Pipeline):
    # E3703 (Fn::Join in an action's Configuration) and W3005 (an explicit DependsOn
    # beside a GetAtt) are how CDK Pipelines writes its pipeline; CloudFormation
    # accepts both.
    files = [str(pipeline.outdir / s.template_file) for s in pipeline.assembly.stacks]
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--format",
            "parseable",
            "--ignore-checks",
            "E3703",
            "W3005",
            "--",
            *files,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout == "" and result.returncode == 0, result.stdout + result.stderr


# --- snapshot --------------------------------------------------------------------------

BUILDSPEC_FILE = re.compile(r"buildspec-[0-9a-f]+-")


def test_pipeline_stack_snapshot(pipeline: Pipeline, snapshot):
    template = json.loads(BUILDSPEC_FILE.sub("buildspec-<hash>-", json.dumps(pipeline.template)))
    assert reviewable(template) == snapshot.use_extension(JSONSnapshotExtension)


# --- config ----------------------------------------------------------------------------


def errors_of(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(data, "teams.yaml")
    return str(err.value).splitlines()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"connection_arn": "arn:aws:codestar:eu-west-1:123456789012:x"},
            "teams.yaml: platform.pipeline.connection_arn: got 'arn:aws:codestar:eu-west-1:123456789012:x'; "
            "allowed: the ARN of an AWS CodeConnections connection "
            "(arn:aws:codeconnections:<region>:<account>:connection/<id>)",
        ),
        (
            {"repository": "acme"},
            "teams.yaml: platform.pipeline.repository: got 'acme'; allowed: 'owner/repository'",
        ),
        (
            {"account": "12345"},
            "teams.yaml: platform.pipeline.account: got '12345'; allowed: a 12-digit AWS account ID, quoted in YAML",
        ),
        (
            {"environments": []},
            "teams.yaml: platform.pipeline.environments: got []; allowed: List should have at least 1 item after validation, not 0",
        ),
        (
            {"environments": [ENVIRONMENTS[0], {**ENVIRONMENTS[1], "name": "dev"}]},
            "teams.yaml: platform.pipeline.environments: environment 'dev' is listed twice; allowed: unique environment names",
        ),
        (
            {"environments": [ENVIRONMENTS[0], {**ENVIRONMENTS[0], "name": "test"}]},
            "teams.yaml: platform.pipeline.environments: environments[1] (test) deploys to account "
            "111111111111 in eu-west-1 like environments[0]; allowed: one environment per account and "
            "Region (the platform's resource names, such as notebook names, are unique there)",
        ),
        (
            {"environments": [{**ENVIRONMENTS[0], "region": "Ireland"}]},
            "teams.yaml: platform.pipeline.environments[0].region: got 'Ireland'; allowed: an AWS Region such as eu-west-1",
        ),
        (
            {"environments": [{**ENVIRONMENTS[0], "name": "Dev"}]},
            "teams.yaml: platform.pipeline.environments[0].name: got 'Dev'; allowed: 1 to 20 lower-case "
            "letters, digits and single hyphens, starting with a letter, not ending with a hyphen",
        ),
        (
            {"enviroments": []},
            "teams.yaml: platform.pipeline.enviroments: unknown field (did you mean 'environments'?); "
            "allowed fields: connection_arn, repository, branch, account, region, environments",
        ),
    ],
)
def test_pipeline_field_errors_name_the_field(change: dict, expected: str):
    data = pipeline_config(**{**PIPELINE, **change})
    assert expected in errors_of(data)


def test_pipeline_and_platform_env_are_exclusive():
    data = pipeline_config()
    data["platform"]["env"] = {"account": "123456789012", "region": "eu-west-1"}
    assert errors_of(data) == [
        "teams.yaml: platform.pipeline: platform.env is set too; allowed: platform.env unset with "
        "a pipeline (each pipeline environment names its account and Region)"
    ]


def test_example_config_has_no_pipeline():
    assert yaml.safe_load(EXAMPLE_CONFIG.read_text())["platform"].get("pipeline") is None


def test_app_refuses_a_pipeline_config_outside_the_repository(tmp_path: Path):
    config = tmp_path / "platform.yaml"
    config.write_text(yaml.safe_dump(pipeline_config()))
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps({"config": str(config)})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: {config}: platform.pipeline: the config file is outside the repository; "
        "allowed: a file in the repository the pipeline checks out (its synth step reads it)"
    )
