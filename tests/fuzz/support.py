"""Shared pieces of the fuzz suite: cheap synthesis, in-process cfn-lint, the oracle.

The oracle: every generated input either synthesizes templates that cfn-lint accepts
with no finding at all (errors or warnings), or raises the library's own error naming
the offending fields. Any other exception fails the property.

Values are generated *tagged* with what the documented rules say about them:

* ``OK``: valid; the library must not flag this field.
* ``BAD``: invalid; the library must flag this field.
* ``ANY``: not judged here (random text); the library may flag it or not, but whatever
  it accepts must still synthesize a template cfn-lint accepts.

The bugs the fuzzing found are listed in ``BUGS``; each has an example test. Open ones
(``OPEN_BUGS``) are kept out of the property strategies, so the properties stay green,
and pinned by ``xfail(strict=True)`` tests instead.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template
from cfnlint.config import ConfigMixIn
from cfnlint.runner.cli import Runner
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from hypothesis import strategies as st

from sagemaker_constructs import ConstructValidationError
from tests.conftest import cdk_context

REGION = "us-east-1"
CONTEXT = cdk_context()

# --- cfn-lint, in process --------------------------------------------------------------

# One runner for the session: building it (loading every rule) costs ~0.4 s, which is
# what cfnlint.api.lint() pays on every call; validating a small template costs ~0.06 s.
_RUNNER = Runner(ConfigMixIn(regions=[REGION]))
_LINT_CACHE: dict[str, list[str]] = {}
LINT_STATS = {"linted": 0, "cached": 0}


def lint_template(template: dict) -> list[str]:
    """Every cfn-lint finding (errors, warnings) of ``template``; identical ones linted once."""
    key = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    if key in _LINT_CACHE:
        LINT_STATS["cached"] += 1
    else:
        LINT_STATS["linted"] += 1
        _LINT_CACHE[key] = [
            f"{m.rule.id} {'/'.join(map(str, getattr(m, 'path', None) or ()))}: {m.message}"
            for m in _RUNNER.validate_template(template)
        ]
    return _LINT_CACHE[key]


def lint_stack(stack: cdk.Stack) -> list[str]:
    return lint_template(Template.from_stack(stack).to_json())


def schema_property(resource_type: str, prop: str) -> dict:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema
    return schema["properties"][prop]


# --- cheap stacks ------------------------------------------------------------------------


def new_stack(synthesizer: cdk.IStackSynthesizer | None = None) -> cdk.Stack:
    """A stack in a fresh app with the feature flags of cdk.json."""
    return cdk.Stack(cdk.App(context=CONTEXT), "Fuzz", synthesizer=synthesizer)


def imported_vpc(stack: cdk.Stack) -> ec2.IVpc:
    """A VPC with two isolated subnets (and their route tables) that adds no resources."""
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        vpc_cidr_block="10.0.0.0/16",
        availability_zones=["us-east-1a", "us-east-1b"],
        isolated_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        isolated_subnet_route_table_ids=["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"],
    )


# --- tagged values -------------------------------------------------------------------------

OK, BAD, ANY = "ok", "bad", "any"


@dataclass(frozen=True)
class Tagged:
    value: Any
    verdict: str


def tagged(verdict: str, strategy: st.SearchStrategy) -> st.SearchStrategy[Tagged]:
    return strategy.map(lambda v: Tagged(v, verdict))


def ok(strategy: st.SearchStrategy) -> st.SearchStrategy[Tagged]:
    return tagged(OK, strategy)


def bad(strategy: st.SearchStrategy) -> st.SearchStrategy[Tagged]:
    return tagged(BAD, strategy)


def any_(strategy: st.SearchStrategy) -> st.SearchStrategy[Tagged]:
    return tagged(ANY, strategy)


def oks(*values: Any) -> st.SearchStrategy[Tagged]:
    return ok(st.sampled_from(values))


def bads(*values: Any) -> st.SearchStrategy[Tagged]:
    return bad(st.sampled_from(values))


# Finite numbers only in process: NaN and infinity killed the jsii runtime (BUGS["nan"]),
# and a regression would break every later test of the session; a subprocess test covers
# them.
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
big_ints = st.sampled_from([2**31, 2**53 + 1, 2**63, 2**64 + 5, 2**100, -(2**63)])
# Values of the wrong type for a str prop.
non_str_scalars = st.one_of(
    st.integers(), big_ints, finite_floats, st.booleans(), st.binary(max_size=4)
)
non_str_containers = st.one_of(
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=1),
)
non_str_values = st.one_of(non_str_scalars, st.none(), non_str_containers)


def aws_tag_problem(key: object, value: object) -> bool:
    """Whether AWS rejects this tag: keys of 1-128 and values of at most 256 letters,
    digits, spaces and _.:/=+-@ (Unicode categories L, N, Z), keys not starting with aws:
    in any case."""

    def alphabet_ok(text: str) -> bool:
        return all(unicodedata.category(c)[0] in "LNZ" or c in "_.:/=+-@" for c in text)

    if not isinstance(key, str) or not isinstance(value, str):
        return True
    if not 1 <= len(key) <= 128 or key.lower().startswith("aws:") or not alphabet_ok(key):
        return True
    return len(value) > 256 or not alphabet_ok(value)


def near_misses(valid: Iterable[str]) -> st.SearchStrategy[str]:
    """One-character edits (delete, insert, replace, case flip) of valid values."""
    pool = sorted(set(valid))
    junk = st.sampled_from(list(" _-.:/é\n\tA0Z\u0131\u00a0"))

    @st.composite
    def edit(draw: st.DrawFn) -> str:
        s = draw(st.sampled_from(pool))
        i = draw(st.integers(0, max(len(s) - 1, 0)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "upper"]))
        if kind == "delete":
            return s[:i] + s[i + 1 :]
        if kind == "insert":
            return s[:i] + draw(junk) + s[i:]
        if kind == "replace":
            return s[:i] + draw(junk) + s[i + 1 :]
        return s[:i] + s[i:].upper()

    return edit()


# --- the construct oracle ------------------------------------------------------------------


@dataclass
class Expectation:
    """Props the library must flag (``bad``) and props it may flag (``maybe``)."""

    bad: set[str]
    maybe: set[str]

    def field(self, prop: str, verdict: str) -> None:
        if verdict == BAD:
            self.bad.add(prop)
        elif verdict == ANY:
            self.maybe.add(prop)


def check_construct(
    build: Callable[[], cdk.Stack], expected: Expectation, allowed_prop: Callable[[str], bool]
) -> str:
    """Run ``build``; apply the oracle. Returns "rejected" or "accepted" (for statistics)."""
    try:
        stack = build()
    except ConstructValidationError as err:
        flagged = {p.prop for p in err.problems}
        assert err.problems, "ConstructValidationError without problems"
        for problem in err.problems:
            assert allowed_prop(problem.prop), f"problem names no known prop: {problem}"
            assert isinstance(problem.allowed, str) and problem.allowed, problem
            assert str(problem) in str(err), problem
        missing = expected.bad - flagged
        assert not missing, f"invalid props not reported: {sorted(missing)}\n{err}"
        unexpected = flagged - expected.bad - expected.maybe
        assert not unexpected, f"valid props reported as invalid: {sorted(unexpected)}\n{err}"
        return "rejected"
    assert not expected.bad, f"invalid props accepted: {sorted(expected.bad)}"
    findings = lint_stack(stack)
    assert findings == [], "cfn-lint findings:\n" + "\n".join(findings)
    return "accepted"


# --- library bugs the fuzzing found ------------------------------------------------------

#: Every bug found, by key. Fixed ones are pinned by plain regression tests named after
#: their number (test_bug_<n>_...); open ones by xfail(strict=True) tests with the
#: description as reason, and their input class is kept out of the property strategies
#: (see OPEN_BUGS). When an open bug is fixed its test XPASSes and fails the suite: remove
#: the xfail marker and the strategy's exclusion.
BUGS = {
    "nan": "BUG-1: a NaN/infinite number reaches jsii (Token.is_unresolved) and kills the "
    "jsii node process instead of raising ConstructValidationError",
    "none": "BUG-2: None for instance_type / minimum_instance_metadata_service_version, or "
    "None in additional_code_repositories, passes validation and fails in jsii with TypeError",
    "unhashable": "BUG-3: an unhashable code repository (list/dict) crashes the duplicate "
    "check with TypeError",
    "tags": "BUG-4: NotebookInstance tags are not validated against AWS tag rules (value "
    "at most 256 characters, letters/digits/spaces/_.:/=+-@ only, str keys and values); "
    "cfn-lint rejects the template, or jsii/Python raises TypeError/AttributeError",
    "instance_type": "BUG-5: instance_type is checked only against the ml.<family>.<size> "
    "pattern, so an instance type that does not exist (ml.m5.3xlarge) passes validation and "
    "cfn-lint rejects the template (E3030)",
    "removal_policy": "BUG-6: removal_policy=RemovalPolicy.SNAPSHOT passes validation and "
    "fails in aws-cdk-lib with RuntimeError (KMS keys do not support snapshots)",
    "truthy_flags": "BUG-7: allow_root_access / allow_direct_internet / ignore_connections "
    "accept any truthy value, so allow_root_access='false' enables root access",
    "script_type": "BUG-8: a plain str for on_create/on_start, a non-str LifecycleScript "
    "text or CustomStep script, or a non-str CondaEnvironment name/python_version, spec "
    "list or PackageIndex field crashes with AttributeError/TypeError",
    "surrogate": "BUG-9: a script with a lone surrogate (e.g. '\\ud800') crashes with "
    "UnicodeEncodeError instead of being rejected",
    "bool_ints": "BUG-10: True/False are accepted as integers for "
    "IdleAutoStop.check_interval_minutes and ConnectivityCheck.timeout_seconds; the "
    "script then gets 'True' (NotebookInstance.volume_size_gib rejects bools)",
    "config_tags": "BUG-11: config platform.tags and teams[].cost_center are not validated "
    "against AWS tag rules (key 1-128 and value 1-256 characters of letters, digits, spaces "
    "and _.:/=+-@, key not starting with aws:; CodeArtifact rejects empty values); "
    "cfn-lint rejects the templates (E3024/E3031/E3033)",
    "config_prefix_aws": "BUG-12: config platform.prefix 'aws' passes validation and "
    "build_app fails with RuntimeError (KMS alias names cannot start with alias/aws/)",
    "config_cidr": "BUG-13: config platform.network.cidr with an octet over 255, or a "
    "netmask that cannot hold one /20 subnet per AZ (/20 to /24, /19 with 3+ AZs), passes "
    "validation and build_app fails with RuntimeError",
    "config_collision": "BUG-14: notebook names '<team>-<user>' can collide across teams "
    "(team a + user b-c, team a-b + user c: both 'a-b-c'); the config accepts it and the "
    "second notebook fails at deploy time",
    "config_empty_setup": "BUG-15: a team 'setup' without any step (setup: {}, or only empty "
    "lists) passes parse_config, then build_app raises ConstructValidationError "
    "'sagemaker-team-<name>/LifecycleConfig: on_create/on_start' instead of a ConfigError "
    "naming teams[i].setup",
    "config_not_utf8": "BUG-16: a config file that is not UTF-8 (UTF-16, Latin-1) crashes "
    "load_config with UnicodeDecodeError instead of a ConfigError",
    "config_duplicate_keys": "BUG-17: a key given twice in one YAML mapping is silently "
    "resolved to the last value (yaml.safe_load), so a second 'teams:' block drops the "
    "first teams",
    "config_mirror_domain": "BUG-18: a CodeArtifact domain name ending with '-' (config "
    "platform.package_mirror.domain, PackageMirror(domain_name=...)) passes validation; "
    "CodeArtifact requires the name to end with a letter or digit and cfn-lint rejects the "
    "template (E3031)",
    "config_key_newline": "BUG-19: an unknown config key with a line break in it (a quoted "
    'YAML key such as "a\\nb") is written raw into the error\'s field path, so the error '
    "has a line without the '<file>: ' prefix (and `cdk synth` prints it as a separate error)",
    "config_internal_key_names": "BUG-20: an unknown config key named 'str' or 'int', or "
    "starting with 'function-' or 'constrained-', is left out of the error's field path "
    "(stacks/config.py _field_path drops pydantic's internal validator names), so the error "
    "says 'teams[0]: unknown field' without naming the key",
    "studio_tags": "BUG-21: the Studio constructs check tags by the general AWS rule (values "
    "0-256 characters), but the SageMaker Studio resources (Domain, UserProfile, Space, "
    "AppImageConfig, StudioLifecycleConfig) take values of 1 to 128 characters and a created "
    "ECR repository keys of at most 127; cfn-lint rejects the template (E3033)",
    "image_name": "BUG-22: a StudioCustomImage image_name with two hyphens in a row ('a--b') "
    "passes validation; AWS::SageMaker::Image allows single hyphens only (and aws-cdk-lib "
    "rejects the default repository name with RuntimeError)",
    "studio_types": "BUG-23: wrong types crash the Studio constructs with TypeError, "
    "KeyError or AttributeError instead of ConstructValidationError: sharing_prefix=None, a "
    "None for StudioDomain default_ebs_size_gib / max_ebs_size_gib, a "
    "non-str StudioCustomImage description or repository_name, app_type=None (image, lifecycle config), a str "
    "as StudioLifecycleConfig script, None or an unhashable value in StudioPortalSettings, a "
    "portal_settings that is not a StudioPortalSettings",
    "studio_removal_policy": "BUG-24: StudioDomain and StudioCustomImage accept "
    "RemovalPolicy.SNAPSHOT (RuntimeError: KMS keys have no snapshots), a str (TypeError) "
    "or None",
    "studio_flags": "BUG-25: StudioDomain notebook_output_sharing / allow_public_internet / "
    "create_outputs accept any truthy value, so allow_public_internet='false' gives the apps "
    "internet access",
    "space_name_twice": "BUG-26: two StudioSpaces of one name in a domain pass validation "
    "(the docstring says unique in the domain); cfn-lint rejects the template (E3019)",
    "space_sids": "BUG-27: StudioSpace.grant_use derives statement IDs from the space name "
    "by title() without hyphens, so spaces 'a1b' and 'a1-b' granted in one policy give "
    "duplicate Sids (E3510)",
    "sharing_prefix_parens": "BUG-28: a StudioDomain sharing_prefix with ( or ) (documented "
    "as allowed) crashes synthesis in jsii: the cdk-nag acknowledgement of the sharing "
    "bucket resource cannot hold parentheses",
    "config_studio_tags": "BUG-29: config platform.tags values and a Studio team's "
    "cost_center of 129 to 256 characters pass validation (the general tag rule), but they "
    "go on Studio resources, which take at most 128: cfn-lint rejects the templates (E3033). "
    "Found by reading, not by test_fuzz_config.py, whose configs have no Studio section",
}
#: Bugs still open in the library (their input classes are kept out of the strategies).
OPEN_BUGS: set[str] = set()
#: The reasons for the xfail markers of the open bugs.
KNOWN_BUGS = {key: BUGS[key] for key in OPEN_BUGS}
