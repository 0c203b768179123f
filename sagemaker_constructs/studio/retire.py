"""``sagemaker-retire-studio-user``: retire a person from Studio without losing their work.

    sagemaker-retire-studio-user plan   --domain-id d-… --profile fraud-alice --bucket B
    sagemaker-retire-studio-user copy   --source DIR --bucket B --prefix retired/fraud-alice/efs/
    sagemaker-retire-studio-user delete --domain-id d-… --profile fraud-alice --bucket B --yes

A person's work in Studio is in two kinds of places (docs/studio.md, "Retiring a person"):
their folder on the domain's EFS volume (``/<HomeEfsFileSystemUid>``) and the EBS volume of
each space they own. Neither is readable through an API, so ``copy`` runs where the files
are mounted (a host in the VPC that mounts the EFS folder; a terminal in the space) and
uploads them to the team bucket, encrypted with KMS, followed by a ``MANIFEST.json`` that
lists every file with its size and SHA-256, written only after each upload was read back.
``delete`` refuses unless every place ``plan`` names has a complete manifest in the bucket;
then it deletes the person's apps, spaces and profile (the stack retains them, so removing
the person from the config deletes nothing).

Exit codes: 0 done; 1 a backup is missing or incomplete (delete refused) or a copy failed;
2 usage error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "MANIFEST.json"
ROOT_PREFIX = "retired"


@dataclass(frozen=True)
class Place:
    """One place holding a person's files and where its backup goes."""

    what: str  # "efs" or "space <name>"
    prefix: str  # s3 prefix of its backup, ending in "/"
    how: str  # how to run ``copy`` for it


def places(
    profile: dict[str, Any],
    domain: dict[str, Any],
    spaces: list[dict[str, Any]],
    *,
    bucket: str,
    root: str = ROOT_PREFIX,
) -> list[Place]:
    """The person's home folder on EFS and each space they own, with their backup prefixes.

    ``profile``/``domain`` are DescribeUserProfile/DescribeDomain responses, ``spaces`` the
    ListSpaces summaries of the domain.
    """
    name = profile["UserProfileName"]
    base = f"{root}/{name}"
    found = []
    uid = profile.get("HomeEfsFileSystemUid")
    efs = domain.get("HomeEfsFileSystemId")
    if uid and efs:
        prefix = f"{base}/efs/"
        found.append(
            Place(
                "efs",
                prefix,
                f"on a host in the domain's VPC: sudo mount -t nfs4 {efs}.efs.<region>."
                f"amazonaws.com:/{uid} /mnt/home && sagemaker-retire-studio-user copy "
                f"--source /mnt/home --bucket {bucket} --prefix {prefix}",
            )
        )
    for space in spaces:
        owner = (space.get("OwnershipSettingsSummary") or {}).get("OwnerUserProfileName")
        if owner != name:
            continue
        prefix = f"{base}/space-{space['SpaceName']}/"
        found.append(
            Place(
                f"space {space['SpaceName']}",
                prefix,
                f"in a terminal of space {space['SpaceName']}: sagemaker-retire-studio-user "
                f"copy --source /home/sagemaker-user --bucket {bucket} --prefix {prefix}",
            )
        )
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def copy_tree(
    s3: Any, source: Path, bucket: str, prefix: str, kms_key: str | None = None
) -> dict[str, Any]:
    """Upload every file under ``source`` to ``s3://bucket/prefix``, then the manifest.

    Each object is uploaded with SSE-KMS (``kms_key``, or the bucket's key) and read back
    (its size) before the manifest is written, so a manifest means a complete copy.
    Symbolic links are recorded, not followed.
    """
    if not prefix.endswith("/"):
        prefix += "/"
    extra: dict[str, str] = {"ServerSideEncryption": "aws:kms"}
    if kms_key:
        extra["SSEKMSKeyId"] = kms_key
    files: list[dict[str, Any]] = []
    links: list[dict[str, str]] = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source).as_posix()
        if path.is_symlink():
            links.append({"path": rel, "target": str(path.readlink())})
        elif path.is_file():
            s3.upload_file(str(path), bucket, prefix + rel, ExtraArgs=extra)
            files.append({"path": rel, "size": path.stat().st_size, "sha256": _sha256(path)})
    for entry in files:
        head = s3.head_object(Bucket=bucket, Key=prefix + str(entry["path"]))
        if head["ContentLength"] != entry["size"]:
            raise RuntimeError(
                f"s3://{bucket}/{prefix}{entry['path']}: {head['ContentLength']} bytes "
                f"stored, {entry['size']} expected"
            )
    manifest = {"source": str(source), "files": files, "links": links}
    s3.put_object(
        Bucket=bucket, Key=prefix + MANIFEST, Body=json.dumps(manifest, indent=1).encode(), **extra
    )
    return manifest


