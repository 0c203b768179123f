"""Cloud assemblies of the example app and variants of it, each synthesized once.

Every variant is a copy of config/teams.yaml with one edit (and optionally a small patch
of a construct the stacks use), built in-process with the real stacks
(``stacks.build_app``) and cdk.json's context, so the review sees what ``cdk synth``
writes. The variants are the edits of tests/review/cases.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest

from stacks import build_app, parse_config
from tests.conftest import cdk_context
from tests.review.cases import BASE, VARIANTS


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``assembly(name)``: the cdk.out folder of a variant, synthesized on first use."""
    root = tmp_path_factory.mktemp("review-assemblies")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            edit = VARIANTS[name]
            data = copy.deepcopy(BASE)
            edit.config(data)
            outdir = root / name
            with edit.patched():
                app = cdk.App(context=cdk_context(), outdir=str(outdir))
                build_app(app, parse_config(data, f"config/teams.yaml ({name})"))
                app.synth()
            built[name] = outdir
        return built[name]

    return get
