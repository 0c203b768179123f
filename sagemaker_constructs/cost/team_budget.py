"""A monthly cost budget for a team, filtered by its cost-allocation tag."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Token
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_sns as sns
from constructs import Construct

from sagemaker_constructs._validation import Problems

MAX_NOTIFICATIONS = 10  # per budget, AWS Budgets quota


class TeamBudget(Construct):
    """An ``AWS::Budgets::Budget``: monthly cost of one tag value, alerts to a topic.

    The budget counts the cost of resources tagged ``tag_key=tag_value``. AWS Budgets sees
    a tag only after it is activated as a cost-allocation tag in the Billing console
    (Cost allocation tags); until then the budget reports zero. Each threshold is a
    notification (actual cost greater than that percentage of the limit) to ``topic``.

    Attributes:
        resource: The ``AWS::Budgets::Budget``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        monthly_limit_usd: float,
        tag_key: str,
        tag_value: str,
        topic: sns.ITopic,
        thresholds_percent: Sequence[float] = (80, 100),
    ) -> None:
        """Create the budget.

        Args:
            monthly_limit_usd: The monthly limit in US dollars, more than 0.
            tag_key: The cost-allocation tag key (``cost-center``).
            tag_value: The team's value of it.
            topic: Where notifications go (its policy must let budgets.amazonaws.com
                publish; :class:`TeamAlerts` does).
            thresholds_percent: Percentages of the limit that notify, each from 1 to
                1000, at most 10. Default 80 and 100.
        """
        super().__init__(scope, id)
        problems = Problems(self)
        if not Token.is_unresolved(monthly_limit_usd) and not (
            isinstance(monthly_limit_usd, int | float)
            and not isinstance(monthly_limit_usd, bool)
            and 0 < monthly_limit_usd <= 1e9
        ):
            problems.add("monthly_limit_usd", monthly_limit_usd, "a number of dollars above 0")
        if not 1 <= len(thresholds_percent) <= MAX_NOTIFICATIONS:
            problems.add(
                "thresholds_percent", list(thresholds_percent), f"1 to {MAX_NOTIFICATIONS} values"
            )
        for index, value in enumerate(thresholds_percent):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (0 < value <= 1000)
            ):
                problems.add(
                    f"thresholds_percent[{index}]", value, "a percentage above 0, at most 1000"
                )
        if len(set(thresholds_percent)) != len(thresholds_percent):
            problems.add("thresholds_percent", list(thresholds_percent), "distinct values")
        problems.raise_if_any()

        self.resource = budgets.CfnBudget(
            self,
            "Resource",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=monthly_limit_usd, unit="USD"),
                # User-defined cost-allocation tags are filtered as "user:<key>$<value>".
                cost_filters={"TagKeyValue": [f"user:{tag_key}${tag_value}"]},
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type="ACTUAL",
                        comparison_operator="GREATER_THAN",
                        threshold=value,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=[
                        budgets.CfnBudget.SubscriberProperty(
                            subscription_type="SNS", address=topic.topic_arn
                        )
                    ],
                )
                for value in thresholds_percent
            ],
        )
