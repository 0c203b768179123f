"""The case suite's edits of the example app, and what the review must say about each.

An :class:`Edit` is a change to a copy of config/teams.yaml, optionally with a small patch
of a construct the stacks build (a construct ID, a removal policy, a key property), as a
developer would make it. Each :class:`Case` compares two edits, both synthesized from the
real stacks, and states the verdict: the exit code and exactly which resources are
**DATA LOSS** and **WILL FAIL** (level, type, name or logical ID), plus text the report
must hold. docs/review.md lists the same cases.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import yaml
from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

import stacks.studio_stack
import stacks.team_stack
from tests.conftest import EXAMPLE_CONFIG

BASE = yaml.safe_load(EXAMPLE_CONFIG.read_text())

NOTEBOOK = "AWS::SageMaker::NotebookInstance"
PROFILE = "AWS::SageMaker::UserProfile"
KEY = "AWS::KMS::Key"
ALIAS = "AWS::KMS::Alias"
LOG_GROUP = "AWS::Logs::LogGroup"
BUCKET = "AWS::S3::Bucket"
CA_DOMAIN = "AWS::CodeArtifact::Domain"
DOMAIN = "AWS::SageMaker::Domain"


def team(data: dict, name: str) -> dict:
    return next(t for t in data["teams"] if t["name"] == name)


def users(data: dict, name: str) -> list[str]:
    return [nb["user"] for nb in team(data, name)["notebooks"]]


# --- config edits ----------------------------------------------------------------------


def nothing(data: dict) -> None:
    pass


def append_notebook(data: dict) -> None:
    team(data, "fraud")["notebooks"].append({"user": "zoe"})


def insert_notebook_first(data: dict) -> None:
    team(data, "fraud")["notebooks"].insert(0, {"user": "zoe"})


def reorder_notebooks(data: dict) -> None:
    team(data, "fraud")["notebooks"].reverse()


def remove_middle_notebook(data: dict) -> None:
    notebooks = team(data, "fraud")["notebooks"]
    notebooks[:] = [nb for nb in notebooks if nb["user"] != "bob"]


def rename_user(data: dict) -> None:
    team(data, "fraud")["notebooks"][0]["user"] = "alicia"


def move_notebook_to_other_team(data: dict) -> None:
    fraud = team(data, "fraud")["notebooks"]
    alice = fraud.pop(0)
    team(data, "forecasting")["notebooks"].insert(1, alice)


def rename_team(data: dict) -> None:
    team(data, "fraud")["name"] = "fraudsters"


def old_platform(data: dict) -> None:
    team(data, "vision")["notebooks"][0]["platform_identifier"] = "notebook-al2-v3"


def shrink_volume(data: dict) -> None:
    team(data, "fraud")["notebooks"][1]["volume_size_gib"] = 20  # bob: 50 -> 20


def grow_volume(data: dict) -> None:
    team(data, "fraud")["notebooks"][1]["volume_size_gib"] = 80


def change_instance_type(data: dict) -> None:
    team(data, "fraud")["notebooks"][0]["instance_type"] = "ml.t3.large"


def edits(data: dict) -> None:
    """Changes that lose nothing: an idle period, a volume size up, a setup step removed."""
    fraud = team(data, "fraud")
    fraud["setup"]["idle_auto_stop"]["idle_minutes"] = 45
    del team(data, "vision")["setup"]["idle_auto_stop"]


def pin_subnet(data: dict) -> None:
    """alice is placed by the hash of her name in the second subnet; pin her to the first."""
    team(data, "fraud")["notebooks"][0]["subnet"] = 0


def shorter_retention(data: dict) -> None:
    data["platform"]["log_retention_days"] = 30


def longer_retention(data: dict) -> None:
    data["platform"]["log_retention_days"] = 400


def remove_studio_user(data: dict) -> None:
    team(data, "forecasting")["studio"]["users"].remove("fatima")


def add_studio_user(data: dict) -> None:
    team(data, "forecasting")["studio"]["users"].append("gina")


def remove_space(data: dict) -> None:
    team(data, "forecasting")["studio"]["spaces"] = []


def remove_team_studio(data: dict) -> None:
    del team(data, "forecasting")["studio"]


def remove_studio(data: dict) -> None:
    del data["platform"]["studio"]
    for t in data["teams"]:
        t.pop("studio", None)


def remove_team(data: dict) -> None:
    data["teams"] = [t for t in data["teams"] if t["name"] != "vision"]


def add_team(data: dict) -> None:
    data["teams"].append(
        {
            "name": "risk",
            "notebook_defaults": {"instance_type": "ml.t3.medium", "volume_size_gib": 20},
            "notebooks": [{"user": "heidi"}],
        }
    )


def rename_prefix(data: dict) -> None:
    data["platform"]["prefix"] = "ml"


def rename_image(data: dict) -> None:
    image = team(data, "forecasting")["studio"]["images"][0]
    image["name"] = "prophet-v2"


def rename_mirror_domain(data: dict) -> None:
    data["platform"]["package_mirror"]["domain"] = "sagemaker-mirror"


def public_studio(data: dict) -> None:
    data["platform"]["studio"]["allow_public_internet"] = True


def office_hours(data: dict) -> None:
    team(data, "fraud")["office_hours"]["stop"] = "20:00"


def budget(data: dict) -> None:
    team(data, "fraud")["budget"]["monthly_limit_usd"] = 2000


def platform_tags(data: dict) -> None:
    data["platform"]["tags"]["owner-team"] = "platform"


def big_script(data: dict) -> None:
    """forecasting's on-start script pushed over 16 KB: stored as an S3 asset, run by a loader."""
    packages = [f"package-{n:03d}==1.0.{n}" for n in range(400)]
    team(data, "forecasting")["setup"]["packages"][0]["pip_packages"] = packages


