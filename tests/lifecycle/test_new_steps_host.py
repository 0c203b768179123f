"""EnvironmentVariables, JupyterLabExtension and PipInstallEverywhere on the strict host.

The composed scripts run unmodified (harness.py): the real ec2-user and sudo, pip reading the
pip.conf the scripts wrote against the session's index on 127.0.0.1, jupyter_client starting
the kernels. One host for the module; each test starts from a stop (a fresh home and fresh
built-in envs, the volume kept) so no test sees another's files.

The harness's image has one built-in kernel env (``python3``, plus ``JupyterSystemEnv``);
AL2023 ships two (``python3``, ``pytorch``; setup/platforms.py). The PipInstallEverywhere test
adds a ``pytorch`` env to the image the way the harness makes ``python3``, and its negative
control runs without it.

Negative controls: a variable the step does not set is not seen (and a stop removes the old
ones); with the index stopped the extension install fails (optional: logged, the start goes
on) and so does the install everywhere (required: FAILED); without the second built-in env
the install everywhere fails naming it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagemaker_constructs.setup.notebook_setup import (
    CondaEnvironment,
    EnvironmentVariables,
    JupyterLabExtension,
    NotebookSetup,
    PackageIndex,
    PipInstallEverywhere,
)
from sagemaker_constructs.setup.platforms import AL2023
from tests.lifecycle.harness import (
    PY_VERSION,
    USER,
    Host,
    Package,
    PackageServers,
    Run,
    chown_tree,
    make_env,
    not_root_reason,
    owner,
)

pytest_plugins = ["tests.lifecycle.servers"]
pytestmark = pytest.mark.skipif(not_root_reason() is not None, reason=str(not_root_reason()))

LABEXT = Package("smc-labext", "1.0.0", "smc_labext")
EVERYWHERE = Package("smc-everypkg", "1.0.0", "smc_everypkg")
TRICKY = 'it\'s "quoted" $HOME, `ls` and  spaces'


@pytest.fixture(scope="module")
def host(package_servers: PackageServers) -> Iterator[Host]:
    for package in (LABEXT, EVERYWHERE):
        package_servers.add(package)
    built = Host(packages=package_servers)
    yield built
    built.close()


@pytest.fixture
def fresh(host: Host) -> Host:
    """The host after a stop and start: fresh home and built-in envs, the volume kept."""
    host.stop()
    return host


def site_packages(env: Path) -> Path:
    return env / "lib" / f"python{PY_VERSION}" / "site-packages"


def has_module(env: Path, module: str) -> bool:
    return bool(list(site_packages(env).glob(f"{module}*")))


def started(host: Host, script: str | None) -> Run:
    run = host.run(script)
    assert run.returncode == 0, run.output
    host.wait(run)
    return run


def restarts(host: Host) -> list[str]:
    return [c for c in host.systemctl_calls() if "restart" in c]


# --- EnvironmentVariables ----------------------------------------------------------------------


def test_environment_variables_reach_kernels_and_terminals(fresh: Host) -> None:
    host = fresh
    setup = NotebookSetup([EnvironmentVariables(values={"SMC_TEAM": "geo", "SMC_TRICKY": TRICKY})])
    bashrc = host.home / ".bashrc"
    bashrc.write_text("# the image bashrc\n")
    os.chown(bashrc, host.account.pw_uid, host.account.pw_gid)
    real_home_bashrc = Path("/home", USER, ".bashrc")
    before = real_home_bashrc.read_bytes() if real_home_bashrc.exists() else None
    for _ in range(2):  # a second start replaces the block, it does not add another
        started(host, setup.on_start_text())

    text = bashrc.read_text()
    assert text.startswith("# the image bashrc\n"), text
    assert text.count("environment variables >>>") == 1, text
    assert owner(bashrc) == USER
    # A terminal's interactive bash (no "$" in the command: sudo -i would expand it)
    terminal = host.as_user("bash", "-i", "-c", "printenv SMC_TEAM SMC_TRICKY")
    assert terminal.stdout == f"geo\n{TRICKY}\n", terminal.stdout
    kernel = host.execute_in_kernel(
        "python3", "import os; print(os.environ['SMC_TEAM'], os.environ['SMC_TRICKY'])"
    )
    assert kernel == {"status": "ok", "stdout": f"geo {TRICKY}\n"}, kernel
    assert not restarts(host)
    # Written in the simulated home (NOTEBOOK_HOME), not in the account's passwd home.
    after = real_home_bashrc.read_bytes() if real_home_bashrc.exists() else None
    assert after == before


def test_a_variable_not_set_is_not_seen(fresh: Host) -> None:
    # The previous test's variables went with the stop; this start sets another one.
    started(fresh, NotebookSetup([EnvironmentVariables(values={"OTHER": "x"})]).on_start_text())
    kernel = fresh.execute_in_kernel(
        "python3", "import os; print(os.environ.get('SMC_TEAM'), os.environ.get('OTHER'))"
    )
    assert kernel == {"status": "ok", "stdout": "None x\n"}, kernel
    terminal = fresh.as_user("bash", "-i", "-c", "printenv OTHER SMC_TEAM", check=False)
    assert (terminal.returncode, terminal.stdout) == (1, "x\n"), terminal  # SMC_TEAM: unset


# --- JupyterLabExtension -----------------------------------------------------------------------


def extension_setup(url: str, *, optional: bool) -> NotebookSetup:
    return NotebookSetup(
        [
            PackageIndex(pip_index_url=url),
            JupyterLabExtension(
                pip_packages=[f"{LABEXT.name}=={LABEXT.version}"], optional=optional
            ),
        ]
    )


def test_jupyterlab_extension_lands_in_jupyters_env_without_a_restart(
    fresh: Host, package_servers: PackageServers
) -> None:
    host = fresh
    start = started(
        host, extension_setup(package_servers.simple_url, optional=False).on_start_text()
    )

    log = start.log("jupyterlab-extensions")
    assert "step jupyterlab-extensions: done" in log, log
    system_env = host.anaconda_dir / "envs" / AL2023.jupyter_env
    where = host.python_in(system_env, f"import {LABEXT.module}; print({LABEXT.module}.__file__)")
    assert where.strip() == str(site_packages(system_env) / f"{LABEXT.module}.py")
    assert owner(site_packages(system_env) / f"{LABEXT.module}.py") == USER
    assert not has_module(host.anaconda_dir / "envs" / "python3", LABEXT.module)
    assert any(f"/simple/{LABEXT.name}/" in r for r in package_servers.index.requests)
    assert not restarts(host)


def test_with_the_index_stopped_an_optional_extension_logs_and_the_start_goes_on(
    fresh: Host, package_servers: PackageServers
) -> None:
    host = fresh
    setup = extension_setup(package_servers.simple_url, optional=True)
    with package_servers.index.stopped():
        start = started(host, setup.on_start_text())
    log = start.log("jupyterlab-extensions")
    assert "jupyterlab-extensions: FAILED (optional, ignored)" in log, log
    assert "step jupyterlab-extensions: done" in log, log
    assert not has_module(host.anaconda_dir / "envs" / AL2023.jupyter_env, LABEXT.module)


# --- PipInstallEverywhere ----------------------------------------------------------------------

SPEC = f"{EVERYWHERE.name}=={EVERYWHERE.version}"
SETUP_ENV = "everyenv"


def everywhere_setup(url: str) -> NotebookSetup:
    return NotebookSetup(
        [
            PackageIndex(pip_index_url=url),
            CondaEnvironment(name=SETUP_ENV, base_environment="python3"),
            PipInstallEverywhere(pip_packages=[SPEC]),
        ]
    )


def add_second_built_in_env(host: Host) -> Path:
    """AL2023's second built-in env (``pytorch``), made as the harness makes ``python3``."""
    env = host.anaconda_dir / "envs" / AL2023.built_in_envs[1]
    make_env(env)
    chown_tree(env, host.account)
    return env


