"""Fuzz StudioCustomImage, StudioLifecycleConfig and StudioSpace props.

One property per construct, with the oracle of ``support.check_construct``: each example
draws a few "wild" fields; the others get valid values, so that most examples synthesize
and reach cfn-lint. StudioDomain and StudioUserProfile: ``test_fuzz_studio_domain``;
strategies and judgements: ``studio_strategies``.
"""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from hypothesis import given
from hypothesis import strategies as st

from sagemaker_constructs import (
    ConnectivityCheck,
    CustomStep,
    IdleAutoStop,
    LifecycleScript,
    PackageIndex,
    PackageInstall,
    StudioCustomImage,
    StudioDomain,
    StudioLifecycleConfig,
    StudioSetup,
    StudioSpace,
    StudioUserProfile,
)
from tests.fuzz.studio_strategies import (
    EBS,
    KEY_ARN,
    LCC_APP_TYPES,
    REMOVAL_POLICIES,
    SPACE_TYPES,
    STUDIO_TYPES,
    given_key,
    merge,
    names,
    pick,
    prop_checker,
    run_oracle,
    studio_settings,
    studio_types,
    tag_maps,
    valid_names,
)
from tests.fuzz.support import (
    BAD,
    OK,
    Expectation,
    Tagged,
    any_,
    bad,
    bads,
    big_ints,
    imported_vpc,
    new_stack,
    ok,
    oks,
)
from tests.fuzz.test_fuzz_lifecycle import script_lines, script_problem, script_texts

# --- StudioCustomImage -------------------------------------------------------------------------

IMAGE_NAME_RE = r"[a-zA-Z0-9](-?[a-zA-Z0-9]){0,40}"
# Letters, digits and single hyphens: the library documents letters, digits and hyphens,
# the Image schema forbids two hyphens in a row (BUGS["image_name"]).
IMAGE_NAME_RULE = re.compile(r"[a-zA-Z0-9](-?[a-zA-Z0-9]){0,62}")
image_names = st.one_of(
    st.from_regex(IMAGE_NAME_RE, fullmatch=True),
    st.sampled_from(["a" * 63, "a" * 64, "a--b", "a.b", "-a", "a-", "", "a_b", "\u00e9"]),
    st.text(max_size=20),
    st.integers(),
).map(lambda v: Tagged(v, OK if isinstance(v, str) and IMAGE_NAME_RULE.fullmatch(v) else BAD))
valid_image_names = st.from_regex(IMAGE_NAME_RE, fullmatch=True).map(lambda v: Tagged(v, OK))
TAG_RE = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,30}"
image_tags = st.one_of(
    oks(None, "v1", "2024.01.02", "_x", "a" * 128),
    ok(st.from_regex(TAG_RE, fullmatch=True)),
    bads("", ".v1", "-v1", "v 1", "v1:", "a" * 129, "v\u00e9", 5),
)
URI_RE = r"[a-z0-9]{1,12}\.dkr\.ecr\.us-east-1\.amazonaws\.com/[a-z0-9]{1,20}(/[a-z0-9]{1,10})?:[A-Za-z0-9_][A-Za-z0-9._-]{0,20}"
image_uris = st.one_of(
    oks(
        None,
        "public.ecr.aws/sagemaker/distribution:2.1",
        "r.example.com:5000/a/b@sha256:" + "0" * 64,
    ),
    ok(st.from_regex(URI_RE, fullmatch=True)),
    bads("", "ubuntu", "r.example.com/UPPER:1", "r.example.com/a", "r/a:" + "t" * 300, 5),
)
repository_names = st.one_of(
    oks(None, "team/images", "a.b_c-d", "ab"),
    bads("", "a", "A/b", "a//b", "/a", "a/", "a--", "r" * 257, 5),
)
display_names = st.one_of(
    oks(None, "Team image (v1)", "a", "x" * 128),
    bads("", "x" * 129, "a/b", "a\n", "\u00e9"),
)
descriptions = st.one_of(
    oks(None, "An image", "d" * 512, "line\nbreak"),
    bads("", "d" * 513, 5),
    any_(st.text(max_size=30)),
)
IMAGE_PROPS = {
    "image_name",
    "image_tag",
    "image_uri",
    "image_tag/image_uri",
    "repository",
    "repository_name",
    "encryption_key",
    "app_type",
    "display_name",
    "description",
    "role",
    "tags",
    "removal_policy",
    "activity_monitor",
}
_image_prop = prop_checker(IMAGE_PROPS, r"tags\[.+\]")
IMAGE_WILD = (
    "image_name",
    "source",
    "repository",
    "app_type",
    "display",
    "tags",
    "attach",
    "removal_policy",
)


