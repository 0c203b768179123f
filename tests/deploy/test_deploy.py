"""Deploy smoke test: the pinned CDK CLI deploys the example app to a real moto server.

The way a platform engineer does it, from the repository root with ``cdk.json``'s app:

1. ``cdk bootstrap aws://123456789012/us-east-1``
2. ``cdk deploy --all --require-approval never``      (config/teams.yaml)
3. ``cdk deploy --all --require-approval never --method=direct -c config=CHANGED`` where
   CHANGED raises one notebook's volume and adds a user to another team (moto needs
   ``--method=direct`` for updates: it does not run update change sets faithfully).

The endpoint is a moto server on 127.0.0.1 (``AWS_ENDPOINT_URL=http://localhost:PORT``),
started by moto_launcher.py with fixes for moto bugs that made the deploy crash or silently
lose state (see its docstring). After each deploy the test reads back, with DescribeStacks
and the services' own APIs, what moto really models: stack statuses and outputs, every
resource of every template, the notebooks, lifecycle configs, keys, buckets, the network,
the log group and the published assets. What moto ignores (most notebook properties,
bucket policies, CodeArtifact, ...) is checked on the synthesized templates, here for the
config change and in the other tests for everything else. Any traceback or HTTP 5xx in
moto's log, or a resource type moto skipped that is not known to be unmodeled, fails the
test, so a silent failure inside moto cannot pass.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagemaker_constructs.review import review
from stacks import PlatformConfig, load_config
from tests.conftest import EXAMPLE_CONFIG, ROOT
from tests.deploy.conftest import DeployMoto

CDK = ROOT / "node_modules" / ".bin" / "cdk"
ACCOUNT = "123456789012"
REGION = "us-east-1"
BOOTSTRAP_TIMEOUT = 180
DEPLOY_TIMEOUT = 300

pytestmark = [
    pytest.mark.deploy,
    pytest.mark.skipif(
        not CDK.exists() and not os.environ.get("CI"),
        reason="node_modules missing: run `make test`",
    ),
]

# Resource types moto's CloudFormation does not model: it logs "No Moto CloudFormation
# support for <type>", skips the resource and completes the stack (a GetAtt of one resolves
# to a placeholder, see moto_launcher.py). Their properties are checked on the templates by
# the other tests. Any other type moto skips fails this test.
MOTO_UNMODELED = frozenset(
    {
        "AWS::CodeArtifact::Domain",
        "AWS::CodeArtifact::Repository",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::S3::BucketPolicy",
        # Studio: nothing of it is modeled.
        "AWS::SageMaker::AppImageConfig",
        "AWS::SageMaker::Domain",
        "AWS::SageMaker::Image",
        "AWS::SageMaker::ImageVersion",
        "AWS::SageMaker::Space",
        "AWS::SageMaker::StudioLifecycleConfig",
        "AWS::SageMaker::UserProfile",
        # Cost controls: created through their services' APIs instead, from the
        # templates' own properties (tests/cost/test_cost_moto.py).
        "AWS::Budgets::Budget",
        "AWS::CloudWatch::Alarm",
        "AWS::Logs::MetricFilter",
        "AWS::Scheduler::Schedule",
        "AWS::SNS::Subscription",
        "AWS::SNS::TopicPolicy",
    }
)
COMPLETE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})
# A request that crashed inside moto: werkzeug's traceback, or a 5xx in the request log.
CRASH = re.compile(r'Traceback \(most recent call last\)|Error on request|" 5\d\d ')
UNMODELED = re.compile(r"No Moto CloudFormation support for (\S+)")


# --- running the CLI ------------------------------------------------------------------------


def cdk(moto: DeployMoto, *args: str, timeout: float) -> str:
    """Run the pinned CLI from the repository root against moto; return its output."""
    env = {
        **moto.server.env,  # endpoint, dummy credentials, no retries, no proxies, no profile
        "AWS_REGION": REGION,
        "CDK_DISABLE_VERSION_CHECK": "true",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "20",
    }
    command = [str(CDK), *args, "--no-notices"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the app and jsii die with it
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"`cdk {' '.join(args)}` timed out after {timeout} s:\n{output[-6000:]}")
    assert process.returncode == 0, (
        f"`cdk {' '.join(args)}` exited {process.returncode}:\n{output[-6000:]}"
    )
    return output


def assert_moto_log_clean(moto: DeployMoto) -> None:
    log = moto.log()
    lines = log.splitlines()
    crashes = [i for i, line in enumerate(lines) if CRASH.search(line)]
    if crashes:
        first = crashes[0]
        context = "\n".join(lines[max(0, first - 2) : first + 60])
        pytest.fail(f"{len(crashes)} request(s) crashed inside moto; the first:\n{context}")
    skipped = set(UNMODELED.findall(log)) - MOTO_UNMODELED
    assert not skipped, f"moto skipped resource types it does not model: {sorted(skipped)}"


# --- reading a deployment back ---------------------------------------------------------------


class Deployment:
    """The templates the CLI synthesized (its ``-o`` directory) and what moto holds."""

    def __init__(self, moto: DeployMoto, outdir: Path) -> None:
        self.outdir = outdir
        self.templates = {
            p.name.removesuffix(".template.json"): json.loads(p.read_text())
            for p in sorted(outdir.glob("*.template.json"))
        }
        self.cfn = moto.server.client("cloudformation")
        self.sagemaker = moto.server.client("sagemaker")
        self.kms = moto.server.client("kms")
        self.s3 = moto.server.client("s3")
        self.ec2 = moto.server.client("ec2")
        self.iam = moto.server.client("iam")
        self.logs = moto.server.client("logs")
        self.stacks = {s["StackName"]: s for s in self.cfn.describe_stacks()["Stacks"]}
        self.resources = {name: self._stack_resources(name) for name in self.templates}

    def _stack_resources(self, stack: str) -> dict[str, dict]:
        paginator = self.cfn.get_paginator("list_stack_resources")
        summaries = [
            r
            for page in paginator.paginate(StackName=stack)
            for r in page["StackResourceSummaries"]
        ]
        # moto lists the resources it skipped (unmodeled types) as one blank entry.
        return {r["LogicalResourceId"]: r for r in summaries if r["LogicalResourceId"]}

    def of_type(self, stack: str, resource_type: str) -> dict[str, dict]:
        """Logical id -> properties of the template's resources of one type."""
        return {
            logical: resource.get("Properties", {})
            for logical, resource in self.templates[stack]["Resources"].items()
            if resource["Type"] == resource_type
        }

    def physical(self, stack: str, logical: str) -> str:
        return self.resources[stack][logical]["PhysicalResourceId"]

    def outputs(self, stack: str) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.stacks[stack].get("Outputs", [])}

    def resolve(self, stack: str, value: Any) -> Any:
        """The few intrinsics the checks need (as moto resolves them); None for others."""
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}

        def ref(name: str) -> str | None:
            return pseudo.get(name) or self.resources[stack].get(name, {}).get("PhysicalResourceId")

        if isinstance(value, str):
            return value
        if not isinstance(value, dict) or len(value) != 1:
            return None
        ((function, argument),) = value.items()
        if function == "Ref":
            return ref(argument)
        if function == "Fn::Join":
            separator, parts = argument
            resolved = [self.resolve(stack, part) for part in parts]
            return None if None in resolved else separator.join(resolved)
        if function == "Fn::Base64":
            resolved = self.resolve(stack, argument)
            return None if resolved is None else base64.b64encode(resolved.encode()).decode()
        if function == "Fn::Sub" and isinstance(argument, str):
            names = re.findall(r"\$\{([^}!]+)\}", argument)
            values = {name: ref(name) for name in names}
            if None in values.values():
                return None
            return re.sub(r"\$\{([^}!]+)\}", lambda m: values[m.group(1)], argument)
        if function == "Fn::GetStackOutput":  # resolved by moto_launcher.py's fix 7
            producer = self.stacks.get(argument["StackName"], {})
            outputs = {o["OutputKey"]: o["OutputValue"] for o in producer.get("Outputs", [])}
            return outputs.get(argument["OutputName"])
        if function == "Fn::GetAtt" and argument[1] == "GroupId":
            return ref(argument[0])  # a security group's physical id is its group id
        if function == "Fn::GetAtt" and argument[1] == "Arn":
            resource = self.templates[stack]["Resources"].get(argument[0], {})
            if resource.get("Type") == "AWS::KMS::Key":  # e.g. in a home backup's scripts
                return self.key_arn(stack, value)
        return None

    def key_arn(self, stack: str, value: Any) -> str:
        """The ARN of the key a ``{"Fn::GetAtt": [key, "Arn"]}`` names."""
        logical, attribute = value["Fn::GetAtt"]
        assert attribute == "Arn", value
        key_id = self.physical(stack, logical)
        return self.kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]


