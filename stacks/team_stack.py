"""One stack per team: its key, data bucket, notebooks and their roles."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

import lifecycle_scripts
from sagemaker_constructs import (
    LifecycleScript,
    NotebookInstance,
    NotebookLifecycleConfig,
    NotebookNetwork,
)
from sagemaker_constructs._compliance import acknowledge_wildcard_resource
from sagemaker_constructs._defaults import new_key

from .config import PackageMirrorSettings, Team


class TeamStack(Stack):
    """A team's notebooks (one per member), KMS key, data bucket and roles.

    A team's roles can use only its own bucket and key: nothing here names another
    team's resources.

    Attributes:
        key: The team's KMS key (bucket and notebook volumes).
        bucket: The team's data bucket.
        data_policy: Customer-managed policy giving read/write on the bucket and use of
            the key; attached to every notebook role of the team.
        notebooks: The team's notebooks, by user.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        team: Team,
        network: NotebookNetwork,
        package_mirror: PackageMirrorSettings | None = None,
        access_logs_bucket: s3.IBucket,
        prefix: str,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        Tags.of(self).add("team", team.name)
        if team.cost_center:
            Tags.of(self).add("cost-center", team.cost_center)

        self.key = new_key(
            self,
            "Key",
            description=f"Encrypts team {team.name}'s data and notebook volumes",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.key.add_alias(f"alias/{prefix}/{team.name}")

        self.bucket = s3.Bucket(
            self,
            "DataBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix=f"{team.name}/",
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.data_policy = iam.ManagedPolicy(
            self,
            "DataAccessPolicy",
            description=f"Read/write team {team.name}'s data bucket and use its key",
            statements=[
                iam.PolicyStatement(
                    sid="ListTeamBucket",
                    actions=["s3:ListBucket", "s3:GetBucketLocation"],
                    resources=[self.bucket.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="ReadWriteTeamObjects",
                    actions=[
                        "s3:GetObject",
                        "s3:PutObject",
                        "s3:DeleteObject",
                        "s3:AbortMultipartUpload",
                    ],
                    resources=[self.bucket.arn_for_objects("*")],
                ),
                iam.PolicyStatement(
                    sid="UseTeamKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    resources=[self.key.key_arn],
                ),
            ],
        )

        acknowledge_wildcard_resource(
            self.data_policy,
            self.bucket.arn_for_objects("*"),
            "Object-level actions on every object of this team's own data bucket, which "
            "exists to hold the team's notebook data; no other bucket is named.",
        )

        if team.setup is not None:
            scripts = {"setup": team.setup.notebook_setup(package_mirror)}
        else:
            scripts = {
                "on_start": LifecycleScript.from_text(lifecycle_scripts.read("register_kernels.sh"))
            }
        self.lifecycle_config = NotebookLifecycleConfig(
            self,
            "LifecycleConfig",
            lifecycle_config_name=f"{prefix}-{team.name}",
            **scripts,
        )

        subnets = network.notebook_subnets().subnets
        self.notebooks: dict[str, NotebookInstance] = {}
        for index, nb in enumerate(team.notebooks):
            settings = team.resolved(nb)
            notebook = NotebookInstance(
                self,
                f"Notebook-{nb.user}",
                notebook_instance_name=team.notebook_name(nb),
                vpc=network.vpc,
                # Spread the team across Availability Zones.
                vpc_subnets=ec2.SubnetSelection(subnets=[subnets[index % len(subnets)]]),
                security_groups=[network.notebook_security_group],
                instance_type=settings.instance_type,
                volume_size_gib=settings.volume_size_gib,
                platform_identifier=settings.platform_identifier,
                encryption_key=self.key,
                lifecycle_config=self.lifecycle_config,
                tags={"owner": nb.user},
            )
            assert notebook.policy is not None
            self.data_policy.attach_to_role(notebook.role)
            self.notebooks[nb.user] = notebook
