"""NotebookSchedules, TeamAlerts and TeamBudget on their own."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from sagemaker_constructs import (
    ConstructValidationError,
    NotebookInstance,
    NotebookSchedules,
    OfficeHours,
    TeamAlerts,
    TeamBudget,
)
from tests.conftest import new_stack
from tests.test_notebook_instance import isolated_vpc

SCHEDULE = "AWS::Scheduler::Schedule"


def notebooks(stack, *names):
    vpc = isolated_vpc(stack)
    return [
        NotebookInstance(stack, f"Notebook-{n}", vpc=vpc, notebook_instance_name=f"ds-{n}")
        for n in names
    ]


def test_stop_every_evening_start_on_working_days_in_the_time_zone():
    stack = new_stack()
    alice, bob = notebooks(stack, "alice", "bob")
    berlin = OfficeHours(
        time_zone="Europe/Berlin", start="07:30", stop="18:15", start_notebooks=True
    )
    NotebookSchedules(
        stack, "Hours", notebooks=[(alice, berlin), (bob, OfficeHours(time_zone="UTC"))]
    )
    template = Template.from_stack(stack)
    template.resource_count_is(SCHEDULE, 3)  # bob is only stopped
    template.has_resource_properties(
        SCHEDULE,
        {
            "ScheduleExpression": "cron(15 18 ? * * *)",
            "ScheduleExpressionTimezone": "Europe/Berlin",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": Match.object_like(
                {
                    "Input": json.dumps({"NotebookInstanceName": "ds-alice"}),
                    "RetryPolicy": {"MaximumRetryAttempts": 0},
                }
            ),
        },
    )
    template.has_resource_properties(
        SCHEDULE,
        {
            "ScheduleExpression": "cron(30 7 ? * MON-FRI *)",
            "Target": Match.object_like(
                {
                    "Arn": {
                        "Fn::Join": [
                            "",
                            [
                                "arn:",
                                {"Ref": "AWS::Partition"},
                                ":scheduler:::aws-sdk:sagemaker:startNotebookInstance",
                            ],
                        ]
                    }
                }
            ),
        },
    )
    # Nothing retained: a schedule holds no one's work.
    for resource in template.find_resources(SCHEDULE).values():
        assert "DeletionPolicy" not in resource


def test_bad_office_hours_are_one_error_listing_each():
    stack = new_stack()
    (alice,) = notebooks(stack, "alice")
    hours = OfficeHours(time_zone="Berlin", start="9:00", stop="19:00", days="WEEKDAYS")
    with pytest.raises(ConstructValidationError) as err:
        NotebookSchedules(stack, "Hours", notebooks=[(alice, hours)])
    text = str(err.value)
    assert "3 invalid properties" in text
    assert "notebooks[0].office_hours.time_zone: got 'Berlin'" in text
    assert "notebooks[0].office_hours.start: got '9:00'" in text
    assert "notebooks[0].office_hours.days: got 'WEEKDAYS'" in text


def test_stop_not_after_start_is_rejected():
    stack = new_stack()
    (alice,) = notebooks(stack, "alice")
    with pytest.raises(ConstructValidationError, match=r"office_hours.stop: got '08:00'"):
        NotebookSchedules(
            stack, "Hours", notebooks=[(alice, OfficeHours(time_zone="UTC", stop="08:00"))]
        )


def alerts(stack, **props):
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    return TeamAlerts(stack, "Alerts", team_name="fraud", encryption_key=key, **props)


def test_alert_topic_is_encrypted_and_the_alarm_notifies_it():
    stack = new_stack()
    alerts(stack, email_subscriptions=["team@example.com"])
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "team@example.com"}
    )
    template.has_resource_properties(
        "AWS::Logs::MetricFilter",
        {
            "FilterPattern": '"FAILED with exit code"',
            "LogGroupName": "/aws/sagemaker/NotebookInstances",
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Threshold": 1,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": Match.string_like_regexp("AlertsTopic")}],
        },
    )


def test_studio_failures_count_into_the_same_alarm_when_asked():
    stack = new_stack()
    plain = alerts(stack)
    assert plain.studio_metric_filter is None
    Template.from_stack(stack).resource_count_is("AWS::Logs::MetricFilter", 1)

    stack = new_stack()
    with_studio = alerts(stack, studio_log_group_name="/aws/sagemaker/studio")
    template = Template.from_stack(stack)
    filters = template.find_resources("AWS::Logs::MetricFilter")
    assert len(filters) == 2 and with_studio.studio_metric_filter is not None
    by_group = {f["Properties"]["LogGroupName"]: f["Properties"] for f in filters.values()}
    assert set(by_group) == {"/aws/sagemaker/NotebookInstances", "/aws/sagemaker/studio"}
    notebook, studio = by_group.values()
    # The same line into the same metric: one alarm covers both.
    assert studio["FilterPattern"] == notebook["FilterPattern"] == '"FAILED with exit code"'
    assert studio["MetricTransformations"] == notebook["MetricTransformations"]
    template.resource_count_is("AWS::CloudWatch::Alarm", 1)
    (alarm,) = template.find_resources("AWS::CloudWatch::Alarm").values()
    assert "/aws/sagemaker/studio" in alarm["Properties"]["AlarmDescription"]


def test_bad_email_is_rejected():
    stack = new_stack()
    with pytest.raises(ConstructValidationError, match=r"email_subscriptions\[1\]: got 'nobody'"):
        alerts(stack, email_subscriptions=["ok@example.com", "nobody"])


def budget(stack, **props):
    topic = sns.Topic(stack, "Topic")
    props.setdefault("monthly_limit_usd", 500)
    return TeamBudget(
        stack, "Budget", tag_key="cost-center", tag_value="cc-1", topic=topic, **props
    )


def test_budget_filters_on_the_tag_and_notifies_at_each_threshold():
    stack = new_stack()
    budget(stack, thresholds_percent=[50, 90, 100])
    (resource,) = Template.from_stack(stack).find_resources("AWS::Budgets::Budget").values()
    props = resource["Properties"]
    assert props["Budget"]["CostFilters"] == {"TagKeyValue": ["user:cost-center$cc-1"]}
    assert props["Budget"]["BudgetLimit"] == {"Amount": 500, "Unit": "USD"}
    assert props["Budget"]["TimeUnit"] == "MONTHLY"
    thresholds = [n["Notification"]["Threshold"] for n in props["NotificationsWithSubscribers"]]
    assert thresholds == [50, 90, 100]


def test_bad_budget_is_one_error_listing_each():
    stack = new_stack()
    with pytest.raises(ConstructValidationError) as err:
        budget(stack, monthly_limit_usd=0, thresholds_percent=[80, -1, 80])
    text = str(err.value)
    assert "monthly_limit_usd: got 0" in text
    assert "thresholds_percent[1]: got -1" in text
    assert "thresholds_percent: got [80, -1, 80]; allowed: distinct values" in text