@st.composite
def image_inputs(draw: st.DrawFn) -> tuple[dict, dict, Expectation]:
    wild = draw(st.sets(st.sampled_from(IMAGE_WILD), max_size=3))
    expected = Expectation(set(), set())
    fields = {
        "image_name": pick(draw, wild, "image_name", valid_image_names, image_names),
        "display_name": pick(draw, wild, "display", oks(None, "Team image"), display_names),
        "description": pick(draw, wild, "display", oks(None, "An image"), descriptions),
        "app_type": pick(
            draw,
            wild,
            "app_type",
            ok(st.sampled_from(LCC_APP_TYPES)),
            st.one_of(
                ok(st.sampled_from(LCC_APP_TYPES)),
                bads("JupyterServer", "KernelGateway", "jupyterlab", None, 5),
            ),
        ),
    }
    if "source" in wild:
        tag, uri = draw(image_tags), draw(image_uris)
    else:
        tag, uri = draw(
            st.sampled_from(
                [
                    (Tagged("v1", OK), Tagged(None, OK)),
                    (Tagged(None, OK), Tagged(None, OK)),
                    (Tagged(None, OK), Tagged("public.ecr.aws/sagemaker/distribution:2.1", OK)),
                ]
            )
        )
    fields["image_tag"], fields["image_uri"] = tag, uri
    for prop, t in fields.items():
        expected.field(prop, t.verdict)
    if tag.value is not None and uri.value is not None:
        expected.bad.add("image_tag/image_uri")
    env = {"repository": False, "key": None}
    repository_name = Tagged(None, OK)
    if "repository" in wild:
        env["repository"] = draw(st.booleans())
        env["key"] = draw(st.sampled_from([None, "key", "str"]))
        repository_name = draw(repository_names)
        expected.field("repository_name", repository_name.verdict)
        if env["key"] == "str":
            expected.bad.add("encryption_key")
        for prop, given in (
            ("repository", env["repository"]),
            ("repository_name", repository_name.value is not None),
            ("encryption_key", env["key"] is not None),
        ):
            if uri.value is not None and given:
                expected.bad.add(prop)
            if env["repository"] and prop != "repository" and given:
                expected.bad.add(prop)
    ecr_repository = uri.value is None and not env["repository"]
    tags, tag_expected = draw(tag_maps("tags" in wild, ecr_repository=ecr_repository))
    merge(expected, tag_expected)
    policy = draw(st.sampled_from(REMOVAL_POLICIES))
    if "removal_policy" in wild:
        policy = draw(
            st.sampled_from([*REMOVAL_POLICIES, cdk.RemovalPolicy.SNAPSHOT, "retain", None])
        )
        if policy not in REMOVAL_POLICIES:
            expected.bad.add("removal_policy")
    kwargs = {prop: t.value for prop, t in fields.items()}
    kwargs |= {"repository_name": repository_name.value, "tags": tags, "removal_policy": policy}
    env["attach"] = draw(st.sampled_from(["none", "domain", "profile"]))
    return kwargs, env, expected


def build_image(kwargs: dict, env: dict) -> cdk.Stack:
    stack = new_stack()
    extra: dict = {}
    if env["repository"]:
        extra["repository"] = ecr.Repository.from_repository_name(stack, "Repo", "team/images")
    if env["key"] is not None:
        extra["encryption_key"] = given_key(stack, "GivenKey") if env["key"] == "key" else KEY_ARN
    image = StudioCustomImage(stack, "Image", **extra, **kwargs)
    if env["attach"] != "none" and image.attachable():
        if env["attach"] == "domain":
            StudioDomain(stack, "Domain", vpc=imported_vpc(stack), custom_images=[image])
        else:
            domain = StudioDomain.from_domain_attributes(stack, "Domain", domain_id="d-abc123")
            StudioUserProfile(
                stack, "Profile", domain=domain, user_profile_name="p", custom_images=[image]
            )
    return stack


@studio_settings
@given(image_inputs())
def test_studio_custom_image_props(example):
    run_oracle(example, build_image, _image_prop)


# --- StudioLifecycleConfig -----------------------------------------------------------------

