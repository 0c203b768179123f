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
    # AWS's DeleteUserProfile documentation: "the user loses access to their EFS volume,
    # including data, notebooks, and other artifacts".
    "AWS::SageMaker::UserProfile": "the person's access to their home on the domain's EFS "
    "volume (their data, notebooks and other artifacts)",
    "AWS::SageMaker::Space": "the space's EBS volume with the files on it",
}

#: Replaced even when retained, the user loses their workspace: the new one is empty.
WORKSPACE_TYPES = frozenset(
    {
        "AWS::SageMaker::NotebookInstance",
        "AWS::SageMaker::Domain",
        "AWS::SageMaker::UserProfile",
        "AWS::SageMaker::Space",
    }
)

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
    "AWS::SageMaker::Domain": (
        "AppNetworkAccessType",
        "AuthMode",
        "KmsKeyId",
        "VpcId",
        "SubnetIds",
        "DefaultUserSettings.SecurityGroups",
        "DefaultUserSettings.ExecutionRole",
        "DomainSettings.SecurityGroupIds",
    ),
    "AWS::Logs::LogGroup": ("KmsKeyId",),
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
    found = own_name(change.resource_type, props)
    if found is not None:
        return found[1]
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


#: Types whose ``…Name`` property is not a unique name (or that have none of their own:
#: an image version's ``ImageName`` names its parent image).
_NOT_UNIQUE_NAMES = frozenset({"AWS::SageMaker::Domain", "AWS::SageMaker::ImageVersion"})

#: Names unique only within a parent: the properties that name the parent.
NAME_SCOPES: dict[str, tuple[str, ...]] = {
    "AWS::SageMaker::UserProfile": ("DomainId",),
    "AWS::SageMaker::Space": ("DomainId",),
    "AWS::SageMaker::App": ("DomainId", "UserProfileName", "SpaceName"),
    "AWS::CodeArtifact::Repository": ("DomainName", "DomainOwner"),
    "AWS::Scheduler::Schedule": ("GroupName",),
}


def own_name_key(resource_type: str) -> str | None:
    """The property holding a resource's own fixed name (``BucketName``, ``AliasName``)."""
    if resource_type in _NOT_UNIQUE_NAMES:
        return None
    return resource_type.rsplit("::", 1)[-1] + "Name"


def own_name(resource_type: str, props: dict[str, Any]) -> tuple[str, str] | None:
    """(property, literal name) of a resource with a fixed name; None without one."""
    key = own_name_key(resource_type)
    for candidate in (key, "Name") if key else ():
        value = props.get(candidate)
        if isinstance(value, str) and value:
            return candidate, value
    return None


def _scope_changed(change: ResourceChange) -> bool:
    """The parent that scopes the name is another one (changed, or replaced)."""
    scopes = NAME_SCOPES.get(change.resource_type, ())
    return any(f"`{prop}`" in reason for prop in scopes for reason in change.reasons)


def _same_fixed_name(change: ResourceChange) -> tuple[str, str] | None:
    """A replacement that keeps the resource's fixed name in the same scope."""
    old = own_name(change.resource_type, change.old_props())
    new = own_name(change.resource_type, change.new_props())
    if old is None or old != new or _scope_changed(change):
        return None
    return new


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
    if change.id_changed and _same_fixed_name(change):
        return None  # the create fails first and rolls back: see _custom_name_conflict
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
    """Replacing a resource whose fixed name stays the same fails: the name is taken.

    CloudFormation creates the replacement (or, under a new logical ID, the new resource)
    before it deletes the old one, which still holds the name: the create fails and the
    stack rolls back. A name scoped to a parent that is itself new does not collide.
    """
    if change.replacement != REPLACE:
        return None
    same = _same_fixed_name(change)
    if same is None:
        return None
    key, value = same
    if change.id_changed:
        msg = (
            f"moves to a new logical ID with the same fixed name `{key}: {value}`: "
            "CloudFormation creates the new resource before deleting the old one, which "
            "still holds the name, so the create fails and the stack rolls back (nothing "
            "is lost; keep the construct ID, or change the name)"
        )
        return Finding(FAILS, change.stack_id, change.display_id, change.resource_type, msg)
    msg = (
        f"needs replacement but keeps its fixed name `{key}: {value}`: "
        "CloudFormation cannot create the replacement while the old one holds "
        "the name, so the update fails and rolls back"
    )
    return Finding(FAILS, change.stack_id, change.display_id, change.resource_type, msg)


#: Updates that fail although no schema marks the property create-only, from the
#: resource's AWS documentation (docs/review.md, "Updates that will fail").
UPDATE_FAILS: dict[tuple[str, str], str] = {
    ("AWS::KMS::Key", "MultiRegion"): (
        "`MultiRegion` cannot change on an existing key (AWS KMS: the multi-Region property "
        "is immutable), so the update fails and rolls back; create a new key instead"
    ),
}


