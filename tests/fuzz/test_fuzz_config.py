"""Fuzz the team config: parse_config then build_app; bad input never crashes or slips through.

Each example is a small valid config (1-2 teams of 1-2 notebooks) with up to three
mutations: a field set to an invalid value, to a random value or to the wrong kind of
container, an unknown key, a required key deleted, a team or notebook duplicated, an
empty list. The oracle:

* ``parse_config`` raises ``ConfigError`` whose every line is ``<source>: <field path>: ...``
  with a path that exists in the input (up to its last part, for a missing field), and
  every invalid field that was put in is named; or
* it returns a config, and ``build_app`` synthesizes stacks that cfn-lint accepts with no
  finding, whose notebook and lifecycle configuration names are unique.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk.assertions import Template
from hypothesis import event, given, note
from hypothesis import strategies as st
from pydantic import ValidationError

from sagemaker_constructs import BUILT_IN_KERNELS
from stacks import ConfigError, build_app, parse_config
from stacks.config import RETENTION_DAYS, SUPPORTED_PLATFORMS, PlatformConfig
from tests.fuzz.support import CONTEXT, finite_floats, lint_template, schema_property

SOURCE = "fuzz/teams.yaml"
INSTANCE_TYPES = sorted(schema_property("AWS::SageMaker::NotebookInstance", "InstanceType")["enum"])
ACCOUNTS = ("123456789012", "210987654321")
REGIONS = ("us-east-1", "eu-west-1")
# What `cdk synth` would cache in cdk.context.json for an account and region, so that
# stacks with a full environment do not get dummy Availability Zones.
AZ_CONTEXT = {
    f"availability-zones:account={a}:region={r}": [f"{r}a", f"{r}b", f"{r}c"]
    for a in ACCOUNTS
    for r in REGIONS
}

# --- valid building blocks ---------------------------------------------------------------

slugs = st.from_regex(r"[a-z]([a-z0-9]|-[a-z0-9]){0,7}", fullmatch=True)
TAG_CHARS = st.characters(categories=["L", "N", "Z"], include_characters="_.:/=+-@")
tag_keys = st.text(TAG_CHARS, min_size=1, max_size=20).filter(
    lambda k: not k.lower().startswith("aws:")
)
tag_values = st.text(TAG_CHARS, min_size=1, max_size=20)  # not empty: BUGS["config_tags"]
https_urls = st.from_regex(
    r"https://[a-z0-9][a-z0-9.-]{0,15}(/[a-z0-9/._-]{0,15})?", fullmatch=True
)
pip_specs = st.sampled_from(["pandas==2.2.3", "requests==2.32.3", "scikit-learn==1.5.2"])


def _maybe(draw: st.DrawFn, strategy: st.SearchStrategy, target: dict, key: str) -> None:
    if draw(st.booleans()):
        target[key] = draw(strategy)


@st.composite
def platform_sections(draw: st.DrawFn) -> dict:
    p: dict = {}
    _maybe(draw, slugs.filter(lambda s: s != "aws"), p, "prefix")  # BUGS["config_prefix_aws"]
    if draw(st.integers(0, 3)) == 0:
        env: dict = {}
        _maybe(draw, st.sampled_from(ACCOUNTS), env, "account")
        _maybe(draw, st.sampled_from(REGIONS), env, "region")
        p["env"] = env
    if draw(st.booleans()):
        network: dict = {}
        if draw(st.integers(0, 4)) == 0:
            network["existing_vpc"] = {
                "vpc_id": "vpc-0123456789abcdef0",
                "availability_zones": ["us-east-1a", "us-east-1b"],
                "subnet_ids": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
                **(
                    {"existing_endpoints": ["s3"]}
                    if draw(st.booleans())
                    else {"route_table_ids": ["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"]}
                ),
                "has_flow_logs": draw(st.booleans()),
            }
        else:
            _maybe(draw, st.integers(2, 6), network, "max_azs")
            # Room for one /20 subnet per zone (BUGS["config_cidr"]).
            largest = 20 - (network.get("max_azs", 2) - 1).bit_length()
            mask = draw(st.integers(16, largest))
            network["cidr"] = f"10.{draw(st.integers(0, 255))}.0.0/{mask}"
        p["network"] = network
    _maybe(draw, st.sampled_from(RETENTION_DAYS), p, "log_retention_days")
    _maybe(draw, st.dictionaries(tag_keys, tag_values, max_size=2), p, "tags")
    if draw(st.booleans()):
        # Not ending with "-": BUGS["config_mirror_domain"].
        mirror = {"domain": draw(st.from_regex(r"[a-z][a-z0-9-]{0,9}[a-z0-9]", fullmatch=True))}
        _maybe(draw, st.sampled_from(["pypi", "pypi-store", "Mirror_1"]), mirror, "repository")
        p["package_mirror"] = mirror
    return p


@st.composite
def setups(draw: st.DrawFn, mirror: bool) -> dict:
    s: dict = {}
    if draw(st.booleans()):
        if mirror and draw(st.booleans()):
            s["package_index"] = {"use_platform_mirror": True}
        else:
            s["package_index"] = {"pip_index_url": draw(https_urls)}
        _maybe(draw, https_urls, s["package_index"], "conda_channel")
    _maybe(draw, st.lists(https_urls, max_size=2), s, "connectivity_checks")
    envs = []
    if draw(st.booleans()):
        env = {"name": draw(st.sampled_from(["py311", "vision-env", "e.1"]))}
        _maybe(draw, st.sampled_from(["3.10", "3.11", "3.12"]), env, "python_version")
        _maybe(draw, st.lists(pip_specs, max_size=2), env, "pip_packages")
        _maybe(draw, st.just(["numpy=1.26.4"]), env, "conda_packages")
        _maybe(draw, st.booleans(), env, "optional")
        envs.append(env)
        s["conda_environments"] = envs
    if draw(st.booleans()):
        kernels = list(BUILT_IN_KERNELS) + [e["name"] for e in envs]
        pkg = {"kernel": draw(st.sampled_from(kernels)), "pip_packages": [draw(pip_specs)]}
        _maybe(draw, st.booleans(), pkg, "optional")
        s["packages"] = [pkg]
    if draw(st.booleans()):
        stop: dict = {}
        _maybe(draw, st.integers(5, 10_080), stop, "idle_minutes")
        _maybe(draw, st.booleans(), stop, "ignore_connections")
        if "idle_minutes" in stop:
            _maybe(draw, st.integers(1, 5), stop, "check_interval_minutes")
        s["idle_auto_stop"] = stop
    if not s:  # an empty setup: BUGS["config_empty_setup"]
        s["idle_auto_stop"] = {}
    return s


def _overrides(draw: st.DrawFn, target: dict) -> None:
    _maybe(draw, st.sampled_from(INSTANCE_TYPES), target, "instance_type")
    _maybe(draw, st.integers(5, 16_384), target, "volume_size_gib")
    _maybe(draw, st.sampled_from(SUPPORTED_PLATFORMS), target, "platform_identifier")


@st.composite
def teams(draw: st.DrawFn, mirror: bool) -> list[dict]:
    names = draw(st.lists(slugs, min_size=1, max_size=2, unique=True))
    result = []
    for name in names:
        team: dict = {"name": name}
        # AWS tag alphabet only: BUGS["config_tags"].
        _maybe(draw, st.text(TAG_CHARS, min_size=1, max_size=12), team, "cost_center")
        if draw(st.booleans()):
            team["notebook_defaults"] = {}
            _overrides(draw, team["notebook_defaults"])
        if draw(st.booleans()):
            team["setup"] = draw(setups(mirror))
        users = draw(st.lists(slugs, min_size=1, max_size=2, unique=True))
        notebooks = []
        for user in users:
            nb = {"user": user}
            if draw(st.integers(0, 2)) == 0:
                _overrides(draw, nb)
            notebooks.append(nb)
        team["notebooks"] = notebooks
        result.append(team)
    return result


@st.composite
def base_configs(draw: st.DrawFn) -> dict:
    data: dict = {}
    if draw(st.booleans()):
        data["platform"] = draw(platform_sections())
    mirror = "package_mirror" in data.get("platform", {})
    data["teams"] = draw(teams(mirror))
    return data


# --- mutations ----------------------------------------------------------------------------

Path = tuple  # keys and list indexes from the top of the config


@dataclass
class Mutation:
    """What was done at ``path`` and what the error must then say.

    ``expect``: "field" (an error at path or below it), "unknown" (an unknown-field error
    at path), "missing", "dup_team", "dup_user", or "" (no expectation: random value).
    ``phase``: 1 for pydantic's checks; 2 for the setup checks, which run only when
    every pydantic check passed.
    """

    kind: str
    path: Path
    expect: str
    phase: int = 1


# Invalid values per field, keyed by the field's path with list indexes as "*".
PHASE_1_BAD = {
    ("platform", "prefix"): ["", "A", "1a", "a_b", "a--b", "a-", "p" * 21, 7, "aws"],
    ("platform", "env", "account"): ["12345", "abcdefghijkl", 123456789012, "1234567890123"],
    ("platform", "env", "region"): ["eu-west", "EU-WEST-1", "euwest1", ""],
    ("platform", "network", "cidr"): [
        "10.0.0.0",
        "10.0.0.0/8",
        "10.0.0.0/25",
        "abc",
        "",
        "10.0.0.1/16",  # host bits set
        "300.0.0.0/16",  # BUGS["config_cidr"]
        "10.0.0.0/20",  # no room for two /20 subnets
        "10.0.0.0/24",
    ],
    ("platform", "network", "max_azs"): [1, 7, 0, -1, "two", 2.5],
    ("platform", "log_retention_days"): [0, 2, 10, 366, 9999, -1, "forever"],
    ("platform", "tags"): [
        ["a"],
        "owner=me",
        5,
        # BUGS["config_tags"]
        {"aws:owner": "me"},
        {"AWS:owner": "me"},
        {"": "me"},
        {"owner": ""},
        {"owner": "a#b"},
        {"owner": "x" * 257},
        {"k" * 129: "v"},
    ],
    ("platform", "package_mirror", "domain"): ["A", "1ab", "a", "a_b", "x" * 51, "ml-"],
    ("platform", "package_mirror", "repository"): ["a", "-ab", "a b", "r" * 101],
    ("teams", "*", "name"): ["", "A", "a_b", "a--b", "-a", "a-", "t" * 25, "1a", 5, None],
    ("teams", "*", "cost_center"): [1001, ["cc"], "cc#1", "", "x" * 257],  # BUGS["config_tags"]
    ("teams", "*", "notebooks", "*", "user"): ["", "Bob", "b_b", "u" * 33, "b-", 7, None],
    ("teams", "*", "notebooks", "*", "instance_type"): ["m5.large", "ml.m5", "ML.m5.large", 5],
    ("teams", "*", "notebooks", "*", "volume_size_gib"): [4, 16_385, 0, -1, "big", 5.5],
    ("teams", "*", "notebooks", "*", "platform_identifier"): ["notebook-al2-v2", "al2023", ""],
    ("teams", "*", "notebook_defaults", "instance_type"): ["m5.large", "ml.m5"],
    ("teams", "*", "notebook_defaults", "volume_size_gib"): [4, 16_385, "big"],
    ("teams", "*", "notebook_defaults", "platform_identifier"): ["notebook-al1-v1"],
    ("teams", "*", "setup", "connectivity_checks", "*"): [5, None, ["x"]],
    ("teams", "*", "setup", "conda_environments", "*", "python_version"): [3.11, 3],
    ("teams", "*", "setup", "idle_auto_stop", "idle_minutes"): ["an hour", 1.5],
    ("teams", "*", "setup", "package_index", "use_platform_mirror"): ["maybe", 2],
}
PHASE_2_BAD = {
    ("teams", "*", "setup", "connectivity_checks", "*"): ["pypi.org", "ftp://x", ""],
    ("teams", "*", "setup", "conda_environments", "*", "name"): ["", "python3", "-x", "a b"],
    ("teams", "*", "setup", "conda_environments", "*", "python_version"): ["3", "2.7", "3.x"],
    ("teams", "*", "setup", "conda_environments", "*", "pip_packages", "*"): ["pandas", "x>=1"],
    ("teams", "*", "setup", "packages", "*", "kernel"): ["julia", "", "Python3"],
    ("teams", "*", "setup", "packages", "*", "pip_packages", "*"): ["requests", "=="],
    ("teams", "*", "setup", "idle_auto_stop", "idle_minutes"): [1, 4, 10_081],
    ("teams", "*", "setup", "idle_auto_stop", "check_interval_minutes"): [0, 61],
    ("teams", "*", "setup", "package_index", "pip_index_url"): ["http://pypi.org", "pypi"],
    ("teams", "*", "setup", "package_index", "conda_channel"): ["http://x", "x"],
}
# Fields checked by a model validator, which runs only when the sibling fields are valid:
# the network's cidr (against max_azs).
CHECKED_AFTER_SIBLINGS = {("platform", "network", "cidr")}
# Fields whose absence is an error.
REQUIRED = {
    ("teams",),
    ("teams", "*", "name"),
    ("teams", "*", "notebooks"),
    ("teams", "*", "notebooks", "*", "user"),
    ("platform", "package_mirror", "domain"),
    ("platform", "network", "existing_vpc", "vpc_id"),
    ("platform", "network", "existing_vpc", "subnet_ids"),
    ("teams", "*", "setup", "conda_environments", "*", "name"),
    ("teams", "*", "setup", "packages", "*", "kernel"),
}
# Free-form mappings: any key is allowed there.
FREE_FORM = {("platform", "tags")}
# Mappings that are config model objects (where an unknown key is an error).
MODEL_DICTS = {
    (),
    ("platform",),
    ("platform", "env"),
    ("platform", "network"),
    ("platform", "network", "existing_vpc"),
    ("platform", "package_mirror"),
    ("teams", "*"),
    ("teams", "*", "notebook_defaults"),
    ("teams", "*", "notebooks", "*"),
    ("teams", "*", "setup"),
    ("teams", "*", "setup", "package_index"),
    ("teams", "*", "setup", "conda_environments", "*"),
    ("teams", "*", "setup", "packages", "*"),
    ("teams", "*", "setup", "idle_auto_stop"),
}


# Any keys, line breaks included (BUGS["config_key_newline"]).
keys = st.text(max_size=10)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        finite_floats,
        st.text(max_size=12),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=6,
)


def _pattern(path: Path) -> Path:
    return tuple("*" if isinstance(p, int) else p for p in path)


def _walk(value, path: Path = ()):
    """Every (path, value) in the data, the root first."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, (*path, i))


