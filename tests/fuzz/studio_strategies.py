"""Strategies and judgements shared by the Studio fuzz properties (test_fuzz_studio*.py).

Values are judged by the registry schemas cfn-lint ships (enums, patterns, tag limits) and
by the constructs' documented rules, never by the code under test.
"""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from hypothesis import event, note, settings
from hypothesis import strategies as st

from sagemaker_constructs import (
    StudioCustomImage,
)
from tests.fuzz.support import (
    ANY,
    BAD,
    OK,
    REGION,
    Expectation,
    Tagged,
    any_,
    aws_tag_problem,
    bad,
    bads,
    check_construct,
    near_misses,
    non_str_values,
    ok,
    oks,
    schema_property,
)

#: Each example synthesizes a domain (role, policy, key, security group) and cfn-lint
#: validates it: ~0.7 s here. At 300 examples the five properties took 15 minutes on 2
#: cores, so each profile draws fewer for them: dev 15, ci 40 (derandomized, so CI sees the
#: same 40), thorough its full 2000 (for bug hunts, not CI).
_STUDIO_EXAMPLES = {50: 15, 100: 40}
studio_settings = settings(
    max_examples=_STUDIO_EXAMPLES.get(settings.default.max_examples, settings.default.max_examples)
)


# --- what the registry schemas allow -------------------------------------------------------


def definitions(resource_type: str) -> dict:
    return PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema["definitions"]


DOMAIN_DEFS = definitions("AWS::SageMaker::Domain")
# "system" is in the enums, but it is the domain's own server app: not judged.
STUDIO_TYPES = sorted(set(DOMAIN_DEFS["AppInstanceType"]["enum"]) - {"system"})
SPACE_TYPES = sorted(
    set(definitions("AWS::SageMaker::Space")["ResourceSpec"]["properties"]["InstanceType"]["enum"])
    - {"system"}
)
NOTEBOOK_TYPES = schema_property("AWS::SageMaker::NotebookInstance", "InstanceType")["enum"]
APP_TYPES = DOMAIN_DEFS["AppType"]["enum"]
ML_TOOLS = DOMAIN_DEFS["MlTools"]["enum"]
EBS = DOMAIN_DEFS["SpaceEbsVolumeSizeInGb"]
IDLE = DOMAIN_DEFS["IdleTimeoutInMinutes"]
LCC_APP_TYPES = ("JupyterLab", "CodeEditor")  # what the current Studio runs (documented)

#: Tag limits of every resource a Studio construct tags: the SageMaker Studio resources
#: allow values of 1 to 128 characters, ECR repositories keys of at most 127 (BUGS["studio_tags"]).
_TAGGED = (
    "AWS::SageMaker::Domain",
    "AWS::SageMaker::UserProfile",
    "AWS::SageMaker::Space",
    "AWS::SageMaker::AppImageConfig",
    "AWS::SageMaker::StudioLifecycleConfig",
    "AWS::SageMaker::Image",
)
_TAG_SCHEMAS = [definitions(t)["Tag"]["properties"] for t in _TAGGED]
TAG_VALUE_MIN = max(s["Value"].get("minLength", 0) for s in _TAG_SCHEMAS)
TAG_VALUE_MAX = min(s["Value"]["maxLength"] for s in _TAG_SCHEMAS)
_ECR_TAG = definitions("AWS::ECR::Repository")["Tag"]["properties"]
ECR_TAG_KEY_MAX = _ECR_TAG["Key"]["maxLength"]


def studio_tag_problem(key: object, value: object, *, ecr_repository: bool = False) -> bool:
    if aws_tag_problem(key, value):
        return True
    assert isinstance(key, str) and isinstance(value, str)
    if not TAG_VALUE_MIN <= len(value) <= TAG_VALUE_MAX:
        return True
    return ecr_repository and len(key) > ECR_TAG_KEY_MAX


# --- shared strategies -----------------------------------------------------------------------

TAG_ALPHABET = st.characters(categories=["L", "N", "Z"], include_characters="_.:/=+-@")
valid_tag_keys = st.one_of(
    st.text(TAG_ALPHABET, min_size=1, max_size=ECR_TAG_KEY_MAX).filter(
        lambda k: not k.lower().startswith("aws:")
    ),
    st.sampled_from(["team", "cost-center", "k" * ECR_TAG_KEY_MAX, "a:b"]),
)
valid_tag_values = st.one_of(
    st.text(TAG_ALPHABET, min_size=1, max_size=40), st.sampled_from(["v" * 128, "ml", " "])
)
tag_keys = st.one_of(
    valid_tag_keys,
    st.sampled_from(["", "aws:x", "AWS:team", "k" * 128, "k" * 129, "a!b"]),
    st.text(max_size=12),
    st.one_of(st.integers(), st.none(), st.booleans()),
)
tag_values = st.one_of(
    valid_tag_values,
    st.sampled_from(["", "v" * 129, "v" * 256, "v" * 257, "a#b", "\n"]),
    st.text(max_size=20),
    st.one_of(st.none(), st.integers()),
)


