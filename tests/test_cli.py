"""The pinned CDK CLI synthesizes the example app; a bad config fails it cleanly."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

CDK = ROOT / "node_modules" / ".bin" / "cdk"

pytestmark = pytest.mark.skipif(
    not CDK.exists() and not os.environ.get("CI"), reason="node_modules missing: run `make test`"
)


def cdk_synth(outdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CDK_DISABLE_VERSION_CHECK": "true",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }
    return subprocess.run(
        [str(CDK), "synth", "--quiet", "--no-notices", "--output", str(outdir), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_pinned_cli_version():
    result = subprocess.run([str(CDK), "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("2.1148.1")


def test_cdk_synth_of_the_example_app(tmp_path: Path):
    result = cdk_synth(tmp_path / "out")
    assert result.returncode == 0, result.stderr
    templates = sorted(p.name for p in (tmp_path / "out").glob("*.template.json"))
    assert templates == [
        "sagemaker-platform.template.json",
        "sagemaker-studio.template.json",
        "sagemaker-team-forecasting.template.json",
        "sagemaker-team-fraud.template.json",
        "sagemaker-team-vision.template.json",
    ]


def test_cdk_synth_with_a_bad_config_names_the_field(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    text = (ROOT / "config" / "teams.yaml").read_text()
    bad.write_text(text.replace("volume_size_gib: 50", "volume_size_gib: 3", 1))
    result = cdk_synth(tmp_path / "out", "-c", f"config={bad}")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {bad}: teams[0].notebooks[1].volume_size_gib: got 3; allowed: an integer from 5 to 16384"
    ]
    assert "Traceback" not in result.stderr