def _get(data, path: Path):
    for p in path:
        data = data[p]
    return data


def _parent_and_key(data, path: Path):
    return _get(data, path[:-1]), path[-1]


def _model_fields(path: Path) -> list[str]:
    """Field names of the config model at a dict path (for near-miss unknown keys)."""
    from stacks.config import _fields_of  # the library's own field lookup

    return _fields_of(PlatformConfig, [p for p in path if not isinstance(p, int)])


def _near_miss_key(draw: st.DrawFn, fields: list[str]) -> str:
    name = draw(st.sampled_from(fields))
    i = draw(st.integers(0, len(name) - 1))
    edit = draw(st.sampled_from(["drop", "double", "swap_case", "dash"]))
    if edit == "drop":
        return name[:i] + name[i + 1 :]
    if edit == "double":
        return name[:i] + name[i] + name[i:]
    if edit == "swap_case":
        return name[:i] + name[i].upper() + name[i + 1 :]
    return name.replace("_", "-") if "_" in name else name + "s"


@st.composite
def mutate(draw: st.DrawFn, data: dict) -> list[Mutation]:
    """Apply 1 to 3 mutations to ``data`` in place; return what was done."""
    done: list[Mutation] = []
    for _ in range(draw(st.integers(1, 3))):
        # Not inside a value an earlier mutation put in: that is no config structure.
        replaced = [m.path for m in done if m.kind in ("bad", "random", "container")]
        nodes = [
            (path, value)
            for path, value in _walk(data)
            if not any(path[: len(r)] == r for r in replaced)
        ]
        kind = draw(
            st.sampled_from(
                [
                    *["bad", "bad", "bad", "random", "unknown", "missing", "dup", "container"],
                    *["empty", "collide", "empty_setup"],
                ]
            )
        )
        if kind == "bad":
            options = [
                (path, table)
                for path, _ in nodes
                for table in (PHASE_1_BAD, PHASE_2_BAD)
                if _pattern(path) in table
            ]
            if not options:
                continue
            path, table = draw(st.sampled_from(options))
            parent, key = _parent_and_key(data, path)
            parent[key] = draw(st.sampled_from(table[_pattern(path)]))
            done.append(Mutation(kind, path, "field", 1 if table is PHASE_1_BAD else 2))
        elif kind == "random":
            paths = [p for p, _ in nodes if p]
            if not paths:  # every node lies inside an earlier replacement
                continue
            path = draw(st.sampled_from(paths))
            parent, key = _parent_and_key(data, path)
            parent[key] = draw(json_values)
            done.append(Mutation(kind, path, ""))
        elif kind == "unknown":
            dicts = [p for p, v in nodes if isinstance(v, dict) and _pattern(p) in MODEL_DICTS]
            if not dicts:  # the thorough profile reached a config with none left
                continue
            path = draw(st.sampled_from(dicts))
            fields = _model_fields(path)
            target = _get(data, path)
            style = draw(st.sampled_from(["near", "near", "text", "not-str"]))
            if style == "near" and fields:
                key = _near_miss_key(draw, fields)
            elif style == "not-str":
                key = draw(st.sampled_from([None, 5, True, 1.5]))
            else:
                key = draw(keys.filter(bool))
            if key in fields or key in target:
                continue
            target[key] = draw(json_values)
            done.append(Mutation(kind, (*path, key), "unknown"))
        elif kind == "missing":
            present = [p for p, _ in nodes if p and _pattern(p) in REQUIRED]
            if not present:
                continue
            path = draw(st.sampled_from(present))
            parent, key = _parent_and_key(data, path)
            del parent[key]
            done.append(Mutation(kind, path, "missing"))
        elif kind == "dup":
            lists = [
                p
                for p, v in nodes
                if isinstance(v, list)
                and v
                and _pattern(p) in {("teams",), ("teams", "*", "notebooks")}
            ]
            if not lists:
                continue
            path = draw(st.sampled_from(lists))
            items = _get(data, path)
            items.append(copy.deepcopy(draw(st.sampled_from(items))))
            done.append(Mutation(kind, path, "dup_team" if path == ("teams",) else "dup_user"))
        elif kind == "container":
            containers = [p for p, v in nodes if p and isinstance(v, dict | list)]
            containers = [p for p in containers if _pattern(p) not in FREE_FORM]
            if not containers:
                continue
            path = draw(st.sampled_from(containers))
            parent, key = _parent_and_key(data, path)
            old = parent[key]
            parent[key] = draw(
                st.sampled_from(
                    [[old], "text", 5] if isinstance(old, dict) else [{"items": old}, "text", 5]
                )
            )
            done.append(Mutation(kind, path, "field"))
        elif kind == "collide":  # BUGS["config_collision"]
            teams_list = data.get("teams")
            if not isinstance(teams_list, list) or not teams_list or ("teams",) in replaced:
                continue
            t = draw(st.integers(0, len(teams_list) - 1))
            team = teams_list[t]
            if any(m.path[:2] == ("teams", t) for m in done):
                continue  # keep the earlier mutations of this team what they were
            if not (
                isinstance(team, dict)
                and isinstance(team.get("name"), str)
                and isinstance(team.get("notebooks"), list)
            ):
                continue
            # team "n" + user "zq-u" and team "n-zq" + user "u" are both notebook "n-zq-u".
            team["notebooks"].append({"user": "zq-u"})
            teams_list.append({"name": f"{team['name']}-zq", "notebooks": [{"user": "u"}]})
            path = ("teams", len(teams_list) - 1, "notebooks", 0, "user")
            done.append(Mutation(kind, path, "", 2))  # judged by _phase_2_paths
        elif kind == "empty_setup":  # BUGS["config_empty_setup"]
            teams_list = data.get("teams")
            if not isinstance(teams_list, list) or not teams_list or ("teams",) in replaced:
                continue
            t = draw(st.integers(0, len(teams_list) - 1))
            if not isinstance(teams_list[t], dict):
                continue
            teams_list[t]["setup"] = draw(
                st.sampled_from([{}, {"packages": []}, {"connectivity_checks": []}])
            )
            done.append(Mutation(kind, ("teams", t, "setup"), "", 2))  # judged by _phase_2_paths
        elif kind == "empty":
            lists = [
                p for p, _ in nodes if _pattern(p) in {("teams",), ("teams", "*", "notebooks")}
            ]
            if not lists:
                continue
            path = draw(st.sampled_from(lists))
            parent, key = _parent_and_key(data, path)
            parent[key] = []
            done.append(Mutation(kind, path, "field"))
    return done


