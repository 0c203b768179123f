"""Synthesize the app at a git revision, in a temporary ``git worktree``.

The app runs as ``<python> app.py`` in the worktree with ``CDK_OUTDIR`` set to an output
folder and ``CDK_CONTEXT_JSON`` set to the worktree's ``cdk.json`` context, which is what
``cdk synth`` passes to an app. The worktree is removed afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from .assembly import InputError

SYNTH_TIMEOUT_S = 900


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise InputError("git is not installed (needed for --git-rev)") from None


def repo_root(path: Path) -> Path:
    result = _git(path, "rev-parse", "--show-toplevel")
    if result.returncode != 0:
        raise InputError(f"{path}: not inside a git repository ({result.stderr.strip()})")
    return Path(result.stdout.strip())


def _context(worktree: Path) -> dict[str, Any]:
    cdk_json = worktree / "cdk.json"
    if not cdk_json.is_file():
        return {}
    try:
        return json.loads(cdk_json.read_text(encoding="utf-8")).get("context") or {}
    except (json.JSONDecodeError, AttributeError) as exc:
        raise InputError(f"{cdk_json}: not valid JSON ({exc})") from None


def synth_revision(
    repo: Path, rev: str, workdir: Path, *, python: str, app: str = "app.py", name: str = "rev"
) -> Path:
    """Synthesize ``app`` as of ``rev``; return the cloud assembly folder (in ``workdir``)."""
    commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if commit.returncode != 0:
        raise InputError(f"git revision {rev!r}: not found in {repo}")
    worktree = workdir / f"worktree-{name}"
    outdir = workdir / f"cdk.out-{name}"
    added = _git(repo, "worktree", "add", "--detach", str(worktree), commit.stdout.strip())
    if added.returncode != 0:
        raise InputError(f"git worktree add for {rev!r} failed: {added.stderr.strip()}")
    try:
        if not (worktree / app).is_file():
            raise InputError(f"git revision {rev!r}: no {app} at the repository root")
        env = {
            **os.environ,
            "CDK_OUTDIR": str(outdir),
            # As `cdk synth` does: cdk.json's context, and construct paths in the metadata.
            "CDK_CONTEXT_JSON": json.dumps(
                {"aws:cdk:enable-path-metadata": True, **_context(worktree)}
            ),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(worktree), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
        try:
            result = subprocess.run(
                [python, app],
                cwd=worktree,
                env=env,
                capture_output=True,
                text=True,
                timeout=SYNTH_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InputError(
                f"git revision {rev!r}: synthesis timed out after {SYNTH_TIMEOUT_S} s"
            ) from None
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-20:])
            raise InputError(
                f"git revision {rev!r}: `{Path(python).name} {app}` exited with "
                f"{result.returncode}:\n{tail}"
            )
    finally:
        _git(repo, "worktree", "remove", "--force", str(worktree))
    return outdir
