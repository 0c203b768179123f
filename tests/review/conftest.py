"""Cloud assemblies of the example app and variants of its config, each synthesized once.

Every variant is a copy of config/teams.yaml with one edit, built with the real stacks
(``stacks.build_app``) and cdk.json's context, so the review sees what ``cdk synth`` writes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml

from stacks import build_app, parse_config
from tests.conftest import EXAMPLE_CONFIG, cdk_context

BASE = yaml.safe_load(EXAMPLE_CONFIG.read_text())


def _team(data: dict, name: str) -> dict:
    return next(t for t in data["teams"] if t["name"] == name)


def _rename_user(data: dict) -> None:
    """fraud's first user alice becomes alicia: a new notebook name (and logical IDs)."""
    _team(data, "fraud")["notebooks"][0]["user"] = "alicia"


def _swap_users(data: dict) -> None:
    """Notebooks are spread over the subnets by position: alice and bob swap subnets."""
    notebooks = _team(data, "fraud")["notebooks"]
    notebooks[0], notebooks[1] = notebooks[1], notebooks[0]


def _old_platform(data: dict) -> None:
    _team(data, "vision")["notebooks"][0]["platform_identifier"] = "notebook-al2-v3"


def _edits(data: dict) -> None:
    """Changes that lose nothing: an idle period, a volume size, a setup step removed."""
    fraud = _team(data, "fraud")
    fraud["setup"]["idle_auto_stop"]["idle_minutes"] = 45
    fraud["notebooks"][1]["volume_size_gib"] = 20  # bob: 50 -> 20
    del _team(data, "vision")["setup"]["idle_auto_stop"]


def _big_script(data: dict) -> None:
    """forecasting's on-start script pushed over 16 KB: stored as an S3 asset, run by a loader."""
    # The example scripts fit inline; many pinned packages (plain text in the step) don't.
    packages = [f"package-{n:03d}==1.0.{n}" for n in range(400)]
    _team(data, "forecasting")["setup"]["packages"][0]["pip_packages"] = packages


def _big_script_edited(data: dict) -> None:
    _big_script(data)
    _team(data, "forecasting")["setup"]["idle_auto_stop"]["idle_minutes"] = 90


def _new_team(data: dict) -> None:
    data["teams"].append(
        {
            "name": "risk",
            "notebook_defaults": {"instance_type": "ml.t3.medium", "volume_size_gib": 20},
            "notebooks": [{"user": "heidi"}],
        }
    )


VARIANTS: dict[str, Callable[[dict], None]] = {
    "base": lambda data: None,
    "rename": _rename_user,
    "subnets": _swap_users,
    "platform": _old_platform,
    "edits": _edits,
    "big": _big_script,
    "big-edited": _big_script_edited,
    "team": _new_team,
}


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``assembly(name)``: the cdk.out folder of a variant, synthesized on first use."""
    root = tmp_path_factory.mktemp("review-assemblies")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            data = copy.deepcopy(BASE)
            VARIANTS[name](data)
            outdir = root / name
            app = cdk.App(context=cdk_context(), outdir=str(outdir))
            build_app(app, parse_config(data, f"config/teams.yaml ({name})"))
            app.synth()
            built[name] = outdir
        return built[name]

    return get
