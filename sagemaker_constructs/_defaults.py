"""Secure defaults shared by the constructs, kept apart from the constructs themselves."""

from __future__ import annotations

import functools
import re

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from sagemaker_constructs._compliance import acknowledge, read_once, render_in
from sagemaker_constructs._validation import ConstructValidationError, Problem

#: Notebook instances always log here; the log group is one per account and region.
NOTEBOOK_LOG_GROUP_NAME = "/aws/sagemaker/NotebookInstances"


@functools.cache
def aws_region() -> str:
    """``Aws.REGION``, read from node once per process (a constant token)."""
    return str(Aws.REGION)


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


def first_subnet_id(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None) -> str:
    """``select_subnets(vpc, selection).subnet_ids[0]``, in one round trip when it can be.

    A selection of nothing but explicit ``subnets`` selects exactly those, in their
    order (aws-cdk-lib's ``selectSubnets`` returns them as given when no filter, group or
    type is set), so the first one's ID is read directly instead of asking the VPC for
    the whole selection (one call and six reads of the returned struct).
    """
    values = selection._values if selection else {}
    subnets = values.get("subnets")
    if subnets and set(values) == {"subnets"}:
        # A subnet's ID never changes: read once per subnet object (notebooks share them).
        subnet_id: str = read_once(subnets[0], "subnet_id")
        return subnet_id
    return select_subnets(vpc, selection).subnet_ids[0]


@functools.cache
def service_principal(service: str) -> iam.ServicePrincipal:
    """``iam.ServicePrincipal(service)``, one object per process for all the roles that
    trust ``service`` (a principal holds no state of its own; each stack renders it)."""
    return iam.ServicePrincipal(service)


def service_role(
    scope: Construct,
    *,
    service: str,
    description: str,
    policy_description: str,
    statements: list[iam.PolicyStatement] | None = None,
    document: iam.PolicyDocument | None = None,
) -> tuple[iam.Role, iam.ManagedPolicy]:
    """A role ``service`` assumes, with its permissions in a customer-managed policy.

    The construct IDs are ``Role`` and ``Policy`` under ``scope``. Customer-managed
    rather than inline, because the HIPAA/NIST/PCI packs reject inline policies.
    """
    role = _ManagedPolicyRole(
        scope, "Role", assumed_by=service_principal(service), description=description
    )
    policy = iam.ManagedPolicy(
        scope,
        "Policy",
        description=policy_description,
        roles=[role],
        statements=statements,
        document=document,
    )
    role._policy = policy
    return role, policy


class _ManagedPolicyRole(iam.Role):
    """An ``iam.Role`` whose principal-policy statements go to its customer-managed policy.

    ``bucket.grant_read(notebook)``, ``key.grant_decrypt(notebook)`` and
    ``role.add_to_principal_policy`` all end in ``add_to_principal_policy``; a plain
    ``iam.Role`` puts those statements in an inline ``DefaultPolicy``, which the
    HIPAA/NIST/PCI packs reject. jsii calls this Python override from the CDK's grants.
    """

    _policy: iam.ManagedPolicy | None = None

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        if self._policy is None:
            return super().add_to_principal_policy(statement)
        self._policy.add_statements(statement)
        _acknowledge_grant_wildcards(self._policy, statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self._policy)


# A CDK grant's own action wildcards: one service, a named prefix (``s3:GetObject*``,
# ``kms:ReEncrypt*``), never ``*`` or ``<service>:*``.
_GRANT_ACTION_WILDCARD = re.compile(r"^[a-z0-9-]+:[A-Z][A-Za-z]{2,}\*$")


def _acknowledge_grant_wildcards(policy: iam.ManagedPolicy, statement: iam.PolicyStatement) -> None:
    """Acknowledge AwsSolutions-IAM5 for exactly the wildcards a CDK grant writes.

    Only statements that reach the role through ``add_to_principal_policy`` (the CDK's
    ``grant_*`` methods) come here; the library adds its own statements to the policy
    directly. Acknowledged: named-prefix action wildcards and ``<resource ARN>/*`` where
    the ARN is a reference to one resource of the app (a bucket's objects). A ``*``
    resource or ``<service>:*`` action is left for the packs to report.
    """
    if statement.effect != iam.Effect.ALLOW:
        return
    reason = (
        "Written by a CDK grant (e.g. bucket.grant_read) on one resource of this app; the "
        "wildcard is the grant's own action family or that resource's objects."
    )
    for action in statement.actions:
        if _GRANT_ACTION_WILDCARD.match(action):
            acknowledge(policy, f"AwsSolutions-IAM5[Action::{action}]", reason)
    stack = Stack.of(policy)
    for resource in statement.resources:
        try:
            rendered = render_in(stack, resource)
        except ValueError:
            continue
        base = rendered.removesuffix("/*")
        if base != rendered and base.startswith("<") and base.endswith(">") and "*" not in base:
            acknowledge(policy, f"AwsSolutions-IAM5[Resource::{rendered}]", reason)


def allow_https_within_vpc(scope: Construct, group: ec2.SecurityGroup, vpc: ec2.IVpc) -> None:
    """Let ``group`` send HTTPS to the VPC's own range (its interface endpoints) only.

    Raises:
        ConstructValidationError: ``vpc`` is imported without its CIDR, so the range is
            unknown (naming ``vpc`` and how to give it).
    """
    try:
        cidr = vpc.vpc_cidr_block
    except RuntimeError as exc:  # jsii: CannotPerformOperationVpcCidr
        if "vpcCidrBlock" not in str(exc):
            raise
        raise ConstructValidationError(
            scope.node.path,
            [
                Problem(
                    "vpc",
                    f"{vpc.vpc_id} (imported without its CIDR)",
                    "a VPC whose CIDR is known (Vpc.from_vpc_attributes(..., vpc_cidr_block=...) "
                    "or Vpc.from_lookup), or security_groups of your own",
                )
            ],
        ) from None
    group.add_egress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS within the VPC")
