"""Fuzz StudioDomain and StudioUserProfile props: bad input never crashes or slips through.

One property per construct, with the oracle of ``support.check_construct``: each example
draws a few "wild" fields; the others get valid values, so that most examples synthesize
and reach cfn-lint. Strategies and judgements: ``studio_strategies``.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from hypothesis import given
from hypothesis import strategies as st

from sagemaker_constructs import (
    LifecycleScript,
    StudioCustomImage,
    StudioDomain,
    StudioLifecycleConfig,
    StudioPortalSettings,
    StudioUserProfile,
)
from tests.fuzz.studio_strategies import (
    APP_TYPES,
    EBS,
    IDLE,
    KEY_ARN,
    LCC_APP_TYPES,
    ML_TOOLS,
    REMOVAL_POLICIES,
    STUDIO_TYPES,
    flags,
    given_key,
    judged,
    merge,
    names,
    new_image,
    pick,
    prop_checker,
    run_oracle,
    studio_settings,
    studio_types,
    tag_maps,
    valid_names,
)
from tests.fuzz.support import (
    OK,
    Expectation,
    any_,
    bad,
    bads,
    big_ints,
    finite_floats,
    imported_vpc,
    near_misses,
    new_stack,
    ok,
    oks,
)

# --- StudioDomain ----------------------------------------------------------------------------


@st.composite
def type_lists(
    draw: st.DrawFn, wild: bool, prop: str, default_prop: str, expected: Expectation
) -> tuple[object, object]:
    """An allowed-types list and its default, judged: each item offered, each at most once,
    the default among them."""
    values: object = draw(
        st.lists(st.sampled_from(STUDIO_TYPES), min_size=1, max_size=3, unique=True)
    )
    kind = draw(st.sampled_from(["valid", "items", "dupes", "empty", "str"])) if wild else "valid"
    if kind == "items":
        items = draw(st.lists(studio_types(STUDIO_TYPES), min_size=1, max_size=3))
        values = [t.value for t in items]
        for i, t in enumerate(items):
            expected.field(f"{prop}[{i}]", t.verdict)
        strs = [v for v in values if isinstance(v, str)]
        if len(set(strs)) != len(strs):
            expected.bad.add(prop)
        if len(strs) != len(values):
            expected.maybe.add(prop)  # an invalid item makes the list invalid too
    elif kind == "dupes":
        values = [*values, values[0]]
        expected.bad.add(prop)
    elif kind in ("empty", "str"):
        values = [] if kind == "empty" else "ml.t3.medium"
        expected.bad.add(prop)
        expected.maybe.add(default_prop)
        return values, draw(st.sampled_from(["ml.t3.medium", STUDIO_TYPES[0]]))
    assert isinstance(values, list)
    default = draw(st.sampled_from(values))
    if wild and draw(st.integers(0, 3)) == 0:
        default = draw(studio_types(STUDIO_TYPES)).value
    if default not in values:
        expected.bad.add(default_prop)
    return draw(st.sampled_from([list, tuple]))(values), default


@st.composite
def portal_lists(
    draw: st.DrawFn, wild: bool, field: str, pool: list[str], expected: Expectation
) -> object:
    prop = f"portal_settings.{field}"
    valid = st.lists(st.sampled_from(pool), max_size=3, unique=True)
    kind = draw(st.sampled_from(["valid", "items", "dupes", "none", "str", "unhashable"]))
    if not wild or kind == "valid":
        return draw(valid)
    if kind == "items":
        anything = st.one_of(
            st.sampled_from(pool), near_misses(pool), st.text(max_size=10), st.integers()
        )
        items = draw(st.lists(anything.map(judged(pool, ("system",))), min_size=1, max_size=3))
        values = [t.value for t in items]
        for i, t in enumerate(items):
            expected.field(f"{prop}[{i}]", t.verdict)
        if len(set(map(repr, values))) != len(values):
            expected.bad.add(prop)
        return values
    if kind == "dupes":
        values = draw(valid.filter(bool))
        expected.bad.add(prop)
        return [*values, values[-1]]
    if kind == "unhashable":
        expected.bad.add(f"{prop}[0]")
        expected.maybe.add(prop)
        return [["x"]]
    # None, or a single value where a list belongs (its characters may be judged as items).
    expected.bad.add(prop)
    value = None if kind == "none" else pool[0]
    expected.maybe |= {f"{prop}[{i}]" for i in range(len(value or ""))}
    return value


# S3's safe characters but ( and ) (BUGS["sharing_prefix_parens"]).
SHARING_PREFIX_CHARS = "abcXYZ019!-_.*'/"
valid_prefixes = st.one_of(
    oks("shared-notebooks/", "a/", "/", "x" * 511 + "/"),
    ok(st.text(st.sampled_from(SHARING_PREFIX_CHARS), max_size=30).map(lambda s: s + "/")),
)
prefixes = st.one_of(
    valid_prefixes,
    bads("", "shared", "a b/", "a\n/", "x" * 512 + "/", "\u00e9/", "a?/", "(a)/", None, 5),
    any_(st.text(max_size=20)),
)
valid_idle = st.one_of(oks(None, IDLE["minimum"], IDLE["maximum"]), ok(st.integers(60, 10_000)))
idle_timeouts = st.one_of(
    valid_idle,
    bads(IDLE["minimum"] - 1, IDLE["maximum"] + 1, 0, -1, True, 60.0, "60"),
    bad(big_ints),
    bad(finite_floats),
)
wild_ebs = st.one_of(
    st.integers(EBS["minimum"], 200),
    st.sampled_from([EBS["minimum"] - 1, EBS["maximum"], EBS["maximum"] + 1, 0, -5]),
    st.sampled_from([None, True, False, 10.0, 7.5, "10"]),
    big_ints,
)

DOMAIN_WILD = (
    "domain_name",
    "instance_types",
    "ebs",
    "idle",
    "portal",
    "tags",
    "sharing",
    "network",
    "key",
    "lifecycle",
    "images",
    "flags",
    "removal_policy",
)
DOMAIN_PROPS = {
    "vpc",
    "vpc_subnets",
    "security_groups",
    "domain_name",
    "encryption_key",
    "jupyter_lab_instance_types",
    "default_jupyter_lab_instance_type",
    "code_editor_instance_types",
    "default_code_editor_instance_type",
    "default_ebs_size_gib",
    "max_ebs_size_gib",
    "idle_timeout_minutes",
    "jupyter_lab_lifecycle_config",
    "code_editor_lifecycle_config",
    "custom_images",
    "notebook_output_sharing",
    "sharing_bucket",
    "sharing_prefix",
    "sharing_key",
    "allow_public_internet",
    "tags",
    "removal_policy",
    "create_outputs",
    "portal_settings",
    "portal_settings.hidden_app_types",
    "portal_settings.hidden_ml_tools",
    "portal_settings.hidden_instance_types",
}
_domain_prop = prop_checker(
    DOMAIN_PROPS,
    r"(security_groups|custom_images|(jupyter_lab|code_editor)_instance_types"
    r"|portal_settings\.hidden_(app_types|ml_tools|instance_types))\[\d+\]|tags\[.+\]",
)


@st.composite
def domain_inputs(draw: st.DrawFn) -> tuple[dict, dict, Expectation]:
    wild = draw(st.sets(st.sampled_from(DOMAIN_WILD), max_size=3))
    expected = Expectation(set(), set())
    kwargs: dict = {}
    env: dict = {}

    name = pick(draw, wild, "domain_name", st.one_of(oks(None), valid_names), names)
    kwargs["domain_name"] = name.value
    expected.field("domain_name", name.verdict)

    for app in ("jupyter_lab", "code_editor"):
        values, default = draw(
            type_lists(
                "instance_types" in wild,
                f"{app}_instance_types",
                f"default_{app}_instance_type",
                expected,
            )
        )
        kwargs[f"{app}_instance_types"] = values
        kwargs[f"default_{app}_instance_type"] = default

    if "ebs" in wild:
        default_ebs, max_ebs = draw(wild_ebs), draw(wild_ebs)
    else:
        max_ebs = draw(st.integers(EBS["minimum"], EBS["maximum"]))
        default_ebs = draw(st.integers(EBS["minimum"], min(max_ebs, 500)))

    def ebs_ok(v: object) -> bool:
        return type(v) is int and EBS["minimum"] <= v <= EBS["maximum"]

    for prop, value in (("default_ebs_size_gib", default_ebs), ("max_ebs_size_gib", max_ebs)):
        if not ebs_ok(value):
            expected.bad.add(prop)
    if ebs_ok(default_ebs) and ebs_ok(max_ebs) and default_ebs > max_ebs:  # type: ignore[operator]
        expected.bad.add("default_ebs_size_gib")
    kwargs |= {"default_ebs_size_gib": default_ebs, "max_ebs_size_gib": max_ebs}

    idle = pick(draw, wild, "idle", valid_idle, idle_timeouts)
    kwargs["idle_timeout_minutes"] = idle.value
    expected.field("idle_timeout_minutes", idle.verdict)

    portal_kind = draw(
        st.sampled_from(
            ["none", "default", "custom", "custom", "not-settings"]
            if "portal" in wild
            else ["none", "default", "custom"]
        )
    )
    env["portal"] = portal_kind
    if portal_kind == "custom":
        # (a wild default may be any value, a list too: found by the thorough profile)
        defaults = [
            kwargs["default_jupyter_lab_instance_type"],
            kwargs["default_code_editor_instance_type"],
        ]
        hideable = [t for t in STUDIO_TYPES if t not in defaults]
        hidden_expected = Expectation(set(), set())
        hidden_types = draw(
            portal_lists("portal" in wild, "hidden_instance_types", hideable, hidden_expected)
        )
        if "portal" in wild and draw(st.integers(0, 4)) == 0:
            hidden_types = [kwargs["default_jupyter_lab_instance_type"]]
            if isinstance(hidden_types[0], str):
                expected.bad.add("portal_settings.hidden_instance_types")
                item = judged(STUDIO_TYPES, ("system",))(hidden_types[0])
                expected.field("portal_settings.hidden_instance_types[0]", item.verdict)
            else:  # an invalid default is reported as a hidden type too
                expected.maybe |= {
                    "portal_settings.hidden_instance_types",
                    "portal_settings.hidden_instance_types[0]",
                }
        else:
            merge(expected, hidden_expected)
        env["portal_fields"] = {
            "hidden_app_types": draw(
                portal_lists("portal" in wild, "hidden_app_types", APP_TYPES, expected)
            ),
            "hidden_ml_tools": draw(
                portal_lists("portal" in wild, "hidden_ml_tools", ML_TOOLS, expected)
            ),
            "hidden_instance_types": hidden_types,
        }
    elif portal_kind == "not-settings":
        expected.bad.add("portal_settings")

    tags, tag_expected = draw(tag_maps("tags" in wild))
    merge(expected, tag_expected)
    kwargs["tags"] = tags

    sharing = draw(flags if "sharing" in wild else st.booleans())
    env["sharing_bucket"] = draw(st.booleans()) if "sharing" in wild else sharing is True
    env["sharing_key"] = draw(st.sampled_from([None, "key", "str"])) if "sharing" in wild else None
    prefix = pick(draw, wild, "sharing", valid_prefixes, prefixes)
    kwargs |= {"notebook_output_sharing": sharing, "sharing_prefix": prefix.value}
    expected.field("sharing_prefix", prefix.verdict)
    if not isinstance(sharing, bool):
        expected.bad.add("notebook_output_sharing")
        expected.maybe |= {"sharing_bucket", "sharing_key"}
    elif sharing and not env["sharing_bucket"]:
        expected.bad.add("sharing_bucket")
    elif not sharing:
        if env["sharing_bucket"]:
            expected.bad.add("sharing_bucket")
        if env["sharing_key"]:
            expected.bad.add("sharing_key")
    if env["sharing_key"] == "str":
        expected.bad.add("sharing_key")

    sgs = (
        draw(st.sampled_from([None, [], [1], [1, 1], [1, 0], [1] * 5, [1] * 6]))
        if "network" in wild
        else draw(st.sampled_from([None, [1]]))
    )
    env["security_groups"] = sgs
    if sgs is not None:
        if not sgs or len(sgs) > 5:
            expected.bad.add("security_groups")
        for i, real in enumerate(sgs):
            if not real:
                expected.bad.add(f"security_groups[{i}]")
    env["key"] = draw(st.sampled_from([None, "key", "str"] if "key" in wild else [None, "key"]))
    if env["key"] == "str":
        expected.bad.add("encryption_key")

    env["lifecycle"] = {}
    if "lifecycle" in wild:
        for prop, app in (
            ("jupyter_lab_lifecycle_config", "JupyterLab"),
            ("code_editor_lifecycle_config", "CodeEditor"),
        ):
            given_app = draw(st.sampled_from([None, *LCC_APP_TYPES]))
            env["lifecycle"][prop] = given_app
            if given_app is not None and given_app != app:
                expected.bad.add(prop)

    env["images"] = []
    if "images" in wild:
        # (versioned?, same image object as the one before?)
        images = draw(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=3))
        for i, (versioned, repeat) in enumerate(images):
            repeat = repeat and i > 0
            env["images"].append((versioned, repeat))
            if repeat or not (env["images"][i - 1 if repeat else i][0]):
                expected.bad.add(f"custom_images[{i}]")

    for prop in ("allow_public_internet", "create_outputs"):
        value = draw(flags if "flags" in wild else st.booleans())
        kwargs[prop] = value
        if not isinstance(value, bool):
            expected.bad.add(prop)
    policy = draw(st.sampled_from(REMOVAL_POLICIES))
    if "removal_policy" in wild:
        policy = draw(
            st.sampled_from([*REMOVAL_POLICIES, cdk.RemovalPolicy.SNAPSHOT, "retain", None])
        )
        if policy not in REMOVAL_POLICIES:
            expected.bad.add("removal_policy")
    kwargs["removal_policy"] = policy
    return kwargs, env, expected


def _portal(env: dict) -> object:
    if env["portal"] == "none":
        return None
    if env["portal"] == "default":
        return StudioPortalSettings()
    if env["portal"] == "not-settings":
        return {"hidden_app_types": ["Canvas"]}
    return StudioPortalSettings(**env["portal_fields"])


def build_domain(kwargs: dict, env: dict) -> cdk.Stack:
    stack = new_stack()
    vpc = imported_vpc(stack)
    extra: dict = {}
    if env["security_groups"] is not None:
        extra["security_groups"] = [
            ec2.SecurityGroup.from_security_group_id(stack, f"Sg{i}", f"sg-0{i:016x}")
            if real
            else None
            for i, real in enumerate(env["security_groups"])
        ]
    if env["key"] is not None:
        extra["encryption_key"] = given_key(stack, "GivenKey") if env["key"] == "key" else KEY_ARN
    if env["sharing_bucket"]:
        extra["sharing_bucket"] = s3.Bucket.from_bucket_name(stack, "Sharing", "team-sharing")
    if env["sharing_key"] is not None:
        extra["sharing_key"] = (
            given_key(stack, "SharingKey") if env["sharing_key"] == "key" else KEY_ARN
        )
    for prop, app in env["lifecycle"].items():
        if app is not None:
            extra[prop] = StudioLifecycleConfig(
                stack, prop, app_type=app, script=LifecycleScript.from_text("#!/bin/bash\necho\n")
            )
    images: list = []
    for i, (versioned, repeat) in enumerate(env["images"]):
        if repeat:
            images.append(images[-1])
        else:
            images.append(new_image(stack, i, versioned))
    if images:
        extra["custom_images"] = images
    portal = _portal(env)
    if portal is not None:
        extra["portal_settings"] = portal
    StudioDomain(stack, "Domain", vpc=vpc, **extra, **kwargs)
    return stack


@studio_settings
@given(domain_inputs())
def test_studio_domain_props(example):
    run_oracle(example, build_domain, _domain_prop)


# --- StudioUserProfile -------------------------------------------------------------------------

PROFILE_PROPS = {"user_profile_name", "custom_images", "tags", "execution_role", "removal_policy"}
_profile_prop = prop_checker(PROFILE_PROPS, r"custom_images\[\d+\]|tags\[.+\]")
PROFILE_WILD = ("user_profile_name", "duplicate", "images", "tags", "domain")


@st.composite
def profile_inputs(draw: st.DrawFn) -> tuple[dict, dict, Expectation]:
    wild = draw(st.sets(st.sampled_from(PROFILE_WILD), max_size=3))
    expected = Expectation(set(), set())
    name = pick(draw, wild, "user_profile_name", valid_names, names)
    expected.field("user_profile_name", name.verdict)
    env: dict = {
        "imported": draw(st.booleans()),
        "role": draw(st.booleans()),
        "other": None,
        "images": [],
        "domain_images": 0,
    }
    if "duplicate" in wild and name.verdict == OK:
        # Another profile of the domain, maybe of the same name (one profile per person).
        env["other"] = draw(st.sampled_from([name.value, name.value[:60] + "x", "someone"]))
        if env["other"] == name.value:
            expected.bad.add("user_profile_name")
    if "images" in wild:
        if not env["imported"]:
            env["domain_images"] = draw(st.integers(0, 1))
        for i, (versioned, which) in enumerate(
            draw(
                st.lists(
                    st.tuples(st.booleans(), st.sampled_from(["new", "again", "domain"])),
                    max_size=3,
                )
            )
        ):
            if which == "again" and not env["images"]:
                which = "new"
            if which == "domain" and not env["domain_images"]:
                which = "new"
            env["images"].append((versioned, which))
            if which != "new" or not versioned:
                expected.bad.add(f"custom_images[{i}]")
    tags, tag_expected = draw(tag_maps("tags" in wild))
    merge(expected, tag_expected)
    return {"user_profile_name": name.value, "tags": tags}, env, expected


def build_profile(kwargs: dict, env: dict) -> cdk.Stack:
    stack = new_stack()
    extra: dict = {}
    if env["imported"]:
        domain = StudioDomain.from_domain_attributes(stack, "Domain", domain_id="d-abc123")
    else:
        shared = [
            StudioCustomImage(
                stack, f"DomainImage{i}", image_name=f"domain-image-{i}", image_tag="v1"
            )
            for i in range(env["domain_images"])
        ]
        domain = StudioDomain(stack, "Domain", vpc=imported_vpc(stack), custom_images=shared)
    if env["role"]:
        extra["execution_role"] = iam.Role.from_role_arn(
            stack, "Role", "arn:aws:iam::123456789012:role/team-studio"
        )
    images: list = []
    for i, (versioned, which) in enumerate(env["images"]):
        if which == "again":
            images.append(images[-1])
        elif which == "domain":
            images.append(domain.custom_images[0])
        else:
            images.append(new_image(stack, i, versioned))
    if images:
        extra["custom_images"] = images
    if env["other"] is not None:
        StudioUserProfile(stack, "Other", domain=domain, user_profile_name=env["other"])
    StudioUserProfile(stack, "Profile", domain=domain, **extra, **kwargs)
    return stack


@studio_settings
@given(profile_inputs())
def test_studio_user_profile_props(example):
    run_oracle(example, build_profile, _profile_prop)
