"""StudioDomain portal settings: hidden apps, tools and instance types."""

from __future__ import annotations

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from sagemaker_constructs import ConstructValidationError, StudioPortalSettings
from tests.test_studio_domain import make


def user_settings(domain) -> dict:
    (resource,) = (
        Template.from_stack(Stack.of(domain)).find_resources("AWS::SageMaker::Domain").values()
    )
    return resource["Properties"]["DefaultUserSettings"]


def test_recommended_settings_hide_classic_and_unmanaged_tools_and_land_in_new_studio():
    domain = make(portal_settings=StudioPortalSettings(hidden_instance_types=["ml.m5.4xlarge"]))
    settings = user_settings(domain)
    assert settings["DefaultLandingUri"] == "studio::"
    assert settings["StudioWebPortal"] == "ENABLED"
    portal = settings["StudioWebPortalSettings"]
    assert "JupyterServer" in portal["HiddenAppTypes"]  # Studio Classic
    assert "JupyterLab" not in portal["HiddenAppTypes"]
    assert {"EmrClusters", "JumpStart"} <= set(portal["HiddenMlTools"])
    assert portal["HiddenInstanceTypes"] == ["ml.m5.4xlarge"]


def test_without_portal_settings_nothing_is_hidden():
    assert "StudioWebPortalSettings" not in user_settings(make())


def test_bad_portal_values_are_one_error_listing_each():
    with pytest.raises(ConstructValidationError) as err:
        make(
            portal_settings=StudioPortalSettings(
                hidden_app_types=["KernelGateway"],
                hidden_ml_tools=["Notebooks", "AutoMl", "AutoMl"],
                hidden_instance_types=["m5.large", "ml.t3.medium"],
            )
        )
    text = str(err.value)
    # KernelGateway is in the SageMaker API but not in the CloudFormation schema.
    assert "portal_settings.hidden_app_types[0]: got 'KernelGateway'" in text
    assert "portal_settings.hidden_ml_tools[0]: got 'Notebooks'" in text
    assert (
        "portal_settings.hidden_ml_tools: got ['Notebooks', 'AutoMl', 'AutoMl']; allowed: each value once"
        in text
    )
    assert "portal_settings.hidden_instance_types[0]: got 'm5.large'" in text
    # ml.t3.medium is the default instance type: hiding it would hide the default.
    assert "default instance type ml.t3.medium" in text
    assert "5 invalid properties" in text


def test_example_studio_hides_what_the_config_says(example):
    template = example.template_json("sagemaker-studio")
    (domain,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Domain"]
    portal = domain["Properties"]["DefaultUserSettings"]["StudioWebPortalSettings"]
    assert portal["HiddenInstanceTypes"] == ["ml.g5.xlarge"]
    assert "Canvas" in portal["HiddenAppTypes"]
