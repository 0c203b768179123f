"""The example app (config/teams.yaml), synthesized once: lint, compliance, isolation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Synthesized

STATEFUL_TYPES = (
    "AWS::SageMaker::NotebookInstance",
    "AWS::KMS::Key",
    "AWS::S3::Bucket",
    "AWS::Logs::LogGroup",
    # Studio: the domain (and so its EFS home file system), the image repositories, and
    # lifecycle configs (kept when a content change replaces them under a new name).
    "AWS::SageMaker::Domain",
    "AWS::ECR::Repository",
    "AWS::SageMaker::StudioLifecycleConfig",
    # The package mirror's domain and repositories hold the cached packages.
    "AWS::CodeArtifact::Domain",
    "AWS::CodeArtifact::Repository",
)


def test_one_platform_template_and_one_per_team(example: Synthesized):
    names = sorted(p.name for p in example.template_files)
    assert names == [
        "sagemaker-platform.template.json",
        "sagemaker-studio.template.json",
        "sagemaker-team-forecasting.template.json",
        "sagemaker-team-fraud.template.json",
        "sagemaker-team-vision.template.json",
    ]


def test_one_notebook_per_member(example: Synthesized):
    expected = {"fraud": 3, "forecasting": 2, "vision": 2}
    for team, stack in example.built.teams.items():
        example.template(stack).resource_count_is(
            "AWS::SageMaker::NotebookInstance", expected[team]
        )


def test_cfn_lint_reports_nothing(example: Synthesized):
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--format",
            "parseable",
            *map(str, example.template_files),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout == "" and result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def nag_reports(example: Synthesized) -> dict[str, dict]:
    report = json.loads((example.outdir / "validation-report.json").read_text())
    return {r["pluginName"]: r for r in report["pluginReports"]}


@pytest.mark.parametrize(
    "pack", ["AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"]
)
def test_cdk_nag_pack_has_no_unsuppressed_findings(nag_reports, pack):
    assert nag_reports[pack]["conclusion"] == "success"
    assert nag_reports[pack]["violations"] == []


NAG_PACKS = ("AwsSolutions::", "HIPAA.Security::", "NIST.800.53.R5::", "PCI.DSS.321::")


def _acknowledgments(example: Synthesized) -> list[tuple[str, str, str]]:
    """cdk-nag acknowledgments (path, rule, reason); aws-cdk-lib's own ones are left out."""
    found = []
    for meta in example.outdir.glob("*.metadata.json"):
        for path, entries in json.loads(meta.read_text()).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    found += [
                        (path, rule, reason)
                        for rule, reason in entry["data"].items()
                        if rule.startswith(NAG_PACKS)
                    ]
    return found


def test_suppressions_are_scoped_reasoned_and_never_sm1_to_sm3(example: Synthesized, nag_reports):
    acks = _acknowledgments(example)
    assert acks, "expected the scoped IAM5 acknowledgments of the notebook policies"
    for path, rule, reason in acks:
        assert path.count("/") >= 2, f"{rule} acknowledged on a whole stack or app: {path}"
        assert not re.search(r"AwsSolutions-SM[123]\b", rule), rule
        if "IAM5" in rule:
            assert re.search(r"IAM5\[(Resource|Action)::", rule), (
                f"IAM5 acknowledged without applies_to: {rule}"
            )
        assert len(reason) >= 60, f"reason too thin for {rule} at {path}: {reason!r}"
    suppressed = {
        v["ruleName"] for r in nag_reports.values() for v in r.get("suppressedViolations", [])
    }
    assert not any(re.match(r"AwsSolutions-SM[123]\b", r) for r in suppressed)
    # Every acknowledgment matches a real finding: none is stale.
    assert {rule.split("::", 1)[1] for _, rule, _ in acks} == suppressed


def test_every_stateful_resource_is_retained(example: Synthesized):
    seen = set()
    for path in example.template_files:
        for logical_id, res in json.loads(path.read_text())["Resources"].items():
            if res["Type"] in STATEFUL_TYPES:
                seen.add(res["Type"])
                assert res.get("DeletionPolicy") == "Retain", f"{path.name} {logical_id}"
                assert res.get("UpdateReplacePolicy") == "Retain", f"{path.name} {logical_id}"
    assert seen == set(STATEFUL_TYPES)


