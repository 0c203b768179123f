"""A CDK Pipelines pipeline that deploys the platform to several accounts and Regions.

``PipelineStack`` (stack ``<prefix>-pipeline``, in the tooling account of
``platform.pipeline``) synthesizes the app from the repository and deploys one
``PlatformStage`` per environment, in config order; each stage holds the platform,
Studio and team stacks, built by the same :func:`~stacks.app_builder.build_app` as
``cdk deploy`` builds them. CDK Pipelines does the deploying (change sets, asset
publishing, cross-account roles from ``cdk bootstrap --trust``); nothing here loops
over environments at deploy time.

The pipeline passes the four cdk-nag packs of the app: its inline IAM policies become
customer-managed policies, its artifact buckets are KMS-encrypted (a customer-managed,
rotating key, shared with the environments' accounts), versioned and access-logged,
and the remaining findings are acknowledged where CDK Pipelines puts them, with the
evidence (docs/SECURITY.md lists them).
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Duration, Environment, RemovalPolicy, Stack, Stage, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sagemaker_constructs.governance import acknowledge
from sagemaker_constructs.governance import finding_resource_name as _render

from .app_builder import PlatformApp, build_app
from .config import PlatformConfig

ROOT = Path(__file__).resolve().parent.parent
#: The CDK CLI the pipeline's self-mutation runs: the version package.json pins.
CDK_CLI_VERSION: str = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
#: The CodeBuild image of every project of the pipeline (Python 3.11 and Node 20).
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
PACKS = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
#: The default qualifier of `cdk bootstrap`, which the stacks' synthesizer uses too.
BOOTSTRAP_QUALIFIER = "hnb659fds"


class PlatformStage(Stage):
    """One environment of the pipeline: every stack of the platform.

    Attributes:
        platform_app: The stacks, as :func:`~stacks.app_builder.build_app` returns them.
    """

    def __init__(self, scope: Construct, id: str, *, config: PlatformConfig, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.platform_app: PlatformApp = build_app(self, config)


class PipelineStack(Stack):
    """The platform's CDK Pipelines pipeline, in the tooling account and Region.

    Source: the ``repository`` branch through the CodeConnections connection. Synth:
    ``make synth`` with the same config file (``config_file``, relative to the
    repository root). Then the pipeline updates itself, publishes the assets to every
    environment and deploys one :class:`PlatformStage` per environment, in order,
    after a manual approval where ``manual_approval`` is set. The target accounts must
    be bootstrapped with ``cdk bootstrap --trust <pipeline account>`` (docs/pipelines.md).

    Attributes:
        pipeline: The ``pipelines.CodePipeline``.
        stages: The stages, by environment name.
        artifact_buckets: The artifact bucket and, for each other Region, its
            replication bucket, all hardened (see the module docstring).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: PlatformConfig,
        config_file: str = "config/teams.yaml",
        **kwargs,
    ) -> None:
        settings = config.platform.pipeline
        if settings is None:
            raise ValueError("PipelineStack needs a config with platform.pipeline")
        super().__init__(
            scope, id, env=Environment(account=settings.account, region=settings.region), **kwargs
        )
        prefix = config.platform.prefix
        source = pipelines.CodePipelineSource.connection(
            settings.repository,
            settings.branch,
            connection_arn=settings.connection_arn,
            action_name="Source",
        )
        synth = pipelines.CodeBuildStep(
            "Synth",
            input=source,
            commands=[f'make synth CDK_ARGS="-c config={config_file}"'],
            primary_output_directory="cdk.out",
            # Context the repository's cdk.context.json lacks (the Availability Zones of
            # an environment, say) is looked up through each environment's bootstrap
            # lookup role, which is read-only.
            role_policy_statements=[
                iam.PolicyStatement(
                    sid="LookUpContextInTheEnvironments",
                    actions=["sts:AssumeRole"],
                    resources=[
                        f"arn:{self.partition}:iam::{env.account}:role/"
                        f"cdk-{BOOTSTRAP_QUALIFIER}-lookup-role-{env.account}-{env.region}"
                        for env in settings.environments
                    ],
                )
            ],
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=f"{prefix}-platform",
            synth=synth,
            # A customer-managed, rotating key for the artifacts, whether the targets
            # are other accounts (which need it) or not (the compliance packs want it,
            # and CodeBuild then encrypts with it too).
            cross_account_keys=True,
            enable_key_rotation=True,
            pipeline_type=codepipeline.PipelineType.V2,
            cli_version=CDK_CLI_VERSION,
            # One asset-publishing project for all of a stage's file assets, not one each.
            publish_assets_in_parallel=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
                timeout=Duration.minutes(30),
            ),
            synth_code_build_defaults=pipelines.CodeBuildOptions(
                partial_build_spec=codebuild.BuildSpec.from_object(
                    {
                        "phases": {
                            "install": {"runtime-versions": {"python": "3.11", "nodejs": "20"}}
                        }
                    }
                ),
            ),
        )
        self.stages: dict[str, PlatformStage] = {}
        for env in settings.environments:
            stage = PlatformStage(
                self,
                env.name,
                config=config,
                env=Environment(account=env.account, region=env.region),
            )
            pre = (
                [pipelines.ManualApprovalStep(f"Approve-{env.name}")]
                if env.manual_approval
                else None
            )
            self.pipeline.add_stage(stage, pre=pre)
            self.stages[env.name] = stage
        # Built now rather than just in time at synth, so that what it creates can be
        # hardened and its findings acknowledged below.
        self.pipeline.build_pipeline()

        code_pipeline = self.pipeline.pipeline
        self.artifact_buckets: list[s3.IBucket] = [code_pipeline.artifact_bucket]
        _harden_artifact_bucket(code_pipeline.artifact_bucket, self)
        support_stacks: list[Stack] = []
        for region in sorted(code_pipeline.cross_region_support):
            support = code_pipeline.cross_region_support[region]
            _harden_artifact_bucket(support.replication_bucket, support.stack)
            self.artifact_buckets.append(support.replication_bucket)
            support_stacks.append(support.stack)
        _deny_starting_builds_to_the_asset_roles(self.pipeline)
        _grant_use_connection(self.pipeline, settings.connection_arn)
        # Only the pipeline's own constructs: the stages' stacks are the platform's.
        for scope in (self.pipeline, *support_stacks):
            _managed_instead_of_inline(scope)
        _acknowledge_pipeline_findings(self.pipeline, self.artifact_buckets)


