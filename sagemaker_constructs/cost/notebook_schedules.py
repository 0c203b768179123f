"""EventBridge Scheduler schedules that stop a team's notebooks outside office hours."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from sagemaker_constructs._validation import Problems
from sagemaker_constructs.cost.office_hours import OfficeHours
from sagemaker_constructs.notebooks.notebook_instance import INotebookInstance

# Universal target form arn:aws:scheduler:::aws-sdk:<service>:<apiAction>
# (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html).
STOP_ACTION = "stopNotebookInstance"
START_ACTION = "startNotebookInstance"


class NotebookSchedules(Construct):
    """Stops each notebook every day at the end of its office hours (and starts it).

    One ``AWS::Scheduler::Schedule`` per notebook stops it (universal target
    ``sagemaker:stopNotebookInstance``); one more starts it when its hours say
    ``start_notebooks``. The schedules run as one role, trusted by
    ``scheduler.amazonaws.com`` for this account only, whose customer-managed policy names
    exactly these notebooks' ARNs: it cannot stop or start any other notebook.

    A stop call on a notebook that is already stopped is rejected by SageMaker; the
    schedules do not retry (``MaximumRetryAttempts`` 0) and have no dead-letter queue, so
    that case is one failed invocation in the schedule's metrics, not an alarm or a
    retry storm. Schedules hold no one's work: they are deleted with the stack.

    Attributes:
        role: The schedules' execution role.
        policy: Its customer-managed policy.
        stop_schedules: Stop schedule per notebook name.
        start_schedules: Start schedule per notebook name (only those that start).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        notebooks: Sequence[tuple[INotebookInstance, OfficeHours]],
        description: str = "Stops notebooks outside office hours",
    ) -> None:
        """Create the schedules.

        Args:
            notebooks: Each notebook with its office hours (a team's hours, or a
                notebook's own override).
            description: Description of the role.
        """
        super().__init__(scope, id)
        problems = Problems(self)
        if not notebooks:
            problems.add("notebooks", [], "at least one notebook")
        for index, (_, hours) in enumerate(notebooks):
            hours.check(problems, f"notebooks[{index}].office_hours")
        problems.raise_if_any()

        stack = Stack.of(self)
        arns = [
            stack.format_arn(
                service="sagemaker",
                resource="notebook-instance",
                resource_name=nb.notebook_instance_name.lower(),
            )
            for nb, _ in notebooks
        ]
        actions = ["sagemaker:StopNotebookInstance"]
        if any(hours.start_notebooks for _, hours in notebooks):
            actions.append("sagemaker:StartNotebookInstance")
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description=description,
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="Stop (and start) only the notebooks these schedules name",
            statements=[
                iam.PolicyStatement(sid="StopStartOwnNotebooks", actions=actions, resources=arns)
            ],
            roles=[self.role],
        )

        self.stop_schedules: dict[str, scheduler.CfnSchedule] = {}
        self.start_schedules: dict[str, scheduler.CfnSchedule] = {}
        for nb, hours in notebooks:
            name = nb.notebook_instance_name
            self.stop_schedules[name] = self._schedule(
                f"Stop-{nb.node.id}", name, STOP_ACTION, hours.stop_expression(), hours
            )
            if hours.start_notebooks:
                self.start_schedules[name] = self._schedule(
                    f"Start-{nb.node.id}", name, START_ACTION, hours.start_expression(), hours
                )

    def _schedule(
        self, id: str, notebook: str, action: str, expression: str, hours: OfficeHours
    ) -> scheduler.CfnSchedule:
        schedule = scheduler.CfnSchedule(
            self,
            id,
            description=f"{action} {notebook} ({hours.start}-{hours.stop} {hours.days})",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            schedule_expression=expression,
            schedule_expression_timezone=hours.time_zone,
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=f"arn:{Aws.PARTITION}:scheduler:::aws-sdk:sagemaker:{action}",
                role_arn=self.role.role_arn,
                input=json.dumps({"NotebookInstanceName": notebook}),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=0),
            ),
        )
        schedule.node.add_dependency(self.policy)
        return schedule