def _documented_update_failure(change: ResourceChange) -> Finding | None:
    if change.replacement == REPLACE:
        return None
    for prop in change.properties:
        why = UPDATE_FAILS.get((change.resource_type, prop.top))
        if why is not None:
            return Finding(FAILS, change.stack_id, change.display_id, change.resource_type, why)
    return None


_FOREVER = float("inf")


def _days(value: Any) -> float | None:
    """A retention in days; ``inf`` when absent (kept forever); None when unknown."""
    if value is MISSING or value is None:
        return _FOREVER
    return float(value) if isinstance(value, int) else None


def _expirations(props: dict[str, Any]) -> dict[str, tuple[str, float | None]]:
    """A bucket's enabled lifecycle expirations: rule (Id or position) -> (what, days)."""
    rules = (props.get("LifecycleConfiguration") or {}).get("Rules")
    found: dict[str, tuple[str, float | None]] = {}
    if not isinstance(rules, list):
        return found
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or rule.get("Status", "Enabled") != "Enabled":
            continue
        rid = str(rule.get("Id") or f"#{i}")
        prefix = rule.get("Prefix") or (rule.get("Filter") or {}).get("Prefix") or ""
        where = f"rule {rid}" + (f" (prefix {prefix})" if prefix else "")
        if "ExpirationInDays" in rule:
            found[f"{rid}/current"] = (f"{where} ExpirationInDays", _days(rule["ExpirationInDays"]))
        noncurrent = rule.get("NoncurrentVersionExpiration") or {}
        if "NoncurrentDays" in noncurrent:
            found[f"{rid}/noncurrent"] = (
                f"{where} NoncurrentVersionExpiration.NoncurrentDays",
                _days(noncurrent["NoncurrentDays"]),
            )
        if "NoncurrentVersionExpirationInDays" in rule:
            found[f"{rid}/noncurrent-legacy"] = (
                f"{where} NoncurrentVersionExpirationInDays",
                _days(rule["NoncurrentVersionExpirationInDays"]),
            )
    return found


def _retention_cut(change: ResourceChange) -> list[Finding]:
    """A shorter retention or expiration deletes what is older, in place: data loss."""
    kind = change.resource_type
    cuts: list[tuple[str, float, float]] = []
    if kind == "AWS::Logs::LogGroup":
        old = _days(change.old_props().get("RetentionInDays", MISSING))
        new = _days(change.new_props().get("RetentionInDays", MISSING))
        if old is not None and new is not None and new < old:
            cuts.append(("`RetentionInDays`", old, new))
    elif kind == "AWS::S3::Bucket":
        before, after = _expirations(change.old_props()), _expirations(change.new_props())
        for rule, (what, new) in after.items():
            old = before.get(rule, (what, _FOREVER))[1]
            if old is not None and new is not None and new < old:
                cuts.append((f"`{what}`", old, new))
    out = []
    for what, old, new in cuts:
        was = "kept forever" if old == _FOREVER else f"{int(old)} days"
        msg = (
            f"{what} shortened ({was} → {int(new)} days): an in-place update after which "
            f"everything older than {int(new)} days is deleted"
        )
        out.append(Finding(DATA_LOSS, change.stack_id, change.display_id, kind, msg))
    return out


def _bucket_key_swap(change: ResourceChange) -> Finding | None:
    """A bucket's default key changes: objects written before keep the old key."""
    if change.resource_type != "AWS::S3::Bucket" or change.replacement == REPLACE:
        return None
    paths = [p for p in change.properties if p.path.endswith("KMSMasterKeyID")]
    if not paths:
        return None
    old = render(paths[0].old, change.old_scope) if paths[0].old is not MISSING else "(none)"
    new = render(paths[0].new, change.new_scope) if paths[0].new is not MISSING else "(none)"
    msg = (
        f"default encryption key changes from `{old}` to `{new}`: objects written before "
        "stay encrypted with the old key and stay readable only to whoever may still use it "
        "(kms:Decrypt); re-encrypt them (copy in place) before the old key is disabled, "
        "deleted or dropped from the readers' policies"
    )
    return Finding(WARNING, change.stack_id, change.display_id, change.resource_type, msg)


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
                    _documented_update_failure(change),
                    _bucket_key_swap(change),
                    *_retention_cut(change),
                ]
            else:
                found = []
            for finding in found:
                if finding is not None:
                    finding.name = _name(change)
                    findings.append(finding)
    from .crossings import across_stacks  # it builds on this module's rules

    findings = across_stacks(stacks, findings)
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


def _watched(path: str, watched: tuple[str, ...]) -> bool:
    """``path`` is a watched property or within one (``A.B`` watches ``A.B[0]``, ``A.B.C``)."""
    return any(path == w or path.startswith((f"{w}.", f"{w}[")) for w in watched)


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
                if not _watched(prop.path, watched):
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