def _harden_artifact_bucket(bucket: s3.IBucket, stack: Stack) -> None:
    """Version and access-log a bucket CDK Pipelines created; expire old versions.

    The access logs go to a bucket of their own in the same stack, as the platform's.
    """
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    logs_bucket = s3.Bucket(
        stack,
        "ArtifactsAccessLogsBucket",
        # S3 server access logging delivers only to buckets with S3-managed keys.
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[
            s3.LifecycleRule(
                expiration=Duration.days(365), noncurrent_version_expiration=Duration.days(30)
            )
        ],
    )
    logs_bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="S3ServerAccessLogsOfTheArtifactsBucket",
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[logs_bucket.arn_for_objects("artifacts/*")],
            conditions={
                "ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                "StringEquals": {"aws:SourceAccount": stack.account},
            },
        )
    )
    cfn.versioning_configuration = s3.CfnBucket.VersioningConfigurationProperty(status="Enabled")
    cfn.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
        destination_bucket_name=logs_bucket.bucket_name, log_file_prefix="artifacts/"
    )
    # Every run writes new artifacts; superseded versions are only kept for a while.
    cfn.lifecycle_configuration = s3.CfnBucket.LifecycleConfigurationProperty(
        rules=[
            s3.CfnBucket.RuleProperty(
                status="Enabled",
                noncurrent_version_expiration=s3.CfnBucket.NoncurrentVersionExpirationProperty(
                    noncurrent_days=30
                ),
                abort_incomplete_multipart_upload=s3.CfnBucket.AbortIncompleteMultipartUploadProperty(
                    days_after_initiation=7
                ),
            )
        ]
    )
    for pack in PACKS:
        acknowledge(
            bucket,
            f"{pack}-S3BucketReplicationEnabled",
            "Pipeline artifacts are the source checkout and the synthesized cloud assembly, "
            "re-created from the repository by every run; a replica would hold nothing that "
            "cannot be rebuilt. The bucket is versioned and KMS-encrypted.",
        )
        acknowledge(
            logs_bucket,
            f"{pack}-S3DefaultEncryptionKMS",
            "S3 server access logging delivers only to buckets encrypted with S3-managed "
            "keys (SSE-S3); SSE-KMS is not supported for the log destination.",
        )
        acknowledge(
            logs_bucket,
            f"{pack}-S3BucketReplicationEnabled",
            "Access logs of the pipeline's artifact bucket, kept a year with versioning and "
            "DeletionPolicy Retain; replicating them needs a destination bucket the "
            "organisation's backup design owns (see docs/SECURITY.md).",
        )
    # No S1 / S3BucketLoggingEnabled finding to acknowledge: cdk-nag counts a bucket that
    # receives another bucket's access logs in the same stack as logged.


