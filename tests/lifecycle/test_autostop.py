"""Idle auto-stop: the checker against a real Jupyter server and a real moto server, and the
installer fragment against a stand-in systemctl (or none) in temporary directories."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sagemaker_constructs.lifecycle_scripts import idle_autostop

if TYPE_CHECKING:  # imported at run time as the plugin below, so that pytest rewrites asserts
    from tests.lifecycle.servers import JupyterServer, MotoServer

pytest_plugins = ["tests.lifecycle.servers"]

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "lifecycle_scripts" / "idle_autostop.py"
INSTALLER = ROOT / "lifecycle_scripts" / "install_autostop.sh"
SHELLCHECK = Path(sys.executable).with_name("shellcheck")

REGION = "eu-west-1"  # the notebook's; the client environment defaults to us-east-1
NOTEBOOK = "fraud-alice"
TINY_IDLE = "0.02"  # minutes: 1.2 s
PAST_TINY_IDLE = 1.5  # seconds to wait for TINY_IDLE to pass


class Notebook:
    def __init__(self, aws: MotoServer, metadata_file: Path) -> None:
        self.sagemaker = aws.client("sagemaker", REGION)
        self.env = aws.env
        created = self.sagemaker.create_notebook_instance(
            NotebookInstanceName=NOTEBOOK,
            InstanceType="ml.t3.medium",
            RoleArn="arn:aws:iam::123456789012:role/service-role/notebook-fraud-alice",
        )
        self.arn = created["NotebookInstanceArn"]
        self.metadata_file = metadata_file
        metadata_file.write_text(json.dumps({"ResourceName": NOTEBOOK, "ResourceArn": self.arn}))

    def status(self) -> str:
        described = self.sagemaker.describe_notebook_instance(NotebookInstanceName=NOTEBOOK)
        return described["NotebookInstanceStatus"]


@pytest.fixture
def notebook(aws: MotoServer, tmp_path: Path) -> Notebook:
    return Notebook(aws, tmp_path / "resource-metadata.json")


def run_checker(
    notebook: Notebook, jupyter_url: str, token: str | None, idle_minutes: str, *flags: str
) -> subprocess.CompletedProcess:
    command = [sys.executable, str(CHECKER), "--jupyter-url", jupyter_url]
    command += ["--metadata-file", str(notebook.metadata_file), "--idle-minutes", idle_minutes]
    if token:
        command += ["--token", token]
    return subprocess.run(
        [*command, *flags], env=notebook.env, capture_output=True, text=True, timeout=60
    )


def check(
    notebook: Notebook, jupyter: JupyterServer, idle_minutes: str, *flags: str
) -> subprocess.CompletedProcess:
    result = run_checker(notebook, jupyter.url, jupyter.token, idle_minutes, *flags)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("[idle-autostop] "), result.stdout
    return result


# --- moto models what the checker relies on -------------------------------------------------


def test_moto_notebook_is_in_service_and_stops(notebook: Notebook):
    assert notebook.arn == f"arn:aws:sagemaker:{REGION}:123456789012:notebook-instance/{NOTEBOOK}"
    assert notebook.status() == "InService"
    notebook.sagemaker.stop_notebook_instance(NotebookInstanceName=NOTEBOOK)
    assert notebook.status() == "Stopped"


# --- the checker against Jupyter and moto ---------------------------------------------------


def test_idle_server_is_stopped(notebook: Notebook, clean_jupyter: JupyterServer):
    time.sleep(PAST_TINY_IDLE)
    result = check(notebook, clean_jupyter, TINY_IDLE)
    assert "idle for" in result.stdout
    assert f"stopping notebook instance {NOTEBOOK} ({REGION})" in result.stdout
    assert notebook.status() == "Stopped"


def test_dry_run_only_reports(notebook: Notebook, clean_jupyter: JupyterServer):
    time.sleep(PAST_TINY_IDLE)
    result = check(notebook, clean_jupyter, TINY_IDLE, "--dry-run")
    assert "dry run, not stopping fraud-alice" in result.stdout
    assert notebook.status() == "InService"


def test_busy_kernel_blocks_stop(notebook: Notebook, clean_jupyter: JupyterServer):
    kernel_id = clean_jupyter.start_kernel()
    channel = clean_jupyter.connect(kernel_id)
    channel.execute("import time; time.sleep(30)")
    clean_jupyter.wait_state(kernel_id, "busy")
    channel.close()  # only the busy state is left to block the stop
    time.sleep(PAST_TINY_IDLE)
    assert clean_jupyter.kernel(kernel_id)["execution_state"] == "busy"
    result = check(notebook, clean_jupyter, TINY_IDLE, "--ignore-connections")
    assert f"not idle: kernel {kernel_id[:8]} is busy" in result.stdout
    assert notebook.status() == "InService"


def test_recent_activity_blocks_stop(notebook: Notebook, clean_jupyter: JupyterServer):
    clean_jupyter.start_kernel()
    result = check(notebook, clean_jupyter, "60")
    assert re.search(
        r"not idle: last activity 0\.\d min ago, within the idle period of 60 min", result.stdout
    )
    assert notebook.status() == "InService"


def test_open_terminal_blocks_stop(notebook: Notebook, clean_jupyter: JupyterServer):
    name = clean_jupyter.open_terminal()
    time.sleep(PAST_TINY_IDLE)
    result = check(notebook, clean_jupyter, TINY_IDLE)
    assert f"not idle: 1 terminal(s) open ({name})" in result.stdout
    assert notebook.status() == "InService"


def test_open_connection_blocks_stop_unless_ignored(
    notebook: Notebook, clean_jupyter: JupyterServer
):
    kernel_id = clean_jupyter.start_kernel()
    clean_jupyter.connect(kernel_id)
    time.sleep(PAST_TINY_IDLE)

    result = check(notebook, clean_jupyter, TINY_IDLE)
    assert f"not idle: kernel {kernel_id[:8]} has 1 open connection(s)" in result.stdout
    assert notebook.status() == "InService"

    result = check(notebook, clean_jupyter, TINY_IDLE, "--ignore-connections")
    assert clean_jupyter.kernel(kernel_id)["connections"] == 1
    assert "idle for" in result.stdout
    assert notebook.status() == "Stopped"


def test_checker_polls_do_not_count_as_activity(notebook: Notebook, clean_jupyter: JupyterServer):
    time.sleep(PAST_TINY_IDLE)
    check(notebook, clean_jupyter, TINY_IDLE, "--dry-run")
    check(notebook, clean_jupyter, TINY_IDLE, "--dry-run")
    result = check(notebook, clean_jupyter, TINY_IDLE)
    assert "idle for" in result.stdout
    assert notebook.status() == "Stopped"


def test_self_signed_https_on_localhost_is_accepted(notebook: Notebook, jupyter_tls: JupyterServer):
    assert jupyter_tls.url.startswith("https://localhost:")
    time.sleep(PAST_TINY_IDLE)
    result = check(notebook, jupyter_tls, TINY_IDLE)
    assert "idle for" in result.stdout
    assert notebook.status() == "Stopped"


def test_unreachable_jupyter_does_not_stop(notebook: Notebook):
    from tests.lifecycle.servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    result = run_checker(notebook, url, "token", TINY_IDLE)
    assert result.returncode == 0, result.stderr
    assert f"[idle-autostop] cannot reach Jupyter at {url}" in result.stdout
    assert "not stopping" in result.stdout
    assert notebook.status() == "InService"


def test_wrong_token_does_not_stop(notebook: Notebook, jupyter: JupyterServer):
    result = run_checker(notebook, jupyter.url, "not-the-token", TINY_IDLE)
    assert result.returncode == 0, result.stderr
    assert "cannot reach Jupyter" in result.stdout and "403" in result.stdout
    assert notebook.status() == "InService"


def test_unreadable_metadata_fails(notebook: Notebook, jupyter: JupyterServer):
    notebook.metadata_file.write_text(json.dumps({"ResourceName": NOTEBOOK}))
    result = run_checker(notebook, jupyter.url, jupyter.token, TINY_IDLE)
    assert result.returncode == 1
    assert "cannot read the notebook instance metadata" in result.stdout
    assert notebook.status() == "InService"


@pytest.mark.parametrize("minutes", ["0", "-1", "nan", "soon"])
def test_idle_minutes_must_be_positive(minutes: str):
    result = subprocess.run(
        [sys.executable, str(CHECKER), f"--idle-minutes={minutes}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "must be a positive number of minutes" in result.stderr


# --- the decision and the timestamps, without servers -----------------------------------------

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)  # noqa: UP017 (as the checker)


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T11:30:00.123456Z",
        "2024-05-01T11:30:00.123Z",
        "2024-05-01T11:30:00.123456789Z",
        "2024-05-01T13:30:00.123456+02:00",
        "2024-05-01T11:30:00.123456",
    ],
)
def test_parse_timestamp(text: str):
    parsed = idle_autostop.parse_timestamp(text)
    assert parsed.replace(microsecond=0) == NOW - timedelta(minutes=30)
    assert parsed.utcoffset() == timedelta(0)


def test_parse_timestamp_rejects_other_text():
    with pytest.raises(ValueError, match="not an ISO 8601 timestamp"):
        idle_autostop.parse_timestamp("yesterday")


def state(kernels=(), terminals=(), last="2024-05-01T11:00:00Z", sessions=None):
    return idle_autostop.JupyterState(list(kernels), list(terminals), last, sessions or {})


def kernel(execution_state="idle", connections=0, last="2024-05-01T11:00:00Z"):
    return {"id": "0123456789ab", "execution_state": execution_state,
            "connections": connections, "last_activity": last}  # fmt: skip


@pytest.mark.parametrize(
    ("jupyter_state", "ignore", "idle", "reason"),
    [
        (state(), False, True, "idle for 60.0 min (idle period 30 min)"),
        (state(last="2024-05-01T11:50:00Z"), False, False, "last activity 10.0 min ago"),
        (state([kernel(last="2024-05-01T11:45:00Z")]), False, False, "last activity 15.0 min"),
        (
            state([kernel("starting", last="2024-05-01T11:59:00Z")]),
            True,
            False,
            "kernel 01234567 is starting",
        ),
        # Jupyter Server says "starting" until a client talks to the kernel: not for ever.
        (state([kernel("starting")]), True, True, "idle for 60.0 min"),
        (
            state([kernel("busy")], sessions={"0123456789ab": "fraud/model.ipynb"}),
            True,
            False,
            "kernel 01234567 (fraud/model.ipynb) is busy",
        ),
        (state([kernel(connections=2)]), False, False, "has 2 open connection(s)"),
        (state([kernel(connections=2)]), True, True, "idle for 60.0 min"),
        (state(terminals=[{"name": "1"}]), True, False, "1 terminal(s) open (1)"),
        (state(last=None), False, False, "no activity time"),
    ],
)
def test_decide(jupyter_state, ignore: bool, idle: bool, reason: str):
    decision = idle_autostop.decide(jupyter_state, NOW, 30, ignore)
    assert decision.idle is idle
    assert reason in decision.reason


# --- install_autostop.sh ----------------------------------------------------------------------


def installer_env(tmp_path: Path, path: str, **overrides: str) -> dict[str, str]:
    env = {
        "PATH": path,
        "AUTOSTOP_IDLE_MINUTES": "45",
        "AUTOSTOP_IGNORE_CONNECTIONS": "true",
        "AUTOSTOP_CHECKER": str(CHECKER),
        "AUTOSTOP_PYTHON": sys.executable,
        "AUTOSTOP_INTERVAL_MINUTES": "7",
        "SYSTEMD_DIR": str(tmp_path / "systemd"),
        "CRON_DIR": str(tmp_path / "cron.d"),
        "SYSTEMCTL_CALLS": str(tmp_path / "systemctl-calls"),
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run_installer(env: dict[str, str]) -> subprocess.CompletedProcess:
    bash = shutil.which("bash")
    return subprocess.run(
        [bash, str(INSTALLER)], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def systemd_path(tmp_path: Path) -> str:
    """A PATH whose first entry holds a stand-in systemctl that records its arguments."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    systemctl = bin_dir / "systemctl"
    systemctl.write_text('#!/bin/sh\necho "$*" >>"$SYSTEMCTL_CALLS"\n')
    systemctl.chmod(0o755)
    return f"{bin_dir}:/usr/bin:/bin"


