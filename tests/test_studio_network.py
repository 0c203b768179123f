"""NotebookNetwork(studio=True): the Studio endpoint and the apps' security group."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from sagemaker_constructs import ENDPOINT_NAMES, NotebookNetwork
from tests.conftest import new_stack


@pytest.fixture(scope="module")
def network() -> tuple[cdk.Stack, NotebookNetwork, Template]:
    stack = new_stack()
    net = NotebookNetwork(stack, "Net", studio=True, s3_prefix_list_id="pl-6da54004")
    return stack, net, Template.from_stack(stack)


def test_studio_endpoint_is_added(network):
    _, net, t = network
    assert set(net.interface_endpoints) == {
        "notebook",
        "sagemaker.api",
        "sagemaker.runtime",
        "sts",
        "logs",
        "kms",
        "studio",
    }
    assert ".studio" in json.dumps(
        t.find_resources("AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}})
    )
    assert "studio" in ENDPOINT_NAMES


def test_studio_group_reaches_the_endpoints_and_itself_over_nfs_only(network):
    stack, net, t = network
    studio = stack.resolve(net.studio_security_group.security_group_id)
    endpoints = stack.resolve(net.endpoint_security_group.security_group_id)
    ingress = [r["Properties"] for r in t.find_resources("AWS::EC2::SecurityGroupIngress").values()]
    egress = [r["Properties"] for r in t.find_resources("AWS::EC2::SecurityGroupEgress").values()]
    into_studio = [r for r in ingress if r["GroupId"] == studio]
    assert [(r["FromPort"], r["SourceSecurityGroupId"]) for r in into_studio] == [(2049, studio)]
    assert {
        (r["FromPort"], json.dumps(r.get("DestinationSecurityGroupId")))
        for r in egress
        if r["GroupId"] == studio and "DestinationPrefixListId" not in r
    } == {(2049, json.dumps(studio)), (443, json.dumps(endpoints))}
    assert any(
        r["GroupId"] == endpoints and r["SourceSecurityGroupId"] == studio and r["FromPort"] == 443
        for r in ingress
    )
    (group,) = [
        g
        for k, g in t.find_resources("AWS::EC2::SecurityGroup").items()
        if k.startswith("NetStudioSecurityGroup")
    ]
    # No inline egress; HTTPS to S3 through the gateway endpoint names its prefix list.
    assert "SecurityGroupEgress" not in group["Properties"]
    assert [
        (r.get("CidrIp"), r["DestinationPrefixListId"], r["FromPort"])
        for r in egress
        if r["GroupId"] == studio and "DestinationPrefixListId" in r
    ] == [(None, "pl-6da54004", 443)]


def test_without_studio_nothing_changes():
    stack = new_stack()
    net = NotebookNetwork(stack, "Net")
    assert net.studio_security_group is None and "studio" not in net.interface_endpoints
    Template.from_stack(stack).resource_count_is("AWS::EC2::VPCEndpoint", 7)


def test_existing_studio_endpoint_is_not_created_again():
    stack = new_stack()
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        restrict_default_security_group=False,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="i", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    net = NotebookNetwork(
        stack, "Net", vpc=vpc, studio=True, existing_endpoints=["studio"], flow_logs=False
    )
    assert "studio" not in net.interface_endpoints
    assert net.studio_security_group is not None
