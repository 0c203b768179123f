"""checkov, an independent scanner, over the example app's synthesized templates.

checkov runs from its own venv (``.venv/checkov``, installed by ``make test`` with the pins in
``requirements/checkov-constraints.txt``), offline (``--skip-download``: no policy download,
no version check). Every finding the library acknowledges is a checkov skip in the resource's
metadata with a reason (``sagemaker_constructs.governance.skip_checkov``), so the bar is: no
failed check, and every skip explained.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv" / "checkov" / "bin" / "checkov"))


def run_checkov(directory: Path) -> dict:
    """checkov's JSON report for the CloudFormation templates in ``directory``."""
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: `make test` installs it (or set CHECKOV=...)")
    env = {
        **os.environ,
        # No network: no update check, no policy download, no telemetry.
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_NO_UPDATE_CHECK": "true",
    }
    done = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(directory),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
            "--compact",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    # Exit 1 means failed checks; anything else non-zero is checkov itself failing.
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = json.loads(done.stdout)
    return report[0] if isinstance(report, list) else report


@pytest.fixture(scope="session")
def example_report(example, tmp_path_factory) -> dict:
    templates = tmp_path_factory.mktemp("checkov")
    for path in example.template_files:
        shutil.copy(path, templates / path.name)
    return run_checkov(templates)


def test_example_app_has_no_failed_checkov_check(example_report):
    failed = [
        f"{c['check_id']} {c['resource']} ({Path(c['file_path']).name})"
        for c in example_report["results"]["failed_checks"]
    ]
    assert failed == []
    summary = example_report["summary"]
    assert summary["parsing_errors"] == 0
    # Every stack was read: a scanner that read nothing would also report no failure.
    assert summary["resource_count"] >= 100
    assert summary["passed"] >= 300


def test_every_checkov_skip_has_a_reason(example_report):
    skipped = example_report["results"]["skipped_checks"]
    assert skipped, "the acknowledged findings are expected to appear as skips"
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason) >= 20, f"{check['check_id']} on {check['resource']}: {reason!r}"


def test_negative_control_checkov_flags_an_unencrypted_open_bucket(tmp_path):
    """The same run on a bucket without encryption, versioning or public-access block fails."""
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"Open": {"Type": "AWS::S3::Bucket", "Properties": {}}},
    }
    (tmp_path / "open.template.json").write_text(json.dumps(template))
    report = run_checkov(tmp_path)
    failed = {c["check_id"] for c in report["results"]["failed_checks"]}
    assert "CKV_AWS_18" in failed  # access logging
    assert "CKV_AWS_21" in failed  # versioning
