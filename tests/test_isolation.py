"""NotebookNetwork isolation: endpoint policies, closed egress, internet-routed subnets."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Annotations, Match, Template

from sagemaker_constructs import ConstructValidationError, NotebookNetwork
from tests.conftest import new_stack

ORG = "o-a1b2c3d4e5"


def _endpoint_policies(t: Template) -> dict[str, dict]:
    return {
        k: ep["Properties"].get("PolicyDocument")
        for k, ep in t.find_resources("AWS::EC2::VPCEndpoint").items()
    }


def _conditions(statement: dict) -> dict:
    return statement.get("Condition", {}).get("StringEquals", {})


@pytest.fixture(scope="module")
def studio_network() -> tuple[cdk.Stack, Template]:
    stack = new_stack()
    NotebookNetwork(stack, "Net", studio=True, s3_prefix_list_id="pl-6da54004")
    return stack, Template.from_stack(stack)


def test_every_endpoint_has_a_policy_bound_to_the_account(studio_network):
    stack, t = studio_network
    policies = _endpoint_policies(t)
    assert len(policies) == 8  # seven interface endpoints and the S3 gateway
    account = stack.resolve(stack.account)
    for name, doc in policies.items():
        assert doc, name
        for statement in doc["Statement"]:
            assert statement["Effect"] == "Allow", name
            assert statement["Principal"] == {"AWS": "*"}, name
            assert _conditions(statement)["aws:PrincipalAccount"] == account, name


def test_sts_kms_logs_and_s3_reach_only_this_accounts_resources(studio_network):
    stack, t = studio_network
    account = stack.resolve(stack.account)
    scoped = {
        k: doc
        for k, doc in _endpoint_policies(t).items()
        if any(s in k for s in ("sts", "kms", "logs", "S3Endpoint"))
    }
    assert len(scoped) == 4
    for name, doc in scoped.items():
        for statement in doc["Statement"]:
            assert _conditions(statement)["aws:ResourceAccount"] == account, name


def test_groups_send_https_only_to_endpoints_and_the_s3_prefix_list(studio_network):
    _, t = studio_network
    rules = [r["Properties"] for r in t.find_resources("AWS::EC2::SecurityGroupEgress").values()]
    rules += [
        rule
        for sg in t.find_resources("AWS::EC2::SecurityGroup").values()
        for rule in sg["Properties"].get("SecurityGroupEgress", [])
    ]
    # CDK's placeholder on groups without egress (icmp to 255.255.255.255/32) sends nothing.
    rules = [r for r in rules if r["IpProtocol"] != "icmp"]
    assert len(rules) == 5  # notebook, studio: endpoints + S3; studio: NFS within itself
    for rule in rules:
        assert rule.get("CidrIp") not in ("0.0.0.0/0",), rule
        assert "CidrIpv6" not in rule, rule
        assert "DestinationSecurityGroupId" in rule or rule.get("DestinationPrefixListId") == (
            "pl-6da54004"
        ), rule


def test_without_a_prefix_list_there_is_no_s3_egress_and_a_warning():
    stack = new_stack()
    NotebookNetwork(stack, "Net")
    t = Template.from_stack(stack)
    for sg in t.find_resources("AWS::EC2::SecurityGroup").values():
        for rule in sg["Properties"].get("SecurityGroupEgress", []):
            assert rule.get("CidrIp") in (None, "255.255.255.255/32"), rule
            assert "DestinationPrefixListId" not in rule, rule
    Annotations.from_stack(stack).has_warning(
        "/Test/Net", Match.string_like_regexp("s3_prefix_list_id not set")
    )


def test_organisation_scope_uses_org_conditions():
    stack = new_stack()
    NotebookNetwork(stack, "Net", organization_id=ORG, s3_prefix_list_id="pl-6da54004")
    for doc in _endpoint_policies(Template.from_stack(stack)).values():
        for statement in doc["Statement"]:
            assert _conditions(statement)["aws:PrincipalOrgID"] == ORG
            assert "aws:PrincipalAccount" not in _conditions(statement)


def test_listed_outside_buckets_are_read_only():
    stack = new_stack()
    NotebookNetwork(
        stack, "Net", extra_s3_bucket_arns=["arn:aws:s3:::al2023-repos-eu-west-1-de612dc2"]
    )
    t = Template.from_stack(stack)
    (s3,) = [d for k, d in _endpoint_policies(t).items() if "S3Endpoint" in k]
    (listed,) = [s for s in s3["Statement"] if s["Sid"] == "ReadListedBuckets"]
    assert listed["Action"] == ["s3:GetObject", "s3:ListBucket"]
    assert "aws:PrincipalAccount" in _conditions(listed)


def _vpc_with_nat(stack: cdk.Stack) -> ec2.Vpc:
    return ec2.Vpc(
        stack,
        "Shared",
        max_azs=2,
        nat_gateways=1,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="App", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        ],
    )


def test_existing_vpc_with_nat_routed_subnets_fails_naming_each_subnet():
    stack = new_stack()
    vpc = _vpc_with_nat(stack)
    with pytest.raises(ConstructValidationError) as err:
        NotebookNetwork(stack, "Net", vpc=vpc)
    message = str(err.value)
    for subnet in vpc.private_subnets:
        assert subnet.node.path in message
    assert "allow_internet_routed_subnets=True" in message


def test_public_subnets_selected_explicitly_also_fail():
    stack = new_stack()
    vpc = _vpc_with_nat(stack)
    with pytest.raises(ConstructValidationError, match="Shared/PublicSubnet1"):
        NotebookNetwork(
            stack,
            "Net",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        )


def test_imported_egress_subnets_fail_with_their_ids():
    stack = new_stack()
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Imported",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        private_subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        private_subnet_route_table_ids=["rtb-0123456789abcdef0", "rtb-0123456789abcdef1"],
    )
    with pytest.raises(ConstructValidationError, match="subnet-0123456789abcdef1"):
        NotebookNetwork(stack, "Net", vpc=vpc)


def test_opt_in_accepts_routed_subnets_with_a_warning():
    stack = new_stack()
    NotebookNetwork(stack, "Net", vpc=_vpc_with_nat(stack), allow_internet_routed_subnets=True)
    Annotations.from_stack(stack).has_warning(
        "/Test/Net", Match.string_like_regexp("reach the internet past the VPC endpoints")
    )


def test_existing_endpoints_are_named_as_ungoverned():
    stack = new_stack()
    vpc = ec2.Vpc(
        stack,
        "Shared",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Iso", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    NotebookNetwork(stack, "Net", vpc=vpc, existing_endpoints=["sts", "s3"])
    Annotations.from_stack(stack).has_warning(
        "/Test/Net", Match.string_like_regexp("existing_endpoints sts, s3: their endpoint policies")
    )


def test_bad_organisation_and_prefix_list_are_reported_together():
    stack = new_stack()
    with pytest.raises(ConstructValidationError) as err:
        NotebookNetwork(stack, "Net", organization_id="org-1", s3_prefix_list_id="sg-1")
    assert "organization_id" in str(err.value) and "s3_prefix_list_id" in str(err.value)
