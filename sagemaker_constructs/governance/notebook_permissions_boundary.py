"""A permissions boundary that keeps every notebook a role creates inside the guardrails."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from aws_cdk import aws_iam as iam
from constructs import Construct

from sagemaker_constructs._compliance import acknowledge_all, skip_checkov
from sagemaker_constructs._validation import Problems
from sagemaker_constructs.notebooks.notebook_instance import check_instance_type

#: What the boundary lets identity policies grant: the services of notebook and Studio
#: execution roles (data in S3 with KMS, logs, the CodeArtifact mirror and its bearer
#: token, Studio images from ECR, SageMaker itself).
BOUNDARY_SERVICE_ACTIONS: Final = (
    "sagemaker:*",
    "s3:*",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
    "kms:CreateGrant",
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "cloudwatch:PutMetricData",
    "codeartifact:GetAuthorizationToken",
    "codeartifact:GetRepositoryEndpoint",
    "codeartifact:ReadFromRepository",
    "sts:GetServiceBearerToken",
    "sts:GetCallerIdentity",
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:GetAuthorizationToken",
    "ecr:GetDownloadUrlForLayer",
)


class NotebookPermissionsBoundary(Construct):
    """A customer-managed policy to use as the permissions boundary of team roles.

    A boundary caps what a role's own policies can grant: the policy allows everything
    (so it takes nothing away by itself) and denies creating or updating a notebook
    instance unless direct internet access and root access are disabled, it is placed in
    one of ``subnet_ids``, its volume has a KMS key and (when ``allowed_instance_types`` is
    given) its instance type is allowed. It also denies removing or changing any role's
    permissions boundary, so the guardrail cannot be lifted from inside.

    Attributes:
        policy: The ``iam.ManagedPolicy``; pass it to ``iam.PermissionsBoundary.of(scope).apply``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        subnet_ids: Sequence[str],
        allowed_instance_types: Sequence[str] | None = None,
        description: str | None = None,
    ) -> None:
        """Create the boundary policy.

        Args:
            subnet_ids: Subnets notebooks may be placed in (the platform's), at least one.
            allowed_instance_types: Instance types notebooks may use. Default: any type.
            description: Policy description. Default: says what it guards.
        """
        super().__init__(scope, id)
        p = Problems(self)
        if not subnet_ids:
            p.add("subnet_ids", list(subnet_ids), "at least one subnet ID")
        if allowed_instance_types is not None:
            if not allowed_instance_types:
                p.add("allowed_instance_types", [], "at least one type, or None for any")
            for i, itype in enumerate(allowed_instance_types):
                check_instance_type(p, f"allowed_instance_types[{i}]", itype)
        p.raise_if_any()

        create = ["sagemaker:CreateNotebookInstance"]
        update = ["sagemaker:UpdateNotebookInstance"]

        # On create, a missing key means the service default (internet and root enabled,
        # no VPC): the strict operators deny it. On update, unchanged settings are absent
        # from the request, so only values that are present are checked (...IfExists).
        # ForAnyValue operators are false for an absent key.
        # Plain JSON statements, handed to node as one document (one round trip, not one
        # per statement).
        def deny(sid: str, actions: list[str], condition: dict[str, Any]) -> dict[str, Any]:
            return {
                "Sid": sid,
                "Effect": "Deny",
                "Action": actions,
                "Resource": "*",
                "Condition": condition,
            }

        statements = [
            # Only the services notebook and Studio roles use: attached by mistake as an
            # ordinary policy, this is not administrator access.
            {
                "Sid": "AllowOnlyNotebookServices",
                "Effect": "Allow",
                "Action": list(BOUNDARY_SERVICE_ACTIONS),
                "Resource": "*",
            },
            deny(
                "DenyNotebookWithDirectInternet",
                create,
                {"StringNotEquals": {"sagemaker:DirectInternetAccess": "Disabled"}},
            ),
            deny(
                "DenyNotebookWithRootAccess",
                create,
                {"StringNotEquals": {"sagemaker:RootAccess": "Disabled"}},
            ),
            deny(
                "DenyEnablingRootAccess",
                update,
                {"StringNotEqualsIfExists": {"sagemaker:RootAccess": "Disabled"}},
            ),
            deny(
                "DenyNotebookOutsidePlatformSubnets",
                create,
                {"ForAnyValue:StringNotEquals": {"sagemaker:VpcSubnets": list(subnet_ids)}},
            ),
            deny("DenyNotebookWithoutSubnet", create, {"Null": {"sagemaker:VpcSubnets": "true"}}),
            deny(
                "DenyNotebookWithoutVolumeKey", create, {"Null": {"sagemaker:VolumeKmsKey": "true"}}
            ),
            {
                "Sid": "DenyChangingBoundaries",
                "Effect": "Deny",
                "Action": [
                    "iam:DeleteRolePermissionsBoundary",
                    "iam:PutRolePermissionsBoundary",
                    "iam:DeleteUserPermissionsBoundary",
                    "iam:PutUserPermissionsBoundary",
                ],
                "Resource": "*",
            },
        ]
        if allowed_instance_types:
            statements.insert(
                1,
                deny(
                    "DenyInstanceTypesNotAllowed",
                    create + update,
                    {
                        "ForAnyValue:StringNotEquals": {
                            "sagemaker:InstanceTypes": list(allowed_instance_types)
                        }
                    },
                ),
            )
        self.policy = iam.ManagedPolicy(
            self,
            "Resource",
            description=description
            or "Permissions boundary: notebooks only without internet or root, in the "
            "platform's subnets, with a volume key and an allowed instance type",
            document=iam.PolicyDocument.from_json(
                {"Version": "2012-10-17", "Statement": statements}
            ),
        )
        findings = [
            (
                f"{pack}-IAMPolicyNoStatementsWithFullAccess",
                "Used only as a permissions boundary, which never grants access: effective "
                "permissions are the intersection with each role's own least-privilege "
                "policies; sagemaker:* and s3:* bound what those may grant.",
            )
            for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
        ]
        boundary_only = (
            "Permissions boundary: grants nothing by itself; each role's own policy, "
            "scoped to the team's resources, decides what is allowed"
        )
        skip_checkov(
            self.policy.node.default_child,  # type: ignore[arg-type]
            {
                "CKV_AWS_107": boundary_only + " (the ECR, CodeArtifact bearer tokens).",
                "CKV_AWS_108": boundary_only + " (reading the team's bucket).",
                "CKV_AWS_109": boundary_only + " (kms:CreateGrant for SageMaker volumes).",
                "CKV_AWS_111": boundary_only + " (writing the team's bucket).",
            },
        )
        findings += [
            (
                f"AwsSolutions-IAM5[Action::{action}]",
                "Permissions boundary: the allowed services are intersected with each "
                "role's own least-privilege policies and grant nothing by themselves.",
            )
            for action in BOUNDARY_SERVICE_ACTIONS
            if "*" in action
        ]
        findings.append(
            (
                "AwsSolutions-IAM5[Resource::*]",
                "Permissions boundary: '*' resources in the Allow-all (intersected with the "
                "role's own policies) and in the Denies, which must cover every notebook.",
            )
        )
        acknowledge_all(self.policy, findings)