def missing_backups(s3: Any, bucket: str, found: list[Place]) -> list[str]:
    """What keeps ``delete`` from going ahead: places without a complete backup."""
    problems = []
    for place in found:
        try:
            body = s3.get_object(Bucket=bucket, Key=place.prefix + MANIFEST)["Body"].read()
            manifest = json.loads(body)
        except s3.exceptions.NoSuchKey:
            problems.append(f"{place.what}: no s3://{bucket}/{place.prefix}{MANIFEST}; {place.how}")
            continue
        stored: dict[str, int] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=place.prefix
        ):
            stored |= {o["Key"][len(place.prefix) :]: o["Size"] for o in page.get("Contents", [])}
        for entry in manifest.get("files", []):
            if stored.get(entry["path"]) != entry["size"]:
                problems.append(
                    f"{place.what}: {entry['path']} is in the manifest but not stored with "
                    f"{entry['size']} bytes under s3://{bucket}/{place.prefix}"
                )
    return problems


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagemaker-retire-studio-user",
        description="Copy a person's Studio home and spaces to the team bucket, then delete "
        "their profile (docs/studio.md, 'Retiring a person').",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("plan", "delete"):
        p = sub.add_parser(name)
        p.add_argument("--domain-id", required=True)
        p.add_argument("--profile", required=True, help="the user profile name, <team>-<user>")
        p.add_argument("--bucket", required=True, help="the team's data bucket")
    sub.choices["delete"].add_argument(
        "--yes", action="store_true", help="really delete (without: say what would go)"
    )
    c = sub.add_parser("copy")
    c.add_argument("--source", type=Path, required=True, help="the mounted home folder")
    c.add_argument("--bucket", required=True)
    c.add_argument("--prefix", required=True, help="as `plan` prints it")
    c.add_argument("--kms-key", help="KMS key ID or ARN (default: the bucket's default key)")
    return parser


Description = dict[str, Any]


def _describe(
    sm: Any, domain_id: str, profile: str
) -> tuple[Description, Description, list[Description]]:
    described = sm.describe_user_profile(DomainId=domain_id, UserProfileName=profile)
    domain = sm.describe_domain(DomainId=domain_id)
    spaces: list[Description] = []
    for page in sm.get_paginator("list_spaces").paginate(DomainIdEquals=domain_id):
        spaces += page.get("Spaces", [])
    return described, domain, spaces


def _wait_for_apps(sm: Any, domain_id: str, profile: str, spaces: list[str]) -> None:
    """Spaces and profiles can be deleted only once their apps are (15 minutes at most)."""
    for _ in range(90):
        apps = sm.list_apps(DomainIdEquals=domain_id).get("Apps", [])
        left = [
            a
            for a in apps
            if (a.get("UserProfileName") == profile or a.get("SpaceName") in spaces)
            and a.get("Status") != "Deleted"
        ]
        if not left:
            return
        time.sleep(10)
    raise RuntimeError(f"apps of {profile} still not deleted after 15 minutes")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import boto3  # the CDK constructs need no AWS SDK; this command does

    s3 = boto3.client("s3")
    if args.command == "copy":
        if not args.source.is_dir():
            print(
                f"sagemaker-retire-studio-user: --source {args.source}: not a folder",
                file=sys.stderr,
            )
            return 2
        manifest = copy_tree(s3, args.source, args.bucket, args.prefix, args.kms_key)
        print(f"copied {len(manifest['files'])} files to s3://{args.bucket}/{args.prefix}")
        return 0
    sm = boto3.client("sagemaker")
    profile, domain, spaces = _describe(sm, args.domain_id, args.profile)
    found = places(profile, domain, spaces, bucket=args.bucket)
    if args.command == "plan":
        for place in found:
            print(f"- {place.what} -> s3://{args.bucket}/{place.prefix}\n  {place.how}")
        return 0
    problems = missing_backups(s3, args.bucket, found)
    if problems:
        print("sagemaker-retire-studio-user: not deleting; backups missing:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    owned = [p.what.removeprefix("space ") for p in found if p.what.startswith("space ")]
    if not args.yes:
        print(f"would delete the apps of {args.profile}, spaces {owned}, then the profile")
        return 0
    for app in sm.list_apps(DomainIdEquals=args.domain_id).get("Apps", []):
        mine = app.get("UserProfileName") == args.profile or app.get("SpaceName") in owned
        if mine and app.get("Status") not in ("Deleted", "Deleting"):
            target = (
                {"SpaceName": app["SpaceName"]}
                if app.get("SpaceName")
                else {"UserProfileName": args.profile}
            )
            sm.delete_app(
                DomainId=args.domain_id,
                AppType=app["AppType"],
                AppName=app["AppName"],
                **target,
            )
    _wait_for_apps(sm, args.domain_id, args.profile, owned)
    for space in owned:
        sm.delete_space(DomainId=args.domain_id, SpaceName=space)
    sm.delete_user_profile(DomainId=args.domain_id, UserProfileName=args.profile)
    print(
        f"deleted {args.profile} and spaces {owned}; backups under s3://{args.bucket}/{ROOT_PREFIX}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
