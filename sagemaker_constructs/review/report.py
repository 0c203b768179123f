"""The review as markdown for a pull-request comment."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from .changes import MAY_REPLACE, MISSING, REPLACE, PropertyChange, ResourceChange, StackChange
from .findings import DATA_LOSS, FAILS, WARNING, Finding
from .iam import DOCUMENTS, INLINE, IamChange, Statement
from .intrinsics import Scope, render
from .lifecycle import LIFECYCLE_TYPE, PHASES

if TYPE_CHECKING:
    from .review import Review

TITLE = "## CloudFormation review"
VALUE_WIDTH = 70
CONTEXT = 18


# --- text helpers ----------------------------------------------------------------------


def code(text: str) -> str:
    """An inline code span safe inside a table cell."""
    text = text.replace("`", "'").replace("\n", "\\n").replace("|", "\\|")
    return f"`{text}`" if text else "``"


def _one(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    half = (width - 1) // 2
    return text[:half] + "…" + text[len(text) - (width - 1 - half) :]


def shorten_pair(old: str, new: str, width: int = VALUE_WIDTH) -> tuple[str, str]:
    """Both values cut to ``width``, keeping the part where they differ."""
    if len(old) <= width and len(new) <= width:
        return old, new
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(old), len(new)) - prefix
        and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]
    ):
        suffix += 1
    start = max(0, prefix - CONTEXT)

    def cut(text: str) -> str:
        end = len(text) - max(0, suffix - CONTEXT)
        middle = text[start:end]
        middle = _one(middle, width - 2)
        return ("…" if start > 0 else "") + middle + ("…" if end < len(text) else "")

    return cut(old), cut(new)


def _value(value: Any, scope: Scope | None) -> str:
    return "(absent)" if value is MISSING else render(value, scope)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --- sections ----------------------------------------------------------------------------


def _summary(review: Review) -> str:
    stacks = review.stacks
    changed = [s for s in stacks if s.status != "unchanged"]
    if not changed:
        return (
            f"**Summary:** no changes ({_plural(len(stacks), 'stack')} compared) · "
            "data loss: **no**"
        )
    counts: Counter[str] = Counter()
    for stack in changed:
        for r in stack.changed_resources:
            counts[r.action] += 1
    renamed = sum(r.id_changed for s in stacks for r in s.resources)
    replaced = [r for s in stacks for r in s.resources if r.replacement == REPLACE]
    maybe = [r for s in stacks for r in s.resources if r.replacement == MAY_REPLACE]
    added = sum(s.status == "added" for s in stacks)
    removed = sum(s.status == "removed" for s in stacks)
    parts = [
        f"{len(changed)} of {_plural(len(stacks), 'stack')} changed "
        f"({added} added, {removed} removed)",
        f"resources: {counts['added']} added, {counts['removed']} removed, "
        f"{counts['modified']} modified"
        + (f" ({renamed} under a new logical ID)" if renamed else ""),
        f"{_plural(len(replaced), 'replacement')}"
        + (f" (+{len(maybe)} possible)" if maybe else ""),
    ]
    losses = [f for f in review.findings if f.level == DATA_LOSS]
    fails = [f for f in review.findings if f.level == FAILS]
    if fails:
        parts.append(f"{_plural(len(fails), 'update')} that will fail")
    if losses:
        loss = f"**DATA LOSS: yes** ({_plural(len(losses), 'resource')})"
        if review.allow_data_loss:
            loss += ", allowed with `--allow-data-loss`"
    else:
        loss = "data loss: **no**"
    parts.append(loss)
    return "**Summary:** " + " · ".join(parts)


def _finding(f: Finding) -> str:
    label = {
        DATA_LOSS: "POSSIBLE DATA LOSS" if f.possible else "DATA LOSS",
        FAILS: "WILL FAIL",
        WARNING: "WARNING",
    }[f.level]
    name = f", {code(f.name)}" if f.name else ""
    return (
        f"- **{label}** — {code(f.stack_id)} / {code(f.resource)} "
        f"({code(f.resource_type)}{name}): {f.message}"
    )


def _findings(review: Review) -> list[str]:
    lines: list[str] = []
    for level, heading in (
        (DATA_LOSS, "### ⛔ Data loss"),
        (FAILS, "### ⛔ Updates that will fail"),
        (WARNING, "### ⚠️ Warnings"),
    ):
        found = [f for f in review.findings if f.level == level]
        if not found:
            continue
        lines += ["", heading, ""]
        if level == DATA_LOSS:
            lines.append(
                "Acknowledged with `--allow-data-loss`."
                if review.allow_data_loss
                else "The review fails (exit code 3) until this is fixed or acknowledged "
                "with `--allow-data-loss`."
            )
            lines.append("")
        if level == FAILS:
            lines.append(
                "Allowed with `--allow-failures`."
                if review.allow_failures
                else "The change cannot deploy as it is: the review fails (exit code 4 when "
                "there is no data loss) until this is fixed, or passes with `--allow-failures`."
            )
            lines.append("")
        lines += [_finding(f) for f in found]
    return lines


def _security(review: Review) -> list[str]:
    if not review.security:
        return []
    lines = ["", "### 🔒 Security-relevant changes", ""]
    lines += ["| stack | resource | what | old | new |", "|---|---|---|---|---|"]
    for note in review.security:
        old, new = shorten_pair(note.old or "", note.new or "")
        lines.append(
            f"| {code(note.stack_id)} | {code(note.resource)} | {code(note.what)} | "
            f"{code(old) if note.old is not None else '(none)'} | "
            f"{code(new) if note.new is not None else '(none)'} |"
        )
    return lines


def _statement(s: Statement) -> str:
    def codes(items: tuple[str, ...]) -> str:
        return ", ".join(code(i) for i in items)

    text = f"{s.effect} "
    text += codes(s.actions) if s.actions else ""
    text += f"all but {codes(s.not_actions)}" if s.not_actions else ""
    if s.resources:
        text += f" on {codes(s.resources)}"
    if s.not_resources:
        text += f" on all but {codes(s.not_resources)}"
    if s.principal:
        text += f" to {code(s.principal)}"
    if s.not_principal:
        text += f" to all but {code(s.not_principal)}"
    if s.condition:
        text += f" when {code(s.condition)}"
    if s.sid:
        text += f" (Sid {code(s.sid)})"
    return text


def _statement_change(old: Statement, new: Statement) -> str:
    parts = []
    for attr, label in (
        ("actions", "actions"),
        ("not_actions", "not-actions"),
        ("resources", "resources"),
        ("not_resources", "not-resources"),
    ):
        a, b = set(getattr(old, attr)), set(getattr(new, attr))
        diff = [f"+{code(x)}" for x in sorted(b - a)] + [f"−{code(x)}" for x in sorted(a - b)]
        if diff:
            parts.append(f"{label} " + " ".join(diff))
    for attr in ("effect", "principal", "not_principal", "condition"):
        a, b = getattr(old, attr), getattr(new, attr)
        if a != b:
            parts.append(f"{attr.replace('_', '-')} {code(a or '(none)')} → {code(b or '(none)')}")
    actions = ", ".join(code(a) for a in new.actions or new.not_actions)
    which = f"Sid {code(new.sid)}, " if new.sid else ""
    whom = f" to {code(new.principal)}" if new.principal and new.principal == old.principal else ""
    return f"{which}{new.effect} {actions}{whom}: " + "; ".join(parts)


def _iam(review: Review) -> list[str]:
    if not review.iam:
        return []
    lines = ["", "### 🔑 IAM changes", ""]
    groups: dict[tuple[str, str, str, str], list[IamChange]] = defaultdict(list)
    for change in review.iam:
        groups[(change.stack_id, change.resource, change.resource_type, change.document)].append(
            change
        )
    for (stack_id, resource, kind, document), changes in groups.items():
        lines.append(f"- {code(stack_id)} / {code(resource)} ({code(kind)}) — {document}:")
        for c in changes:
            if c.kind == "added" and c.statement:
                lines.append(f"  - **added:** {_statement(c.statement)}")
            elif c.kind == "removed" and c.statement:
                lines.append(f"  - **removed:** {_statement(c.statement)}")
            elif c.kind == "changed" and c.statement and c.old_statement:
                lines.append(f"  - **changed:** {_statement_change(c.old_statement, c.statement)}")
            else:
                lines.append(f"  - {c.detail}")
    return lines


def _scripts(review: Review) -> list[str]:
    if not review.scripts:
        return []
    lines = ["", "### 📜 Lifecycle scripts", ""]
    for d in review.scripts:
        lines.append(f"{code(d.stack_id)} / {code(d.resource)} — **{d.title}**")
        lines.append("")
        if d.diff:
            lines += ["```diff", d.diff, "```", ""]
        else:
            lines += [d.note, ""]
    return lines


def _summarized(change: ResourceChange, prop: PropertyChange) -> str | None:
    """Properties shown in their own section get one row pointing there."""
    kind = change.resource_type
    if prop.top in DOCUMENTS.get(kind, {}) or (kind in INLINE and prop.top == "Policies"):
        return "(policy changed: see IAM changes)"
    if kind == LIFECYCLE_TYPE and prop.top in PHASES:
        return "(script changed: see Lifecycle scripts)"
    return None


def _property_rows(change: ResourceChange) -> list[str]:
    rows, seen = [], set()
    for prop in change.properties + change.attributes:
        pointer = _summarized(change, prop)
        if pointer is not None:
            if prop.top not in seen:
                seen.add(prop.top)
                rows.append(f"| {code(prop.top)} | {pointer} | |")
            continue
        old, new = shorten_pair(
            _value(prop.old, change.old_scope), _value(prop.new, change.new_scope)
        )
        rows.append(f"| {code(prop.path)} | {code(old)} | {code(new)} |")
    return rows


def _replacement(change: ResourceChange) -> str:
    if change.replacement == REPLACE:
        return "**replace**"
    if change.replacement == MAY_REPLACE:
        return "**may replace**"
    return "no"


def _stack(stack: StackChange) -> list[str]:
    if stack.status == "added":
        types = Counter(r.resource_type for r in stack.resources)
        listed = ", ".join(f"{code(t)} ×{n}" for t, n in sorted(types.items()))
        return [
            "",
            f"#### ➕ {code(stack.stack_id)} — new stack, "
            f"{_plural(len(stack.resources), 'resource')}",
            "",
            listed or "(no resources)",
        ]
    if stack.status == "removed":
        deleted: list[str] = []
        kept: list[str] = []
        for r in stack.resources:
            policy = (r.old or {}).get("DeletionPolicy", "Delete")
            entry = f"{code(r.logical_id)} ({code(r.resource_type)})"
            (kept if policy in ("Retain", "RetainExceptOnCreate") else deleted).append(entry)
        lines = [
            "",
            f"#### ➖ {code(stack.stack_id)} — stack removed with "
            f"{_plural(len(stack.resources), 'resource')}",
            "",
            "`cdk deploy` leaves a stack that left the app in place; deleting it "
            "(`cdk destroy`, the console) does this:",
            "",
        ]
        lines.append(f"- **deleted** ({len(deleted)}): " + (", ".join(deleted) or "none"))
        lines.append(
            f"- **retained** ({len(kept)}, left outside CloudFormation): "
            + (", ".join(kept) or "none")
        )
        return lines
    changes = stack.changed_resources
    lines = ["", f"#### {code(stack.stack_id)}", ""]
    if changes:
        lines += ["| change | logical ID | type | replacement |", "|---|---|---|---|"]
        label = {"added": "➕ added", "removed": "➖ removed", "modified": "✏️ modified"}
        for r in changes:
            what = label[r.action] if not r.id_changed else "✏️ new logical ID"
            replacement = _replacement(r) if r.action == "modified" else "—"
            lines.append(
                f"| {what} | {code(r.display_id)} | {code(r.resource_type)} | {replacement} |"
            )
    for r in changes:
        if r.action != "modified":
            continue
        rows = _property_rows(r)
        head = f"**{code(r.display_id)}** ({code(r.resource_type)})"
        if r.replacement:
            head += f" — {_replacement(r)}: " + "; ".join(r.reasons)
        lines += ["", head]
        if rows:
            lines += ["", "| property | old | new |", "|---|---|---|", *rows]
        elif not r.reasons:
            lines.append("(no property change)")
    if stack.outputs:
        names = sorted({p.path.split(".")[0] for p in stack.outputs})
        lines += ["", "Outputs changed: " + ", ".join(code(n) for n in names)]
    if stack.other:
        names = sorted({p.path.split(".")[0] for p in stack.other})
        lines += ["", "Template sections changed: " + ", ".join(code(n) for n in names)]
    return lines


def render_markdown(review: Review) -> str:
    lines = [
        TITLE,
        "",
        f"{code(review.old_label)} → {code(review.new_label)}",
        "",
        _summary(review),
    ]
    lines += _findings(review)
    lines += _security(review)
    lines += _iam(review)
    lines += _scripts(review)
    changed = [s for s in review.stacks if s.status != "unchanged"]
    if changed:
        lines += ["", "### Stacks"]
        for stack in changed:
            lines += _stack(stack)
    unchanged = [s.stack_id for s in review.stacks if s.status == "unchanged"]
    if unchanged and changed:
        lines += ["", "Unchanged: " + ", ".join(code(s) for s in unchanged) + "."]
    return "\n".join(lines) + "\n"


def truncate(markdown: str, max_chars: int) -> str:
    """Cut the report to ``max_chars`` at a line, closing an open code fence."""
    if max_chars <= 0 or len(markdown) <= max_chars:
        return markdown
    note = (
        f"\n_… report truncated ({len(markdown)} characters); run `sagemaker-review` "
        "locally for the rest._\n"
    )
    kept = markdown[: max(0, max_chars - len(note) - 8)]
    kept = kept[: kept.rfind("\n") + 1] if "\n" in kept else kept
    if sum(line.startswith("```") for line in kept.splitlines()) % 2:
        kept += "```\n"
    return kept + note
