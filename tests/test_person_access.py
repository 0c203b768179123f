"""PersonAccess: one person, their own notebook and profile, only through the network."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from sagemaker_constructs import ConstructValidationError, NotebookInstance, NotebookNetwork
from sagemaker_constructs.governance import PersonAccess
from tests.conftest import Synthesized, new_stack


@pytest.fixture(scope="module")
def access():
    stack = new_stack()
    net = NotebookNetwork(stack, "Net")
    mine = NotebookInstance(
        stack, "Mine", vpc=net.vpc, security_groups=[net.notebook_security_group]
    )
    PersonAccess(
        stack,
        "Alice",
        person="alice",
        notebooks=[mine],
        vpc_endpoints=[net.interface_endpoints["notebook"]],
        source_ip_ranges=["203.0.113.0/24"],
        managed_policy_name="team-alice-access",
    )
    t = Template.from_stack(stack)
    (policy,) = [
        p["Properties"]
        for p in t.find_resources("AWS::IAM::ManagedPolicy").values()
        if p["Properties"].get("ManagedPolicyName") == "team-alice-access"
    ]
    return stack, mine, net, {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def test_allows_only_her_notebook_through_the_endpoint_or_the_range(access):
    stack, mine, net, statements = access
    arn = stack.resolve(mine.notebook_instance_arn)
    vpce = stack.resolve(net.interface_endpoints["notebook"].vpc_endpoint_id)
    through = statements["OpenOwnNotebooksThroughTheEndpoints"]
    assert through["Effect"] == "Allow" and through["Resource"] == arn
    assert "sagemaker:CreatePresignedNotebookInstanceUrl" in through["Action"]
    assert through["Condition"] == {"StringEquals": {"aws:SourceVpce": [vpce]}}
    ranges = statements["OpenOwnNotebooksFromAllowedRanges"]
    assert ranges["Condition"] == {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}
    allowed = [s for s in statements.values() if s["Effect"] == "Allow"]
    assert all(s["Resource"] == arn for s in allowed)


def test_denies_other_notebooks_and_her_own_outside_the_network(access):
    stack, mine, net, statements = access
    arn = stack.resolve(mine.notebook_instance_arn)
    others = statements["DenyOtherPeoplesNotebooksAndProfiles"]
    assert others["Effect"] == "Deny" and others["NotResource"] == arn
    assert "sagemaker:CreatePresignedNotebookInstanceUrl" in others["Action"]
    outside = statements["DenyOwnNotebooksOutsideTheNetwork"]
    assert outside["Effect"] == "Deny" and outside["Resource"] == arn
    assert set(outside["Condition"]) == {"StringNotEquals", "NotIpAddress"}


def test_every_problem_is_reported_at_once():
    stack = new_stack()
    with pytest.raises(ConstructValidationError) as err:
        PersonAccess(stack, "Nobody", person="", source_ip_ranges=["300.1.1.0/24"])
    message = str(err.value)
    for prop in ("person", "notebooks", "source_ip_ranges[0]", "300.1.1.0/24"):
        assert prop in message
    assert "vpc_endpoints" not in message  # a range was given


def test_example_gives_each_person_a_named_policy(example: Synthesized):
    for team, stack in example.built.teams.items():
        for user, access in stack.person_access.items():
            doc = Template.from_stack(type(stack).of(access)).to_json()
            name = f"sagemaker-{team}-{user}-access"
            assert name in str(doc), name
    assert sum(len(s.person_access) for s in example.built.teams.values()) >= len(
        [nb for s in example.built.teams.values() for nb in s.notebooks]
    )


def test_vpc_endpoint_only_access_has_no_ip_statement():
    stack = new_stack()
    net = NotebookNetwork(stack, "Net")
    nb = NotebookInstance(stack, "Nb", vpc=net.vpc, security_groups=[net.notebook_security_group])
    access = PersonAccess(
        stack,
        "Bob",
        person="bob",
        notebooks=[nb],
        vpc_endpoints=[net.interface_endpoints["notebook"]],
    )
    doc = stack.resolve(access.policy.document.to_json())
    sids = {s["Sid"] for s in doc["Statement"]}
    assert "OpenOwnNotebooksFromAllowedRanges" not in sids
    (outside,) = [s for s in doc["Statement"] if s["Sid"] == "DenyOwnNotebooksOutsideTheNetwork"]
    assert set(outside["Condition"]) == {"StringNotEquals"}
