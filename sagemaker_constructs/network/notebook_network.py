"""A VPC for notebook instances with no route to the internet."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final, Protocol, runtime_checkable

import jsii
from aws_cdk import Annotations, Aws, CfnResource, RemovalPolicy, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from sagemaker_constructs._compliance import skip_checkov
from sagemaker_constructs._defaults import allow_cloudwatch_logs, new_key, select_subnets
from sagemaker_constructs._validation import Problems

#: Interface endpoints a notebook with direct internet access disabled needs, by short name.
NOTEBOOK_ENDPOINT_SERVICES: Final[dict[str, ec2.InterfaceVpcEndpointAwsService]] = {
    "notebook": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_NOTEBOOK,
    "sagemaker.api": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
    "sagemaker.runtime": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
    "sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "kms": ec2.InterfaceVpcEndpointAwsService.KMS,
}
#: Interface endpoints a SageMaker Studio domain in ``VpcOnly`` mode needs besides the
#: notebook ones, by short name: ``aws.sagemaker.<region>.studio``, through which users on
#: networks connected to the VPC reach the Studio UI and its apps without the internet.
STUDIO_ENDPOINT_SERVICES: Final[dict[str, ec2.InterfaceVpcEndpointAwsService]] = {
    "studio": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_STUDIO,
}
#: Short name of the S3 gateway endpoint, for ``existing_endpoints``.
S3_GATEWAY: Final = "s3"
#: Every endpoint name ``existing_endpoints`` accepts.
ENDPOINT_NAMES: Final[tuple[str, ...]] = (
    *NOTEBOOK_ENDPOINT_SERVICES,
    *STUDIO_ENDPOINT_SERVICES,
    S3_GATEWAY,
)

#: Interface endpoints whose calls may reach only resources of this account (or
#: organisation): credentials of another account through STS, keys and log groups of
#: another account are the exfiltration paths the endpoint policy closes. The SageMaker
#: endpoints are left on the principal condition only, because SageMaker APIs also read
#: AWS-owned resources (public images, hub content).
_RESOURCE_SCOPED: Final = frozenset({"sts", "kms", "logs"})

_HTTPS = ec2.Port.tcp(443)
#: NFS, between Studio apps and the domain's EFS home file system.
NFS_PORT: Final = ec2.Port.tcp(2049)
NFS_DESCRIPTION: Final = "NFS within the group: Studio apps and the domain's EFS home volume"


@runtime_checkable
class INotebookNetwork(Protocol):
    """The network notebooks and Studio run in: what other constructs need of it.

    :class:`NotebookNetwork` is the implementation (it also wraps an existing VPC, adding
    only what is missing); ``PackageMirror(network=...)`` takes any object with these.
    """

    @property
    def vpc(self) -> ec2.IVpc:
        """The VPC."""
        ...

    @property
    def interface_endpoints(self) -> Mapping[str, ec2.InterfaceVpcEndpoint]:
        """The interface endpoints it added, by short service name (``"sts"``, ...)."""
        ...

    def add_interface_endpoint(
        self, name: str, service: ec2.IInterfaceVpcEndpointService
    ) -> ec2.InterfaceVpcEndpoint:
        """Add an interface endpoint reachable from the notebooks (and Studio)."""
        ...


@jsii.implements(ec2.IConnectable)
class NotebookNetwork(Construct):
    """Network for notebook instances: isolated subnets, VPC endpoints, flow logs.

    By default a new VPC is created with isolated subnets in two Availability Zones and no
    internet or NAT gateway. Notebooks reach AWS only through the VPC endpoints created
    here, whose security group admits HTTPS from :attr:`notebook_security_group` and
    nothing else. Pass ``vpc`` to wrap an existing VPC instead; list in
    ``existing_endpoints`` what it already has, and only the rest is added.

    With ``studio=True`` the network also serves a SageMaker Studio domain in ``VpcOnly``
    mode: the Studio interface endpoint, and :attr:`studio_security_group` for the
    domain's apps (HTTPS to the endpoints, NFS within the group for the EFS home volume).

    Attributes:
        vpc: The VPC the notebooks run in.
        notebook_security_group: Security group to attach to notebooks; the endpoints
            admit HTTPS from it.
        endpoint_security_group: Security group of the interface endpoints.
        interface_endpoints: The interface endpoints created, by short name.
        s3_endpoint: The S3 gateway endpoint, or ``None`` when it already existed.
        flow_log_group: Log group of the VPC flow logs, or ``None`` when disabled.
        key: KMS key encrypting the flow-log group, or ``None`` when flow logs are disabled.
        studio_security_group: Security group for Studio apps, or ``None`` without
            ``studio``.
        connections: Connections of the notebook security group (``ec2.IConnectable``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        ip_addresses: ec2.IIpAddresses | None = None,
        max_azs: int = 2,
        existing_endpoints: Sequence[str] = (),
        flow_logs: bool = True,
        flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        encryption_key: kms.IKey | None = None,
        restrict_default_security_group: bool = True,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        studio: bool = False,
        organization_id: str | None = None,
        s3_prefix_list_id: str | None = None,
        extra_s3_bucket_arns: Sequence[str] = (),
        allow_internet_routed_subnets: bool = False,
    ) -> None:
        """Create the network.

        Args:
            vpc: An existing VPC to wrap. Default: a new VPC with isolated subnets only.
            vpc_subnets: Subnets for the interface endpoints (and for notebooks placed by
                :meth:`notebook_subnets`). Default: the VPC's isolated subnets, or its
                private subnets when it has none.
            ip_addresses: CIDR allocation of a new VPC. Default: ``10.0.0.0/16``. Ignored
                when ``vpc`` is given.
            max_azs: Availability Zones of a new VPC, 2 or more. Default: 2.
            existing_endpoints: Short names of endpoints the VPC already has (one of
                :data:`ENDPOINT_NAMES`); they are not created. Default: all are created.
            flow_logs: Whether to create VPC flow logs (all traffic) to CloudWatch Logs.
                Default: created. Set ``False`` only when the VPC already has them.
            flow_log_retention: Retention of the flow-log group. Default: one year.
            encryption_key: KMS key for the flow-log group. Default: a new key with
                rotation enabled, retained on delete.
            restrict_default_security_group: Remove all rules from a new VPC's default
                security group. Default: removed.
            removal_policy: Applied to the flow-log group and a created key.
                Default: retained.
            studio: Also serve a SageMaker Studio domain in ``VpcOnly`` mode: add the
                Studio endpoint (unless ``'studio'`` is in ``existing_endpoints``) and
                :attr:`studio_security_group`. Default: notebooks only.
            organization_id: An AWS Organizations ID (``o-...``). Default: the endpoint
                policies admit only principals of this account, reaching resources of
                this account; with an ID, principals and resources of the organisation.
            s3_prefix_list_id: ID of the AWS-managed prefix list of S3 in the region
                (``com.amazonaws.<region>.s3``). Notebook and Studio groups send 443
                only to the endpoints' group and to this list. Default: no S3 egress
                rule (notebooks cannot reach S3) and a warning.
            extra_s3_bucket_arns: Bucket ARNs outside the account (or organisation) that
                notebooks may read through the S3 gateway endpoint, e.g. an AWS-owned
                OS package repository. Default: none (see docs/SECURITY.md).
            allow_internet_routed_subnets: Accept selected subnets of an existing VPC
                that route to an internet or NAT gateway (public or
                ``PRIVATE_WITH_EGRESS`` subnets). Default: a synth-time error naming
                each such subnet; with ``True``, a warning.
        """
        super().__init__(scope, id)
        problems = Problems(self)
        for i, name in enumerate(existing_endpoints):
            if name not in ENDPOINT_NAMES:
                problems.add(
                    f"existing_endpoints[{i}]", name, "one of " + ", ".join(ENDPOINT_NAMES)
                )
        if vpc is None:
            problems.integer_range("max_azs", max_azs, 2, 6)
        elif ip_addresses is not None:
            problems.add("ip_addresses", "given", "only without vpc (it sets a new VPC's CIDR)")
        if (
            vpc is not None
            and S3_GATEWAY not in existing_endpoints
            and not _route_tables_known(vpc, vpc_subnets)
        ):
            problems.add(
                "vpc",
                "a VPC whose subnets' route table IDs are unknown",
                "a VPC imported with its route table IDs (needed for the S3 gateway "
                "endpoint), or 's3' in existing_endpoints",
            )
        if (
            organization_id is not None
            and not Token.is_unresolved(organization_id)
            and not re.fullmatch(r"o-[a-z0-9]{10,32}", organization_id)
        ):
            problems.add("organization_id", organization_id, "an ID like o-a1b2c3d4e5")
        if (
            s3_prefix_list_id is not None
            and not Token.is_unresolved(s3_prefix_list_id)
            and not re.fullmatch(r"pl-[0-9a-f]{8,17}", s3_prefix_list_id)
        ):
            problems.add("s3_prefix_list_id", s3_prefix_list_id, "an ID like pl-6da54004")
        routed = _internet_routed(vpc, vpc_subnets) if vpc is not None else []
        if routed and not allow_internet_routed_subnets:
            for subnet in routed:
                problems.add(
                    "vpc_subnets",
                    f"subnet {_subnet_name(subnet)} (routes to an internet or NAT gateway)",
                    "isolated subnets, or allow_internet_routed_subnets=True",
                )
        problems.kms_key("encryption_key", encryption_key)
        problems.raise_if_any()
        if routed:
            Annotations.of(self).add_warning_v2(
                "sagemaker-constructs:network-internet-routed",
                "allow_internet_routed_subnets=True: notebooks in "
                + ", ".join(_subnet_name(s) for s in routed)
                + " can reach the internet past the VPC endpoints.",
            )
        self._organization_id = organization_id

        if vpc is None:
            vpc = ec2.Vpc(
                self,
                "Vpc",
                ip_addresses=ip_addresses or ec2.IpAddresses.cidr("10.0.0.0/16"),
                max_azs=max_azs,
                nat_gateways=0,
                subnet_configuration=[
                    ec2.SubnetConfiguration(
                        name="Notebooks",
                        subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                        cidr_mask=20,
                    )
                ],
                restrict_default_security_group=restrict_default_security_group,
            )
            _drop_redundant_depends_on(self)
        self.vpc: ec2.IVpc = vpc
        self._subnets = vpc_subnets or ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
            if vpc.isolated_subnets or not allow_internet_routed_subnets
            else ec2.SubnetType.PRIVATE_WITH_EGRESS
        )

        self.notebook_security_group = ec2.SecurityGroup(
            self,
            "NotebookSecurityGroup",
            vpc=vpc,
            description="SageMaker notebooks: HTTPS out to VPC endpoints only, no inbound",
            allow_all_outbound=False,
        )
        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=vpc,
            description="VPC interface endpoints: HTTPS from the notebook security group only",
            allow_all_outbound=False,
        )
        self.endpoint_security_group.add_ingress_rule(
            self.notebook_security_group, _HTTPS, "HTTPS from notebooks"
        )
        self.notebook_security_group.add_egress_rule(
            self.endpoint_security_group, _HTTPS, "HTTPS to the interface endpoints"
        )

        self.studio_security_group: ec2.SecurityGroup | None = None
        if studio:
            self.studio_security_group = ec2.SecurityGroup(
                self,
                "StudioSecurityGroup",
                vpc=vpc,
                description="SageMaker Studio apps: HTTPS out to VPC endpoints, NFS within",
                allow_all_outbound=False,
            )
            self.endpoint_security_group.add_ingress_rule(
                self.studio_security_group, _HTTPS, "HTTPS from Studio apps"
            )
            self.studio_security_group.add_egress_rule(
                self.endpoint_security_group, _HTTPS, "HTTPS to the interface endpoints"
            )
            self.studio_security_group.connections.allow_internally(NFS_PORT, NFS_DESCRIPTION)

        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        services = dict(NOTEBOOK_ENDPOINT_SERVICES)
        if studio:
            services.update(STUDIO_ENDPOINT_SERVICES)
        for name, service in services.items():
            if name in existing_endpoints:
                continue
            self.interface_endpoints[name] = self.add_interface_endpoint(name, service)

        self.s3_endpoint: ec2.GatewayVpcEndpoint | None = None
        if S3_GATEWAY not in existing_endpoints:
            self.s3_endpoint = vpc.add_gateway_endpoint(
                "S3Endpoint",
                service=ec2.GatewayVpcEndpointAwsService.S3,
                subnets=[self._subnets],
            )
            for statement in self._s3_statements(extra_s3_bucket_arns):
                self.s3_endpoint.add_to_policy(statement)
        if s3_prefix_list_id is not None:
            # The gateway endpoint is reached through the route table, not an ENI: the
            # egress rule names S3's prefix list, never 0.0.0.0/0.
            for group in (self.notebook_security_group, self.studio_security_group):
                if group is not None:
                    group.add_egress_rule(
                        ec2.Peer.prefix_list(s3_prefix_list_id),
                        _HTTPS,
                        "HTTPS to S3 via the gateway endpoint (S3 prefix list)",
                    )
        else:
            Annotations.of(self).add_warning_v2(
                "sagemaker-constructs:network-no-s3-egress",
                "s3_prefix_list_id not set: notebooks and Studio apps cannot reach S3 "
                "(find it with aws ec2 describe-managed-prefix-lists "
                "--filters Name=prefix-list-name,Values=com.amazonaws.<region>.s3).",
            )
        if existing_endpoints:
            Annotations.of(self).add_warning_v2(
                "sagemaker-constructs:network-ungoverned-endpoints",
                "existing_endpoints "
                + ", ".join(existing_endpoints)
                + ": their endpoint policies are not managed here; scope them to this "
                "account as docs/SECURITY.md describes.",
            )

        self.key: kms.IKey | None = None
        self.flow_log_group: logs.LogGroup | None = None
        if flow_logs:
            self.key = encryption_key or new_key(
                self,
                "Key",
                description="Encrypts the notebook VPC flow logs",
                removal_policy=removal_policy,
            )
            if encryption_key is None:
                allow_cloudwatch_logs(self.key)
            self.flow_log_group = logs.LogGroup(
                self,
                "FlowLogGroup",
                encryption_key=self.key,
                retention=flow_log_retention,
                removal_policy=removal_policy,
            )
            # The delivery role's permissions live in a customer-managed policy: CDK would
            # otherwise grant them inline (compliance packs reject inline policies).
            flow_log_role = iam.Role(
                self,
                "FlowLogRole",
                # Confused-deputy guard: only flow logs of this account and Region may use it
                # (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html).
                assumed_by=iam.ServicePrincipal(
                    "vpc-flow-logs.amazonaws.com",
                    conditions={
                        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                        "ArnLike": {
                            "aws:SourceArn": f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:"
                            f"{Aws.ACCOUNT_ID}:vpc-flow-log/*"
                        },
                    },
                ),
                description="Delivers the notebook VPC's flow logs to CloudWatch Logs",
            )
            iam.ManagedPolicy(
                self,
                "FlowLogPolicy",
                description="Write the notebook VPC's flow logs to their log group",
                roles=[flow_log_role],
                statements=[
                    iam.PolicyStatement(
                        actions=[
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                            "logs:DescribeLogStreams",
                        ],
                        resources=[self.flow_log_group.log_group_arn],
                    )
                ],
            )
            ec2.FlowLog(
                self,
                "FlowLog",
                resource_type=ec2.FlowLogResourceType.from_vpc(vpc),
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                    self.flow_log_group, flow_log_role.without_policy_updates()
                ),
                traffic_type=ec2.FlowLogTrafficType.ALL,
            )
        elif vpc.node.scope is self:
            Annotations.of(self).add_warning_v2(
                "sagemaker-constructs:network-no-flow-logs",
                "flow_logs=False: the new VPC has no flow logs.",
            )

    @property
    def connections(self) -> ec2.Connections:
        """Connections of the notebook security group (``ec2.IConnectable``)."""
        return self.notebook_security_group.connections

    def add_interface_endpoint(
        self, name: str, service: ec2.IInterfaceVpcEndpointService
    ) -> ec2.InterfaceVpcEndpoint:
        """Add an interface endpoint reachable on 443 from the notebook security group only.

        Args:
            name: Short name, used in the construct ID (``Endpoint-<name>``).
            service: The endpoint service.
        """
        endpoint = ec2.InterfaceVpcEndpoint(
            self,
            f"Endpoint-{name}",
            vpc=self.vpc,
            service=service,
            subnets=self._subnets,
            private_dns_enabled=True,
            security_groups=[self.endpoint_security_group],
            open=False,
        )
        endpoint.add_to_policy(self._interface_statement(name))
        self.interface_endpoints[name] = endpoint
        return endpoint

    def _account_conditions(self, *, resources: bool) -> dict[str, dict[str, str]]:
        """Conditions binding callers (and optionally resources) to the account or org."""
        if self._organization_id is not None:
            keys = {"aws:PrincipalOrgID": self._organization_id}
            if resources:
                keys["aws:ResourceOrgID"] = self._organization_id
        else:
            account = Stack.of(self).account
            keys = {"aws:PrincipalAccount": account}
            if resources:
                keys["aws:ResourceAccount"] = account
        return {"StringEquals": keys}

    def _interface_statement(self, name: str) -> iam.PolicyStatement:
        # The endpoint policy is a resource policy on the endpoint: it narrows what any
        # caller can do through it, whatever their own identity policy allows.
        return iam.PolicyStatement(
            sid="OnlyThisAccount",
            principals=[iam.AnyPrincipal()],
            actions=["*"],
            resources=["*"],
            conditions=self._account_conditions(resources=name in _RESOURCE_SCOPED),
        )

    def _s3_statements(self, extra_bucket_arns: Sequence[str]) -> list[iam.PolicyStatement]:
        # Team buckets, the platform's buckets and the CDK asset bucket are all in this
        # account: aws:ResourceAccount admits them and nothing of another account.
        statements = [
            iam.PolicyStatement(
                sid="OwnBucketsOnly",
                principals=[iam.AnyPrincipal()],
                actions=["s3:*"],
                resources=["*"],
                conditions=self._account_conditions(resources=True),
            )
        ]
        if extra_bucket_arns:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadListedBuckets",
                    principals=[iam.AnyPrincipal()],
                    actions=["s3:GetObject", "s3:ListBucket"],
                    resources=[r for arn in extra_bucket_arns for r in (arn, f"{arn}/*")],
                    conditions=self._account_conditions(resources=False),
                )
            )
        return statements

    def notebook_subnets(self) -> ec2.SelectedSubnets:
        """The subnets notebooks should be placed in (the endpoints' subnets)."""
        # Fixed once the network exists; every team asks, so it is selected once.
        if not hasattr(self, "_notebook_subnets"):
            self._notebook_subnets = select_subnets(self.vpc, self._subnets)
        return self._notebook_subnets


