"""Scoped acknowledgments of compliance findings (cdk-nag v3 reads them)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one finding ``rule`` on ``scope`` only, with the evidence in ``reason``.

    ``rule`` is a cdk-nag rule ID such as ``AwsSolutions-S1``, optionally with a finding
    ID (``AwsSolutions-IAM5[Resource::...]``) so that only one action or resource is
    acknowledged, never the whole rule.
    """
    pack = rule.split("-", 1)[0]
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{pack}::{rule}", reason=reason))


def acknowledge_wildcard_resource(scope: IConstruct, arn: str, reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for the one resource ``arn`` (which may hold tokens)."""
    rendered = _render(Stack.of(scope).resolve(arn))
    acknowledge(scope, f"AwsSolutions-IAM5[Resource::{rendered}]", reason)


def _render(value: Any) -> str:
    """Render a resolved CloudFormation value the way cdk-nag names it in finding IDs."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return f"<{arg}>"
        if fn == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if fn == "Fn::Join":
            sep, parts = arg
            return str(sep).join(_render(p) for p in parts)
    raise ValueError(f"cannot name {value!r} as a cdk-nag finding")


def skip_checkov(resource: CfnResource, checks: dict[str, str]) -> None:
    """Record checkov findings judged by hand on ``resource``, each with its reason.

    checkov reads ``Metadata.checkov.skip`` of a CloudFormation resource
    (https://www.checkov.io/2.Basics/Suppressing%20and%20Skipping%20Policies.html).
    """
    resource.add_metadata(
        "checkov",
        {"skip": [{"id": check, "comment": reason} for check, reason in sorted(checks.items())]},
    )
