"""Which resources changed between two assemblies, how, and whether CloudFormation replaces them.

Stacks are matched on artifact id, resources on logical id. A resource removed and one of
the same type added in the same stack, at the same construct path but for one differing
id (``Notebook-alice`` → ``Notebook-alicia``), is one resource whose logical id changed:
CloudFormation deletes the old one and creates the new one, a replacement.

Replacement comes from the resource type's create-only properties (see :mod:`.schema`):
a create-only value that certainly differs → "replace"; one that differs only through
references the assembly cannot resolve → "may replace". A create-only value referring to
a resource that is replaced changes with it, so replacements propagate.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .assembly import Assembly, StackTemplate
from .intrinsics import Scope, canonical, contains_unknown, is_intrinsic, references
from .schema import Pointer, create_only_properties

REPLACE = "replace"
MAY_REPLACE = "may replace"


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()

_CDK_HASH = re.compile(r"^(.+?)([0-9A-F]{8})$")
_MIN_RENAME_SIMILARITY = 0.6

#: List properties whose order does not matter (a reordering is no change).
UNORDERED = frozenset(
    {"Roles", "Users", "Groups", "ManagedPolicyArns", "SecurityGroupIds", "SubnetIds"}
)

IGNORED_TYPES = frozenset({"AWS::CDK::Metadata"})

#: Resource attributes compared besides Properties (Metadata is not deployed state).
_ATTRIBUTES = ("DeletionPolicy", "UpdateReplacePolicy", "Condition", "UpdatePolicy")


@dataclass
class PropertyChange:
    path: str  # "SubnetId", "Tags[owner]", "InstanceMetadataServiceConfiguration.Minimum…"
    old: Any
    new: Any

    @property
    def top(self) -> str:
        """The top-level property name."""
        return self.path.split(".")[0].split("[")[0]


@dataclass
class ResourceChange:
    """A resource added, removed or modified (possibly under a new logical id)."""

    stack_id: str
    logical_id: str  # the old logical id (the new one for an added resource)
    resource_type: str
    action: str  # "added" | "removed" | "modified"
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None
    old_scope: Scope | None = None
    new_scope: Scope | None = None
    new_logical_id: str | None = None  # set when the logical id changed
    properties: list[PropertyChange] = field(default_factory=list)
    attributes: list[PropertyChange] = field(default_factory=list)
    replacement: str | None = None  # REPLACE, MAY_REPLACE or None
    reasons: list[str] = field(default_factory=list)
    # create-only pointer -> (old canonical, new canonical), for the propagation
    _create_only: list[tuple[str, Any, Any]] = field(default_factory=list, repr=False)

    @property
    def id_changed(self) -> bool:
        return self.new_logical_id is not None and self.new_logical_id != self.logical_id

    @property
    def display_id(self) -> str:
        if self.id_changed:
            return f"{self.logical_id} → {self.new_logical_id}"
        return self.logical_id

    @property
    def current_id(self) -> str:
        return self.new_logical_id or self.logical_id

    @property
    def changed(self) -> bool:
        return (
            self.action != "modified"
            or self.id_changed
            or bool(self.properties or self.attributes or self.replacement)
        )

    def old_props(self) -> dict[str, Any]:
        return (self.old or {}).get("Properties") or {}

    def new_props(self) -> dict[str, Any]:
        return (self.new or {}).get("Properties") or {}


@dataclass
class StackChange:
    stack_id: str
    status: str  # "added" | "removed" | "modified" | "unchanged"
    old: StackTemplate | None
    new: StackTemplate | None
    resources: list[ResourceChange] = field(default_factory=list)
    outputs: list[PropertyChange] = field(default_factory=list)
    other: list[PropertyChange] = field(default_factory=list)  # Parameters, Conditions, …

    @property
    def changed_resources(self) -> list[ResourceChange]:
        return [r for r in self.resources if r.changed]


# --- property diff -----------------------------------------------------------------------


def _is_tag_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and set(v) == {"Key", "Value"} for v in value)
        and len({str(v["Key"]) for v in value}) == len(value)
    )


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def diff_values(old: Any, new: Any, path: str = "") -> list[PropertyChange]:
    """The changed leaves between two property values (lists of tags by key)."""
    if old == new:
        return []
    plain_dicts = (
        isinstance(old, dict)
        and isinstance(new, dict)
        and not is_intrinsic(old)
        and not is_intrinsic(new)
    )
    if plain_dicts:
        out: list[PropertyChange] = []
        for key in sorted(set(old) | set(new)):
            a, b = old.get(key, MISSING), new.get(key, MISSING)
            if (
                key in UNORDERED
                and isinstance(a, list)
                and isinstance(b, list)
                and sorted(map(_key, a)) == sorted(map(_key, b))
            ):
                continue  # the same set in another order
            out += diff_values(a, b, _join(path, key))
        return out
    if isinstance(old, list) and isinstance(new, list):
        if _is_tag_list(old) and _is_tag_list(new) or (not old and _is_tag_list(new)):
            before = {str(t["Key"]): t["Value"] for t in old}
            after = {str(t["Key"]): t["Value"] for t in new}
            out = []
            for key in sorted(set(before) | set(after)):
                out += diff_values(
                    before.get(key, MISSING), after.get(key, MISSING), f"{path}[{key}]"
                )
            return out
        records = all(isinstance(v, dict) and not is_intrinsic(v) for v in old + new)
        if len(old) == len(new) and records:
            out = []
            for i, (a, b) in enumerate(zip(old, new, strict=True)):
                out += diff_values(a, b, f"{path}[{i}]")
            return out
    return [PropertyChange(path or "(value)", old, new)]


# --- create-only properties --------------------------------------------------------------


def _extract(value: Any, parts: Pointer) -> Any:
    """The value at a create-only pointer (``*`` maps over a list); MISSING if absent."""
    if not parts:
        return value
    if value is MISSING or is_intrinsic(value):
        return value  # an intrinsic stands for the whole sub-tree
    head, rest = parts[0], parts[1:]
    if head == "*":
        return [_extract(v, rest) for v in value] if isinstance(value, list) else MISSING
    if isinstance(value, dict):
        return _extract(value.get(head, MISSING), rest)
    return MISSING


def _comparable(value: Any) -> Any:
    if value is MISSING:
        return "@absent"
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def _assess_create_only(change: ResourceChange, region: str | None) -> None:
    pointers = create_only_properties(change.resource_type, region)
    if pointers is None:
        if change.properties and change.replacement is None:
            change.replacement = MAY_REPLACE
            change.reasons.append(
                f"{change.resource_type} is not in cfn-lint's resource schemas: "
                "whether it is replaced is unknown"
            )
        return
    old_props, new_props = change.old_props(), change.new_props()
    if change.old_scope is None or change.new_scope is None:
        raise ValueError(
            f"{change.resource_type}: a modified resource needs both the old and new template"
        )
    reported: list[str] = []
    for pointer in sorted(pointers, key=len):
        name = "/".join(pointer)
        old = _comparable(_extract(old_props, pointer))
        new = _comparable(_extract(new_props, pointer))
        old_c = canonical(old, change.old_scope)
        new_c = canonical(new, change.new_scope)
        change._create_only.append((name, old_c, new_c))
        if old == new or old_c == new_c:
            continue  # same value (or the same resource reached another way)
        if any(name.startswith(f"{done}/") for done in reported):
            continue  # within a create-only property already reported
        reported.append(name)
        if contains_unknown(old_c) or contains_unknown(new_c):
            if change.replacement != REPLACE:
                change.replacement = MAY_REPLACE
            change.reasons.append(
                f"create-only `{name}` changed through references resolved only at deploy "
                "time: replaced if the value differs"
            )
        else:
            change.replacement = REPLACE
            change.reasons.append(f"create-only `{name}` changed")


def _propagate(changes: list[ResourceChange]) -> None:
    """A create-only value referring to a replaced resource changes: replace again."""
    status: dict[tuple[str, str], str] = {}
    by_key: dict[tuple[str, str], ResourceChange] = {}
    for change in changes:
        if change.new_scope is not None:
            key = (change.new_scope.stack.stack_name, change.current_id)
            by_key[key] = change
            if change.replacement:
                status[key] = change.replacement
    for _ in range(len(changes) + 1):
        updated = False
        for key, change in by_key.items():
            if change.replacement == REPLACE:
                continue
            for name, _old_c, new_c in change._create_only:
                for ref in sorted(references(new_c)):
                    via = status.get(ref)
                    if via is None or ref == key:
                        continue
                    if via == REPLACE or change.replacement is None:
                        change.replacement = via
                        status[key] = via
                        updated = True
                    target = f"{ref[1]}" if ref[0] == key[0] else f"{ref[0]}/{ref[1]}"
                    reason = (
                        f"create-only `{name}` refers to `{target}`, which "
                        f"{'is' if via == REPLACE else 'may be'} replaced"
                    )
                    if reason not in change.reasons:
                        change.reasons.append(reason)
        if not updated:
            break


# --- matching ----------------------------------------------------------------------------


def _cdk_path(resource: dict[str, Any]) -> list[str] | None:
    path = (resource.get("Metadata") or {}).get("aws:cdk:path")
    return path.split("/") if isinstance(path, str) else None


def _without_hash(logical_id: str) -> str:
    """A CDK logical id without its 8-hex-digit hash suffix."""
    match = _CDK_HASH.match(logical_id)
    return match.group(1) if match else logical_id


def _rename_score(old_id: str, old: dict[str, Any], new_id: str, new: dict[str, Any]) -> float:
    """How likely ``new`` is ``old`` under a new id (0: not a rename).

    With construct paths (``aws:cdk:path`` metadata, written by ``cdk synth``) the paths must
    be equal but for one segment; without, the logical ids (hash removed) must be similar.
    """
    if old.get("Type") != new.get("Type"):
        return 0.0
    ratio = difflib.SequenceMatcher(None, _without_hash(old_id), _without_hash(new_id)).ratio()
    a, b = _cdk_path(old), _cdk_path(new)
    if a is not None and b is not None:
        one_segment = len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1
        return max(ratio, 0.01) if one_segment else 0.0
    return ratio if ratio >= _MIN_RENAME_SIMILARITY else 0.0


def _pair_renames(
    removed: dict[str, dict[str, Any]], added: dict[str, dict[str, Any]]
) -> list[tuple[str, str]]:
    candidates = []
    for old_id, old in removed.items():
        for new_id, new in added.items():
            score = _rename_score(old_id, old, new_id, new)
            if score > 0:
                candidates.append((-score, old_id, new_id))
    pairs, used_old, used_new = [], set(), set()
    for _, old_id, new_id in sorted(candidates):
        if old_id not in used_old and new_id not in used_new:
            pairs.append((old_id, new_id))
            used_old.add(old_id)
            used_new.add(new_id)
    return pairs


def _deployed(resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The resources, without CDK's version-reporting resource (it changes with every CDK)."""
    return {k: v for k, v in resources.items() if v.get("Type") not in IGNORED_TYPES}


