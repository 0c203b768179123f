"""Composed lifecycle scripts, run unmodified on the strict notebook host (harness.py).

One host per module: a first boot (on-create, then on-start straight after, as SageMaker
does) with every step type; the tests read its outcome, then make further runs on the same
host (failing steps, sources taken away, a stop and two starts). Everything is real but
systemctl: the ec2-user account and sudo, a solver behind conda reading the ~/.condarc the
scripts wrote, pip reading their pip.conf against an index on 127.0.0.1 (tokens from the
CodeArtifact stand-in), boto3 against moto, jupyter_client starting the kernel specs.

Detached steps (conda environments, package installs into built-in kernels, detached custom
steps) outlive the script: a required one that fails is logged as FAILED but cannot fail the
start, which has already ended. Only a required foreground step fails it.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from sagemaker_constructs.setup.notebook_setup import (
    CondaEnvironment,
    ConnectivityCheck,
    CustomStep,
    IdleAutoStop,
    NotebookSetup,
    PackageIndex,
    PackageInstall,
    unbundle,
)
from tests.lifecycle.harness import (
    LOG_GROUP,
    NOTEBOOK_NAME,
    PY_VERSION,
    REGION,
    USER,
    Host,
    LocalServer,
    PackageServers,
    Run,
    closed_port,
    http_server,
    not_root_reason,
    owner,
)

if TYPE_CHECKING:
    from tests.lifecycle.servers import MotoServer

pytest_plugins = ["tests.lifecycle.servers"]
pytestmark = pytest.mark.skipif(not_root_reason() is not None, reason=str(not_root_reason()))

DOMAIN, REPOSITORY = "ml", "pypi"
ENV = "forecast"
#: How long each conda command takes here (a real one takes minutes).
CONDA_SECONDS = 3.0
#: A detached custom step of the on-start goes on this long after the on-start returned.
SLOW_STEP_SECONDS = 3.0
#: Generous: the foreground part takes seconds here; SageMaker allows 300 s.
FOREGROUND_BOUND = 30.0
STAMPED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ .")
TOKEN_UNIT = "sagemaker-constructs-codeartifact-token"


def full_setup(url: str, channel: str, gate: Path) -> NotebookSetup:
    """Every step type, as a team would configure them (the channel is the harness's).

    The detached custom step ``warm-cache`` ends once ``gate`` exists, so that it is still
    running when the on-start returns however slow the machine is."""
    return NotebookSetup(
        steps=[
            PackageIndex(
                code_artifact_domain=DOMAIN,
                code_artifact_repository=REPOSITORY,
                conda_channel=channel,
            ),
            ConnectivityCheck(url=url, timeout_seconds=5),
            CondaEnvironment(
                name=ENV,
                python_version=PY_VERSION,
                conda_packages=["numpy=1.26.4"],
                pip_packages=["smc-tinypkg==1.0.0"],
            ),
            PackageInstall(kernel=ENV, pip_packages=["smc-otherpkg==2.0.0"]),
            PackageInstall(
                kernel="python3",
                pip_packages=["smc-otherpkg==2.0.0"],
                conda_packages=["scipy=1.13.1"],
            ),
            CustomStep(
                name="warm-cache",
                on_start=f"while [ ! -e {gate} ]; do sleep 0.1; done\necho cache warmed",
                detached=True,
            ),
            IdleAutoStop(idle_minutes=60),
        ]
    )


@dataclass
class FirstBoot:
    setup: NotebookSetup
    server: LocalServer
    create: Run
    start: Run
    create_logs_at_return: dict[str, str]  # detached logs when on-create returned
    start_logs_at_return: dict[str, str]
    systemctl_calls: list[str]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with http_server() as local:
        yield local


@pytest.fixture(scope="module")
def host(moto_server: MotoServer, package_servers: PackageServers) -> Iterator[Host]:
    logs = moto_server.client("logs", REGION)
    if not logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]:
        logs.create_log_group(logGroupName=LOG_GROUP)  # SageMaker's, there on a real account
    built = Host(aws=moto_server.env, packages=package_servers)
    yield built
    built.close()


@pytest.fixture(scope="module")
def first_boot(host: Host, server: LocalServer, package_servers: PackageServers) -> FirstBoot:
    gate = Path(tempfile.mkdtemp(prefix="smc-gate-")) / "warm-cache"
    setup = full_setup(server.url, package_servers.channel.url, gate)
    host.conda_seconds = CONDA_SECONDS
    create = host.run(setup.on_create_text())
    create_logs = host.detached_text(create)
    start = host.run(setup.on_start_text())
    start_logs = host.detached_text(start)
    time.sleep(SLOW_STEP_SECONDS)  # the step's work, after the script has returned
    gate.touch()
    host.wait(create, start)
    host.conda_seconds = 0
    return FirstBoot(setup, server, create, start, create_logs, start_logs, host.systemctl_calls())


def env_dir(host: Host) -> Path:
    return host.envs_dir / ENV


def site_packages(env: Path) -> Path:
    return env / "lib" / f"python{PY_VERSION}" / "site-packages"


def module_file(host: Host, env: Path, module: str) -> Path:
    return Path(host.python_in(env, f"import {module}; print({module}.__file__)").strip())


def step_names(run: Run) -> list[str]:
    return re.findall(r"\] step (\S+): running", run.stdout)


def tree(root: Path) -> dict[str, tuple[int, str, bytes]]:
    """Every file under ``root``: relative path -> (mode, owner, content)."""
    if not root.exists():
        return {}
    paths = [root] if root.is_file() else sorted(root.rglob("*"))
    return {
        str(p.relative_to(root)): (stat.S_IMODE(p.stat().st_mode), owner(p), p.read_bytes())
        for p in paths
        if p.is_file()
    }


def pip_index_of(host: Host) -> str:
    config = configparser.RawConfigParser()
    config.read(host.home / ".config" / "pip" / "pip.conf")
    return config.get("global", "index-url")


def pip_install(
    host: Host, env: Path, spec: str, *options: str
) -> subprocess.CompletedProcess[str]:
    """``python -m pip install SPEC`` as the user, in ``env``: it reads the user's pip.conf."""
    python = str(env / "bin" / "python")
    return host.as_user(
        python, "-m", "pip", "install", "--no-cache-dir", *options, spec, check=False
    )


# --- first boot ------------------------------------------------------------------------


def test_first_boot_scripts_succeed(first_boot: FirstBoot) -> None:
    for run in (first_boot.create, first_boot.start):
        assert run.returncode == 0, run.output
        assert "the foreground part is done" in run.stdout
        for name, text in run.detached_logs.items():
            assert f"step {name}: done" in text, text
            assert "FAILED" not in text, text


def test_conda_environment_is_listed_as_a_kernel_of_the_user(
    host: Host, first_boot: FirstBoot
) -> None:
    specs = host.kernelspecs()  # jupyter_client's `kernelspec list`, as the user

    assert ENV in specs, sorted(specs)
    kernel = specs[ENV]
    assert Path(kernel["resource_dir"]) == host.user_kernel_dir() / ENV
    assert kernel["spec"]["display_name"] == f"conda_{ENV}"
    # The kernel activates its environment before starting (see the !pip test below).
    assert str(host.anaconda_dir / "bin" / "activate") in kernel["spec"]["argv"]
    assert str(env_dir(host)) in kernel["spec"]["argv"]


def test_the_scripts_make_the_users_files_owned_by_the_user(
    host: Host, first_boot: FirstBoot
) -> None:
    made = [
        host.home / ".config" / "pip" / "pip.conf",
        host.home / ".condarc",
        host.user_kernel_dir() / ENV / "kernel.json",
        host.envs_dir,
        env_dir(host) / "bin" / "python",
        site_packages(env_dir(host)) / "numpy" / "__init__.py",  # conda's
        site_packages(env_dir(host)) / "smc_tinypkg.py",  # pip's
        site_packages(host.anaconda_dir / "envs" / "python3") / "smc_otherpkg.py",
    ]
    assert {str(p): owner(p) for p in made} == {str(p): USER for p in made}
    # What root runs for itself stays root's.
    assert owner(host.systemd_dir / "sagemaker-idle-autostop.timer") == "root"


def test_kernel_runs_in_the_environment_with_its_packages(
    host: Host, first_boot: FirstBoot
) -> None:
    result = host.execute_in_kernel(
        ENV,
        "import sys, numpy, smc_tinypkg, smc_otherpkg\n"
        "print(sys.prefix, numpy.__version__, numpy.CONDA_PACKAGE, smc_tinypkg.VALUE)",
    )

    assert result == {"status": "ok", "stdout": f"{env_dir(host)} 1.26.4 numpy 1.0.0\n"}, result
    site = site_packages(env_dir(host))
    assert module_file(host, env_dir(host), "numpy").parent == site / "numpy"
    assert module_file(host, env_dir(host), "smc_tinypkg").parent == site
    assert module_file(host, env_dir(host), "smc_otherpkg").parent == site
    # conda's record of what it installed (the solver's answer, not the request)
    installed = {p.name.rsplit("-", 2)[0] for p in (env_dir(host) / "conda-meta").glob("*.json")}
    assert installed == {"python", "ipykernel", "numpy"}


PIP_FROM_THE_KERNEL = """
import subprocess, sys
# what `!pip install ...` runs: the shell's pip, found on the kernel's PATH
subprocess.run("pip install --no-cache-dir {spec}", shell=True, check=True)
import {module}
print("FILE", {module}.__file__)
"""


def test_pip_from_the_kernel_installs_into_the_kernels_environment(
    host: Host, first_boot: FirstBoot
) -> None:
    code = PIP_FROM_THE_KERNEL.format(spec="smc-kernelpkg==1.0.0", module="smc_kernelpkg")

    result = host.execute_in_kernel(ENV, code)

    assert result["status"] == "ok", result
    installed = Path(result["stdout"].split("FILE ")[1].strip())
    assert installed == site_packages(env_dir(host)) / "smc_kernelpkg.py"
    system_env = host.system_python.parents[1]
    assert not list(site_packages(system_env).glob("smc_kernelpkg*"))


def test_negative_control_a_kernel_without_activation_pips_into_jupyters_env(
    host: Host, first_boot: FirstBoot
) -> None:
    # What `ipykernel install --user` writes: the env's python, nothing activated. The
    # kernel's `!pip` is then JupyterSystemEnv's (first on the Jupyter server's PATH).
    plain = host.user_kernel_dir() / "plain"
    spec = {
        "argv": [
            str(env_dir(host) / "bin" / "python"),
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
        ],
        "display_name": "plain",
        "language": "python",
    }
    host.as_user("mkdir", "-p", str(plain))
    plain.joinpath("kernel.json").write_text(json.dumps(spec))
    code = (
        "import subprocess, importlib.util\n"
        "subprocess.run('pip install --no-cache-dir smc-plainpkg==1.0.0', shell=True, check=True)\n"
        "print('IMPORTABLE', importlib.util.find_spec('smc_plainpkg') is not None)\n"
    )
    try:
        result = host.execute_in_kernel("plain", code)
    finally:
        subprocess.run(["rm", "-rf", str(plain)], check=True)

    assert result["status"] == "ok", result
    assert "IMPORTABLE False" in result["stdout"]  # the notebook cannot import what it installed
    system_env = host.system_python.parents[1]
    assert list(site_packages(system_env).glob("smc_plainpkg*"))
    assert not list(site_packages(env_dir(host)).glob("smc_plainpkg*"))


def test_package_install_into_the_built_in_python3_kernel(
    host: Host, first_boot: FirstBoot
) -> None:
    python3 = host.anaconda_dir / "envs" / "python3"

    assert module_file(host, python3, "smc_otherpkg").parent == site_packages(python3)
    assert module_file(host, python3, "scipy").parent == site_packages(python3) / "scipy"
    assert list((python3 / "conda-meta").glob("scipy-1.13.1-*.json"))


def test_package_index_configures_pip_and_conda_of_the_user(
    host: Host, first_boot: FirstBoot, package_servers: PackageServers
) -> None:
    pip_conf = host.home / ".config" / "pip" / "pip.conf"
    condarc = host.home / ".condarc"

    index = pip_index_of(host)
    repository = f"{package_servers.index.url[len('http://') :]}{DOMAIN}-"
    assert index.startswith("http://aws:harness-token-") and repository in index, index
    assert index.endswith(f"/pypi/{REPOSITORY}/simple/")
    assert yaml.safe_load(condarc.read_text())["channels"] == [package_servers.channel.url]
    for path in (pip_conf, condarc):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    # The channel and the index were really asked (by conda and pip as the user).
    assert any("repodata.json" in r for r in package_servers.channel.requests)
    assert any(f"/{DOMAIN}-" in r and "smc-tinypkg" in r for r in package_servers.index.requests)


def test_package_index_merges_into_existing_config_and_makes_it_private(
    host: Host, first_boot: FirstBoot, package_servers: PackageServers
) -> None:
    # Settings that were there before (an image's, the user's): only the source changes.
    pip_conf = host.home / ".config" / "pip" / "pip.conf"
    condarc = host.home / ".condarc"
    host.as_user("mkdir", "-p", str(pip_conf.parent))
    pip_conf.write_text(
        "[global]\nindex-url = https://old.example.internal/simple/\ntimeout = 60\n"
        "[install]\nno-compile = true\n"
    )
    condarc.write_text(
        "channels:\n  - conda-forge\nchannel_priority: strict\n"
        "envs_dirs:\n  - /home/ec2-user/SageMaker/envs\n"
    )
    pip_conf.chmod(0o644)
    url = package_servers.simple_url
    channel = package_servers.channel_file_url
    setup = NotebookSetup(steps=[PackageIndex(pip_index_url=url, conda_channel=channel)])

    try:
        run = host.run(setup.on_start_text())
        merged_pip, merged_condarc = pip_conf.read_text(), condarc.read_text()
        modes = {p: (stat.S_IMODE(p.stat().st_mode), owner(p)) for p in (pip_conf, condarc)}
        python3 = host.anaconda_dir / "envs" / "python3"
        installed = pip_install(host, python3, "smc-tinypkg==1.0.0")  # the open index
    finally:
        for path in (pip_conf, condarc):
            path.unlink()
        host.wait(host.run(first_boot.setup.on_start_text()))  # the module's setup back

    assert run.returncode == 0, run.output
    config = configparser.RawConfigParser()
    config.read_string(merged_pip)
    assert {s: dict(config[s]) for s in config.sections()} == {
        "global": {"index-url": url, "timeout": "60"},
        "install": {"no-compile": "true"},
    }
    assert yaml.safe_load(merged_condarc) == {
        "channels": [channel],
        "channel_priority": "strict",
        "envs_dirs": ["/home/ec2-user/SageMaker/envs"],
    }
    assert modes == {pip_conf: (0o600, USER), condarc: (0o600, USER)}
    assert installed.returncode == 0, installed  # pip follows it: the open index


def test_connectivity_check_logs_a_reachable_server(first_boot: FirstBoot) -> None:
    assert f"connectivity: {first_boot.server.url} reachable (HTTP 200)" in first_boot.start.stdout
    assert "HEAD" in first_boot.server.requests


def test_connectivity_check_logs_a_closed_port_and_the_start_goes_on(host: Host) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    setup = NotebookSetup(steps=[ConnectivityCheck(url=url, timeout_seconds=2)])

    run = host.run(setup.on_start_text())

    assert run.returncode == 0, run.output
    assert f"connectivity: {url} NOT reachable within 2 s" in run.stdout
    assert "step connectivity-check: done" in run.stdout


def test_a_required_connectivity_check_fails_the_start(host: Host) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    setup = NotebookSetup(steps=[ConnectivityCheck(url=url, timeout_seconds=2, optional=False)])

    run = host.run(setup.on_start_text())

    assert run.returncode != 0, run.output
    assert f"connectivity: {url} NOT reachable within 2 s" in run.stdout


def test_foreground_part_returns_while_heavy_steps_run_detached(first_boot: FirstBoot) -> None:
    create, start = first_boot.create, first_boot.start

    assert create.elapsed < FOREGROUND_BOUND and start.elapsed < FOREGROUND_BOUND
    # When each script returned, its heavy steps had not finished ...
    assert "step conda-environments: done" not in first_boot.create_logs_at_return.get(
        "conda-environments", ""
    )
    assert "step warm-cache: done" not in first_boot.start_logs_at_return.get("warm-cache", "")
    # ... and they finished well after it.
    assert create.detached_elapsed > create.elapsed + CONDA_SECONDS / 2
    assert start.detached_elapsed > start.elapsed + SLOW_STEP_SECONDS / 2
    assert {d.name for d in create.detached} == {"conda-environments"}
    assert {d.name for d in start.detached} == {"packages", "warm-cache"}


def test_detached_output_reaches_the_log_file_with_timestamps(first_boot: FirstBoot) -> None:
    log = first_boot.create.log("conda-environments")
    lines = log.splitlines()

    assert lines and all(STAMPED.match(line) for line in lines), log
    for expected in (
        "step conda-environments: started",
        f"creating environment {ENV} (python {PY_VERSION})",
        "Successfully installed smc-tinypkg-1.0.0",
        "Successfully installed smc-otherpkg-2.0.0",
        f"registered kernel {ENV}",
        "step conda-environments: done",
    ):
        assert expected in log, expected
    assert "cache warmed" in first_boot.start.log("warm-cache")


def log_events(moto_server: MotoServer, stream: str) -> list[str]:
    logs = moto_server.client("logs", REGION)
    events = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream)["events"]
    return [e["message"] for e in events]


