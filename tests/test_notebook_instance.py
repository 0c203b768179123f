"""NotebookInstance: secure defaults, validation, interfaces, least privilege."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Annotations, Match, Template

from sagemaker_constructs import ConstructValidationError, NotebookInstance
from tests.conftest import isolated_vpc, new_stack

NOTEBOOK = "AWS::SageMaker::NotebookInstance"


@pytest.fixture(scope="module")
def default_notebook() -> tuple[cdk.Stack, NotebookInstance, Template]:
    stack = new_stack()
    nb = NotebookInstance(
        stack, "Notebook", vpc=isolated_vpc(stack), notebook_instance_name="ds-alice"
    )
    return stack, nb, Template.from_stack(stack)


def make(**props) -> NotebookInstance:
    stack = new_stack()
    props.setdefault("vpc", isolated_vpc(stack))
    return NotebookInstance(stack, "Notebook", **props)


# --- secure defaults ----------------------------------------------------------------


def test_defaults_are_secure(default_notebook):
    _, _, t = default_notebook
    t.has_resource_properties(
        NOTEBOOK,
        {
            "DirectInternetAccess": "Disabled",
            "RootAccess": "Disabled",
            "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"},
            "PlatformIdentifier": "notebook-al2023-v1",
            "VolumeSizeInGB": 5,
            "InstanceType": "ml.t3.medium",
            "NotebookInstanceName": "ds-alice",
            "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^NotebookKey"), "Arn"]},
            "SubnetId": {"Ref": Match.string_like_regexp("^Vpc.*Subnet1")},
            "SecurityGroupIds": [
                {"Fn::GetAtt": [Match.string_like_regexp("^NotebookSecurityGroup"), "GroupId"]}
            ],
        },
    )


def test_notebook_is_retained_on_delete_and_replacement(default_notebook):
    _, _, t = default_notebook
    t.has_resource(NOTEBOOK, {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})


def test_created_key_rotates_and_is_retained(default_notebook):
    _, _, t = default_notebook
    t.resource_count_is("AWS::KMS::Key", 1)
    t.has_resource(
        "AWS::KMS::Key",
        {
            "Properties": Match.object_like({"EnableKeyRotation": True}),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_created_security_group_has_no_inbound_and_only_https_out(default_notebook):
    _, _, t = default_notebook
    t.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupEgress": [
                Match.object_like({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443})
            ],
            "SecurityGroupIngress": Match.absent(),
        },
    )
    t.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)


def test_no_outputs_unless_asked(default_notebook):
    """The app decides what its stacks export: outputs cap a stack's notebooks at 200/2."""
    _, _, t = default_notebook
    assert "Outputs" not in t.to_json()


def test_outputs_name_and_console_url_when_asked():
    nb = make(notebook_instance_name="ds-alice", create_outputs=True)
    outputs = Template.from_stack(cdk.Stack.of(nb)).to_json()["Outputs"]
    values = [json.dumps(o["Value"]) for o in outputs.values()]
    assert any(v == '"ds-alice"' for v in values)
    assert any(
        "console.aws.amazon.com/sagemaker" in v and "notebook-instances/ds-alice" in v
        for v in values
    )


def test_an_unknown_instance_type_suggests_the_nearest():
    with pytest.raises(
        ConstructValidationError,
        match=r"instance_type: got 'ml.t3.medum'; allowed: .*NOTEBOOK_INSTANCE_TYPES lists them\) \(nearest: ml.t3.medium",
    ):
        make(instance_type="ml.t3.medum")


def test_exposes_what_it_creates(default_notebook):
    _, nb, _ = default_notebook
    assert nb.resource.cfn_resource_type == NOTEBOOK
    assert isinstance(nb.key, kms.Key)
    assert nb.security_group is not None
    assert nb.connections.security_groups == [nb.security_group]
    assert nb.grant_principal is nb.role


