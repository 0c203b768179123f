"""Collect every invalid property of a construct and raise them together.

Constructs validate their props in ``__init__``. Each check that fails adds one
problem (property, value received, what is allowed); :meth:`Problems.raise_if_any`
raises a single :class:`ConstructValidationError` listing all of them, so a user
fixes every mistake in one round instead of one per synth.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import RemovalPolicy, Token
from constructs import IConstruct


@dataclass(frozen=True)
class Problem:
    """One invalid property: its name, the value received and what is allowed."""

    prop: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        return f"{self.prop}: got {self.value!r}; allowed: {self.allowed}"


class ConstructValidationError(ValueError):
    """Raised at construction when one or more props are invalid.

    Attributes:
        construct_path: The construct path of the construct that rejected its props.
        problems: Every problem found, in the order the props were checked.
    """

    def __init__(self, construct_path: str, problems: Sequence[Problem]) -> None:
        self.construct_path = construct_path
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        noun = "property" if count == 1 else "properties"
        super().__init__(f"{construct_path}: {count} invalid {noun}:\n{lines}")


# How aws-cdk-lib encodes tokens: a string token is "${Token[NAME.N]}" inside the string,
# a list token's element "#{Token[NAME.N]}", a number token a double of magnitude about
# 2**960. A value that cannot be one is answered here, without a round trip to node; any
# other value is asked of ``Token.is_unresolved``, so the answer is always the CDK's.
_TOKEN_MARKERS = ("${Token[", "#{Token[")
_SMALLEST_NUMBER_TOKEN = 2.0**959


def is_token(value: Any) -> bool:
    """True when ``value`` is (or contains) an unresolved CDK token."""
    if isinstance(value, float) and not math.isfinite(value):
        return False  # NaN/inf are never tokens, and jsii cannot carry them
    if isinstance(value, str):
        return any(marker in value for marker in _TOKEN_MARKERS) and Token.is_unresolved(value)
    if isinstance(value, int | float):
        return abs(value) >= _SMALLEST_NUMBER_TOKEN and Token.is_unresolved(value)
    if isinstance(value, list | tuple):
        return any(is_token(v) for v in value)
    return False


def _tag_text_ok(text: str) -> bool:
    return all(c in " _.:/=+-@" or unicodedata.category(c)[0] in "LNZ" for c in text)


#: Tag limits of the SageMaker Studio resources (the registry schemas of
#: AWS::SageMaker::Domain, UserProfile, Space, AppImageConfig and StudioLifecycleConfig: a
#: value of 1 to 128 characters), stricter than the general AWS rule (0 to 256).
STUDIO_TAG_VALUE_LENGTH: tuple[int, int] = (1, 128)
#: ECR repositories take keys of at most 127 characters (AWS::ECR::Repository schema).
ECR_TAG_KEY_MAX_LENGTH = 127


def tag_problem(
    key: Any,
    value: Any,
    *,
    value_length: tuple[int, int] = (0, 256),
    key_max_length: int = 128,
) -> str | None:
    """What is wrong with one AWS tag, or ``None`` when it is valid.

    ``value_length`` and ``key_max_length`` narrow the general rule for resources with
    stricter limits (:data:`STUDIO_TAG_VALUE_LENGTH`, :data:`ECR_TAG_KEY_MAX_LENGTH`).
    """
    if not isinstance(key, str) or not isinstance(value, str):
        return "a string key and a string value"
    if (
        not 1 <= len(key) <= key_max_length
        or key.lower().startswith("aws:")
        or not _tag_text_ok(key)
    ):
        return (
            f"a key of 1 to {key_max_length} letters, digits, spaces or _.:/=+-@ not starting "
            "with 'aws:'"
        )
    low, high = value_length
    if not low <= len(value) <= high or not _tag_text_ok(value):
        size = f"at most {high}" if low == 0 else f"{low} to {high}"
        return f"a value of {size} letters, digits, spaces or _.:/=+-@"
    return None


def _has_property(value: Any, name: str) -> bool:
    """Whether ``value`` has the attribute ``name``, asked of its class first: ``hasattr``
    on a jsii object reads the property, a round trip to node."""
    return hasattr(type(value), name) or hasattr(value, name)


class Problems:
    """Accumulates validation problems for one construct."""

    def __init__(self, scope: IConstruct | None) -> None:
        """Args:
        scope: The construct whose props are checked; ``None`` for a caller that is not a
            construct (a config model), which reads :attr:`items` instead of raising.
        """
        self._scope = scope
        self._items: list[Problem] = []

    @property
    def items(self) -> list[Problem]:
        """The problems found so far, in the order they were added."""
        return list(self._items)

    def add(self, prop: str, value: Any, allowed: str) -> None:
        self._items.append(Problem(prop, value, allowed))

    def __bool__(self) -> bool:
        return bool(self._items)

    def integer_range(self, prop: str, value: int | None, low: int, high: int) -> None:
        """Check ``low <= value <= high``; ``None`` and tokens are skipped."""
        if value is None or is_token(value):
            return
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.add(prop, value, f"an integer from {low} to {high}")

    def sagemaker_name(self, prop: str, value: str | None) -> None:
        """The name rule SageMaker applies to notebooks, lifecycle configs, domains, images."""
        from sagemaker_constructs._names import NAME_ALLOWED, NAME_MAX_LENGTH, NAME_PATTERN

        self.pattern(prop, value, NAME_PATTERN, NAME_ALLOWED, max_length=NAME_MAX_LENGTH)

    def instance_type(self, prop: str, value: Any, kind: str = "notebook") -> None:
        """An instance type SageMaker offers for ``kind`` (``notebook``, ``studio``, ``space``).

        Tokens are skipped; a near miss names the nearest offered types.
        """
        from sagemaker_constructs._instance_types import instance_type_problem

        if isinstance(value, str) and is_token(value):
            return
        problem = instance_type_problem(value, kind)
        if problem is not None:
            self.add(prop, value, problem)

    def instance_types(
        self, prop: str, values: Any, kind: str, *, default: Any = None, default_prop: str = ""
    ) -> None:
        """A non-empty list of offered instance types, each once, with ``default`` among them."""
        if isinstance(values, str) or not isinstance(values, Sequence) or not values:
            self.add(prop, values, "a non-empty list of instance types")
            return
        for i, value in enumerate(values):
            self.instance_type(f"{prop}[{i}]", value, kind)
        if len({v for v in values if isinstance(v, str)}) != len(values):
            self.add(prop, list(values), "each instance type at most once")
        if default_prop and not is_token(default) and default not in values:
            self.add(default_prop, default, f"one of {prop}: " + ", ".join(map(str, values)))

    def security_groups(
        self, prop: str, groups: Any, *, limit: int = 5, none_hint: str = ""
    ) -> None:
        """Security groups given by the user: ``None`` (a new group is made) or 1 to ``limit``.

        An empty list is rejected: SageMaker would put the resource in the VPC's default
        security group. ``none_hint`` explains where a ``None`` item may come from.
        """
        if groups is None:
            return
        if isinstance(groups, str) or not isinstance(groups, Sequence):
            self.add(prop, groups, "a list of ec2.ISecurityGroup")
            return
        if not groups:
            self.add(
                prop,
                "0 items",
                "at least one security group, or leave it unset for a new one (an empty list "
                "would put the resource in the VPC's default security group)",
            )
        self.max_items(prop, groups, limit)
        for i, group in enumerate(groups):
            if group is None or not _has_property(group, "security_group_id"):
                self.add(
                    f"{prop}[{i}]",
                    group,
                    "an ec2.ISecurityGroup" + (f" ({none_hint})" if none_hint else ""),
                )

    def kms_key(self, prop: str, key: Any, *, required: bool = False) -> None:
        """A customer managed KMS key given as ``kms.IKey`` (not an ARN or alias string)."""
        if key is None:
            if required:
                self.add(prop, None, "a kms.IKey")
            return
        if isinstance(key, str):
            self.add(
                prop,
                key,
                "a kms.IKey (import an ARN with kms.Key.from_key_arn; an alias with "
                "kms.Alias.from_alias_name)",
            )
        elif not _has_property(key, "key_arn"):
            self.add(prop, type(key).__name__, "a kms.IKey")

    def pattern(
        self,
        prop: str,
        value: str | None,
        regex: re.Pattern[str],
        allowed: str,
        *,
        max_length: int | None = None,
        required: bool = False,
    ) -> None:
        """Check a string against ``regex`` (full match) and an optional length cap.

        ``None`` is skipped unless ``required``; tokens are always skipped.
        """
        if value is None and required:
            self.add(prop, value, allowed)
            return
        if value is None or is_token(value):
            return
        if not isinstance(value, str) or not regex.fullmatch(value):
            self.add(prop, value, allowed)
        elif max_length is not None and len(value) > max_length:
            self.add(prop, value, f"at most {max_length} characters (got {len(value)})")

    def one_of(
        self, prop: str, value: str | None, allowed: Iterable[str], *, required: bool = False
    ) -> None:
        options = list(allowed)
        if value is None and not required:
            return
        if value is not None and is_token(value):
            return
        if not isinstance(value, str) or value not in options:
            self.add(prop, value, "one of " + ", ".join(repr(o) for o in options))

    def boolean(self, prop: str, value: Any) -> None:
        """Flags must be real booleans: ``"false"`` is truthy and would enable the option."""
        if not isinstance(value, bool):
            self.add(prop, value, "True or False")

    def tags(
        self,
        prop: str,
        tags: Any,
        *,
        value_length: tuple[int, int] = (0, 256),
        key_max_length: int = 128,
    ) -> None:
        """AWS tag rules: at most 50; keys 1-128 and values 0-256 characters of letters,
        digits, spaces and ``_.:/=+-@``; keys not starting with ``aws:``. ``value_length`` and
        ``key_max_length`` narrow them for resources with stricter limits."""
        if tags is None:
            return
        if not isinstance(tags, Mapping):
            self.add(prop, tags, "a mapping of tag keys to values")
            return
        if len(tags) > 50:
            self.add(prop, f"{len(tags)} tags", "at most 50")
        for key, value in tags.items():
            if is_token(key) or is_token(value):
                continue
            problem = tag_problem(
                key, value, value_length=value_length, key_max_length=key_max_length
            )
            if problem:
                self.add(f"{prop}[{key!r}]", value, problem)

    def removal_policy(self, prop: str, value: Any, why: str) -> None:
        """RETAIN, RETAIN_ON_UPDATE_OR_DELETE or DESTROY: ``why`` says why not SNAPSHOT."""
        allowed = (
            RemovalPolicy.RETAIN,
            RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
            RemovalPolicy.DESTROY,
        )
        if not isinstance(value, RemovalPolicy) or value not in allowed:
            self.add(
                prop, value, f"RemovalPolicy.RETAIN, RETAIN_ON_UPDATE_OR_DELETE or DESTROY ({why})"
            )

    def max_items(self, prop: str, values: Sequence[Any] | None, limit: int) -> None:
        if values is not None and len(values) > limit:
            self.add(prop, f"{len(values)} items", f"at most {limit}")

    def raise_if_any(self) -> None:
        if self._items:
            path = self._scope.node.path if self._scope is not None else ""
            raise ConstructValidationError(path or "App", self._items)
