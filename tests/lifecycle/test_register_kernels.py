"""register_kernels.sh on its own: an environment's creation marker read as it goes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sagemaker_constructs import lifecycle_scripts


def run_register(envs: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SMC_ENVS_DIR": str(envs),
        "NOTEBOOK_HOME": str(home),
        "SMC_RESTART_JUPYTER": "false",
    }
    return subprocess.run(
        ["bash", "-c", lifecycle_scripts.read("register_kernels.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_marker_gone_before_it_is_read_does_not_fail_the_start(tmp_path: Path):
    """The creation ends (and removes its marker) between the script's test and its read:
    the start goes on and treats the environment as created (here it has no python yet, so
    it is skipped with that reason). A directory stands in for the marker: it exists for
    ``[ -e ]`` and ``cat`` cannot read it, as with a file removed in between."""
    envs = tmp_path / "envs"
    (envs / "py311").mkdir(parents=True)
    (envs / ".py311.creating").mkdir()
    done = run_register(envs, tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "environment py311 has no bin/python; skipped" in done.stdout


def test_negative_control_a_readable_marker_still_means_being_created(tmp_path: Path):
    envs = tmp_path / "envs"
    (envs / "py311").mkdir(parents=True)
    (envs / ".py311.creating").write_text("failed\n")
    done = run_register(envs, tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "environment py311: its creation FAILED" in done.stdout
