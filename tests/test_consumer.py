"""The wheel, installed into a fresh venv, in a consumer CDK app with its own packages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The README example (the quick start), read from the README.
_README = (ROOT / "README.md").read_text()
_EXAMPLE = _README.split("## Quick start: the constructs in your own CDK app", 1)[1]
_EXAMPLE = _EXAMPLE.split("```python\n", 1)[1].split("```", 1)[0]

_APP = """
import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

import lifecycle_scripts as own_scripts  # the consumer's own packages
import stacks as own_stacks
from sagemaker_constructs import StudioDomain, StudioUserProfile
from sagemaker_constructs.governance import register_compliance_checks

assert own_stacks.MINE and own_scripts.MINE

app = cdk.App(outdir="cdk.out")
register_compliance_checks(app, verbose=False)
stack = cdk.Stack(app, "Consumer")
bucket = s3.Bucket(stack, "Data", encryption=s3.BucketEncryption.KMS, enforce_ssl=True,
                   versioned=True, removal_policy=cdk.RemovalPolicy.RETAIN)
for rule in own_stacks.BUCKET_RULES:  # the consumer's own bucket, not the library's
    cdk.Validations.of(bucket).acknowledge(
        cdk.Acknowledgment(id=rule.split("-", 1)[0] + "::" + rule, reason="consumer bucket"))
"""

_AFTER = """
domain = StudioDomain.from_domain_attributes(
    stack, "Domain", domain_id="d-abc123",
    execution_role=iam.Role.from_role_arn(stack, "TeamRole",
                                          "arn:aws:iam::111111111111:role/team-a"))
StudioUserProfile(stack, "Alice", domain=domain, user_profile_name="alice")
app.synth()
"""

_STACKS = """
MINE = True
BUCKET_RULES = ["AwsSolutions-S1"] + [
    f"{p}-S3Bucket{r}" for p in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
    for r in ("LoggingEnabled", "PublicReadProhibited", "PublicWriteProhibited",
              "ReplicationEnabled")]
"""


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="session")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    started = time.monotonic()
    base = tmp_path_factory.mktemp("consumer")
    wheels = base / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), "."], ROOT)
    (wheel,) = wheels.glob("sagemaker_constructs-*.whl")
    env_dir = base / "venv"
    # No pip of its own (ensurepip costs seconds): this pip installs into it (--python).
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            # The same files as a default install, without compiling every module of
            # aws-cdk-lib to bytecode (~50 of the fixture's ~60 s of pip): the app imports
            # only a few of them, compiled as it imports them.
            "--no-compile",
            "-c",
            str(ROOT / "requirements" / "constraints.txt"),
            f"{wheel}[compliance]",
        ],
        base,
    )
    app_dir = base / "app"
    (app_dir / "stacks").mkdir(parents=True)
    (app_dir / "lifecycle_scripts").mkdir()
    (app_dir / "stacks" / "__init__.py").write_text(_STACKS)
    (app_dir / "lifecycle_scripts" / "__init__.py").write_text("MINE = True\n")
    # The example's ``db`` is the consumer's: defined just before the line that uses it.
    example = _EXAMPLE.replace(
        "db.connections", 'db = ec2.SecurityGroup(stack, "Db", vpc=network.vpc)\ndb.connections'
    )
    (app_dir / "app.py").write_text(_APP + textwrap.dedent(example) + _AFTER)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    _run([str(python), "app.py"], app_dir, env)
    template = json.loads((app_dir / "cdk.out" / "Consumer.template.json").read_text())
    return {"wheel": wheel, "template": template, "seconds": time.monotonic() - started}


def test_wheel_holds_one_import_package(consumer: dict[str, object]) -> None:
    wheel = consumer["wheel"]
    assert isinstance(wheel, Path)
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert top == {"sagemaker_constructs"}
    assert "sagemaker_constructs/py.typed" in names
    assert "sagemaker_constructs/lifecycle_scripts/register_kernels.sh" in names


def test_consumer_app_synthesizes_with_zero_findings(consumer: dict[str, object]) -> None:
    template = consumer["template"]
    assert isinstance(template, dict)
    types = [r["Type"] for r in template["Resources"].values()]
    assert "AWS::SageMaker::NotebookInstance" in types
    assert "AWS::SageMaker::UserProfile" in types
    assert "AWS::IAM::Policy" not in types
    print(f"consumer fixture: {consumer['seconds']:.0f} s")