def test_pip_install_everywhere_reaches_every_built_in_env_and_the_setup_env(
    host: Host, package_servers: PackageServers
) -> None:
    host.new_notebook()
    assert len(AL2023.built_in_envs) == 2
    add_second_built_in_env(host)
    setup = everywhere_setup(package_servers.simple_url)
    create = started(host, setup.on_create_text())
    start = started(host, setup.on_start_text())

    assert "step conda-environments: done" in create.log("conda-environments")
    assert "step packages: done" in start.log("packages"), start.log("packages")
    setup_env = host.envs_dir / SETUP_ENV
    targets = [host.anaconda_dir / "envs" / name for name in AL2023.built_in_envs] + [setup_env]
    for env in targets:
        assert has_module(env, EVERYWHERE.module), env
        assert owner(site_packages(env) / f"{EVERYWHERE.module}.py") == USER
    assert not has_module(host.system_python.parents[1], EVERYWHERE.module)  # not Jupyter's
    ran = host.execute_in_kernel(
        SETUP_ENV, f"import sys, {EVERYWHERE.module} as m; print(sys.prefix, m.VALUE)"
    )
    assert ran == {"status": "ok", "stdout": f"{setup_env} {EVERYWHERE.version}\n"}, ran

    # A later start: the built-in envs are new (not on the volume) and get it again; the
    # setup env (on the volume) keeps it from its creation.
    host.stop()
    add_second_built_in_env(host)
    assert not has_module(host.anaconda_dir / "envs" / "python3", EVERYWHERE.module)
    again = started(host, setup.on_start_text())
    assert "step packages: done" in again.log("packages")
    for env in targets:
        assert has_module(env, EVERYWHERE.module), env
    installs = re.findall(r"installing into (\S+) with pip", again.log("packages"))
    assert installs == [str(host.anaconda_dir / "envs" / n) for n in AL2023.built_in_envs]


def test_pip_install_everywhere_fails_without_the_index_or_a_built_in_env(
    fresh: Host, package_servers: PackageServers
) -> None:
    host = fresh
    setup = everywhere_setup(package_servers.simple_url)
    second = add_second_built_in_env(host)
    with package_servers.index.stopped():
        start = started(host, setup.on_start_text())
    log = start.log("packages")
    assert "step packages: FAILED" in log, log
    assert not has_module(host.anaconda_dir / "envs" / "python3", EVERYWHERE.module)
    assert not has_module(second, EVERYWHERE.module)

    # The image without the second built-in env (the harness's own): the step names it.
    host.stop()
    start = started(host, setup.on_start_text())
    log = start.log("packages")
    assert f"no environment at {second}" in log, log
    assert "step packages: FAILED" in log, log
