"""NotebookNetwork: no route to the internet, endpoints, flow logs, existing VPCs."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from sagemaker_constructs import ConstructValidationError, NotebookInstance, NotebookNetwork
from tests.conftest import new_stack

INTERFACE_SERVICES = {"notebook", "sagemaker.api", "sagemaker.runtime", "sts", "logs", "kms"}


@pytest.fixture(scope="module")
def network() -> tuple[NotebookNetwork, Template]:
    stack = new_stack()
    net = NotebookNetwork(stack, "Net")
    return net, Template.from_stack(stack)


def _service_names(t: Template) -> set[str]:
    names = set()
    for ep in t.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}
    ).values():
        names.add(json.dumps(ep["Properties"]["ServiceName"]))
    return names


def test_no_route_to_the_internet(network):
    _, t = network
    t.resource_count_is("AWS::EC2::InternetGateway", 0)
    t.resource_count_is("AWS::EC2::NatGateway", 0)
    t.resource_count_is("AWS::EC2::EgressOnlyInternetGateway", 0)
    t.resource_count_is("AWS::EC2::Subnet", 2)
    for route in t.find_resources("AWS::EC2::Route").values():
        assert route["Properties"].get("DestinationCidrBlock") != "0.0.0.0/0", route
    for subnet in t.find_resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


def test_subnets_are_in_two_azs(network):
    _, t = network
    azs = {
        json.dumps(s["Properties"]["AvailabilityZone"])
        for s in t.find_resources("AWS::EC2::Subnet").values()
    }
    assert len(azs) == 2


def test_interface_endpoints_for_every_service_a_notebook_needs(network):
    net, t = network
    assert set(net.interface_endpoints) == INTERFACE_SERVICES
    names = " ".join(_service_names(t))
    assert "aws.sagemaker." in names and ".notebook" in names
    for suffix in ("sagemaker.api", "sagemaker.runtime", ".sts", ".logs", ".kms"):
        assert suffix in names
    t.resource_count_is("AWS::EC2::VPCEndpoint", 7)
    t.has_resource_properties(
        "AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Interface", "PrivateDnsEnabled": True}
    )
    t.has_resource_properties(
        "AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Gateway", "ServiceName": Match.any_value()}
    )
    assert ".s3" in json.dumps(
        t.find_resources("AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Gateway"}})
    )


def test_endpoints_admit_https_from_notebooks_only(network):
    net, t = network
    stack = cdk.Stack.of(net)
    endpoint_sg = stack.resolve(net.endpoint_security_group.security_group_id)
    notebook_sg = stack.resolve(net.notebook_security_group.security_group_id)
    ingress = [r["Properties"] for r in t.find_resources("AWS::EC2::SecurityGroupIngress").values()]
    ingress += [
        {**rule, "GroupId": {"Fn::GetAtt": [k, "GroupId"]}}
        for k, sg in t.find_resources("AWS::EC2::SecurityGroup").items()
        for rule in sg["Properties"].get("SecurityGroupIngress", [])
    ]
    to_endpoints = [r for r in ingress if r["GroupId"] == endpoint_sg]
    assert to_endpoints == [Match.object_like({})] or len(to_endpoints) == 1
    rule = to_endpoints[0]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
    assert rule["SourceSecurityGroupId"] == notebook_sg
    assert "CidrIp" not in rule
    for ep in t.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}
    ).values():
        assert ep["Properties"]["SecurityGroupIds"] == [endpoint_sg]


def test_notebook_security_group_allows_only_https_out(network):
    net, t = network
    stack = cdk.Stack.of(net)
    sg_id = stack.resolve(net.notebook_security_group.security_group_id)["Fn::GetAtt"][0]
    sg = t.find_resources("AWS::EC2::SecurityGroup")[sg_id]["Properties"]
    egress = sg.get("SecurityGroupEgress", [])
    egress += [
        r["Properties"]
        for r in t.find_resources("AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    ]
    assert egress and all((e["FromPort"], e["ToPort"]) == (443, 443) for e in egress)
    assert "SecurityGroupIngress" not in sg


def test_flow_logs_go_to_an_encrypted_log_group_with_retention(network):
    _, t = network
    t.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    t.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^NetKey"), "Arn"]},
                "RetentionInDays": 365,
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    key_policy = json.dumps(t.find_resources("AWS::KMS::Key"))
    assert "logs." in key_policy and "kms:EncryptionContext:aws:logs:arn" in key_policy


def test_default_security_group_is_restricted(network):
    _, t = network
    t.resource_count_is("Custom::VpcRestrictDefaultSG", 1)


def test_notebooks_in_the_network_use_its_security_group():
    stack = new_stack()
    net = NotebookNetwork(stack, "Net")
    nb = NotebookInstance(stack, "Nb", vpc=net.vpc, security_groups=[net.notebook_security_group])
    sg_id = stack.resolve(net.notebook_security_group.security_group_id)
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::NotebookInstance", {"SecurityGroupIds": [sg_id]}
    )
    assert nb.security_group is None


def _existing_vpc(stack: cdk.Stack, *, route_tables: bool = True) -> ec2.IVpc:
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Existing",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        isolated_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        isolated_subnet_route_table_ids=["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"]
        if route_tables
        else None,
    )


def test_existing_vpc_gets_only_what_is_missing():
    stack = new_stack()
    net = NotebookNetwork(
        stack,
        "Net",
        vpc=_existing_vpc(stack),
        existing_endpoints=["sts", "s3", "logs"],
        flow_logs=False,
    )
    t = Template.from_stack(stack)
    t.resource_count_is("AWS::EC2::VPC", 0)
    t.resource_count_is("AWS::EC2::Subnet", 0)
    t.resource_count_is("AWS::EC2::FlowLog", 0)
    assert set(net.interface_endpoints) == INTERFACE_SERVICES - {"sts", "logs"}
    assert net.s3_endpoint is None
    t.resource_count_is("AWS::EC2::VPCEndpoint", 4)
    t.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "VpcId": "vpc-0123456789abcdef0",
            "SubnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        },
    )


def test_existing_vpc_without_flow_logs_gets_them():
    stack = new_stack()
    NotebookNetwork(stack, "Net", vpc=_existing_vpc(stack))
    t = Template.from_stack(stack)
    t.has_resource_properties("AWS::EC2::FlowLog", {"ResourceId": "vpc-0123456789abcdef0"})
    t.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "VpcEndpointType": "Gateway",
            "RouteTableIds": ["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"],
        },
    )


def test_existing_vpc_without_route_tables_needs_an_existing_s3_endpoint():
    stack = new_stack()
    with pytest.raises(
        ConstructValidationError,
        match="vpc: got .*route table IDs are unknown.*or 's3' in existing_endpoints",
    ):
        NotebookNetwork(stack, "Net", vpc=_existing_vpc(stack, route_tables=False))
    stack = new_stack()
    NotebookNetwork(
        stack, "Net", vpc=_existing_vpc(stack, route_tables=False), existing_endpoints=["s3"]
    )


def test_validation_collects_every_problem():
    stack = new_stack()
    with pytest.raises(ConstructValidationError) as err:
        NotebookNetwork(stack, "Net", max_azs=1, existing_endpoints=["s3", "ecr"])
    msg = str(err.value)
    assert "existing_endpoints[1]: got 'ecr'; allowed: one of notebook, sagemaker.api" in msg
    assert "max_azs: got 1; allowed: an integer from 2 to 6" in msg


def test_ip_addresses_with_existing_vpc_is_rejected():
    stack = new_stack()
    with pytest.raises(
        ConstructValidationError, match="ip_addresses: got 'given'; allowed: only without vpc"
    ):
        NotebookNetwork(
            stack, "Net", vpc=_existing_vpc(stack), ip_addresses=ec2.IpAddresses.cidr("10.1.0.0/16")
        )


def test_flow_log_role_is_only_for_this_accounts_flow_logs(network):
    """Confused deputy: the service may assume the role only for flow logs of this account."""
    _, t = network
    stack_account = {"Ref": "AWS::AccountId"}
    (role,) = [
        r
        for r in t.find_resources("AWS::IAM::Role").values()
        if "vpc-flow-logs.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    condition = statement["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": stack_account}
    source_arn = json.dumps(condition["ArnLike"]["aws:SourceArn"])
    assert ":ec2:" in source_arn and "vpc-flow-log/*" in source_arn
    assert "AWS::AccountId" in source_arn
