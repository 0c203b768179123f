"""Composed lifecycle scripts, run unmodified on a simulated notebook host (harness.py).

One host per module: a first boot (on-create, then on-start straight after, as SageMaker
does) with every step type; the tests read its outcome, then make further runs on the same
host (failing steps, a stop and two starts). The outcomes are real: a venv, a kernel spec that
the real ``jupyter`` lists and a real kernel runs, packages the real pip installed, files
package_index.sh wrote, what a real HTTP server on 127.0.0.1 was asked.

Detached steps (conda environments, package installs into built-in kernels, detached custom
steps) outlive the script: a required one that fails is logged as FAILED but cannot fail the
start, which has already ended. Only a required foreground step fails it.
"""

from __future__ import annotations

import re
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

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
    PY_VERSION,
    Host,
    LocalServer,
    Run,
    closed_port,
    http_server,
)

PIP_INDEX = "https://pypi.example.internal/simple/"
CONDA_CHANNEL = "https://conda.example.internal/main"
ENV = "forecast"
#: How long the simulated `conda create` takes here (a real one takes minutes).
CONDA_CREATE_SECONDS = 3.0
#: A detached custom step of the on-start that takes this long.
SLOW_STEP_SECONDS = 3.0
#: Generous: the foreground part takes about a second here; SageMaker allows 300 s.
FOREGROUND_BOUND = 30.0
STAMPED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S")


