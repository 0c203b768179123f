"""What a reviewer must notice: data loss, updates that will fail, warnings, security.

Severity of a stateful resource that is removed or replaced (see docs/review.md):

* deleted with its data (no ``Retain``) → **DATA LOSS**;
* a notebook instance or SageMaker domain replaced → **DATA LOSS** even when retained: the
  old one is kept, detached from the stack, and its user gets a new, empty one;
* any other stateful resource replaced or removed while retained → warning: its data stays
  in the old resource, now outside the stack;
* "may replace" (a create-only value that changes through references resolved at deploy
  time) counts like a replacement, marked as possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .changes import MAY_REPLACE, MISSING, REPLACE, ResourceChange, StackChange
from .intrinsics import is_intrinsic, render
from .schema import create_only_properties

DATA_LOSS = "data-loss"
FAILS = "fails"
WARNING = "warning"

#: Resource types that hold data, with what is lost when one is deleted.
STATEFUL: dict[str, str] = {
    "AWS::SageMaker::NotebookInstance": "the notebook's ML storage volume (the user's work)",
    "AWS::SageMaker::Domain": "the domain's home EFS volume (every user's work)",
    "AWS::KMS::Key": "the key: whatever it encrypted becomes unreadable once it is deleted",
    "AWS::S3::Bucket": "the bucket's objects",
    "AWS::EFS::FileSystem": "the file system's files",
    "AWS::Logs::LogGroup": "the log group's events",
    "AWS::CodeArtifact::Domain": "the domain's packages and its repositories",
    "AWS::CodeArtifact::Repository": "the repository's packages",
    "AWS::DynamoDB::Table": "the table's items",
    "AWS::RDS::DBInstance": "the database",
    "AWS::RDS::DBCluster": "the database",
    "AWS::EC2::Volume": "the volume's data",
}

#: Replaced even when retained, the user loses their workspace: the new one is empty.
WORKSPACE_TYPES = frozenset({"AWS::SageMaker::NotebookInstance", "AWS::SageMaker::Domain"})

_RETAINED = frozenset({"Retain", "RetainExceptOnCreate"})

#: Security-relevant properties per type, reported in their own section.
SECURITY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::SageMaker::NotebookInstance": (
        "DirectInternetAccess",
        "RootAccess",
        "KmsKeyId",
        "InstanceMetadataServiceConfiguration",
        "SubnetId",
        "SecurityGroupIds",
        "PlatformIdentifier",
        "RoleArn",
    ),
    "AWS::S3::Bucket": (
        "PublicAccessBlockConfiguration",
        "BucketEncryption",
        "LoggingConfiguration",
        "OwnershipControls",
    ),
    "AWS::KMS::Key": ("EnableKeyRotation", "Enabled", "KeySpec", "KeyUsage"),
    "AWS::EC2::SecurityGroup": ("SecurityGroupIngress", "SecurityGroupEgress", "VpcId"),
    "AWS::EC2::VPCEndpoint": ("PrivateDnsEnabled", "SubnetIds", "SecurityGroupIds"),
    "AWS::EC2::Subnet": ("MapPublicIpOnLaunch",),
}

#: The same on a new notebook: a value worse than the library's defaults.
_INSECURE_NEW_NOTEBOOK = {
    "DirectInternetAccess": ("Enabled", "direct internet access is enabled"),
    "RootAccess": ("Enabled", "root access is enabled"),
}

_RULE_TYPES = {
    "AWS::EC2::SecurityGroupIngress": "ingress",
    "AWS::EC2::SecurityGroupEgress": "egress",
}


@dataclass
class Finding:
    level: str  # DATA_LOSS | FAILS | WARNING
    stack_id: str
    resource: str  # logical id (or "old → new")
    resource_type: str
    message: str
    possible: bool = False  # from a "may replace"
    name: str = ""  # the resource's literal name, e.g. the notebook name


@dataclass
class SecurityNote:
    stack_id: str
    resource: str
    resource_type: str
    what: str  # property path or rule
    old: str | None  # rendered; None = absent
    new: str | None


def _policy(resource: dict[str, Any] | None, attribute: str) -> str:
    value = (resource or {}).get(attribute, "Delete")
    return value if isinstance(value, str) else "Delete"


def _name(change: ResourceChange) -> str:
    """The resource's literal name, when it has one (e.g. the notebook name)."""
    props = change.old_props() or change.new_props()
    for key in (
        "NotebookInstanceName",
        "DomainName",
        "BucketName",
        "LogGroupName",
        "RepositoryName",
    ):
        value = props.get(key)
        if isinstance(value, str):
            return value
    return ""


