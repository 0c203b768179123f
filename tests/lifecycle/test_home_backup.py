"""home_backup.py against moto's S3 and KMS, run as the lifecycle step runs it (its own
process, the notebook's metadata file, AWS through ``AWS_ENDPOINT_URL``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.lifecycle.servers import MotoServer

pytest_plugins = ["tests.lifecycle.servers"]

FRAGMENT = Path(__file__).resolve().parents[2] / "lifecycle_scripts" / "home_backup.py"
REGION = "eu-west-1"
BUCKET = "team-fraud-data"
PREFIX = "home/alice/"


class Host:
    def __init__(self, aws: MotoServer, tmp_path: Path) -> None:
        self.s3 = aws.client("s3", REGION)
        kms = aws.client("kms", REGION)
        self.key = kms.create_key(Description="team key")["KeyMetadata"]["Arn"]
        self.s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        self.env = aws.env
        self.tmp = tmp_path
        self.metadata = tmp_path / "resource-metadata.json"
        arn = f"arn:aws:sagemaker:{REGION}:123456789012:notebook-instance/fraud-alice"
        self.metadata.write_text(json.dumps({"ResourceName": "fraud-alice", "ResourceArn": arn}))

    def run(self, mode: str, source: Path, *extra: str, env: dict | None = None):
        command = [sys.executable, str(FRAGMENT), mode, "--bucket", BUCKET, "--prefix", PREFIX]
        command += ["--source", str(source), "--kms-key-id", self.key]
        command += ["--metadata-file", str(self.metadata)]
        command += ["--lock-file", str(self.tmp / "backup.lock"), *extra]
        return subprocess.run(
            command, env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=60
        )

    def objects(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return sorted(o["Key"] for o in listed)


@pytest.fixture
def host(aws: MotoServer, tmp_path: Path) -> Host:
    return Host(aws, tmp_path)


def home(directory: Path) -> Path:
    (directory / "project" / "data").mkdir(parents=True)
    (directory / "project" / "model.ipynb").write_text('{"cells": []}')
    (directory / "project" / "data" / "train.csv").write_text("a,b\n1,2\n")
    (directory / "envs" / "forecast" / "bin").mkdir(parents=True)
    (directory / "envs" / "forecast" / "bin" / "python").write_text("big binary")
    (directory / "link").symlink_to("/etc/passwd")
    return directory


def test_backup_uploads_with_the_bucket_key_and_restore_brings_the_files_back(host: Host):
    source = home(host.tmp / "old-notebook")
    result = host.run("backup", source, "--exclude", "envs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 file(s) uploaded, 0 failed, 0 object(s) there before" in result.stdout
    assert host.objects() == [f"{PREFIX}project/data/train.csv", f"{PREFIX}project/model.ipynb"]
    head = host.s3.head_object(Bucket=BUCKET, Key=f"{PREFIX}project/model.ipynb")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == host.key

    # A replacement notebook: an empty volume, one file already there that must stay.
    target = host.tmp / "new-notebook"
    (target / "project").mkdir(parents=True)
    (target / "project" / "model.ipynb").write_text("newer work")
    result = host.run("restore", target)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "restored 1 file(s)" in result.stdout and "1 already there" in result.stdout
    assert (target / "project" / "data" / "train.csv").read_text() == "a,b\n1,2\n"
    assert (target / "project" / "model.ipynb").read_text() == "newer work"
    assert not (target / "envs").exists() and not (target / "link").exists()


def test_a_second_backup_uploads_only_what_changed_and_deletes_nothing(host: Host):
    source = home(host.tmp / "notebook")
    assert host.run("backup", source).returncode == 0
    assert host.run("backup", source).stdout.count("0 file(s) uploaded") == 1
    (source / "project" / "data" / "train.csv").unlink()
    (source / "project" / "model.ipynb").write_text('{"cells": [1]}')
    result = host.run("backup", source)
    assert "1 file(s) uploaded" in result.stdout
    assert f"{PREFIX}project/data/train.csv" in host.objects()  # nothing lost


def test_restore_without_a_backup_is_not_an_error(host: Host):
    target = host.tmp / "fresh"
    target.mkdir()
    result = host.run("restore", target)
    assert result.returncode == 0
    assert f"no backup under s3://{BUCKET}/{PREFIX}: nothing to restore" in result.stdout
    assert os.listdir(target) == []


def test_backup_to_an_unreachable_endpoint_fails_loudly(host: Host):
    from tests.lifecycle.servers import free_port

    source = home(host.tmp / "notebook")
    result = host.run("backup", source, env={"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"})
    assert result.returncode == 1
    assert "[home-backup] backup failed: Could not connect to the endpoint URL" in result.stdout


def test_install_writes_a_timer_and_the_before_stop_hook(host: Host, tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/calls\n')
    (bin_dir / "systemctl").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    extra = ["--systemd-dir", str(tmp_path / "systemd"), "--hooks-dir", str(tmp_path / "hooks")]
    source = home(tmp_path / "notebook")
    result = host.run("install", source, "--interval-minutes", "30", *extra, env=env)
    assert result.returncode == 0, result.stderr
    timer = (tmp_path / "systemd" / "sagemaker-home-backup.timer").read_text()
    assert "OnUnitActiveSec=30min" in timer
    hook = tmp_path / "hooks" / "50-home-backup"
    assert os.access(hook, os.X_OK)
    assert (tmp_path / "calls").read_text().splitlines() == [
        "daemon-reload",
        "enable --now sagemaker-home-backup.timer",
    ]
    # The hook is the backup itself: run it as the auto-stop checker would.
    run = subprocess.run([str(hook)], env=host.env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{PREFIX}project/model.ipynb" in host.objects()


# --- the HomeBackup step ---------------------------------------------------------------------

STEP_BODY = (
    r"<< 'SMC_STEP_END'\nset -euo pipefail\n(.*?)\nSMC_STEP_END\nsmc_run_step {name} {mode} "
)


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("bucket_name", "Team_Bucket", "an S3 bucket name"),
        ("prefix", "home/alice", "a key prefix ending in '/'"),
        ("prefix", "/home/alice/", "a key prefix ending in '/'"),
        ("prefix", "home/../bob/", "a key prefix ending in '/'"),
        ("kms_key_arn", "alias/team", "a KMS key ARN"),
        ("interval_minutes", 1, "an integer from 5 to 1440"),
        ("exclude", ("../etc",), "a list of relative folder names"),
    ],
)
def test_home_backup_fields_are_validated(field: str, value: object, allowed: str):
    from sagemaker_constructs import HomeBackup, NotebookSetup

    fields: dict = {"bucket_name": "team-fraud-data", "prefix": "home/alice/", field: value}
    problems = NotebookSetup([HomeBackup(**fields)]).problems()
    assert [(p[0], p[1]) for p in problems] == [(f"steps[0] (home-backup).{field}", value)]
    assert problems[0][2].startswith(allowed)


def test_home_backup_grants_exactly_the_persons_prefix_and_the_key():
    from sagemaker_constructs import HomeBackup, NotebookSetup
    from tests.test_notebook_setup import _notebook_with, _statements

    key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    setup = NotebookSetup([HomeBackup(bucket_name=BUCKET, prefix=PREFIX, kms_key_arn=key)])
    statements = _statements(_notebook_with(setup)[1])
    objects = json.dumps(statements["HomeBackupObjects"]["Resource"])
    assert f":s3:::{BUCKET}/{PREFIX}*" in objects
    assert statements["HomeBackupObjects"]["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert statements["HomeBackupList"]["Condition"] == {
        "StringLike": {"s3:prefix": [f"{PREFIX}*"]}
    }
    assert statements["HomeBackupKey"]["Resource"] == key


def test_replacement_notebook_gets_the_persons_files_back(host: Host):
    """Old notebook backs up; the new one's composed on-create restores (as a step runs)."""
    from sagemaker_constructs import HomeBackup, NotebookSetup
    from sagemaker_constructs.setup.notebook_setup import unbundle

    old = home(host.tmp / "old")
    assert host.run("backup", old, "--exclude", "envs").returncode == 0

    setup = NotebookSetup([HomeBackup(bucket_name=BUCKET, prefix=PREFIX, kms_key_arn=host.key)])
    script = setup.on_create_text()
    assert script is not None
    assert "smc_run_step home-restore detached false" in script
    work = host.tmp / "work"
    (work / "fragments").mkdir(parents=True)
    for name, text in unbundle(script).items():
        (work / "fragments" / name).write_text(text)
    body = re.search(STEP_BODY.format(name="home-restore", mode="detached"), script, re.S)
    assert body, script
    new = host.tmp / "new"
    new.mkdir()
    env = {
        **host.env,
        "SMC_WORK_DIR": str(work),
        "SMC_SYSTEM_PYTHON": sys.executable,
        "SAGEMAKER_DIR": str(new),
        "SMC_METADATA_FILE": str(host.metadata),
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", body.group(1)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (new / "project" / "model.ipynb").read_text() == '{"cells": []}'
    assert (new / "project" / "data" / "train.csv").read_text() == "a,b\n1,2\n"
    # The on-start installs the timer and the hook the auto-stop checker runs before stopping.
    start = setup.on_start_text()
    assert start is not None and "smc_run_step home-backup foreground false" in start


# --- one configuration for a team: the prefix per person ----------------------------------------

OWNERS = {"fraud-alice": "alice", "fraud-alice-g1": "alice", "fraud-bob": "bob"}


def _team_notebooks(backup, names: list[str]):
    """Notebooks sharing ONE lifecycle configuration (as a team stack builds them)."""
    from aws_cdk.assertions import Template

    from sagemaker_constructs import NotebookInstance, NotebookLifecycleConfig, NotebookSetup
    from tests.conftest import isolated_vpc, new_stack

    stack = new_stack()
    vpc = isolated_vpc(stack)
    lc = NotebookLifecycleConfig(stack, "Lc", setup=NotebookSetup([backup]))
    for name in names:
        NotebookInstance(stack, name, vpc=vpc, notebook_instance_name=name, lifecycle_config=lc)
    return Template.from_stack(stack)


def _backup_prefixes(template) -> dict[str, list[str]]:
    """Role -> the prefixes its HomeBackupObjects statement names."""
    found = {}
    for policy in template.find_resources("AWS::IAM::ManagedPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "HomeBackupObjects":
                (role,) = policy["Properties"]["Roles"]
                found[role["Ref"]] = re.findall(BUCKET + r"/([^*\"]*)\*", json.dumps(statement))
    return found


def test_each_notebook_of_a_shared_configuration_gets_only_its_persons_prefix():
    from sagemaker_constructs import HomeBackup

    backup = HomeBackup(bucket_name=BUCKET, prefix="home/{owner}/", owners=OWNERS)
    template = _team_notebooks(backup, ["fraud-alice", "fraud-alice-g1", "fraud-bob"])
    prefixes = sorted(_backup_prefixes(template).values())
    assert prefixes == [["home/alice/"], ["home/alice/"], ["home/bob/"]]
    # {notebook}: one prefix per notebook name instead.
    by_name = HomeBackup(bucket_name=BUCKET, prefix="nb/{notebook}/")
    prefixes = sorted(_backup_prefixes(_team_notebooks(by_name, ["a-1", "b-2"])).values())
    assert prefixes == [["nb/a-1/"], ["nb/b-2/"]]


def test_a_notebook_not_among_the_owners_is_a_synth_error_naming_it():
    from sagemaker_constructs import ConstructValidationError, HomeBackup

    backup = HomeBackup(bucket_name=BUCKET, prefix="home/{owner}/", owners=OWNERS)
    with pytest.raises(ConstructValidationError, match=r"owners.*'fraud-carol'.*fraud-alice"):
        _team_notebooks(backup, ["fraud-alice", "fraud-carol"])


def test_prefix_placeholders_and_owners_are_validated_all_at_once():
    from sagemaker_constructs import HomeBackup, NotebookSetup

    def problems(**fields) -> list[tuple[str, object, str]]:
        step = HomeBackup(bucket_name=BUCKET, **fields)
        return [(p[0].split(".", 1)[1], p[1], p[2]) for p in NotebookSetup([step]).problems()]

    assert problems(prefix="home/{owner}/", owners=OWNERS) == []
    assert problems(prefix="home/{notebook}/") == []
    (found,) = problems(prefix="home/{user}/{team}/")
    assert found[:2] == ("prefix", "home/{user}/{team}/")
    assert "{owner} and {notebook} only, not {user}, {team}" in found[2]
    (found,) = problems(prefix="home/{owner}/")
    assert found[0] == "owners" and "for {owner} in prefix" in found[2]
    (found,) = problems(prefix="home/alice/", owners=OWNERS)
    assert found[0] == "owners" and "none unless prefix contains {owner}" in found[2]
    bad = {"fraud_alice": "alice", "fraud-bob": "../bob", "fraud-x": "x/y"}
    found = problems(prefix="home/{owner}/", owners=bad)
    assert [(f[0], f[1]) for f in found] == [
        ("owners['fraud_alice']", "fraud_alice"),
        ("owners['fraud-bob']", "../bob"),
        ("owners['fraud-x']", "x/y"),
    ]


def test_the_host_resolves_owner_from_the_metadata_files_notebook_name(host: Host):
    owners = json.dumps(OWNERS)
    source = home(host.tmp / "g1")
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:notebook-instance/fraud-alice-g1"
    host.metadata.write_text(json.dumps({"ResourceName": "fraud-alice-g1", "ResourceArn": arn}))
    result = subprocess.run(
        [sys.executable, str(FRAGMENT), "backup", "--bucket", BUCKET, "--prefix", "home/{owner}/"]
        + ["--owners", owners, "--source", str(source), "--kms-key-id", host.key]
        + ["--metadata-file", str(host.metadata), "--lock-file", str(host.tmp / "l")],
        env=host.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"to s3://{BUCKET}/home/alice/:" in result.stdout
    assert f"{PREFIX}project/model.ipynb" in host.objects()

    # Negative control: a notebook the owners do not know backs up nothing and fails.
    arn = arn.replace("fraud-alice-g1", "fraud-mallory")
    host.metadata.write_text(json.dumps({"ResourceName": "fraud-mallory", "ResourceArn": arn}))
    before = host.objects()
    result = subprocess.run(
        [sys.executable, str(FRAGMENT), "restore", "--bucket", BUCKET, "--prefix", "home/{owner}/"]
        + ["--owners", owners, "--source", str(host.tmp / "m"), "--metadata-file"]
        + [str(host.metadata), "--lock-file", str(host.tmp / "l")],
        env=host.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert (
        "notebook fraud-mallory is not among the backup's owners (fraud-alice, fraud-alice-g1, "
        "fraud-bob): nothing is backed up or restored for it"
    ) in result.stdout
    assert host.objects() == before and not (host.tmp / "m").exists()


# --- deploy-time values (the team bucket's name, its key's ARN) in the scripts -------------------


def _resolve(value, refs: dict[str, str]) -> str:
    """Fn::Join / Fn::Sub / Ref / GetAtt Arn as CloudFormation resolves them, from ``refs``."""
    if isinstance(value, str):
        return value
    ((function, argument),) = value.items()
    if function == "Fn::Join":
        return argument[0].join(_resolve(p, refs) for p in argument[1])
    if function == "Fn::Sub":
        return argument.replace("${AWS::AccountId}", "123456789012").replace(
            "${AWS::Region}", REGION
        )
    if function == "Ref":
        return refs[argument]
    assert function == "Fn::GetAtt" and argument[1] == "Arn", value
    return refs[argument[0]]


def _config_with_a_bucket(tmp_path: Path, padding: int):
    """A config whose on-start names a bucket created in the same stack (a token)."""
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3

    from sagemaker_constructs import LifecycleScript, NotebookLifecycleConfig

    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Tokens")
    bucket = s3.Bucket(stack, "Data")
    text = "#!/bin/bash\n" + "# padding\n" * padding + f"echo bucket={bucket.bucket_name}\n"
    NotebookLifecycleConfig(stack, "Lc", on_start=LifecycleScript.from_text(text))
    template = app.synth().get_stack_by_name("Tokens").template
    (config,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SageMaker::NotebookInstanceLifecycleConfig"
    ]
    (bucket_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::S3::Bucket"]
    return config["OnStart"][0]["Content"], bucket_id


def test_a_small_script_with_a_deploy_time_value_is_inline_and_cloudformation_fills_it(tmp_path):
    content, bucket_id = _config_with_a_bucket(tmp_path, padding=1)
    assert list(content) == ["Fn::Base64"]
    text = _resolve(content["Fn::Base64"], {bucket_id: "team-bucket-123"})
    assert text.endswith("echo bucket=team-bucket-123\n") and "${Token[" not in text
    assert not list((tmp_path / "out").glob("asset.*.sh"))


def test_a_large_script_with_a_deploy_time_value_gets_it_from_its_loader(
    aws: MotoServer, tmp_path: Path
):
    """The asset cannot hold the value: it has a marker the loader replaces, run for real."""
    content, bucket_id = _config_with_a_bucket(tmp_path, padding=2000)
    (asset,) = list((tmp_path / "out").glob("asset.*.sh"))
    assert "${Token[" not in asset.read_text() and "@SMC_DEPLOY_VALUE_0@" in asset.read_text()
    loader = _resolve(content["Fn::Base64"], {bucket_id: "team-bucket-123"})
    match = re.search(r'"\$python" - "([^"]+)" "([^"]+)"', loader)
    assert match, loader
    s3 = aws.client("s3", REGION)
    s3.create_bucket(Bucket=match[1], CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=match[1], Key=match[2], Body=asset.read_bytes())
    metadata = tmp_path / "metadata.json"
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:notebook-instance/nb"
    metadata.write_text(json.dumps({"ResourceName": "nb", "ResourceArn": arn}))
    env = {
        **aws.env,
        "SMC_SYSTEM_PYTHON": sys.executable,
        "SMC_WORK_DIR": str(tmp_path / "work"),
        "SMC_METADATA_FILE": str(metadata),
    }
    run = subprocess.run(
        ["bash", "-c", loader], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines() == ["bucket=team-bucket-123"]
