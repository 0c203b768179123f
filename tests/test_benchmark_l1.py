"""The benchmark's L1-only app declares what the library declares (benchmarks/synth_scale.py).

The synth-time ratios of the README mean something only while the hand-written L1 app
builds the same templates. Both apps are synthesized here at 2 teams, as the benchmark
builds them, and compared: the resource types and counts of every stack (the check the
benchmark prints), and every team stack's resources one by one, modulo logical IDs,
CDK's names for cross-stack outputs and metadata (``normalized_resources``). The
platform stack is compared by types only: its documented differences (the default
security group's handler inline, CDK's tags and construct-path names) are fixed cost.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import aws_cdk as cdk
import pytest

from stacks import build_app, parse_config
from tests.conftest import ROOT, cdk_context

sys.path.insert(0, str(ROOT / "benchmarks"))
import synth_scale  # noqa: E402

pytestmark = pytest.mark.slow
TEAMS = 2


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    config = synth_scale.make_config(TEAMS)
    outdirs = {}
    for variant in (synth_scale.LIBRARY_NO_NAG, synth_scale.L1_ONLY):
        outdir = tmp_path_factory.mktemp(variant)
        app = cdk.App(context=cdk_context(), outdir=str(outdir), analytics_reporting=False)
        if variant == synth_scale.L1_ONLY:
            synth_scale.build_l1_app(app, config)
        else:
            build_app(app, parse_config(config, "<benchmark>"))
        app.synth()
        outdirs[variant] = outdir
    return outdirs


def test_same_resource_types_per_stack(synthesized: dict[str, Path]) -> None:
    library = synth_scale.count_resources(synthesized[synth_scale.LIBRARY_NO_NAG])
    l1 = synth_scale.count_resources(synthesized[synth_scale.L1_ONLY])
    assert len(library) == TEAMS + 1
    line = synth_scale.compare_resources(TEAMS, library, l1)
    assert "MISMATCH" not in line, line


def test_team_stacks_declare_the_same_resources(synthesized: dict[str, Path]) -> None:
    library = synth_scale.content(synthesized[synth_scale.LIBRARY_NO_NAG])
    l1 = synth_scale.content(synthesized[synth_scale.L1_ONLY])
    teams = [stack for stack in library if "-team-" in stack]
    assert len(teams) == TEAMS
    for stack in teams:
        ours, theirs = Counter(library[stack]), Counter(l1[stack])
        assert sum(ours.values()) >= 10
        assert ours == theirs, (
            f"{stack}: only in the library: {sorted(k for k, _ in ours - theirs)}; "
            f"only in L1: {sorted(k for k, _ in theirs - ours)}"
        )


def test_normalization_still_tells_resources_apart() -> None:
    """Negative control: a changed property changes the digest; IDs and metadata do not."""
    template = {
        "Resources": {
            "KeyABC123": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": True}},
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Metadata": {"aws:cdk:path": "x"},
                "Properties": {"KmsKey": {"Fn::GetAtt": ["KeyABC123", "Arn"]}},
            },
        }
    }
    renamed = {
        "Resources": {
            "Key": template["Resources"]["KeyABC123"],
            "Bucket2": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"KmsKey": {"Fn::GetAtt": ["Key", "Arn"]}},
            },
        }
    }
    changed = {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": False}},
            "Bucket2": renamed["Resources"]["Bucket2"],
        }
    }
    digests = synth_scale.normalized_resources
    assert Counter(digests(template)) == Counter(digests(renamed))
    assert Counter(digests(template)) != Counter(digests(changed))