def tags(template_tags: list[dict]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in template_tags}


def name_from_arn(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


# --- checks on a deployment -------------------------------------------------------------------


def check_every_resource(d: Deployment) -> None:
    """Every resource of every template is in its stack, complete, unless moto skips its type."""
    for stack, template in d.templates.items():
        listed = d.resources[stack]
        for logical, resource in template["Resources"].items():
            if resource["Type"] in MOTO_UNMODELED:
                continue
            assert logical in listed, f"{stack}: {logical} ({resource['Type']}) was not created"
            summary = listed[logical]
            assert summary["ResourceType"] == resource["Type"], summary
            assert summary["ResourceStatus"] in COMPLETE, summary
        assert set(listed) <= set(template["Resources"]), f"{stack}: resources not in the template"


def check_outputs(d: Deployment) -> None:
    """Each stack reports its template's outputs, with the values of what was deployed."""
    for stack, template in d.templates.items():
        outputs = d.outputs(stack)
        assert set(outputs) == set(template.get("Outputs", {})), stack
        for key, output in template.get("Outputs", {}).items():
            expected = d.resolve(stack, output["Value"])
            if expected is not None:
                assert outputs[key] == expected, f"{stack} output {key}"


def cross_stack_references(value: Any) -> list[dict]:
    if isinstance(value, dict):
        if "Fn::GetStackOutput" in value:
            return [value["Fn::GetStackOutput"]]
        return [ref for v in value.values() for ref in cross_stack_references(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in cross_stack_references(v)]
    return []


def check_cross_stack_references(d: Deployment) -> None:
    """Every output a stack reads from another stack (``Fn::GetStackOutput``) is there."""
    for stack, template in d.templates.items():
        for ref in cross_stack_references(template["Resources"]):
            producer, output = ref["StackName"], ref["OutputName"]
            assert producer in d.stacks, f"{stack} reads an output of {producer}: not deployed"
            assert output in d.outputs(producer), f"{stack} reads {producer}'s {output}: missing"
            assert producer in d.templates, f"{stack} reads {producer}, not of this app"


def check_notebooks(d: Deployment, config: PlatformConfig) -> None:
    """One notebook per user of the config, each InService with its type and role.

    moto names a notebook created by CloudFormation after the stack and logical id (it
    ignores NotebookInstanceName, like volume, key, subnet and lifecycle config), so each is
    found by its physical id; the name is checked on the template and the stack's outputs.
    """
    expected = {team.notebook_name(nb) for team in config.teams for nb in team.notebooks}
    found: set[str] = set()
    moto_names: set[str] = set()
    for stack in d.templates:
        for logical, props in d.of_type(stack, "AWS::SageMaker::NotebookInstance").items():
            name = props["NotebookInstanceName"]
            found.add(name)
            assert name in d.outputs(stack).values(), f"{stack} does not report notebook {name}"
            moto_name = name_from_arn(d.physical(stack, logical))
            moto_names.add(moto_name)
            notebook = d.sagemaker.describe_notebook_instance(NotebookInstanceName=moto_name)
            assert notebook["NotebookInstanceStatus"] == "InService", (name, notebook)
            assert notebook["InstanceType"] == props["InstanceType"], name
            role_logical, _ = props["RoleArn"]["Fn::GetAtt"]
            role = d.iam.get_role(RoleName=d.physical(stack, role_logical))["Role"]
            assert notebook["RoleArn"] == role["Arn"], name
    assert found == expected
    listed = d.sagemaker.list_notebook_instances(MaxResults=100)["NotebookInstances"]
    assert {n["NotebookInstanceName"] for n in listed} == moto_names, "extra or missing notebooks"


def check_roles(d: Deployment, not_updated: set[tuple[str, str]]) -> None:
    """Every managed policy is attached to the roles its template names.

    ``not_updated``: (stack, logical id) of policies changed by an update, which moto does
    not apply (see moto_launcher.py, fix 5); their roles are checked on the template.
    """
    for stack in d.templates:
        for logical, props in d.of_type(stack, "AWS::IAM::ManagedPolicy").items():
            if (stack, logical) in not_updated:
                continue
            policy_arn = d.physical(stack, logical)
            for role_ref in props.get("Roles", []):
                role = d.resolve(stack, role_ref)
                attached = d.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
                assert policy_arn in {p["PolicyArn"] for p in attached}, (stack, logical, role)


def check_lifecycle_configs(d: Deployment) -> None:
    """Each lifecycle config holds exactly the template's scripts."""
    for stack in d.templates:
        resource_type = "AWS::SageMaker::NotebookInstanceLifecycleConfig"
        for logical, props in d.of_type(stack, resource_type).items():
            config = d.sagemaker.describe_notebook_instance_lifecycle_config(
                NotebookInstanceLifecycleConfigName=name_from_arn(d.physical(stack, logical))
            )
            for hook in ("OnCreate", "OnStart"):
                expected = [
                    {"Content": d.resolve(stack, script["Content"])}
                    for script in props.get(hook, [])
                ]
                assert config.get(hook, []) == expected, (stack, logical, hook)


def check_keys(d: Deployment) -> None:
    """Each key is enabled, rotates as its template says, carries its tags and aliases."""
    for stack in d.templates:
        for logical, props in d.of_type(stack, "AWS::KMS::Key").items():
            key_id = d.physical(stack, logical)
            metadata = d.kms.describe_key(KeyId=key_id)["KeyMetadata"]
            assert metadata["Enabled"] and metadata["KeyState"] == "Enabled", metadata
            rotation = d.kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
            assert rotation == props.get("EnableKeyRotation", False), (stack, logical)
            moto_tags = d.kms.list_resource_tags(KeyId=key_id)["Tags"]
            assert {t["TagKey"]: t["TagValue"] for t in moto_tags} == tags(props.get("Tags", []))
        for logical, props in d.of_type(stack, "AWS::KMS::Alias").items():
            target = d.key_arn(stack, props["TargetKeyId"])
            aliases = {a["AliasName"]: a for a in d.kms.list_aliases()["Aliases"]}
            assert props["AliasName"] in aliases, (stack, logical)
            assert target.endswith("/" + aliases[props["AliasName"]]["TargetKeyId"]), logical


def check_buckets(d: Deployment) -> None:
    """Each bucket exists, encrypted with its template's key, with its tags."""
    for stack in d.templates:
        for logical, props in d.of_type(stack, "AWS::S3::Bucket").items():
            bucket = d.physical(stack, logical)
            d.s3.head_bucket(Bucket=bucket)
            for rule in props.get("BucketEncryption", {}).get(
                "ServerSideEncryptionConfiguration", []
            ):
                default = rule["ServerSideEncryptionByDefault"]
                encryption = d.s3.get_bucket_encryption(Bucket=bucket)
                moto_default = encryption["ServerSideEncryptionConfiguration"]["Rules"][0][
                    "ApplyServerSideEncryptionByDefault"
                ]
                assert moto_default["SSEAlgorithm"] == default["SSEAlgorithm"], bucket
                if "KMSMasterKeyID" in default:
                    key_arn = d.key_arn(stack, default["KMSMasterKeyID"])
                    assert moto_default["KMSMasterKeyID"] == key_arn, bucket
            if props.get("Tags"):
                moto_tags = d.s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
                assert tags(moto_tags) == tags(props["Tags"]), bucket


def check_network(d: Deployment, config: PlatformConfig, platform: str) -> None:
    """The VPC of the config, its isolated subnets, endpoints and flow log; no way out."""
    ((vpc_logical, vpc_props),) = d.of_type(platform, "AWS::EC2::VPC").items()
    vpc_id = d.physical(platform, vpc_logical)
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    (vpc,) = d.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpc["CidrBlock"] == config.platform.network.cidr == vpc_props["CidrBlock"]

    subnets = d.ec2.describe_subnets(Filters=in_vpc)["Subnets"]
    template_subnets = d.of_type(platform, "AWS::EC2::Subnet")
    assert {s["SubnetId"] for s in subnets} == {d.physical(platform, s) for s in template_subnets}
    assert len(subnets) == config.platform.network.max_azs
    assert not any(s["MapPublicIpOnLaunch"] for s in subnets)

    attached = [{"Name": "attachment.vpc-id", "Values": [vpc_id]}]
    assert d.ec2.describe_internet_gateways(Filters=attached)["InternetGateways"] == []
    nat_gateways = d.ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"]
    assert [n for n in nat_gateways if n["State"] != "deleted"] == []
    for table in d.ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]:
        for route in table["Routes"]:
            destination = route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock")
            assert destination not in ("0.0.0.0/0", "::/0"), (table["RouteTableId"], route)

    endpoints = d.ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]
    template_endpoints = d.of_type(platform, "AWS::EC2::VPCEndpoint")
    expected = sorted(d.resolve(platform, e["ServiceName"]) for e in template_endpoints.values())
    assert sorted(e["ServiceName"] for e in endpoints) == expected
    assert all(e["State"] == "available" for e in endpoints)

    flow_logs = d.ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])
    assert len(flow_logs["FlowLogs"]) == len(d.of_type(platform, "AWS::EC2::FlowLog")) >= 1


