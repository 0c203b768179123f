"""Reading a cloud assembly (a ``cdk.out`` folder): its stacks and their templates."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEMPLATE_SUFFIX = ".template.json"


class InputError(Exception):
    """A folder or file given to the review cannot be used (exit code 2)."""


@dataclass
class StackTemplate:
    """One stack of an assembly.

    Attributes:
        artifact_id: The artifact id in ``manifest.json`` (stacks are matched on it).
        stack_name: The CloudFormation stack name (``Fn::GetStackOutput`` names it).
        template_file: Where the template was read from.
        template: The parsed template.
        region: The stack's region, or None when the stack is environment-agnostic.
    """

    artifact_id: str
    stack_name: str
    template_file: Path
    template: dict[str, Any]
    region: str | None = None

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.get("Resources") or {}

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return self.template.get("Outputs") or {}


@dataclass
class Assembly:
    root: Path
    stacks: dict[str, StackTemplate] = field(default_factory=dict)
    #: File assets by S3 object key (``<hash>.sh``), from the ``*.assets.json`` manifests.
    assets: dict[str, Path] = field(default_factory=dict)

    def asset_in(self, text: str) -> tuple[str, Path] | None:
        """The first file asset whose object key ``text`` mentions, with its file."""
        for key, path in self.assets.items():
            if key in text:
                return key, path
        return None

    def by_stack_name(self, name: str) -> StackTemplate | None:
        for stack in self.stacks.values():
            if stack.stack_name == name:
                return stack
        return None

    def export(self, name: str) -> tuple[StackTemplate, Any] | None:
        """The stack exporting ``name`` and the exported value, if any stack does."""
        for stack in self.stacks.values():
            for output in stack.outputs.values():
                export = output.get("Export") or {}
                if export.get("Name") == name:
                    return stack, output.get("Value")
        return None


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None


def _region(environment: Any) -> str | None:
    """The region of ``aws://account/region``; None for ``unknown-region``."""
    if not isinstance(environment, str) or not environment.startswith("aws://"):
        return None
    parts = environment[len("aws://") :].split("/")
    if len(parts) != 2 or parts[1].startswith("unknown-") or not parts[1]:
        return None
    return parts[1]


def _template(path: Path, artifact_id: str, stack_name: str, region: str | None) -> StackTemplate:
    if not path.is_file():
        raise InputError(f"{path}: template file of stack {artifact_id!r} is missing")
    template = _read_json(path)
    if not isinstance(template, dict) or not isinstance(template.get("Resources", {}), dict):
        raise InputError(f"{path}: not a CloudFormation template (no 'Resources' mapping)")
    return StackTemplate(artifact_id, stack_name, path, template, region)


def _from_manifest(root: Path, manifest_file: Path, assembly: Assembly, depth: int = 0) -> None:
    manifest = _read_json(manifest_file)
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise InputError(f"{manifest_file}: no 'artifacts' mapping; is this a cloud assembly?")
    for artifact_id, artifact in artifacts.items():
        kind = artifact.get("type")
        props = artifact.get("properties") or {}
        if kind == "aws:cloudformation:stack":
            template_file = props.get("templateFile", f"{artifact_id}{TEMPLATE_SUFFIX}")
            assembly.stacks[artifact_id] = _template(
                root / template_file,
                artifact_id,
                props.get("stackName") or artifact_id,
                _region(artifact.get("environment")),
            )
        elif kind == "cdk:asset-manifest":
            _read_assets(root / props.get("file", ""), assembly)
        elif kind == "cdk:cloud-assembly" and depth < 5:
            # A stage: its stacks live in a nested assembly.
            nested = root / str(props.get("directoryName") or artifact_id)
            if (nested / "manifest.json").is_file():
                _from_manifest(nested, nested / "manifest.json", assembly, depth + 1)


def _read_assets(manifest_file: Path, assembly: Assembly) -> None:
    """Record the file assets of one asset manifest (unreadable ones are skipped)."""
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return
    files = manifest.get("files") if isinstance(manifest, dict) else None
    for asset in (files or {}).values():
        source = asset.get("source") or {}
        path = manifest_file.parent / str(source.get("path", ""))
        if source.get("packaging", "file") != "file" or not path.is_file():
            continue
        for destination in (asset.get("destinations") or {}).values():
            key = destination.get("objectKey")
            if isinstance(key, str) and key:
                assembly.assets[key] = path


def load_assembly(path: str | Path, label: str = "folder") -> Assembly:
    """Read every stack template of the assembly at ``path``.

    Uses ``manifest.json`` when present (artifact ids, stack names, regions, stages);
    otherwise every ``*.template.json`` in the folder, named after the file.

    Raises:
        InputError: The folder is missing, holds no template, or a file is unreadable;
            the message names the folder or file and starts with ``label``.
    """
    root = Path(path)
    if not root.exists():
        raise InputError(f"{label} {root}: no such folder")
    if not root.is_dir():
        raise InputError(f"{label} {root}: not a folder (expected a cdk.out folder)")
    assembly = Assembly(root)
    try:
        manifest = root / "manifest.json"
        if manifest.is_file():
            _from_manifest(root, manifest, assembly)
        else:
            for file in sorted(root.glob(f"*{TEMPLATE_SUFFIX}")):
                name = file.name[: -len(TEMPLATE_SUFFIX)]
                assembly.stacks[name] = _template(file, name, name, None)
            for file in sorted(root.glob("*.assets.json")):
                _read_assets(file, assembly)
    except InputError as exc:
        raise InputError(f"{label}: {exc}") from None
    if not assembly.stacks:
        raise InputError(
            f"{label} {root}: no CloudFormation templates (*{TEMPLATE_SUFFIX}) found; "
            "expected a synthesized cloud assembly (cdk.out) folder"
        )
    return assembly