def full_setup(url: str) -> NotebookSetup:
    """Every step type, as a team would configure them."""
    return NotebookSetup(
        steps=[
            PackageIndex(pip_index_url=PIP_INDEX, conda_channel=CONDA_CHANNEL),
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
                on_start=f"sleep {SLOW_STEP_SECONDS:g}\necho cache warmed",
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
def server():
    with http_server() as local:
        yield local


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory):
    built = Host(tmp_path_factory.mktemp("notebook-host"))
    built.add_wheel("smc-tinypkg", "1.0.0", "smc_tinypkg", "VALUE = 'tiny'\n")
    built.add_wheel("smc-otherpkg", "2.0.0", "smc_otherpkg", "VALUE = 'other'\n")
    yield built
    built.close()


@pytest.fixture(scope="module")
def first_boot(host: Host, server: LocalServer) -> FirstBoot:
    setup = full_setup(server.url)
    host.conda_create_seconds = CONDA_CREATE_SECONDS
    create = host.run(setup.on_create_text())
    create_logs = host.detached_text(create)
    start = host.run(setup.on_start_text())
    start_logs = host.detached_text(start)
    host.wait(create, start)
    host.conda_create_seconds = 0
    return FirstBoot(setup, server, create, start, create_logs, start_logs, host.systemctl_calls())


def env_dir(host: Host) -> Path:
    return host.envs_dir / ENV


def module_file(host: Host, env: Path, module: str) -> Path:
    return Path(host.python_in(env, f"import {module}; print({module}.__file__)").strip())


def step_names(run: Run) -> list[str]:
    return re.findall(r"\] step (\S+): running", run.stdout)


def tree(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``root``: relative path -> (mode, content)."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): (stat.S_IMODE(p.stat().st_mode), p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


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
    specs = host.kernelspecs()  # the real `jupyter kernelspec list`, as the user

    assert ENV in specs, sorted(specs)
    kernel = specs[ENV]
    assert Path(kernel["resource_dir"]) == host.user_kernel_dir() / ENV
    assert kernel["spec"]["display_name"] == f"conda_{ENV}"
    assert kernel["spec"]["argv"][0] == str(env_dir(host) / "bin" / "python")


def test_kernel_runs_in_the_environment_with_its_pip_packages(
    host: Host, first_boot: FirstBoot
) -> None:
    result = host.execute_in_kernel(
        ENV, "import sys, smc_tinypkg, smc_otherpkg\nprint(sys.prefix, smc_tinypkg.VALUE)"
    )

    assert result == {"status": "ok", "stdout": f"{env_dir(host)} tiny\n"}
    site = env_dir(host) / "lib" / f"python{PY_VERSION}" / "site-packages"
    # Installed into the environment itself (CondaEnvironment's and PackageInstall's).
    assert module_file(host, env_dir(host), "smc_tinypkg").parent == site
    assert module_file(host, env_dir(host), "smc_otherpkg").parent == site
    history = (env_dir(host) / "conda-meta" / "history").read_text()
    assert "numpy=1.26.4" in history and f"python={PY_VERSION}" in history


def test_package_install_into_the_built_in_python3_kernel(
    host: Host, first_boot: FirstBoot
) -> None:
    python3 = host.anaconda_dir / "envs" / "python3"

    assert module_file(host, python3, "smc_otherpkg").parent == (
        python3 / "lib" / f"python{PY_VERSION}" / "site-packages"
    )
    assert "scipy=1.13.1" in (python3 / "conda-meta" / "history").read_text()


def test_package_index_configures_pip_and_conda_of_the_user(
    host: Host, first_boot: FirstBoot
) -> None:
    pip_conf = host.home / ".config" / "pip" / "pip.conf"
    condarc = host.home / ".condarc"

    assert pip_conf.read_text() == f"[global]\nindex-url = {PIP_INDEX}\n"
    assert CONDA_CHANNEL in condarc.read_text().split("channels:")[1]
    for path in (pip_conf, condarc):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_package_index_makes_an_existing_config_private(host: Host) -> None:
    # A pip.conf that an image or an earlier script left readable by everyone.
    pip_conf = host.home / ".config" / "pip" / "pip.conf"
    pip_conf.parent.mkdir(parents=True, exist_ok=True)
    pip_conf.write_text("[global]\nindex-url = https://old.example.internal/simple/\n")
    pip_conf.chmod(0o644)

    run = host.run(NotebookSetup(steps=[PackageIndex(pip_index_url=PIP_INDEX)]).on_start_text())

    assert run.returncode == 0, run.output
    assert pip_conf.read_text() == f"[global]\nindex-url = {PIP_INDEX}\n"
    assert stat.S_IMODE(pip_conf.stat().st_mode) == 0o600


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
    assert create.detached_elapsed > create.elapsed + CONDA_CREATE_SECONDS / 2
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


def run_bundled(
    host: Host, setup: NotebookSetup, fragment: str, tmp_path: Path, *args: str, stdin: str = ""
):
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


def test_bundled_cw_tee_forwards_the_detached_output(
    host: Host, first_boot: FirstBoot, tmp_path: Path
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
    assert STAMPED.match(log.read_text()) and log.read_text().endswith(" hello\n")


def test_bundled_idle_autostop_checker_starts(
    host: Host, first_boot: FirstBoot, tmp_path: Path
) -> None:
    unit = (host.systemd_dir / "sagemaker-idle-autostop.service").read_text()
    checker = f"{host.work_root}/on-start/fragments/idle_autostop.py --idle-minutes 60"
    assert f"ExecStart={host.system_python} {checker}\n" in unit
    assert "enable --now sagemaker-idle-autostop.timer" in first_boot.systemctl_calls

    started = run_bundled(host, first_boot.setup, "idle_autostop.py", tmp_path, "--help")

    assert started.returncode == 0, started.stderr


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
    assert (
        "step optional-probe: FAILED with exit code 4 (optional, the start goes on)" in run.stdout
    )
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


# --- stop, then start twice ------------------------------------------------------------


def test_starting_twice_after_a_stop_leaves_the_same_state(
    host: Host, first_boot: FirstBoot
) -> None:
    python3_site = host.anaconda_dir / "envs" / "python3" / "lib" / f"python{PY_VERSION}"
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
        restarts.append(host.systemctl_calls()[calls_before:].count("restart jupyter-server"))
        states.append(
            {
                "kernels": tree(host.user_kernel_dir()),
                "pip": tree(host.home / ".config" / "pip"),
                "condarc": tree(host.home / ".condarc"),
                "units": tree(host.systemd_dir),
                "python3 packages": sorted(p.name for p in python3_site.rglob("smc_*")),
            }
        )
        if attempt == 0:
            assert f"registered kernel {ENV}" in run.stdout
        else:
            assert f"kernel {ENV} already registered" in run.stdout

    assert restarts == [1, 0]  # Jupyter restarted only when a kernel was added
    assert states[0] == states[1]
    assert sorted(p.name for p in host.user_kernel_dir().iterdir()) == [ENV]
    listed = host.kernelspecs()
    assert [name for name in listed if name == ENV] == [ENV]
    assert "smc_otherpkg.py" in states[1]["python3 packages"]  # re-installed on start
