"""Grants through the standard CDK pattern land in the customer-managed policy."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from sagemaker_constructs import NotebookInstance, NotebookNetwork
from sagemaker_constructs.governance import register_compliance_checks

# Findings of the test's own bucket (not the library's): acknowledged on the bucket only,
# so that every other finding still fails synth.
_BUCKET_RULES = [
    "AwsSolutions-S1",
    *(
        f"{pack}-S3Bucket{rule}"
        for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
        for rule in (
            "LoggingEnabled",
            "PublicReadProhibited",
            "PublicWriteProhibited",
            "ReplicationEnabled",
        )
    ),
]


def _app(packs: bool) -> tuple[cdk.App, cdk.Stack, s3.Bucket, NotebookInstance]:
    app = cdk.App()
    if packs:
        register_compliance_checks(app, verbose=False)
    stack = cdk.Stack(app, "Grants")
    bucket = s3.Bucket(
        stack,
        "Data",
        encryption=s3.BucketEncryption.KMS,
        enforce_ssl=True,
        versioned=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    for rule in _BUCKET_RULES:
        pack = rule.split("-", 1)[0]
        cdk.Validations.of(bucket).acknowledge(
            cdk.Acknowledgment(id=f"{pack}::{rule}", reason="test scaffolding bucket")
        )
    network = NotebookNetwork(stack, "Network")
    notebook = NotebookInstance(
        stack,
        "Notebook",
        notebook_instance_name="fraud-alice",
        vpc=network.vpc,
        security_groups=[network.notebook_security_group],
    )
    return app, stack, bucket, notebook


def test_grant_read_goes_to_the_managed_policy() -> None:
    _, stack, bucket, notebook = _app(packs=False)
    bucket.grant_read(notebook)
    key = kms.Key(stack, "Other", enable_key_rotation=True)
    key.grant_decrypt(notebook)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Policy", 0)
    policy = template.find_resources("AWS::IAM::ManagedPolicy")
    statements = [
        s for p in policy.values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = [
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert "s3:GetObject*" in actions
    assert "kms:Decrypt" in actions


def test_grants_pass_the_compliance_packs() -> None:
    app, _, bucket, notebook = _app(packs=True)
    bucket.grant_read(notebook)
    app.synth()  # the packs fail synth on any finding


def test_a_wildcard_that_is_not_a_grants_own_still_fails() -> None:
    """Negative control: the acknowledgment covers only a grant's named-prefix wildcards."""
    app, _, _, notebook = _app(packs=True)
    notebook.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:*"], resources=["*"])
    )
    with pytest.raises(RuntimeError, match=r"AwsSolutions-IAM5\[Action::s3:\*\]"):
        app.synth()


def test_add_to_principal_policy_of_the_created_role() -> None:
    _, stack, _, notebook = _app(packs=False)
    result = notebook.role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:ListBucket"], resources=["arn:aws:s3:::x"])
    )
    assert result.statement_added
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with([Match.object_like({"Action": "s3:ListBucket"})])
            }
        },
    )
