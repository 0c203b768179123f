"""The office-hours scheduler role can stop its team's notebooks and no one else's.

Decided by moto's IAM policy evaluator (``moto.iam.access_control.IAMPolicy``), not by
this project's code, on the policy documents synthesized for the example app. moto's
server authorises SageMaker calls against resource ``*`` (see the isolation tests), so
the evaluator is called with each notebook's ARN directly.
"""

from __future__ import annotations

import json

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from tests.cost.test_cost_moto import ACCOUNT, REGION, of_type, resolve


def notebook_arn(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{name}"


@pytest.fixture(scope="module")
def scheduler_policy(example) -> IAMPolicy:
    template = example.template_json("sagemaker-team-fraud")
    roles = {
        k: r
        for k, r in of_type(template, "AWS::IAM::Role").items()
        if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "scheduler.amazonaws.com"}
    }
    (role,) = roles
    (policy,) = [
        p
        for p in of_type(template, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role} in p["Properties"].get("Roles", [])
    ]
    return IAMPolicy(json.dumps(resolve(policy["Properties"]["PolicyDocument"], {})))


@pytest.mark.parametrize("name", ["fraud-alice", "fraud-bob", "fraud-carol"])
@pytest.mark.parametrize(
    "action", ["sagemaker:StopNotebookInstance", "sagemaker:StartNotebookInstance"]
)
def test_role_may_stop_and_start_its_teams_notebooks(scheduler_policy, name, action):
    assert scheduler_policy.is_action_permitted(action, notebook_arn(name)) == (
        PermissionResult.PERMITTED
    )


@pytest.mark.parametrize(
    "resource", [notebook_arn("forecasting-dave"), notebook_arn("vision-frank"), "*"]
)
def test_role_cannot_stop_another_teams_notebook(scheduler_policy, resource):
    result = scheduler_policy.is_action_permitted("sagemaker:StopNotebookInstance", resource)
    assert result != PermissionResult.PERMITTED


def test_role_can_do_nothing_else_to_its_own_notebooks(scheduler_policy):
    for action in ("sagemaker:DeleteNotebookInstance", "sagemaker:UpdateNotebookInstance"):
        result = scheduler_policy.is_action_permitted(action, notebook_arn("fraud-alice"))
        assert result != PermissionResult.PERMITTED, action


def test_evaluator_permits_another_team_under_a_wildcard_policy():
    """Negative control: the evaluator does say yes to a policy that allows it."""
    loose = IAMPolicy(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sagemaker:StopNotebookInstance",
                        "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/*",
                    }
                ],
            }
        )
    )
    result = loose.is_action_permitted(
        "sagemaker:StopNotebookInstance", notebook_arn("forecasting-dave")
    )
    assert result == PermissionResult.PERMITTED


def test_only_the_scheduler_of_this_account_may_assume_it(example):
    template = example.template_json("sagemaker-team-fraud")
    (statement,) = [
        r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        for k, r in of_type(template, "AWS::IAM::Role").items()
        if k.startswith("OfficeHoursRole")
    ]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }
