"""Resources shared by every team: network, shared key, notebook log group, access logs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sagemaker_constructs import (
    NOTEBOOK_LOG_GROUP_NAME,
    CondaChannel,
    NotebookNetwork,
    PackageMirror,
    allow_cloudwatch_logs,
    new_key,
)
from sagemaker_constructs.governance import acknowledge, skip_checkov

from .config import RETENTION_DAYS, PlatformSettings

# RetentionDays lists the same periods in the same order, then INFINITE.
_RETENTION = dict(zip(RETENTION_DAYS, logs.RetentionDays, strict=False))


class PlatformStack(Stack):
    """One per account and region: what every team stack builds on.

    Attributes:
        network: The notebook network (VPC, endpoints, flow logs); with ``studio`` set,
            also the Studio endpoint and the Studio apps' security group.
        key: Shared KMS key for the platform's log groups.
        notebook_log_group: ``/aws/sagemaker/NotebookInstances``, encrypted, with retention.
        access_logs_bucket: Receives S3 server access logs of the team buckets.
        package_mirror: The CodeArtifact PyPI mirror, with ``platform.package_mirror``.
        conda_channel: The S3 conda channel, with ``platform.conda_channel``.
    """

    def __init__(self, scope: Construct, id: str, *, settings: PlatformSettings, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        retention = _RETENTION[settings.log_retention_days]

        self.key = new_key(
            self,
            "SharedKey",
            description="Encrypts the SageMaker platform's log groups",
            removal_policy=RemovalPolicy.RETAIN,
        )
        allow_cloudwatch_logs(self.key)

        net = settings.network
        if net.existing_vpc is not None:
            ev = net.existing_vpc
            routed = ev.allow_internet_routed_subnets
            vpc = ec2.Vpc.from_vpc_attributes(
                self,
                "ExistingVpc",
                vpc_id=ev.vpc_id,
                availability_zones=ev.availability_zones,
                # Declared routed subnets are imported as private (egress) subnets, so
                # NotebookNetwork sees the internet route the config admits to.
                private_subnet_ids=ev.subnet_ids if routed else None,
                private_subnet_route_table_ids=(ev.route_table_ids or None) if routed else None,
                isolated_subnet_ids=None if routed else ev.subnet_ids,
                isolated_subnet_route_table_ids=None if routed else (ev.route_table_ids or None),
            )
            self.network = NotebookNetwork(
                self,
                "Network",
                vpc=vpc,
                vpc_subnets=ec2.SubnetSelection(subnets=vpc.private_subnets) if routed else None,
                allow_internet_routed_subnets=routed,
                existing_endpoints=ev.existing_endpoints,
                s3_prefix_list_id=net.s3_prefix_list_id,
                organization_id=net.organization_id,
                flow_logs=not ev.has_flow_logs,
                flow_log_retention=retention,
                encryption_key=self.key,
                studio=settings.studio is not None,
            )
        else:
            self.network = NotebookNetwork(
                self,
                "Network",
                ip_addresses=ec2.IpAddresses.cidr(net.cidr),
                max_azs=net.max_azs,
                s3_prefix_list_id=net.s3_prefix_list_id,
                organization_id=net.organization_id,
                flow_log_retention=retention,
                encryption_key=self.key,
                studio=settings.studio is not None,
            )

        self.package_mirror: PackageMirror | None = None
        if settings.package_mirror is not None:
            self.package_mirror = PackageMirror(
                self,
                "PackageMirror",
                domain_name=settings.package_mirror.domain,
                repository_name=settings.package_mirror.repository,
                network=self.network,
                encryption_key=self.key,
            )

        self.notebook_log_group = logs.LogGroup(
            self,
            "NotebookLogGroup",
            log_group_name=NOTEBOOK_LOG_GROUP_NAME,
            encryption_key=self.key,
            retention=retention,
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            # S3 server access logging delivers only to buckets with S3-managed keys.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(settings.log_retention_days),
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
        )
        skip_checkov(
            self.access_logs_bucket.node.default_child,  # type: ignore[arg-type]
            {
                "CKV_AWS_18": "The destination of the buckets' access logs; logging it "
                "into itself would loop."
            },
        )
        # Team buckets live in other stacks; naming them here would make this stack depend
        # on theirs. The logging service is allowed for this account's buckets instead.
        self.access_logs_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="S3ServerAccessLogsFromThisAccount",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.access_logs_bucket.arn_for_objects("*")],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        # cdk-nag counts a bucket that receives another's access logs in the same stack as
        # logged: with the conda channel's bucket here, the logging rules have no finding.
        logs_from_this_stack = settings.conda_channel is not None
        for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"):
            if not logs_from_this_stack:
                acknowledge(
                    self.access_logs_bucket,
                    f"{pack}-S3BucketLoggingEnabled",
                    "This bucket is the destination of the team buckets' server access logs; "
                    "logging it into itself would loop.",
                )
            acknowledge(
                self.access_logs_bucket,
                f"{pack}-S3DefaultEncryptionKMS",
                "S3 server access logging delivers only to buckets encrypted with S3-managed "
                "keys (SSE-S3); SSE-KMS is not supported for the log destination.",
            )
            acknowledge(
                self.access_logs_bucket,
                f"{pack}-S3BucketReplicationEnabled",
                "Access logs are kept for the log retention period with versioning and "
                "DeletionPolicy Retain; replicating them needs a destination bucket the "
                "organisation's backup design owns (see docs/SECURITY.md).",
            )
        if not logs_from_this_stack:
            acknowledge(
                self.access_logs_bucket,
                "AwsSolutions-S1",
                "This bucket is the destination of the team buckets' server access logs; "
                "logging it into itself would loop.",
            )

        self.conda_channel: CondaChannel | None = None
        if settings.conda_channel is not None:
            self.conda_channel = CondaChannel(
                self,
                "CondaChannel",
                bucket_name=settings.conda_channel.bucket_name,
                prefix=settings.conda_channel.prefix,
                server_access_logs_bucket=self.access_logs_bucket,
            )
            for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"):
                acknowledge(
                    self.conda_channel.bucket,
                    f"{pack}-S3BucketReplicationEnabled",
                    "The channel holds public packages the platform team re-uploads from its "
                    "own build (docs/lifecycle.md); versioning and DeletionPolicy Retain keep "
                    "every upload, and a copy in another Region adds nothing to restore.",
                )
