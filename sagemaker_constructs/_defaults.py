"""Secure defaults shared by the constructs, kept apart from the constructs themselves."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

#: Notebook instances always log here; the log group is one per account and region.
NOTEBOOK_LOG_GROUP_NAME = "/aws/sagemaker/NotebookInstances"


def new_key(
    scope: Construct, id: str, *, description: str, removal_policy: RemovalPolicy
) -> kms.Key:
    """A customer-managed key with yearly rotation, retained by default."""
    return kms.Key(
        scope,
        id,
        description=description,
        enable_key_rotation=True,
        rotation_period=Duration.days(365),
        removal_policy=removal_policy,
        pending_window=Duration.days(30),
    )


def allow_cloudwatch_logs(key: kms.IKey) -> None:
    """Let the regional CloudWatch Logs service use ``key`` for log groups of this account.

    Scoped with the encryption-context condition CloudWatch Logs documents, so the key
    cannot be used by the service for another account's log groups.
    """
    stack = Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogsForThisAccount",
            principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
            actions=[
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
                "kms:GenerateDataKey",
                "kms:DescribeKey",
            ],
            resources=["*"],  # in a key policy "*" means this key
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )


def select_subnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None) -> ec2.SelectedSubnets:
    """``vpc.select_subnets`` for a ``SubnetSelection`` object (Python passes its fields)."""
    # jsii structs keep their fields in ``_values``; select_subnets takes them as keywords.
    return vpc.select_subnets(**(selection._values if selection else {}))


def service_role(
    scope: Construct,
    *,
    service: str,
    description: str,
    policy_description: str,
    statements: list[iam.PolicyStatement] | None = None,
) -> tuple[iam.Role, iam.ManagedPolicy]:
    """A role ``service`` assumes, with its permissions in a customer-managed policy.

    The construct IDs are ``Role`` and ``Policy`` under ``scope``. Customer-managed
    rather than inline, because the HIPAA/NIST/PCI packs reject inline policies.
    """
    role = iam.Role(
        scope, "Role", assumed_by=iam.ServicePrincipal(service), description=description
    )
    policy = iam.ManagedPolicy(
        scope, "Policy", description=policy_description, roles=[role], statements=statements
    )
    return role, policy
