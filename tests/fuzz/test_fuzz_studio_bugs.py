"""Regression examples of the bugs the Studio fuzzing found (support.BUGS 21 to 29)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from sagemaker_constructs import (
    ConstructValidationError,
    LifecycleScript,
    StudioCustomImage,
    StudioDomain,
    StudioLifecycleConfig,
    StudioPortalSettings,
    StudioSpace,
    StudioUserProfile,
)
from stacks.config import ConfigError, parse_config
from tests.conftest import EXAMPLE_CONFIG
from tests.fuzz.studio_strategies import ECR_TAG_KEY_MAX, TAG_VALUE_MAX, TAG_VALUE_MIN
from tests.fuzz.support import imported_vpc, lint_stack, new_stack

SCRIPT = LifecycleScript.from_text("#!/bin/bash\necho start\n")


def _flagged(build) -> set[str]:
    stack = new_stack()
    with pytest.raises(ConstructValidationError) as err:
        build(stack)
    return {p.prop for p in err.value.problems}


def _domain(stack: cdk.Stack, **props) -> StudioDomain:
    return StudioDomain(stack, "Domain", vpc=imported_vpc(stack), **props)


BUILDERS = {
    "domain": lambda stack, tags: _domain(stack, tags=tags),
    "profile": lambda stack, tags: StudioUserProfile(
        stack, "Profile", domain=_domain(stack), user_profile_name="p", tags=tags
    ),
    "image": lambda stack, tags: StudioCustomImage(stack, "Image", image_name="img", tags=tags),
    "lifecycle": lambda stack, tags: StudioLifecycleConfig(stack, "Lc", script=SCRIPT, tags=tags),
    "space": lambda stack, tags: StudioSpace(
        stack,
        "Space",
        domain=(d := _domain(stack)),
        owner=StudioUserProfile(stack, "Owner", domain=d, user_profile_name="o"),
        space_name="models",
        tags=tags,
    ),
}


@pytest.mark.parametrize("construct", sorted(BUILDERS))
@pytest.mark.parametrize(
    "value", ["", "v" * (TAG_VALUE_MAX + 1)], ids=["empty", f"over-{TAG_VALUE_MAX}"]
)
def test_bug_21_studio_tag_values_have_the_studio_limits(construct, value):
    assert TAG_VALUE_MIN == 1  # (the schemas' limits; the general AWS rule allows "")
    assert _flagged(lambda s: BUILDERS[construct](s, {"team": value})) == {"tags['team']"}


def test_bug_21_the_longest_studio_tag_value_is_accepted_by_cfn_lint():
    stack = new_stack()
    BUILDERS["space"](stack, {"team": "v" * TAG_VALUE_MAX})
    assert lint_stack(stack) == []


def test_bug_21_a_created_repository_takes_keys_of_at_most_127():
    key = "k" * (ECR_TAG_KEY_MAX + 1)
    assert _flagged(lambda s: BUILDERS["image"](s, {key: "v"})) == {f"tags[{key!r}]"}
    stack = new_stack()  # with an image elsewhere there is no repository: 128 is fine
    StudioCustomImage(
        stack, "Image", image_name="img", image_uri="public.ecr.aws/a/b:1", tags={key: "v"}
    )
    assert lint_stack(stack) == []


def test_bug_22_image_names_have_single_hyphens():
    assert _flagged(lambda s: StudioCustomImage(s, "Image", image_name="a--b")) == {"image_name"}


@pytest.mark.parametrize(
    ("prop", "build"),
    [
        ("sharing_prefix", lambda s: _domain(s, sharing_prefix=None)),
        ("max_ebs_size_gib", lambda s: _domain(s, max_ebs_size_gib=None)),
        ("description", lambda s: StudioCustomImage(s, "I", image_name="i", description=5)),
        ("repository_name", lambda s: StudioCustomImage(s, "I", image_name="i", repository_name=5)),
        ("app_type", lambda s: StudioCustomImage(s, "I", image_name="i", app_type=None)),
        ("app_type", lambda s: StudioLifecycleConfig(s, "L", script=SCRIPT, app_type=None)),
        ("script", lambda s: StudioLifecycleConfig(s, "L", script="echo hi")),
        (
            "portal_settings.hidden_app_types",
            lambda s: _domain(s, portal_settings=StudioPortalSettings(hidden_app_types=None)),
        ),
        (
            "portal_settings.hidden_ml_tools[0]",
            lambda s: _domain(s, portal_settings=StudioPortalSettings(hidden_ml_tools=[["x"]])),
        ),
        ("portal_settings", lambda s: _domain(s, portal_settings={"hidden_app_types": []})),
    ],
    ids=[
        "prefix-none",
        "ebs-none",
        "description-int",
        "repository-name-int",
        "image-app-none",
        "lifecycle-app-none",
        "script-str",
        "portal-none",
        "portal-unhashable",
        "portal-dict",
    ],
)
def test_bug_23_wrong_types_are_rejected(prop, build):
    assert prop in _flagged(build)


@pytest.mark.parametrize("policy", [cdk.RemovalPolicy.SNAPSHOT, "retain", None])
@pytest.mark.parametrize("construct", ["domain", "image"])
def test_bug_24_removal_policies_without_snapshots(construct, policy):
    def build(stack):
        if construct == "domain":
            _domain(stack, removal_policy=policy)
        else:
            StudioCustomImage(stack, "Image", image_name="img", removal_policy=policy)

    assert _flagged(build) == {"removal_policy"}


@pytest.mark.parametrize(
    "prop", ["notebook_output_sharing", "allow_public_internet", "create_outputs"]
)
def test_bug_25_domain_flags_must_be_bools(prop):
    assert _flagged(lambda s: _domain(s, **{prop: "false"})) == {prop}


def _two_spaces(stack: cdk.Stack, first: str, second: str) -> None:
    domain = _domain(stack)
    owner = StudioUserProfile(stack, "Owner", domain=domain, user_profile_name="o")
    policy = iam.ManagedPolicy(
        stack,
        "Users",
        statements=[iam.PolicyStatement(actions=["sagemaker:ListSpaces"], resources=["*"])],
    )
    for i, name in enumerate((first, second)):
        StudioSpace(stack, f"Space{i}", domain=domain, owner=owner, space_name=name).grant_use(
            policy
        )


def test_bug_26_a_space_name_is_used_once_per_domain():
    assert _flagged(lambda s: _two_spaces(s, "models", "models")) == {"space_name"}


@pytest.mark.parametrize(("first", "second"), [("a1b", "a1-b"), ("ab", "a-b"), ("Ab", "ab")])
def test_bug_27_grants_of_two_spaces_have_distinct_statement_ids(first, second):
    stack = new_stack()
    _two_spaces(stack, first, second)
    assert lint_stack(stack) == []


def test_bug_28_sharing_prefixes_with_parentheses_are_rejected():
    def build(stack):
        bucket = s3.Bucket.from_bucket_name(stack, "Sharing", "team-sharing")
        _domain(stack, notebook_output_sharing=True, sharing_bucket=bucket, sharing_prefix="(a)/")

    assert _flagged(build) == {"sharing_prefix"}


def test_bug_29_config_tags_that_reach_studio_resources_have_the_studio_limit():
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    assert data["platform"].get("studio"), "the example config has no Studio domain any more"
    studio_team = next(i for i, t in enumerate(data["teams"]) if t.get("studio"))
    data["teams"][studio_team]["cost_center"] = "c" * (TAG_VALUE_MAX + 1)
    data["platform"]["tags"] = {"group": "g" * (TAG_VALUE_MAX + 1)}
    with pytest.raises(ConfigError) as err:
        parse_config(data, "teams.yaml")
    message = str(err.value)
    assert f"teams[{studio_team}].cost_center: got 'ccc" in message
    assert "platform.tags['group']: got 'ggg" in message
    # 128 characters are fine (the longest value cfn-lint accepts on the Studio resources).
    data["teams"][studio_team]["cost_center"] = "c" * TAG_VALUE_MAX
    data["platform"]["tags"] = {"group": "g" * TAG_VALUE_MAX}
    parse_config(data, "teams.yaml")
