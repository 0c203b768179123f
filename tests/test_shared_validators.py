"""One validator per concern (instance types, security groups, keys, tags, names), applied the
same way by every construct that takes the prop and by the example app's config model."""

from __future__ import annotations

import pytest
from aws_cdk import aws_kms as kms
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from sagemaker_constructs import (
    NOTEBOOK_INSTANCE_TYPES,
    STUDIO_INSTANCE_TYPES,
    STUDIO_SPACE_INSTANCE_TYPES,
    ConstructValidationError,
    NotebookInstance,
    Problems,
    StudioDomain,
    StudioSpace,
    StudioUserProfile,
    check_app_settings,
    instance_type_problem,
)
from tests.conftest import isolated_vpc, new_stack


def _schema(resource_type: str) -> dict:
    return PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema


# --- the offered types are CloudFormation's, not a guess -------------------------------


def test_offered_types_equal_the_registry_schemas():
    notebook = set(
        _schema("AWS::SageMaker::NotebookInstance")["properties"]["InstanceType"]["enum"]
    )
    domain = _schema("AWS::SageMaker::Domain")["definitions"]["AppInstanceType"]["enum"]
    space = _schema("AWS::SageMaker::Space")["definitions"]["ResourceSpec"]["properties"][
        "InstanceType"
    ]["enum"]
    assert set(NOTEBOOK_INSTANCE_TYPES) == notebook
    # "system" is the type of the domain's own server app, not one a person chooses.
    assert set(STUDIO_INSTANCE_TYPES) == set(domain) - {"system"}
    assert set(STUDIO_SPACE_INSTANCE_TYPES) == set(space) - {"system"}


@pytest.mark.parametrize(
    ("kind", "typo", "nearest", "constant"),
    [
        ("notebook", "ml.t3.medum", "ml.t3.medium", "NOTEBOOK_INSTANCE_TYPES"),
        ("studio", "ml.g5.xlarg", "ml.g5.xlarge", "STUDIO_INSTANCE_TYPES"),
        ("space", "ml.t3.larg", "ml.t3.large", "STUDIO_SPACE_INSTANCE_TYPES"),
    ],
)
def test_a_near_miss_names_the_nearest_types_and_the_public_constant(kind, typo, nearest, constant):
    problem = instance_type_problem(typo, kind)
    assert problem is not None
    assert f"({constant} lists them)" in problem
    assert f"(nearest: {nearest}" in problem


def test_types_offered_to_one_kind_only_are_rejected_for_the_other():
    # ml.t3.micro runs Studio apps but not notebook instances; ml.p2.xlarge the other way.
    assert "ml.t3.micro" in STUDIO_INSTANCE_TYPES
    assert instance_type_problem("ml.t3.micro", "notebook") is not None
    assert instance_type_problem("ml.t3.micro", "studio") is None
    only_notebook = sorted(NOTEBOOK_INSTANCE_TYPES - STUDIO_INSTANCE_TYPES)
    assert only_notebook, "the sets have diverged: pick another example"
    assert instance_type_problem(only_notebook[0], "studio") is not None
    only_domain = sorted(STUDIO_INSTANCE_TYPES - STUDIO_SPACE_INSTANCE_TYPES)
    assert instance_type_problem(only_domain[0], "space") is not None


# --- every construct that takes the prop applies the same check -----------------------


def _errors(build) -> str:
    with pytest.raises(ConstructValidationError) as raised:
        build()
    return str(raised.value)


def test_studio_domain_and_portal_settings_reject_an_unoffered_type_with_nearest():
    from sagemaker_constructs import StudioPortalSettings

    def build():
        stack = new_stack()
        StudioDomain(
            stack,
            "Domain",
            vpc=isolated_vpc(stack),
            jupyter_lab_instance_types=["ml.t3.medium", "ml.g5.xlarg"],
            portal_settings=StudioPortalSettings(hidden_instance_types=["ml.t3.medum"]),
        )

    message = _errors(build)
    assert "jupyter_lab_instance_types[1]: got 'ml.g5.xlarg'" in message
    assert "portal_settings.hidden_instance_types[0]: got 'ml.t3.medum'" in message
    assert message.count("nearest:") == 2


def test_a_space_type_the_domain_allows_but_spaces_do_not_is_rejected():
    only_domain = sorted(STUDIO_INSTANCE_TYPES - STUDIO_SPACE_INSTANCE_TYPES)[0]

    def build():
        stack = new_stack()
        domain = StudioDomain(
            stack,
            "Domain",
            vpc=isolated_vpc(stack),
            jupyter_lab_instance_types=["ml.t3.medium", only_domain],
        )
        owner = StudioUserProfile(stack, "Owner", domain=domain, user_profile_name="dave")
        StudioSpace(
            stack,
            "Space",
            domain=domain,
            owner=owner,
            space_name="models",
            instance_type=only_domain,
            tags={"aws:reserved": "x"},
        )

    message = _errors(build)
    assert f"instance_type: got {only_domain!r}" in message
    assert "STUDIO_SPACE_INSTANCE_TYPES" in message
    # The space applies the shared tag rules too.
    assert "tags['aws:reserved']" in message


@pytest.mark.parametrize("construct", ["notebook", "domain"])
def test_an_empty_security_group_list_is_rejected_by_every_construct(construct):
    def build():
        stack = new_stack()
        vpc = isolated_vpc(stack)
        if construct == "notebook":
            NotebookInstance(stack, "Notebook", vpc=vpc, security_groups=[])
        else:
            StudioDomain(stack, "Domain", vpc=vpc, security_groups=[])

    message = _errors(build)
    assert "security_groups: got '0 items'; allowed: at least one security group" in message
    assert "default security group" in message


@pytest.mark.parametrize("construct", ["notebook", "domain"])
def test_a_key_given_as_an_arn_string_is_named(construct):
    arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    def build():
        stack = new_stack()
        vpc = isolated_vpc(stack)
        if construct == "notebook":
            NotebookInstance(stack, "Notebook", vpc=vpc, encryption_key=arn)  # type: ignore[arg-type]
        else:
            StudioDomain(stack, "Domain", vpc=vpc, encryption_key=arn)  # type: ignore[arg-type]

    message = _errors(build)
    assert f"encryption_key: got {arn!r}; allowed: a kms.IKey (import an ARN with" in message


def test_an_imported_key_passes_the_key_check():
    stack = new_stack()
    key = kms.Key.from_key_arn(
        stack, "Key", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    notebook = NotebookInstance(stack, "Notebook", vpc=isolated_vpc(stack), encryption_key=key)
    assert notebook.key is key


# --- the config model calls the same functions ----------------------------------------


def test_check_app_settings_reports_without_a_construct():
    problems = Problems(None)
    check_app_settings(
        problems,
        jupyter_lab_instance_types=["ml.t3.medium", "ml.t3.medium"],
        default_jupyter_lab_instance_type="ml.m5.large",
        code_editor_instance_types=["ml.t3.medium"],
        default_code_editor_instance_type="ml.t3.medium",
        default_ebs_size_gib=50,
        max_ebs_size_gib=20,
    )
    props = [p.prop for p in problems.items]
    assert props == [
        "jupyter_lab_instance_types",
        "default_jupyter_lab_instance_type",
        "default_ebs_size_gib",
    ]
    with pytest.raises(ConstructValidationError, match="^App: 3 invalid properties"):
        problems.raise_if_any()
