"""Platform and team stacks: secure defaults of what the stacks themselves add."""

from __future__ import annotations

import copy
import json

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from sagemaker_constructs.governance import acknowledge, register_compliance_checks
from stacks import build_app, parse_config
from tests.conftest import EXAMPLE_CONFIG, Synthesized, new_app

BASE = yaml.safe_load(EXAMPLE_CONFIG.read_text())


def test_team_bucket_is_private_encrypted_versioned_and_ssl_only(example: Synthesized):
    for team, stack in example.built.teams.items():
        t = example.template(stack)
        t.has_resource(
            "AWS::S3::Bucket",
            {
                "Properties": Match.object_like(
                    {
                        "BucketEncryption": {
                            "ServerSideEncryptionConfiguration": [
                                {
                                    "BucketKeyEnabled": True,
                                    "ServerSideEncryptionByDefault": {
                                        "SSEAlgorithm": "aws:kms",
                                        "KMSMasterKeyID": {
                                            "Fn::GetAtt": [Match.string_like_regexp("^Key"), "Arn"]
                                        },
                                    },
                                }
                            ]
                        },
                        "PublicAccessBlockConfiguration": {
                            "BlockPublicAcls": True,
                            "BlockPublicPolicy": True,
                            "IgnorePublicAcls": True,
                            "RestrictPublicBuckets": True,
                        },
                        "VersioningConfiguration": {"Status": "Enabled"},
                        "LoggingConfiguration": Match.object_like({"LogFilePrefix": f"{team}/"}),
                    }
                ),
                "DeletionPolicy": "Retain",
            },
        )
        t.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                }
            },
        )
        t.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
        t.has_resource_properties("AWS::KMS::Alias", {"AliasName": f"alias/sagemaker/{team}"})


def test_notebooks_use_the_team_key_and_spread_over_azs(example: Synthesized):
    stack = example.built.teams["fraud"]
    notebooks = example.template(stack).find_resources("AWS::SageMaker::NotebookInstance")
    keys = {json.dumps(n["Properties"]["KmsKeyId"]) for n in notebooks.values()}
    assert len(keys) == 1 and '"Key' in keys.pop()
    subnets = {json.dumps(n["Properties"]["SubnetId"]) for n in notebooks.values()}
    assert len(subnets) == 2
    sizes = sorted(n["Properties"]["VolumeSizeInGB"] for n in notebooks.values())
    assert sizes == [20, 20, 50]  # team default 20, bob's override 50


def test_platform_log_group_for_notebooks(example: Synthesized):
    t = example.template(example.built.platform)
    t.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "LogGroupName": "/aws/sagemaker/NotebookInstances",
                "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^SharedKey"), "Arn"]},
                "RetentionInDays": 365,
            },
            "DeletionPolicy": "Retain",
        },
    )
    t.resource_count_is("AWS::EC2::VPC", 1)
    t.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.40.0.0/16"})


def test_access_log_bucket_admits_only_this_accounts_logging(example: Synthesized):
    t = example.template(example.built.platform)
    t.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "logging.s3.amazonaws.com"},
                                "Action": "s3:PutObject",
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_environment_comes_from_the_config():
    data = copy.deepcopy(BASE)
    data["platform"]["env"] = {"account": "123456789012", "region": "eu-west-1"}
    built = build_app(new_app(), parse_config(data))
    for stack in built.stacks:
        assert (stack.account, stack.region) == ("123456789012", "eu-west-1")


def test_existing_vpc_from_config_adds_only_what_is_missing():
    data = copy.deepcopy(BASE)
    data["platform"]["network"] = {
        "existing_vpc": {
            "vpc_id": "vpc-0123456789abcdef0",
            "availability_zones": ["eu-west-1a", "eu-west-1b"],
            "subnet_ids": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
            "existing_endpoints": ["s3", "sts"],
            "has_flow_logs": True,
        }
    }
    data["teams"] = data["teams"][:1]
    built = build_app(new_app(), parse_config(data))
    t = Template.from_stack(built.platform)
    t.resource_count_is("AWS::EC2::VPC", 0)
    t.resource_count_is("AWS::EC2::FlowLog", 0)
    # 6 interface endpoints - sts + the 2 CodeArtifact ones of the package mirror + the
    # Studio one (the example has a Studio domain); s3 exists.
    t.resource_count_is("AWS::EC2::VPCEndpoint", 8)
    assert ".codeartifact.repositories" in json.dumps(t.find_resources("AWS::EC2::VPCEndpoint"))
    notebook = next(
        iter(
            Template.from_stack(built.teams["fraud"])
            .find_resources("AWS::SageMaker::NotebookInstance")
            .values()
        )
    )
    assert notebook["Properties"]["SubnetId"] in (
        "subnet-0aaaaaaaaaaaaaaaa",
        "subnet-0bbbbbbbbbbbbbbbb",
    )


