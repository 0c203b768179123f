"""A team's alert topic and the alarm on failed notebook lifecycle steps."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from sagemaker_constructs._defaults import NOTEBOOK_LOG_GROUP_NAME
from sagemaker_constructs._validation import Problems

#: The phrase every failed step of the lifecycle runner prints (lifecycle_scripts/runner.sh,
#: ``smc_log "step <name>: FAILED with exit code <rc>"``); a quoted term in a CloudWatch
#: Logs filter pattern matches that exact phrase, case-sensitively
#: (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html).
FAILURE_PHRASE = "FAILED with exit code"
FAILURE_PATTERN = f'"{FAILURE_PHRASE}"'
METRIC_NAMESPACE = "SageMakerConstructs"
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class TeamAlerts(Construct):
    """An SNS topic for a team, and an alarm on failed lifecycle steps that notifies it.

    The topic is encrypted with ``encryption_key`` (CloudWatch and AWS Budgets are allowed
    to use the key to publish) and accepts only TLS. A metric filter on the notebook log
    group counts the lines where a lifecycle step failed; the alarm goes off on the first
    one within five minutes. Missing data (no failures) is not breaching.

    The runner's failure line does not name the notebook and a metric filter sees every
    stream of its log group, so a team's alarm counts failures of every notebook that logs
    to the group, not only its own.

    With ``studio_log_group_name``, a second filter counts the same line in the Studio log
    group into the same metric: Studio start scripts print it through the same runner, to
    SageMaker's ``LifecycleConfigOnStart`` stream and (detached steps) to their own streams.
    That group is one per account and region, shared by every team's spaces, and the line
    does not name the space: the alarm counts every Studio app's failures.

    Attributes:
        topic: The team's topic.
        metric_filter: The filter on the notebook log group.
        studio_metric_filter: The filter on the Studio log group, if asked for.
        alarm: The lifecycle failure alarm.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        team_name: str,
        encryption_key: kms.IKey,
        email_subscriptions: Sequence[str] = (),
        log_group_name: str = NOTEBOOK_LOG_GROUP_NAME,
        studio_log_group_name: str | None = None,
    ) -> None:
        """Create the topic, filter and alarm.

        Args:
            team_name: The team's name, in the metric name and descriptions.
            encryption_key: Key of the topic. Its policy gains use by CloudWatch and
                Budgets (to publish to the topic).
            email_subscriptions: Addresses subscribed to the topic. Default none.
            log_group_name: Log group the lifecycle scripts write to. Default
                ``/aws/sagemaker/NotebookInstances``.
            studio_log_group_name: The Studio log group (``/aws/sagemaker/studio``) to
                count Studio lifecycle failures in as well. Default: none (notebooks only).
        """
        super().__init__(scope, id)
        problems = Problems(self)
        for index, address in enumerate(email_subscriptions):
            problems.pattern(
                f"email_subscriptions[{index}]", address, EMAIL_PATTERN, "an e-mail address"
            )
        problems.kms_key("encryption_key", encryption_key, required=True)
        problems.raise_if_any()

        encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"PublishAlerts{team_name.title().replace('-', '')}",
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("budgets.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name=f"SageMaker alerts of team {team_name}",
            master_key=encryption_key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BudgetsPublish",
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
            )
        )
        for address in email_subscriptions:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))

        metric_name = f"LifecycleStepFailures-{team_name}"
        self.metric_filter = logs.MetricFilter(
            self,
            "LifecycleFailures",
            log_group=logs.LogGroup.from_log_group_name(self, "LogGroup", log_group_name),
            filter_pattern=logs.FilterPattern.literal(FAILURE_PATTERN),
            metric_namespace=METRIC_NAMESPACE,
            metric_name=metric_name,
            metric_value="1",
        )
        self.studio_metric_filter: logs.MetricFilter | None = None
        if studio_log_group_name is not None:
            self.studio_metric_filter = logs.MetricFilter(
                self,
                "StudioLifecycleFailures",
                log_group=logs.LogGroup.from_log_group_name(
                    self, "StudioLogGroup", studio_log_group_name
                ),
                filter_pattern=logs.FilterPattern.literal(FAILURE_PATTERN),
                metric_namespace=METRIC_NAMESPACE,
                metric_name=metric_name,
                metric_value="1",
            )
        self.alarm = cloudwatch.Alarm(
            self,
            "LifecycleFailureAlarm",
            alarm_description=(
                f"A notebook lifecycle step failed (team {team_name}); read the notebook's "
                "LifecycleConfigOnStart/OnCreate log stream"
                + (
                    f", or a Studio app's in {studio_log_group_name}"
                    if studio_log_group_name is not None
                    else ""
                )
            ),
            metric=cloudwatch.Metric(
                namespace=METRIC_NAMESPACE,
                metric_name=metric_name,
                statistic="Sum",
                period=Duration.minutes(5),
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
