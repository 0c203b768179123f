"""Shared fixtures. The example app is synthesized once per test session."""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

# Set before aws_cdk is imported: it starts the jsii runtime with this environment.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# aws-cdk-lib's own template validation costs ~2 s a process; cfn-lint checks templates.
os.environ.setdefault("CDK_VALIDATION", "false")

import aws_cdk as cdk  # noqa: E402
import pytest  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from sagemaker_constructs.governance import register_compliance_checks  # noqa: E402
from stacks import build_app, load_config  # noqa: E402
from stacks.app_builder import PlatformApp  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config" / "teams.yaml"


def cdk_context() -> dict:
    """The feature flags of cdk.json, so tests build what `cdk synth` builds."""
    return json.loads((ROOT / "cdk.json").read_text())["context"]


def new_app(outdir: Path | None = None) -> cdk.App:
    return cdk.App(context=cdk_context(), outdir=str(outdir) if outdir else None)


def isolated_vpc(stack: cdk.Stack) -> cdk.aws_ec2.Vpc:
    """A VPC with isolated subnets only (no NAT, no internet gateway) in two AZs."""
    ec2 = cdk.aws_ec2
    return ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        max_azs=2,
        restrict_default_security_group=False,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="i", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )


def new_stack(name: str = "Test") -> cdk.Stack:
    """A stack in a fresh app, for construct unit tests."""
    return cdk.Stack(new_app(), name)


@dataclass
class Synthesized:
    app: cdk.App
    built: PlatformApp
    outdir: Path
    assembly: cdk.cx_api.CloudAssembly

    def template(self, stack: cdk.Stack) -> Template:
        return Template.from_json(self.template_json(stack.artifact_id))

    def template_json(self, artifact_id: str) -> dict:
        return json.loads((self.outdir / f"{artifact_id}.template.json").read_text())

    @property
    def template_files(self) -> list[Path]:
        return sorted(self.outdir.glob("*.template.json"))


@pytest.fixture(scope="session")
def example(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The example app (config/teams.yaml) with cdk-nag, synthesized once."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = new_app(outdir)
    built = build_app(app, load_config(EXAMPLE_CONFIG))
    register_compliance_checks(app)
    assembly = app.synth()
    return Synthesized(app=app, built=built, outdir=outdir, assembly=assembly)


# The fast loop (`make test-fast`): everything but these, which start servers, build
# wheels, deploy to moto, synthesize many apps or generate hundreds of examples.
SLOW_PATHS = (
    "tests/fuzz/",
    "tests/deploy/",
    # Every host test (servers, real users, moto); the fast loop keeps shellcheck only.
    "tests/lifecycle/test_host.py",
    "tests/lifecycle/test_autostop.py",
    "tests/lifecycle/test_studio_host.py",
    "tests/lifecycle/test_strict_example.py",
    "tests/lifecycle/test_package_sources_host.py",
    "tests/lifecycle/test_new_steps_host.py",
    "tests/lifecycle/test_home_backup.py",
    "tests/lifecycle/test_python_version.py",
    "tests/test_benchmark_l1.py",
    "tests/review/",
    "tests/test_consumer.py",
    "tests/test_checkov.py",
    "tests/test_scale.py",
    # The pinned CDK CLI in processes of its own: a node start and a whole app's synth each.
    "tests/test_cli.py",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: not in the fast loop (`make test-fast` runs `-m 'not slow'`)"
    )


# Under xdist (`--dist loadfile`, the Makefile's) a file's tests run on one worker, so its
# module fixtures are made once; these long files are spread over several workers instead,
# each part making the fixtures it uses (seconds measured with 4 workers).
SPLIT_FILES = {
    "tests/review/test_cases.py": 3,  # ~190 s: a synthesized variant of the app per case
    "tests/lifecycle/test_autostop.py": 2,  # ~160 s, mostly waiting for idle times
    "tests/lifecycle/test_host.py": 2,  # ~130 s
    "tests/review/test_review_app.py": 2,  # ~100 s: a CLI process per test
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.path).resolve().relative_to(ROOT).as_posix()
        if path.startswith(SLOW_PATHS):
            item.add_marker(pytest.mark.slow)


def work_unit(nodeid: str) -> str:
    """The xdist work unit of a test: its file, or for SPLIT_FILES one of the file's parts
    (from a hash of the test's ID, so the same on every run and every worker)."""
    path = nodeid.split("::", 1)[0]
    parts = SPLIT_FILES.get(path)
    return f"{path}:{zlib.crc32(nodeid.encode()) % parts}" if parts else path


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, called only when it runs
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadfile`` with SPLIT_FILES split. (xdist's own ``loadgroup`` cannot do it
    under pytest 9: it renames ``Item._nodeid``, which ``nodeid`` no longer reads.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileParts(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return FileParts(config, log)