def _live(mutations: list[Mutation], data) -> list[Mutation]:
    """Mutations still in effect: not overwritten by a later one, path still there."""
    live = []
    for n, m in enumerate(mutations):
        later = mutations[n + 1 :]
        if any(m.path[: len(x.path)] == x.path and x.kind != "unknown" for x in later):
            continue
        parent_path = m.path[:-1] if m.expect in ("missing", "unknown") else m.path
        try:
            _get(data, parent_path)
        except (KeyError, IndexError, TypeError):
            continue
        live.append(m)
    return live


@st.composite
def configs(draw: st.DrawFn) -> tuple[object, list[Mutation]]:
    top = draw(st.integers(0, 39))
    if top == 0:
        return draw(st.sampled_from([None, [], ["teams"], "teams: []", 5, 1.5, True])), []
    data = draw(base_configs())
    mutations = draw(mutate(data)) if top > 18 else []
    return data, _live(mutations, data)


# --- the oracle ------------------------------------------------------------------------------


def _escape(key: object) -> str:
    """A key as error paths show it: on one line (unicode_escape), BUGS["config_key_newline"]."""
    return str(key).encode("unicode_escape").decode("ascii")


def _render(path: Path) -> str:
    """A path as the library writes it (teams[0].notebooks[1].user)."""
    out = ""
    for p in path:
        if isinstance(p, int) and not isinstance(p, bool):
            out += f"[{p}]"
        else:
            out += f".{_escape(p)}" if out else _escape(p)
    return out


