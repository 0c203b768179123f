"""The xdist work units of tests/conftest.py: a file stays whole, a long file is split."""

from __future__ import annotations

from tests.conftest import SPLIT_FILES, work_unit


def test_a_file_is_one_unit():
    ids = [f"tests/test_stacks.py::test_{n}" for n in range(30)]
    assert {work_unit(i) for i in ids} == {"tests/test_stacks.py"}


def test_a_split_file_is_spread_over_its_parts_the_same_way_every_time():
    path, parts = "tests/review/test_cases.py", SPLIT_FILES["tests/review/test_cases.py"]
    ids = [f"{path}::test_case[case {n}]" for n in range(40)]
    units = [work_unit(i) for i in ids]
    assert set(units) == {f"{path}:{k}" for k in range(parts)}
    assert units == [work_unit(i) for i in ids]  # stable: a hash, not the order seen
