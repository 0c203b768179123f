"""The synthesized schedules, budget, alarm and metric filter, created through moto's APIs.

moto's CloudFormation skips these four types (tests/deploy names them unmodeled), so here
each resource's own template properties go to the service API instead: botocore checks
them against the service's API model (required members, types, unknown members, minimum
lengths) and moto stores them. That cannot prove what neither checks: cron syntax, time
zone names, the universal target's action name, the Budgets tag filter's meaning, or that
SageMaker accepts the scheduler's input; nor that the services deliver to the topic.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from moto import mock_aws

from sagemaker_constructs import CustomStep, NotebookSetup
from tests.lifecycle.harness import Host

ACCOUNT = "123456789012"
REGION = "eu-west-1"
TEAM_STACK = "sagemaker-team-fraud"


def resolve(value: Any, refs: dict[str, str]) -> Any:
    """The template value with the few intrinsics these resources use filled in."""
    pseudo = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": REGION}
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return pseudo.get(value["Ref"]) or refs[value["Ref"]]
        if set(value) == {"Fn::GetAtt"}:
            return refs[".".join(value["Fn::GetAtt"])]
        if set(value) == {"Fn::Join"}:
            sep, parts = value["Fn::Join"]
            return sep.join(resolve(p, refs) for p in parts)
        return {k: resolve(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs) for v in value]
    return value


def of_type(template: dict, type_name: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_name}


@pytest.fixture(scope="module")
def fraud(example) -> dict:
    return example.template_json(TEAM_STACK)


@pytest.fixture
def aws():
    with mock_aws():
        yield


def refs_for(template: dict) -> dict[str, str]:
    """Stand-in ARNs for the team's own resources that the four types reference."""
    refs = {}
    for logical in of_type(template, "AWS::IAM::Role"):
        refs[f"{logical}.Arn"] = f"arn:aws:iam::{ACCOUNT}:role/{logical}"
    for logical in of_type(template, "AWS::SNS::Topic"):
        refs[logical] = f"arn:aws:sns:{REGION}:{ACCOUNT}:{logical}"
    return refs


def test_schedules_are_accepted_by_the_scheduler_api(fraud, aws):
    client = boto3.client("scheduler", region_name=REGION)
    schedules = of_type(fraud, "AWS::Scheduler::Schedule")
    assert len(schedules) == 5  # 3 stops (carol's own hours), alice's and bob's starts
    for logical, resource in schedules.items():
        props = resolve(resource["Properties"], refs_for(fraud))
        client.create_schedule(Name=logical, **props)
        stored = client.get_schedule(Name=logical)
        assert stored["Target"]["Arn"].startswith("arn:aws:scheduler:::aws-sdk:sagemaker:")
        assert stored["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0
        assert json.loads(stored["Target"]["Input"])["NotebookInstanceName"].startswith("fraud-")


def test_scheduler_api_rejects_a_malformed_schedule(fraud, aws):
    """Negative control: the same properties without FlexibleTimeWindow are refused."""
    client = boto3.client("scheduler", region_name=REGION)
    props = resolve(
        next(iter(of_type(fraud, "AWS::Scheduler::Schedule").values()))["Properties"],
        refs_for(fraud),
    )
    del props["FlexibleTimeWindow"]
    with pytest.raises(ParamValidationError, match="FlexibleTimeWindow"):
        client.create_schedule(Name="broken", **props)


def budget_request(fraud) -> dict:
    (resource,) = of_type(fraud, "AWS::Budgets::Budget").values()
    props = resolve(resource["Properties"], refs_for(fraud))
    budget = props["Budget"]
    # CloudFormation types Spend.Amount and Threshold as numbers; the API takes a string
    # amount and a float threshold.
    budget["BudgetLimit"]["Amount"] = str(budget["BudgetLimit"]["Amount"])
    budget["BudgetName"] = "fraud"
    for item in props["NotificationsWithSubscribers"]:
        item["Notification"]["Threshold"] = float(item["Notification"]["Threshold"])
    return {"AccountId": ACCOUNT, **props}


def test_budget_is_accepted_by_the_budgets_api(fraud, aws):
    client = boto3.client("budgets", region_name="us-east-1")
    client.create_budget(**budget_request(fraud))
    stored = client.describe_budget(AccountId=ACCOUNT, BudgetName="fraud")["Budget"]
    assert stored["CostFilters"] == {"TagKeyValue": ["user:cost-center$cc-1001"]}
    assert float(stored["BudgetLimit"]["Amount"]) == 1500
    notes = client.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName="fraud")
    assert sorted(n["Threshold"] for n in notes["Notifications"]) == [80.0, 100.0]


