"""Decide access with a policy evaluator that is not this project's code: moto's IAM.

moto's server enforces IAM on every request once its first ``INITIAL_NO_AUTH_ACTION_COUNT``
requests are spent (those create the admin user here). The example app's own policies,
taken from its synthesized templates, are attached to roles in moto and the calls are
signed as those roles.

Where moto cannot decide (it authorises SageMaker calls against resource ``*``, and has
no VPC endpoints) the structure is checked instead: tests/test_isolation.py and
test_person_access.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Synthesized

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3", "MOTO_ACCOUNT_ID": ACCOUNT}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _client(service: str, url: str, creds: dict[str, str]):
    return boto3.client(service, endpoint_url=url, region_name=REGION, **creds)


@pytest.fixture(scope="module")
def admin(moto_url: str) -> dict[str, str]:
    anonymous = {"aws_access_key_id": "bootstrap", "aws_secret_access_key": "bootstrap"}
    iam = _client("iam", moto_url, anonymous)
    iam.create_user(UserName="admin")
    iam.put_user_policy(
        UserName="admin",
        PolicyName="admin",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def _resolve(value, names: dict[str, str]):
    """Replace the template's references by the physical values moto knows."""
    if isinstance(value, list):
        return [_resolve(v, names) for v in value]
    if not isinstance(value, dict):
        return value
    if "Fn::GetAtt" in value:
        return names[value["Fn::GetAtt"][0]]
    if "Ref" in value:
        return {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": REGION}.get(
            value["Ref"], names.get(value["Ref"], value["Ref"])
        )
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(str(_resolve(p, names)) for p in parts)
    return {k: _resolve(v, names) for k, v in value.items()}


def _team_data_policy(example: Synthesized, team: str) -> tuple[dict, str]:
    """The team's data policy with its bucket and key resolved; and the bucket's name."""
    stack = example.built.teams[team]
    resources = example.template_json(stack.artifact_id)["Resources"]
    bucket_id = next(
        k
        for k in resources
        if k.startswith("DataBucket") and resources[k]["Type"] == "AWS::S3::Bucket"
    )
    key_id = next(k for k, r in resources.items() if r["Type"] == "AWS::KMS::Key")
    bucket = f"{team}-data-evaluated"
    names = {
        bucket_id: f"arn:aws:s3:::{bucket}",
        key_id: f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{team}",
    }
    (policy,) = [
        r["Properties"]["PolicyDocument"]
        for k, r in resources.items()
        if k.startswith("DataAccessPolicy") and r["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    return _resolve(policy, names), bucket


def _role_credentials(url: str, admin: dict[str, str], name: str, policy: dict) -> dict[str, str]:
    iam = _client("iam", url, admin)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/admin"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    creds = _client("sts", url, admin).assume_role(RoleArn=role["Arn"], RoleSessionName=name)[
        "Credentials"
    ]
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


def _denied(call) -> bool:
    try:
        call()
    except ClientError as err:
        return err.response["Error"]["Code"] in ("AccessDenied", "403")
    return False


def test_team_role_reads_its_own_bucket_and_not_another_teams(
    example: Synthesized, moto_url: str, admin: dict[str, str]
):
    fraud_policy, fraud_bucket = _team_data_policy(example, "fraud")
    _, forecasting_bucket = _team_data_policy(example, "forecasting")
    s3_admin = _client("s3", moto_url, admin)
    for bucket in (fraud_bucket, forecasting_bucket):
        s3_admin.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        s3_admin.put_object(Bucket=bucket, Key="data.csv", Body=b"a,b\n")
    fraud = _client("s3", moto_url, _role_credentials(moto_url, admin, "fraud-nb", fraud_policy))

    # Allowed by the team's own policy: the evaluator is on, and the policy admits it.
    assert fraud.get_object(Bucket=fraud_bucket, Key="data.csv")["Body"].read() == b"a,b\n"
    fraud.put_object(Bucket=fraud_bucket, Key="out.csv", Body=b"x")
    # Another team's bucket: denied for reading, writing and listing.
    assert _denied(lambda: fraud.get_object(Bucket=forecasting_bucket, Key="data.csv"))
    assert _denied(lambda: fraud.put_object(Bucket=forecasting_bucket, Key="x", Body=b"x"))
    assert _denied(lambda: fraud.list_objects_v2(Bucket=forecasting_bucket))


def test_a_role_without_the_team_policy_is_denied_its_bucket(
    example: Synthesized, moto_url: str, admin: dict[str, str]
):
    # Negative control: the evaluator denies by default, so the allow above is the policy's.
    _, fraud_bucket = _team_data_policy(example, "fraud")
    empty = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}],
    }
    other = _client("s3", moto_url, _role_credentials(moto_url, admin, "no-data", empty))
    assert _denied(lambda: other.get_object(Bucket=fraud_bucket, Key="data.csv"))


def test_the_boundary_attached_as_a_policy_is_not_administrator(
    example: Synthesized, moto_url: str, admin: dict[str, str]
):
    stack = example.built.teams["fraud"]
    resources = example.template_json(stack.artifact_id)["Resources"]
    (boundary,) = [
        r["Properties"]["PolicyDocument"]
        for k, r in resources.items()
        if k.startswith("PermissionsBoundary") and r["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    creds = _role_credentials(moto_url, admin, "boundary-as-policy", _resolve(boundary, {}))
    # A notebook service it allows: the evaluator admits the call.
    _client("s3", moto_url, creds).list_buckets()
    # Anything else, e.g. creating users or roles: denied.
    iam = _client("iam", moto_url, creds)
    assert _denied(lambda: iam.create_user(UserName="intruder"))
    assert _denied(
        lambda: iam.attach_role_policy(
            RoleName="fraud-nb", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
        )
    )
