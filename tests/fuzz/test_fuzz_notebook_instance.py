"""Fuzz NotebookInstance props: bad input never crashes or slips through."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from hypothesis import event, given, note
from hypothesis import strategies as st

from sagemaker_constructs import (
    ConstructValidationError,
    LifecycleScript,
    NotebookInstance,
    NotebookLifecycleConfig,
)
from sagemaker_constructs._names import NAME_MAX_LENGTH
from sagemaker_constructs.notebooks.notebook_instance import (
    RETIRED_PLATFORMS,
    SUPPORTED_PLATFORMS,
)
from tests.conftest import ROOT
from tests.fuzz.support import (
    BAD,
    OK,
    Expectation,
    Tagged,
    any_,
    aws_tag_problem,
    bad,
    bads,
    big_ints,
    check_construct,
    finite_floats,
    imported_vpc,
    lint_stack,
    near_misses,
    new_stack,
    non_str_containers,
    non_str_scalars,
    non_str_values,
    ok,
    oks,
    schema_property,
)

#: Instance types that exist: cfn-lint's enum for AWS::SageMaker::NotebookInstance.
INSTANCE_TYPES = sorted(schema_property("AWS::SageMaker::NotebookInstance", "InstanceType")["enum"])
EI_TYPES = schema_property("AWS::SageMaker::NotebookInstance", "AcceleratorTypes")["items"]["enum"]


valid_instance_types = ok(st.sampled_from(INSTANCE_TYPES))
instance_types = st.one_of(
    valid_instance_types,
    st.sampled_from(
        [
            "",
            "m5.large",
            "ml.m5",
            "ML.m5.large",
            "ml.M5.large",
            "ml.m5.Large",
            " ml.t3.medium",
            "ml.t3.medium ",
            "ml.t3.medium\n",
            "ml.m5.0xlarge",
            "ml..large",
            "ml-m5-large",
            "ml.m5.large.x",
            "ml.t3.\u0131arge",
            "ml.t3.medium\x00",
            # The form of an instance type, but none that exists (BUGS["instance_type"]).
            "ml.m5.3xlarge",
            "ml.t3.12xlarge",
            "ml.foo.large",
            "ml.eia2.medium",
            None,  # BUGS["none"]
        ]
    ),
    near_misses(INSTANCE_TYPES),
    st.text(max_size=30),
    non_str_values,
).map(
    # Judged by the rule: an instance type SageMaker offers (cfn-lint's list).
    lambda v: v if isinstance(v, Tagged) else Tagged(v, OK if v in INSTANCE_TYPES else BAD)
)

NAME_RE = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,40}"
valid_names = st.one_of(
    ok(st.none()),
    ok(st.from_regex(NAME_RE, fullmatch=True).filter(lambda s: len(s) <= NAME_MAX_LENGTH)),
    oks("a" * NAME_MAX_LENGTH, "0", "A-1", "a--b"),
)
names = st.one_of(
    valid_names,
    bad(st.integers(NAME_MAX_LENGTH + 1, 200).map(lambda n: "n" * n)),
    bads("", "-a", "a-", "a_b", "a b", "a.b", "\u00e9", "ab\n", "\uff41", "a\x00b"),
    any_(st.text(max_size=70)),
    bad(st.one_of(non_str_scalars, non_str_containers)),
)

valid_volumes = st.one_of(ok(st.integers(5, 16_384)), oks(5, 16_384, None))
volumes = st.one_of(
    valid_volumes,
    bads(4, 16_385, 0, -1, -5, -(2**31)),
    bad(big_ints),
    bad(st.integers().filter(lambda n: not 5 <= n <= 16_384)),
    bad(finite_floats),
    bads(5.0, 16_384.0, 10.5),
    bad(st.booleans()),
    bad(st.text(max_size=6)),
)

valid_platforms = st.one_of(ok(st.sampled_from(SUPPORTED_PLATFORMS)), oks(None))
platforms = st.one_of(
    valid_platforms,
    bad(st.sampled_from(RETIRED_PLATFORMS)),
    bad(near_misses([*SUPPORTED_PLATFORMS, *RETIRED_PLATFORMS])),
    bad(st.text(max_size=25)),
    bad(non_str_values),
)
platforms = platforms.map(
    # A near miss may land on another platform: judge it by the rule instead.
    lambda t: Tagged(t.value, OK if t.value is None or t.value in SUPPORTED_PLATFORMS else BAD)
)

valid_imds_versions = oks("1", "2")
imds_versions = st.one_of(
    valid_imds_versions,
    bads("", "0", "3", "v2", " 2", "2 ", "12", "\uff12", "IMDSv2"),
    bad(st.text(max_size=4).filter(lambda s: s not in ("1", "2"))),
    bad(non_str_values),  # 2 (an int) is not "2"; None: BUGS["none"]
)

REPO_URL_RE = r"https://[a-z0-9][a-z0-9.-]{0,30}(/[A-Za-z0-9._~/-]{0,40})?"
REPO_NAME_RE = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,30}"
valid_repos = st.one_of(
    ok(st.from_regex(REPO_URL_RE, fullmatch=True)),
    ok(st.from_regex(REPO_NAME_RE, fullmatch=True)),
    oks("https://github.com/acme/models.git", "https://x/" + "a" * 1014),
)
repos = st.one_of(
    valid_repos,
    bads(
        "",
        "http://github.com/acme/models.git",
        "git@github.com:acme/models.git",
        "ssh://github.com/acme/models",
        "https://",
        "https:///x",
        "https:// x",
        "https://a b",
        "https://x/a b",
        "-repo",
        "repo-",
        "re_po",
        "https://x/" + "a" * 1015,
        "r" * 1025,
    ),
    any_(st.text(max_size=40)),
    # None, and lists or dicts: BUGS["none"], BUGS["unhashable"] (None is fine as default).
    bad(non_str_values),
)

# Tags are judged by AWS's rules (support.aws_tag_problem), see BUGS["tags"].
TAG_ALPHABET = st.characters(categories=["L", "N", "Z"], include_characters="_.:/=+-@")
valid_tag_keys = st.one_of(
    st.text(TAG_ALPHABET, min_size=1, max_size=128).filter(
        lambda k: not k.lower().startswith("aws:")
    ),
    st.sampled_from(["owner", "k" * 128, "AWS", "a:b", " "]),
)
valid_tag_values = st.text(TAG_ALPHABET, max_size=256)
tag_keys = st.one_of(
    valid_tag_keys,
    st.sampled_from(["", "aws:", "aws:owner", "AWS:owner", "Aws:x", "k" * 129, "a!b", "a#"]),
    st.text(TAG_ALPHABET, max_size=20).map(lambda k: "aws:" + k),
    st.text(TAG_ALPHABET, min_size=129, max_size=140),
    st.text(max_size=20),
    st.one_of(
        st.integers(), st.none(), st.booleans(), finite_floats, st.tuples(st.text(max_size=2))
    ),
)
tag_values = st.one_of(
    valid_tag_values,
    st.sampled_from(["v" * 257, "a#b", "a!b", "\n", ""]),
    st.text(max_size=40),
    st.text(TAG_ALPHABET, min_size=257, max_size=270),
    st.one_of(st.none(), st.integers(), st.lists(st.text(max_size=2), max_size=2)),
)


@st.composite
def tag_maps(draw: st.DrawFn, wild: bool) -> tuple[object, Expectation]:
    expected = Expectation(set(), set())
    kinds = ["none", "empty", "some", "many", "not-a-mapping"] if wild else ["none", "some"]
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None, expected
    if kind == "empty":
        return {}, expected
    if kind == "not-a-mapping":  # BUGS["tags"]
        expected.bad.add("tags")
        return draw(st.sampled_from([[("owner", "alice")], "owner=alice", 5, ["owner"]])), expected
    size = (1, 4) if kind == "some" else (49, 52)
    keys = draw(st.lists(tag_keys if wild else valid_tag_keys, min_size=size[0], max_size=size[1]))
    tags = {key: draw(tag_values if wild else valid_tag_values) for key in keys}
    for key, value in tags.items():
        if aws_tag_problem(key, value):
            expected.bad.add(f"tags[{key!r}]")
    if len(tags) > 50:
        expected.bad.add("tags")
    return tags, expected


PROPS = {
    "allow_direct_internet",
    "allow_root_access",
    "create_outputs",
    "removal_policy",
    "instance_type",
    "notebook_instance_name",
    "volume_size_gib",
    "platform_identifier",
    "vpc",
    "security_groups",
    "minimum_instance_metadata_service_version",
    "default_code_repository",
    "additional_code_repositories",
    "accelerator_types",
    "tags",
}
_INDEXED = re.compile(r"(additional_code_repositories\[\d+\]|tags\[.+\])", re.S)


def _is_prop(name: str) -> bool:
    return name in PROPS or bool(_INDEXED.fullmatch(name))


REMOVAL_POLICIES = (
    cdk.RemovalPolicy.RETAIN,
    cdk.RemovalPolicy.DESTROY,
    cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
)
WILD_FIELDS = (
    "instance_type",
    "notebook_instance_name",
    "volume_size_gib",
    "platform_identifier",
    "minimum_instance_metadata_service_version",
    "network",
    "default_code_repository",
    "additional_code_repositories",
    "accelerator_types",
    "tags",
    "flags",
    "removal_policy",
)


@st.composite
def notebook_inputs(draw: st.DrawFn) -> tuple[dict, dict, Expectation]:
    """(kwargs, environment choices, expectation).

    Each example draws a few "wild" fields from strategies mixing valid, invalid and
    random values; the other fields get valid values, so that a good share of the
    examples is accepted and goes through synthesis and cfn-lint.
    """
    wild = draw(st.sets(st.sampled_from(WILD_FIELDS), max_size=4))

    def pick(field: str, valid: st.SearchStrategy, any_value: st.SearchStrategy) -> Tagged:
        return draw(any_value if field in wild else valid)

    expected = Expectation(set(), set())
    props: dict[str, Tagged] = {
        "instance_type": pick("instance_type", valid_instance_types, instance_types),
        "notebook_instance_name": pick("notebook_instance_name", valid_names, names),
        "volume_size_gib": pick("volume_size_gib", valid_volumes, volumes),
        "platform_identifier": pick("platform_identifier", valid_platforms, platforms),
        "minimum_instance_metadata_service_version": pick(
            "minimum_instance_metadata_service_version", valid_imds_versions, imds_versions
        ),
    }
    for prop, t in props.items():
        expected.field(prop, t.verdict)

    env = {
        "vpc": True,
        "security_groups": None,
        "role": draw(st.booleans()),
        "key": draw(st.booleans()),
        "lifecycle": draw(st.booleans()),
        "id": draw(st.sampled_from(["Notebook", "my_notebook", "Nb\u00e9", "N" * 80])),
    }
    # Flags must be bools (BUGS["truthy_flags"]): "false" is truthy.
    flags = st.one_of(st.booleans(), st.sampled_from(["false", "no", 0, 1, None, "True"]))
    direct = draw(flags) if "flags" in wild else False
    root = draw(flags if "flags" in wild else st.booleans())
    create_outputs = draw(flags if "flags" in wild else st.booleans())
    for prop, value in (
        ("allow_direct_internet", direct),
        ("allow_root_access", root),
        ("create_outputs", create_outputs),
    ):
        if not isinstance(value, bool):
            expected.bad.add(prop)
    if "network" in wild:
        env["vpc"] = draw(st.booleans())
        env["security_groups"] = draw(st.sampled_from([None, 0, 1, 2, 5, 6]))
        if "flags" not in wild:
            direct = draw(st.booleans())
    if not env["vpc"] and direct is not True:
        expected.bad.add("vpc")
    sgs = env["security_groups"]
    # An empty list is rejected too: it would leave the VPC default security group.
    if sgs is not None and (sgs == 0 or not env["vpc"] or sgs > 5):
        expected.bad.add("security_groups")

    default_repo = pick("default_code_repository", oks(None), st.one_of(oks(None), repos))
    if default_repo.value is None:
        default_repo = Tagged(None, OK)  # no default repository
    expected.field("default_code_repository", default_repo.verdict)
    additional = pick(
        "additional_code_repositories",
        st.lists(valid_repos, max_size=2, unique_by=lambda t: t.value),
        st.lists(repos, max_size=5),
    )
    if (
        "additional_code_repositories" in wild
        and default_repo.value is not None
        and draw(st.booleans())
    ):
        additional.append(default_repo)  # the same repository twice
    for i, t in enumerate(additional):
        expected.field(f"additional_code_repositories[{i}]", t.verdict)
    values = [t.value for t in additional]
    given_repos = [r for r in (default_repo.value, *values) if isinstance(r, str) and r]
    if len(values) > 3 or len(set(given_repos)) != len(given_repos):
        expected.bad.add("additional_code_repositories")

    accelerators = pick(
        "accelerator_types",
        st.sampled_from([(), None]),
        st.one_of(
            st.just(()),
            st.none(),
            st.lists(st.sampled_from(EI_TYPES), min_size=1, max_size=2),
            st.lists(st.text(max_size=10), min_size=1, max_size=2),
        ),
    )
    if accelerators:
        expected.bad.add("accelerator_types")

    removal_policy = draw(st.sampled_from(REMOVAL_POLICIES))
    if "removal_policy" in wild:
        # A notebook has no snapshots (BUGS["removal_policy"]).
        removal_policy = draw(
            st.sampled_from([*REMOVAL_POLICIES, cdk.RemovalPolicy.SNAPSHOT, "retain", None])
        )
    if removal_policy not in REMOVAL_POLICIES:
        expected.bad.add("removal_policy")

    tags, tag_expected = draw(tag_maps("tags" in wild))
    expected.bad |= tag_expected.bad
    expected.maybe |= tag_expected.maybe

    kwargs = {prop: t.value for prop, t in props.items()}
    kwargs |= {
        "default_code_repository": default_repo.value,
        "additional_code_repositories": draw(st.sampled_from([list, tuple]))(values),
        "allow_direct_internet": direct,
        "allow_root_access": root,
        "create_outputs": create_outputs,
        "accelerator_types": accelerators,
        "tags": tags,
        "removal_policy": removal_policy,
    }
    return kwargs, env, expected


def build_notebook(kwargs: dict, env: dict) -> cdk.Stack:
    stack = new_stack()
    vpc = imported_vpc(stack) if env["vpc"] else None
    extra: dict = {}
    if env["security_groups"] is not None:
        extra["security_groups"] = [
            ec2.SecurityGroup.from_security_group_id(stack, f"Sg{i}", f"sg-0{i:016x}")
            for i in range(env["security_groups"])
        ]
    if env["role"]:
        extra["role"] = iam.Role.from_role_arn(
            stack, "GivenRole", "arn:aws:iam::123456789012:role/notebook"
        )
    if env["key"]:
        extra["encryption_key"] = kms.Key.from_key_arn(
            stack,
            "GivenKey",
            "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        )
    if env["lifecycle"]:
        extra["lifecycle_config"] = NotebookLifecycleConfig(
            stack, "Lifecycle", on_start=LifecycleScript.from_text("#!/bin/bash\necho start\n")
        )
    NotebookInstance(stack, env["id"], vpc=vpc, **extra, **kwargs)
    return stack


@given(notebook_inputs())
def test_notebook_instance_props(example):
    kwargs, env, expected = example
    note(f"expected invalid: {sorted(expected.bad)}; may be flagged: {sorted(expected.maybe)}")
    event(check_construct(lambda: build_notebook(kwargs, env), expected, _is_prop))


def test_the_oracle_sees_a_bad_template():
    """Guard: the in-process cfn-lint reports a template error (so a clean lint means something)."""
    stack = new_stack()
    NotebookInstance(stack, "Notebook", vpc=imported_vpc(stack))
    nb = stack.node.find_child("Notebook").node.default_child
    nb.add_property_override("VolumeSizeInGB", 3)
    nb.add_property_override("InstanceType", "ml.nope.large")
    findings = lint_stack(stack)
    assert any(f.startswith("E3034") for f in findings), findings
    assert any(f.startswith("E3030") for f in findings), findings


# --- regression tests for the bugs the fuzzing found (support.BUGS) -------------------


def _valid_props(stack: cdk.Stack, **overrides) -> dict:
    return {"vpc": imported_vpc(stack), **overrides}


def _rejects(*props: str, **overrides) -> None:
    """The props are rejected with ConstructValidationError naming ``props``, nothing else."""
    stack = new_stack()
    with pytest.raises(ConstructValidationError) as err:
        NotebookInstance(stack, "Notebook", **_valid_props(stack, **overrides))
    flagged = {p.prop for p in err.value.problems}
    assert flagged == set(props), err.value


def test_bug_1_nan_and_infinite_volume_sizes_are_rejected():
    """BUG-1. In a subprocess: the bug killed the jsii node process, which would break
    every later test of this session."""
    script = textwrap.dedent(
        """
        from sagemaker_constructs import ConstructValidationError, NotebookInstance
        from tests.fuzz.support import imported_vpc, new_stack
        for value in (float("nan"), float("inf"), -float("inf")):
            stack = new_stack()
            try:
                NotebookInstance(stack, "N", vpc=imported_vpc(stack), volume_size_gib=value)
            except ConstructValidationError as err:
                assert [p.prop for p in err.problems] == ["volume_size_gib"], err
                print("REJECTED")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.split() == ["REJECTED"] * 3, result.stderr[-2000:]


