"""How synth time and memory grow with the number of teams: the library against plain L1.

Usage (from the repository root)::

    .venv/bin/python benchmarks/synth_scale.py                  # 1, 10, 100 and 300 teams
    .venv/bin/python benchmarks/synth_scale.py --sizes 1,10 --repeat 5

What is compared, for each size (number of teams, 3 notebooks each). The generated
config has what both variants can declare alike: teams without ``studio`` or ``setup``
sections (so each team's lifecycle configuration is the default kernel-registering
script), no guardrails, and a platform without Studio or a package mirror; each team
still gets its key, bucket, data policy, permissions boundary and lifecycle
configuration. 3 notebooks a team never need a second team stack.

``library + cdk-nag``
    The example app as ``app.py`` builds it: a config dict generated here, validated
    with ``stacks.parse_config``, then ``stacks.build_app`` and
    ``sagemaker_constructs.governance.register_compliance_checks``: cdk-nag's
    AwsSolutions, HIPAA, NIST and PCI packs and the CloudFormation limits check run during synth.
``library, no cdk-nag``
    The same app without ``register_compliance_checks``, so the cost of cdk-nag shows.
    ``stacks`` still imports ``cdk_nag`` (and so loads its jsii assembly): only the
    checks are skipped.
``L1 only``
    The same stacks, resources and outputs declared by hand with ``aws_cdk`` L1
    ``Cfn*`` classes (plus ``Stack``, ``CfnOutput``, ``Fn`` and ``Aws``), as someone
    writing CloudFormation without the constructs would. It reads the same config dict
    without pydantic, imports neither ``stacks``, ``sagemaker_constructs`` nor
    ``cdk_nag``, and runs no compliance checks. Like the library it gives every role a
    customer-managed policy (never inline) and every team role the team's permissions
    boundary. Deliberate differences: the custom resource that empties the VPC's
    default security group gets an inline (``ZipFile``) Python handler, where
    aws-cdk-lib stages a file asset into the output directory (and that handler's role
    may also describe security groups); the cross-stack values use
    ``Fn::GetStackOutput`` written out, where the library's stacks get it from CDK's
    weak cross-stack references (the ``@aws-cdk/core:defaultCrossStackReferences`` flag
    of ``cdk.json``); and logical IDs are the construct IDs, without CDK's hash suffix.

For 1 team (and every other size measured) the resource types per stack and the number
of outputs of both variants' templates are compared, and one line per size says
whether they match. A second line counts the library's resources that the L1 app
declares identically, modulo logical IDs, CDK's names for cross-stack outputs and
metadata (``normalized_resources``): every resource of the team stacks does (held by
``tests/test_benchmark_l1.py``); the platform stack's fixed resources differ in the
ways listed above and in CDK's tags and construct-path names.

How it is measured:

* Every (size, variant) run is a fresh Python process (this script with the hidden
  ``--one SIZE VARIANT`` option), so neither Python nor the jsii kernel carries memory
  or warm caches from one run to the next. Runs are interleaved (every variant once,
  then every variant again) so drift on the machine spreads over all variants.
* Apps are built as ``cdk synth`` would build them: ``aws_cdk.App`` with the
  ``context`` of ``cdk.json`` (the feature flags), ``analytics_reporting`` from its
  ``versionReporting`` and a temporary ``outdir``. The environment is passed through
  unchanged, so ``CDK_VALIDATION=false`` (which the tests set) switches off
  aws-cdk-lib's own template validation for every variant; by default it runs, as in
  ``cdk synth``, and costs about 2 s of every synth whatever the size.
* *import s*: importing what the variant needs (``aws_cdk`` and its modules, and for
  the library ``stacks``, hence ``cdk_nag`` and pydantic) plus, for the library,
  validating the config. Not part of the synth time.
* *synth s*: wall time (``time.perf_counter``) from just before ``aws_cdk.App(...)``
  to the return of ``app.synth()``: constructing every construct and writing the cloud
  assembly, including the validations that run inside ``synth`` (aws-cdk-lib's own and,
  in the first variant, cdk-nag).
* *peak MiB* = *Python MiB* + *node MiB*: the lifetime peak resident set size (RSS)
  of the Python process plus that of each process it started, which are the jsii
  runtime's two ``node`` processes: a small launcher and the kernel that holds every
  construct. Python's peak is ``getrusage(RUSAGE_SELF).ru_maxrss``. For node:

  1. right after ``app.synth()`` returns, ``VmHWM`` (peak RSS so far) is read from
     ``/proc/<pid>/status`` of every descendant, found through
     ``/proc/<pid>/task/*/children``;
  2. the jsii kernel is then stopped the way the jsii runtime stops it at exit (its
     ``stop()``; a private jsii API, so the script falls back to step 1 alone if it
     moves), and ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is read: the lifetime peak
     of the largest descendant, i.e. the kernel. The kernel goes on growing for a
     moment after ``synth`` returns (V8's garbage collector and compiler work in the
     background), by tens of MiB, and that memory is as real to the machine as any.
     The kernel's ``VmHWM`` from step 1 is replaced by this larger value.

  ``RUSAGE_CHILDREN`` alone is not enough: it gives the largest single descendant,
  not their sum, and only once they have exited. The total is a sum of per-process
  peaks, so it can exceed the largest total resident at one instant, by little: the
  launcher and Python hardly change during synth. It includes everything the process
  loaded (Python modules, the jsii assemblies), which is most of it at small sizes.
* Each size and variant is run ``--repeat`` times (default 3 below 100 teams, 1 from
  100 up) and the table shows the median of each measure (*peak MiB* is the median of
  the runs' totals, so it need not be the sum of the two medians beside it). The
  ratios are each variant's median over that of L1 only, for the same size.

Linux only (``/proc``). Run on an otherwise idle machine; jsii's node process runs on a
second core alongside Python, so at least 2 cores keep the two from competing.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import ipaddress
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Set before aws_cdk is imported: the jsii runtime starts with this environment.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

LIBRARY = "library"
LIBRARY_NO_NAG = "library-no-nag"
L1_ONLY = "l1"
VARIANTS = {
    LIBRARY: "library + cdk-nag",
    LIBRARY_NO_NAG: "library, no cdk-nag",
    L1_ONLY: "L1 only",
}
DEFAULT_SIZES = (1, 10, 100, 300)
NOTEBOOKS_PER_TEAM = 3  # users u1, u2 and u3 of make_config
INSTANCE_TYPES = ("ml.t3.medium", "ml.m5.xlarge", "ml.g5.xlarge")
VOLUME_SIZES_GIB = (20, 50, 100, 200)
PREFIX = "sagemaker"
RESULT_MARKER = "SYNTH_SCALE_RESULT "
# Keys of the result that hold measures (medians are taken of these).
MEASURES = ("import_s", "synth_s", "cpu_s", "python_kib", "node_kib", "peak_kib")


# --- the benchmark config -----------------------------------------------------------


def make_config(teams: int) -> dict[str, Any]:
    """A platform config with ``teams`` teams of 3 notebooks each, in the config-file schema.

    Every team sets all of its notebook defaults and two of its three users override one
    of them, so team defaults and per-notebook overrides are both exercised. Instance
    types and volume sizes vary from team to team.
    """
    team_list = []
    for number in range(1, teams + 1):
        default_type = INSTANCE_TYPES[number % len(INSTANCE_TYPES)]
        override_type = INSTANCE_TYPES[(number + 1) % len(INSTANCE_TYPES)]
        default_volume = VOLUME_SIZES_GIB[number % len(VOLUME_SIZES_GIB)]
        team_list.append(
            {
                "name": f"team-{number:03d}",
                "cost_center": f"cc-{1000 + number}",
                "notebook_defaults": {
                    "instance_type": default_type,
                    "volume_size_gib": default_volume,
                    "platform_identifier": "notebook-al2023-v1",
                },
                "notebooks": [
                    {"user": "u1"},
                    {"user": "u2", "volume_size_gib": default_volume * 2},
                    {"user": "u3", "instance_type": override_type},
                ],
            }
        )
    return {
        "platform": {
            "prefix": PREFIX,
            "network": {"cidr": "10.40.0.0/16", "max_azs": 2},
            "log_retention_days": 365,
            "tags": {"managed-by": "sagemaker-constructs"},
        },
        "teams": team_list,
    }


def cdk_settings() -> tuple[dict[str, Any], bool]:
    """The ``context`` of cdk.json and whether it asks for version (analytics) reporting."""
    cdk_json = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))
    return cdk_json["context"], bool(cdk_json.get("versionReporting", True))


# --- the L1-only app ----------------------------------------------------------------


# Empties the VPC's default security group, like the handler aws-cdk-lib ships for
# ``restrict_default_security_group``. Written inline, as a hand-written template would.
RESTRICT_DEFAULT_SG_HANDLER = """\
import boto3
import cfnresponse


