"""Intrinsic functions in templates: a short rendering, and a canonical form to compare.

The canonical form follows references as far as the assembly allows: a ``Ref`` or
``Fn::GetAtt`` to a resource becomes ``{"@ref": [stack name, logical id, attribute]}``,
and ``Fn::GetStackOutput`` / ``Fn::ImportValue`` are followed into the producing stack's
output. Two values whose canonical forms differ and contain nothing unresolved
(``{"@?": ...}``) certainly differ at deploy time; with something unresolved they may.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .assembly import Assembly, StackTemplate

UNKNOWN = "@?"
REF = "@ref"
_MAX_DEPTH = 8
_SUB_VAR = re.compile(r"\$\{(?!!)([^}]+)\}")


@dataclass(frozen=True)
class Scope:
    """Where a value is evaluated: its stack, within an assembly."""

    assembly: Assembly
    stack: StackTemplate
    foreign: bool = False  # rendered from another stack: qualify names with the stack


def is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return isinstance(key, str) and (key == "Ref" or key == "Condition" or key.startswith("Fn::"))


def _get_att(arg: Any) -> tuple[Any, Any]:
    if isinstance(arg, str) and "." in arg:
        name, _, attr = arg.partition(".")
        return name, attr
    if isinstance(arg, list) and len(arg) == 2:
        return arg[0], arg[1]
    return None, None


def _stack_output(scope: Scope, fn: str, arg: Any) -> tuple[Scope, Any] | None:
    """The producing stack and output value of a GetStackOutput / ImportValue."""
    if fn == "Fn::GetStackOutput" and isinstance(arg, dict):
        name, output = arg.get("StackName"), arg.get("OutputName")
        if not isinstance(name, str) or not isinstance(output, str):
            return None
        stack = scope.assembly.by_stack_name(name)
        if stack is None or output not in stack.outputs:
            return None
        return Scope(scope.assembly, stack, foreign=True), stack.outputs[output].get("Value")
    if fn == "Fn::ImportValue" and isinstance(arg, str):
        found = scope.assembly.export(arg)
        if found is None:
            return None
        stack, value = found
        return Scope(scope.assembly, stack, foreign=True), value
    return None


# --- canonical form --------------------------------------------------------------------


def canonical(value: Any, scope: Scope, depth: int = 0) -> Any:
    """``value`` with every reference followed as far as the assembly allows."""
    if depth > _MAX_DEPTH:
        return {UNKNOWN: value}
    if isinstance(value, list):
        return [canonical(v, scope, depth) for v in value]
    if not isinstance(value, dict):
        return value
    if not is_intrinsic(value):
        return {k: canonical(v, scope, depth) for k, v in value.items()}
    fn, arg = next(iter(value.items()))
    stack = scope.stack
    if fn == "Ref":
        if isinstance(arg, str) and arg.startswith("AWS::"):
            return {"@pseudo": arg}
        if isinstance(arg, str) and arg in stack.resources:
            return {REF: [stack.stack_name, arg, "Ref"]}
        if isinstance(arg, str) and arg in (stack.template.get("Parameters") or {}):
            return {"@param": [stack.stack_name, arg]}
        return {UNKNOWN: value}
    if fn == "Fn::GetAtt":
        name, attr = _get_att(arg)
        if isinstance(name, str) and name in stack.resources:
            return {REF: [stack.stack_name, name, canonical(attr, scope, depth + 1)]}
        return {UNKNOWN: value}
    if fn in ("Fn::GetStackOutput", "Fn::ImportValue"):
        target = _stack_output(scope, fn, arg if fn != "Fn::ImportValue" else _literal(arg))
        if target is None:
            return {UNKNOWN: value}
        return canonical(target[1], target[0], depth + 1)
    if fn == "Fn::Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else (arg + [{}])[:2]
        if not isinstance(text, str) or not isinstance(variables, dict):
            return {UNKNOWN: value}
        resolved = {}
        for name in _SUB_VAR.findall(text):
            if name in variables:
                resolved[name] = canonical(variables[name], scope, depth + 1)
            elif "." in name:
                resolved[name] = canonical({"Fn::GetAtt": name.split(".", 1)}, scope, depth + 1)
            else:
                resolved[name] = canonical({"Ref": name}, scope, depth + 1)
        return {fn: [text, resolved]}
    if fn in ("Fn::If", "Condition", "Fn::FindInMap", "Fn::GetAZs"):
        # Depends on conditions, mappings or the account: not decided from the template.
        return {UNKNOWN: value}
    return {fn: canonical(arg, scope, depth + 1)}


def _literal(value: Any) -> Any:
    return value if isinstance(value, str) else None


def contains_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return UNKNOWN in value or any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def references(value: Any) -> set[tuple[str, str]]:
    """The resources (stack name, logical id) a canonical value refers to."""
    found: set[tuple[str, str]] = set()
    if isinstance(value, dict):
        if REF in value and isinstance(value[REF], list):
            found.add((value[REF][0], value[REF][1]))
        for v in value.values():
            found |= references(v)
    elif isinstance(value, list):
        for v in value:
            found |= references(v)
    return found


# --- rendering -------------------------------------------------------------------------


def render(value: Any, scope: Scope | None = None) -> str:
    """A short, readable rendering: ``${Logical.Attr}``, joins concatenated, outputs followed.

    References into another stack read ``${stack/Logical}``.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(render(v, scope) for v in value) + "]"
    if not isinstance(value, dict):
        return str(value)
    if not is_intrinsic(value):
        return "{" + ", ".join(f"{k}: {render(v, scope)}" for k, v in value.items()) + "}"
    fn, arg = next(iter(value.items()))
    prefix = f"{scope.stack.stack_name}/" if scope is not None and scope.foreign else ""
    if fn == "Ref" and isinstance(arg, str):
        return "${" + (arg if arg.startswith("AWS::") else prefix + arg) + "}"
    if fn == "Fn::GetAtt":
        name, attr = _get_att(arg)
        if isinstance(name, str):
            return "${" + prefix + name + "." + render(attr, scope) + "}"
    if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
        return (
            render(arg[0], scope)
            .strip('"')
            .join("" if part == "" else render(part, scope) for part in arg[1])
        )
    if fn == "Fn::Sub":
        text = arg if isinstance(arg, str) else (arg[0] if isinstance(arg, list) and arg else "")
        return render(text, scope)
    if fn in ("Fn::GetStackOutput", "Fn::ImportValue"):
        target = None
        if scope is not None:
            target = _stack_output(scope, fn, arg if fn != "Fn::ImportValue" else _literal(arg))
        if target is not None:
            return render(target[1], target[0])
        if fn == "Fn::GetStackOutput" and isinstance(arg, dict):
            return "${" + f"{render(arg.get('StackName'))}:{render(arg.get('OutputName'))}" + "}"
        return "${import:" + render(arg, scope) + "}"
    short = fn.removeprefix("Fn::")
    args = arg if isinstance(arg, list) else [arg]
    return f"{short}(" + ", ".join(render(a, scope) for a in args) + ")"