@pytest.mark.parametrize(
    ("prop", "overrides"),
    [
        ("instance_type", {"instance_type": None}),
        (
            "minimum_instance_metadata_service_version",
            {"minimum_instance_metadata_service_version": None},
        ),
        ("additional_code_repositories[0]", {"additional_code_repositories": [None]}),
    ],
    ids=["instance_type", "imds", "additional_repo"],
)
def test_bug_2_none_is_rejected(prop, overrides):
    _rejects(prop, **overrides)


@pytest.mark.parametrize("repo", [["x"], {"url": "https://x"}], ids=["list", "dict"])
def test_bug_3_unhashable_repository_is_rejected(repo):
    _rejects("additional_code_repositories[0]", additional_code_repositories=[repo])


@pytest.mark.parametrize(
    ("tags", "prop"),
    [
        ({"owner": "v" * 257}, "tags['owner']"),
        ({"owner": "a#b"}, "tags['owner']"),
        ({"a!b": "v"}, "tags['a!b']"),
        ({"AWS:owner": "v"}, "tags['AWS:owner']"),
        ({"owner": None}, "tags['owner']"),
        ({"cost": 1001}, "tags['cost']"),
        ({1001: "cost"}, "tags[1001]"),
        ([("owner", "alice")], "tags"),
    ],
    ids=[
        "long-value",
        "value-char",
        "key-char",
        "aws-upper",
        "none-value",
        "int-value",
        "int-key",
        "list",
    ],
)
def test_bug_4_invalid_tags_are_rejected(tags, prop):
    _rejects(prop, tags=tags)


@pytest.mark.parametrize("instance_type", ["ml.m5.3xlarge", "ml.foo.large", "ml.t3.12xlarge"])
def test_bug_5_unknown_instance_type_is_rejected(instance_type):
    _rejects("instance_type", instance_type=instance_type)


@pytest.mark.parametrize("policy", [cdk.RemovalPolicy.SNAPSHOT, "retain"], ids=["snapshot", "str"])
def test_bug_6_snapshot_removal_policy_is_rejected(policy):
    _rejects("removal_policy", removal_policy=policy)


@pytest.mark.parametrize(
    ("props", "overrides"),
    [
        (("allow_root_access",), {"allow_root_access": "false"}),
        (("allow_direct_internet",), {"allow_direct_internet": "no"}),
        (("allow_direct_internet", "vpc"), {"allow_direct_internet": "yes", "vpc": None}),
        (("create_outputs",), {"create_outputs": 0}),
    ],
    ids=["root", "internet", "internet-without-vpc", "outputs"],
)
def test_bug_7_non_bool_flags_are_rejected(props, overrides):
    _rejects(*props, **overrides)