def check_log_group(d: Deployment, config: PlatformConfig) -> None:
    name = "/aws/sagemaker/NotebookInstances"
    groups = d.logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [
        (name, config.platform.log_retention_days)
    ]


def check_assets(d: Deployment) -> None:
    """Every file asset (templates, Lambda code) was published to the bootstrap bucket."""
    placeholders = {"${AWS::AccountId}": ACCOUNT, "${AWS::Region}": REGION}
    for manifest in d.outdir.glob("*.assets.json"):
        for asset in json.loads(manifest.read_text())["files"].values():
            for destination in asset["destinations"].values():
                bucket = destination["bucketName"]
                for placeholder, value in placeholders.items():
                    bucket = bucket.replace(placeholder, value)
                d.s3.head_object(Bucket=bucket, Key=destination["objectKey"])


def check_deployment(d: Deployment, config: PlatformConfig, not_updated=frozenset()) -> None:
    platform = f"{config.platform.prefix}-platform"
    expected = {platform} | {f"{config.platform.prefix}-team-{t.name}" for t in config.teams}
    if getattr(config.platform, "studio", None) is not None:
        expected.add(f"{config.platform.prefix}-studio")
    assert set(d.templates) == expected
    assert set(d.stacks) == expected | {"CDKToolkit"}
    check_every_resource(d)
    check_outputs(d)
    check_cross_stack_references(d)
    check_notebooks(d, config)
    check_roles(d, set(not_updated))
    check_lifecycle_configs(d)
    check_keys(d)
    check_buckets(d)
    check_network(d, config, platform)
    check_log_group(d, config)
    check_assets(d)