def _resolves(data, path: str, *, depth: int = 0) -> bool:
    """``path`` names a place in ``data``, or one field missing directly below one."""
    if path == "":
        return True
    if re.fullmatch(r"\.?[A-Za-z_]+(/[A-Za-z_]+)?", path) or path in {".[key]", "[key]"}:
        return True  # a missing field (or a field pair) of the node reached
    if isinstance(data, list):
        m = re.match(r"\[(\d+)\]", path)
        if m and int(m.group(1)) < len(data):
            return _resolves(data[int(m.group(1))], path[m.end() :], depth=depth + 1)
        return False
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, bool | int):
                forms = [f"[{int(key)}]"]
            else:
                forms = [_escape(key)] if depth == 0 else ["." + _escape(key)]
            for form in forms:
                if path.startswith(form) and _resolves(value, path[len(form) :], depth=depth + 1):
                    return True
    return False


# What follows the field path in a problem: "got ...", "unknown field ...", "missing; ...",
# or a duplicate's "team 'x' is listed twice" (user, image, ...).
MESSAGE_START = re.compile(r"got |unknown field|missing; |[a-z]+ '")


def _split(problem: str, data) -> str:
    """The field path at the start of ``problem`` (it may itself contain ": ")."""
    for m in re.finditer(": ", problem):
        path, rest = problem[: m.start()], problem[m.end() :]
        if MESSAGE_START.match(rest) and (path == "(top level)" or _resolves(data, path)):
            return path
    raise AssertionError(f"no field path of the input at the start of: {problem!r}")


