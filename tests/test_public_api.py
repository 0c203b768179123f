"""The example app and the benchmarks use only the library's public API."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import sagemaker_constructs

ROOT = Path(__file__).resolve().parent.parent
APP_FILES = sorted(
    [ROOT / "app.py", *(ROOT / "stacks").glob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
)


def private_imports(source: str) -> list[str]:
    """Every ``sagemaker_constructs`` module or name starting with ``_`` that ``source`` imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "sagemaker_constructs" and any(p.startswith("_") for p in parts):
                    found.append(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] != "sagemaker_constructs":
                continue
            if any(p.startswith("_") for p in parts):
                found.append(node.module)
            found.extend(f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_"))
    return found


def test_checker_flags_private_modules_and_names():
    # Negative control: each form of private import is caught, public ones are not.
    source = (
        "import sagemaker_constructs._defaults\n"
        "from sagemaker_constructs._compliance import acknowledge\n"
        "from sagemaker_constructs.governance import _hidden\n"
        "from sagemaker_constructs import NotebookInstance, governance\n"
        "from ._local import x\n"
        "from aws_cdk import _private\n"
    )
    assert private_imports(source) == [
        "sagemaker_constructs._defaults",
        "sagemaker_constructs._compliance",
        "sagemaker_constructs.governance._hidden",
    ]


@pytest.mark.parametrize("path", APP_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_example_app_imports_only_public_api(path):
    assert private_imports(path.read_text(encoding="utf-8")) == []


def test_app_files_found():
    names = {p.name for p in APP_FILES}
    assert {"app.py", "team_stack.py", "pipeline_stack.py", "config.py"} <= names


def test_every_exported_name_resolves():
    for name in sagemaker_constructs.__all__:
        assert getattr(sagemaker_constructs, name) is not None, name
    for sub in ("notebooks", "studio", "network", "setup", "governance"):
        module = importlib.import_module(f"sagemaker_constructs.{sub}")
        assert module.__doc__ and len(module.__doc__.strip()) > 20, sub
        for name in module.__all__:
            assert not name.startswith("_"), (sub, name)
            assert getattr(module, name) is not None, (sub, name)


@pytest.mark.parametrize(
    "name",
    [
        "NotebookGuardrails",
        "NotebookPermissionsBoundary",
        "StackLimitsCheck",
        "PackageMirror",
        "CondaChannel",
    ],
)
def test_governance_and_network_constructs_are_exported_at_the_top(name):
    assert name in sagemaker_constructs.__all__
    assert getattr(sagemaker_constructs, name).__module__.startswith("sagemaker_constructs.")


def test_every_subpackage_is_in_the_wheel_listing():
    """pyproject lists the packages by hand (for the lifecycle_scripts mapping): none missed."""
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        "sagemaker_constructs." + p.parent.name
        for p in (ROOT / "sagemaker_constructs").glob("*/__init__.py")
    } | {"sagemaker_constructs", "sagemaker_constructs.lifecycle_scripts"}
    assert listed == on_disk
