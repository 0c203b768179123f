"""IAM changes as policy statements added, removed or changed.

Covers identity policies (``AWS::IAM::Policy``, ``ManagedPolicy``, a role's inline policies
and trust policy) and resource policies (KMS key policies, bucket policies, VPC endpoint
policies, CodeArtifact permissions), plus what a policy is attached to.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .changes import MISSING, ResourceChange, StackChange
from .intrinsics import Scope, is_intrinsic, render

#: Policy documents per resource type: property -> what the document is.
DOCUMENTS: dict[str, dict[str, str]] = {
    "AWS::IAM::Policy": {"PolicyDocument": "policy"},
    "AWS::IAM::ManagedPolicy": {"PolicyDocument": "managed policy"},
    "AWS::IAM::Role": {"AssumeRolePolicyDocument": "trust policy"},
    "AWS::KMS::Key": {"KeyPolicy": "key policy"},
    "AWS::S3::BucketPolicy": {"PolicyDocument": "bucket policy"},
    "AWS::SQS::QueuePolicy": {"PolicyDocument": "queue policy"},
    "AWS::SNS::TopicPolicy": {"PolicyDocument": "topic policy"},
    "AWS::EC2::VPCEndpoint": {"PolicyDocument": "endpoint policy"},
    "AWS::CodeArtifact::Domain": {"PermissionsPolicyDocument": "domain policy"},
    "AWS::CodeArtifact::Repository": {"PermissionsPolicyDocument": "repository policy"},
}
#: Types with inline ``Policies: [{PolicyName, PolicyDocument}]``.
INLINE = frozenset({"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"})
#: What a policy is attached to, or a role's attached policies.
ATTACHMENTS: dict[str, tuple[str, ...]] = {
    "AWS::IAM::Role": ("ManagedPolicyArns", "PermissionsBoundary"),
    "AWS::IAM::User": ("ManagedPolicyArns", "PermissionsBoundary", "Groups"),
    "AWS::IAM::Group": ("ManagedPolicyArns",),
    "AWS::IAM::Policy": ("Roles", "Users", "Groups"),
    "AWS::IAM::ManagedPolicy": ("Roles", "Users", "Groups"),
    "AWS::S3::BucketPolicy": ("Bucket",),
}


def _list(value: Any) -> list[Any]:
    if value is None or value is MISSING:
        return []
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    principal: str | None = None
    not_principal: str | None = None
    condition: str | None = None
    sid: str | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, raw: Any, scope: Scope | None) -> Statement:
        if not isinstance(raw, dict) or is_intrinsic(raw):
            return cls(effect="?", condition=render(raw, scope))

        def items(key: str) -> tuple[str, ...]:
            return tuple(sorted(render(v, scope) for v in _list(raw.get(key))))

        def text(key: str) -> str | None:
            return render(raw[key], scope) if key in raw else None

        return cls(
            effect=str(raw.get("Effect", "?")),
            actions=items("Action"),
            not_actions=items("NotAction"),
            resources=items("Resource"),
            not_resources=items("NotResource"),
            principal=text("Principal"),
            not_principal=text("NotPrincipal"),
            condition=text("Condition"),
            sid=raw.get("Sid") if isinstance(raw.get("Sid"), str) else None,
        )


@dataclass
class IamChange:
    stack_id: str
    resource: str  # display id
    resource_type: str
    document: str  # "managed policy", "trust policy", "inline policy X", "attachments"
    kind: str  # "added" | "removed" | "changed" | "document removed" | "attachment"
    statement: Statement | None = None  # the new one (the old one when removed)
    old_statement: Statement | None = None  # for "changed"
    detail: str = ""  # for attachments and removed documents


def _documents(resource_type: str, props: dict[str, Any]) -> dict[str, Any]:
    docs = {
        label: props[key] for key, label in DOCUMENTS.get(resource_type, {}).items() if key in props
    }
    if resource_type in INLINE:
        for policy in _list(props.get("Policies")):
            if isinstance(policy, dict):
                name = render(policy.get("PolicyName", "?"))
                docs[f"inline policy {name}"] = policy.get("PolicyDocument")
    return docs


def _statements(document: Any, scope: Scope | None) -> list[Statement]:
    if isinstance(document, dict) and not is_intrinsic(document):
        return [Statement.parse(s, scope) for s in _list(document.get("Statement"))]
    if document is None or document is MISSING:
        return []
    return [Statement.parse(document, scope)]  # an intrinsic: shown whole


def _diff_document(
    change: ResourceChange, label: str, old_doc: Any, new_doc: Any
) -> list[IamChange]:
    base = (change.stack_id, change.display_id, change.resource_type, label)
    old = _statements(old_doc, change.old_scope)
    new = _statements(new_doc, change.new_scope)
    out: list[IamChange] = []
    old_by_sid = {s.sid: s for s in old if s.sid}
    new_by_sid = {s.sid: s for s in new if s.sid}
    for sid in sorted(set(old_by_sid) & set(new_by_sid)):
        a, b = old_by_sid[sid], new_by_sid[sid]
        if a != b:
            out.append(IamChange(*base, "changed", statement=b, old_statement=a))
        old = [s for s in old if s is not a]
        new = [s for s in new if s is not b]
    # The same grant with other resources or conditions: one statement changed.
    gone, came = Counter(old) - Counter(new), Counter(new) - Counter(old)
    for key in {_grant(s) for s in gone} & {_grant(s) for s in came}:
        a_list = [s for s in gone if _grant(s) == key]
        b_list = [s for s in came if _grant(s) == key]
        if len(a_list) == 1 and len(b_list) == 1 and gone[a_list[0]] == came[b_list[0]] == 1:
            a, b = a_list[0], b_list[0]
            out.append(IamChange(*base, "changed", statement=b, old_statement=a))
            old = [s for s in old if s != a]
            new = [s for s in new if s != b]
    removed = Counter(old) - Counter(new)
    added = Counter(new) - Counter(old)
    for statement in old:
        if removed[statement] > 0:
            removed[statement] -= 1
            out.append(IamChange(*base, "removed", statement=statement))
    for statement in new:
        if added[statement] > 0:
            added[statement] -= 1
            out.append(IamChange(*base, "added", statement=statement))
    return out


def _grant(s: Statement) -> tuple[Any, ...]:
    """What a statement grants to whom, without where."""
    return (s.effect, s.actions, s.not_actions, s.principal, s.not_principal)


def _attachments(change: ResourceChange) -> list[IamChange]:
    out = []
    for key in ATTACHMENTS.get(change.resource_type, ()):
        before = {render(v, change.old_scope) for v in _list(change.old_props().get(key))}
        after = {render(v, change.new_scope) for v in _list(change.new_props().get(key))}
        if change.old is None:
            before = set()
        parts = [f"+`{v}`" for v in sorted(after - before)] + [
            f"−`{v}`" for v in sorted(before - after)
        ]
        if parts:
            out.append(
                IamChange(
                    change.stack_id,
                    change.display_id,
                    change.resource_type,
                    "attachments",
                    "attachment",
                    detail=f"{key}: " + ", ".join(parts),
                )
            )
    return out


def iam_changes(stacks: list[StackChange]) -> list[IamChange]:
    out: list[IamChange] = []
    for stack in stacks:
        for change in stack.resources:
            kind = change.resource_type
            if kind not in DOCUMENTS and kind not in INLINE:
                continue
            if not change.changed:
                continue
            if change.action == "removed":
                for label, doc in _documents(kind, change.old_props()).items():
                    n = len(_statements(doc, change.old_scope))
                    what = "statement" if n == 1 else "statements"
                    out.append(
                        IamChange(
                            stack.stack_id,
                            change.display_id,
                            kind,
                            label,
                            "document removed",
                            detail=f"{n} {what} removed with the resource",
                        )
                    )
                continue
            old_docs = _documents(kind, change.old_props()) if change.old else {}
            new_docs = _documents(kind, change.new_props())
            for label in list(old_docs) + [k for k in new_docs if k not in old_docs]:
                out += _diff_document(change, label, old_docs.get(label), new_docs.get(label))
            out += _attachments(change)
    return out
