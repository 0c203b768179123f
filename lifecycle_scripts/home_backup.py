#!/usr/bin/env python3
"""Back up the notebook's SageMaker folder to S3, restore it from there, or install the timer.

backup:  uploads every regular file under --source whose size differs from its copy under
         s3://BUCKET/PREFIX/, or that changed after that copy was made (SSE-KMS with
         --kms-key-id, the bucket's key). Files deleted here stay in the backup: nothing is
         lost. Symbolic links and the --exclude folders (relative to --source) are skipped.
restore: downloads every object under the prefix into --source, never overwriting a file that
         exists already; no backup for this person is not an error.
install: a systemd timer running "backup" every --interval-minutes, and the same backup as an
         idle auto-stop hook (before-stop.d), so a last backup runs before the notebook stops.
The prefix may hold {notebook} (this notebook's name, ResourceName in the metadata file) and
{owner} (the person --owners, a JSON object of notebook name -> person, maps it to); a
notebook not in --owners backs up and restores nothing and the run fails (exit 1).
Runs with the notebook's system Python (JupyterSystemEnv, with boto3), Python 3.9 or later;
one backup at a time (a lock file), the region from the notebook's metadata file.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys

LOG_PREFIX = "[home-backup]"
UNIT = "sagemaker-home-backup"


def log(message: str) -> None:
    print(f"{LOG_PREFIX} {message}", flush=True)


def region_of(metadata_file: str) -> str | None:
    try:
        with open(metadata_file, encoding="utf-8") as f:
            return str(json.load(f)["ResourceArn"]).split(":")[3] or None
    except (OSError, ValueError, KeyError, IndexError):
        return None  # boto3's own default (AWS_REGION) then


def notebook_name_of(metadata_file: str) -> str | None:
    """This notebook's name: ResourceName, else the last part of ResourceArn."""
    try:
        with open(metadata_file, encoding="utf-8") as f:
            metadata = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(metadata, dict):
        return None
    name = metadata.get("ResourceName") or str(metadata.get("ResourceArn", "")).rpartition("/")[2]
    return str(name) or None


def resolved_prefix(args: argparse.Namespace) -> str | None:
    """The prefix with {notebook} and {owner} filled in; None (logged) when it cannot be."""
    prefix = str(args.prefix)
    if "{notebook}" not in prefix and "{owner}" not in prefix:
        return prefix
    name = notebook_name_of(args.metadata_file)
    if name is None:
        log(f"cannot read this notebook's name (ResourceName) from {args.metadata_file}")
        return None
    prefix = prefix.replace("{notebook}", name)
    if "{owner}" in prefix:
        try:
            owners = json.loads(args.owners or "{}")
        except ValueError:
            owners = {}
        owner = owners.get(name) if isinstance(owners, dict) else None
        if not owner:
            known = ", ".join(sorted(owners)) if isinstance(owners, dict) else ""
            log(
                f"notebook {name} is not among the backup's owners ({known or 'none'}): "
                "nothing is backed up or restored for it"
            )
            return None
        prefix = prefix.replace("{owner}", str(owner))
    return prefix


def s3_client(args: argparse.Namespace):
    import boto3

    return boto3.client("s3", region_name=region_of(args.metadata_file))


