"""Retiring a Studio user: their home copied to the team bucket (a real moto S3 server) and
checked before anything is deleted."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from sagemaker_constructs.studio.retire import MANIFEST, Place, copy_tree, missing_backups, places

PROFILE = {"UserProfileName": "forecasting-erin", "HomeEfsFileSystemUid": "200005"}
DOMAIN = {"DomainId": "d-abc", "HomeEfsFileSystemId": "fs-0123456789abcdef0"}
SPACES = [
    {
        "SpaceName": "forecasting-models",
        "OwnershipSettingsSummary": {"OwnerUserProfileName": "forecasting-dave"},
    },
    {
        "SpaceName": "erin-private",
        "OwnershipSettingsSummary": {"OwnerUserProfileName": "forecasting-erin"},
    },
    {"SpaceName": "legacy"},  # no owner (a Studio Classic space): nobody's
]


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(
        Bucket="team-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    yield client
    server.stop()


def home(root: Path) -> Path:
    (root / "project" / "data").mkdir(parents=True)
    (root / "project" / "train.ipynb").write_text('{"cells": []}')
    (root / "project" / "data" / "big.bin").write_bytes(bytes(range(256)) * 4096)
    (root / ".bashrc").write_text("export X=1\n")
    (root / "link").symlink_to("project/train.ipynb")
    return root


def test_plan_names_the_efs_folder_and_only_the_spaces_the_person_owns():
    found = places(PROFILE, DOMAIN, SPACES, bucket="team-bucket")
    assert [(p.what, p.prefix) for p in found] == [
        ("efs", "retired/forecasting-erin/efs/"),
        ("space erin-private", "retired/forecasting-erin/space-erin-private/"),
    ]
    assert "fs-0123456789abcdef0.efs.<region>.amazonaws.com:/200005" in found[0].how


def test_copy_uploads_every_file_encrypted_and_the_backup_then_counts_as_complete(s3, tmp_path):
    source = home(tmp_path / "home")
    place = Place("efs", "retired/forecasting-erin/efs/", "")
    assert len(missing_backups(s3, "team-bucket", [place])) == 1  # negative control: none yet

    manifest = copy_tree(s3, source, "team-bucket", place.prefix)

    assert sorted(f["path"] for f in manifest["files"]) == [
        ".bashrc",
        "project/data/big.bin",
        "project/train.ipynb",
    ]
    assert manifest["links"] == [{"path": "link", "target": "project/train.ipynb"}]
    got = s3.get_object(Bucket="team-bucket", Key=place.prefix + "project/data/big.bin")
    assert got["Body"].read() == (source / "project/data/big.bin").read_bytes()
    assert got["ServerSideEncryption"] == "aws:kms"
    assert missing_backups(s3, "team-bucket", [place]) == []


def test_a_backup_with_a_lost_file_stops_the_delete(s3, tmp_path):
    source = home(tmp_path / "home")
    place = Place("space erin-private", "retired/forecasting-erin/space-erin-private/", "")
    copy_tree(s3, source, "team-bucket", place.prefix)
    s3.delete_object(Bucket="team-bucket", Key=place.prefix + "project/train.ipynb")

    assert missing_backups(s3, "team-bucket", [place]) == [
        "space erin-private: project/train.ipynb is in the manifest but not stored with "
        "13 bytes under s3://team-bucket/retired/forecasting-erin/space-erin-private/"
    ]
    assert s3.get_object(Bucket="team-bucket", Key=place.prefix + MANIFEST)