#: Studio setups with the problems the documented rules give them (prop names of the steps).
VALID_SETUPS = (
    [ConnectivityCheck(url="https://pypi.org/simple/")],
    [PackageInstall(kernel="python3", pip_packages=["polars==1.9.0"], optional=True)],
    [
        PackageIndex(pip_index_url="https://pypi.example.com/simple/"),
        CustomStep(name="hello", on_start="echo hi"),
    ],
    [PackageIndex(code_artifact_domain="ml", code_artifact_repository="pypi")],
)
BAD_SETUPS = (
    ([IdleAutoStop()], {"setup.steps[0] (idle-auto-stop).type"}),
    (
        [PackageInstall(kernel="conda_python3", pip_packages=["a==1"])],
        {"setup.steps[0] (packages:conda_python3).kernel"},
    ),
    ([CustomStep(name="c", on_create="echo")], {"setup.steps[0] (custom:c).on_create"}),
    ([], {"setup.steps"}),
    ([CustomStep(name="c")], {"setup.steps[0] (custom:c).on_create/on_start"}),
    ([PackageIndex()], {"setup.steps[0] (package-index).pip_index_url/code_artifact_domain"}),
)
LCC_PROPS = {
    "app_type",
    "script",
    "setup",
    "script/setup",
    "name_prefix",
    "tags",
    "removal_policy",
    "setup.steps",
}
_lcc_prop = prop_checker(LCC_PROPS, r"setup\.steps\[\d+\] \(.*\)\..+|tags\[.+\]")
LCC_WILD = ("app_type", "kind", "script", "setup", "name_prefix", "tags")
PREFIX_RE = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,30}"
name_prefixes = st.one_of(
    oks(None, "a" * 50, "team-a"),
    ok(st.from_regex(PREFIX_RE, fullmatch=True).filter(lambda s: len(s) <= 50)),
    bads("", "a" * 51, "-a", "a-", "a_b", "a b", "\u00e9"),
    any_(st.text(max_size=55)),
)


@st.composite
def lifecycle_inputs(draw: st.DrawFn) -> tuple[dict, dict, Expectation]:
    wild = draw(st.sets(st.sampled_from(LCC_WILD), max_size=3))
    expected = Expectation(set(), set())
    app = pick(
        draw,
        wild,
        "app_type",
        ok(st.sampled_from(LCC_APP_TYPES)),
        st.one_of(
            ok(st.sampled_from(LCC_APP_TYPES)),
            bads("JupyterServer", "KernelGateway", "jupyterlab", None, 5),
        ),
    )
    expected.field("app_type", app.verdict)
    kinds = ["script", "setup"] + (["both", "neither", "str"] if "kind" in wild else [])
    kind = draw(st.sampled_from(kinds))
    kwargs: dict = {"app_type": app.value}
    if kind in ("script", "both", "str"):
        text = draw(script_texts if "script" in wild else script_lines)
        kwargs["script"] = text if kind == "str" else LifecycleScript.from_text(text)
        if kind == "str" and text is None:
            expected.bad.add("script/setup")  # no script at all (found by the thorough profile)
        elif kind == "str" or script_problem(text, assets_ok=False):
            expected.bad.add("script")
    if kind in ("setup", "both"):
        if "setup" in wild and draw(st.booleans()):
            steps, problems = draw(st.sampled_from(BAD_SETUPS))
            # Whether any step runs at app start is known once the script is composed, for
            # a valid app type and a setup alone; the steps' own fields are checked first.
            composed = app.verdict == OK and kind == "setup"
            expected.bad |= {p for p in problems if composed or p != "setup.steps"}
            expected.maybe |= problems
        else:
            steps = draw(st.sampled_from(VALID_SETUPS))
        kwargs["setup"] = StudioSetup(steps)
        if app.verdict != OK:
            expected.maybe |= {"setup.steps", "script"}
    if kind in ("both", "neither"):
        expected.bad.add("script/setup")
    prefix = pick(draw, wild, "name_prefix", oks(None, "team-a"), name_prefixes)
    expected.field("name_prefix", prefix.verdict)
    kwargs["name_prefix"] = prefix.value
    tags, tag_expected = draw(tag_maps("tags" in wild))
    merge(expected, tag_expected)
    kwargs["tags"] = tags
    return kwargs, {"attach": draw(st.booleans())}, expected


def build_lifecycle(kwargs: dict, env: dict) -> cdk.Stack:
    stack = new_stack()
    lc = StudioLifecycleConfig(stack, "Lifecycle", **kwargs)
    if env["attach"]:
        prop = (
            "jupyter_lab_lifecycle_config"
            if lc.app_type == "JupyterLab"
            else "code_editor_lifecycle_config"
        )
        StudioDomain(stack, "Domain", vpc=imported_vpc(stack), **{prop: lc})
    return stack


@studio_settings
@given(lifecycle_inputs())
def test_studio_lifecycle_config_props(example):
    run_oracle(example, build_lifecycle, _lcc_prop)


# --- StudioSpace ---------------------------------------------------------------------------

SPACE_PROPS = {
    "space_name",
    "sharing",
    "app_type",
    "instance_type",
    "ebs_size_gib",
    "tags",
    "owner",
    "domain",
}
_space_prop = prop_checker(SPACE_PROPS, r"tags\[.+\]")
SPACE_WILD = ("space_name", "duplicate", "sharing", "app_type", "instance_type", "ebs", "tags")
#: Types a domain allows and a space accepts, for domains most of whose spaces are valid.
COMMON_TYPES = sorted(set(STUDIO_TYPES) & set(SPACE_TYPES))