def _removal(change: ResourceChange, whole_stack: bool) -> Finding | None:
    kind = change.resource_type
    if kind not in STATEFUL:
        return None
    policy = _policy(change.old, "DeletionPolicy")
    where = "its stack is removed" if whole_stack else "removed from the stack"
    if policy in _RETAINED:
        extra = (
            "; the notebook keeps running (and billing) outside the stack"
            if kind == "AWS::SageMaker::NotebookInstance"
            else ""
        )
        msg = (
            f"{where}, but retained (DeletionPolicy: {policy}): the data stays in the "
            f"resource, which CloudFormation no longer manages{extra}"
        )
        return Finding(WARNING, change.stack_id, change.display_id, kind, msg)
    if policy == "Snapshot":
        msg = f"{where}: deleted after a final snapshot (DeletionPolicy: Snapshot)"
        return Finding(WARNING, change.stack_id, change.display_id, kind, msg)
    msg = f"{where} and deleted (DeletionPolicy: {policy}): loses {STATEFUL[kind]}"
    return Finding(DATA_LOSS, change.stack_id, change.display_id, kind, msg)


def _replacement(change: ResourceChange) -> Finding | None:
    kind = change.resource_type
    if kind not in STATEFUL or change.replacement is None:
        return None
    possible = change.replacement == MAY_REPLACE
    # A new logical id deletes the old resource (DeletionPolicy); otherwise UpdateReplacePolicy.
    attribute = "DeletionPolicy" if change.id_changed else "UpdateReplacePolicy"
    policy = _policy(change.old, attribute)
    verb = "may be replaced" if possible else "replaced"
    why = "; ".join(change.reasons)
    if policy in _RETAINED:
        msg = (
            f"{verb} ({why}). Retained ({attribute}: {policy}), but a new empty resource "
            "replaces it — data stays in the old one, detached"
        )
        if kind in WORKSPACE_TYPES:
            msg += ": the user loses access to their volume"
            return Finding(DATA_LOSS, change.stack_id, change.display_id, kind, msg, possible)
        return Finding(WARNING, change.stack_id, change.display_id, kind, msg, possible)
    msg = (
        f"{verb} ({why}); the old resource is deleted ({attribute}: {policy}): "
        f"loses {STATEFUL[kind]}"
    )
    return Finding(DATA_LOSS, change.stack_id, change.display_id, kind, msg, possible)


def _custom_name_conflict(change: ResourceChange) -> Finding | None:
    """Replacing a resource whose fixed name stays the same fails: the name is taken."""
    if change.replacement != REPLACE or change.id_changed:
        return None
    old, new = change.old_props(), change.new_props()
    for key, value in new.items():
        if key.endswith("Name") and isinstance(value, str) and old.get(key) == value:
            if any(p.top == key for p in change.properties):
                continue
            pointers = create_only_properties(change.resource_type) or []
            if (key,) in pointers:
                msg = (
                    f"needs replacement but keeps its fixed name `{key}: {value}`: "
                    "CloudFormation cannot create the replacement while the old one holds "
                    "the name, so the update fails and rolls back"
                )
                return Finding(FAILS, change.stack_id, change.display_id, change.resource_type, msg)
    return None


def _volume_shrink(change: ResourceChange) -> Finding | None:
    if change.resource_type != "AWS::SageMaker::NotebookInstance" or change.replacement == REPLACE:
        return None
    old, new = change.old_props().get("VolumeSizeInGB"), change.new_props().get("VolumeSizeInGB")
    if isinstance(old, int) and isinstance(new, int) and new < old:
        msg = (
            f"`VolumeSizeInGB` decreases from {old} to {new} GiB: a notebook volume cannot "
            "shrink, so the update fails"
        )
        return Finding(FAILS, change.stack_id, change.display_id, change.resource_type, msg)
    return None