def big_script_edited(data: dict) -> None:
    big_script(data)
    team(data, "forecasting")["setup"]["idle_auto_stop"]["idle_minutes"] = 90


# --- construct patches (what a developer's small code change would do) -------------------

Patch = Callable[[], contextlib.AbstractContextManager[Any]]


def _wrap(target: str, original: Callable[..., Any], change: Callable[..., Any]) -> Patch:
    def patch() -> contextlib.AbstractContextManager[Any]:
        return mock.patch(target, lambda *a, **kw: change(original, *a, **kw))

    return patch


def _deleted_profiles(original, *args, **kwargs):
    return original(*args, **{**kwargs, "removal_policy": RemovalPolicy.DESTROY})


def _notebook_id(original, scope, id, **kwargs):
    return original(scope, id.replace("Notebook-", "Instance-"), **kwargs)


def _multi_region_key(original, scope, id, **kwargs):
    key = original(scope, id, **kwargs)
    if id == "Key":
        key.node.default_child.add_property_override("MultiRegion", True)
    return key


def _key_construct_id(original, scope, id, **kwargs):
    return original(scope, "TeamKey" if id == "Key" else id, **kwargs)


def _alias_in_own_construct(original, scope, id, **kwargs):
    """The team's alias as a construct of its own (``kms.Alias``) instead of ``add_alias``."""
    key = original(scope, id, **kwargs)
    if id == "Key":

        def add_alias(name: str) -> kms.Alias:
            return kms.Alias(scope, "TeamAlias", alias_name=name, target_key=key)

        key.add_alias = add_alias  # type: ignore[method-assign]
    return key


def _bucket_construct_id(original, scope, id, **kwargs):
    return original(scope, "TeamDataBucket" if id == "DataBucket" else id, **kwargs)


def _domain_name(original, scope, id, **kwargs):
    return original(scope, id, **{**kwargs, "domain_name": f"{kwargs['domain_name']}-v2"})


PATCHES: dict[str, Patch] = {
    "profiles-deleted": _wrap(
        "stacks.team_stack.StudioUserProfile",
        stacks.team_stack.StudioUserProfile,
        _deleted_profiles,
    ),
    "notebook-id": _wrap(
        "stacks.team_stack.NotebookInstance", stacks.team_stack.NotebookInstance, _notebook_id
    ),
    "multi-region": _wrap(
        "stacks.team_stack.new_key", stacks.team_stack.new_key, _multi_region_key
    ),
    "key-id": _wrap("stacks.team_stack.new_key", stacks.team_stack.new_key, _key_construct_id),
    "alias-construct": _wrap(
        "stacks.team_stack.new_key", stacks.team_stack.new_key, _alias_in_own_construct
    ),
    "bucket-id": _wrap("stacks.team_stack.s3.Bucket", s3.Bucket, _bucket_construct_id),
    "domain-name": _wrap(
        "stacks.studio_stack.StudioDomain", stacks.studio_stack.StudioDomain, _domain_name
    ),
}


