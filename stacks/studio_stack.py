"""The platform's SageMaker Studio domain, in the platform's network."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from sagemaker_constructs import NotebookNetwork, StudioDomain, StudioLifecycleConfig
from sagemaker_constructs.studio.studio_domain import STUDIO_LOG_GROUP_NAME

from .config import PackageMirrorSettings, StudioSettings
from .platform_stack import _RETENTION


class StudioStack(Stack):
    """One Studio domain per platform, VPC only, shared by the teams' user profiles.

    The domain has a stack of its own: it depends on the platform stack (network, log
    key) and the team stacks depend on it (their user profiles name the domain, their
    execution roles' permissions its ID and key); nothing here names a team, so no
    reference goes the other way. The domain is retained on delete, with its home file
    system.

    Attributes:
        domain: The Studio domain.
        log_group: ``/aws/sagemaker/studio``, encrypted, with retention.
        lifecycle_configs: The apps' default lifecycle configurations by app type (empty
            without a ``setup``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: StudioSettings,
        network: NotebookNetwork,
        log_key: kms.IKey,
        log_retention_days: int,
        prefix: str,
        package_mirror: PackageMirrorSettings | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        assert network.studio_security_group is not None, "NotebookNetwork(studio=True)"
        self.log_group = logs.LogGroup(
            self,
            "StudioLogGroup",
            log_group_name=STUDIO_LOG_GROUP_NAME,
            encryption_key=log_key,
            retention=_RETENTION[log_retention_days],
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.lifecycle_configs: dict[str, StudioLifecycleConfig] = {}
        if settings.setup is not None:
            setup = settings.setup.studio_setup(package_mirror)
            for app_type in ("JupyterLab", "CodeEditor"):
                self.lifecycle_configs[app_type] = StudioLifecycleConfig(
                    self,
                    f"{app_type}LifecycleConfig",
                    app_type=app_type,
                    setup=setup,
                    name_prefix=f"{prefix}-{app_type.lower()}",
                )

        self.domain = StudioDomain(
            self,
            "Domain",
            domain_name=f"{prefix}-studio",
            # The example app exports the domain's ID and URL.
            create_outputs=True,
            vpc=network.vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=network.notebook_subnets().subnets),
            security_groups=[network.studio_security_group],
            jupyter_lab_instance_types=settings.jupyter_lab_instance_types,
            default_jupyter_lab_instance_type=settings.default_jupyter_lab_instance_type,
            code_editor_instance_types=settings.code_editor_instance_types,
            default_code_editor_instance_type=settings.default_code_editor_instance_type,
            default_ebs_size_gib=settings.default_ebs_size_gib,
            max_ebs_size_gib=settings.max_ebs_size_gib,
            idle_timeout_minutes=settings.idle_timeout_minutes,
            jupyter_lab_lifecycle_config=self.lifecycle_configs.get("JupyterLab"),
            code_editor_lifecycle_config=self.lifecycle_configs.get("CodeEditor"),
            allow_public_internet=settings.allow_public_internet,
            portal_settings=settings.portal.settings() if settings.portal else None,
        )
        # Apps write to the log group from their first start; were it missing, CloudWatch
        # Logs would create it unencrypted and without retention, and this stack's own
        # would then fail to create.
        self.domain.node.add_dependency(self.log_group)