# --- the config change ---------------------------------------------------------------------

NEW_USER = "smoke"
VOLUME_INCREASE_GIB = 10


def changed_config(path: Path) -> tuple[Path, dict]:
    """The example config with the first team's first notebook bigger and a user added to
    the second team (the first if there is one team); writes it to ``path``."""
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    original = load_config(EXAMPLE_CONFIG)
    changed = copy.deepcopy(data)
    resized_team, resized = original.teams[0], original.teams[0].notebooks[0]
    volume = resized_team.resolved(resized).volume_size_gib + VOLUME_INCREASE_GIB
    changed["teams"][0]["notebooks"][0]["volume_size_gib"] = volume
    grown = 1 if len(changed["teams"]) > 1 else 0
    changed["teams"][grown]["notebooks"].append({"user": NEW_USER})
    path.write_text(yaml.safe_dump(changed, sort_keys=False))
    facts = {
        "resized_team": resized_team.name,
        "resized_notebook": resized_team.notebook_name(resized),
        "old_volume": volume - VOLUME_INCREASE_GIB,
        "new_volume": volume,
        "grown_team": original.teams[grown].name,
        "new_notebook": f"{original.teams[grown].name}-{NEW_USER}",
    }
    return path, facts


def notebook_props(d: Deployment, stack: str, name: str) -> dict:
    (props,) = [
        p
        for p in d.of_type(stack, "AWS::SageMaker::NotebookInstance").values()
        if p["NotebookInstanceName"] == name
    ]
    return props


