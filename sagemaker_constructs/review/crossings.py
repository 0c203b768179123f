"""Findings that need the whole change, not one resource: names and people across stacks.

* **Fixed names taken.** A new resource whose fixed name an old resource of the same type
  (and the same parent, for scoped names) still holds cannot be created: the old one is
  retained outside its stack, deleted only after the create (same stack), or in a stack
  that ``cdk deploy`` leaves in place because it left the app (a prefix rename).
* **The same person, a new workspace.** A notebook or Studio profile removed in one place
  and one for the same person (the ``owner`` tag) added in another (a move to another
  team, a team rename) is a new, empty workspace for that person: data loss, whichever
  stacks the two are in.
* **A retained notebook without its role.** A notebook removed from its stack is retained,
  but its execution role (a resource removed with it) is deleted.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .changes import REPLACE, ResourceChange, StackChange
from .findings import (
    DATA_LOSS,
    FAILS,
    NAME_SCOPES,
    WARNING,
    WORKSPACE_TYPES,
    Finding,
    own_name,
)
from .intrinsics import Scope, canonical, references, render

#: Workspaces that belong to one person, found by their ``owner`` tag.
PERSONAL_TYPES = ("AWS::SageMaker::NotebookInstance", "AWS::SageMaker::UserProfile")

_RETAINED = frozenset({"Retain", "RetainExceptOnCreate"})

Key = tuple[str, str]  # (stack name, logical id)


def owner(resource: dict[str, Any] | None) -> str | None:
    """The literal ``owner`` tag of a resource (a tag list or a tag map)."""
    tags = ((resource or {}).get("Properties") or {}).get("Tags")
    if isinstance(tags, dict):
        value = tags.get("owner")
        return value if isinstance(value, str) else None
    for tag in tags if isinstance(tags, list) else []:
        if (
            isinstance(tag, dict)
            and tag.get("Key") == "owner"
            and isinstance(tag.get("Value"), str)
        ):
            return str(tag["Value"])
    return None


def _key(change: ResourceChange, side: str) -> Key | None:
    scope = change.old_scope if side == "old" else change.new_scope
    if scope is None:
        return None
    logical = change.logical_id if side == "old" else change.current_id
    return scope.stack.stack_name, logical


def _refs(value: Any, scope: Scope | None) -> set[Key]:
    return references(canonical(value, scope)) if scope is not None and value is not None else set()


def _finding(level: str, change: ResourceChange, message: str, name: str = "") -> Finding:
    return Finding(
        level,
        change.stack_id,
        change.display_id,
        change.resource_type,
        message,
        name=name,
    )


def _taken_names(
    stacks: list[StackChange], changes: list[ResourceChange], new_keys: set[Key]
) -> list[Finding]:
    by_status = {s.stack_id: s.status for s in stacks}
    # Every old resource with a fixed name, by (type, name).
    held: dict[tuple[str, str], list[ResourceChange]] = defaultdict(list)
    for change in changes:
        if change.old is None:
            continue
        found = own_name(change.resource_type, change.old_props())
        if found is not None:
            held[(change.resource_type, found[1])].append(change)
    findings = []
    for change in changes:
        if change.action != "added":
            continue
        found = own_name(change.resource_type, change.new_props())
        if found is None:
            continue
        prop, name = found
        scopes = NAME_SCOPES.get(change.resource_type, ())
        new_parent = {
            p: change.new_props().get(p) for p in scopes if change.new_props().get(p) is not None
        }
        if any(_refs(v, change.new_scope) & new_keys for v in new_parent.values()):
            continue  # scoped to a parent that is new too: nothing can hold the name there
        for old in held.get((change.resource_type, name), []):
            if old is change:
                continue
            same_parent = all(
                render(old.old_props().get(p), old.old_scope) == render(v, change.new_scope)
                for p, v in new_parent.items()
            )
            if not same_parent:
                continue
            if old.action == "modified" and old.replacement != REPLACE:
                kept = own_name(old.resource_type, old.new_props())
                if kept is not None and kept[1] == name:
                    why = f"`{old.stack_id}` / `{old.current_id}` keeps it"
                else:
                    continue  # renamed in place: the name is free once that update ran
            elif by_status.get(old.stack_id) == "removed":
                why = (
                    f"`{old.stack_id}` / `{old.logical_id}` holds it, and its stack is no "
                    "longer in the app: `cdk deploy` does not delete such a stack, so the old "
                    "resource keeps the name (delete or rename it first)"
                )
            elif (old.old or {}).get("DeletionPolicy") in _RETAINED:
                why = (
                    f"`{old.stack_id}` / `{old.logical_id}` holds it and is retained when it "
                    "leaves its stack, so it keeps the name"
                )
            elif old.stack_id == change.stack_id:
                why = (
                    f"`{old.logical_id}` holds it until the update's cleanup deletes it, after "
                    "the create has failed"
                )
            else:
                why = (
                    f"`{old.stack_id}` / `{old.logical_id}` holds it until that stack's update "
                    "deletes it; the create fails unless that stack deploys first"
                )
            msg = f"is created with the fixed name `{prop}: {name}`, which {why}"
            findings.append(_finding(FAILS, change, msg, name))
            break
    return findings


def _same_person(
    changes: list[ResourceChange], findings: list[Finding], blocked: set[int]
) -> list[Finding]:
    removed: dict[tuple[str, str], list[ResourceChange]] = defaultdict(list)
    added: dict[tuple[str, str], list[ResourceChange]] = defaultdict(list)
    for change in changes:
        if change.resource_type not in PERSONAL_TYPES:
            continue
        who = owner(change.old if change.action == "removed" else change.new)
        if who is None:
            continue
        if change.action == "removed":
            removed[(change.resource_type, who)].append(change)
        elif change.action == "added" and id(change) not in blocked:
            added[(change.resource_type, who)].append(change)
    upgraded = []
    for key, olds in removed.items():
        news = added.get(key, [])
        for old, new in zip(olds, news, strict=False):
            new_name = own_name(new.resource_type, new.new_props())
            shown = f" `{new_name[1]}`" if new_name else ""
            what = "notebook" if key[0] == "AWS::SageMaker::NotebookInstance" else "Studio profile"
            msg = (
                f"the same person (owner `{key[1]}`) gets a new, empty {what}{shown} in "
                f"`{new.stack_id}` / `{new.current_id}`; this one leaves `{old.stack_id}` "
                "and their work stays in it, reachable only by hand"
            )
            for f in findings:
                if f.stack_id == old.stack_id and f.resource == old.display_id:
                    if f.level == WARNING:
                        f.level = DATA_LOSS
                    f.message = f"{msg}; {f.message}"
                    break
            else:
                upgraded.append(_finding(DATA_LOSS, old, msg))
    return upgraded


def _orphaned_roles(changes: list[ResourceChange], findings: list[Finding]) -> None:
    removed_keys = {k for c in changes if c.action == "removed" for k in [_key(c, "old")] if k}
    roles = {
        _key(c, "old"): c
        for c in changes
        if c.action == "removed" and c.resource_type == "AWS::IAM::Role"
    }
    for change in changes:
        if change.action != "removed" or change.resource_type != "AWS::SageMaker::NotebookInstance":
            continue
        if (change.old or {}).get("DeletionPolicy") not in _RETAINED:
            continue
        gone = sorted(_refs(change.old_props().get("RoleArn"), change.old_scope) & removed_keys)
        gone = [k for k in gone if k in roles]
        if not gone:
            continue
        note = (
            f"its execution role `{gone[0][1]}` is deleted with it: the retained notebook "
            "cannot reach its data or start its lifecycle script properly until it gets a role"
        )
        for f in findings:
            if f.stack_id == change.stack_id and f.resource == change.display_id:
                f.message = f"{f.message}; {note}"
                break


def across_stacks(stacks: list[StackChange], findings: list[Finding]) -> list[Finding]:
    changes = [c for s in stacks for c in s.resources]
    new_keys = {k for c in changes if c.action == "added" for k in [_key(c, "new")] if k}
    new_keys |= {k for c in changes if c.replacement == REPLACE for k in [_key(c, "new")] if k}
    taken = _taken_names(stacks, changes, new_keys)
    blocked = {
        id(c)
        for c in changes
        for f in taken
        if f.stack_id == c.stack_id and f.resource == c.display_id
    }
    _orphaned_roles(changes, findings)
    extra = _same_person(changes, findings, blocked)
    return findings + taken + extra


__all__ = ["PERSONAL_TYPES", "across_stacks", "owner", "WORKSPACE_TYPES"]