def test_budgets_api_rejects_a_malformed_budget(fraud, aws):
    client = boto3.client("budgets", region_name="us-east-1")
    request = budget_request(fraud)
    request["Budget"]["TimeUnit"] = 12  # negative control: a number where a string goes
    with pytest.raises(ParamValidationError, match="TimeUnit"):
        client.create_budget(**request)


def test_alarm_is_accepted_by_the_cloudwatch_api(fraud, aws):
    client = boto3.client("cloudwatch", region_name=REGION)
    (resource,) = of_type(fraud, "AWS::CloudWatch::Alarm").values()
    props = resolve(resource["Properties"], refs_for(fraud))
    client.put_metric_alarm(AlarmName="fraud-lifecycle", **props)
    (alarm,) = client.describe_alarms(AlarmNames=["fraud-lifecycle"])["MetricAlarms"]
    assert alarm["AlarmActions"] == [refs_for(fraud)["AlertsTopicCF7C81C9"]]
    assert alarm["TreatMissingData"] == "notBreaching"
    props["Period"] = "300"  # negative control: a string where an integer goes
    with pytest.raises(ParamValidationError, match="Period"):
        client.put_metric_alarm(AlarmName="broken", **props)


def lifecycle_lines(tmp_path) -> tuple[list[str], list[str]]:
    """Lines the real runner prints for a failing start, and for one that succeeds with a
    failed optional step (which must not alarm)."""
    host = Host(tmp_path / "host")
    try:
        failing = host.run(
            NotebookSetup(
                steps=[CustomStep(name="must-pass", on_start="echo checking\nexit 3")]
            ).on_start_text()
        )
        ok = host.run(
            NotebookSetup(
                steps=[
                    CustomStep(name="fine", on_start="echo fine"),
                    CustomStep(name="may-fail", on_start="exit 5", optional=True),
                ]
            ).on_start_text()
        )
    finally:
        host.close()
    assert failing.returncode == 3 and ok.returncode == 0, (failing.output, ok.output)
    assert "step may-fail: FAILED (optional" in ok.output, ok.output
    return failing.output.splitlines(), ok.output.splitlines()


def test_metric_filter_matches_the_runners_failure_line_only(fraud, aws, tmp_path):
    (resource,) = of_type(fraud, "AWS::Logs::MetricFilter").values()
    props = resolve(resource["Properties"], refs_for(fraud))
    group = props["LogGroupName"]
    client = boto3.client("logs", region_name=REGION)
    client.create_log_group(logGroupName=group)
    client.put_metric_filter(
        logGroupName=group,
        filterName="fraud-lifecycle",
        filterPattern=props["FilterPattern"],
        # The Logs API spells CloudFormation's PascalCase members in camelCase.
        metricTransformations=[
            {k[0].lower() + k[1:]: v for k, v in t.items()} for t in props["MetricTransformations"]
        ],
    )
    (stored,) = client.describe_metric_filters(logGroupName=group)["metricFilters"]
    assert stored["filterPattern"] == props["FilterPattern"]

    failing, ok = lifecycle_lines(tmp_path)
    now = int(time.time() * 1000)
    for stream, lines in (
        ("fraud-alice/LifecycleConfigOnStart", failing),
        ("fraud-bob/LifecycleConfigOnStart", ok),
    ):
        client.create_log_stream(logGroupName=group, logStreamName=stream)
        client.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(lines)],
        )
    events = client.filter_log_events(logGroupName=group, filterPattern=props["FilterPattern"])[
        "events"
    ]
    assert [e["logStreamName"] for e in events] == ["fraud-alice/LifecycleConfigOnStart"]
    assert events[0]["message"].endswith("step must-pass: FAILED with exit code 3")
    # Negative control: the pattern is not one that matches everything.
    everything = client.filter_log_events(logGroupName=group)["events"]
    assert len(everything) == len(failing) + len(ok) > len(events)