def test_detached_output_reaches_cloudwatch_logs(
    first_boot: FirstBoot, moto_server: MotoServer
) -> None:
    # cw_tee.py with JupyterSystemEnv's boto3, against moto: the stream of the notebook.
    messages = log_events(moto_server, f"{NOTEBOOK_NAME}/on-create-conda-environments")

    assert messages, "no events"
    assert all(STAMPED.match(m) for m in messages)
    file_lines = first_boot.create.log("conda-environments").splitlines()
    assert [m for m in messages if m in file_lines] == messages
    assert any("step conda-environments: done" in m for m in messages)
    assert any(
        "cache warmed" in m for m in log_events(moto_server, f"{NOTEBOOK_NAME}/on-start-warm-cache")
    )


def run_bundled(
    host: Host, setup: NotebookSetup, fragment: str, tmp_path: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run a .py fragment as the on-start script bundles it, with the host's system python."""
    path = tmp_path / fragment
    path.write_text(unbundle(setup.on_start_text())[fragment])
    return subprocess.run(
        [str(host.system_python), str(path), *args],
        input=stdin,
        env=host.env("on-start"),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bundled_cw_tee_forwards_to_the_file_and_to_cloudwatch(
    host: Host, first_boot: FirstBoot, tmp_path: Path, moto_server: MotoServer
) -> None:
    log = tmp_path / "step.log"
    tee = run_bundled(
        host,
        first_boot.setup,
        "cw_tee.py",
        tmp_path,
        "--file",
        str(log),
        "--stream",
        "t",
        stdin="hello\n",
    )

    assert tee.returncode == 0, tee.stderr
    assert "[cw_tee]" not in tee.stderr, tee.stderr  # CloudWatch did not switch itself off
    assert STAMPED.match(log.read_text()) and log.read_text().endswith(" hello\n")
    assert log_events(moto_server, f"{NOTEBOOK_NAME}/t") == [log.read_text().rstrip("\n")]


def test_bundled_idle_autostop_checker_starts(
    host: Host, first_boot: FirstBoot, tmp_path: Path
) -> None:
    unit = (host.systemd_dir / "sagemaker-idle-autostop.service").read_text()
    checker = f"{host.work_root}/on-start/fragments/idle_autostop.py --idle-minutes 60"
    assert f"ExecStart={host.system_python} {checker}\n" in unit
    assert "enable --now sagemaker-idle-autostop.timer" in first_boot.systemctl_calls

    started = run_bundled(host, first_boot.setup, "idle_autostop.py", tmp_path, "--help")

    assert started.returncode == 0, started.stderr


# --- the CodeArtifact token ------------------------------------------------------------


def systemd_unit(path: Path) -> tuple[dict[str, str], str]:
    """A oneshot unit's Environment= (merged) and ExecStart= (as systemd splits it)."""
    env, command = {}, ""
    for line in path.read_text().splitlines():
        if line.startswith("Environment="):
            env.update(item.split("=", 1) for item in shlex.split(line[len("Environment=") :]))
        elif line.startswith("ExecStart="):
            command = line[len("ExecStart=") :]
    return env, command


def test_token_is_refreshed_by_a_timer_that_rewrites_pip_conf(
    host: Host, first_boot: FirstBoot, package_servers: PackageServers
) -> None:
    timer = (host.systemd_dir / f"{TOKEN_UNIT}.timer").read_text()
    assert "OnUnitActiveSec=6h" in timer and "OnActiveSec=6h" in timer  # tokens last 12 h
    assert f"enable --now {TOKEN_UNIT}.timer" in first_boot.systemctl_calls
    python3 = host.anaconda_dir / "envs" / "python3"
    before = pip_index_of(host)
    assert "@" in before and "harness-token-" in before, before
    assert pip_install(host, python3, "smc-refreshpkg==1.0.0").returncode == 0
    pip_uninstall = [str(python3 / "bin" / "python"), "-m", "pip", "uninstall", "-y"]
    host.as_user(*pip_uninstall, "smc-refreshpkg")
    package_servers.revoke_tokens()  # 12 hours later
    expired = pip_install(host, python3, "smc-refreshpkg==1.0.0")
    assert expired.returncode != 0 and "401" in expired.stdout + expired.stderr, expired

    # What systemd runs when the timer fires: ExecStart with the unit's environment (and
    # the instance role's credentials, here the harness's AWS settings).
    env, command = systemd_unit(host.systemd_dir / f"{TOKEN_UNIT}.service")
    aws = {k: v for k, v in host.env("timer").items() if k.startswith("AWS_")}
    refreshed = subprocess.run(
        shlex.split(command),
        env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", **aws, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )

    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    after = pip_index_of(host)
    assert after != before and after.split("@")[1] == before.split("@")[1]
    assert owner(host.home / ".config" / "pip" / "pip.conf") == USER
    assert pip_install(host, python3, "smc-refreshpkg==1.0.0").returncode == 0


def test_systemd_accepts_the_token_units(host: Host, first_boot: FirstBoot) -> None:
    analyze = subprocess.run(["which", "systemd-analyze"], capture_output=True, text=True)
    if analyze.returncode != 0:
        pytest.skip("systemd-analyze is not installed")
    for suffix in ("service", "timer"):
        unit = host.systemd_dir / f"{TOKEN_UNIT}.{suffix}"
        checked = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", str(unit)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        problems = [
            line for line in checked.stderr.splitlines() if TOKEN_UNIT in line and "Failed" in line
        ]
        assert not problems, checked.stderr


# --- failing steps ---------------------------------------------------------------------


def test_optional_failing_steps_do_not_fail_the_start(host: Host) -> None:
    setup = NotebookSetup(
        steps=[
            CustomStep(name="optional-probe", on_start="echo probing\nexit 4", optional=True),
            PackageInstall(kernel="python3", pip_packages=["smc-missing==9.9.9"], optional=True),
        ]
    )

    run = host.run(setup.on_start_text())
    host.wait(run)

    assert run.returncode == 0, run.output
    assert "step optional-probe: FAILED (optional, exit code 4; the start goes on)" in run.stdout
    log = run.log("packages")
    assert "No matching distribution found for smc-missing==9.9.9" in log
    assert "packages:python3: FAILED (optional, ignored)" in log
    assert "step packages: done" in log


def test_a_required_failing_foreground_step_fails_the_start(host: Host) -> None:
    setup = NotebookSetup(
        steps=[
            CustomStep(name="must-pass", on_start="echo checking\nexit 3"),
            IdleAutoStop(idle_minutes=60),  # composed after custom steps: must not run
        ]
    )

    run = host.run(setup.on_start_text())

    assert run.returncode == 3, run.output
    assert "step must-pass: FAILED with exit code 3" in run.stdout
    assert step_names(run) == ["must-pass"]
    assert "the foreground part is done" not in run.stdout


def test_a_required_failing_detached_step_is_logged_but_cannot_fail_the_start(host: Host) -> None:
    setup = NotebookSetup(
        steps=[PackageInstall(kernel="python3", pip_packages=["smc-missing==9.9.9"])]
    )

    run = host.run(setup.on_start_text())
    host.wait(run)

    assert run.returncode == 0, run.output
    log = run.log("packages")
    assert "step packages: FAILED with exit code 1\n" in log
    assert "optional" not in log


# --- negative controls: the harness is as strict as a host without internet ------------


def test_with_the_index_stopped_pip_installs_fail(
    host: Host, first_boot: FirstBoot, package_servers: PackageServers
) -> None:
    setup = NotebookSetup(
        steps=[
            PackageIndex(code_artifact_domain=DOMAIN, code_artifact_repository=REPOSITORY),
            PackageInstall(kernel="python3", pip_packages=["smc-kernelpkg==1.0.0"], optional=True),
            PackageInstall(kernel="python3", pip_packages=["smc-tinypkg==1.0.0"]),
        ]
    )
    host.as_user(
        str(host.anaconda_dir / "envs/python3/bin/python"),
        "-m",
        "pip",
        "uninstall",
        "-y",
        "smc-tinypkg",
        check=False,
    )
    with package_servers.index.stopped():
        run = host.run(setup.on_start_text())
        host.wait(run)

    assert run.returncode == 0, run.output  # the token came; the installs are detached
    log = run.log("packages")
    assert "step packages: FAILED with exit code 1" in log, log
    assert "No matching distribution found for smc-tinypkg==1.0.0" in log
    assert "packages:python3: FAILED (optional, ignored)" in log  # logged, and on it went
    assert log.index("FAILED (optional, ignored)") < log.index("smc-tinypkg==1.0.0")


def test_with_the_channel_stopped_conda_fails_and_an_optional_env_logs_and_goes_on(
    host: Host, package_servers: PackageServers
) -> None:
    setup = NotebookSetup(
        steps=[
            PackageIndex(
                pip_index_url=package_servers.simple_url, conda_channel=package_servers.channel.url
            ),
            CondaEnvironment(name="needs-channel", python_version=PY_VERSION, optional=True),
            CondaEnvironment(
                name="after-it", python_version=PY_VERSION, conda_packages=["numpy=1.26.4"]
            ),
        ]
    )
    with package_servers.channel.stopped():
        run = host.run(setup.on_create_text())
        host.wait(run)

    assert run.returncode == 0, run.output
    log = run.log("conda-environments")
    assert "CondaHTTPError" in log, log
    assert "conda-environment:needs-channel: FAILED (optional, ignored)" in log
    # the required one after it ran, failed the same way, and says so
    assert "step conda-environments: FAILED" in log
    assert (host.envs_dir / ".after-it.creating").read_text().strip() == "failed"
    assert "needs-channel" not in host.kernelspecs()


def test_an_unsolvable_pin_fails_like_conda(host: Host, package_servers: PackageServers) -> None:
    setup = NotebookSetup(
        steps=[
            PackageIndex(
                pip_index_url=package_servers.simple_url,
                conda_channel=package_servers.channel_file_url,
            ),
            CondaEnvironment(
                name="bad-pin", python_version=PY_VERSION, conda_packages=["numpy=9.9.9"]
            ),
        ]
    )

    run = host.run(setup.on_create_text())
    host.wait(run)

    log = run.log("conda-environments")
    assert "LibMambaUnsatisfiableError" in log and "numpy" in log, log
    assert "step conda-environments: FAILED" in log


def test_without_a_package_index_pip_and_conda_reach_nothing(
    host: Host, first_boot: FirstBoot
) -> None:
    # No pip.conf and no .condarc: pip would go to pypi.org and conda to anaconda.org,
    # which a notebook without internet (and ec2-user here) cannot reach.
    for path in (host.home / ".config" / "pip" / "pip.conf", host.home / ".condarc"):
        path.unlink()
    python3 = host.anaconda_dir / "envs" / "python3"
    try:
        started = time.monotonic()
        # one retry: pip says why it failed (the harness's default is none)
        pip = pip_install(host, python3, "smc-tinypkg==1.0.0", "--retries", "1")
        conda = host.as_user(
            str(host.anaconda_dir / "bin" / "conda"),
            "create",
            "--yes",
            "--prefix",
            str(host.root / "scratch-env"),
            f"python={PY_VERSION}",
            check=False,
        )
        elapsed = time.monotonic() - started
    finally:
        host.wait(host.run(first_boot.setup.on_start_text()))  # the configuration back

    assert pip.returncode != 0 and "Cannot connect to proxy" in pip.stdout + pip.stderr, pip
    assert conda.returncode != 0 and "CondaHTTPError" in conda.stderr, conda.stderr
    assert "repo.anaconda.com" in conda.stderr
    assert elapsed < 60  # refused at once, nothing waits on the network


# --- stop, then start twice ------------------------------------------------------------


def test_a_stop_wipes_everything_but_the_volume(host: Host, first_boot: FirstBoot) -> None:
    volume_before = tree(host.envs_dir / ENV / "conda-meta")
    host.run(first_boot.setup.on_start_text())
    host.wait()
    outside = [
        host.home / ".config" / "pip" / "pip.conf",
        host.home / ".condarc",
        host.user_kernel_dir() / ENV,
        host.work_root / "on-start" / "fragments",
        host.log_dir,
        host.systemd_dir / "sagemaker-idle-autostop.timer",
        host.systemd_dir / f"{TOKEN_UNIT}.timer",
        site_packages(host.anaconda_dir / "envs" / "python3") / "smc_otherpkg.py",
    ]
    assert all(p.exists() for p in outside)

    host.stop()

    assert [p for p in outside if p.exists()] == []
    assert tree(host.envs_dir / ENV / "conda-meta") == volume_before
    assert owner(host.home) == USER and owner(host.anaconda_dir) == USER


def test_starting_twice_after_a_stop_leaves_the_same_state(
    host: Host, first_boot: FirstBoot
) -> None:
    python3_site = site_packages(host.anaconda_dir / "envs" / "python3")
    host.stop()
    # Only the volume survived: the environment is there, its kernel spec is not, and the
    # built-in python3 env is the image's again.
    assert (env_dir(host) / "bin" / "python").exists()
    assert not (host.user_kernel_dir() / ENV).exists()
    assert not list(python3_site.rglob("smc_otherpkg*"))
    on_start = first_boot.setup.on_start_text()

    states, restarts = [], []
    for attempt in range(2):
        calls_before = len(host.systemctl_calls())
        run = host.run(on_start)
        host.wait(run)
        assert run.returncode == 0, run.output
        restarts.append(host.jupyter_restarts(host.systemctl_calls()[calls_before:]))
        states.append(
            {
                "kernels": tree(host.user_kernel_dir()),
                "pip": {k: v[:2] for k, v in tree(host.home / ".config" / "pip").items()},
                "condarc": tree(host.home / ".condarc"),
                "units": tree(host.systemd_dir),
                "python3 packages": sorted(p.name for p in python3_site.rglob("smc_*")),
            }
        )
        assert "kernels unchanged since the previous start" in run.stdout
        if attempt == 0:
            assert f"registered kernel {ENV}" in run.stdout
            host.stop()
        else:
            assert f"registered kernel {ENV}" in run.stdout  # the home was wiped again

    # The kernels are those of the start before the stop: Jupyter is never restarted.
    assert restarts == [0, 0]
    assert states[0] == states[1]
    assert sorted(p.name for p in host.user_kernel_dir().iterdir()) == [ENV]
    listed = host.kernelspecs()
    assert [name for name in listed if name == ENV] == [ENV]
    assert "smc_otherpkg.py" in states[1]["python3 packages"]  # re-installed on start


def test_a_new_environment_restarts_jupyter_once_without_waiting(
    host: Host, first_boot: FirstBoot
) -> None:
    # A second environment appears on the volume (made from a terminal): the next start
    # registers it and restarts Jupyter, queued (--no-block); the one after does not.
    conda = str(host.anaconda_dir / "bin" / "conda")
    second = str(host.envs_dir / "second")
    host.as_user(conda, "create", "--yes", "--prefix", second, f"python={PY_VERSION}", "ipykernel")
    restarts, calls = [], []
    for _ in range(2):
        before = len(host.systemctl_calls())
        run = host.run(first_boot.setup.on_start_text())
        host.wait(run)
        calls.append(host.systemctl_calls()[before:])
        restarts.append(host.jupyter_restarts(calls[-1]))

    assert restarts == [1, 0], calls
    assert "--no-block restart jupyter-server" in calls[0]
    assert "second" in host.kernelspecs()
