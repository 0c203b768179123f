"""Nothing lost: notebook volumes never shrink below what the committed snapshots hold.

The snapshots in tests/__snapshots__ are what was last reviewed and merged. A config
change that gives a notebook a smaller volume than its snapshot would fail at deploy
time (EBS volumes cannot shrink) or, worse, tempt someone to replace the notebook; this
test reports it before review.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT, Synthesized

SNAPSHOTS = ROOT / "tests" / "__snapshots__" / "test_snapshots"


def volume_sizes(template: dict) -> dict[str, int]:
    """Notebook name -> VolumeSizeInGB of every notebook instance in a template."""
    return {
        res["Properties"]["NotebookInstanceName"]: res["Properties"].get("VolumeSizeInGB", 5)
        for res in template.get("Resources", {}).values()
        if res.get("Type") == "AWS::SageMaker::NotebookInstance"
    }


def committed_volume_sizes() -> dict[str, int]:
    sizes: dict[str, int] = {}
    for path in SNAPSHOTS.glob("*.json"):
        sizes |= volume_sizes(json.loads(path.read_text()))
    return sizes


def shrunk(before: dict[str, int], after: dict[str, int]) -> list[str]:
    return [
        f"notebook {name}: volume_size_gib {after[name]} is below the committed {size} GiB "
        "(volumes cannot shrink; keep the size or create a new notebook)"
        for name, size in sorted(before.items())
        if name in after and after[name] < size
    ]


def test_no_notebook_volume_shrinks_below_the_committed_snapshot(example: Synthesized):
    committed = committed_volume_sizes()
    assert committed, "no committed snapshots with notebooks found"
    current: dict[str, int] = {}
    for path in example.template_files:
        current |= volume_sizes(json.loads(Path(path).read_text()))
    assert shrunk(committed, current) == []


def test_the_check_reports_a_decrease_and_ignores_growth_and_new_notebooks():
    before = {"fraud-bob": 50, "fraud-alice": 20}
    after = {"fraud-bob": 20, "fraud-alice": 40, "fraud-new": 5}
    assert shrunk(before, after) == [
        "notebook fraud-bob: volume_size_gib 20 is below the committed 50 GiB "
        "(volumes cannot shrink; keep the size or create a new notebook)"
    ]
