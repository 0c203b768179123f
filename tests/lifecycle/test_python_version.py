"""The Python fragments run on the notebook host's own Python: none may need a newer one.

They run with the notebook's ``JupyterSystemEnv`` interpreter (``SMC_SYSTEM_PYTHON``), which
the lifecycle scripts do not choose. AWS documents Python 3.10 for the kernels of
``notebook-al2023-v1`` but not the version of ``JupyterSystemEnv`` itself, so the project
keeps to 3.9 (sources in docs/lifecycle.md, "Host Python"). ``vermin`` finds the minimum
version of each file statically, from the standard library's version history.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The oldest Python the host fragments must run on (docs/lifecycle.md, "Host Python").
HOST_PYTHON_MIN = "3.9"
FRAGMENTS = sorted((ROOT / "lifecycle_scripts").glob("*.py"))


def vermin(*paths: Path) -> subprocess.CompletedProcess:
    """Run vermin (its entry point, not the script, whose shebang may name another venv)."""
    code = "import sys; from vermin.main import main; sys.exit(main())"
    command = [sys.executable, "-c", code, f"--target={HOST_PYTHON_MIN}-", "--violations"]
    command += ["--no-tips", "--eval-annotations", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_there_are_python_fragments_to_check():
    names = {p.name for p in FRAGMENTS}
    assert {"idle_autostop.py", "cw_tee.py"} <= names


@pytest.mark.parametrize("fragment", FRAGMENTS, ids=lambda p: p.name)
def test_fragment_runs_on_the_oldest_host_python(fragment: Path):
    result = vermin(fragment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Target versions not met" not in result.stdout


@pytest.mark.parametrize(
    ("snippet", "feature"),
    [
        (
            "from datetime import UTC, datetime\nprint(datetime.now(UTC))\n",
            "'datetime.UTC' member requires !2, 3.11",
        ),
        ("from itertools import pairwise\n", "'itertools.pairwise' member requires !2, 3.10"),
        ("match 1:\n    case 1:\n        pass\n", "pattern matching requires !2, 3.10"),
    ],
)
def test_newer_features_are_rejected(tmp_path: Path, snippet: str, feature: str):
    """The negative control: what the old cw_tee.py did (datetime.UTC) fails the check."""
    path = tmp_path / "snippet.py"
    path.write_text(snippet)
    result = vermin(path)
    assert result.returncode == 1, result.stdout
    assert feature in result.stdout
    assert f"Target versions not met:   {HOST_PYTHON_MIN}-" in result.stdout
