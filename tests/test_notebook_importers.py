"""NotebookInstance importers: an existing notebook used by the constructs that take one."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from sagemaker_constructs import (
    ConstructValidationError,
    INotebookInstance,
    NotebookInstance,
    NotebookSchedules,
    OfficeHours,
)
from sagemaker_constructs.governance import PersonAccess
from tests.conftest import new_stack


def test_an_imported_notebook_is_named_in_a_person_policy():
    stack = new_stack()
    theirs = NotebookInstance.from_notebook_instance_name(stack, "Theirs", "Fraud-Alice")
    assert isinstance(theirs, INotebookInstance)
    PersonAccess(
        stack, "Alice", person="alice", notebooks=[theirs], source_ip_ranges=["203.0.113.0/24"]
    )
    policies = Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy")
    text = json.dumps(policies)
    # ARNs carry the name in lower case; the upper-case form would never match.
    assert "notebook-instance/fraud-alice" in text
    assert "Fraud-Alice" not in text


def test_an_imported_notebook_gets_office_hours():
    stack = new_stack()
    theirs = NotebookInstance.from_notebook_instance_name(stack, "Theirs", "fraud-bob")
    NotebookSchedules(stack, "Hours", notebooks=[(theirs, OfficeHours(time_zone="Europe/Paris"))])
    schedules = Template.from_stack(stack).find_resources("AWS::Scheduler::Schedule")
    assert schedules, "no schedule for the imported notebook"
    assert all("fraud-bob" in json.dumps(s) for s in schedules.values())


def test_grants_to_an_imported_notebook_need_its_role():
    stack = new_stack()
    bucket = s3.Bucket(stack, "Data")
    without = NotebookInstance.from_notebook_instance_name(stack, "NoRole", "fraud-carol")
    # The grant calls back from jsii, which re-raises the error as a RuntimeError with its text.
    with pytest.raises(
        RuntimeError, match=r"role: got None; allowed: the notebook's execution role"
    ):
        bucket.grant_read(without)
    role = iam.Role.from_role_name(stack, "Role", "fraud-carol-role")
    withrole = NotebookInstance.from_notebook_instance_attributes(
        stack, "WithRole", notebook_instance_name="fraud-carol", role=role
    )
    bucket.grant_read(withrole)
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    assert any("fraud-carol-role" in json.dumps(p) for p in policies.values())


def test_an_invalid_imported_name_is_rejected():
    stack = new_stack()
    with pytest.raises(ConstructValidationError, match=r"notebook_instance_name: got 'bad_name!'"):
        NotebookInstance.from_notebook_instance_name(stack, "Bad", "bad_name!")
