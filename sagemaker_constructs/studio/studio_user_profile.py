"""One person's SageMaker Studio user profile."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import jsii
from aws_cdk import Annotations, RemovalPolicy, Resource, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sagemaker_constructs._validation import STUDIO_TAG_VALUE_LENGTH, Problems
from sagemaker_constructs.studio.studio_custom_image import StudioCustomImage
from sagemaker_constructs.studio.studio_domain import (
    IStudioDomain,
    StudioDomain,
    _check_images,
    _ImportedStudioDomain,
)

#: ``UserProfileName`` as the service checks it (cfn-lint schema of
#: AWS::SageMaker::UserProfile): ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`` and at most 63
#: characters; the repetition is unbounded here so that a long name gets a length message.
USER_PROFILE_NAME_PATTERN: Final = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
USER_PROFILE_NAME_MAX_LENGTH: Final = 63
USER_PROFILE_NAME_ALLOWED: Final = (
    f"1 to {USER_PROFILE_NAME_MAX_LENGTH} letters, digits and hyphens, starting and ending "
    "with a letter or digit (no '_' or '.')"
)


@jsii.implements(iam.IGrantable)
class StudioUserProfile(Resource):
    """A Studio user profile for one person, with an execution role (e.g. their team's).

    Profiles are 1:1 with people: a name is used once per domain (checked across every
    profile of the domain in the app). Names follow the service's pattern. The profile
    carries the given tags (e.g. the team), which Studio propagates to the person's spaces
    and apps. With ``custom_images`` the profile's app settings list them after the
    domain's, and repeat the domain's default instance type and lifecycle configuration,
    so that they hold whether the service merges a profile's app settings with the
    domain's or replaces them.

    The profile is retained when it is removed from the stack or replaced: AWS's
    DeleteUserProfile documentation says that a deleted profile's user loses access to
    their EFS volume with its data. Removing a person from the app ends their access all
    the same (their IAM policies go) and leaves the profile and their home in place for
    ``sagemaker-retire-studio-user`` (docs/studio.md, "Retiring a person") to copy to
    the team bucket before it deletes them.

    Attributes:
        resource: The L1 ``CfnUserProfile``.
        user_profile_name: The profile's name.
        user_profile_arn: The profile's ARN.
        domain: The domain.
        role: The execution role.
        grant_principal: The execution role (``iam.IGrantable``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain: IStudioDomain,
        user_profile_name: str,
        execution_role: iam.IRole | None = None,
        custom_images: Sequence[StudioCustomImage] = (),
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """Create the user profile.

        Args:
            domain: The Studio domain.
            user_profile_name: The person's profile name: 1 to 63 letters, digits and
                hyphens, unique in the domain.
            execution_role: Role the person's apps run with, configured for the domain
                (``StudioDomain.configure_execution_role``). Default: the domain's.
            custom_images: Images offered to this person besides the domain's (each must
                have a version). Default: none.
            tags: Tags for the profile. Default: none.
            removal_policy: What CloudFormation does with the profile when it leaves the
                stack or is replaced. Default: ``RETAIN``, the profile (and the person's
                home) stays. Anything else deletes it (a warning at synth).
        """
        super().__init__(scope, id)
        p = Problems(self)
        p.pattern(
            "user_profile_name",
            user_profile_name,
            USER_PROFILE_NAME_PATTERN,
            USER_PROFILE_NAME_ALLOWED,
            max_length=USER_PROFILE_NAME_MAX_LENGTH,
        )
        if not p:
            other = (
                domain._register_user_profile(user_profile_name, self.node.path)
                if isinstance(domain, StudioDomain | _ImportedStudioDomain)
                else None
            )
            if other is not None:
                p.add(
                    "user_profile_name",
                    user_profile_name,
                    f"a name no other profile of domain {domain.domain_name} has "
                    f"(one profile per person; {other} has it)",
                )
        _check_images(p, "custom_images", custom_images, domain.custom_images)
        # The shared AWS tag rules, with the Studio resources' limits (values 1 to 128).
        p.tags("tags", tags, value_length=STUDIO_TAG_VALUE_LENGTH)
        p.raise_if_any()

        self.domain = domain
        default_role = getattr(domain, "role", None)
        role = execution_role or default_role
        self.role: iam.IRole | None = role
        images = tuple(custom_images)

        def app_settings(app_type: str) -> Any:
            if not any(i.app_type == app_type for i in images):
                return None
            if isinstance(domain, StudioDomain):
                return domain._app_settings(sagemaker.CfnUserProfile, app_type, images)
            # An imported domain's defaults are unknown: only the profile's own images.
            settings_class = (
                sagemaker.CfnUserProfile.JupyterLabAppSettingsProperty
                if app_type == "JupyterLab"
                else sagemaker.CfnUserProfile.CodeEditorAppSettingsProperty
            )
            return settings_class(
                custom_images=[
                    sagemaker.CfnUserProfile.CustomImageProperty(
                        app_image_config_name=i.app_image_config_name, image_name=i.image_name
                    )
                    for i in images
                    if i.app_type == app_type
                ]
            )

        settings = sagemaker.CfnUserProfile.UserSettingsProperty(
            execution_role=role.role_arn if role is not None else None,
            jupyter_lab_app_settings=app_settings("JupyterLab"),
            code_editor_app_settings=app_settings("CodeEditor"),
        )
        self.resource = sagemaker.CfnUserProfile(
            self,
            "Resource",
            domain_id=domain.domain_id,
            user_profile_name=user_profile_name,
            user_settings=settings,
        )
        self.resource.apply_removal_policy(removal_policy)
        if removal_policy != RemovalPolicy.RETAIN:
            Annotations.of(self).add_warning_v2(
                "sagemaker-constructs:studio-profile-deleted",
                "removal_policy is not RETAIN: removing the profile from the stack deletes "
                "it, and its user loses access to their home on the domain's EFS volume.",
            )
        for image in images:
            image.attach_to(self.resource)
        if images:
            # The repeated defaults name the domain's lifecycle configurations by ARN.
            for lc in getattr(domain, "lifecycle_configs", {}).values():
                self.resource.node.add_dependency(lc)
        for key, value in (tags or {}).items():
            Tags.of(self).add(key, value)
        self.user_profile_name: str = user_profile_name
        self.user_profile_arn: str = self.resource.attr_user_profile_arn

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The execution role (``iam.IGrantable``).

        Unknown for a profile of an imported domain given no ``execution_role`` (nor
        ``execution_role`` in the importer): then an error.
        """
        if self.role is None:
            p = Problems(self)
            p.add(
                "execution_role",
                None,
                "a role, to grant to a profile of an imported domain whose role is unknown",
            )
            p.raise_if_any()
            raise AssertionError("unreachable")  # raise_if_any raised
        return self.role

    def grant_presigned_url(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` (the person's IAM identity) open Studio as this profile."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:CreatePresignedDomainUrl"],
            resource_arns=[self.user_profile_arn],
        )
