"""``--git-rev``: the app synthesized at two revisions of a repository, via git worktree.

The repository here is a small temporary one whose app.py writes its template itself (no
CDK), so the test exercises the worktree, CDK_OUTDIR and cdk.json context handling fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

APP = """
import json, os, pathlib
context = json.loads(os.environ["CDK_CONTEXT_JSON"])
out = pathlib.Path(os.environ["CDK_OUTDIR"])
out.mkdir(parents=True, exist_ok=True)
logs = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": context["group"]}}
logs.update(POLICY)
template = {"Resources": {"Logs": logs}}
(out / "app.template.json").write_text(json.dumps(template))
"""


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return result.stdout.strip()


def commit(repo: Path, group: str, policy: dict) -> str:
    (repo / "app.py").write_text(f"POLICY = {policy!r}\n{APP}")
    (repo / "cdk.json").write_text(
        json.dumps({"app": "python app.py", "context": {"group": group}})
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", group)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str, str]:
    repo = tmp_path_factory.mktemp("repo")
    git(repo, "init", "-q")
    first = commit(
        repo, "/team/logs", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    )
    second = commit(repo, "/team/logs", {})
    third = commit(repo, "/team/new-logs", {})
    return repo, first, second, third


def run(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sagemaker_constructs.review.cli", "--repo", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_git_revisions_are_synthesized_and_compared(repo):
    path, _, second, third = repo

    result = run(path, "--git-rev", second, third)

    assert result.returncode == 3, result.stderr
    assert f"`{second}` → `{third}`" in result.stdout
    assert "create-only `LogGroupName` changed" in result.stdout  # from cdk.json's context
    assert "| `LogGroupName` | `/team/logs` | `/team/new-logs` |" in result.stdout
    assert "loses the log group's events" in result.stdout
    assert git(path, "worktree", "list").count("\n") == 0  # the worktrees are gone


def test_git_revision_policy_change_only(repo):
    path, first, second, _ = repo

    result = run(path, "--git-rev", first, second)

    assert result.returncode == 0, result.stderr
    assert "| `DeletionPolicy` | `Retain` | `(absent)` |" in result.stdout


def test_unknown_git_revision_exits_2(repo):
    path, first, _, _ = repo

    result = run(path, "--git-rev", first, "no-such-branch")

    assert result.returncode == 2
    assert f"error: git revision 'no-such-branch': not found in {path}" in result.stderr


def test_git_rev_and_folders_together_is_a_usage_error(repo):
    path, first, second, _ = repo

    result = run(path, "--git-rev", first, second, "old", "new")

    assert result.returncode == 2
    assert "give either OLD and NEW or --git-rev" in result.stderr