def test_existing_vpc_declared_internet_routed_is_accepted_with_a_warning():
    data = copy.deepcopy(BASE)
    data["platform"]["network"] = {
        "existing_vpc": {
            "vpc_id": "vpc-0123456789abcdef0",
            "availability_zones": ["eu-west-1a", "eu-west-1b"],
            "subnet_ids": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
            "route_table_ids": ["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"],
            "allow_internet_routed_subnets": True,
        }
    }
    data["teams"] = data["teams"][:1]
    built = build_app(new_app(), parse_config(data))
    warnings = Annotations.from_stack(built.platform).find_warning(
        "*", Match.string_like_regexp("subnet-0bbbbbbbbbbbbbbbb can reach the internet")
    )
    assert len(warnings) == 1
    notebooks = Template.from_stack(built.teams["fraud"]).find_resources(
        "AWS::SageMaker::NotebookInstance"
    )
    assert {n["Properties"]["SubnetId"] for n in notebooks.values()} == {
        "subnet-0aaaaaaaaaaaaaaaa",
        "subnet-0bbbbbbbbbbbbbbbb",
    }


def test_an_unacknowledged_finding_fails_synth(tmp_path):
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "Leaky")
    s3.Bucket(stack, "NoLogsNoSsl")
    register_compliance_checks(app)
    with pytest.raises(
        RuntimeError, match=r"(?s)ValidationFailed: .*AwsSolutions::AwsSolutions-S1"
    ):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for r in report["pluginReports"] for v in r["violations"]}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules


def _fraud_subnets(notebooks: list[dict]) -> dict[str, str]:
    """Each fraud notebook's SubnetId, by notebook name, in a one-team app on literal subnets."""
    data = copy.deepcopy(BASE)
    data["platform"]["network"] = {
        "existing_vpc": {
            "vpc_id": "vpc-0123456789abcdef0",
            "availability_zones": ["eu-west-1a", "eu-west-1b"],
            "subnet_ids": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
            "existing_endpoints": ["s3"],
        }
    }
    data["platform"].pop("studio")
    data["teams"] = data["teams"][:1]
    data["teams"][0]["notebooks"] = notebooks
    built = build_app(new_app(), parse_config(data))
    found = Template.from_stack(built.teams["fraud"]).find_resources(
        "AWS::SageMaker::NotebookInstance"
    )
    return {
        n["Properties"]["NotebookInstanceName"]: n["Properties"]["SubnetId"] for n in found.values()
    }


def test_a_notebooks_subnet_does_not_follow_its_position():
    users = ["alice", "bob", "carol", "dave", "erin"]
    base = _fraud_subnets([{"user": u} for u in users])
    assert len(set(base.values())) == 2  # the five spread over both subnets
    edits = {
        "insert first": ["zoe", *users],
        "reorder": list(reversed(users)),
        "remove a middle one": ["alice", "bob", "dave", "erin"],
    }
    for what, edited in edits.items():
        after = _fraud_subnets([{"user": u} for u in edited])
        kept = {name: after[name] for name in base if name in after}
        assert kept == {name: base[name] for name in kept}, what


def test_an_explicit_subnet_pins_the_notebook():
    pinned = _fraud_subnets([{"user": "alice", "subnet": 0}, {"user": "bob", "subnet": 1}])
    flipped = _fraud_subnets([{"user": "alice", "subnet": 1}, {"user": "bob", "subnet": 0}])
    assert pinned == {
        "fraud-alice": "subnet-0aaaaaaaaaaaaaaaa",
        "fraud-bob": "subnet-0bbbbbbbbbbbbbbbb",
    }
    assert flipped == {
        "fraud-alice": "subnet-0bbbbbbbbbbbbbbbb",
        "fraud-bob": "subnet-0aaaaaaaaaaaaaaaa",
    }


def test_one_acknowledgment_call_takes_several_rules_each_on_its_scope_only(tmp_path):
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "Leaky")
    quiet = s3.Bucket(stack, "Acknowledged")
    s3.Bucket(stack, "NotAcknowledged")
    acknowledge(quiet, ["AwsSolutions-S1", "AwsSolutions-S10"], "Test buckets, never deployed.")
    register_compliance_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    flagged = {
        (v["ruleName"], where["constructPath"])
        for r in report["pluginReports"]
        for v in r["violations"]
        for where in v["violatingConstructs"]
    }
    for rule in ("AwsSolutions-S1", "AwsSolutions-S10"):
        # The control: the same finding on the other bucket is still reported.
        assert (rule, "Leaky/NotAcknowledged/Resource") in flagged
        assert (rule, "Leaky/Acknowledged/Resource") not in flagged
