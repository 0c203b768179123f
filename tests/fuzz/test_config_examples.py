"""Plain examples of bad config files: each is a ConfigError naming the field, never a crash.

Already covered in tests/test_config.py (not repeated here): an empty file, text that is
not YAML, a list at the top level and a missing ``teams`` (test_file_level_errors); an
unknown key with "did you mean" inside a team and inside a notebook
(test_unknown_key_suggests_the_right_one, test_unknown_nested_key_lists_the_allowed_fields);
duplicate team names (test_duplicate_team_names); duplicate users in a team
(test_duplicate_user_names).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import aws_cdk as cdk
import pytest

from sagemaker_constructs import ConstructValidationError, PackageMirror
from stacks import ConfigError, build_app, load_config, parse_config
from tests.fuzz.support import CONTEXT, lint_stack

MINIMAL = textwrap.dedent(
    """\
    teams:
      - name: fraud
        notebooks:
          - user: alice
    """
)


def _load(tmp_path: Path, text: str | bytes) -> list[str]:
    """The lines of the ConfigError that loading ``text`` raises (with the file name cut)."""
    path = tmp_path / "teams.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    lines = str(err.value).splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines), lines
    return [line.removeprefix(f"{path}: ") for line in lines]


def _errors(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(data, "teams.yaml")
    return [line.removeprefix("teams.yaml: ") for line in str(err.value).splitlines()]


def _team(name: str, *users: str) -> dict:
    return {"name": name, "notebooks": [{"user": u} for u in users]}


# --- not a config ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# nothing here yet\n\n", "the file is empty"),
        ("---\n...\n", "the file is empty"),
        ("just some text\n", "got a str at the top level; allowed: a mapping with 'teams'"),
        ("42\n", "got a int at the top level"),
        ("teams:\n\t- name: a\n", "line 2, column 1: not valid YAML"),
        ("teams: [a, b\nplatform: {}\n", "not valid YAML"),
        ("teams:\n  - name: 'a\n", "not valid YAML"),
        ("{{ teams }}\n", "not valid YAML"),
    ],
    ids=[
        "comment-only",
        "empty-document",
        "scalar",
        "number",
        "tab",
        "open-bracket",
        "quote",
        "template",
    ],
)
def test_not_a_config_mapping(tmp_path: Path, text: str, expected: str):
    lines = _load(tmp_path, text)
    assert len(lines) == 1 and expected in lines[0], lines


def test_a_utf8_bom_is_fine(tmp_path: Path):
    path = tmp_path / "teams.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert [t.name for t in load_config(path).teams] == ["fraud"]


@pytest.mark.parametrize(
    "data",
    [MINIMAL.encode("utf-16"), "teams:\n  - name: caf\u00e9\n".encode("latin-1")],
    ids=["utf-16", "latin-1"],
)
def test_bug_16_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path, data: bytes):
    lines = _load(tmp_path, data)
    assert len(lines) == 1 and "UTF-8" in lines[0], lines


@pytest.mark.parametrize(
    "text",
    [
        MINIMAL + "teams:\n  - name: vision\n    notebooks:\n      - user: bob\n",
        MINIMAL + "    name: vision\n",
    ],
    ids=["teams-twice", "name-twice"],
)
def test_bug_17_a_key_given_twice_is_rejected(tmp_path: Path, text: str):
    lines = _load(tmp_path, text)
    assert len(lines) == 1 and "twice" in lines[0], lines


# --- unknown keys ------------------------------------------------------------------------


def _allowed_fields(line: str) -> set[str]:
    return set(line.partition("allowed fields: ")[2].split(", "))


def test_unknown_top_level_key_suggests_teams():
    lines = _errors({"team": [_team("fraud", "alice")]})
    assert "teams: missing; this field is required" in lines
    (line,) = (line for line in lines if line.startswith("team:"))
    assert line.startswith("team: unknown field (did you mean 'teams'?); allowed fields: "), line
    assert _allowed_fields(line) >= {"platform", "teams"}


def test_unknown_platform_key_suggests_the_right_one():
    lines = _errors({"platform": {"log_retention": 30}, "teams": [_team("fraud", "alice")]})
    assert len(lines) == 1
    assert lines[0].startswith(
        "platform.log_retention: unknown field (did you mean 'log_retention_days'?); "
    ), lines
    assert _allowed_fields(lines[0]) >= {"prefix", "network", "log_retention_days", "tags"}


def test_unknown_setup_key_suggests_the_right_one():
    team = _team("fraud", "alice") | {"setup": {"idle_autostop": {"idle_minutes": 30}}}
    lines = _errors({"teams": [team]})
    assert len(lines) == 1
    assert lines[0].startswith(
        "teams[0].setup.idle_autostop: unknown field (did you mean 'idle_auto_stop'?)"
    ), lines


def test_unknown_key_without_a_close_match_lists_the_allowed_fields():
    lines = _errors({"teams": [_team("fraud", "alice") | {"owner_email": "x@example.com"}]})
    assert len(lines) == 1
    assert lines[0].startswith("teams[0].owner_email: unknown field; allowed fields: "), lines
    assert _allowed_fields(lines[0]) >= {"name", "cost_center", "setup", "notebooks"}


@pytest.mark.parametrize("key", ["a\nb", "team\u2028s"], ids=["newline", "line-separator"])
def test_bug_19_an_unknown_key_with_a_line_break_stays_on_one_line(key: str):
    with pytest.raises(ConfigError) as err:
        parse_config({"teams": [_team("fraud", "alice")], key: 1}, "teams.yaml")
    lines = str(err.value).splitlines()
    assert len(lines) == 1 and lines[0].startswith("teams.yaml: "), lines
    escaped = key.encode("unicode_escape").decode()
    assert lines[0].startswith(f"teams.yaml: {escaped}: unknown field"), lines


def test_a_key_that_is_not_a_string_is_named():
    # YAML 1.1 reads an unquoted `null:` key as None.
    lines = _errors({"teams": [_team("fraud", "alice")], None: 1})
    assert lines == ["None: got None; allowed: Keys should be strings"]


# --- duplicates and collisions --------------------------------------------------------


def test_duplicate_team_names_are_reported_even_far_apart():
    teams = [_team("fraud", "alice"), _team("vision", "bob"), _team("fraud", "carol")]
    assert _errors({"teams": teams}) == [
        "teams: team 'fraud' is listed twice; allowed: unique team names"
    ]


def test_the_same_user_in_two_teams_is_fine():
    """Notebook names are "<team>-<user>", so one person may be in several teams."""
    config = parse_config({"teams": [_team("fraud", "alice"), _team("vision", "alice")]})
    names = [t.notebook_name(nb) for t in config.teams for nb in t.notebooks]
    assert names == ["fraud-alice", "vision-alice"]


def test_names_that_would_normalise_alike_cannot_both_exist():
    """No normalisation: `data_sci` is rejected outright, so it cannot shadow `data-sci`."""
    lines = _errors({"teams": [_team("data-sci", "alice"), _team("data_sci", "bob")]})
    assert len(lines) == 1 and lines[0].startswith(
        "teams[1].name: got 'data_sci'; allowed: 1 to 24"
    ), lines
    lines = _errors({"teams": [_team("Fraud", "alice")]})
    assert lines[0].startswith("teams[0].name: got 'Fraud'"), lines


def test_bug_14_notebook_names_that_collide_across_teams_are_rejected():
    # team "a" + user "b-c" and team "a-b" + user "c" are both notebook "a-b-c".
    lines = _errors({"teams": [_team("a", "b-c"), _team("a-b", "c")]})
    assert len(lines) == 1, lines
    assert lines[0].startswith("teams[1].notebooks[0].user: got 'c'") and "'a-b-c'" in lines[0]


# --- once accepted by the config, then crashed or rejected later (fixed bugs) ----------


def _rejected_naming(data: dict, *paths: str) -> None:
    """parse_config rejects ``data`` with a ConfigError naming exactly ``paths``."""
    lines = _errors(data)
    assert [line.partition(": ")[0] for line in lines] == list(paths), lines


@pytest.mark.parametrize(
    "setup", [{}, {"connectivity_checks": [], "packages": []}], ids=["empty", "empty-lists"]
)
def test_bug_15_an_empty_setup_is_a_config_error(setup: dict):
    _rejected_naming({"teams": [_team("fraud", "alice") | {"setup": setup}]}, "teams[0].setup")


def test_bug_12_prefix_aws_is_a_config_error():
    _rejected_naming(
        {"platform": {"prefix": "aws"}, "teams": [_team("fraud", "alice")]}, "platform.prefix"
    )


@pytest.mark.parametrize(
    ("cidr", "max_azs"),
    [
        ("10.0.0.0/20", 2),
        ("10.0.0.0/24", 2),
        ("300.0.0.0/16", 2),
        ("10.0.0.1/16", 2),
        ("10.0.0.0/19", 3),
        ("10.0.0.0/18", 5),
    ],
)
def test_bug_13_a_cidr_the_network_cannot_use_is_a_config_error(cidr: str, max_azs: int):
    _rejected_naming(
        {
            "platform": {"network": {"cidr": cidr, "max_azs": max_azs}},
            "teams": [_team("fraud", "alice")],
        },
        "platform.network.cidr",
    )


@pytest.mark.parametrize(("cidr", "max_azs"), [("10.0.0.0/19", 2), ("10.0.0.0/18", 4)])
def test_the_smallest_networks_that_fit_build(cidr: str, max_azs: int):
    data = {
        "platform": {"network": {"cidr": cidr, "max_azs": max_azs}},
        "teams": [_team("fraud", "alice")],
    }
    built = build_app(cdk.App(context=CONTEXT), parse_config(data))
    assert lint_stack(built.platform) == []


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"platform": {"tags": {"aws:owner": "me"}}}, "platform.tags"),
        ({"platform": {"tags": {"AWS:owner": "me"}}}, "platform.tags"),
        ({"platform": {"tags": {"": "x"}}}, "platform.tags"),
        ({"platform": {"tags": {"owner": "x" * 257}}}, "platform.tags"),
        ({"platform": {"tags": {"owner": "a#b"}}}, "platform.tags"),
        ({"platform": {"tags": {"owner": ""}}}, "platform.tags"),
        ({"cost_center": "cc#1001"}, "teams[0].cost_center"),
        ({"cost_center": ""}, "teams[0].cost_center"),
    ],
    ids=[
        "aws-prefix",
        "aws-prefix-upper",
        "empty-key",
        "long-value",
        "value-char",
        "empty-value",
        "cost-center-char",
        "cost-center-empty",
    ],
)
def test_bug_11_tags_aws_rejects_are_config_errors(data: dict, path: str):
    team = _team("fraud", "alice") | {k: v for k, v in data.items() if k != "platform"}
    config = {"teams": [team]} | ({"platform": data["platform"]} if "platform" in data else {})
    _rejected_naming(config, path)


def test_bug_18_a_mirror_domain_ending_with_a_hyphen_is_a_config_error():
    _rejected_naming(
        {"platform": {"package_mirror": {"domain": "ml-"}}, "teams": [_team("fraud", "alice")]},
        "platform.package_mirror.domain",
    )


def test_bug_18_package_mirror_rejects_a_domain_ending_with_a_hyphen():
    stack = cdk.Stack(cdk.App(context=CONTEXT), "Mirror")
    with pytest.raises(ConstructValidationError) as err:
        PackageMirror(stack, "Mirror", domain_name="ml-")
    assert [p.prop for p in err.value.problems] == ["domain_name"]


@pytest.mark.parametrize("key", ["int", "str", "function-x", "constrained-y"])
def test_bug_20_every_unknown_key_is_named(key: str):
    lines = _errors({"teams": [_team("fraud", "alice") | {key: 1}]})
    assert lines[0].startswith(f"teams[0].{key}: unknown field"), lines