def changed_resources(before: Deployment, after: Deployment) -> set[tuple[str, str]]:
    changed = set()
    for stack, template in after.templates.items():
        old = before.templates.get(stack, {"Resources": {}})["Resources"]
        for logical, resource in template["Resources"].items():
            if logical in old and old[logical] != resource:
                changed.add((stack, logical))
    return changed


# --- the test ------------------------------------------------------------------------------


def test_bootstrap_deploy_and_update_the_example_app(deploy_moto: DeployMoto, tmp_path: Path):
    moto = deploy_moto
    config = load_config(EXAMPLE_CONFIG)
    prefix = config.platform.prefix

    cdk(
        moto,
        "bootstrap",
        f"aws://{ACCOUNT}/{REGION}",
        "-o",
        str(tmp_path / "bootstrap.out"),
        timeout=BOOTSTRAP_TIMEOUT,
    )
    cfn = moto.server.client("cloudformation")
    (toolkit,) = cfn.describe_stacks(StackName="CDKToolkit")["Stacks"]
    assert toolkit["StackStatus"] == "CREATE_COMPLETE"
    assert_moto_log_clean(moto)

    # First deploy: the example config, as is.
    out1 = tmp_path / "deploy1.out"
    cdk(
        moto,
        "deploy",
        "--all",
        "--require-approval",
        "never",
        "-o",
        str(out1),
        timeout=DEPLOY_TIMEOUT,
    )
    assert_moto_log_clean(moto)
    first = Deployment(moto, out1)
    assert {name: first.stacks[name]["StackStatus"] for name in first.templates} == {
        name: "CREATE_COMPLETE" for name in first.templates
    }
    check_deployment(first, config)

    # Second deploy: a bigger volume for one notebook, a new user in another team.
    changed_path, facts = changed_config(tmp_path / "teams-changed.yaml")
    changed = load_config(changed_path)
    out2 = tmp_path / "deploy2.out"
    deploy_changed = ["deploy", "--all", "--require-approval", "never", "--method=direct"]
    deploy_changed += ["-c", f"config={changed_path}", "-o", str(out2)]
    output = cdk(moto, *deploy_changed, timeout=DEPLOY_TIMEOUT)
    assert_moto_log_clean(moto)
    second = Deployment(moto, out2)
    # The CLI updates exactly the stacks whose template changed (the two teams changed,
    # whatever else changed in the working tree meanwhile) and leaves the others alone.
    changed_stacks = {s for s in second.templates if second.templates[s] != first.templates.get(s)}
    assert {f"{prefix}-team-{facts['resized_team']}", f"{prefix}-team-{facts['grown_team']}"} <= (
        changed_stacks
    )
    assert {name: second.stacks[name]["StackStatus"] for name in second.templates} == {
        name: "UPDATE_COMPLETE"
        if name in changed_stacks and name in first.templates
        else "CREATE_COMPLETE"
        for name in second.templates
    }
    for name in set(second.templates) - changed_stacks:
        assert f"{name} (no changes)" in output, name

    # What moto does not model, on the templates: the volume and the new user's grants.
    resized_stack = f"{prefix}-team-{facts['resized_team']}"
    before = notebook_props(first, resized_stack, facts["resized_notebook"])
    after = notebook_props(second, resized_stack, facts["resized_notebook"])
    assert (before["VolumeSizeInGB"], after["VolumeSizeInGB"]) == (
        facts["old_volume"],
        facts["new_volume"],
    )
    assert {k: v for k, v in before.items() if k != "VolumeSizeInGB"} == {
        k: v for k, v in after.items() if k != "VolumeSizeInGB"
    }
    grown_stack = f"{prefix}-team-{facts['grown_team']}"
    new = notebook_props(second, grown_stack, facts["new_notebook"])
    new_role = {"Ref": new["RoleArn"]["Fn::GetAtt"][0]}
    policies = second.of_type(grown_stack, "AWS::IAM::ManagedPolicy").values()
    assert sum(new_role in p.get("Roles", []) for p in policies) >= 2  # its own + the team's

    # What moto models, in moto: everything again, with the new user's notebook and role.
    check_deployment(second, changed, not_updated=changed_resources(first, second))
    assert facts["new_notebook"] in set(second.outputs(grown_stack).values()) - set(
        first.outputs(grown_stack).values()
    )
    assert_moto_log_clean(moto)

    # Third deploy: a notebook inserted first in one team and another team's list reversed.
    # Placement follows each person, not list positions: the review finds nothing replaced
    # or failing, and the deploy updates every notebook in place.
    moved_path = shuffled_config(changed_path, tmp_path / "teams-shuffled.yaml")
    shuffled = load_config(moved_path)
    out3 = tmp_path / "deploy3.out"
    deploy_shuffled = ["deploy", "--all", "--require-approval", "never", "--method=direct"]
    deploy_shuffled += ["-c", f"config={moved_path}", "-o", str(out3)]
    cdk(moto, *deploy_shuffled, timeout=DEPLOY_TIMEOUT)
    assert_moto_log_clean(moto)
    # The review of the assembly this deploy synthesized (in CI it runs before the deploy).
    gate = review(out2, out3)
    assert gate.exit_code == 0, gate.markdown
    notebooks = [
        r
        for st in gate.stacks
        for r in st.resources
        if r.resource_type == "AWS::SageMaker::NotebookInstance" and r.action != "added"
    ]
    assert [r.display_id for r in notebooks if r.replacement or r.action == "removed"] == []
    third = Deployment(moto, out3)
    assert all(third.stacks[name]["StackStatus"] in COMPLETE for name in third.templates)
    for stack in second.templates:
        for logical, props in second.of_type(stack, "AWS::SageMaker::NotebookInstance").items():
            again = notebook_props(third, stack, props["NotebookInstanceName"])
            assert again["SubnetId"] == props["SubnetId"], props["NotebookInstanceName"]
            # The same notebook in moto (not a replacement with a new physical id).
            assert third.physical(stack, logical) == second.physical(stack, logical)
    # moto applies no managed-policy update (moto_launcher.py, fix 5): those of both updates.
    not_updated = changed_resources(first, second) | changed_resources(second, third)
    check_deployment(third, shuffled, not_updated=not_updated)
    assert_moto_log_clean(moto)