def _named(path: str, paths: list[str]) -> bool:
    """Some error is at ``path`` or below it."""
    return any(p == path or p.startswith((path + ".", path + "[")) for p in paths)


def _duplicates(items, key: str) -> bool:
    values = [i.get(key) for i in items if isinstance(i, dict) and isinstance(i.get(key), str)]
    return len(values) != len(set(values))


def _pydantic_config(data) -> PlatformConfig | None:
    """The config if pydantic's checks pass (then parse_config runs its own checks)."""
    try:
        return PlatformConfig.model_validate(copy.deepcopy(data))
    except ValidationError:
        return None


def _setup_checked(data, team: int) -> bool:
    """Whether parse_config runs the setup step checks of team ``team``."""
    config = _pydantic_config(data)
    if config is None:
        return False
    index = config.teams[team].setup.package_index if config.teams[team].setup else None
    return not (index and index.use_platform_mirror and config.platform.package_mirror is None)


def _collisions(config: PlatformConfig) -> list[str]:
    """Paths of the notebooks whose name "<team>-<user>" an earlier notebook has."""
    seen, paths = set(), []
    for t, team in enumerate(config.teams):
        for n, nb in enumerate(team.notebooks):
            name = f"{team.name}-{nb.user}"
            if name in seen:
                paths.append(f"teams[{t}].notebooks[{n}].user")
            seen.add(name)
    return paths