def assess(stacks: list[StackChange]) -> list[Finding]:
    findings: list[Finding] = []
    for stack in stacks:
        for change in stack.resources:
            if change.action == "removed":
                found = [_removal(change, whole_stack=stack.status == "removed")]
            elif change.action == "modified":
                found = [
                    _replacement(change),
                    _custom_name_conflict(change),
                    _volume_shrink(change),
                ]
            else:
                found = []
            for finding in found:
                if finding is not None:
                    finding.name = _name(change)
                    findings.append(finding)
    order = {DATA_LOSS: 0, FAILS: 1, WARNING: 2}
    return sorted(findings, key=lambda f: order[f.level])


# --- security ------------------------------------------------------------------------------


def _rule(rule: dict[str, Any], scope: Any) -> str:
    proto = rule.get("IpProtocol", "?")
    proto = "all" if str(proto) == "-1" else render(proto)
    low, high = rule.get("FromPort"), rule.get("ToPort")
    ports = "" if low is None else f" {low}" if low == high else f" {low}-{high}"
    peer_keys = (
        "CidrIp",
        "CidrIpv6",
        "SourceSecurityGroupId",
        "DestinationSecurityGroupId",
        "SourcePrefixListId",
        "DestinationPrefixListId",
    )
    peers = [render(rule[k], scope) for k in peer_keys if k in rule]
    return f"{proto}{ports} {'/'.join(peers) or '?'}"


def _rules(value: Any, scope: Any) -> set[str]:
    if not isinstance(value, list):
        return set() if value is MISSING or value is None else {render(value, scope)}
    return {
        _rule(r, scope) if isinstance(r, dict) and not is_intrinsic(r) else render(r, scope)
        for r in value
    }


def security(stacks: list[StackChange]) -> list[SecurityNote]:
    notes: list[SecurityNote] = []
    for stack in stacks:
        for change in stack.resources:
            kind = change.resource_type
            rid = change.display_id
            if kind in _RULE_TYPES and change.changed:
                direction = _RULE_TYPES[kind]
                old = _rule(change.old_props(), change.old_scope) if change.old else None
                new = _rule(change.new_props(), change.new_scope) if change.new else None
                if old != new:
                    notes.append(
                        SecurityNote(stack.stack_id, rid, kind, f"{direction} rule", old, new)
                    )
                continue
            if kind == "AWS::SageMaker::NotebookInstance" and change.action == "added":
                props = change.new_props()
                for key, (bad, what) in _INSECURE_NEW_NOTEBOOK.items():
                    # CloudFormation's default for both is Enabled.
                    if props.get(key, "Enabled") == bad:
                        notes.append(
                            SecurityNote(
                                stack.stack_id,
                                rid,
                                kind,
                                f"{key} (new notebook: {what})",
                                None,
                                bad,
                            )
                        )
                continue
            if change.action != "modified":
                continue
            watched = SECURITY_PROPERTIES.get(kind, ())
            for prop in change.properties:
                if prop.top not in watched:
                    continue
                if prop.top in ("SecurityGroupIngress", "SecurityGroupEgress"):
                    continue  # rules below, as sets
                notes.append(
                    SecurityNote(
                        stack.stack_id,
                        rid,
                        kind,
                        prop.path,
                        None if prop.old is MISSING else render(prop.old, change.old_scope),
                        None if prop.new is MISSING else render(prop.new, change.new_scope),
                    )
                )
            if kind == "AWS::EC2::SecurityGroup":
                for key, direction in (
                    ("SecurityGroupIngress", "ingress"),
                    ("SecurityGroupEgress", "egress"),
                ):
                    before = _rules(change.old_props().get(key, MISSING), change.old_scope)
                    after = _rules(change.new_props().get(key, MISSING), change.new_scope)
                    for rule in sorted(before - after):
                        notes.append(
                            SecurityNote(stack.stack_id, rid, kind, f"{direction} rule", rule, None)
                        )
                    for rule in sorted(after - before):
                        notes.append(
                            SecurityNote(stack.stack_id, rid, kind, f"{direction} rule", None, rule)
                        )
    return notes


__all__ = [
    "DATA_LOSS",
    "FAILS",
    "WARNING",
    "Finding",
    "SecurityNote",
    "assess",
    "security",
    "REPLACE",
]