FIRST_USER = "first"


def shuffled_config(source: Path, path: Path) -> Path:
    """``source`` with a notebook inserted first in the first team and the last team's
    notebooks in reverse order; written to ``path``."""
    data = yaml.safe_load(source.read_text())
    data["teams"][0]["notebooks"].insert(0, {"user": FIRST_USER})
    data["teams"][-1]["notebooks"].reverse()
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_log_check_catches_a_crash_inside_moto(tmp_path: Path):
    """The guard against silent moto failures itself: a crash or an unknown skip fails."""
    log = tmp_path / "moto.log"
    moto = DeployMoto(server=None, log_path=log)  # type: ignore[arg-type]
    log.write_text(
        '127.0.0.1 - - [x] "POST / HTTP/1.1" 200 -\n'
        "No Moto CloudFormation support for AWS::S3::BucketPolicy\n"
    )
    assert_moto_log_clean(moto)
    for bad in (
        '127.0.0.1 - - [x] "\x1b[35m\x1b[1mPOST / HTTP/1.1\x1b[0m" 500 -\n',
        "Error on request:\nTraceback (most recent call last):\nKeyError: 'TagKey'\n",
        "No Moto CloudFormation support for AWS::SageMaker::Pipeline\n",
    ):
        log.write_text(bad)
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            assert_moto_log_clean(moto)