def _grant_use_connection(pipeline: pipelines.CodePipeline, connection_arn: str) -> None:
    """Grant ``UseConnection`` under the connection ARN's own service prefix.

    CDK grants ``codestar-connections:UseConnection`` whatever the ARN; since the
    rename, a connection created as ``arn:aws:codeconnections:...`` is authorised only
    for ``codeconnections:`` actions ("the service prefix must match that of the
    resource", https://docs.aws.amazon.com/dtconsole/latest/userguide/rename.html).
    """
    service = connection_arn.split(":")[2]
    for node in pipeline.pipeline.node.find_all():
        if isinstance(node, iam.Role) and node.node.path.endswith(
            "/Source/Source/CodePipelineActionRole"
        ):
            node.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="UseTheConnection",
                    actions=[f"{service}:UseConnection"],
                    resources=[connection_arn],
                )
            )
            return
    raise RuntimeError("CDK Pipelines' source action role was not found")  # pragma: no cover


def _deny_starting_builds_to_the_asset_roles(pipeline: pipelines.CodePipeline) -> None:
    """Take away the ``codebuild:StartBuild`` on any project CDK Pipelines gives asset roles.

    The asset-publishing roles are the service roles of the asset projects (only
    CodeBuild assumes them) and those projects run ``cdk-assets``, which starts no build;
    the pipeline's own CodeBuild action role starts them.
    """
    assets = pipeline.node.try_find_child("Assets")
    for role in assets.node.children if assets is not None else []:
        if isinstance(role, iam.Role):
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="DenyStartingBuilds",
                    effect=iam.Effect.DENY,
                    actions=["codebuild:StartBuild", "codebuild:StopBuild"],
                    resources=["*"],
                )
            )


def _managed_instead_of_inline(scope: Construct) -> None:
    """Make every inline policy (``iam.Policy``) under ``scope`` a customer-managed policy.

    CDK Pipelines gives its roles default policies, which are inline; the HIPAA, NIST
    and PCI packs reject inline policies. The ``AWS::IAM::Policy`` under each is replaced
    by an ``AWS::IAM::ManagedPolicy`` with the same document, attached to the same
    roles, at the same construct path (so the same logical ID, and whatever depends on
    the policy depends on the managed one).
    """
    for node in scope.node.find_all():
        if not isinstance(node, iam.Policy):
            continue
        inline = node.node.default_child
        if not isinstance(inline, iam.CfnPolicy) or node.document.is_empty:
            continue
        node.node.try_remove_child(inline.node.id)
        iam.CfnManagedPolicy(
            node,
            inline.node.id,
            description=f"Permissions of {node.node.scope.node.path} (CDK Pipelines)"[:1000],
            policy_document=inline.policy_document,
            roles=inline.roles,
            users=inline.users,
            groups=inline.groups,
        )


