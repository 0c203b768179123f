"""A Studio space: shared by a team (or private to its owner), retained on delete."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Literal

from aws_cdk import Annotations, CfnTag, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sagemaker_constructs._compliance import acknowledge_wildcard_resource
from sagemaker_constructs._validation import STUDIO_TAG_VALUE_LENGTH, Problems
from sagemaker_constructs.studio.studio_domain import StudioDomain
from sagemaker_constructs.studio.studio_user_profile import StudioUserProfile

# AWS::SageMaker::Space SpaceName: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sagemaker-space.html)
SPACE_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
SPACE_NAME_ALLOWED = (
    "1 to 63 letters, digits and hyphens, starting and ending with a letter or digit"
)
APP_TYPES = ("JupyterLab", "CodeEditor")
SHARING_TYPES = ("Shared", "Private")


class StudioSpace(Construct):
    """An ``AWS::SageMaker::Space`` in a domain, owned by one user profile.

    By default the space is shared (``SpaceSharingSettings`` ``Shared``): every profile
    of the domain whose execution role is granted :meth:`grant_use` can open its app and
    work on the same files. The instance type must be one the domain allows for the app
    type, and the volume at most the domain's maximum. The space holds people's work on
    its EBS volume, so by default it is retained when it leaves the stack or is replaced.

    Attributes:
        resource: The ``AWS::SageMaker::Space``.
        space_name: Its name.
        space_arn: Its ARN.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain: StudioDomain,
        space_name: str,
        owner: StudioUserProfile,
        sharing: Literal["Shared", "Private"] = "Shared",
        app_type: Literal["JupyterLab", "CodeEditor"] = "JupyterLab",
        instance_type: str | None = None,
        ebs_size_gib: int | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """Create the space.

        Args:
            domain: The domain the space is in.
            space_name: Name of the space, unique in the domain.
            owner: The profile that owns it (the only one that may use a private space).
            sharing: ``Shared`` or ``Private``. Default: ``Shared``.
            app_type: ``JupyterLab`` or ``CodeEditor``. Default: ``JupyterLab``.
            instance_type: Default instance type of the space's app; one the domain allows
                for ``app_type``. Default: the domain's default.
            ebs_size_gib: Volume size, 5 GiB up to the domain's maximum. Default: the
                domain's default.
            tags: Tags of the space. Default: none.
            removal_policy: What CloudFormation does with the space when it leaves the
                stack or is replaced. Default: ``RETAIN``, the space and its volume stay.
                Anything else deletes the volume with its files (a warning at synth).
        """
        super().__init__(scope, id)
        problems = Problems(self)
        problems.pattern(
            "space_name", space_name, SPACE_NAME_PATTERN, SPACE_NAME_ALLOWED, required=True
        )
        name_ok = not problems
        problems.one_of("sharing", sharing, SHARING_TYPES, required=True)
        problems.one_of("app_type", app_type, APP_TYPES, required=True)
        allowed = (
            domain.jupyter_lab_instance_types
            if app_type == "JupyterLab"
            else domain.code_editor_instance_types
        )
        if instance_type is not None and app_type in APP_TYPES:
            before = len(problems.items)
            problems.instance_type("instance_type", instance_type, "space")
            if len(problems.items) == before:
                problems.one_of("instance_type", instance_type, allowed)
        problems.integer_range("ebs_size_gib", ebs_size_gib, 5, domain.max_ebs_size_gib)
        if name_ok:
            other = domain._register_space(space_name, self.node.path)
            if other is not None:
                problems.add(
                    "space_name",
                    space_name,
                    f"a name no other space of domain {domain.domain_name} has ({other} has it)",
                )
        # The shared AWS tag rules, with the Studio resources' limits (values 1 to 128).
        problems.tags("tags", tags, value_length=STUDIO_TAG_VALUE_LENGTH)
        problems.raise_if_any()

        resource_spec = (
            sagemaker.CfnSpace.ResourceSpecProperty(instance_type=instance_type)
            if instance_type
            else None
        )
        settings = sagemaker.CfnSpace.SpaceSettingsProperty(
            app_type=app_type,
            jupyter_lab_app_settings=sagemaker.CfnSpace.SpaceJupyterLabAppSettingsProperty(
                default_resource_spec=resource_spec
            )
            if app_type == "JupyterLab" and resource_spec
            else None,
            code_editor_app_settings=sagemaker.CfnSpace.SpaceCodeEditorAppSettingsProperty(
                default_resource_spec=resource_spec
            )
            if app_type == "CodeEditor" and resource_spec
            else None,
            space_storage_settings=sagemaker.CfnSpace.SpaceStorageSettingsProperty(
                ebs_storage_settings=sagemaker.CfnSpace.EbsStorageSettingsProperty(
                    ebs_volume_size_in_gb=ebs_size_gib
                )
            )
            if ebs_size_gib
            else None,
        )
        self.resource = sagemaker.CfnSpace(
            self,
            "Resource",
            domain_id=domain.domain_id,
            space_name=space_name,
            ownership_settings=sagemaker.CfnSpace.OwnershipSettingsProperty(
                owner_user_profile_name=owner.user_profile_name
            ),
            space_sharing_settings=sagemaker.CfnSpace.SpaceSharingSettingsProperty(
                sharing_type=sharing
            ),
            space_settings=settings,
            tags=[CfnTag(key=k, value=v) for k, v in (tags or {}).items()] or None,
        )
        self.resource.node.add_dependency(owner)
        self.resource.apply_removal_policy(removal_policy)
        if removal_policy != RemovalPolicy.RETAIN:
            Annotations.of(self).add_warning_v2(
                "sagemaker-constructs:studio-space-deleted",
                "removal_policy is not RETAIN: removing the space from the stack deletes it "
                "with its EBS volume and the files on it.",
            )
        self.space_name = space_name
        self._domain = domain
        stack = Stack.of(self)
        self.space_arn: str = stack.format_arn(
            service="sagemaker", resource="space", resource_name=f"{domain.domain_id}/{space_name}"
        )
        # Grants name the space without the domain ID: the ID is another stack's output,
        # and a wildcard acknowledgement must match the ARN as written. Space names are
        # unique per domain; this account and Region's domains are the platform's.
        self._grant_space_arn = stack.format_arn(
            service="sagemaker", resource="space", resource_name=f"*/{space_name}"
        )
        self._apps_arn = stack.format_arn(
            service="sagemaker", resource="app", resource_name=f"*/{space_name}/*"
        )

    def _sid_suffix(self) -> str:
        """The space name as statement IDs can hold it, distinct for distinct names.

        ``forecasting-models`` gives ``ForecastingModels``; that reading is ambiguous for
        other names (``a1b`` and ``a1-b`` both give ``A1B``), which then end with ``0`` and a
        digest of the name (a digit never occurs in the readable form).
        """
        readable = self.space_name.title().replace("-", "")
        if re.fullmatch(r"[a-z]+(-[a-z]+)*", self.space_name):
            return readable
        return readable + "0" + hashlib.sha256(self.space_name.encode()).hexdigest()[:8]

    def grant_use(self, policy: iam.ManagedPolicy) -> None:
        """Let the roles of ``policy`` open this space: describe it, run and stop its apps."""
        policy.add_statements(
            iam.PolicyStatement(
                sid=f"UseSpace{self._sid_suffix()}",
                actions=["sagemaker:DescribeSpace", "sagemaker:UpdateSpace"],
                resources=[self._grant_space_arn],
            ),
            iam.PolicyStatement(
                sid=f"AppsOfSpace{self._sid_suffix()}",
                actions=["sagemaker:CreateApp", "sagemaker:DeleteApp", "sagemaker:DescribeApp"],
                resources=[self._apps_arn],
                conditions={
                    "ForAllValues:StringEquals": {
                        "sagemaker:InstanceTypes": sorted(
                            {
                                *self._domain.jupyter_lab_instance_types,
                                *self._domain.code_editor_instance_types,
                            }
                        )
                    }
                },
            ),
        )
        acknowledge_wildcard_resource(
            policy,
            self._grant_space_arn,
            f"Space {self.space_name} only, in whichever of this account and Region's "
            "domains holds it (the platform's one domain).",
        )
        acknowledge_wildcard_resource(
            policy,
            self._apps_arn,
            f"Apps of space {self.space_name} only (app names are chosen at run time), on "
            "the domain's allowed instance types.",
        )