def _policy_documents(template: dict) -> list[dict]:
    docs = []
    for res in template["Resources"].values():
        props = res.get("Properties", {})
        if res["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            docs.append(props["PolicyDocument"])
        elif res["Type"] == "AWS::IAM::Role":
            docs += [p["PolicyDocument"] for p in props.get("Policies", [])]
    return docs


def _references(value) -> set[str]:
    """Logical IDs referenced by Ref / Fn::GetAtt anywhere in ``value``."""
    refs: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and not str(value["Ref"]).startswith("AWS::"):
            refs.add(value["Ref"])
        if "Fn::GetAtt" in value:
            refs.add(value["Fn::GetAtt"][0])
        for v in value.values():
            refs |= _references(v)
    elif isinstance(value, list):
        for v in value:
            refs |= _references(v)
    return refs


def _stack_outputs(value) -> set[str]:
    """Stacks whose outputs ``value`` reads (Fn::GetStackOutput / Fn::ImportValue)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Fn::GetStackOutput" in value:
            found.add(value["Fn::GetStackOutput"]["StackName"])
        if "Fn::ImportValue" in value:
            found.add(json.dumps(value["Fn::ImportValue"]))
        for v in value.values():
            found |= _stack_outputs(v)
    elif isinstance(value, list):
        for v in value:
            found |= _stack_outputs(v)
    return found


def test_team_policies_name_only_their_own_resources(example: Synthesized):
    teams = example.built.teams
    studio = example.built.studio
    assert studio is not None
    for team, stack in teams.items():
        template = example.template_json(stack.artifact_id)
        docs = _policy_documents(template)
        assert docs
        text = json.dumps(docs)
        # Only resources of this stack are referenced, and outputs of the shared stacks
        # only (the domain's ID, ARN and key in the Studio role's policy; the platform's
        # subnets in the permissions boundary) ...
        assert _references(docs) <= set(template["Resources"])
        assert _stack_outputs(docs) <= {studio.stack_name, example.built.platform.stack_name}
        assert "Fn::ImportValue" not in text
        # ... and no literal ARN or name of another team's notebooks, key or stack.
        for other in teams:
            if other != team:
                assert not re.search(rf"[/:\"]{re.escape(other)}-", text), f"{team} names {other}"
                assert teams[other].artifact_id not in text
        # The team's own bucket and key are what its data policy names.
        own = _references(docs)
        assert any(i.startswith("DataBucket") for i in own) and any(
            i.startswith("Key") for i in own
        )


def test_notebook_roles_carry_the_team_data_policy_and_their_own(example: Synthesized):
    for stack in example.built.teams.values():
        template = example.template_json(stack.artifact_id)
        # Execution roles (notebooks, Studio); an image's pull role and the office-hours
        # scheduler role have no data access.
        roles = {
            k
            for k, r in template["Resources"].items()
            if r["Type"] == "AWS::IAM::Role" and not k.startswith(("StudioImage", "OfficeHours"))
        }
        policies = [
            r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"
        ]
        for role in roles:
            attached = [p for p in policies if {"Ref": role} in p["Properties"].get("Roles", [])]
            assert len(attached) == 2, role  # its own policy + the team's data policy


def test_team_lifecycle_configs_are_composed_from_their_setup(example: Synthesized):
    import base64

    from sagemaker_constructs.setup.notebook_setup import unbundle

    def scripts(team: str) -> dict[str, str]:
        template = example.template_json(example.built.teams[team].artifact_id)
        (lc,) = [
            r
            for r in template["Resources"].values()
            if r["Type"] == "AWS::SageMaker::NotebookInstanceLifecycleConfig"
        ]
        return {
            k: content(v[0]["Content"]) for k, v in lc["Properties"].items() if k.startswith("On")
        }

    def content(value: str | dict) -> str:
        if isinstance(value, str):
            return base64.b64decode(value).decode()
        # Over the 16 KB limit: the script is an S3 asset that the inline part fetches; read
        # the asset the synthesis staged (its object key is "<hash>.sh").
        parts = json.dumps(value)
        (key,) = set(re.findall(r"([0-9a-f]{64}\.sh)", parts))
        return (example.outdir / f"asset.{key}").read_text()

    fraud = scripts("fraud")
    assert "smc_run_step conda-environments detached" in fraud["OnCreate"]
    assert (
        "export SMC_PIP_PACKAGES='pandas==2.2.3 scikit-learn==1.5.2 xgboost==2.1.3'"
        in fraud["OnCreate"]
    )
    assert "smc_run_step register-kernels foreground" in fraud["OnStart"]
    assert "AUTOSTOP_IDLE_MINUTES=60" in fraud["OnStart"]
    assert set(unbundle(fraud["OnStart"])) >= {
        "register_kernels.sh",
        "idle_autostop.py",
        "install_autostop.sh",
    }
    forecasting = scripts("forecasting")
    assert "OnCreate" in forecasting  # the package index is set up on create too
    assert "smc_run_step packages detached true" in forecasting["OnStart"]
    assert "AUTOSTOP_IGNORE_CONNECTIONS=true" in forecasting["OnStart"]
    vision = scripts("vision")
    assert "SMC_CHECK_URL=https://pypi.org/simple/" in vision["OnStart"]


def test_autostop_role_may_stop_only_its_own_notebook(example: Synthesized):
    template = example.template_json(example.built.teams["fraud"].artifact_id)
    for logical_id, res in template["Resources"].items():
        if res["Type"] != "AWS::IAM::ManagedPolicy" or not logical_id.startswith("Notebook"):
            continue
        (stop,) = [
            s
            for s in res["Properties"]["PolicyDocument"]["Statement"]
            if s.get("Sid") == "StopItselfWhenIdle"
        ]
        user = logical_id.removeprefix("Notebook").split("Policy")[0]
        assert f"notebook-instance/fraud-{user}" in json.dumps(stop["Resource"])


# --- Studio ---------------------------------------------------------------------------


def _resources(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def test_studio_domain_is_vpc_only_in_the_platform_network(example: Synthesized):
    studio = example.built.studio
    assert studio is not None
    template = example.template_json(studio.artifact_id)
    (domain,) = _resources(template, "AWS::SageMaker::Domain").values()
    props = domain["Properties"]
    assert props["AppNetworkAccessType"] == "VpcOnly"
    assert props["AuthMode"] == "IAM"
    assert props["DomainName"] == "sagemaker-studio"
    assert props["KmsKeyId"]["Fn::GetAtt"][0].startswith("DomainKey")
    assert domain["DeletionPolicy"] == domain["UpdateReplacePolicy"] == "Retain"
    settings = props["DefaultUserSettings"]
    (group,) = settings["SecurityGroups"]
    assert "NetworkStudioSecurityGroup" in group["Fn::GetStackOutput"]["OutputName"]
    assert settings["SpaceStorageSettings"]["DefaultEbsStorageSettings"] == {
        "DefaultEbsVolumeSizeInGb": 10,
        "MaximumEbsVolumeSizeInGb": 100,
    }
    assert settings["SharingSettings"] == {"NotebookOutputOption": "Disabled"}
    platform = example.template_json(example.built.platform.artifact_id)
    endpoints = json.dumps(_resources(platform, "AWS::EC2::VPCEndpoint"))
    assert ".studio" in endpoints
    (log_group,) = _resources(template, "AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["LogGroupName"] == "/aws/sagemaker/studio"


def test_studio_jupyterlab_lifecycle_config_is_the_default(example: Synthesized):
    import base64

    template = example.template_json(example.built.studio.artifact_id)
    configs = {
        r["Properties"]["StudioLifecycleConfigAppType"]: r["Properties"]
        for r in _resources(template, "AWS::SageMaker::StudioLifecycleConfig").values()
    }
    assert set(configs) == {"JupyterLab", "CodeEditor"}
    jupyter = configs["JupyterLab"]
    name = jupyter["StudioLifecycleConfigName"]
    assert re.fullmatch(r"sagemaker-jupyterlab-[0-9a-f]{12}", name)
    (domain,) = _resources(template, "AWS::SageMaker::Domain").values()
    settings = domain["Properties"]["DefaultUserSettings"]["JupyterLabAppSettings"]
    assert f":studio-lifecycle-config/{name}" in json.dumps(settings["DefaultResourceSpec"])
    assert len(settings["LifecycleConfigArns"]) == 1
    assert settings["AppLifecycleManagement"] == {
        "IdleSettings": {"IdleTimeoutInMinutes": 60, "LifecycleManagement": "ENABLED"}
    }
    script = base64.b64decode(jupyter["StudioLifecycleConfigContent"]).decode()
    assert "export SMC_CODEARTIFACT_DOMAIN=sagemaker-platform" in script
    assert "SMC_CHECK_URL=https://pypi.org/simple/" in script


def test_a_studio_user_profile_per_listed_person(example: Synthesized):
    profiles = {}
    for team, stack in example.built.teams.items():
        template = example.template_json(stack.artifact_id)
        for profile in _resources(template, "AWS::SageMaker::UserProfile").values():
            profiles[profile["Properties"]["UserProfileName"]] = (team, profile)
    assert sorted(profiles) == ["forecasting-dave", "forecasting-erin", "forecasting-fatima"]
    template = example.template_json(example.built.teams["forecasting"].artifact_id)
    (role_id,) = [k for k in _resources(template, "AWS::IAM::Role") if k.startswith("StudioRole")]
    for user, (_, profile) in profiles.items():
        props = profile["Properties"]
        assert props["UserSettings"]["ExecutionRole"] == {"Fn::GetAtt": [role_id, "Arn"]}
        assert {"Key": "team", "Value": "forecasting"} in props["Tags"]
        assert {"Key": "owner", "Value": user.removeprefix("forecasting-")} in props["Tags"]


def test_team_custom_image_is_attached_to_its_profiles(example: Synthesized):
    template = example.template_json(example.built.teams["forecasting"].artifact_id)
    (repository,) = _resources(template, "AWS::ECR::Repository").values()
    assert repository["Properties"]["RepositoryName"] == "sagemaker/forecasting/prophet"
    assert repository["Properties"]["ImageTagMutability"] == "IMMUTABLE"
    assert repository["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert repository["Properties"]["EncryptionConfiguration"]["KmsKey"]["Fn::GetAtt"][
        0
    ].startswith("Key")  # the team's key
    (config,) = _resources(template, "AWS::SageMaker::AppImageConfig").values()
    assert config["Properties"]["AppImageConfigName"] == "forecasting-prophet"
    (version,) = _resources(template, "AWS::SageMaker::ImageVersion").values()
    assert ":2025.06.1" in json.dumps(version["Properties"]["BaseImage"])
    for profile in _resources(template, "AWS::SageMaker::UserProfile").values():
        jupyter = profile["Properties"]["UserSettings"]["JupyterLabAppSettings"]
        assert jupyter["CustomImages"] == [
            {"AppImageConfigName": "forecasting-prophet", "ImageName": "forecasting-prophet"}
        ]
        assert "sagemaker-jupyterlab-" in json.dumps(jupyter["DefaultResourceSpec"])


def test_team_studio_role_is_least_privilege_with_the_team_data_policy(example: Synthesized):
    stack = example.built.teams["forecasting"]
    template = example.template_json(stack.artifact_id)
    (role_id, role), *_ = [
        (k, r)
        for k, r in _resources(template, "AWS::IAM::Role").items()
        if k.startswith("StudioRole")
    ]
    assert "ManagedPolicyArns" not in role["Properties"] and "Policies" not in role["Properties"]
    attached = {
        k: p
        for k, p in _resources(template, "AWS::IAM::ManagedPolicy").items()
        if {"Ref": role_id} in p["Properties"].get("Roles", [])
    }
    assert sorted(k.rstrip("0123456789ABCDEF") for k in attached) == [
        "DataAccessPolicy",
        "StudioPolicy",
    ]
    for policy in attached.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            assert all("*" not in a for a in actions), statement
    # Teams without a studio section get no Studio role.
    fraud = example.template_json(example.built.teams["fraud"].artifact_id)
    assert not [k for k in fraud["Resources"] if k.startswith("Studio")]


def _allows_everyone_unconditionally(statement: dict) -> bool:
    everyone = statement.get("Principal") in ("*", {"AWS": "*"})
    bound = {
        key
        for operator in statement.get("Condition", {}).values()
        for key in operator
        if key in ("aws:PrincipalAccount", "aws:PrincipalOrgID")
    }
    return statement["Effect"] == "Allow" and everyone and not bound


def test_every_vpc_endpoint_has_a_policy_bound_to_the_account(example: Synthesized):
    endpoints = [
        (path.name, name, resource)
        for path in example.template_files
        for name, resource in json.loads(path.read_text())["Resources"].items()
        if resource["Type"] == "AWS::EC2::VPCEndpoint"
    ]
    assert len(endpoints) >= 9  # six notebook, studio, two CodeArtifact, the S3 gateway
    for template, name, resource in endpoints:
        doc = resource["Properties"].get("PolicyDocument")
        assert doc and doc["Statement"], (template, name)
        for statement in doc["Statement"]:
            assert not _allows_everyone_unconditionally(statement), (template, name, statement)


def test_no_security_group_sends_to_the_whole_internet(example: Synthesized):
    rules = []
    for path in example.template_files:
        for name, resource in json.loads(path.read_text())["Resources"].items():
            if resource["Type"] == "AWS::EC2::SecurityGroupEgress":
                rules.append((path.name, name, resource["Properties"]))
            if resource["Type"] == "AWS::EC2::SecurityGroup":
                rules += [
                    (path.name, name, r)
                    for r in resource["Properties"].get("SecurityGroupEgress", [])
                ]
    assert rules
    for template, name, rule in rules:
        assert rule.get("CidrIp") != "0.0.0.0/0", (template, name, rule)
        assert rule.get("CidrIpv6") != "::/0", (template, name, rule)


def test_the_endpoint_policy_check_catches_an_unbound_statement():
    # Negative control for the check above: CDK's default full-access policy fails it.
    assert _allows_everyone_unconditionally({"Effect": "Allow", "Principal": "*"})
    assert _allows_everyone_unconditionally(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Condition": {"Bool": {"x": "y"}}}
    )
    assert not _allows_everyone_unconditionally(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}},
        }
    )