def _region(stack: StackTemplate | None, default: str | None) -> str | None:
    return (stack.region if stack is not None else None) or default


def compare_stack(
    old_asm: Assembly | None,
    old: StackTemplate | None,
    new_asm: Assembly | None,
    new: StackTemplate | None,
    region: str | None = None,
) -> StackChange:
    stack_id = (new or old).artifact_id  # type: ignore[union-attr]
    status = "added" if old is None else "removed" if new is None else "modified"
    result = StackChange(stack_id, status, old, new)
    old_res = _deployed(old.resources) if old else {}
    new_res = _deployed(new.resources) if new else {}
    old_scope = Scope(old_asm, old) if old and old_asm else None
    new_scope = Scope(new_asm, new) if new and new_asm else None

    same = [k for k in old_res if k in new_res and old_res[k].get("Type") == new_res[k].get("Type")]
    removed = {k: v for k, v in old_res.items() if k not in same}
    added = {k: v for k, v in new_res.items() if k not in same}
    pairs = _pair_renames(removed, added) if old and new else []

    for old_id, new_id in [(k, k) for k in same] + pairs:
        a, b = old_res[old_id], new_res[new_id]
        change = ResourceChange(
            stack_id,
            old_id,
            str(b.get("Type")),
            "modified",
            old=a,
            new=b,
            old_scope=old_scope,
            new_scope=new_scope,
            new_logical_id=new_id if new_id != old_id else None,
        )
        change.properties = diff_values(a.get("Properties") or {}, b.get("Properties") or {})
        for attr in _ATTRIBUTES:
            change.attributes += diff_values(a.get(attr, MISSING), b.get(attr, MISSING), attr)
        if change.id_changed:
            change.replacement = REPLACE
            change.reasons.append(
                f"logical ID changed: CloudFormation deletes `{old_id}` and creates `{new_id}`"
            )
        _assess_create_only(change, _region(new, region))
        result.resources.append(change)
    paired_old = {p[0] for p in pairs}
    paired_new = {p[1] for p in pairs}
    for old_id, a in removed.items():
        if old_id not in paired_old:
            result.resources.append(
                ResourceChange(
                    stack_id, old_id, str(a.get("Type")), "removed", old=a, old_scope=old_scope
                )
            )
    for new_id, b in added.items():
        if new_id not in paired_new:
            result.resources.append(
                ResourceChange(
                    stack_id, new_id, str(b.get("Type")), "added", new=b, new_scope=new_scope
                )
            )

    old_t = old.template if old else {}
    new_t = new.template if new else {}
    if old and new:
        result.outputs = diff_values(old_t.get("Outputs") or {}, new_t.get("Outputs") or {})
        for section in ("Parameters", "Conditions", "Mappings", "Transform", "Description"):
            result.other += diff_values(
                old_t.get(section, MISSING), new_t.get(section, MISSING), section
            )
        if not (result.changed_resources or result.outputs or result.other):
            result.status = "unchanged"
    return result


def compare(old: Assembly, new: Assembly, region: str | None = None) -> list[StackChange]:
    """Every stack of both assemblies, matched on artifact id, in a stable order."""
    ids = list(old.stacks) + [k for k in new.stacks if k not in old.stacks]
    stacks = [compare_stack(old, old.stacks.get(i), new, new.stacks.get(i), region) for i in ids]
    _propagate([r for s in stacks for r in s.resources if r.action == "modified"])
    for stack in stacks:
        if stack.status == "unchanged" and stack.changed_resources:
            stack.status = "modified"
    return stacks
