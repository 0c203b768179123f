"""A team's container image as a SageMaker Studio custom image."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, Literal

from aws_cdk import Annotations, RemovalPolicy, Tags
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IConstruct

from sagemaker_constructs._compliance import acknowledge_wildcard_resource
from sagemaker_constructs._defaults import new_key
from sagemaker_constructs._validation import (
    ECR_TAG_KEY_MAX_LENGTH,
    STUDIO_TAG_VALUE_LENGTH,
    ConstructValidationError,
    Problem,
    Problems,
    is_token,
)
from sagemaker_constructs.setup.studio_setup import STUDIO_APP_TYPES

#: An ECR image tag.
IMAGE_TAG_PATTERN: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
IMAGE_TAG_ALLOWED: Final = (
    "an image tag: 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
)
#: An image in a registry, by tag or digest (``<registry>/<repository>:<tag>``).
IMAGE_URI_PATTERN: Final = re.compile(
    r"[a-z0-9.-]+(:[0-9]+)?/[a-z0-9]+([._/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
    r"|@sha256:[0-9a-f]{64})"
)
IMAGE_URI_ALLOWED: Final = (
    "<registry>/<repository>:<tag> or <registry>/<repository>@sha256:<digest>, "
    "at most 255 characters"
)
#: An ECR repository name.
REPOSITORY_NAME_PATTERN: Final = re.compile(
    r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*"
)
REPOSITORY_NAME_ALLOWED: Final = (
    "2 to 256 lower-case letters, digits and '.', '_', '-' or '/' between them"
)
DISPLAY_NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9 ._()-]{1,128}")
DISPLAY_NAME_ALLOWED: Final = "1 to 128 letters, digits, spaces and . _ ( ) -"
#: The user and group Studio runs JupyterLab and Code Editor images as; the image must
#: have them (SageMaker Distribution images do).
IMAGE_UID: Final = 1000
IMAGE_GID: Final = 100


class StudioCustomImage(Construct):
    """A container image made available to Studio apps (JupyterLab by default).

    Creates an ECR repository (scan on push, immutable tags, encrypted with a
    customer-managed key, retained), the ``AWS::SageMaker::Image`` with a least-privilege
    role SageMaker pulls with, an ``AWS::SageMaker::ImageVersion`` for ``image_tag`` (or
    ``image_uri``), and the ``AWS::SageMaker::AppImageConfig`` for the app type. Attach it
    to a ``StudioDomain`` or a ``StudioUserProfile`` (``custom_images=[...]``) and its
    kernels appear in Studio's image list.

    The image itself is built and pushed outside CDK, from an approved base image (see
    ``docs/studio.md``). An image version can only be created for a tag that exists, so a
    first deploy creates the repository without ``image_tag``; push, then set the tag.
    For JupyterLab and Code Editor images, Studio mounts the space's volume at
    ``/home/sagemaker-user`` and runs as UID 1000 / GID 100 (:data:`IMAGE_UID`,
    :data:`IMAGE_GID`), and JupyterLab lists the kernels the image has installed:
    CloudFormation's app image config for these apps has no kernel specs or file-system
    settings (those exist for Studio Classic's KernelGateway apps only).

    Attributes:
        resource: The L1 ``CfnImage``.
        version: The L1 ``CfnImageVersion``, or ``None`` without a tag or URI.
        app_image_config: The L1 ``CfnAppImageConfig``.
        image_name: The SageMaker image name (also the app image config's name).
        app_type: ``"JupyterLab"`` or ``"CodeEditor"``.
        repository: The ECR repository, or ``None`` with ``image_uri``.
        key: The key encrypting a created repository, or ``None``.
        role: The role SageMaker assumes to read the image.
        policy: The customer-managed policy of a created role, or ``None`` (a given role,
            or ``image_uri``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        image_name: str,
        image_tag: str | None = None,
        image_uri: str | None = None,
        repository: ecr.IRepository | None = None,
        repository_name: str | None = None,
        encryption_key: kms.IKey | None = None,
        app_type: Literal["JupyterLab", "CodeEditor"] = "JupyterLab",
        display_name: str | None = None,
        description: str | None = None,
        role: iam.IRole | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        activity_monitor: bool = False,
    ) -> None:
        """Create the repository, the image, its version and its app image config.

        Args:
            image_name: SageMaker image (and app image config) name, unique in the account
                and region: 1 to 63 letters, digits and hyphens.
            image_tag: Tag in the repository to make the image version from. Default: no
                version yet (the image cannot be attached until it has one).
            image_uri: A full image URI instead of a tag in this construct's repository;
                no repository is created, and the caller lets :attr:`role` pull it.
                Default: none.
            repository: An existing repository holding ``image_tag``. Default: a new one.
            repository_name: Name of a new repository. Default: ``sagemaker-studio/<image
                name>`` in lower case.
            encryption_key: Key for a new repository. Default: a new key with rotation
                enabled, retained.
            app_type: ``"JupyterLab"`` or ``"CodeEditor"``. Default: JupyterLab.
            display_name: Name shown in Studio. Default: the image name.
            description: Image description. Default: none.
            role: Role SageMaker assumes to pull the image. Default: a new role allowed to
                pull from this repository only (with ``image_uri``: no permissions; grant
                it the pull from that image's repository).
            tags: Tags for everything created. Default: none.
            removal_policy: Applied to a new repository and key. Default: retained.
            activity_monitor: The image has Studio's activity monitor, which the built-in
                idle shutdown needs: SageMaker Distribution 2.0 or later as its base, or
                ``jupyter-activity-monitor-extension`` installed. Default: ``False``:
                offered by a domain with idle shutdown, the image gets a synth warning.
        """
        super().__init__(scope, id)
        p = Problems(self)
        p.sagemaker_name("image_name", image_name)
        if not p and not is_token(image_name) and "--" in image_name:
            # AWS::SageMaker::Image ImageName: ^[a-zA-Z0-9]([-.]?[a-zA-Z0-9])*$ (and the
            # default repository name, ECR's rule as aws-cdk-lib checks it).
            p.add("image_name", image_name, "letters, digits and single hyphens between them")
        p.pattern("image_tag", image_tag, IMAGE_TAG_PATTERN, IMAGE_TAG_ALLOWED)
        p.pattern("image_uri", image_uri, IMAGE_URI_PATTERN, IMAGE_URI_ALLOWED, max_length=255)
        if image_tag is not None and image_uri is not None:
            p.add("image_tag/image_uri", "both", "a tag in the repository or a full URI, not both")
        if image_uri is not None:
            for prop, value in (
                ("repository", repository),
                ("repository_name", repository_name),
                ("encryption_key", encryption_key),
            ):
                if value is not None:
                    p.add(prop, "given with image_uri", "only for an image in a repository here")
        if repository is not None:
            for prop, value in (
                ("repository_name", repository_name),
                ("encryption_key", encryption_key),
            ):
                if value is not None:
                    p.add(prop, "given with repository", "only for a new repository")
        if repository_name is not None and not is_token(repository_name):
            if not isinstance(repository_name, str) or not 2 <= len(repository_name) <= 256:
                p.add("repository_name", repository_name, REPOSITORY_NAME_ALLOWED)
            else:
                p.pattern(
                    "repository_name",
                    repository_name,
                    REPOSITORY_NAME_PATTERN,
                    REPOSITORY_NAME_ALLOWED,
                )
        p.one_of("app_type", app_type, STUDIO_APP_TYPES, required=True)
        p.pattern("display_name", display_name, DISPLAY_NAME_PATTERN, DISPLAY_NAME_ALLOWED)
        if description is not None and not (
            isinstance(description, str) and (is_token(description) or 1 <= len(description) <= 512)
        ):
            p.add("description", description, "1 to 512 characters")
        # The Studio resources' tag limits; a created ECR repository takes shorter keys.
        p.tags(
            "tags",
            tags,
            value_length=STUDIO_TAG_VALUE_LENGTH,
            key_max_length=ECR_TAG_KEY_MAX_LENGTH
            if image_uri is None and repository is None
            else 128,
        )
        p.removal_policy(
            "removal_policy", removal_policy, "a repository and its key have no snapshots"
        )
        p.kms_key("encryption_key", encryption_key)
        p.raise_if_any()

        self.image_name: str = image_name
        self.app_type: str = app_type
        self.activity_monitor = activity_monitor
        self.key: kms.IKey | None = None
        self.repository: ecr.IRepository | None = repository
        if image_uri is None and repository is None:
            self.key = encryption_key or new_key(
                self,
                "Key",
                description=f"Encrypts the ECR repository of Studio image {image_name}",
                removal_policy=removal_policy,
            )
            self.repository = ecr.Repository(
                self,
                "Repository",
                repository_name=repository_name or f"sagemaker-studio/{image_name.lower()}",
                image_scan_on_push=True,
                image_tag_mutability=ecr.TagMutability.IMMUTABLE,
                encryption=ecr.RepositoryEncryption.KMS,
                encryption_key=self.key,
                removal_policy=removal_policy,
            )

        self.policy: iam.ManagedPolicy | None = None
        if role is None:
            created = iam.Role(
                self,
                "Role",
                assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                description=f"SageMaker reads Studio image {image_name} with this role",
            )
            # With image_uri the caller grants the pull (the image is somewhere else).
            if self.repository is not None:
                self.policy = iam.ManagedPolicy(
                    self,
                    "Policy",
                    description=f"Pull the container image of Studio image {image_name}",
                    roles=[created],
                    statements=[
                        iam.PolicyStatement(
                            sid="PullThisRepository",
                            actions=[
                                "ecr:BatchGetImage",
                                "ecr:GetDownloadUrlForLayer",
                                "ecr:BatchCheckLayerAvailability",
                                "ecr:DescribeImages",
                            ],
                            resources=[self.repository.repository_arn],
                        ),
                        iam.PolicyStatement(
                            sid="RegistryToken",
                            actions=["ecr:GetAuthorizationToken"],
                            resources=["*"],
                        ),
                    ],
                )
                acknowledge_wildcard_resource(
                    self.policy,
                    "*",
                    "ecr:GetAuthorizationToken supports no resource-level permissions; the "
                    "token only lets the role use what PullThisRepository allows, one "
                    "repository.",
                )
            role = created
        self.role: iam.IRole = role

        self.resource = sagemaker.CfnImage(
            self,
            "Resource",
            image_name=image_name,
            image_role_arn=role.role_arn,
            image_display_name=display_name,
            image_description=description,
        )
        if self.policy is not None:
            self.resource.node.add_dependency(self.policy)

        base_image = image_uri
        if image_tag is not None and self.repository is not None:
            base_image = self.repository.repository_uri_for_tag(image_tag)
        self.version: sagemaker.CfnImageVersion | None = None
        if base_image is not None:
            self.version = sagemaker.CfnImageVersion(
                self, "Version", image_name=image_name, base_image=base_image
            )
            self.version.node.add_dependency(self.resource)

        app_configs: dict[str, dict[str, Any]] = {
            "JupyterLab": {
                "jupyter_lab_app_image_config": (
                    sagemaker.CfnAppImageConfig.JupyterLabAppImageConfigProperty()
                )
            },
            "CodeEditor": {
                "code_editor_app_image_config": (
                    sagemaker.CfnAppImageConfig.CodeEditorAppImageConfigProperty()
                )
            },
        }
        app_config = app_configs[app_type]
        self.app_image_config = sagemaker.CfnAppImageConfig(
            self, "AppImageConfig", app_image_config_name=image_name, **app_config
        )
        for key, value in (tags or {}).items():
            Tags.of(self).add(key, value)

    @property
    def app_image_config_name(self) -> str:
        return self.image_name

    @property
    def image_arn(self) -> str:
        return self.resource.attr_image_arn

    def attachable(self) -> bool:
        """True when the image has a version, so a domain or user profile can list it."""
        return self.version is not None

    def attach_to(self, consumer: IConstruct) -> dict[str, str]:
        """The custom-image entry for ``consumer``'s app settings, with the dependencies.

        ``consumer`` (a domain or user profile resource) is made to depend on the image
        version and the app image config, which it names but does not reference.
        """
        if self.version is None:
            raise ConstructValidationError(
                self.node.path,
                [
                    Problem(
                        "image_tag",
                        None,
                        "a tag (or image_uri) so the image has a version a domain or user "
                        "profile can attach; check attachable first",
                    )
                ],
            )
        consumer.node.add_dependency(self.version, self.app_image_config)
        return {"image_name": self.image_name, "app_image_config_name": self.image_name}

    def grant_push(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` (e.g. a team's CI role) push images to the repository."""
        if self.repository is None:
            raise ConstructValidationError(
                self.node.path,
                [
                    Problem(
                        "image_uri",
                        "given (the image lives elsewhere, no repository here)",
                        "no image_uri, so that this construct has a repository to push to",
                    )
                ],
            )
        return self.repository.grant_pull_push(grantee)


def warn_idle_shutdown_ineffective(image: StudioCustomImage, idle_timeout_minutes: int) -> None:
    """Warn on ``image`` when idle shutdown is on but the image cannot report activity."""
    if image.activity_monitor:
        return
    Annotations.of(image).add_warning_v2(
        "sagemaker-constructs:image-without-activity-monitor",
        f"Image {image.image_name} does not declare activity_monitor=True: the domain's idle "
        f"shutdown ({idle_timeout_minutes} min) never stops its apps. Base it on SageMaker "
        "Distribution 2.0 or later, or install jupyter-activity-monitor-extension, then "
        "pass activity_monitor=True (docs/studio.md).",
    )
