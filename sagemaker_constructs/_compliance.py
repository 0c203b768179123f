"""Scoped acknowledgments of compliance findings (cdk-nag v3 reads them)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct

# One attribute on a construct's Python object (constructs created from Python keep one
# object for their life; one handed back by node may be a new object each time, so the
# cache is then only missed, never wrong). It saves the round trips to node for values
# that cannot change: a construct's ``Validations``, a stack's resolved tokens.
_CACHE = "_sagemaker_constructs_cache"


def construct_cache(construct: IConstruct) -> dict[str, Any]:
    """A dict kept on ``construct``'s Python object, for values computed once per construct."""
    cache: dict[str, Any] | None = getattr(construct, _CACHE, None)
    if cache is None:
        cache = {}
        # jsii's proxy of an interface (an imported subnet, say) takes no attribute.
        with contextlib.suppress(AttributeError):
            setattr(construct, _CACHE, cache)
    return cache


def read_once(construct: IConstruct, attribute: str) -> Any:
    """``getattr(construct, attribute)``, read from node once per Python object.

    Only for attributes that never change once the construct exists (a key's ARN, a
    security group's ID): the constructs that share one read it once.
    """
    cache = construct_cache(construct)
    key = f"attribute:{attribute}"
    if key not in cache:
        cache[key] = getattr(construct, attribute)
    return cache[key]


def _validations(scope: IConstruct) -> Validations:
    cache = construct_cache(scope)
    found: Validations | None = cache.get("validations")
    if found is None:
        found = cache["validations"] = Validations.of(scope)
    return found


def acknowledge(scope: IConstruct, rule: str | Sequence[str], reason: str) -> None:
    """Acknowledge one finding ``rule`` on ``scope`` only, with the evidence in ``reason``.

    ``rule`` is a cdk-nag rule ID such as ``AwsSolutions-S1``, optionally with a finding
    ID (``AwsSolutions-IAM5[Resource::...]``) so that only one action or resource is
    acknowledged, never the whole rule. Several rule IDs with the same evidence (the same
    rule of several packs, say) may be given as a list: each is acknowledged.
    """
    rules = [rule] if isinstance(rule, str) else list(rule)
    acknowledge_all(scope, [(one, reason) for one in rules])


def acknowledge_all(scope: IConstruct, findings: Sequence[tuple[str, str]]) -> None:
    """:func:`acknowledge` each ``(rule, reason)`` of ``findings`` on ``scope``, in order.

    One call to node for all of them (``Validations.acknowledge`` takes several and
    records them one by one, as separate calls would).
    """
    _validations(scope).acknowledge(
        *(
            Acknowledgment(id=f"{rule.split('-', 1)[0]}::{rule}", reason=reason)
            for rule, reason in findings
        )
    )


def acknowledge_wildcard_resource(scope: IConstruct, arn: str, reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for the one resource ``arn`` (which may hold tokens)."""
    acknowledge(scope, wildcard_resource_rule(scope, arn), reason)


def wildcard_resource_rule(scope: IConstruct, arn: str, stack: Stack | None = None) -> str:
    """The AwsSolutions-IAM5 finding ID of the one resource ``arn`` in ``scope``'s stack
    (``stack``, when the caller has it: saves a round trip to node)."""
    return f"AwsSolutions-IAM5[Resource::{render_in(stack or Stack.of(scope), arn)}]"


# aws-cdk-lib's marker of a string token (``${Token[TOKEN.123]}``, ``${Token[AWS.Region.9]}``).
_STRING_TOKEN = re.compile(r"\$\{Token\[[a-zA-Z0-9:._-]+\]\}")


def render_in(stack: Stack, value: Any) -> str:
    """``_render(stack.resolve(value))``, resolving each distinct token once per stack.

    A string with tokens resolves to the ``Fn::Join`` of its literal pieces and its
    tokens' values, and :func:`_render` of a join is the concatenation of its parts'
    renderings: so the string's rendering is its literal pieces and its tokens'
    renderings, in order. Each token's rendering is kept on the stack.
    """
    if not isinstance(value, str):
        return _render(stack.resolve(value))
    tokens: dict[str, str] = construct_cache(stack).setdefault("rendered_tokens", {})
    parts = []
    position = 0
    for match in _STRING_TOKEN.finditer(value):
        parts.append(value[position : match.start()])
        marker = match.group(0)
        if marker not in tokens:
            tokens[marker] = _render(stack.resolve(marker))
        parts.append(tokens[marker])
        position = match.end()
    parts.append(value[position:])
    return "".join(parts)


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