def test_is_usable_as_grantable_and_connectable():
    stack = new_stack()
    vpc = isolated_vpc(stack)
    nb = NotebookInstance(stack, "Notebook", vpc=vpc)
    # jsii accepts the construct where aws-cdk-lib expects IGrantable / IConnectable.
    key = kms.Key(stack, "Other", enable_key_rotation=True)
    key.grant_decrypt(nb)
    db = ec2.SecurityGroup(stack, "Db", vpc=vpc)
    db.connections.allow_from(nb, ec2.Port.tcp(5432))
    t = Template.from_stack(stack)
    t.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "FromPort": 5432,
            "SourceSecurityGroupId": {
                "Fn::GetAtt": [Match.string_like_regexp("^NotebookSecurityGroup"), "GroupId"]
            },
        },
    )
    assert "kms:Decrypt" in json.dumps(t.find_resources("AWS::IAM::ManagedPolicy"))
    t.resource_count_is("AWS::IAM::Policy", 0)


def test_default_name_is_valid_and_unique_per_construct():
    stack = new_stack()
    vpc = isolated_vpc(stack)
    a = NotebookInstance(stack, "A", vpc=vpc)
    b = NotebookInstance(stack, "B", vpc=vpc)
    names = [stack.resolve(n.notebook_instance_name) for n in (a, b)]
    assert names[0] != names[1]
    import re

    for n in names:
        assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", n) and len(n) <= 63


# --- least privilege ------------------------------------------------------------------


def _statements(t: Template) -> list[dict]:
    out = []
    for res in t.find_resources("AWS::IAM::ManagedPolicy").values():
        out += res["Properties"]["PolicyDocument"]["Statement"]
    return out


def test_role_is_least_privilege(default_notebook):
    _, _, t = default_notebook
    t.resource_count_is("AWS::IAM::Policy", 0)  # no inline policies
    role = next(iter(t.find_resources("AWS::IAM::Role").values()))
    assert "ManagedPolicyArns" not in role["Properties"] or all(
        "aws:policy" not in json.dumps(a) for a in role["Properties"]["ManagedPolicyArns"]
    )
    statements = _statements(t)
    assert statements
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        assert all("*" not in a for a in actions), s
        assert s["Resource"] != "*", s


def test_log_permissions_are_scoped_to_own_streams(default_notebook):
    _, _, t = default_notebook
    writes = [s for s in _statements(t) if "logs:PutLogEvents" in s["Action"]]
    assert len(writes) == 1
    assert "log-stream:ds-alice/*" in json.dumps(writes[0]["Resource"])
    assert "/aws/sagemaker/NotebookInstances" in json.dumps(writes[0]["Resource"])


def test_notebook_waits_for_its_policy(default_notebook):
    _, _, t = default_notebook
    nb = next(iter(t.find_resources(NOTEBOOK).values()))
    policy_id = next(iter(t.find_resources("AWS::IAM::ManagedPolicy")))
    assert policy_id in nb["DependsOn"]


def test_grant_and_add_to_role_policy_use_own_arn():
    stack = new_stack()
    nb = make(notebook_instance_name="MixedCase-Name")
    stack = cdk.Stack.of(nb)
    user = iam.User(stack, "User")
    nb.grant_presigned_url(user)
    arn = json.dumps(stack.resolve(nb.notebook_instance_arn))
    assert "notebook-instance/mixedcase-name" in arn  # ARNs carry the name in lower case
    t = Template.from_stack(stack)
    t.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Action": "sagemaker:CreatePresignedNotebookInstanceUrl",
                            "Resource": stack.resolve(nb.notebook_instance_arn),
                        }
                    )
                ]
            }
        },
    )
    nb.add_to_role_policy(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::b/k"])
    )
    assert "s3:GetObject" in json.dumps(stack.resolve(nb.policy.document.to_json()))


def test_given_role_key_and_security_groups_are_used_not_created():
    stack = new_stack()
    vpc = isolated_vpc(stack)
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    key = kms.Key(stack, "K", enable_key_rotation=True)
    sg = ec2.SecurityGroup(stack, "SG", vpc=vpc)
    nb = NotebookInstance(
        stack, "Notebook", vpc=vpc, role=role, encryption_key=key, security_groups=[sg]
    )
    assert nb.role is role and nb.key is key and nb.security_group is None and nb.policy is None
    t = Template.from_stack(stack)
    t.resource_count_is("AWS::KMS::Key", 1)
    t.resource_count_is("AWS::IAM::Role", 1)
    t.resource_count_is("AWS::EC2::SecurityGroup", 1)


