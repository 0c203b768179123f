"""StudioCustomImage: the repository, the image and its version, the app image config."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from sagemaker_constructs import ConstructValidationError, StudioCustomImage
from tests.conftest import new_stack


@pytest.fixture(scope="module")
def image() -> tuple[cdk.Stack, StudioCustomImage, Template]:
    stack = new_stack()
    img = StudioCustomImage(
        stack,
        "Image",
        image_name="forecasting-prophet",
        image_tag="2025.06.1",
        display_name="Forecasting (Prophet)",
    )
    return stack, img, Template.from_stack(stack)


def test_repository_scans_on_push_has_immutable_tags_and_a_customer_managed_key(image):
    _, _, t = image
    t.has_resource(
        "AWS::ECR::Repository",
        {
            "Properties": {
                "RepositoryName": "sagemaker-studio/forecasting-prophet",
                "ImageScanningConfiguration": {"ScanOnPush": True},
                "ImageTagMutability": "IMMUTABLE",
                "EncryptionConfiguration": {
                    "EncryptionType": "KMS",
                    "KmsKey": {"Fn::GetAtt": [Match.string_like_regexp("^ImageKey"), "Arn"]},
                },
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    t.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_image_version_and_app_image_config(image):
    stack, img, t = image
    t.has_resource_properties(
        "AWS::SageMaker::Image",
        {
            "ImageName": "forecasting-prophet",
            "ImageDisplayName": "Forecasting (Prophet)",
            "ImageRoleArn": {"Fn::GetAtt": [Match.string_like_regexp("^ImageRole"), "Arn"]},
        },
    )
    (version,) = t.find_resources("AWS::SageMaker::ImageVersion").values()
    assert version["Properties"]["ImageName"] == "forecasting-prophet"
    base = json.dumps(version["Properties"]["BaseImage"])
    assert "dkr.ecr" in base and ":2025.06.1" in base
    assert stack.resolve(img.resource.logical_id) in version["DependsOn"]
    t.has_resource_properties(
        "AWS::SageMaker::AppImageConfig",
        {"AppImageConfigName": "forecasting-prophet", "JupyterLabAppImageConfig": {}},
    )
    assert img.attachable() and img.app_image_config_name == "forecasting-prophet"


def test_pull_role_is_least_privilege(image):
    stack, img, t = image
    (role,) = t.find_resources("AWS::IAM::Role").values()
    assert "ManagedPolicyArns" not in role["Properties"]
    (policy,) = t.find_resources("AWS::IAM::ManagedPolicy").values()
    by_sid = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert by_sid["PullThisRepository"]["Resource"] == stack.resolve(img.repository.repository_arn)
    assert all(
        a.startswith("ecr:") and "*" not in a for s in by_sid.values() for a in _list(s["Action"])
    )
    assert by_sid["RegistryToken"]["Action"] == "ecr:GetAuthorizationToken"
    t.resource_count_is("AWS::IAM::Policy", 0)


def test_without_a_tag_there_is_no_version_yet():
    stack = new_stack()
    img = StudioCustomImage(stack, "Image", image_name="first-deploy")
    t = Template.from_stack(stack)
    t.resource_count_is("AWS::ECR::Repository", 1)
    t.resource_count_is("AWS::SageMaker::ImageVersion", 0)
    assert not img.attachable()


def test_image_uri_uses_no_repository_of_its_own():
    stack = new_stack()
    uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/approved/base@sha256:" + "a" * 64
    img = StudioCustomImage(stack, "Image", image_name="approved", image_uri=uri)
    t = Template.from_stack(stack)
    t.resource_count_is("AWS::ECR::Repository", 0)
    t.resource_count_is("AWS::KMS::Key", 0)
    t.resource_count_is("AWS::IAM::ManagedPolicy", 0)  # the caller grants the pull
    t.has_resource_properties("AWS::SageMaker::ImageVersion", {"BaseImage": uri})
    assert img.repository is None and img.key is None and img.policy is None


def test_code_editor_images_and_given_repository_role_and_key():
    stack = new_stack()
    repo = ecr.Repository(stack, "Existing", image_tag_mutability=ecr.TagMutability.IMMUTABLE)
    role = iam.Role(stack, "Given", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    img = StudioCustomImage(
        stack,
        "Image",
        image_name="editor",
        image_tag="1.0",
        repository=repo,
        app_type="CodeEditor",
        role=role,
    )
    t = Template.from_stack(stack)
    t.resource_count_is("AWS::ECR::Repository", 1)
    t.resource_count_is("AWS::IAM::ManagedPolicy", 0)
    t.has_resource_properties(
        "AWS::SageMaker::AppImageConfig",
        {"AppImageConfigName": "editor", "CodeEditorAppImageConfig": {}},
    )
    assert img.role is role and img.app_type == "CodeEditor"


def test_grant_push_for_a_build_pipeline():
    stack = new_stack()
    img = StudioCustomImage(stack, "Image", image_name="built", encryption_key=kms.Key(stack, "K"))
    ci = iam.Role(stack, "Ci", assumed_by=iam.AccountRootPrincipal())
    img.grant_push(ci)
    text = json.dumps(Template.from_stack(stack).find_resources("AWS::IAM::Policy"))
    assert "ecr:PutImage" in text


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"image_name": "team_image"}, r"image_name: got 'team_image'; allowed: 1 to 63 letters"),
        ({"image_name": "x" * 64}, r"image_name: got 'x+'; allowed: at most 63 characters"),
        ({"image_tag": "-bad"}, r"image_tag: got '-bad'; allowed: an image tag"),
        (
            {"image_tag": "1.0", "image_uri": "registry.example.com/base:1.0"},
            r"image_tag/image_uri: got 'both'; allowed: a tag in the repository or a full URI",
        ),
        ({"image_uri": "not a uri"}, r"image_uri: got 'not a uri'; allowed: <registry>/"),
        (
            {"image_uri": "registry.example.com/base:1.0", "repository_name": "x/y"},
            r"repository_name: got 'given with image_uri'",
        ),
        ({"repository_name": "Team/Image"}, r"repository_name: got 'Team/Image'; allowed: 2 to"),
        ({"app_type": "KernelGateway"}, r"app_type: got 'KernelGateway'; allowed: one of"),
        ({"display_name": "a|b"}, r"display_name: got 'a\|b'; allowed: 1 to 128 letters"),
    ],
)
def test_each_invalid_prop_is_named(props, message):
    props = {"image_name": "valid", **props}
    with pytest.raises(ConstructValidationError, match=message):
        StudioCustomImage(new_stack(), "Image", **props)


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_attaching_an_image_without_a_version_is_a_validation_error():
    stack = new_stack()
    img = StudioCustomImage(stack, "Image", image_name="first-deploy")
    assert not img.attachable()
    consumer = cdk.CfnResource(stack, "Consumer", type="AWS::SageMaker::UserProfile")
    with pytest.raises(ConstructValidationError, match=r"image_tag: got None; allowed: a tag"):
        img.attach_to(consumer)
    # Nothing was recorded on the consumer.
    assert consumer.node.dependencies == []


def test_grant_push_without_a_repository_is_a_validation_error():
    stack = new_stack()
    uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/approved/base@sha256:" + "a" * 64
    img = StudioCustomImage(stack, "Image", image_name="approved", image_uri=uri)
    ci = iam.Role(stack, "Ci", assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"))
    with pytest.raises(ConstructValidationError, match=r"image_uri: got 'given .*no image_uri"):
        img.grant_push(ci)
