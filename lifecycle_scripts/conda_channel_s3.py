"""Fetch a static conda channel from S3 to a local directory; make it the user's only channel.

Run as root with the notebook's system Python (JupyterSystemEnv, which has boto3). It reads
the channel through the VPC's S3 gateway endpoint with the notebook's role, so a notebook
without internet access gets conda packages. Parameters (environment):

  SMC_CONDA_CHANNEL_BUCKET  the bucket; "{account}" and "{region}" in it are replaced by
                            the notebook's own, read from its ARN in SMC_METADATA_FILE
  SMC_CONDA_CHANNEL_PREFIX  key prefix of the channel (holding noarch/, linux-64/, ...)
  SMC_CONDA_CHANNEL_DIR     local copy (default /var/tmp/sagemaker-constructs/conda-channel)
  NOTEBOOK_USER             whose ~/.condarc names the copy (default ec2-user)
  SMC_METADATA_FILE         default /opt/ml/metadata/resource-metadata.json

Idempotent and safe to run twice at once (on-create and on-start of a first boot): each
file is written under a temporary name and renamed; package files already present with the
same size are kept (their names carry version and build), repodata is always fetched anew.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

import boto3

CONDA_KEYS = ("channels", "default_channels")


def notebook_account_region(metadata_file: str) -> tuple[str, str]:
    with open(metadata_file) as fh:
        arn = json.load(fh)["ResourceArn"].split(":")
    return str(arn[4]), str(arn[3])


def fetch(client: Any, bucket: str, prefix: str, target: str) -> tuple[int, int]:
    """Copy every object under ``prefix/`` to ``target``; return how many were fetched."""
    paginator = client.get_paginator("list_objects_v2")
    fetched = kept = 0
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            relative = obj["Key"][len(prefix) + 1 :]
            parts = relative.split("/")
            if not relative or relative.endswith("/") or ".." in parts or "" in parts:
                continue
            path = os.path.join(target, *parts)
            is_index = parts[-1].startswith(("repodata", "channeldata", "current_repodata"))
            if not is_index and os.path.exists(path) and os.path.getsize(path) == obj["Size"]:
                kept += 1
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".fetch-")
            with os.fdopen(fd, "wb") as fh:
                client.download_fileobj(bucket, obj["Key"], fh)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
            fetched += 1
    return fetched, kept


def merged_condarc(existing: str, channel_url: str) -> str:
    """``existing`` .condarc text with our channel as the only one; every other key kept.

    A channel the VPC cannot reach makes every conda solve fail (conda reads all channels'
    repodata), so the channel lists are replaced; top-level keys are YAML lines at column 0,
    their values the indented or list lines that follow.
    """
    kept: list[str] = []
    skipping = False
    for line in existing.splitlines():
        top_level = line[:1] not in ("", " ", "\t", "-", "#")
        if top_level:
            skipping = line.split(":", 1)[0].strip() in CONDA_KEYS
        if not skipping:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    ours = ["channels:", "  - " + channel_url, "default_channels: []"]
    return "\n".join(kept + ours) + "\n"


def as_user(user: str, command: list[str], text: str | None = None) -> str:
    # HOME: host.sh's NOTEBOOK_HOME (the same on a host). No "$" in the arguments: sudo -i
    # leaves it unescaped for the login shell.
    home = os.environ.get("NOTEBOOK_HOME", "/home/" + user)
    result = subprocess.run(
        ["sudo", "-u", user, "-i", "HOME=" + home, *command],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"as {user}: {' '.join(command)} failed: {result.stderr.strip()}")
    return result.stdout


def main() -> int:
    user = os.environ.get("NOTEBOOK_USER", "ec2-user")
    metadata = os.environ.get("SMC_METADATA_FILE", "/opt/ml/metadata/resource-metadata.json")
    target = os.environ.get("SMC_CONDA_CHANNEL_DIR", "/var/tmp/sagemaker-constructs/conda-channel")
    prefix = os.environ.get("SMC_CONDA_CHANNEL_PREFIX", "").strip("/")
    account, region = notebook_account_region(metadata)
    bucket = os.environ["SMC_CONDA_CHANNEL_BUCKET"].format(account=account, region=region)

    client = boto3.client("s3", region_name=region)
    os.makedirs(target, exist_ok=True)
    os.chmod(target, 0o755)
    fetched, kept = fetch(client, bucket, prefix, target)
    if not os.path.isfile(os.path.join(target, "noarch", "repodata.json")):
        print(
            f"s3://{bucket}/{prefix}/ holds no noarch/repodata.json: not a conda channel "
            "(index it with conda index or rattler-index before uploading)",
            file=sys.stderr,
        )
        return 1
    print(f"conda channel s3://{bucket}/{prefix}/ -> {target}: {fetched} fetched, {kept} kept")

    home = os.environ.get("NOTEBOOK_HOME") or as_user(user, ["printenv", "HOME"]).strip()
    condarc = os.path.join(home, ".condarc")
    existing = ""
    if os.path.isfile(condarc):
        with open(condarc) as fh:
            existing = fh.read()
    url = "file://" + os.path.abspath(target)
    as_user(user, ["tee", condarc + ".smc-new"], merged_condarc(existing, url))
    as_user(user, ["mv", condarc + ".smc-new", condarc])
    print(f"conda: every environment of {user} uses {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