# --- opt-outs leave warnings ------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "cfn", "warning"),
    [
        (
            {"allow_direct_internet": True},
            {"DirectInternetAccess": "Enabled"},
            "allow_direct_internet",
        ),
        ({"allow_root_access": True}, {"RootAccess": "Enabled"}, "allow_root_access"),
        (
            {"platform_identifier": "notebook-al2-v3"},
            {"PlatformIdentifier": "notebook-al2-v3"},
            "2026-06-30",
        ),
        (
            {"minimum_instance_metadata_service_version": "1"},
            {
                "InstanceMetadataServiceConfiguration": {
                    "MinimumInstanceMetadataServiceVersion": "1"
                }
            },
            "IMDSv1",
        ),
    ],
)
def test_opt_outs_are_explicit_and_warn(props, cfn, warning):
    nb = make(**props)
    stack = cdk.Stack.of(nb)
    Template.from_stack(stack).has_resource_properties(NOTEBOOK, cfn)
    Annotations.from_stack(stack).has_warning("/Test/Notebook", Match.string_like_regexp(warning))


def test_secure_notebook_has_no_warnings(default_notebook):
    stack, _, _ = default_notebook
    assert Annotations.from_stack(stack).find_warning("*", Match.any_value()) == []


def test_direct_internet_without_vpc_is_allowed():
    stack = new_stack()
    NotebookInstance(stack, "Notebook", allow_direct_internet=True)
    t = Template.from_stack(stack)
    t.has_resource_properties(
        NOTEBOOK, {"SubnetId": Match.absent(), "DirectInternetAccess": "Enabled"}
    )


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"volume_size_gib": 3}, r"volume_size_gib: got 3; allowed: an integer from 5 to 16384"),
        (
            {"volume_size_gib": 16385},
            r"volume_size_gib: got 16385; allowed: an integer from 5 to 16384",
        ),
        (
            {"instance_type": "t3.medium"},
            r"instance_type: got 't3.medium'; allowed: a notebook instance type SageMaker offers, ml.<family>.<size>",
        ),
        ({"instance_type": "ml.t3"}, r"instance_type: got 'ml.t3'"),
        (
            {"notebook_instance_name": "bad_name"},
            r"notebook_instance_name: got 'bad_name'; allowed: 1 to 63 letters",
        ),
        (
            {"notebook_instance_name": "a" * 64},
            r"notebook_instance_name: got 'a{64}'; allowed: at most 63 characters \(got 64\)",
        ),
        (
            {"platform_identifier": "notebook-al2-v1"},
            r"platform_identifier: got 'notebook-al2-v1'; allowed: .*notebook-al2-v1 is retired",
        ),
        ({"platform_identifier": "notebook-al1-v1"}, r"platform_identifier: got 'notebook-al1-v1'"),
        (
            {"platform_identifier": "ubuntu"},
            r"platform_identifier: got 'ubuntu'; allowed: one of 'notebook-al2023-v1', 'notebook-al2-v3'",
        ),
        (
            {"vpc": None},
            r"vpc: got None; allowed: a VPC \(required while direct internet access is disabled",
        ),
        (
            {"additional_code_repositories": ["a", "b", "c", "d"]},
            r"additional_code_repositories: got '4 items'; allowed: at most 3",
        ),
        (
            {"default_code_repository": "http://insecure/repo"},
            r"default_code_repository: got 'http://insecure/repo'; allowed: an https://",
        ),
        (
            {"default_code_repository": "repo", "additional_code_repositories": ["repo"]},
            r"each repository at most once",
        ),
        (
            {"accelerator_types": ["ml.eia2.medium"]},
            r"accelerator_types: .*Elastic Inference is no longer offered",
        ),
        (
            {"minimum_instance_metadata_service_version": "3"},
            r"minimum_instance_metadata_service_version: got '3'; allowed: one of '1', '2'",
        ),
        ({"tags": {"aws:owner": "x"}}, r"tags\['aws:owner'\]"),
    ],
)
def test_each_invalid_prop_is_named(props, message):
    with pytest.raises(ConstructValidationError, match=message):
        make(**props)