def handler(event, context):
    try:
        group_id = event["ResourceProperties"]["DefaultSecurityGroupId"]
        if event["RequestType"] != "Delete":
            ec2 = boto3.client("ec2")
            group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
            if group["IpPermissions"]:
                ec2.revoke_security_group_ingress(
                    GroupId=group_id, IpPermissions=group["IpPermissions"]
                )
            if group["IpPermissionsEgress"]:
                ec2.revoke_security_group_egress(
                    GroupId=group_id, IpPermissions=group["IpPermissionsEgress"]
                )
        cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, group_id)
    except Exception as exc:
        cfnresponse.send(event, context, cfnresponse.FAILED, {"Error": str(exc)})
"""

# The services notebook and Studio roles use, which the permissions boundary allows.
BOUNDARY_SERVICE_ACTIONS = (
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
INTERFACE_ENDPOINTS = ("notebook", "sagemaker.api", "sagemaker.runtime", "sts", "logs", "kms")
NOTEBOOK_LOG_GROUP = "/aws/sagemaker/NotebookInstances"


def build_l1_app(app: Any, config: dict[str, Any]) -> None:
    """Declare the platform stack and one stack per team with L1 resources only."""
    import aws_cdk as cdk
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_logs as logs
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_sagemaker as sagemaker

    settings = config["platform"]
    common_tags = dict(settings.get("tags", {}))
    retention = settings["log_retention_days"]
    network = settings["network"]
    retain = cdk.RemovalPolicy.RETAIN
    account_root = f"arn:{cdk.Aws.PARTITION}:iam::{cdk.Aws.ACCOUNT_ID}:root"

    def tags(*extra: dict[str, str]) -> list[cdk.CfnTag]:
        merged = dict(common_tags)
        for more in extra:
            merged.update(more)
        return [cdk.CfnTag(key=k, value=v) for k, v in sorted(merged.items())]

    def document(*statements: dict[str, Any]) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": list(statements)}

    def assume_role(service: str) -> dict[str, Any]:
        return document(
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        )

    def key(
        scope: cdk.Stack,
        id: str,
        description: str,
        key_tags: dict[str, str],
        *extra_statements: dict[str, Any],
    ) -> kms.CfnKey:
        root = {
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": "kms:*",
            "Resource": "*",
        }
        new_key = kms.CfnKey(
            scope,
            id,
            description=description,
            enable_key_rotation=True,
            rotation_period_in_days=365,
            pending_window_in_days=30,
            key_policy=document(root, *extra_statements),
            tags=tags(key_tags),
        )
        new_key.apply_removal_policy(retain)
        return new_key

    def deny(sid: str, action: str | list[str], condition: dict | None) -> dict[str, Any]:
        statement = {"Sid": sid, "Effect": "Deny", "Action": action, "Resource": "*"}
        if condition:
            statement["Condition"] = condition
        return statement

    def tls_only(bucket: s3.CfnBucket) -> dict[str, Any]:
        return {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": [bucket.attr_arn, f"{bucket.attr_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }

    # --- platform stack: network, shared key, log groups, access-logs bucket ---------
    platform = cdk.Stack(
        app,
        f"{PREFIX}-platform",
        description="SageMaker notebook platform: network, shared key, log groups",
    )
    shared_key = key(
        platform,
        "SharedKey",
        "Encrypts the SageMaker platform's log groups",
        {},
        {
            "Sid": "AllowCloudWatchLogsForThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{cdk.Aws.REGION}.amazonaws.com"},
            "Action": [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
                "kms:GenerateDataKey",
                "kms:DescribeKey",
            ],
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{cdk.Aws.PARTITION}:logs:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:log-group:*"
                    )
                }
            },
        },
    )

    vpc = ec2.CfnVPC(
        platform,
        "Vpc",
        cidr_block=network["cidr"],
        enable_dns_hostnames=True,
        enable_dns_support=True,
        instance_tenancy="default",
        tags=tags({"Name": f"{platform.stack_name}/Vpc"}),
    )
    # One isolated /20 subnet per Availability Zone, as the library's VPC lays them out.
    subnet_cidrs = list(ipaddress.ip_network(network["cidr"]).subnets(new_prefix=20))
    subnets: list[ec2.CfnSubnet] = []
    route_tables: list[ec2.CfnRouteTable] = []
    for index, cidr in enumerate(subnet_cidrs[: network["max_azs"]]):
        name = f"NotebooksSubnet{index + 1}"
        subnet = ec2.CfnSubnet(
            platform,
            f"{name}Subnet",
            vpc_id=vpc.ref,
            cidr_block=str(cidr),
            availability_zone=cdk.Fn.select(index, cdk.Fn.get_azs()),
            map_public_ip_on_launch=False,
            tags=tags({"Name": f"{platform.stack_name}/{name}"}),
        )
        route_table = ec2.CfnRouteTable(
            platform,
            f"{name}RouteTable",
            vpc_id=vpc.ref,
            tags=tags({"Name": f"{platform.stack_name}/{name}"}),
        )
        ec2.CfnSubnetRouteTableAssociation(
            platform,
            f"{name}RouteTableAssociation",
            subnet_id=subnet.ref,
            route_table_id=route_table.ref,
        )
        subnets.append(subnet)
        route_tables.append(route_table)

    restrict_role = iam.CfnRole(
        platform,
        "RestrictDefaultSgRole",
        assume_role_policy_document=assume_role("lambda.amazonaws.com"),
        managed_policy_arns=[
            f"arn:{cdk.Aws.PARTITION}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        ],
        policies=[
            iam.CfnRole.PolicyProperty(
                policy_name="Inline",
                policy_document=document(
                    {
                        "Effect": "Allow",
                        "Action": [
                            "ec2:AuthorizeSecurityGroupIngress",
                            "ec2:AuthorizeSecurityGroupEgress",
                            "ec2:RevokeSecurityGroupIngress",
                            "ec2:RevokeSecurityGroupEgress",
                        ],
                        "Resource": f"arn:{cdk.Aws.PARTITION}:ec2:{cdk.Aws.REGION}:"
                        f"{cdk.Aws.ACCOUNT_ID}:security-group/"
                        f"{vpc.attr_default_security_group}",
                    },
                    {"Effect": "Allow", "Action": "ec2:DescribeSecurityGroups", "Resource": "*"},
                ),
            )
        ],
    )
    restrict_handler = lambda_.CfnFunction(
        platform,
        "RestrictDefaultSgHandler",
        description="Removes all inbound/outbound rules from the VPC default security group",
        runtime="python3.12",
        handler="index.handler",
        timeout=900,
        memory_size=128,
        role=restrict_role.attr_arn,
        code=lambda_.CfnFunction.CodeProperty(zip_file=RESTRICT_DEFAULT_SG_HANDLER),
    )
    cdk.CfnResource(
        platform,
        "RestrictDefaultSecurityGroup",
        type="Custom::VpcRestrictDefaultSG",
        properties={
            "ServiceToken": restrict_handler.attr_arn,
            "DefaultSecurityGroupId": vpc.attr_default_security_group,
            "Account": cdk.Aws.ACCOUNT_ID,
        },
    ).apply_removal_policy(cdk.RemovalPolicy.DESTROY)

    notebook_sg = ec2.CfnSecurityGroup(
        platform,
        "NotebookSecurityGroup",
        vpc_id=vpc.ref,
        group_description="SageMaker notebooks: HTTPS out to VPC endpoints only, no inbound",
        security_group_egress=[
            ec2.CfnSecurityGroup.EgressProperty(
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                cidr_ip="0.0.0.0/0",
                description="HTTPS to S3 via the gateway endpoint (no internet route)",
            )
        ],
        tags=tags(),
    )
    endpoint_sg = ec2.CfnSecurityGroup(
        platform,
        "EndpointSecurityGroup",
        vpc_id=vpc.ref,
        group_description="VPC interface endpoints: HTTPS from the notebook security group only",
        # Without an egress rule CloudFormation allows all outbound traffic; this rule
        # matches nothing.
        security_group_egress=[
            ec2.CfnSecurityGroup.EgressProperty(
                ip_protocol="icmp",
                from_port=252,
                to_port=86,
                cidr_ip="255.255.255.255/32",
                description="Disallow all traffic",
            )
        ],
        tags=tags(),
    )
    ec2.CfnSecurityGroupEgress(
        platform,
        "NotebookToEndpointsHttps",
        group_id=notebook_sg.attr_group_id,
        destination_security_group_id=endpoint_sg.attr_group_id,
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        description="HTTPS to the interface endpoints",
    )
    ec2.CfnSecurityGroupIngress(
        platform,
        "EndpointsFromNotebooksHttps",
        group_id=endpoint_sg.attr_group_id,
        source_security_group_id=notebook_sg.attr_group_id,
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        description="HTTPS from notebooks",
    )
    for name in INTERFACE_ENDPOINTS:
        service = (
            f"aws.sagemaker.{cdk.Aws.REGION}.notebook"
            if name == "notebook"
            else f"com.amazonaws.{cdk.Aws.REGION}.{name}"
        )
        ec2.CfnVPCEndpoint(
            platform,
            f"Endpoint-{name}",
            vpc_id=vpc.ref,
            service_name=service,
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=[s.ref for s in subnets],
            security_group_ids=[endpoint_sg.attr_group_id],
            tags=tags(),
        )
    ec2.CfnVPCEndpoint(
        platform,
        "S3Endpoint",
        vpc_id=vpc.ref,
        service_name=f"com.amazonaws.{cdk.Aws.REGION}.s3",
        vpc_endpoint_type="Gateway",
        route_table_ids=[rt.ref for rt in route_tables],
        tags=tags({"Name": f"{platform.stack_name}/Vpc"}),
    )

    flow_log_group = logs.CfnLogGroup(
        platform,
        "FlowLogGroup",
        kms_key_id=shared_key.attr_arn,
        retention_in_days=retention,
        tags=tags(),
    )
    flow_log_group.apply_removal_policy(retain)
    flow_log_role = iam.CfnRole(
        platform,
        "FlowLogRole",
        assume_role_policy_document=assume_role("vpc-flow-logs.amazonaws.com"),
        description="Delivers the notebook VPC's flow logs to CloudWatch Logs",
        tags=tags(),
    )
    # Customer-managed rather than inline: the HIPAA/NIST/PCI packs reject inline policies.
    iam.CfnManagedPolicy(
        platform,
        "FlowLogPolicy",
        description="Write the notebook VPC's flow logs to their log group",
        path="/",
        roles=[flow_log_role.ref],
        policy_document=document(
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                "Resource": flow_log_group.attr_arn,
            }
        ),
    )
    ec2.CfnFlowLog(
        platform,
        "FlowLog",
        resource_id=vpc.ref,
        resource_type="VPC",
        traffic_type="ALL",
        log_destination_type="cloud-watch-logs",
        log_group_name=flow_log_group.ref,
        deliver_logs_permission_arn=flow_log_role.attr_arn,
        tags=tags({"Name": f"{platform.stack_name}/FlowLog"}),
    )
    logs.CfnLogGroup(
        platform,
        "NotebookLogGroup",
        log_group_name=NOTEBOOK_LOG_GROUP,
        kms_key_id=shared_key.attr_arn,
        retention_in_days=retention,
        tags=tags(),
    ).apply_removal_policy(retain)

    access_logs = s3.CfnBucket(
        platform,
        "AccessLogsBucket",
        bucket_encryption=s3.CfnBucket.BucketEncryptionProperty(
            server_side_encryption_configuration=[
                s3.CfnBucket.ServerSideEncryptionRuleProperty(
                    server_side_encryption_by_default=(
                        s3.CfnBucket.ServerSideEncryptionByDefaultProperty(sse_algorithm="AES256")
                    )
                )
            ]
        ),
        public_access_block_configuration=s3.CfnBucket.PublicAccessBlockConfigurationProperty(
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        ),
        versioning_configuration=s3.CfnBucket.VersioningConfigurationProperty(status="Enabled"),
        ownership_controls=s3.CfnBucket.OwnershipControlsProperty(
            rules=[
                s3.CfnBucket.OwnershipControlsRuleProperty(object_ownership="BucketOwnerEnforced")
            ]
        ),
        lifecycle_configuration=s3.CfnBucket.LifecycleConfigurationProperty(
            rules=[
                s3.CfnBucket.RuleProperty(
                    status="Enabled",
                    expiration_in_days=retention,
                    noncurrent_version_expiration=(
                        s3.CfnBucket.NoncurrentVersionExpirationProperty(noncurrent_days=30)
                    ),
                )
            ]
        ),
        tags=tags(),
    )
    access_logs.apply_removal_policy(retain)
    s3.CfnBucketPolicy(
        platform,
        "AccessLogsBucketPolicy",
        bucket=access_logs.ref,
        policy_document=document(
            tls_only(access_logs),
            {
                "Sid": "S3ServerAccessLogsFromThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{access_logs.attr_arn}/*",
                "Condition": {"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
            },
            {
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": [f"{access_logs.attr_arn}/{t['name']}/*" for t in config["teams"]],
            },
        ),
    )

    # Outputs the team stacks read with Fn::GetStackOutput.
    shared_outputs = {
        "AccessLogsBucketName": access_logs.ref,
        "NotebookSecurityGroupId": notebook_sg.attr_group_id,
    }
    shared_outputs.update({f"NotebookSubnet{i + 1}Id": s.ref for i, s in enumerate(subnets)})
    for name, value in shared_outputs.items():
        cdk.CfnOutput(platform, name, value=value)

    def from_platform(output: str) -> str:
        return cdk.Fn.get_stack_output(platform.stack_name, output, region=cdk.Aws.REGION)

    # --- one stack per team: key, bucket, policies, roles, notebooks -----------------
    on_start = (ROOT / "lifecycle_scripts" / "register_kernels.sh").read_bytes()
    for team in config["teams"]:
        team_name = team["name"]
        stack_name = f"{PREFIX}-team-{team_name}"
        team_tags = {"team": team_name}
        if team.get("cost_center"):
            team_tags["cost-center"] = team["cost_center"]
        stack = cdk.Stack(app, stack_name, description=f"SageMaker notebooks of team {team_name}")
        stack.add_stack_dependency(platform)

        team_key = key(
            stack, "Key", f"Encrypts team {team_name}'s data and notebook volumes", team_tags
        )
        kms.CfnAlias(
            stack,
            "KeyAlias",
            alias_name=f"alias/{PREFIX}/{team_name}",
            target_key_id=team_key.attr_arn,
        )
        bucket = s3.CfnBucket(
            stack,
            "DataBucket",
            bucket_encryption=s3.CfnBucket.BucketEncryptionProperty(
                server_side_encryption_configuration=[
                    s3.CfnBucket.ServerSideEncryptionRuleProperty(
                        bucket_key_enabled=True,
                        server_side_encryption_by_default=(
                            s3.CfnBucket.ServerSideEncryptionByDefaultProperty(
                                sse_algorithm="aws:kms", kms_master_key_id=team_key.attr_arn
                            )
                        ),
                    )
                ]
            ),
            logging_configuration=s3.CfnBucket.LoggingConfigurationProperty(
                destination_bucket_name=from_platform("AccessLogsBucketName"),
                log_file_prefix=f"{team_name}/",
            ),
            public_access_block_configuration=(
                s3.CfnBucket.PublicAccessBlockConfigurationProperty(
                    block_public_acls=True,
                    block_public_policy=True,
                    ignore_public_acls=True,
                    restrict_public_buckets=True,
                )
            ),
            versioning_configuration=s3.CfnBucket.VersioningConfigurationProperty(status="Enabled"),
            ownership_controls=s3.CfnBucket.OwnershipControlsProperty(
                rules=[
                    s3.CfnBucket.OwnershipControlsRuleProperty(
                        object_ownership="BucketOwnerEnforced"
                    )
                ]
            ),
            tags=tags(team_tags),
        )
        bucket.apply_removal_policy(retain)
        s3.CfnBucketPolicy(
            stack, "DataBucketPolicy", bucket=bucket.ref, policy_document=document(tls_only(bucket))
        )
        lifecycle = sagemaker.CfnNotebookInstanceLifecycleConfig(
            stack,
            "LifecycleConfig",
            notebook_instance_lifecycle_config_name=f"{PREFIX}-{team_name}",
            on_start=[
                sagemaker.CfnNotebookInstanceLifecycleConfig.NotebookInstanceLifecycleHookProperty(
                    content=base64.b64encode(on_start).decode("ascii")
                )
            ],
            tags=tags(team_tags),
        )

        # Caps every role of the team: notebooks only without internet or root, in the
        # platform's subnets, with a volume key (and of an allowed type, with guardrails).
        boundary_statements: list[dict[str, Any]] = [
            {
                "Sid": "AllowOnlyNotebookServices",
                "Effect": "Allow",
                "Action": sorted(BOUNDARY_SERVICE_ACTIONS),
                "Resource": "*",
            },
            deny(
                "DenyNotebookWithDirectInternet",
                "sagemaker:CreateNotebookInstance",
                {"StringNotEquals": {"sagemaker:DirectInternetAccess": "Disabled"}},
            ),
            deny(
                "DenyNotebookWithRootAccess",
                "sagemaker:CreateNotebookInstance",
                {"StringNotEquals": {"sagemaker:RootAccess": "Disabled"}},
            ),
            deny(
                "DenyEnablingRootAccess",
                "sagemaker:UpdateNotebookInstance",
                {"StringNotEqualsIfExists": {"sagemaker:RootAccess": "Disabled"}},
            ),
            deny(
                "DenyNotebookOutsidePlatformSubnets",
                "sagemaker:CreateNotebookInstance",
                {
                    "ForAnyValue:StringNotEquals": {
                        "sagemaker:VpcSubnets": [
                            from_platform(f"NotebookSubnet{i + 1}Id") for i in range(len(subnets))
                        ]
                    }
                },
            ),
            deny(
                "DenyNotebookWithoutSubnet",
                "sagemaker:CreateNotebookInstance",
                {"Null": {"sagemaker:VpcSubnets": "true"}},
            ),
            deny(
                "DenyNotebookWithoutVolumeKey",
                "sagemaker:CreateNotebookInstance",
                {"Null": {"sagemaker:VolumeKmsKey": "true"}},
            ),
        ]
        allowed_types = (team.get("guardrails") or settings.get("guardrails") or {}).get(
            "allowed_instance_types"
        )
        if allowed_types:
            boundary_statements.insert(
                1,
                deny(
                    "DenyInstanceTypesNotAllowed",
                    ["sagemaker:CreateNotebookInstance", "sagemaker:UpdateNotebookInstance"],
                    {"ForAnyValue:StringNotEquals": {"sagemaker:InstanceTypes": allowed_types}},
                ),
            )
        boundary_statements.append(
            deny(
                "DenyChangingBoundaries",
                [
                    "iam:DeleteRolePermissionsBoundary",
                    "iam:DeleteUserPermissionsBoundary",
                    "iam:PutRolePermissionsBoundary",
                    "iam:PutUserPermissionsBoundary",
                ],
                None,
            )
        )
        boundary = iam.CfnManagedPolicy(
            stack,
            "PermissionsBoundary",
            description="Permissions boundary: notebooks only without internet or root, in "
            "the platform's subnets, with a volume key and an allowed instance type",
            path="/",
            policy_document=document(*boundary_statements),
        )

        roles: list[iam.CfnRole] = []
        log_group_arn = (
            f"arn:{cdk.Aws.PARTITION}:logs:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:"
            f"log-group:{NOTEBOOK_LOG_GROUP}"
        )
        for index, notebook in enumerate(team["notebooks"]):
            user = notebook["user"]
            name = f"{team_name}-{user}"
            resolved = {**team["notebook_defaults"], **notebook}
            role = iam.CfnRole(
                stack,
                f"Notebook-{user}-Role",
                assume_role_policy_document=assume_role("sagemaker.amazonaws.com"),
                description=f"Execution role of SageMaker notebook {name}",
                permissions_boundary=boundary.ref,
                tags=tags(team_tags, {"owner": user}),
            )
            roles.append(role)
            policy = iam.CfnManagedPolicy(
                stack,
                f"Notebook-{user}-Policy",
                description=f"Least-privilege permissions of SageMaker notebook {name}",
                path="/",
                roles=[role.ref],
                policy_document=document(
                    {
                        "Sid": "WriteOwnLogStreams",
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": f"{log_group_arn}:log-stream:{name}/*",
                    },
                    {
                        "Sid": "DescribeNotebookLogStreams",
                        "Effect": "Allow",
                        "Action": "logs:DescribeLogStreams",
                        "Resource": f"{log_group_arn}:*",
                    },
                    {
                        "Sid": "UseVolumeKey",
                        "Effect": "Allow",
                        "Action": [
                            "kms:Decrypt",
                            "kms:DescribeKey",
                            "kms:Encrypt",
                            "kms:GenerateDataKey",
                            "kms:ReEncryptFrom",
                            "kms:ReEncryptTo",
                        ],
                        "Resource": team_key.attr_arn,
                    },
                    {
                        "Sid": "GrantVolumeKeyToAwsServices",
                        "Effect": "Allow",
                        "Action": "kms:CreateGrant",
                        "Resource": team_key.attr_arn,
                        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                    },
                ),
            )
            instance = sagemaker.CfnNotebookInstance(
                stack,
                f"Notebook-{user}",
                notebook_instance_name=name,
                instance_type=resolved["instance_type"],
                volume_size_in_gb=resolved["volume_size_gib"],
                platform_identifier=resolved["platform_identifier"],
                role_arn=role.attr_arn,
                kms_key_id=team_key.attr_arn,
                subnet_id=from_platform(f"NotebookSubnet{index % len(subnets) + 1}Id"),
                security_group_ids=[from_platform("NotebookSecurityGroupId")],
                direct_internet_access="Disabled",
                root_access="Disabled",
                instance_metadata_service_configuration=(
                    sagemaker.CfnNotebookInstance.InstanceMetadataServiceConfigurationProperty(
                        minimum_instance_metadata_service_version="2"
                    )
                ),
                lifecycle_config_name=lifecycle.attr_notebook_instance_lifecycle_config_name,
                tags=tags(team_tags, {"owner": user}),
            )
            instance.add_resource_dependency(policy)
            instance.apply_removal_policy(retain)
            cdk.CfnOutput(
                stack, f"Notebook-{user}-Name", value=name, description="Notebook instance name"
            )
            cdk.CfnOutput(
                stack,
                f"Notebook-{user}-ConsoleUrl",
                value=f"https://{cdk.Aws.REGION}.console.aws.amazon.com/sagemaker/home"
                f"?region={cdk.Aws.REGION}#/notebook-instances/{name}",
                description=f"Console page of notebook {name} (open Jupyter from there)",
            )

        iam.CfnManagedPolicy(
            stack,
            "DataAccessPolicy",
            description=f"Read/write team {team_name}'s data bucket and use its key",
            path="/",
            roles=[r.ref for r in roles],
            policy_document=document(
                {
                    "Sid": "ListTeamBucket",
                    "Effect": "Allow",
                    "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                    "Resource": bucket.attr_arn,
                },
                {
                    "Sid": "ReadWriteTeamObjects",
                    "Effect": "Allow",
                    "Action": [
                        "s3:AbortMultipartUpload",
                        "s3:DeleteObject",
                        "s3:GetObject",
                        "s3:PutObject",
                    ],
                    "Resource": f"{bucket.attr_arn}/*",
                },
                {
                    "Sid": "UseTeamKey",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                    "Resource": team_key.attr_arn,
                },
            ),
        )


# --- one measured run (child process) ---------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every process started by ``pid``, directly or not (Linux ``/proc``)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            try:
                children = (task / "children").read_text().split()
            except FileNotFoundError:  # the thread ended meanwhile
                continue
            for child in map(int, children):
                found.append(child)
                pending.append(child)
    return found


def cpu_s(pids: Sequence[int]) -> float:
    """CPU seconds (user + system) used so far by the live processes ``pids`` (``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # ended meanwhile
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def peak_rss_kib(pid: int) -> int:
    """``VmHWM`` (peak resident set size) of a live process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def normalized_resources(
    template: dict[str, Any], exports: dict[tuple[str, str], Any] | None = None
) -> list[tuple[str, str]]:
    """``(type, digest)`` of each resource with logical IDs replaced by the referenced types.

    ``Ref``/``Fn::GetAtt`` of a resource of the same template name its type instead of
    its logical ID (CDK's IDs carry a hash, the L1 app's do not), ``DependsOn`` lists
    types, ``Fn::GetStackOutput`` is replaced by the normalized value of the output it
    reads (``exports``: by stack and output name; CDK names its outputs, the L1 app its
    own), and ``Metadata`` (construct paths, cdk-nag acknowledgments) is dropped. Two
    resources with the same digest declare the same thing.
    """
    resources = template.get("Resources", {})
    types = {name: resource["Type"] for name, resource in resources.items()}
    exports = exports or {}

    def normal(value: Any) -> Any:
        if isinstance(value, dict):
            if list(value) == ["Fn::GetStackOutput"]:
                read = value["Fn::GetStackOutput"]
                key = (read.get("StackName"), read.get("OutputName"))
                if key in exports:
                    return {"Fn::GetStackOutput": exports[key]}
            if list(value) == ["Ref"] and value["Ref"] in types:
                return {"Ref": types[value["Ref"]]}
            if list(value) == ["Fn::GetAtt"] and value["Fn::GetAtt"][0] in types:
                return {"Fn::GetAtt": [types[value["Fn::GetAtt"][0]], value["Fn::GetAtt"][1]]}
            return {key: normal(item) for key, item in value.items()}
        if isinstance(value, list):
            return [normal(item) for item in value]
        return value

    found = []
    for declared in resources.values():
        resource = {k: v for k, v in declared.items() if k != "Metadata"}
        if "DependsOn" in resource:
            depends = resource["DependsOn"]
            depends = depends if isinstance(depends, list) else [depends]
            resource["DependsOn"] = sorted(types.get(d, d) for d in depends)
        text = json.dumps(normal(resource), sort_keys=True)
        found.append((resource["Type"], hashlib.sha256(text.encode()).hexdigest()[:16]))
    return found


def content(outdir: Path) -> dict[str, list[tuple[str, str]]]:
    """Per stack: :func:`normalized_resources` of its template."""
    templates = {
        path.name.removesuffix(".template.json"): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(outdir.glob("*.template.json"))
    }
    exports: dict[tuple[str, str], Any] = {}
    for stack, template in templates.items():
        types = {name: r["Type"] for name, r in template.get("Resources", {}).items()}
        for name, output in template.get("Outputs", {}).items():
            value = output.get("Value")
            if isinstance(value, dict) and list(value) == ["Ref"]:
                value = {"Ref": types.get(value["Ref"], value["Ref"])}
            elif isinstance(value, dict) and list(value) == ["Fn::GetAtt"]:
                target, attribute = value["Fn::GetAtt"]
                value = {"Fn::GetAtt": [types.get(target, target), attribute]}
            exports[(stack, name)] = value
    return {stack: normalized_resources(t, exports) for stack, t in templates.items()}


def compare_content(teams: int, library: dict, l1: dict) -> str:
    """One line: how many resources both variants declare identically (modulo IDs)."""
    same = total = 0
    differing: Counter[str] = Counter()
    for stack in sorted(set(library) | set(l1)):
        ours = Counter(map(tuple, library.get(stack, [])))
        theirs = Counter(map(tuple, l1.get(stack, [])))
        total += sum(ours.values())
        same += sum((ours & theirs).values())
        for kind, _ in (ours - theirs).elements():
            differing[kind] += 1
    detail = ", ".join(f"{kind} {n}" for kind, n in sorted(differing.items()))
    return (
        f"Resource content, {plural(teams, 'team')}: {same} of {total} library resources "
        "declared identically by L1 only (modulo logical IDs and metadata)"
        + (f"; differing: {detail}" if detail else "")
    )


def count_resources(outdir: Path) -> dict[str, dict[str, int]]:
    """Per stack: how many resources of each type its template declares, and its outputs."""
    counts: dict[str, dict[str, int]] = {}
    for path in sorted(outdir.glob("*.template.json")):
        template = json.loads(path.read_text(encoding="utf-8"))
        per_type = Counter(r["Type"] for r in template.get("Resources", {}).values())
        per_type["(outputs)"] = len(template.get("Outputs", {}))
        counts[path.name.removesuffix(".template.json")] = dict(per_type)
    return counts


def run_one(teams: int, variant: str) -> dict[str, Any]:
    """Build and synthesize one app in this process and measure it."""
    config_data = make_config(teams)
    context, version_reporting = cdk_settings()

    import_start = time.perf_counter()
    import aws_cdk as cdk

    if variant == L1_ONLY:
        # Imported here so that, as for the library, no module import is timed as synth.
        from aws_cdk import (  # noqa: F401
            aws_ec2,
            aws_iam,
            aws_kms,
            aws_lambda,
            aws_logs,
            aws_s3,
            aws_sagemaker,
        )

        def build(app: cdk.App) -> None:
            build_l1_app(app, config_data)
    else:
        sys.path.insert(0, str(ROOT))
        from sagemaker_constructs.governance import register_compliance_checks
        from stacks import build_app, parse_config

        config = parse_config(config_data, f"<generated: {teams} teams>")

        def build(app: cdk.App) -> None:
            build_app(app, config)
            if variant == LIBRARY:
                register_compliance_checks(app)

    import_s = time.perf_counter() - import_start

    with tempfile.TemporaryDirectory(prefix="synth-scale-") as outdir:
        kernel = descendants(os.getpid())
        cpu_start = time.process_time() + cpu_s(kernel)
        start = time.perf_counter()
        app = cdk.App(context=context, outdir=outdir, analytics_reporting=version_reporting)
        build(app)
        app.synth()
        synth_s = time.perf_counter() - start
        synth_cpu_s = time.process_time() + cpu_s(kernel) - cpu_start
        counts = count_resources(Path(outdir))
        digests = content(Path(outdir))

        # Peaks so far of the jsii runtime's processes, read while they are alive.
        live_peaks = sorted(peak_rss_kib(pid) for pid in descendants(os.getpid()))

    # The kernel keeps working (V8 garbage collection, compilation) for a moment after
    # synth returns, so its lifetime peak can exceed what was just read. Stop it, as
    # the jsii runtime does at exit, and take the largest lifetime peak among the
    # exited processes: that is the kernel's.
    children_kib = None
    try:
        from jsii._runtime import kernel

        kernel.provider._process.stop()
    except (ImportError, AttributeError):  # jsii internals changed: live peaks only
        pass
    else:
        children_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    node_kib = sum(live_peaks)
    if live_peaks and children_kib is not None:
        node_kib += max(children_kib - live_peaks[-1], 0)
    python_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    return {
        "teams": teams,
        "variant": variant,
        "import_s": import_s,
        "synth_s": synth_s,
        "cpu_s": synth_cpu_s,
        "synth_runs_s": [synth_s],
        "python_kib": python_kib,
        "node_kib": node_kib,
        "peak_kib": python_kib + node_kib,
        "node_live_peaks_kib": live_peaks,
        "rusage_children_kib": children_kib,
        "resources": counts,
        "content": digests,
    }


# --- orchestration (parent process) -----------------------------------------------------


def measure(teams: int, variant: str) -> dict[str, Any]:
    """Run this script with ``--one`` in a fresh interpreter and return its result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--one", str(teams), variant]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            return json.loads(line.removeprefix(RESULT_MARKER))
    raise RuntimeError(
        f"{teams} teams, {variant}: exit status {done.returncode}, no result\n"
        f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )


def median_run(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The first run with every measure replaced by its median over ``runs``."""
    summary = dict(runs[0])
    for key in MEASURES:
        summary[key] = statistics.median(run[key] for run in runs)
    summary["runs"] = len(runs)
    summary["synth_runs_s"] = [run["synth_s"] for run in runs]
    return summary


def total_resources(counts: dict[str, dict[str, int]]) -> int:
    return sum(n for per_type in counts.values() for t, n in per_type.items() if t != "(outputs)")


def compare_resources(teams: int, library: dict, l1: dict) -> str:
    """One line: do both variants' templates declare the same types and counts per stack?"""
    label = plural(teams, "team")
    differences = []
    for stack in sorted(set(library) | set(l1)):
        if stack not in l1 or stack not in library:
            side = "L1 only" if stack not in library else "library"
            differences.append(f"stack {stack} only in {side}")
            continue
        for kind in sorted(set(library[stack]) | set(l1[stack])):
            ours, theirs = library[stack].get(kind, 0), l1[stack].get(kind, 0)
            if ours != theirs:
                differences.append(f"{stack} {kind}: library {ours}, L1 only {theirs}")
    if differences:
        return f"Resource types, {label}: MISMATCH: " + "; ".join(differences)
    kinds = {kind for per_type in library.values() for kind in per_type} - {"(outputs)"}
    outputs = sum(per_type.get("(outputs)", 0) for per_type in library.values())
    return (
        f"Resource types, {label}: library and L1-only templates match "
        f"({len(library)} stacks, {total_resources(library)} resources of {len(kinds)} types, "
        f"{outputs} outputs)"
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def mib(kib: float) -> str:
    return f"{kib / 1024:,.0f}"


def table(summaries: dict[tuple[int, str], dict[str, Any]], sizes: Sequence[int]) -> str:
    header = (
        "| teams | notebooks | variant | resources | import s | synth s (median) | runs s "
        "| synth CPU s | Python MiB | node MiB | peak MiB | time ratio | CPU ratio "
        "| memory ratio |"
    )
    columns = header.count("|") - 1
    # Every column right-aligned but the variant's name.
    lines = [header, "|" + "|".join("---" if i == 2 else "---:" for i in range(columns)) + "|"]
    for teams in sizes:
        baseline = summaries[(teams, L1_ONLY)]
        for variant, label in VARIANTS.items():
            s = summaries[(teams, variant)]
            peak = s["peak_kib"]
            runs = ", ".join(f"{t:.2f}" for t in s["synth_runs_s"])
            lines.append(
                f"| {teams} | {teams * NOTEBOOKS_PER_TEAM} | {label} "
                f"| {total_resources(s['resources'])} | {s['import_s']:.2f} "
                f"| {s['synth_s']:.2f} | {runs} | {s['cpu_s']:.2f} "
                f"| {mib(s['python_kib'])} | {mib(s['node_kib'])} | {mib(peak)} "
                f"| {s['synth_s'] / baseline['synth_s']:.2f} "
                f"| {s['cpu_s'] / baseline['cpu_s']:.2f} | {peak / baseline['peak_kib']:.2f} |"
            )
    return "\n".join(lines)


def marginal(summaries: dict[tuple[int, str], dict[str, Any]], sizes: Sequence[int]) -> str:
    """Per-team cost between the smallest and the largest size, per variant, against L1."""
    low, high = min(sizes), max(sizes)
    if low == high:
        return ""
    lines = [f"Per-team marginal cost, {low} -> {high} teams (median synth):"]
    base = {
        m: (summaries[(high, L1_ONLY)][m] - summaries[(low, L1_ONLY)][m]) / (high - low)
        for m in ("synth_s", "cpu_s")
    }
    for variant, label in VARIANTS.items():
        wall, cpu = (
            (summaries[(high, variant)][m] - summaries[(low, variant)][m]) / (high - low)
            for m in ("synth_s", "cpu_s")
        )
        lines.append(
            f"  {label}: {wall * 1000:.0f} ms wall ({wall / base['synth_s']:.2f}x L1), "
            f"{cpu * 1000:.0f} ms CPU ({cpu / base['cpu_s']:.2f}x L1)"
        )
    return "\n".join(lines)


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = list(dict.fromkeys(int(part) for part in text.split(",") if part.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"team counts of at least 1: {text!r}")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Synth time and peak memory of the example app at several team counts, "
        "against the same resources declared with L1 classes only.",
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=list(DEFAULT_SIZES),
        help="comma-separated team counts (default: 1,10,100,300)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs per size and variant; the median is reported "
        "(default: 3 below 100 teams, 1 from 100 up)",
    )
    parser.add_argument("--one", nargs=2, metavar=("TEAMS", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:
        teams, variant = int(args.one[0]), args.one[1]
        if variant not in VARIANTS:
            parser.error(f"variant must be one of {', '.join(VARIANTS)}")
        result = run_one(teams, variant)
        print(RESULT_MARKER + json.dumps(result), flush=True)
        return 0

    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    started = time.perf_counter()
    plan = [
        (teams, variant, repeat)
        for teams in args.sizes
        for repeat in range(args.repeat or (3 if teams < 100 else 1))
        for variant in VARIANTS
    ]
    runs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for number, (teams, variant, _) in enumerate(plan, 1):
        result = measure(teams, variant)
        runs.setdefault((teams, variant), []).append(result)
        print(
            f"[{number:>{len(str(len(plan)))}}/{len(plan)}] {plural(teams, 'team')}, "
            f"{VARIANTS[variant]}: synth {result['synth_s']:.2f} s "
            f"(CPU {result['cpu_s']:.2f} s), "
            f"peak {mib(result['peak_kib'])} MiB",
            file=sys.stderr,
            flush=True,
        )

    summaries = {key: median_run(results) for key, results in runs.items()}
    print()
    print(table(summaries, args.sizes))
    print()
    print(marginal(summaries, args.sizes))
    print()
    for teams in args.sizes:
        library = summaries[(teams, LIBRARY)]["resources"]
        print(compare_resources(teams, library, summaries[(teams, L1_ONLY)]["resources"]))
        print(
            compare_content(
                teams,
                summaries[(teams, LIBRARY)]["content"],
                summaries[(teams, L1_ONLY)]["content"],
            )
        )
    if any(r["rusage_children_kib"] is None for results in runs.values() for r in results):
        print(
            "note: the jsii kernel could not be stopped early (jsii internals changed); "
            "node MiB holds the peaks read right after synth, not lifetime peaks"
        )
    elapsed = time.perf_counter() - started
    print(f"Total run time: {elapsed:.0f} s ({elapsed / 60:.1f} min), {len(plan)} synth runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