@pytest.fixture
def path_without_systemctl(tmp_path: Path) -> str:
    """A PATH with only the tools the installer uses (and no systemctl, cron or crond)."""
    bin_dir = tmp_path / "bare-bin"
    bin_dir.mkdir()
    for tool in ("bash", "cat", "chmod", "mkdir", "mv"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return str(bin_dir)


def tree(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(directory.iterdir())}


def test_installer_writes_systemd_units(tmp_path: Path, systemd_path: str):
    result = run_installer(installer_env(tmp_path, systemd_path))
    assert result.returncode == 0, result.stderr
    units = tree(tmp_path / "systemd")
    assert sorted(units) == ["sagemaker-idle-autostop.service", "sagemaker-idle-autostop.timer"]
    service = units["sagemaker-idle-autostop.service"].splitlines()
    assert "Type=oneshot" in service
    assert f"ExecStart={sys.executable} {CHECKER} --idle-minutes 45 --ignore-connections" in service
    timer = units["sagemaker-idle-autostop.timer"].splitlines()
    assert {"OnActiveSec=7min", "OnUnitActiveSec=7min", "WantedBy=timers.target"} <= set(timer)
    calls = (tmp_path / "systemctl-calls").read_text().splitlines()
    assert calls == ["daemon-reload", "enable --now sagemaker-idle-autostop.timer"]
    assert not (tmp_path / "cron.d").exists()
    assert "timer sagemaker-idle-autostop.timer runs every 7 min" in result.stdout


def test_installer_defaults(tmp_path: Path, systemd_path: str):
    env = installer_env(
        tmp_path, systemd_path, AUTOSTOP_IGNORE_CONNECTIONS=None, AUTOSTOP_INTERVAL_MINUTES=None
    )
    assert run_installer(env).returncode == 0
    units = tree(tmp_path / "systemd")
    assert (
        f"ExecStart={sys.executable} {CHECKER} --idle-minutes 45\n"
        in units["sagemaker-idle-autostop.service"]
    )
    assert "OnUnitActiveSec=5min\n" in units["sagemaker-idle-autostop.timer"]


def test_installer_is_idempotent(tmp_path: Path, systemd_path: str):
    env = installer_env(tmp_path, systemd_path)
    assert run_installer(env).returncode == 0
    first = tree(tmp_path / "systemd")
    assert run_installer(env).returncode == 0
    assert tree(tmp_path / "systemd") == first  # same files, no leftovers
    calls = (tmp_path / "systemctl-calls").read_text().splitlines()
    assert calls == ["daemon-reload", "enable --now sagemaker-idle-autostop.timer"] * 2


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze here")
def test_installed_units_pass_systemd_analyze(tmp_path: Path, systemd_path: str):
    assert run_installer(installer_env(tmp_path, systemd_path)).returncode == 0
    units = sorted(str(p) for p in (tmp_path / "systemd").iterdir())
    result = subprocess.run(
        ["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("interval", "schedule"), [("7", "*/7 * * * *"), ("60", "0 * * * *")])
def test_installer_falls_back_to_cron(
    tmp_path: Path, path_without_systemctl: str, interval: str, schedule: str
):
    env = installer_env(tmp_path, path_without_systemctl, AUTOSTOP_INTERVAL_MINUTES=interval)
    result = run_installer(env)
    assert result.returncode == 0, result.stderr
    assert tree(tmp_path / "cron.d") == {
        "sagemaker-idle-autostop": (
            "# Idle auto-stop check (install_autostop.sh; no systemctl on this host).\n"
            "SHELL=/bin/bash\n"
            "PATH=/sbin:/bin:/usr/sbin:/usr/bin\n"
            f"{schedule} root {sys.executable} {CHECKER} --idle-minutes 45 --ignore-connections"
            " >>/var/log/sagemaker-idle-autostop.log 2>&1\n"
        )
    }
    assert oct((tmp_path / "cron.d" / "sagemaker-idle-autostop").stat().st_mode & 0o777) == "0o644"
    assert not (tmp_path / "systemd").exists()
    assert "warning: no cron daemon found" in result.stdout
    assert run_installer(env).returncode == 0
    assert sorted(os.listdir(tmp_path / "cron.d")) == ["sagemaker-idle-autostop"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"AUTOSTOP_IDLE_MINUTES": None}, "AUTOSTOP_IDLE_MINUTES is not set"),
        ({"AUTOSTOP_IDLE_MINUTES": ""}, "AUTOSTOP_IDLE_MINUTES is not set"),
        (
            {"AUTOSTOP_IDLE_MINUTES": "0"},
            "AUTOSTOP_IDLE_MINUTES must be a positive number of minutes (e.g. 60 or 7.5), got '0'",
        ),
        ({"AUTOSTOP_IDLE_MINUTES": "0.0"}, "got '0.0'"),
        ({"AUTOSTOP_IDLE_MINUTES": "-5"}, "got '-5'"),
        ({"AUTOSTOP_IDLE_MINUTES": "1e3"}, "got '1e3'"),
        ({"AUTOSTOP_IDLE_MINUTES": "60; reboot"}, "got '60; reboot'"),
        (
            {"AUTOSTOP_IGNORE_CONNECTIONS": "yes"},
            "AUTOSTOP_IGNORE_CONNECTIONS must be true or false, got 'yes'",
        ),
        (
            {"AUTOSTOP_INTERVAL_MINUTES": "0"},
            "AUTOSTOP_INTERVAL_MINUTES must be a whole number of minutes from 1 to 60, got '0'",
        ),
        ({"AUTOSTOP_INTERVAL_MINUTES": "61"}, "from 1 to 60, got '61'"),
        ({"AUTOSTOP_INTERVAL_MINUTES": "2.5"}, "from 1 to 60, got '2.5'"),
        ({"AUTOSTOP_CHECKER": None}, "AUTOSTOP_CHECKER is not set"),
        (
            {"AUTOSTOP_CHECKER": "/nonexistent/idle_autostop.py"},
            "AUTOSTOP_CHECKER: no checker at /nonexistent/idle_autostop.py",
        ),
        ({"AUTOSTOP_CHECKER": "relative.py"}, "must be absolute paths"),
        (
            {"AUTOSTOP_PYTHON": None},
            "AUTOSTOP_PYTHON: no executable python at /home/ec2-user/anaconda3/envs/JupyterSystemEnv/bin/python",
        ),
        ({"AUTOSTOP_PYTHON": "/usr/bin/my python"}, "must be absolute paths"),
    ],
)
def test_installer_rejects_bad_parameters(
    tmp_path: Path, systemd_path: str, overrides: dict, message: str
):
    if (
        overrides.get("AUTOSTOP_PYTHON", "") is None
        and Path("/home/ec2-user/anaconda3/envs/JupyterSystemEnv/bin/python").exists()
    ):
        pytest.skip("this host has the notebook's default python")
    result = run_installer(installer_env(tmp_path, systemd_path, **overrides))
    assert result.returncode == 1
    assert result.stderr.startswith("[install-autostop] error: ")
    assert message in result.stderr
    assert not (tmp_path / "systemd").exists()
    assert not (tmp_path / "systemctl-calls").exists()


def test_installer_passes_shellcheck():
    result = subprocess.run(
        [str(SHELLCHECK), "-x", str(INSTALLER)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