def _empty_setups(config: PlatformConfig) -> list[str]:
    """Paths of setups without a step (every section empty)."""
    return [
        f"teams[{t}].setup"
        for t, team in enumerate(config.teams)
        if team.setup is not None
        and team.setup.package_index is None
        and team.setup.idle_auto_stop is None
        and not team.setup.connectivity_checks
        and not team.setup.conda_environments
        and not team.setup.packages
    ]


def _phase_2_paths(data) -> list[str]:
    """What parse_config must name after pydantic's checks pass: colliding notebook names
    (BUGS["config_collision"]) and setups without steps (BUGS["config_empty_setup"])."""
    config = _pydantic_config(data)
    return [] if config is None else _collisions(config) + _empty_setups(config)


def check_rejection(err: ConfigError, data, mutations: list[Mutation]) -> None:
    text = str(err)
    assert err.path == SOURCE and err.problems, text
    assert text == "\n".join(f"{SOURCE}: {p}" for p in err.problems)
    lines = text.split("\n")
    assert all(line.startswith(f"{SOURCE}: ") for line in lines), (
        f"a line without the source:\n{text}"
    )
    if not isinstance(data, dict):
        expected = "the file is empty" if data is None else f"got a {type(data).__name__} at"
        assert len(err.problems) == 1 and err.problems[0].startswith(expected), text
        return
    paths = [_split(problem, data) for problem in err.problems]
    for where in _phase_2_paths(data):
        assert _named(where, paths), f"{where} not reported:\n{text}"
    for m in mutations:
        where = _render(m.path)
        if m.expect == "field":
            if m.phase == 2 and not _setup_checked(data, m.path[1]):
                continue
            if _pattern(m.path) in CHECKED_AFTER_SIBLINGS:
                parent = _render(m.path[:-1])
                if any(_named(parent, [p]) and p != where for p in paths):
                    continue  # a sibling's error stops the model-level check
            assert _named(where, paths), f"{m.kind} at {where} not reported:\n{text}"
        elif m.expect == "unknown":
            key = m.path[-1]
            if isinstance(key, str):
                assert f"{where}: unknown field" in text, (
                    f"unknown key {where} not reported:\n{text}"
                )
                if difflib.get_close_matches(key, _model_fields(m.path[:-1]), n=1):
                    assert f"{where}: unknown field (did you mean" in text, text
            else:
                assert "Keys should be strings" in text, text
        elif m.expect == "missing":
            assert f"{where}: missing; this field is required" in text, text
        elif m.expect in ("dup_team", "dup_user"):
            key = "name" if m.expect == "dup_team" else "user"
            if _duplicates(_get(data, m.path), key) and not [
                p for p in paths if p != where and p.startswith(where)
            ]:
                words = "is listed twice" if m.expect == "dup_team" else "has two notebooks"
                assert f"{where}: " in text and words in text, text