def test_too_many_security_groups():
    stack = new_stack()
    vpc = isolated_vpc(stack)
    sgs = [ec2.SecurityGroup(stack, f"SG{i}", vpc=vpc) for i in range(6)]
    with pytest.raises(
        ConstructValidationError, match=r"security_groups: got '6 items'; allowed: at most 5"
    ):
        NotebookInstance(stack, "Notebook", vpc=vpc, security_groups=sgs)


def test_all_problems_are_reported_together():
    with pytest.raises(ConstructValidationError) as err:
        make(volume_size_gib=2, instance_type="big", notebook_instance_name="-x")
    assert [p.prop for p in err.value.problems] == [
        "instance_type",
        "notebook_instance_name",
        "volume_size_gib",
    ]
    assert str(err.value).startswith("Test/Notebook: 3 invalid properties:")


def test_nothing_is_created_when_props_are_invalid():
    stack = new_stack()
    with pytest.raises(ConstructValidationError):
        NotebookInstance(stack, "Notebook", vpc=isolated_vpc(stack), volume_size_gib=1)
    assert stack.node.find_child("Notebook").node.children == []


def test_tokens_are_not_validated():
    stack = new_stack()
    size = cdk.CfnParameter(stack, "Size", type="Number").value_as_number
    name = cdk.CfnParameter(stack, "Name").value_as_string
    itype = cdk.CfnParameter(stack, "Type").value_as_string
    NotebookInstance(
        stack,
        "Notebook",
        vpc=isolated_vpc(stack),
        volume_size_gib=size,
        notebook_instance_name=name,
        instance_type=itype,
    )
    Template.from_stack(stack).has_resource_properties(
        NOTEBOOK, {"VolumeSizeInGB": {"Ref": "Size"}, "NotebookInstanceName": {"Ref": "Name"}}
    )


def test_removal_policy_can_be_changed_explicitly():
    nb = make(removal_policy=cdk.RemovalPolicy.DESTROY)
    Template.from_stack(cdk.Stack.of(nb)).has_resource(NOTEBOOK, {"DeletionPolicy": "Delete"})


def test_code_repositories_and_tags_reach_the_resource():
    nb = make(
        default_code_repository="https://git.example.com/team/repo.git",
        additional_code_repositories=["shared-utils"],
        tags={"owner": "alice"},
    )
    Template.from_stack(cdk.Stack.of(nb)).has_resource_properties(
        NOTEBOOK,
        {
            "DefaultCodeRepository": "https://git.example.com/team/repo.git",
            "AdditionalCodeRepositories": ["shared-utils"],
            "Tags": [{"Key": "owner", "Value": "alice"}],
        },
    )


def test_an_imported_vpc_without_its_cidr_is_named_not_crashed():
    """The notebook's own group sends HTTPS to the VPC's range, which must be known."""
    stack = new_stack()
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Imported",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["us-east-1a"],
        isolated_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa"],
    )
    with pytest.raises(
        ConstructValidationError,
        match=r"vpc: got 'vpc-0123456789abcdef0 \(imported without its CIDR\)'; allowed: a VPC whose CIDR is known",
    ):
        NotebookInstance(stack, "Notebook", instance_type="ml.t3.medium", vpc=vpc)
    # With the CIDR given, the same VPC works and the rule names that range only.
    stack = new_stack()
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Imported",
        vpc_id="vpc-0123456789abcdef0",
        vpc_cidr_block="10.1.0.0/16",
        availability_zones=["us-east-1a"],
        isolated_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa"],
    )
    NotebookInstance(stack, "Notebook", instance_type="ml.t3.medium", vpc=vpc)
    Template.from_stack(stack).has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {"SecurityGroupEgress": [Match.object_like({"CidrIp": "10.1.0.0/16", "FromPort": 443})]},
    )