def _drop_redundant_depends_on(scope: Construct) -> None:
    """Remove the DependsOn that CDK puts on its default-SG custom resource handler.

    The handler already references its role with Fn::GetAtt, which orders the two;
    cfn-lint reports the extra DependsOn (W3005).
    """
    provider = Stack.of(scope).node.try_find_child(
        "Custom::VpcRestrictDefaultSGCustomResourceProvider"
    )
    handler = provider.node.try_find_child("Handler") if provider else None
    if isinstance(handler, CfnResource):
        handler.add_deletion_override("DependsOn")
        reason = (
            "aws-cdk-lib's provider that empties the default security group once at "
            "deploy: it runs only as a CloudFormation custom resource"
        )
        skip_checkov(
            handler,
            {
                "CKV_AWS_115": reason + "; one invocation per deploy, no concurrency to cap.",
                "CKV_AWS_116": reason + "; CloudFormation receives its failures, no DLQ.",
                "CKV_AWS_117": reason + "; it calls only the EC2 API, outside the VPC.",
            },
        )


def _internet_routed(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None) -> list[ec2.ISubnet]:
    """Selected subnets CDK knows to route to an internet or NAT gateway."""
    routed = {s.node.path for s in (*vpc.public_subnets, *vpc.private_subnets)}
    if selection is None:
        # Without a selection the isolated subnets are used when there are any.
        return [] if vpc.isolated_subnets else list(vpc.private_subnets)
    return [s for s in select_subnets(vpc, selection).subnets if s.node.path in routed]


def _subnet_name(subnet: ec2.ISubnet) -> str:
    if Token.is_unresolved(subnet.subnet_id):
        return subnet.node.path
    return subnet.subnet_id


def _route_tables_known(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None) -> bool:
    subnets = select_subnets(vpc, selection).subnets
    try:
        return all(subnet.route_table.route_table_id for subnet in subnets)
    except RuntimeError:  # imported subnets without route tables raise on access
        return False
