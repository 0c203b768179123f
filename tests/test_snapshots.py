"""Snapshots of every stack of the example app, for review in pull requests.

Behaviour is pinned by the assertion tests; these files show reviewers what a change
does to the templates. Asset hashes are masked so that an unrelated change to an asset
does not churn them, and lifecycle scripts are shown decoded, line by line.

Update after an intended change with:  .venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from sagemaker_constructs.setup.notebook_setup import unbundle
from tests.conftest import Synthesized

ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def reviewable(value: Any) -> Any:
    """The template with asset hashes masked and lifecycle script content decoded."""
    if isinstance(value, str):
        return ASSET_HASH.sub("<asset-hash>", value)
    if isinstance(value, list):
        return [reviewable(v) for v in value]
    if isinstance(value, dict):
        if value.get("Type") == "AWS::SageMaker::NotebookInstanceLifecycleConfig":
            value = _decode_scripts(value)
        if value.get("Type") == "AWS::SageMaker::StudioLifecycleConfig":
            props = dict(value["Properties"])
            props["StudioLifecycleConfigContent"] = _readable_content(
                props["StudioLifecycleConfigContent"]
            )
            value = {**value, "Properties": props}
        return {k: reviewable(v) for k, v in value.items()}
    return value


def _decode_scripts(resource: dict) -> dict:
    props = dict(resource["Properties"])
    for key in ("OnCreate", "OnStart"):
        if key in props:
            props[key] = [_readable_content(c["Content"]) for c in props[key]]
    return {**resource, "Properties": props}


def _readable_content(content) -> dict:
    """The script as lines; the embedded fragment bundle as one line per fragment + digest.

    The fragments themselves are reviewed in lifecycle_scripts/; here a digest shows
    which of them a change touched.
    """
    if not isinstance(content, str):  # Fn::Base64 of a script naming an S3 asset
        return {"Content (Fn::Base64 of)": content}
    text = base64.b64decode(content).decode()
    fragments = unbundle(text)
    lines: list[str] = []
    in_bundle = False
    for line in text.split("\n"):
        if in_bundle and line != "SMC_BUNDLE_END":
            continue
        if in_bundle:
            lines += [
                f"<fragment {name}: sha256 {hashlib.sha256(body.encode()).hexdigest()[:16]}>"
                for name, body in fragments.items()
            ]
        lines.append(line)
        in_bundle = "<< 'SMC_BUNDLE_END'" in line
    return {"Content (decoded from base64)": lines}


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


STACKS = [
    "sagemaker-platform",
    "sagemaker-studio",
    "sagemaker-team-fraud",
    "sagemaker-team-forecasting",
    "sagemaker-team-vision",
]


@pytest.mark.parametrize("stack", STACKS)
def test_template_snapshot(example: Synthesized, snapshot_json, stack: str):
    assert reviewable(example.template_json(stack)) == snapshot_json


def test_masking_hides_only_asset_hashes():
    h = "a" * 64
    assert reviewable({"S3Key": f"{h}.zip", "Name": "fraud-alice"}) == {
        "S3Key": "<asset-hash>.zip",
        "Name": "fraud-alice",
    }
    lc = {
        "Type": "AWS::SageMaker::NotebookInstanceLifecycleConfig",
        "Properties": {"OnStart": [{"Content": base64.b64encode(b"echo a\necho b").decode()}]},
    }
    assert reviewable(lc)["Properties"]["OnStart"] == [
        {"Content (decoded from base64)": ["echo a", "echo b"]}
    ]
