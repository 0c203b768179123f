"""Lifecycle script changes, decoded from base64 and shown as unified diffs.

A script composed by ``NotebookSetup`` carries its fragments as a gzip'd tar in base64
between ``<< 'SMC_BUNDLE_END'`` and ``SMC_BUNDLE_END``; those are unpacked with
``sagemaker_constructs.setup.notebook_setup.unbundle`` and diffed file by file, and the script
itself is diffed with the bundle replaced by one line naming the files.
"""

from __future__ import annotations

import base64
import binascii
import difflib
from dataclasses import dataclass
from typing import Any

from .assembly import Assembly
from .changes import StackChange
from .intrinsics import render

LIFECYCLE_TYPE = "AWS::SageMaker::NotebookInstanceLifecycleConfig"
PHASES = ("OnCreate", "OnStart")
BUNDLE_START = "<< 'SMC_BUNDLE_END'"
BUNDLE_END = "SMC_BUNDLE_END"
MAX_DIFF_LINES = 300


@dataclass
class ScriptDiff:
    stack_id: str
    resource: str
    title: str  # "OnStart script", "OnStart fragment idle_autostop.py"
    diff: str  # unified diff text, "" when there is a note instead
    note: str = ""


@dataclass
class Script:
    text: str
    asset: str | None = None  # the S3 object key, when the script is stored as an asset


def decode(value: Any, assembly: Assembly | None = None) -> Script | None:
    """The script of ``OnCreate``/``OnStart`` (``[{"Content": base64}]``); None if absent.

    A script too large for a lifecycle configuration is stored as an S3 file asset and the
    content is a short loader (``Fn::Base64`` of a join naming the asset's object key): the
    script is then read from the asset file in the assembly.

    Raises:
        ValueError: The content cannot be decoded (the message says why).
    """
    if value is None or not isinstance(value, list) or not value:
        return None
    content = value[0].get("Content") if isinstance(value[0], dict) else None
    if isinstance(content, dict) and set(content) == {"Fn::Base64"}:
        loader = render(content["Fn::Base64"])
        found = assembly.asset_in(loader) if assembly is not None else None
        if found is None:
            return Script(loader)
        key, path = found
        try:
            return Script(path.read_text(encoding="utf-8", errors="replace"), asset=key)
        except OSError as exc:
            raise ValueError(f"cannot read the script asset {path} ({exc.strerror})") from None
    if not isinstance(content, str):
        raise ValueError(f"content is not a literal: {render(content)}")
    try:
        return Script(base64.b64decode(content, validate=True).decode("utf-8", errors="replace"))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"content is not valid base64 ({exc})") from None


def _unbundle(script: str) -> dict[str, str]:
    from sagemaker_constructs.setup.notebook_setup import unbundle

    try:
        return unbundle(script)
    except Exception:  # a corrupt bundle: diff the lines as they are
        return {}


def split_bundle(script: str) -> tuple[str, dict[str, str]]:
    """The script with its fragment bundle replaced by one line, and the fragments."""
    if BUNDLE_START not in script:
        return script, {}
    fragments = _unbundle(script)
    if not fragments:
        return script, {}
    out, inside = [], False
    for line in script.splitlines(keepends=True):
        if inside:
            if line.rstrip("\n") == BUNDLE_END:
                out.append(f"[bundled fragments: {', '.join(sorted(fragments))}]\n")
                out.append(line)
                inside = False
            continue
        out.append(line)
        if BUNDLE_START in line:
            inside = True
    return "".join(out), fragments


def _diff(old: str | None, new: str | None, name: str) -> str:
    lines = list(
        difflib.unified_diff(
            (old or "").splitlines(),
            (new or "").splitlines(),
            fromfile="/dev/null" if old is None else f"a/{name}",
            tofile="/dev/null" if new is None else f"b/{name}",
            lineterm="",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        more = len(lines) - MAX_DIFF_LINES
        lines = lines[:MAX_DIFF_LINES] + [f"… {more} more diff lines not shown"]
    return "\n".join(lines)


def lifecycle_diffs(stacks: list[StackChange]) -> list[ScriptDiff]:
    out: list[ScriptDiff] = []
    for stack in stacks:
        for change in stack.resources:
            if change.resource_type != LIFECYCLE_TYPE or change.action != "modified":
                continue
            for phase in PHASES:
                raw_old, raw_new = change.old_props().get(phase), change.new_props().get(phase)
                if raw_old == raw_new:
                    continue
                old_asm = change.old_scope.assembly if change.old_scope else None
                new_asm = change.new_scope.assembly if change.new_scope else None
                try:
                    old_script, new_script = decode(raw_old, old_asm), decode(raw_new, new_asm)
                except ValueError as exc:
                    out.append(
                        ScriptDiff(
                            stack.stack_id, change.display_id, f"{phase} script", "", str(exc)
                        )
                    )
                    continue
                old = old_script.text if old_script else None
                new = new_script.text if new_script else None
                if old == new:
                    continue  # the same script under another asset key
                old_text, old_fragments = split_bundle(old or "")
                new_text, new_fragments = split_bundle(new or "")
                name = f"{change.current_id}/{phase}"
                stored = " (stored as an S3 asset)" if new_script and new_script.asset else ""
                if old is None or new is None or old_text != new_text:
                    out.append(
                        ScriptDiff(
                            stack.stack_id,
                            change.display_id,
                            f"{phase} script"
                            + (" added" if old is None else " removed" if new is None else "")
                            + stored,
                            _diff(
                                None if old is None else old_text,
                                None if new is None else new_text,
                                name,
                            ),
                        )
                    )
                whole: dict[str, list[str]] = {"added to": [], "removed from": []}
                for fragment in sorted(set(old_fragments) | set(new_fragments)):
                    a, b = old_fragments.get(fragment), new_fragments.get(fragment)
                    if a == b:
                        continue
                    if a is None or b is None:
                        # A whole fragment (reviewed in lifecycle_scripts/): no full listing.
                        lines = len((a or b or "").splitlines())
                        whole["added to" if a is None else "removed from"].append(
                            f"`{fragment}` ({lines} lines)"
                        )
                        continue
                    diff = _diff(a, b, f"{name}/{fragment}")
                    title = f"{phase} fragment {fragment}"
                    out.append(ScriptDiff(stack.stack_id, change.display_id, title, diff))
                for what, fragments in whole.items():
                    if fragments:
                        note = f"{what} the bundle: " + ", ".join(fragments)
                        title = f"{phase} fragments {what.split()[0]}"
                        out.append(ScriptDiff(stack.stack_id, change.display_id, title, "", note))
    return out
