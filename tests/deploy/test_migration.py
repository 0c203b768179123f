"""AL2 -> AL2023 migration of one notebook, end to end: moto deploys, the harness hosts.

What a platform engineer and the person see, in order:

1. The example config, edited in the middle (team vision's ``frank`` on
   ``notebook-al2-v3``), is deployed to moto with the pinned CDK CLI.
2. frank's old notebook (``vision-frank``, a fresh strict harness host with that name in its
   metadata file) runs the lifecycle config's on-start AS DEPLOYED IN MOTO (the loader
   fetches the composed script from the bootstrap bucket and fills in the deployed bucket
   and key); then the before-stop hook it installed runs, as idle auto-stop runs it: the
   SageMaker folder goes to the deployed team bucket under ``home/frank/`` (SSE-KMS, the
   deployed team key).
3. The config is edited again (``notebook-al2023-v1`` and ``generation: 1``), synthesized,
   and ``sagemaker-review`` compares the two assemblies: the migration finding, no WILL
   FAIL, exit 3 (data loss) and 0 with ``--allow-data-loss``. ONE ``cdk deploy`` of the
   reviewed assembly updates the stack.
4. A fresh host for ``vision-frank-g1`` runs the deployed on-create: every file comes back,
   byte for byte; ``envs`` (excluded) does not.
5. Negative controls: grace's notebook on the same deployment restores nothing (her prefix
   has no backup); a notebook name the config does not know fails the step, restoring
   nothing; the new notebook's role may use only ``home/frank/``.

moto does not model what the migration is about on the notebook itself: it names a
notebook after its logical ID, ignores ``PlatformIdentifier`` and ``DeletionPolicy``, and
updates a changed notebook by deleting and re-creating it. So the new name, the platform
and the retention of the old notebook are checked on the template moto deployed
(GetTemplate) and on the stack's outputs, not on DescribeNotebookInstance.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import EXAMPLE_CONFIG, ROOT
from tests.deploy.conftest import DeployMoto
from tests.deploy.test_deploy import (
    ACCOUNT,
    BOOTSTRAP_TIMEOUT,
    CDK,
    DEPLOY_TIMEOUT,
    REGION,
    assert_moto_log_clean,
    cdk,
)
from tests.lifecycle.harness import Host, PackageServers, not_root_reason, upload_conda_channel

if TYPE_CHECKING:
    from tests.lifecycle.servers import MotoServer

pytest_plugins = ["tests.lifecycle.servers"]

pytestmark = [
    pytest.mark.deploy,
    pytest.mark.slow,
    pytest.mark.skipif(not CDK.exists(), reason="node_modules missing: run `make test`"),
    pytest.mark.skipif(not_root_reason() is not None, reason=str(not_root_reason())),
]

TEAM = "vision"
USER = "frank"
OTHER_USER = "grace"
STACK = f"sagemaker-team-{TEAM}"
OLD_NAME = f"{TEAM}-{USER}"
NEW_NAME = f"{TEAM}-{USER}-g1"
FRANK = "      - user: frank\n        subnet: 0\n"


def edited(text: str, old: str, new: str) -> str:
    """``text`` with its one ``old`` replaced (an edit inside the file, not appended)."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def on_al2(path: Path) -> Path:
    text = edited(
        EXAMPLE_CONFIG.read_text(), FRANK, FRANK + "        platform_identifier: notebook-al2-v3\n"
    )
    path.write_text(text)
    return path


def migrated(source: Path, path: Path) -> Path:
    text = edited(
        source.read_text(),
        "        platform_identifier: notebook-al2-v3\n",
        "        platform_identifier: notebook-al2023-v1\n        generation: 1\n",
    )
    path.write_text(text)
    return path


# --- the person's files ------------------------------------------------------------------------

BINARY = bytes(range(256)) * 64 + hashlib.sha256(b"weights").digest()


def fill_home(sagemaker_dir: Path) -> dict[str, bytes]:
    """Work of the kinds people keep: a notebook, a nested folder, a name with spaces, a
    binary file; and an environment (excluded from the backup). Relative path -> bytes."""
    files = {
        "analysis.ipynb": json.dumps({"cells": [{"source": "print(1)"}]}).encode(),
        "projects/detector/data/labels.csv": b"image,label\na.png,cat\n",
        "projects/detector/model.bin": BINARY,
        "notes for frank/meeting notes 2026.md": "# Über die Migration\n".encode(),
    }
    for relative, content in files.items():
        path = sagemaker_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    scratch = sagemaker_dir / "envs" / "scratch" / "bin"
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "python").write_bytes(b"\x7fELF" * 100)
    return files


def files_under(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


# --- hosts ---------------------------------------------------------------------------------------


def deployed_scripts(moto: MotoServer, stack: str) -> dict[str, str]:
    """OnCreate/OnStart of the team's lifecycle config as moto holds it, decoded."""
    cfn = moto.client("cloudformation", REGION)
    sagemaker = moto.client("sagemaker", REGION)
    resources = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    (physical,) = [
        r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::SageMaker::NotebookInstanceLifecycleConfig"
    ]
    config = sagemaker.describe_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName=physical.rsplit("/", 1)[-1]
    )
    return {
        hook: base64.b64decode(config[hook][0]["Content"]).decode()
        for hook in ("OnCreate", "OnStart")
        if config.get(hook)
    }


