"""The review's rules on small hand-written templates: replacement, references, severity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sagemaker_constructs.review import review
from sagemaker_constructs.review.changes import MAY_REPLACE, REPLACE
from sagemaker_constructs.review.findings import DATA_LOSS, WARNING
from sagemaker_constructs.review.report import shorten_pair, truncate


def write(folder: Path, stacks: dict[str, dict[str, Any]]) -> Path:
    """A manifest-less assembly: one ``<name>.template.json`` per stack."""
    folder.mkdir(parents=True)
    for name, resources in stacks.items():
        template = {"Resources": resources.get("Resources", resources)}
        if "Outputs" in resources:
            template["Outputs"] = resources["Outputs"]
        (folder / f"{name}.template.json").write_text(json.dumps(template))
    return folder


def notebook(**props: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::SageMaker::NotebookInstance",
        "Properties": {"InstanceType": "ml.t3.medium", "RoleArn": "arn:aws:iam::1:role/r", **props},
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
    }


KEYS = {
    "KeyA": {"Type": "AWS::KMS::Key", "Properties": {"Description": "a"}},
    "KeyB": {"Type": "AWS::KMS::Key", "Properties": {"Description": "b"}},
}


def change(result, logical_id: str):
    return next(r for s in result.stacks for r in s.resources if r.logical_id == logical_id)


def test_switching_a_notebook_to_another_existing_key_replaces_it(tmp_path: Path):
    old = write(
        tmp_path / "old", {"s": {**KEYS, "Nb": notebook(KmsKeyId={"Fn::GetAtt": ["KeyA", "Arn"]})}}
    )
    new = write(
        tmp_path / "new", {"s": {**KEYS, "Nb": notebook(KmsKeyId={"Fn::GetAtt": ["KeyB", "Arn"]})}}
    )

    result = review(old, new)

    nb = change(result, "Nb")
    assert nb.replacement == REPLACE
    assert nb.reasons == ["create-only `KmsKeyId` changed"]
    assert result.exit_code == 3
    assert "| `KmsKeyId` | `${KeyA.Arn}` | `${KeyB.Arn}` |" in result.markdown


def test_an_unresolved_import_that_changed_may_replace(tmp_path: Path):
    old = write(tmp_path / "old", {"s": {"Nb": notebook(SubnetId={"Fn::ImportValue": "net-a"})}})
    new = write(tmp_path / "new", {"s": {"Nb": notebook(SubnetId={"Fn::ImportValue": "net-b"})}})

    result = review(old, new)

    assert change(result, "Nb").replacement == MAY_REPLACE
    [loss] = result.findings
    assert loss.level == DATA_LOSS and loss.possible
    assert "**POSSIBLE DATA LOSS**" in result.markdown
    assert (
        "| ✏️ modified | `Nb` | `AWS::SageMaker::NotebookInstance` | **may replace** |"
        in result.markdown
    )
    assert result.exit_code == 3


def test_an_import_resolved_to_the_same_resource_is_no_replacement(tmp_path: Path):
    """Another export name for the same subnet: the value does not change."""
    subnet = {
        "Type": "AWS::EC2::Subnet",
        "Properties": {"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24"},
    }
    outputs = {
        "A": {"Value": {"Ref": "Subnet"}, "Export": {"Name": "net-a"}},
        "B": {"Value": {"Ref": "Subnet"}, "Export": {"Name": "net-b"}},
    }
    net = {"Resources": {"Subnet": subnet}, "Outputs": outputs}
    old = write(
        tmp_path / "old", {"net": net, "s": {"Nb": notebook(SubnetId={"Fn::ImportValue": "net-a"})}}
    )
    new = write(
        tmp_path / "new", {"net": net, "s": {"Nb": notebook(SubnetId={"Fn::ImportValue": "net-b"})}}
    )

    result = review(old, new)

    assert change(result, "Nb").replacement is None
    assert result.exit_code == 0
    assert "| `SubnetId` | `${net/Subnet}` | `${net/Subnet}` |" in result.markdown


def test_replacement_propagates_to_create_only_references(tmp_path: Path):
    def stack(name: str) -> dict:
        return {
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": name},
                "DeletionPolicy": "Delete",
            },
            "Policy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": {"Statement": []}},
            },
        }

    result = review(
        write(tmp_path / "old", {"s": stack("a")}), write(tmp_path / "new", {"s": stack("b")})
    )

    assert change(result, "Bucket").replacement == REPLACE
    policy = change(result, "Policy")
    assert policy.replacement == REPLACE
    assert policy.reasons == ["create-only `Bucket` refers to `Bucket`, which is replaced"]
    [loss] = result.findings
    assert (loss.level, loss.resource) == (DATA_LOSS, "Bucket")
    assert (
        "the old resource is deleted (UpdateReplacePolicy: Delete): loses the bucket's objects"
        in loss.message
    )


def test_retained_key_replacement_is_a_warning_and_deleted_log_group_is_data_loss(tmp_path: Path):
    old = write(
        tmp_path / "old",
        {
            "s": {
                "Key": {"Type": "AWS::KMS::Key", "Properties": {}, "DeletionPolicy": "Retain"},
                "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
            }
        },
    )
    new = write(
        tmp_path / "new",
        {"s": {"Key2": {"Type": "AWS::KMS::Key", "Properties": {}, "DeletionPolicy": "Retain"}}},
    )

    result = review(old, new)

    levels = {f.resource: f.level for f in result.findings}
    assert levels == {"Key → Key2": WARNING, "Logs": DATA_LOSS}
    assert (
        "removed from the stack and deleted (DeletionPolicy: Delete): loses the log group's events"
        in result.markdown
    )
    assert result.exit_code == 3


def test_unknown_resource_type_may_be_replaced(tmp_path: Path):
    old = write(
        tmp_path / "old", {"s": {"X": {"Type": "Acme::Widget::Thing", "Properties": {"Size": 1}}}}
    )
    new = write(
        tmp_path / "new", {"s": {"X": {"Type": "Acme::Widget::Thing", "Properties": {"Size": 2}}}}
    )

    result = review(old, new)

    assert change(result, "X").replacement == MAY_REPLACE
    assert "not in cfn-lint's resource schemas" in result.markdown
    assert result.exit_code == 0  # not a stateful type


def test_security_group_rules_and_notebook_settings_are_called_out(tmp_path: Path):
    def stack(ingress: list, internet: str) -> dict:
        return {
            "Sg": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "d", "SecurityGroupIngress": ingress},
            },
            "Nb": notebook(DirectInternetAccess=internet, SubnetId="subnet-1"),
        }

    rule = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
    old = write(tmp_path / "old", {"s": stack([], "Disabled")})
    new = write(tmp_path / "new", {"s": stack([rule], "Enabled")})

    result = review(old, new)

    security = result.markdown.split("### 🔒 Security-relevant changes")[1]
    assert "| `s` | `Sg` | `ingress rule` | (none) | `tcp 22 0.0.0.0/0` |" in security
    assert "| `s` | `Nb` | `DirectInternetAccess` | `Disabled` | `Enabled` |" in security


def test_long_values_keep_the_part_that_differs():
    old = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/NotebookInstances:log-stream:fraud-alice/*"
    new = old.replace("fraud-alice", "fraud-alicia")

    a, b = shorten_pair(old, new, width=50)

    assert len(a) <= 52 and len(b) <= 52
    assert "fraud-alice/" in a and "fraud-alicia/" in b
    assert a.startswith("…")


def test_truncated_report_closes_an_open_fence():
    markdown = "## title\n\n```diff\n" + "+line\n" * 1000 + "```\n"

    cut = truncate(markdown, 500)

    assert len(cut) <= 500
    assert cut.count("```") % 2 == 0
    assert "report truncated" in cut


def test_role_inline_policy_trust_policy_and_attachments(tmp_path: Path):
    def role(actions: list[str], service: str, managed: list[str]) -> dict:
        return {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "sts:AssumeRole",
                                "Principal": {"Service": service},
                            }
                        ]
                    },
                    "Policies": [
                        {
                            "PolicyName": "inline",
                            "PolicyDocument": {
                                "Statement": [
                                    {
                                        "Sid": "Read",
                                        "Effect": "Allow",
                                        "Action": actions,
                                        "Resource": "*",
                                    }
                                ]
                            },
                        }
                    ],
                    "ManagedPolicyArns": managed,
                },
            }
        }

    old = write(tmp_path / "old", {"s": role(["s3:GetObject"], "sagemaker.amazonaws.com", [])})
    new = write(
        tmp_path / "new",
        {
            "s": role(
                ["s3:GetObject", "s3:PutObject"],
                "ec2.amazonaws.com",
                ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            )
        },
    )

    result = review(old, new)

    iam = result.markdown.split("### 🔑 IAM changes")[1].split("\n### ")[0]
    assert "- `s` / `Role` (`AWS::IAM::Role`) — trust policy:" in iam
    # Another principal is another grant: one statement removed, one added.
    assert "**removed:** Allow `sts:AssumeRole` to `{Service: sagemaker.amazonaws.com}`" in iam
    assert "**added:** Allow `sts:AssumeRole` to `{Service: ec2.amazonaws.com}`" in iam
    assert "- `s` / `Role` (`AWS::IAM::Role`) — inline policy inline:" in iam
    assert (
        "**changed:** Sid `Read`, Allow `s3:GetObject`, `s3:PutObject`: actions +`s3:PutObject`"
        in iam
    )
    assert "ManagedPolicyArns: +`arn:aws:iam::aws:policy/ReadOnlyAccess`" in iam
    assert result.exit_code == 0


def log_group(**props: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": "/team/logs", **props},
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
    }


def test_a_retention_set_or_shortened_is_data_loss_and_a_longer_one_is_not(tmp_path: Path):
    forever = write(tmp_path / "forever", {"S": {"Logs": log_group()}})
    month = write(tmp_path / "month", {"S": {"Logs": log_group(RetentionInDays=30)}})
    year = write(tmp_path / "year", {"S": {"Logs": log_group(RetentionInDays=365)}})

    set_now = review(forever, month)
    assert [(f.level, f.name) for f in set_now.findings] == [(DATA_LOSS, "/team/logs")]
    assert "(kept forever → 30 days)" in set_now.findings[0].message
    assert review(year, month).exit_code == 3
    assert review(month, year).findings == []
    assert review(month, forever).findings == []


def profile(domain: Any, name: str = "team-ann") -> dict[str, Any]:
    return {
        "Type": "AWS::SageMaker::UserProfile",
        "Properties": {"DomainId": domain, "UserProfileName": name},
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
    }


DOMAIN = {"Type": "AWS::SageMaker::Domain", "Properties": {"DomainName": "d", "AuthMode": "IAM"}}


def test_a_profile_name_is_taken_only_within_its_domain(tmp_path: Path):
    old = write(
        tmp_path / "old",
        {"S": {"Domain": DOMAIN, "ProfileA": profile({"Fn::GetAtt": ["Domain", "DomainId"]})}},
    )
    # The same name under a new logical ID in the same domain: the retained one keeps it.
    same_domain = write(
        tmp_path / "same",
        {"S": {"Domain": DOMAIN, "ProfileB": profile({"Fn::GetAtt": ["Domain", "DomainId"]})}},
    )
    # The same name in a new domain: nothing holds it there.
    new_domain = write(
        tmp_path / "new",
        {
            "S": {
                "Domain": DOMAIN,
                "Domain2": DOMAIN,
                "ProfileB": profile({"Fn::GetAtt": ["Domain2", "DomainId"]}),
            }
        },
    )

    taken = review(old, same_domain)
    assert [(f.level, f.name) for f in taken.findings if f.level != WARNING] == [
        ("fails", "team-ann")
    ]
    assert taken.exit_code == 4
    free = review(old, new_domain)
    assert [f.level for f in free.findings if f.level == "fails"] == []