def _must_be_rejected(data, mutations: list[Mutation]) -> list[Mutation]:
    def invalid(m: Mutation) -> bool:
        if m.expect in ("dup_team", "dup_user"):
            return _duplicates(_get(data, m.path), "name" if m.expect == "dup_team" else "user")
        return m.expect in ("field", "unknown", "missing")

    return [m for m in mutations if invalid(m)]


def _expected_warning(config: PlatformConfig, finding: str) -> bool:
    """cfn-lint warnings that come with a full environment, not with the library.

    With account and region given, CDK writes the Availability Zones of the region into
    the subnets (from cdk.context.json) instead of Fn::GetAZs, and cfn-lint warns W3010
    "Avoid hardcoding availability zones". (Reported, not a library bug.)
    """
    env = config.platform.env
    return bool(env.account and env.region) and finding.startswith("W3010 ")


def check_app(config: PlatformConfig) -> None:
    app = cdk.App(context={**CONTEXT, **AZ_CONTEXT})
    built = build_app(app, config)
    names: dict[str, list[str]] = {}
    for stack in built.stacks:
        template = Template.from_stack(stack).to_json()
        findings = [f for f in lint_template(template) if not _expected_warning(config, f)]
        assert findings == [], f"cfn-lint findings in {stack.stack_name}:\n" + "\n".join(findings)
        for resource in template.get("Resources", {}).values():
            props = resource.get("Properties", {})
            for prop in ("NotebookInstanceName", "NotebookInstanceLifecycleConfigName"):
                if isinstance(props.get(prop), str):
                    names.setdefault(prop, []).append(props[prop])
    for prop, values in names.items():
        assert len(values) == len(set(values)), f"duplicate {prop}: {values}"


@given(configs())
def test_config_is_rejected_with_field_paths_or_builds_lint_clean_stacks(example):
    data, mutations = example
    note(f"mutations: {mutations}")
    for m in mutations:
        event(f"mutation: {m.kind}")
    try:
        config = parse_config(copy.deepcopy(data), SOURCE)
    except ConfigError as err:
        note(str(err))
        check_rejection(err, data, mutations)
        event("rejected")
        return
    must = _must_be_rejected(data, mutations)
    assert not must, f"invalid input accepted: {must}"
    assert not _collisions(config) and not _empty_setups(config), "invalid input accepted"
    check_app(config)
    event("accepted")
