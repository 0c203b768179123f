"""The example app's lifecycle scripts, unmodified, on the strict notebook host.

The example app (config/teams.yaml) is synthesized once per session (the ``example`` fixture);
each team's NotebookInstanceLifecycleConfig content is taken from its template as SageMaker
would get it, and run on a fresh strict host (tests/lifecycle/harness.py): on-create, then
on-start, as on a first boot, with what the example app itself deploys standing behind them:
the platform's CodeArtifact mirror (the token stand-in and the local index, with the pinned
pip packages of the config) and the platform's conda channel in S3 (a moto bucket holding a
static channel with the config's pinned conda packages, fetched by the scripts per the
"Conda channel from S3" contract). Then every environment the team's setup declares must be
a kernel in ``jupyter kernelspec list`` whose pinned packages import inside that kernel.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from sagemaker_constructs import lifecycle_scripts  # type: ignore[attr-defined]
from tests.conftest import Synthesized
from tests.lifecycle.harness import (
    ACCOUNT,
    CODEARTIFACT,
    LOG_GROUP,
    REGION,
    TEST_PACKAGES,
    Host,
    PackageServers,
    not_root_reason,
    upload_conda_channel,
)

if TYPE_CHECKING:
    from tests.lifecycle.servers import MotoServer

pytest_plugins = ["tests.lifecycle.servers"]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "config" / "teams.yaml").read_text())
#: The S3 conda channel contract (h-steps): a fragment that copies the channel to the host.
CHANNEL_FRAGMENT = "conda_channel_s3.py"
HAS_S3_CHANNEL = CHANNEL_FRAGMENT in lifecycle_scripts.names()
MODULES = {p.name: p.module for p in TEST_PACKAGES}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not_root_reason() is not None, reason=str(not_root_reason())),
]


def resolved(value: object, deployed: dict[str, str] | None = None) -> str:
    """A CloudFormation string value in this account and region (Fn::Join, Fn::Sub), with
    ``deployed`` standing for the team's own resources (``Ref`` / ``Fn::GetAtt ... Arn`` of
    logical ID -> value)."""
    if isinstance(value, str):
        return value
    assert isinstance(value, dict) and len(value) == 1, value
    ((function, argument),) = value.items()
    if function == "Fn::Join":
        separator, parts = argument
        return str(separator).join(resolved(p, deployed) for p in parts)
    if function == "Fn::Sub":
        return str(argument).replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", REGION)
    if function == "Ref" and deployed and argument in deployed:
        return deployed[argument]
    if function == "Fn::GetAtt" and deployed and argument[1] == "Arn" and argument[0] in deployed:
        return deployed[argument[0]]
    raise AssertionError(f"cannot resolve {value}")


def provide_assets(example: Synthesized, moto: MotoServer, script: str) -> None:
    """A script over the size limit is an S3 asset the config fetches: put it in moto."""
    match = re.search(r'"\$python" - "(cdk-[^"]+)" "([^"]+)"', script)
    if not match:
        return
    bucket, key = match.groups()
    (asset,) = list(example.outdir.glob(f"asset.{key.split('.')[0]}*"))
    s3 = moto.client("s3", REGION)
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key=key, Body=asset.read_bytes())


def lifecycle_scripts_of(
    example: Synthesized, team: str, deployed: dict[str, str] | None = None
) -> dict[str, str]:
    """OnCreate/OnStart of the team's notebook lifecycle config, decoded as SageMaker does."""
    template = example.template_json(example.built.teams[team].artifact_id)
    (config,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SageMaker::NotebookInstanceLifecycleConfig"
    ]
    scripts = {}
    for key, value in config.items():
        if key.startswith("On"):
            content = value[0]["Content"]
            if isinstance(content, dict) and "Fn::Base64" in content:
                scripts[key] = resolved(content["Fn::Base64"], deployed)
            else:
                scripts[key] = base64.b64decode(resolved(content, deployed)).decode()
    return scripts


def declared(team: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The team's environments -> pinned packages, and built-in kernels -> pinned packages."""
    (config,) = [t for t in CONFIG["teams"] if t["name"] == team]
    setup = config.get("setup", {})
    envs = {
        e["name"]: list(e.get("conda_packages", [])) + list(e.get("pip_packages", []))
        for e in setup.get("conda_environments", [])
    }
    built_in: dict[str, list[str]] = {}
    for install in setup.get("packages", []):
        pins = list(install.get("conda_packages", [])) + list(install.get("pip_packages", []))
        built_in.setdefault(install["kernel"], []).extend(pins)
    return envs, built_in


def unbundled_text(example: Synthesized, script: str) -> str:
    """The composed script itself (the S3 asset's, for a loader)."""
    match = re.search(r'"\$python" - "(cdk-[^"]+)" "([^"]+)"', script)
    if not match:
        return script
    (asset,) = list(example.outdir.glob(f"asset.{match.group(2).split('.')[0]}*"))
    return asset.read_text()


def provide_s3_channel(moto: MotoServer, packages: PackageServers, script: str) -> None:
    """The platform's channel bucket in moto, as the scripts name it, holding the channel."""
    upload_conda_channel(moto.client("s3", REGION), packages, script, ACCOUNT, REGION, create=True)


@pytest.fixture(scope="module")
def platform_sources(moto_server: MotoServer, package_servers: PackageServers) -> PackageServers:
    domain, repository = CONFIG["platform"]["package_mirror"].values()
    assert (domain, repository) == CODEARTIFACT  # the repository the stand-in serves
    logs = moto_server.client("logs", REGION)
    if not logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]:
        logs.create_log_group(logGroupName=LOG_GROUP)
    return package_servers