@dataclass(frozen=True)
class Edit:
    config: Callable[[dict], None] = nothing
    patches: tuple[str, ...] = ()

    @contextlib.contextmanager
    def patched(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for name in self.patches:
                stack.enter_context(PATCHES[name]())
            yield


VARIANTS: dict[str, Edit] = {
    "base": Edit(),
    "append": Edit(append_notebook),
    "insert-first": Edit(insert_notebook_first),
    "reorder": Edit(reorder_notebooks),
    "remove-middle": Edit(remove_middle_notebook),
    "rename": Edit(rename_user),
    "move-team": Edit(move_notebook_to_other_team),
    "rename-team": Edit(rename_team),
    "platform": Edit(old_platform),
    "shrink": Edit(shrink_volume),
    "grow": Edit(grow_volume),
    "instance-type": Edit(change_instance_type),
    "edits": Edit(edits),
    "pin-subnet": Edit(pin_subnet),
    "retention-30": Edit(shorter_retention),
    "retention-400": Edit(longer_retention),
    "remove-studio-user": Edit(remove_studio_user),
    "add-studio-user": Edit(add_studio_user),
    "remove-space": Edit(remove_space),
    "remove-team-studio": Edit(remove_team_studio),
    "remove-studio": Edit(remove_studio),
    "remove-team": Edit(remove_team),
    "team": Edit(add_team),
    "prefix": Edit(rename_prefix),
    "rename-image": Edit(rename_image),
    "mirror-domain": Edit(rename_mirror_domain),
    "public-studio": Edit(public_studio),
    "office-hours": Edit(office_hours),
    "budget": Edit(budget),
    "tags": Edit(platform_tags),
    "big": Edit(big_script),
    "big-edited": Edit(big_script_edited),
    "deleted-profiles": Edit(patches=("profiles-deleted",)),
    "deleted-profiles-minus-user": Edit(remove_studio_user, ("profiles-deleted",)),
    "notebook-id": Edit(patches=("notebook-id",)),
    "multi-region": Edit(patches=("multi-region",)),
    "key-id": Edit(patches=("key-id",)),
    "alias-construct": Edit(patches=("alias-construct",)),
    "bucket-id": Edit(patches=("bucket-id",)),
    "domain-name": Edit(patches=("domain-name",)),
}


@dataclass(frozen=True)
class Case:
    """``old`` → ``new``: the exit code, the DATA LOSS and WILL FAIL findings exactly.

    ``losses`` and ``fails`` are sets of (type, name): the finding's resource name
    (notebook name, bucket name, ...) or, for a resource without one, its logical ID
    without the hash. ``warns`` must be among the warnings; ``report`` is text the
    markdown must hold.
    """

    name: str
    old: str
    new: str
    exit_code: int
    losses: tuple[tuple[str, str], ...] = ()
    fails: tuple[tuple[str, str], ...] = ()
    warns: tuple[tuple[str, str], ...] = ()
    report: tuple[str, ...] = ()
    why: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _s(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """A multiset of findings (the three team keys are three findings)."""
    return tuple(sorted(pairs))


NOTEBOOK_LOG = "/aws/sagemaker/NotebookInstances"
ALL_NOTEBOOKS = _s(
    *[
        (NOTEBOOK, f"{t}-{u}")
        for t, us in (
            ("fraud", "alice bob carol"),
            ("forecasting", "dave erin"),
            ("vision", "frank grace"),
        )
        for u in us.split()
    ]
)

CASES: list[Case] = [
    Case("identical", "base", "base", 0, why="no change"),
    Case("append a notebook", "base", "append", 0),
    Case(
        "insert a notebook first",
        "base",
        "insert-first",
        0,
        why="placement by the hash of the user's name: no other notebook moves",
    ),
    Case("reorder the notebooks", "base", "reorder", 0),
    Case(
        "remove a middle notebook",
        "base",
        "remove-middle",
        0,
        warns=_s((NOTEBOOK, "fraud-bob")),
        report=("its execution role `NotebookbobRole",),
        why="bob's notebook is retained; the others keep their subnets",
    ),
    Case(
        "rename a user",
        "base",
        "rename",
        3,
        losses=_s((NOTEBOOK, "fraud-alice")),
        why="a new, empty notebook fraud-alicia",
    ),
    Case(
        "move a notebook to another team",
        "base",
        "move-team",
        3,
        losses=_s((NOTEBOOK, "fraud-alice")),
        report=("the same person (owner `alice`) gets a new, empty notebook `forecasting-alice`",),
    ),
    Case(
        "rename a team",
        "base",
        "rename-team",
        3,
        losses=_s((NOTEBOOK, "fraud-alice"), (NOTEBOOK, "fraud-bob"), (NOTEBOOK, "fraud-carol")),
        report=("gets a new, empty notebook `fraudsters-bob`",),
    ),
    Case(
        "AL2023 -> AL2 platform change",
        "base",
        "platform",
        3,
        losses=_s((NOTEBOOK, "vision-frank")),
        fails=_s((NOTEBOOK, "vision-frank")),
    ),
    Case(
        "shrink a volume",
        "base",
        "shrink",
        4,
        fails=_s((NOTEBOOK, "fraud-bob")),
        report=("exit code 4",),
    ),
    Case("grow a volume", "base", "grow", 0),
    Case("change an instance type", "base", "instance-type", 0),
    Case("setup edits", "base", "edits", 0, report=("### 📜 Lifecycle scripts",)),
    Case(
        "pin a notebook to another subnet",
        "base",
        "pin-subnet",
        3,
        losses=_s((NOTEBOOK, "fraud-alice")),
        fails=_s((NOTEBOOK, "fraud-alice")),
    ),
    Case(
        "log retention 365 -> 30 days",
        "base",
        "retention-30",
        3,
        losses=_s(
            (LOG_GROUP, NOTEBOOK_LOG),
            (LOG_GROUP, "/aws/sagemaker/studio"),
            (LOG_GROUP, "NetworkFlowLogGroup"),
            (BUCKET, "AccessLogsBucket"),
        ),
        report=("`RetentionInDays` shortened (365 days → 30 days)", "ExpirationInDays` shortened"),
    ),
    Case("log retention 365 -> 400 days", "base", "retention-400", 0),
    Case(
        "remove a Studio user",
        "base",
        "remove-studio-user",
        0,
        warns=_s((PROFILE, "forecasting-fatima")),
        report=("removed from the stack, but retained (DeletionPolicy: Retain)",),
    ),
    Case(
        "remove a Studio user whose profile has DeletionPolicy Delete",
        "deleted-profiles",
        "deleted-profiles-minus-user",
        3,
        losses=_s((PROFILE, "forecasting-fatima")),
        report=("loses the person's access to their home on the domain's EFS volume",),
    ),
    Case("add a Studio user", "base", "add-studio-user", 0),
    Case(
        "remove a space",
        "base",
        "remove-space",
        0,
        warns=_s(("AWS::SageMaker::Space", "forecasting-models")),
    ),
    Case(
        "remove a team's Studio section",
        "base",
        "remove-team-studio",
        0,
        warns=_s(
            (PROFILE, "forecasting-dave"),
            (PROFILE, "forecasting-erin"),
            (PROFILE, "forecasting-fatima"),
        ),
    ),
    Case(
        "remove Studio",
        "base",
        "remove-studio",
        0,
        warns=_s((DOMAIN, "sagemaker-studio"), (PROFILE, "forecasting-dave")),
        report=("- **retained** (",),
    ),
    Case(
        "remove a team",
        "base",
        "remove-team",
        0,
        warns=_s((NOTEBOOK, "vision-frank"), (NOTEBOOK, "vision-grace")),
        report=("- **deleted** (", "`LifecycleConfig"),
    ),
    Case("add a team", "base", "team", 0),
    Case(
        "rename the prefix",
        "base",
        "prefix",
        3,
        fails=_s(
            (NOTEBOOK, "fraud-alice"),
            (NOTEBOOK, "fraud-bob"),
            (NOTEBOOK, "fraud-carol"),
            (NOTEBOOK, "forecasting-dave"),
            (NOTEBOOK, "forecasting-erin"),
            (NOTEBOOK, "vision-frank"),
            (NOTEBOOK, "vision-grace"),
            (LOG_GROUP, NOTEBOOK_LOG),
            (LOG_GROUP, "/aws/sagemaker/studio"),
            (CA_DOMAIN, "sagemaker-platform"),
            ("AWS::SageMaker::Image", "forecasting-prophet"),
            ("AWS::SageMaker::AppImageConfig", "forecasting-prophet"),
        ),
        losses=_s(
            (PROFILE, "forecasting-dave"),
            (PROFILE, "forecasting-erin"),
            (PROFILE, "forecasting-fatima"),
        ),
        report=("`cdk deploy` does not delete such a stack",),
        why="the old stacks stay and keep the names; the new domain's profiles are empty",
    ),
    Case("rename a Studio image", "base", "rename-image", 0, why="the version is new with it"),
    Case(
        "rename the CodeArtifact domain",
        "base",
        "mirror-domain",
        0,
        warns=_s((CA_DOMAIN, "sagemaker-platform")),
        why="the repository keeps its name, in a new domain: no failure",
    ),
    Case(
        "Studio to PublicInternetOnly",
        "base",
        "public-studio",
        0,
        report=("`AppNetworkAccessType` | `VpcOnly` | `PublicInternetOnly`",),
    ),
    Case("office hours", "base", "office-hours", 0),
    Case("budget", "base", "budget", 0),
    Case("platform tags", "base", "tags", 0, why="the domain's Tags update in place"),
    Case("script over 16 KB", "base", "big", 0),
    Case("script over 16 KB edited", "big", "big-edited", 0),
    Case(
        "a notebook's construct ID",
        "base",
        "notebook-id",
        4,
        fails=ALL_NOTEBOOKS,
        report=(
            "is created with the fixed name `NotebookInstanceName: fraud-alice`, which "
            "`sagemaker-team-fraud` / `Notebookalice0A4DC2BE` holds it and is retained",
        ),
    ),
    Case(
        "a key made multi-Region",
        "base",
        "multi-region",
        4,
        fails=_s((KEY, "Key"), (KEY, "Key"), (KEY, "Key")),
    ),
    Case(
        "the team key under a new construct ID",
        "base",
        "key-id",
        3,
        losses=ALL_NOTEBOOKS,
        fails=_s(
            *ALL_NOTEBOOKS,
            ("AWS::ECR::Repository", "sagemaker/forecasting/prophet"),
            (ALIAS, "alias/sagemaker/fraud"),
            (ALIAS, "alias/sagemaker/forecasting"),
            (ALIAS, "alias/sagemaker/vision"),
        ),
        warns=_s((BUCKET, "DataBucket"), (BUCKET, "DataBucket"), (BUCKET, "DataBucket")),
        report=("objects written before stay encrypted with the old key",),
        why="every notebook volume and the image repository are encrypted with the key "
        "(create-only): replaced under their fixed names; the alias moves with the key",
    ),
    Case(
        "the team alias in a construct of its own",
        "base",
        "alias-construct",
        4,
        fails=_s(
            (ALIAS, "alias/sagemaker/fraud"),
            (ALIAS, "alias/sagemaker/forecasting"),
            (ALIAS, "alias/sagemaker/vision"),
        ),
    ),
    Case(
        "the data bucket under a new construct ID",
        "base",
        "bucket-id",
        0,
        warns=_s((BUCKET, "DataBucket")),
    ),
    Case(
        "profiles under a new domain",
        "base",
        "domain-name",
        3,
        losses=_s(
            (DOMAIN, "sagemaker-studio"),
            (PROFILE, "forecasting-dave"),
            (PROFILE, "forecasting-erin"),
            (PROFILE, "forecasting-fatima"),
            ("AWS::SageMaker::Space", "forecasting-models"),
        ),
        extra={"no_fail_types": {PROFILE, "AWS::SageMaker::Space"}},
        why="the domain is replaced, and with it every profile and space (new, empty homes); "
        "their names are free in the new domain, so nothing fails",
    ),
]