def remote_objects(client, bucket: str, prefix: str) -> dict:
    """Key (relative to the prefix) -> (size, last modified as epoch seconds)."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"][len(prefix) :]] = (obj["Size"], obj["LastModified"].timestamp())
    return found


def local_files(source: str, excluded: list) -> dict:
    """Relative path -> (size, mtime) of the regular files to back up."""
    found = {}
    for top, dirs, files in os.walk(source):
        relative_top = os.path.relpath(top, source)
        dirs[:] = [
            d
            for d in sorted(dirs)
            if os.path.normpath(os.path.join(relative_top, d)) not in excluded
            and not os.path.islink(os.path.join(top, d))
        ]
        for name in files:
            path = os.path.join(top, name)
            if os.path.isfile(path) and not os.path.islink(path):
                stat = os.stat(path)
                found[os.path.normpath(os.path.join(relative_top, name))] = (
                    stat.st_size,
                    stat.st_mtime,
                )
    return found


def backup(args: argparse.Namespace) -> int:
    client = s3_client(args)
    remote = remote_objects(client, args.bucket, args.prefix)
    excluded = [os.path.normpath(e) for e in args.exclude]
    uploaded = failed = 0
    extra = {"ServerSideEncryption": "aws:kms"}
    if args.kms_key_id:
        extra["SSEKMSKeyId"] = args.kms_key_id
    for relative, (size, mtime) in sorted(local_files(args.source, excluded).items()):
        copy = remote.get(relative)
        # S3's LastModified has whole seconds; the file's mtime has fractions. A copy made in
        # the same second as the file's last change counts as current (a change later in
        # that same second with the same size waits for the next one).
        if copy is not None and copy[0] == size and copy[1] >= int(mtime):
            continue
        try:
            client.upload_file(
                os.path.join(args.source, relative), args.bucket, args.prefix + relative, extra
            )
            uploaded += 1
        except Exception as err:  # one unreadable file must not stop the others
            log(f"could not back up {relative}: {err}")
            failed += 1
    log(
        f"backup of {args.source} to s3://{args.bucket}/{args.prefix}: {uploaded} file(s) "
        f"uploaded, {failed} failed, {len(remote)} object(s) there before"
    )
    return 1 if failed else 0


def restore(args: argparse.Namespace) -> int:
    client = s3_client(args)
    remote = remote_objects(client, args.bucket, args.prefix)
    if not remote:
        log(f"no backup under s3://{args.bucket}/{args.prefix}: nothing to restore")
        return 0
    restored = kept = 0
    root = os.path.realpath(args.source)
    for relative, (_, modified) in sorted(remote.items()):
        target = os.path.realpath(os.path.join(root, relative))
        if not target.startswith(root + os.sep) or relative.endswith("/"):
            log(f"skipping object {args.prefix}{relative}: not a file under {root}")
            continue
        if os.path.lexists(target):
            kept += 1
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        client.download_file(args.bucket, args.prefix + relative, target)
        os.utime(target, (modified, modified))  # so that the next backup skips it
        restored += 1
    log(f"restored {restored} file(s) into {root}; {kept} already there, left as they were")
    if args.owner:
        subprocess.run(["chown", "-R", args.owner, root], check=False)
    return 0


def install(args: argparse.Namespace) -> int:
    python, script = sys.executable, os.path.abspath(__file__)
    command = f"{python} {script} backup" + "".join(
        f" {flag} {value}"
        for flag, value in (
            ("--bucket", args.bucket),
            ("--prefix", args.prefix),
            ("--source", args.source),
            ("--kms-key-id", args.kms_key_id),
            ("--metadata-file", args.metadata_file),
            ("--lock-file", args.lock_file),
        )
        if value
    )
    command += "".join(f" --exclude {e}" for e in args.exclude)
    units = {
        f"{UNIT}.service": f"[Unit]\nDescription=Back up {args.source} to S3\n\n"
        f"[Service]\nType=oneshot\nExecStart={command}\n",
        f"{UNIT}.timer": f"[Unit]\nDescription=Back up {args.source} every "
        f"{args.interval_minutes} minutes\n\n[Timer]\nOnActiveSec={args.interval_minutes}min\n"
        f"OnUnitActiveSec={args.interval_minutes}min\n\n[Install]\nWantedBy=timers.target\n",
    }
    os.makedirs(args.systemd_dir, exist_ok=True)
    for name, text in units.items():
        write(os.path.join(args.systemd_dir, name), text, 0o644)
    os.makedirs(args.hooks_dir, exist_ok=True)
    write(os.path.join(args.hooks_dir, "50-home-backup"), f"#!/bin/bash\nexec {command}\n", 0o755)
    for call in (["daemon-reload"], ["enable", "--now", f"{UNIT}.timer"]):
        subprocess.run(["systemctl", *call], check=True)
    log(f"timer {UNIT}.timer every {args.interval_minutes} min, and before auto-stop: {command}")
    return 0


def write(path: str, text: str, mode: int) -> None:
    with open(f"{path}.tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(f"{path}.tmp", mode)
    os.replace(f"{path}.tmp", path)


def parse_args(argv: list | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "mode", nargs="?", default=env("SMC_BACKUP_MODE"), choices=("backup", "restore", "install")
    )
    parser.add_argument(
        "--bucket", default=env("SMC_BACKUP_BUCKET"), required=not env("SMC_BACKUP_BUCKET")
    )
    parser.add_argument("--prefix", default=env("SMC_BACKUP_PREFIX", ""))
    parser.add_argument("--owners", default=env("SMC_BACKUP_OWNERS", ""))
    parser.add_argument("--kms-key-id", default=env("SMC_BACKUP_KMS_KEY") or None)
    parser.add_argument("--source", default=env("SAGEMAKER_DIR", "/home/ec2-user/SageMaker"))
    parser.add_argument(
        "--exclude", action="append", default=(env("SMC_BACKUP_EXCLUDE") or "").split()
    )
    parser.add_argument("--owner", default=env("NOTEBOOK_USER"))
    parser.add_argument(
        "--interval-minutes", type=int, default=int(env("SMC_BACKUP_INTERVAL", "60"))
    )
    parser.add_argument(
        "--metadata-file",
        default=env("SMC_METADATA_FILE", "/opt/ml/metadata/resource-metadata.json"),
    )
    parser.add_argument(
        "--lock-file",
        default=env("SMC_BACKUP_LOCK", "/var/tmp/sagemaker-constructs/home-backup.lock"),
    )
    parser.add_argument("--systemd-dir", default=env("SYSTEMD_DIR", "/etc/systemd/system"))
    parser.add_argument(
        "--hooks-dir",
        default=env("AUTOSTOP_HOOKS_DIR", "/var/tmp/sagemaker-constructs/before-stop.d"),
    )
    args = parser.parse_args(argv)
    if args.prefix and not args.prefix.endswith("/"):
        args.prefix += "/"
    return args


def main(argv: list | None = None) -> int:
    args = parse_args(argv)
    prefix = resolved_prefix(args)
    if prefix is None:
        return 1
    args.prefix = prefix
    if args.mode == "install":
        return install(args)
    os.makedirs(os.path.dirname(args.lock_file), exist_ok=True)
    with open(args.lock_file, "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a timer backup and the one before a stop: in turn
        try:
            return backup(args) if args.mode == "backup" else restore(args)
        except Exception as err:  # botocore's errors: say what failed, fail the run
            log(f"{args.mode} failed: {err}")
            return 1


if __name__ == "__main__":
    sys.exit(main())
