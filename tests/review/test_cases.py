"""The case suite: edits of the real example app, synthesized, each with its verdict.

Each case of tests/review/cases.py runs ``sagemaker-review``'s ``main`` in-process on two
synthesized assemblies (each synthesized once per session) and checks the exit code and
exactly which resources are DATA LOSS and WILL FAIL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from sagemaker_constructs.review import review
from sagemaker_constructs.review.cli import main
from sagemaker_constructs.review.findings import DATA_LOSS, FAILS, WARNING, Finding
from tests.review.cases import CASES, Case

Assemblies = Callable[[str], Path]
_HASH = re.compile(r"[0-9A-F]{8}$")


def ident(f: Finding) -> tuple[str, str]:
    """(type, name), or (type, logical ID without its hash) for a resource without a name."""
    if f.name:
        return f.resource_type, f.name
    logical = f.resource.split(" → ")[0]
    return f.resource_type, _HASH.sub("", logical)


def of(findings: list[Finding], level: str) -> list[tuple[str, str]]:
    return sorted(ident(f) for f in findings if f.level == level)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, assembly: Assemblies, capsys: pytest.CaptureFixture[str]):
    old, new = assembly(case.old), assembly(case.new)

    code = main([str(old), str(new), "--max-chars", "0"])
    report = capsys.readouterr().out

    result = review(old, new)
    found = {
        "exit": code,
        "losses": of(result.findings, DATA_LOSS),
        "fails": of(result.findings, FAILS),
    }
    expected = {"exit": case.exit_code, "losses": list(case.losses), "fails": list(case.fails)}
    assert found == expected, report
    warnings = of(result.findings, WARNING)
    assert [w for w in case.warns if w not in warnings] == [], report
    for text in case.report:
        assert text in report, report
    for kind in case.extra.get("no_fail_types", ()):
        assert kind not in {t for t, _ in found["fails"]}


def test_the_suite_has_every_kind_of_edit():
    assert len(CASES) >= 30
    codes = {c.exit_code for c in CASES}
    assert codes == {0, 3, 4}
