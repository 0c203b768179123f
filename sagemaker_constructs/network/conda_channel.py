"""A static conda channel in S3 that notebooks without internet access can install from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from aws_cdk import Aws, RemovalPolicy, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from sagemaker_constructs._defaults import new_key
from sagemaker_constructs._validation import Problems
from sagemaker_constructs.setup.notebook_setup import (
    BUCKET_ALLOWED,
    S3_PREFIX_ALLOWED,
    CondaChannelS3,
    PackageIndex,
    bucket_name_ok,
    s3_prefix_ok,
)

DEFAULT_BUCKET_NAME: Final = "sagemaker-conda-channel-{account}-{region}"


class CondaChannel(Construct):
    """A KMS-encrypted, retained, TLS-only S3 bucket (or a prefix of one) holding a conda channel.

    The channel is static files: a directory made by ``conda index`` (or
    ``rattler-index``) with ``noarch/`` and ``linux-64/`` (``repodata.json`` and the
    package files), uploaded under ``prefix`` with ``aws s3 sync`` by the platform team,
    or at deploy from ``sources``. Notebooks read it through the VPC's S3 gateway endpoint,
    whose policy admits this account's buckets. Give :attr:`source` to
    :class:`~sagemaker_constructs.PackageIndex` (``conda_channel_s3``); the notebooks'
    roles then get read on the prefix and decrypt with the key.

    Attributes:
        bucket: The bucket (created, or the one given).
        key: The KMS key encrypting the objects (``None`` for a given bucket without
            ``encryption_key``).
        prefix: Key prefix of the channel.
        source: The channel as a setup value (:class:`CondaChannelS3`).
        deployment: The deploy-time upload of ``sources``, if any.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: s3.IBucket | None = None,
        bucket_name: str = DEFAULT_BUCKET_NAME,
        prefix: str = "conda-channel",
        encryption_key: kms.IKey | None = None,
        server_access_logs_bucket: s3.IBucket | None = None,
        sources: Sequence[s3deploy.ISource] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """Create the channel's bucket (or use ``bucket``) and optionally publish into it.

        Args:
            scope: Parent construct.
            id: Construct ID; a created bucket is the child ``Resource``.
            bucket: An existing bucket to hold the channel under ``prefix``; its name must
                be known at synth time (``s3.Bucket.from_bucket_name``). Default: a new
                bucket, KMS-encrypted, versioned, TLS only, public access blocked,
                retained.
            bucket_name: Name of a created bucket; ``{account}`` and ``{region}`` stand
                for the stack's (and on the notebook for its own, which must be the same).
                Default: ``sagemaker-conda-channel-{account}-{region}``.
            prefix: Key prefix holding the channel. Default: ``conda-channel``.
            encryption_key: KMS key of the objects. Default: a new key with rotation for a
                created bucket; none for a given bucket (S3-managed keys).
            server_access_logs_bucket: Where a created bucket's access logs go. Default:
                no access logs.
            sources: Directories (``s3deploy.Source.asset``) holding an indexed channel, to
                upload under ``prefix`` at deploy (nothing is deleted). Default: none; the
                platform team uploads with ``aws s3 sync``.
            removal_policy: Applied to a created bucket and key. Default: ``RETAIN``.

        Raises:
            ConstructValidationError: ``bucket_name``, ``prefix`` or ``bucket`` is invalid;
                every problem is listed.
        """
        super().__init__(scope, id)
        p = Problems(self)
        if not s3_prefix_ok(prefix):
            p.add("prefix", prefix, S3_PREFIX_ALLOWED)
        if bucket is None:
            if not bucket_name_ok(bucket_name):
                p.add("bucket_name", bucket_name, BUCKET_ALLOWED)
        elif Token.is_unresolved(bucket.bucket_name):
            p.add(
                "bucket",
                bucket.node.path,
                "a bucket whose name is known at synth time (s3.Bucket.from_bucket_name); "
                "the notebooks' lifecycle scripts name it",
            )
        p.raise_if_any()

        self.prefix = prefix
        self.key: kms.IKey | None
        if bucket is None:
            self.key = encryption_key or new_key(
                self,
                "Key",
                description="Encrypts the notebooks' conda channel",
                removal_policy=removal_policy,
            )
            created = s3.Bucket(
                self,
                "Resource",
                bucket_name=bucket_name.replace("{account}", Aws.ACCOUNT_ID).replace(
                    "{region}", Aws.REGION
                ),
                encryption=s3.BucketEncryption.KMS,
                encryption_key=self.key,
                bucket_key_enabled=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                versioned=True,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                server_access_logs_bucket=server_access_logs_bucket,
                server_access_logs_prefix="conda-channel/" if server_access_logs_bucket else None,
                removal_policy=removal_policy,
            )
            self.bucket: s3.IBucket = created
            literal_name = bucket_name
        else:
            self.key = encryption_key
            self.bucket = bucket
            literal_name = bucket.bucket_name

        self.source = CondaChannelS3(
            bucket_name=literal_name,
            prefix=prefix,
            key_arn=self.key.key_arn if self.key is not None else None,
        )
        self.deployment: s3deploy.BucketDeployment | None = None
        if sources:
            self.deployment = s3deploy.BucketDeployment(
                self,
                "Publish",
                sources=list(sources),
                destination_bucket=self.bucket,
                destination_key_prefix=prefix,
                prune=False,
                retain_on_delete=True,
                server_side_encryption=s3deploy.ServerSideEncryption.AWS_KMS if self.key else None,
                server_side_encryption_aws_kms_key_id=self.key.key_id if self.key else None,
            )
            if self.key is not None:
                self.key.grant_encrypt_decrypt(self.deployment.handler_role)

    def package_index(self, **kwargs: str | None) -> PackageIndex:
        """A :class:`PackageIndex` with this channel, plus any pip source given in ``kwargs``."""
        return PackageIndex(conda_channel_s3=self.source, **kwargs)  # type: ignore[arg-type]

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` list and read the channel's prefix (and decrypt with its key)."""
        grant = grant_channel_read(grantee, self.source, self.bucket.bucket_arn)
        if self.key is not None:
            self.key.grant_decrypt(grantee)
        return grant


def grant_channel_read(
    grantee: iam.IGrantable, channel: CondaChannelS3, bucket_arn: str
) -> iam.Grant:
    """List ``channel``'s prefix and read its objects, nothing else of the bucket."""
    iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["s3:ListBucket"],
        resource_arns=[bucket_arn],
        conditions={"StringLike": {"s3:prefix": [f"{channel.prefix}/*"]}},
    )
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["s3:GetObject"],
        resource_arns=[f"{bucket_arn}/{channel.prefix}/*"],
    )