@st.composite
def space_inputs(draw: st.DrawFn) -> tuple[dict, dict, Expectation]:
    wild = draw(st.sets(st.sampled_from(SPACE_WILD), max_size=3))
    expected = Expectation(set(), set())
    domain = {
        "jupyter_lab_instance_types": draw(
            st.lists(st.sampled_from(STUDIO_TYPES), min_size=1, max_size=3, unique=True)
        ),
        "code_editor_instance_types": draw(
            st.lists(st.sampled_from(COMMON_TYPES), min_size=1, max_size=3, unique=True)
        ),
        "max_ebs_size_gib": draw(st.integers(EBS["minimum"], 1000)),
    }
    domain["default_jupyter_lab_instance_type"] = domain["jupyter_lab_instance_types"][0]
    domain["default_code_editor_instance_type"] = domain["code_editor_instance_types"][0]
    name = pick(draw, wild, "space_name", valid_names, names)
    expected.field("space_name", name.verdict)
    sharing = pick(
        draw,
        wild,
        "sharing",
        oks("Shared", "Private"),
        st.one_of(oks("Shared", "Private"), bads("shared", "Public", "", None, 5)),
    )
    expected.field("sharing", sharing.verdict)
    app = pick(
        draw,
        wild,
        "app_type",
        oks(*LCC_APP_TYPES),
        st.one_of(oks(*LCC_APP_TYPES), bads("JupyterServer", "Canvas", "jupyterlab", None, 5)),
    )
    expected.field("app_type", app.verdict)
    allowed = domain[
        "jupyter_lab_instance_types" if app.value == "JupyterLab" else "code_editor_instance_types"
    ]
    valid_types = st.one_of(
        oks(None), ok(st.sampled_from(allowed).filter(lambda t: t in SPACE_TYPES))
    )
    instance = draw(
        st.one_of(valid_types, studio_types(SPACE_TYPES))
        if "instance_type" in wild
        else valid_types
    )
    if instance.value is None:
        instance = Tagged(None, OK)  # the domain's default
    elif instance.verdict == OK and instance.value not in allowed:
        instance = Tagged(instance.value, BAD)  # offered, but not allowed by the domain
    if app.verdict != OK:
        expected.maybe.add("instance_type")
    else:
        expected.field("instance_type", instance.verdict)
    top = domain["max_ebs_size_gib"]
    valid_ebs = st.one_of(oks(None, 5, top), ok(st.integers(5, top)))
    ebs = draw(
        st.one_of(valid_ebs, bads(4, top + 1, 0, True, 10.0, "10"), bad(big_ints))
        if "ebs" in wild
        else valid_ebs
    )
    expected.field("ebs_size_gib", ebs.verdict)
    tags, tag_expected = draw(tag_maps("tags" in wild))
    merge(expected, tag_expected)
    other = None
    if "duplicate" in wild and name.verdict == OK:
        # Another space of the domain: space names are unique in a domain; grants to
        # both land in one policy.
        stem = name.value[:60]
        other = draw(
            st.sampled_from([name.value, stem + "1", stem.replace("-", "") + "-x", "other"])
        )
        if other == name.value:
            expected.bad.add("space_name")
    kwargs = {
        "space_name": name.value,
        "sharing": sharing.value,
        "app_type": app.value,
        "instance_type": instance.value,
        "ebs_size_gib": ebs.value,
        "tags": tags,
    }
    return kwargs, {"domain": domain, "other": other, "grant": draw(st.booleans())}, expected


def build_space(kwargs: dict, env: dict) -> cdk.Stack:
    stack = new_stack()
    domain = StudioDomain(stack, "Domain", vpc=imported_vpc(stack), **env["domain"])
    owner = StudioUserProfile(stack, "Owner", domain=domain, user_profile_name="owner")
    policy = iam.ManagedPolicy(
        stack,
        "Users",
        statements=[iam.PolicyStatement(actions=["sagemaker:ListSpaces"], resources=["*"])],
    )
    if env["other"] is not None:
        other = StudioSpace(stack, "Other", domain=domain, owner=owner, space_name=env["other"])
        if env["grant"]:
            other.grant_use(policy)
    space = StudioSpace(stack, "Space", domain=domain, owner=owner, **kwargs)
    if env["grant"]:
        space.grant_use(policy)
    return stack


@studio_settings
@given(space_inputs())
def test_studio_space_props(example):
    run_oracle(example, build_space, _space_prop)