@pytest.fixture
def team_host(moto_server: MotoServer, platform_sources: PackageServers) -> Iterator[Host]:
    host = Host(aws=moto_server.env, packages=platform_sources)
    yield host
    host.close()


NO_CONDA_SOURCE = pytest.mark.xfail(
    not HAS_S3_CHANNEL,
    reason="the example app has no conda package source yet: the S3 conda channel "
    f"({CHANNEL_FRAGMENT}, branch h-steps) is not merged, so `conda create` finds no channel",
    strict=True,
)
TEAMS = [
    pytest.param(
        t["name"], marks=NO_CONDA_SOURCE if t.get("setup", {}).get("conda_environments") else ()
    )
    for t in CONFIG["teams"]
]


def team_resources(example: Synthesized, moto: MotoServer, team: str, host: Host) -> dict[str, str]:
    """The team's data bucket and key, made in moto, by logical ID, as a deploy would make
    them; and the host named after the team's first notebook (a home backup maps notebook
    names to people, and a name it does not know fails the step)."""
    template = example.template_json(example.built.teams[team].artifact_id)
    made: dict[str, str] = {}
    for logical, resource in template["Resources"].items():
        if resource["Type"] == "AWS::S3::Bucket":
            name = f"strict-{team}-{logical.lower()}"[:63]
            s3 = moto.client("s3", REGION)
            if name not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
                config = {"LocationConstraint": REGION}
                s3.create_bucket(Bucket=name, CreateBucketConfiguration=config)
            made[logical] = name
        elif resource["Type"] == "AWS::KMS::Key":
            made[logical] = moto.client("kms", REGION).create_key()["KeyMetadata"]["Arn"]
    (config,) = [t for t in CONFIG["teams"] if t["name"] == team]
    name = f"{team}-{config['notebooks'][0]['user']}"
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{name}"
    host.metadata_file.write_text(json.dumps({"ResourceName": name, "ResourceArn": arn}))
    return made


@pytest.mark.parametrize("team", TEAMS)
def test_every_declared_environment_is_a_kernel_whose_pins_import(
    team: str,
    example: Synthesized,
    team_host: Host,
    moto_server: MotoServer,
    platform_sources: PackageServers,
) -> None:
    scripts = lifecycle_scripts_of(
        example, team, team_resources(example, moto_server, team, team_host)
    )
    envs, built_in = declared(team)
    for script in scripts.values():
        provide_assets(example, moto_server, script)
    full = [unbundled_text(example, s) for s in scripts.values()]
    for script in full:
        provide_s3_channel(moto_server, platform_sources, script)

    runs = [team_host.run(scripts[key]) for key in ("OnCreate", "OnStart") if key in scripts]
    team_host.wait(*runs, timeout=180)

    for run in runs:
        assert run.returncode == 0, run.output
        for name, log in run.detached_logs.items():
            assert f"step {name}: done" in log, log
    kernels = team_host.kernelspecs()
    for env, pins in envs.items():
        assert env in kernels, (env, sorted(kernels), [r.output for r in runs])
        imports = [MODULES[re.split(r"=+", pin)[0]] for pin in pins]
        code = "import sys\nversions = []\n"
        for module in imports:
            code += (
                f"import {module}\n"
                f"assert {module}.__file__.startswith(sys.prefix), {module}.__file__\n"
                f"versions.append(getattr({module}, '__version__', getattr({module}, 'VALUE', '?')))\n"
            )
        code += "print(' '.join(['versions', *versions]))\n"
        result = team_host.execute_in_kernel(env, code)
        assert result["status"] == "ok", result
        expected = ["versions", *(re.split(r"=+", pin)[1] for pin in pins)]
        assert result["stdout"].split() == expected, result
    for kernel, pins in built_in.items():
        env_dir = team_host.anaconda_dir / "envs" / kernel
        for pin in pins:
            module = MODULES[re.split(r"=+", pin)[0]]
            found = team_host.python_in(env_dir, f"import {module}; print({module}.__file__)")
            assert found.startswith(str(env_dir)), (pin, found)