def cfn_lint_confuses(key: object) -> bool:
    """cfn-lint reports a key "false" (any case) among two or more tags as a duplicate (E3024),
    a false positive that CloudFormation does not share: the strategies never draw it."""
    return isinstance(key, str) and key.lower() == "false"


@st.composite
def tag_maps(
    draw: st.DrawFn, wild: bool, *, ecr_repository: bool = False
) -> tuple[object, Expectation]:
    expected = Expectation(set(), set())
    kinds = ["none", "empty", "some", "many", "not-a-mapping"] if wild else ["none", "some"]
    kind = draw(st.sampled_from(kinds))
    if kind in ("none", "empty"):
        return (None if kind == "none" else {}), expected
    if kind == "not-a-mapping":
        expected.bad.add("tags")
        return draw(st.sampled_from([[("team", "a")], "team=a", 5])), expected
    size = (1, 3) if kind == "some" else (50, 51)
    keys = draw(
        st.lists(
            (tag_keys if wild else valid_tag_keys).filter(lambda k: not cfn_lint_confuses(k)),
            min_size=size[0],
            max_size=size[1],
        )
    )
    tags = {key: draw(tag_values if wild else valid_tag_values) for key in keys}
    for key, value in tags.items():
        if studio_tag_problem(key, value, ecr_repository=ecr_repository):
            expected.bad.add(f"tags[{key!r}]")
    if len(tags) > 50:
        expected.bad.add("tags")
    return tags, expected


def judged(valid: list[str] | tuple[str, ...], any_values: tuple = ()):
    """Tag a drawn value OK when it is in ``valid``, ANY in ``any_values``, else BAD."""

    def tag(v: object) -> Tagged:
        if isinstance(v, Tagged):
            return v
        if isinstance(v, str) and v in any_values:
            return Tagged(v, ANY)
        return Tagged(v, OK if isinstance(v, str) and v in valid else BAD)

    return tag


def studio_types(pool: list[str]) -> st.SearchStrategy[Tagged]:
    """Instance types judged against ``pool`` (a schema's enum)."""
    return st.one_of(
        st.sampled_from(pool),
        st.sampled_from(["system", "", "ml.t3.medum", "ML.t3.medium", "ml.t3.medium ", None]),
        st.sampled_from(NOTEBOOK_TYPES),
        near_misses(pool),
        st.text(max_size=16),
        non_str_values,
    ).map(judged(pool, ("system",)))


NAME_RE = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,40}"
valid_names = st.one_of(
    ok(st.from_regex(NAME_RE, fullmatch=True).filter(lambda s: len(s) <= 63)),
    oks("a" * 63, "0", "team-a", "a--b"),
)
names = st.one_of(
    valid_names,
    bads("", "a" * 64, "-a", "a-", "a_b", "a b", "a.b", "\u00e9", "ab\n", "a\x00b"),
    any_(st.text(max_size=70)),
    bad(st.one_of(st.integers(), st.booleans(), st.lists(st.text(max_size=2), max_size=1))),
)
flags = st.one_of(st.booleans(), st.sampled_from(["false", "no", 0, 1, None]))
REMOVAL_POLICIES = (cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.DESTROY)


def merge(expected: Expectation, other: Expectation) -> None:
    expected.bad |= other.bad
    expected.maybe |= other.maybe


def pick(draw: st.DrawFn, wild: set[str], field: str, valid, anything) -> Tagged:
    return draw(anything if field in wild else valid)


def prop_checker(props: set[str], indexed: str):
    pattern = re.compile(indexed, re.S)
    return lambda name: name in props or bool(pattern.fullmatch(name))


def run_oracle(example: tuple[dict, dict, Expectation], build, is_prop) -> None:
    """Apply the oracle to ``build(kwargs, env)`` of one drawn example."""
    kwargs, env, expected = example
    note(f"expected invalid: {sorted(expected.bad)}; may be flagged: {sorted(expected.maybe)}")
    event(check_construct(lambda: build(kwargs, env), expected, is_prop))


def given_key(stack: cdk.Stack, id: str) -> kms.IKey:
    return kms.Key.from_key_arn(
        stack, id, "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
    )


KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


def new_image(stack: cdk.Stack, i: int, versioned: bool) -> StudioCustomImage:
    return StudioCustomImage(
        stack, f"Image{i}", image_name=f"image-{i}", image_tag="v1" if versioned else None
    )