def provide_conda_channel(moto: MotoServer, packages: PackageServers, script: str) -> None:
    """The deployed platform channel bucket (empty after a deploy) gets the test channel."""
    upload_conda_channel(moto.client("s3", REGION), packages, script, ACCOUNT, REGION, create=False)


def full_script(moto: MotoServer, loader: str) -> str:
    """The composed script a loader fetches (the S3 asset in moto's bootstrap bucket)."""
    match = re.search(r'"\$python" - "([^"]+)" "([^"]+)"', loader)
    assert match, loader
    body = moto.client("s3", REGION).get_object(Bucket=match.group(1), Key=match.group(2))
    return body["Body"].read().decode()


@pytest.fixture
def hosts(deploy_moto: DeployMoto, package_servers: PackageServers) -> Iterator[list[Host]]:
    made: list[Host] = []
    yield made
    for host in made:
        host.close()


def notebook_host(moto: MotoServer, packages: PackageServers, hosts: list[Host], name: str) -> Host:
    """A fresh strict host whose metadata file names notebook ``name`` in the deployment."""
    host = Host(aws=moto.env, packages=packages)
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{name}"
    host.metadata_file.write_text(json.dumps({"ResourceName": name, "ResourceArn": arn}))
    hosts.append(host)
    return host


def run_phase(host: Host, script: str) -> dict[str, str]:
    """Run one deployed script and its detached steps to the end; the steps' logs."""
    run = host.run(script)
    host.wait(run, timeout=240)
    assert run.returncode == 0, run.output
    return run.detached_logs


# --- the test ------------------------------------------------------------------------------------


