"""StudioUserProfile, and the Studio constructs together across stacks (cdk-nag, cfn-lint)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match, Template

from sagemaker_constructs import (
    ConnectivityCheck,
    ConstructValidationError,
    NotebookNetwork,
    StudioCustomImage,
    StudioDomain,
    StudioLifecycleConfig,
    StudioSetup,
    StudioSpace,
    StudioUserProfile,
)
from sagemaker_constructs.governance import register_compliance_checks
from tests.conftest import new_app, new_stack

PROFILE = "AWS::SageMaker::UserProfile"


@dataclass
class StudioApp:
    outdir: Path
    domain: StudioDomain
    profiles: dict[str, StudioUserProfile]
    role: iam.Role

    def template(self, name: str) -> dict:
        return json.loads((self.outdir / f"{name}.template.json").read_text())


@pytest.fixture(scope="module")
def studio_app(tmp_path_factory: pytest.TempPathFactory) -> StudioApp:
    """A domain stack and a team stack with a shared role, profiles and an image; cdk-nag on."""
    outdir = tmp_path_factory.mktemp("studio-app")
    app = new_app(outdir)
    shared = cdk.Stack(app, "Shared")
    network = NotebookNetwork(shared, "Net", studio=True)
    lc = StudioLifecycleConfig(
        shared,
        "JupyterLab",
        setup=StudioSetup([ConnectivityCheck(url="https://pypi.org/simple/")]),
        name_prefix="shared-jupyterlab",
    )
    domain = StudioDomain(
        shared,
        "Domain",
        domain_name="shared",
        vpc=network.vpc,
        vpc_subnets=ec2.SubnetSelection(subnets=network.notebook_subnets().subnets),
        security_groups=[network.studio_security_group],
        jupyter_lab_lifecycle_config=lc,
    )
    team = cdk.Stack(app, "Team")
    role = iam.Role(team, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    policy = iam.ManagedPolicy(team, "Policy")
    domain.configure_execution_role(role, policy)
    image = StudioCustomImage(team, "Image", image_name="team-base", image_tag="1.0.0")
    profiles = {
        "alice": StudioUserProfile(
            team,
            "Alice",
            domain=domain,
            user_profile_name="team-alice",
            execution_role=role,
            custom_images=[image],
            tags={"team": "team", "owner": "alice"},
        ),
        "bob": StudioUserProfile(team, "Bob", domain=domain, user_profile_name="team-bob"),
    }
    register_compliance_checks(app)
    app.synth()
    return StudioApp(outdir=outdir, domain=domain, profiles=profiles, role=role)


def profile_properties(studio_app: StudioApp, name: str) -> dict:
    (profile,) = [
        r["Properties"]
        for r in studio_app.template("Team")["Resources"].values()
        if r["Type"] == PROFILE and r["Properties"]["UserProfileName"] == name
    ]
    return profile


# --- the profile ----------------------------------------------------------------------


def test_profile_uses_the_given_role_and_tags(studio_app: StudioApp):
    props = profile_properties(studio_app, "team-alice")
    assert props["UserSettings"]["ExecutionRole"]["Fn::GetAtt"][1] == "Arn"
    assert props["UserSettings"]["ExecutionRole"]["Fn::GetAtt"][0].startswith("Role")
    assert {"Key": "team", "Value": "team"} in props["Tags"]
    assert {"Key": "owner", "Value": "alice"} in props["Tags"]
    # The domain is in another stack: its ID is read from that stack's outputs.
    assert props["DomainId"]["Fn::GetStackOutput"]["StackName"] == "Shared"


def test_without_a_role_the_domains_default_role_is_used(studio_app: StudioApp):
    props = profile_properties(studio_app, "team-bob")
    assert "Fn::GetStackOutput" in json.dumps(props["UserSettings"]["ExecutionRole"])
    assert "JupyterLabAppSettings" not in props["UserSettings"]  # the domain's apply


def test_profile_images_come_with_the_domain_defaults(studio_app: StudioApp):
    settings = profile_properties(studio_app, "team-alice")["UserSettings"]
    jupyter = settings["JupyterLabAppSettings"]
    assert jupyter["CustomImages"] == [
        {"AppImageConfigName": "team-base", "ImageName": "team-base"}
    ]
    assert jupyter["DefaultResourceSpec"]["InstanceType"] == "ml.t3.medium"
    arn = json.dumps(jupyter["DefaultResourceSpec"]["LifecycleConfigArn"])
    # Built from the content-hash name: no cross-stack reference, and a new content
    # changes this template too, so the team stack is redeployed with the new ARN.
    assert ":studio-lifecycle-config/shared-jupyterlab-" in arn
    assert "Fn::GetStackOutput" not in arn
    assert "CodeEditorAppSettings" not in settings


def test_profile_waits_for_its_images(studio_app: StudioApp):
    resources = studio_app.template("Team")["Resources"]
    (alice,) = [
        r
        for r in resources.values()
        if r["Type"] == PROFILE and "JupyterLabAppSettings" in json.dumps(r)
    ]
    kinds = {resources[d]["Type"] for d in alice["DependsOn"]}
    assert kinds == {"AWS::SageMaker::ImageVersion", "AWS::SageMaker::AppImageConfig"}


def test_profiles_are_retained_so_their_homes_are_kept(studio_app: StudioApp):
    profiles = [
        r for r in studio_app.template("Team")["Resources"].values() if r["Type"] == PROFILE
    ]
    assert profiles
    for r in profiles:
        assert (r["DeletionPolicy"], r["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_a_deleted_profile_or_space_is_an_explicit_choice_with_a_warning():
    domain = bare_domain()
    stack = cdk.Stack.of(domain)
    profile = StudioUserProfile(
        stack,
        "Gone",
        domain=domain,
        user_profile_name="gone",
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    StudioSpace(
        stack,
        "Scratch",
        domain=domain,
        space_name="scratch",
        owner=profile,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    kept = StudioUserProfile(stack, "Kept", domain=domain, user_profile_name="kept")
    t = Template.from_stack(stack)
    policies = {
        r["Properties"].get("UserProfileName") or r["Properties"].get("SpaceName"): r[
            "DeletionPolicy"
        ]
        for r in t.to_json()["Resources"].values()
        if r["Type"] in (PROFILE, "AWS::SageMaker::Space")
    }
    assert policies == {"gone": "Delete", "scratch": "Delete", "kept": "Retain"}
    notes = Annotations.from_stack(stack)
    assert len(notes.find_warning("*", Match.string_like_regexp("loses access to their home"))) == 1
    assert len(notes.find_warning("*", Match.string_like_regexp("deletes it with its EBS"))) == 1
    assert kept.resource.cfn_options.deletion_policy == cdk.CfnDeletionPolicy.RETAIN


def test_grantable_and_presigned_url(studio_app: StudioApp):
    alice = studio_app.profiles["alice"]
    assert alice.grant_principal is studio_app.role
    stack = cdk.Stack(cdk.App(), "Other")
    person = iam.Role(stack, "Person", assumed_by=iam.AccountRootPrincipal())
    grant = alice.grant_presigned_url(person)
    assert grant.success
    text = json.dumps(stack.resolve(person.node.find_child("DefaultPolicy").document))
    assert "sagemaker:CreatePresignedDomainUrl" in text


# --- the constructs together --------------------------------------------------------


def test_cdk_nag_reports_nothing_unsuppressed(studio_app: StudioApp):
    report = json.loads((studio_app.outdir / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success"
    assert nag["violations"] == []
    suppressed = {v["ruleName"] for v in nag["suppressedViolations"]}
    assert all(rule.startswith("AwsSolutions-IAM5[Resource::") for rule in suppressed), suppressed


def test_cfn_lint_reports_nothing(studio_app: StudioApp):
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--format",
            "parseable",
            *map(str, sorted(studio_app.outdir.glob("*.template.json"))),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout == "" and result.returncode == 0, result.stdout + result.stderr


def test_the_team_stack_depends_on_the_domain_stack_only_one_way(studio_app: StudioApp):
    manifest = json.loads((studio_app.outdir / "manifest.json").read_text())
    deps = {
        name: set(a.get("dependencies", []))
        for name, a in manifest["artifacts"].items()
        if a["type"] == "aws:cloudformation:stack"
    }
    assert "Shared" in deps["Team"] and "Team" not in deps["Shared"]
    assert "Fn::GetStackOutput" not in json.dumps(studio_app.template("Shared"))


# --- validation -----------------------------------------------------------------------


def bare_domain() -> StudioDomain:
    app = new_app()
    stack = cdk.Stack(app, "Test")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        restrict_default_security_group=False,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="i", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    return StudioDomain(stack, "Domain", vpc=vpc, domain_name="d")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "alice_b",
            r"user_profile_name: got 'alice_b'; allowed: 1 to 63 letters, digits and hyphens, "
            r"starting and ending with a letter or digit \(no '_' or '.'\)",
        ),
        ("-alice", r"user_profile_name: got '-alice'; allowed: 1 to 63 letters"),
        ("a" * 64, r"user_profile_name: got 'a+'; allowed: at most 63 characters \(got 64\)"),
        ("", r"user_profile_name: got ''; allowed: 1 to 63 letters"),
    ],
)
def test_names_follow_the_service_pattern(name, message):
    domain = bare_domain()
    with pytest.raises(ConstructValidationError, match=message):
        StudioUserProfile(cdk.Stack.of(domain), "Profile", domain=domain, user_profile_name=name)


def test_one_profile_per_person_in_a_domain():
    domain = bare_domain()
    stack = cdk.Stack.of(domain)
    StudioUserProfile(stack, "Alice", domain=domain, user_profile_name="alice")
    other = cdk.Stack(stack.node.scope, "OtherTeam")
    with pytest.raises(
        ConstructValidationError,
        match=r"OtherTeam/Alice: 1 invalid property:\n  - user_profile_name: got 'alice'; "
        r"allowed: a name no other profile of domain d has \(one profile per person; "
        r"Test/Alice has it\)",
    ):
        StudioUserProfile(other, "Alice", domain=domain, user_profile_name="alice")


def test_profile_images_must_have_a_version_and_differ_from_the_domains():
    domain = bare_domain()
    stack = cdk.Stack.of(domain)
    unpushed = StudioCustomImage(stack, "Unpushed", image_name="unpushed")
    shared = StudioCustomImage(stack, "Shared", image_name="shared", image_tag="1")
    domain.add_custom_image(shared)
    with pytest.raises(ConstructValidationError) as err:
        StudioUserProfile(
            stack,
            "Alice",
            domain=domain,
            user_profile_name="alice",
            custom_images=[unpushed, shared],
        )
    assert [str(p) for p in err.value.problems] == [
        "custom_images[0]: got \"image 'unpushed' without a version\"; allowed: an image with "
        "image_tag or image_uri (push the image, then set the tag)",
        "custom_images[1]: got 'shared'; allowed: each image at most once (the domain's "
        "images are offered already)",
    ]


def test_profile_on_an_imported_domain() -> None:
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_s3 as s3

    from sagemaker_constructs import IStudioDomain, StudioDomain, StudioUserProfile

    stack = new_stack()
    role = iam.Role.from_role_arn(stack, "TeamRole", "arn:aws:iam::111111111111:role/team-a")
    domain = StudioDomain.from_domain_attributes(
        stack, "Domain", domain_id="d-abc123", execution_role=role
    )
    assert isinstance(domain, IStudioDomain)
    profile = StudioUserProfile(stack, "Alice", domain=domain, user_profile_name="alice")
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SageMaker::UserProfile",
        {
            "DomainId": "d-abc123",
            "UserProfileName": "alice",
            "UserSettings": {"ExecutionRole": "arn:aws:iam::111111111111:role/team-a"},
        },
    )
    assert profile.grant_principal is role
    with pytest.raises(ConstructValidationError, match="user_profile_name.*alice"):
        StudioUserProfile(stack, "Alice2", domain=domain, user_profile_name="alice")
    bucket = s3.Bucket(stack, "B")
    bucket.grant_read(profile)  # imported role: no error


def test_imported_domain_without_role_and_bad_id() -> None:
    from sagemaker_constructs import StudioDomain, StudioUserProfile

    stack = new_stack()
    domain = StudioDomain.from_domain_attributes(stack, "Domain", domain_id="d-abc123")
    profile = StudioUserProfile(stack, "Bob", domain=domain, user_profile_name="bob")
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::UserProfile", {"UserSettings": {"ExecutionRole": Match.absent()}}
    )
    with pytest.raises(ConstructValidationError, match="execution_role"):
        _ = profile.grant_principal
    with pytest.raises(ConstructValidationError, match=r"domain_id.*Not-A-Domain"):
        StudioDomain.from_domain_attributes(stack, "Bad", domain_id="Not-A-Domain")