# Why each wildcard CDK Pipelines writes into its roles' policies is right there. Only
# these are acknowledged, and only where a statement really has them; any other
# wildcard stays a finding and fails synth.
_ARTIFACT_GRANT = (
    "Generated by CDK's Bucket.grantRead/grantReadWrite for the pipeline's own artifact "
    "bucket (or its cross-Region replica): every statement with this action names only "
    "that bucket and its objects."
)
_KEY_GRANT = (
    "Generated by CDK's Key.grantEncryptDecrypt for the key of the pipeline's artifact "
    "bucket: the statement names that key, or '*' for the replica's key in another Region, "
    "which CDK cannot name across Regions; that key's own policy admits only this account."
)
_WILDCARD_ACTIONS = {
    "s3:Abort*": _ARTIFACT_GRANT,
    "s3:DeleteObject*": _ARTIFACT_GRANT,
    "s3:GetBucket*": _ARTIFACT_GRANT,
    "s3:GetObject*": _ARTIFACT_GRANT,
    "s3:List*": _ARTIFACT_GRANT,
    "kms:GenerateDataKey*": _KEY_GRANT,
    "kms:ReEncrypt*": _KEY_GRANT,
}
# Statements whose resource is "*", by their actions: why no resource can be named.
_ANY_RESOURCE = {
    frozenset(
        ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
    ): "The key of the artifact bucket's replica in another Region, which CDK cannot name "
    "across Regions (Key.grant); that key's own policy admits only this account.",
    frozenset(["cloudformation:DescribeStacks", "s3:ListBucket"]): (
        "Self-mutation (cdk deploy of this stack) reads the bootstrap stack of each "
        "environment to find its asset bucket; the stacks and buckets are in other accounts "
        "and Regions, named only at run time."
    ),
    frozenset(["codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"]): (
        "CDK Pipelines lets its asset-publishing role start and watch builds of any project; "
        "only CodeBuild assumes that role, for the asset project, which runs cdk-assets and "
        "starts no build, and the same policy denies StartBuild/StopBuild (DenyStartingBuilds)."
    ),
}


def _acknowledge_pipeline_findings(
    pipeline: pipelines.CodePipeline, artifact_buckets: list[s3.IBucket]
) -> None:
    stack = Stack.of(pipeline)
    artifact_objects = {_render(stack.resolve(b.arn_for_objects("*"))) for b in artifact_buckets}
    for node in pipeline.node.find_all():
        if isinstance(node, codebuild.CfnProject):
            source = stack.resolve(node.source)
            if source.get("type") == "CODEPIPELINE":
                for pack in ("HIPAA.Security", "PCI.DSS.321"):
                    acknowledge(
                        node,
                        f"{pack}-CodeBuildProjectSourceRepoUrl",
                        "The project's source type is CODEPIPELINE: it gets the pipeline's "
                        "artifacts and has no repository URL or credentials of its own (the "
                        "repository is read by the pipeline's source action through the "
                        "CodeConnections connection). The rule flags every project without "
                        "OAuth, whatever its source type.",
                    )
        if isinstance(node, iam.Policy) and not node.document.is_empty:
            _acknowledge_wildcards(node, stack, artifact_objects)


def _acknowledge_wildcards(policy: iam.Policy, stack: Stack, artifact_objects: set[str]) -> None:
    document = stack.resolve(policy.document)
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = _as_list(statement.get("Action"))
        for action in actions:
            if "*" in action and action in _WILDCARD_ACTIONS:
                acknowledge(
                    policy, f"AwsSolutions-IAM5[Action::{action}]", _WILDCARD_ACTIONS[action]
                )
        for resource in _as_list(statement.get("Resource")):
            try:
                rendered = _render(resource)
            except ValueError:
                continue
            if "*" not in rendered:
                continue
            if rendered in artifact_objects:
                reason: str | None = (
                    "Objects of the pipeline's own artifact bucket (or its cross-Region "
                    "replica), where every run writes its source and cloud assembly under "
                    "generated keys."
                )
            else:
                reason = _resource_reason(rendered, frozenset(actions), statement)
            if reason:
                acknowledge(policy, f"AwsSolutions-IAM5[Resource::{rendered}]", reason)


def _resource_reason(rendered: str, actions: frozenset[str], statement: dict) -> str | None:
    if rendered == "*":
        return _ANY_RESOURCE.get(actions)
    if ":log-group:/aws/codebuild/" in rendered:
        return (
            "The CodeBuild log group(s) /aws/codebuild/<project> of the pipeline's projects "
            "and their log streams, which CodeBuild names per build."
        )
    if ":report-group/" in rendered:
        return (
            "CodeBuild report groups named after the pipeline's projects, which CodeBuild "
            "creates per build when a build spec declares reports."
        )
    if rendered.startswith("arn:*:iam::") and rendered.endswith(":role/*"):
        condition = statement.get("Condition", {}).get("ForAnyValue:StringEquals", {})
        if "iam:ResourceTag/aws-cdk:bootstrap-role" in condition:
            return (
                "sts:AssumeRole on this account's roles only when tagged as a CDK bootstrap "
                "role (iam:ResourceTag/aws-cdk:bootstrap-role condition): the roles self-"
                "mutation deploys and publishes with."
            )
    return None


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