def test_al2_to_al2023_migration_brings_the_persons_files_to_the_new_notebook(
    deploy_moto: DeployMoto,
    package_servers: PackageServers,
    hosts: list[Host],
    tmp_path: Path,
):
    moto = deploy_moto.server
    cdk(
        deploy_moto,
        "bootstrap",
        f"aws://{ACCOUNT}/{REGION}",
        "-o",
        str(tmp_path / "boot.out"),
        timeout=BOOTSTRAP_TIMEOUT,
    )

    # 1. frank on AL2; deploy the team's stack (and the platform it depends on).
    config1 = on_al2(tmp_path / "teams-al2.yaml")
    out1 = tmp_path / "deploy1.out"
    deploy = ["deploy", STACK, "--require-approval", "never", "-c", f"config={config1}"]
    cdk(deploy_moto, *deploy, "-o", str(out1), timeout=DEPLOY_TIMEOUT)
    assert_moto_log_clean(deploy_moto)
    cfn = moto.client("cloudformation", REGION)
    deployed = json.loads(json.dumps(cfn.get_template(StackName=STACK)["TemplateBody"]))
    notebooks = {
        p["Properties"]["NotebookInstanceName"]: p
        for p in deployed["Resources"].values()
        if p["Type"] == "AWS::SageMaker::NotebookInstance"
    }
    assert notebooks[OLD_NAME]["Properties"]["PlatformIdentifier"] == "notebook-al2-v3"

    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        if r["LogicalResourceId"]
    }
    (bucket_id,) = [k for k, r in deployed["Resources"].items() if r["Type"] == "AWS::S3::Bucket"]
    (key_id,) = [k for k, r in deployed["Resources"].items() if r["Type"] == "AWS::KMS::Key"]
    bucket = resources[bucket_id]
    key_arn = moto.client("kms", REGION).describe_key(KeyId=resources[key_id])["KeyMetadata"]["Arn"]

    # 2. The old notebook: the deployed on-start installs the timer and the before-stop hook;
    # the hook runs as idle auto-stop runs it before stopping the notebook.
    scripts1 = deployed_scripts(moto, STACK)
    for script in scripts1.values():
        provide_conda_channel(moto, package_servers, full_script(moto, script))
    old = notebook_host(moto, package_servers, hosts, OLD_NAME)
    written = fill_home(old.sagemaker_dir)
    # A first boot: on-create (nothing to restore yet), then on-start.
    logs = run_phase(old, scripts1["OnCreate"])
    assert f"no backup under s3://{bucket}/home/{USER}/" in logs["home-restore"], logs
    logs = run_phase(old, scripts1["OnStart"])
    assert all(re.search(r"step \S+: done", log) for log in logs.values()), logs
    hook = old.work_root / "before-stop.d" / "50-home-backup"
    assert f"--bucket {bucket} --prefix home/{USER}/" in hook.read_text()
    assert f"--kms-key-id {key_arn}" in hook.read_text()
    backup = subprocess.run(
        [str(hook)], env=old.env("auto-stop"), capture_output=True, text=True, timeout=120
    )
    assert backup.returncode == 0, backup.stdout + backup.stderr
    assert f"{len(written)} file(s) uploaded, 0 failed" in backup.stdout
    s3 = moto.client("s3", REGION)
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert sorted(o["Key"] for o in listed) == sorted(f"home/{USER}/{k}" for k in written)
    head = s3.head_object(Bucket=bucket, Key=f"home/{USER}/projects/detector/model.bin")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_arn)

    # 3. The migration: a new platform and generation 1; review, then one deploy.
    config2 = migrated(config1, tmp_path / "teams-al2023.yaml")
    out2 = tmp_path / "synth2.out"
    cdk(
        deploy_moto,
        "synth",
        "--quiet",
        "-c",
        f"config={config2}",
        "-o",
        str(out2),
        timeout=DEPLOY_TIMEOUT,
    )
    gate = [str(Path(sys.executable).parent / "sagemaker-review"), str(out1), str(out2)]
    report = subprocess.run(gate, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert report.returncode == 3, report.stdout + report.stderr  # data loss, nothing fails
    assert "WILL FAIL" not in report.stdout, report.stdout
    assert "platform migration `notebook-al2-v3` → `notebook-al2023-v1`" in report.stdout
    assert f"`{NEW_NAME}`" in report.stdout and f"`{OLD_NAME}`" in report.stdout
    allowed = subprocess.run(
        [*gate, "--allow-data-loss"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr

    output = cdk(
        deploy_moto,
        "deploy",
        STACK,
        "--app",
        str(out2),
        "--require-approval",
        "never",
        "--method=direct",
        timeout=DEPLOY_TIMEOUT,
    )
    assert_moto_log_clean(deploy_moto)
    (stack,) = cfn.describe_stacks(StackName=STACK)["Stacks"]
    assert stack["StackStatus"] == "UPDATE_COMPLETE", output
    assert NEW_NAME in {o["OutputValue"] for o in stack.get("Outputs", [])}
    deployed2 = cfn.get_template(StackName=STACK)["TemplateBody"]
    (new,) = [
        r
        for r in deployed2["Resources"].values()
        if r["Type"] == "AWS::SageMaker::NotebookInstance"
        and r["Properties"]["NotebookInstanceName"] == NEW_NAME
    ]
    assert new["Properties"]["PlatformIdentifier"] == "notebook-al2023-v1"
    # CloudFormation keeps the replaced notebook (moto ignores these policies).
    assert (new["DeletionPolicy"], new["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert OLD_NAME not in {
        r["Properties"].get("NotebookInstanceName") for r in deployed2["Resources"].values()
    }
    # The new notebook's role may read and write frank's prefix, and no one else's.
    role = {"Ref": new["Properties"]["RoleArn"]["Fn::GetAtt"][0]}
    own = [
        r["Properties"]["PolicyDocument"]
        for r in deployed2["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and role in r["Properties"].get("Roles", [])
    ]
    backup_grants = json.dumps(
        [s for doc in own for s in doc["Statement"] if s.get("Sid", "").startswith("HomeBackup")]
    )
    assert f"/home/{USER}/*" in backup_grants, backup_grants
    assert f"home/{OTHER_USER}/" not in backup_grants

    # 4. The new notebook: the deployed on-create restores frank's files.
    scripts2 = deployed_scripts(moto, STACK)
    assert scripts2 != scripts1  # the owners moved to the new name
    for script in scripts2.values():
        provide_conda_channel(moto, package_servers, full_script(moto, script))
    fresh = notebook_host(moto, package_servers, hosts, NEW_NAME)
    assert files_under(fresh.sagemaker_dir) == {}
    logs = run_phase(fresh, scripts2["OnCreate"])
    assert "step home-restore: done" in logs["home-restore"], logs
    assert f"restored {len(written)} file(s)" in logs["home-restore"]
    restored = {
        k: v for k, v in files_under(fresh.sagemaker_dir).items() if not k.startswith("envs/")
    }
    assert restored == written
    assert not (fresh.sagemaker_dir / "envs" / "scratch").exists()  # excluded, not restored
    assert {(fresh.sagemaker_dir / k).owner() for k in written} == {"ec2-user"}

    # 5a. Another person's new notebook in the same deployment: nothing of frank's.
    other = notebook_host(moto, package_servers, hosts, f"{TEAM}-{OTHER_USER}")
    logs = run_phase(other, scripts2["OnCreate"])
    assert f"no backup under s3://{bucket}/home/{OTHER_USER}/" in logs["home-restore"]
    assert not any(k in files_under(other.sagemaker_dir) for k in written)
    # 5b. A notebook the config does not know (the retained old one, were it re-created):
    # the step fails, naming the notebook, and restores nothing.
    stranger = notebook_host(moto, package_servers, hosts, OLD_NAME)
    run = stranger.run(scripts2["OnCreate"])
    stranger.wait(run, timeout=240)
    log = run.detached_logs["home-restore"]
    assert f"notebook {OLD_NAME} is not among the backup's owners" in log, log
    assert "step home-restore: FAILED" in log
    assert not any(k in files_under(stranger.sagemaker_dir) for k in written)
