"""Idle auto-stop: the checker against a real Jupyter server and a real moto server, and the
installer fragment against a stand-in systemctl (or none) in temporary directories.

The stand-ins and their negative controls: ``JupyterLabTab`` polls the REST API the way an open
JupyterLab tab does, and a test proves it moves the server's own ``last_activity`` (what used to
keep notebooks running); busy markers are written by the real detached.sh; a checker pointed at
an endpoint where nothing listens fails and stops nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import venv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
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
DETACHED = ROOT / "lifecycle_scripts" / "detached.sh"
CW_TEE = ROOT / "lifecycle_scripts" / "cw_tee.py"
SHELLCHECK = Path(sys.executable).with_name("shellcheck")

REGION = "eu-west-1"  # the notebook's; the client environment defaults to us-east-1
NOTEBOOK = "fraud-alice"
LOG_GROUP = "/aws/sagemaker/NotebookInstances"
TINY_IDLE = "0.02"  # minutes: 1.2 s
PAST_TINY_IDLE = 1.5  # seconds to wait for TINY_IDLE to pass


class Notebook:
    def __init__(self, aws: MotoServer, work: Path) -> None:
        self.aws = aws
        self.sagemaker = aws.client("sagemaker", REGION)
        self.logs = aws.client("logs", REGION)
        self.env = aws.env
        created = self.sagemaker.create_notebook_instance(
            NotebookInstanceName=NOTEBOOK,
            InstanceType="ml.t3.medium",
            RoleArn="arn:aws:iam::123456789012:role/service-role/notebook-fraud-alice",
        )
        self.arn = created["NotebookInstanceArn"]
        self.work = work
        self.metadata_file = work / "resource-metadata.json"
        self.metadata_file.write_text(
            json.dumps({"ResourceName": NOTEBOOK, "ResourceArn": self.arn})
        )
        # Where the checker looks for busy markers and keeps its state: this test's own.
        self.busy_glob = str(work / "smc" / "*" / "running" / "*.pid")
        self.state_file = work / "state.json"
        self.hooks = work / "before-stop.d"

    def status(self) -> str:
        described = self.sagemaker.describe_notebook_instance(NotebookInstanceName=NOTEBOOK)
        return described["NotebookInstanceStatus"]

    def log_lines(self) -> list[str]:
        events = self.logs.get_log_events(
            logGroupName=LOG_GROUP, logStreamName=f"{NOTEBOOK}/idle-autostop"
        )["events"]
        return [e["message"] for e in events]


@pytest.fixture
def notebook(aws: MotoServer, tmp_path: Path) -> Notebook:
    return Notebook(aws, tmp_path)


def run_checker(
    notebook: Notebook,
    jupyter_url: str,
    token: str | None,
    idle_minutes: str,
    *flags: str,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    command = [sys.executable, str(CHECKER), "--jupyter-url", jupyter_url]
    command += ["--metadata-file", str(notebook.metadata_file), "--idle-minutes", idle_minutes]
    command += ["--state-file", str(notebook.state_file)]
    command += ["--before-stop-dir", str(notebook.hooks)]
    if token:
        command += ["--token", token]
    return subprocess.run(
        [*command, *flags],
        env={**notebook.env, "AUTOSTOP_BUSY_GLOB": notebook.busy_glob, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def check(
    notebook: Notebook, jupyter: JupyterServer, idle_minutes: str, *flags: str
) -> subprocess.CompletedProcess:
    result = run_checker(notebook, jupyter.url, jupyter.token, idle_minutes, *flags)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("[idle-autostop] "), result.stdout
    return result


class JupyterLabTab:
    """Polls the REST API as an open JupyterLab tab does, from a thread, until closed.

    JupyterLab refreshes sessions, kernels and terminals every few seconds; here every 0.3 s,
    so that it happens many times within the tests' tiny idle periods. These requests carry no
    ``no_track_activity``: they move the server's own ``last_activity``.
    """

    def __init__(self, jupyter: JupyterServer, interval: float = 0.3) -> None:
        self.jupyter = jupyter
        self.interval = interval
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for path in ("/api/sessions", "/api/kernels", "/api/terminals"):
                self.jupyter.api("GET", path)
            self.polls += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> JupyterLabTab:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def server_last_activity_age(jupyter: JupyterServer) -> float:
    """Seconds since the server's own last_activity, read without moving it."""
    stamp = jupyter.api("GET", "/api/status?no_track_activity=1")["last_activity"]
    return (datetime.now(timezone.utc) - idle_autostop.parse_timestamp(stamp)).total_seconds()  # noqa: UP017


@contextlib.contextmanager
def terminal_socket(jupyter: JupyterServer, name: str) -> Iterator[object]:
    """A terminal's websocket, as a JupyterLab terminal tab holds it."""
    import websocket

    url = f"ws://127.0.0.1:{jupyter.port}/terminals/websocket/{name}?token={jupyter.token}"
    ws = websocket.create_connection(url, timeout=10, http_no_proxy=["127.0.0.1"])
    try:
        yield ws
    finally:
        ws.close()


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


def test_recent_kernel_activity_blocks_stop(notebook: Notebook, clean_jupyter: JupyterServer):
    kernel_id = clean_jupyter.start_kernel()
    result = check(notebook, clean_jupyter, "60")
    assert re.search(
        rf"not idle: kernel {kernel_id[:8]}: last activity 0\.\d min ago, within 60 min",
        result.stdout,
    )
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


# --- an open JupyterLab tab and terminals ---------------------------------------------------


def test_open_jupyterlab_tab_and_idle_terminal_do_not_keep_the_notebook_running(
    notebook: Notebook, clean_jupyter: JupyterServer
):
    terminal = clean_jupyter.open_terminal()
    kernel_id = clean_jupyter.start_kernel()
    with terminal_socket(clean_jupyter, terminal), JupyterLabTab(clean_jupyter) as tab:
        time.sleep(PAST_TINY_IDLE + 0.5)
        # The negative control: the tab's polls keep the server's own activity fresh, which is
        # what kept notebooks running before; the checker must see through it.
        assert tab.polls >= 3
        assert server_last_activity_age(clean_jupyter) < 1.0
        result = check(notebook, clean_jupyter, TINY_IDLE, "--ignore-connections")
    assert "idle for" in result.stdout, result.stdout
    assert "terminals 0.02 min" in result.stdout
    assert notebook.status() == "Stopped"
    assert clean_jupyter.kernel(kernel_id)["execution_state"] == "idle"


def test_open_jupyterlab_tab_with_a_busy_kernel_is_not_stopped(
    notebook: Notebook, clean_jupyter: JupyterServer
):
    clean_jupyter.open_terminal()
    kernel_id = clean_jupyter.start_kernel()
    channel = clean_jupyter.connect(kernel_id)
    channel.execute("import time; time.sleep(30)")
    clean_jupyter.wait_state(kernel_id, "busy")
    with JupyterLabTab(clean_jupyter):
        time.sleep(PAST_TINY_IDLE)
        result = check(notebook, clean_jupyter, TINY_IDLE, "--ignore-connections")
    assert f"not idle: kernel {kernel_id[:8]} is busy" in result.stdout
    assert notebook.status() == "InService"


def test_terminal_is_idle_by_its_own_activity(notebook: Notebook, clean_jupyter: JupyterServer):
    name = clean_jupyter.open_terminal()
    with terminal_socket(clean_jupyter, name) as ws:
        # The shell's first prompt is activity too (late on a loaded machine): wait until
        # the terminal's own last activity is past 0.05 min (3 s), by the server's clock.
        deadline = time.monotonic() + 60
        while True:
            last = clean_jupyter.api("GET", f"/api/terminals/{name}")["last_activity"]
            started = datetime.fromisoformat(last.replace("Z", "+00:00"))
            age = (datetime.now(UTC) - started).total_seconds()
            if age >= 3.3:
                break
            assert time.monotonic() < deadline, f"terminal {name} never went quiet"
            time.sleep(max(0.2, 3.3 - age))
        quiet = check(
            notebook, clean_jupyter, TINY_IDLE, "--terminal-idle-minutes=0.05", "--dry-run"
        )
        assert "idle for" in quiet.stdout and "dry run" in quiet.stdout

        ws.send(json.dumps(["stdin", "echo typed-in-the-terminal\r"]))
        deadline = time.monotonic() + 10
        seen = ""
        while "typed-in-the-terminal" not in seen.split("echo", 1)[-1]:
            assert time.monotonic() < deadline, seen
            seen += ws.recv()
        used = check(notebook, clean_jupyter, TINY_IDLE, "--terminal-idle-minutes=0.05")
    assert f"not idle: terminal {name}: last activity 0.0 min ago, within 0.05 min" in used.stdout
    assert notebook.status() == "InService"


def test_a_long_terminal_idle_period_keeps_an_idle_terminal_open(
    notebook: Notebook, clean_jupyter: JupyterServer
):
    name = clean_jupyter.open_terminal()
    time.sleep(PAST_TINY_IDLE)
    result = check(notebook, clean_jupyter, TINY_IDLE, "--terminal-idle-minutes=120")
    assert re.search(
        rf"not idle: terminal {name}: last activity 0\.\d min ago, within 120 min", result.stdout
    )
    assert notebook.status() == "InService"


def test_a_kernel_closed_since_the_last_check_counts_as_activity(
    notebook: Notebook, clean_jupyter: JupyterServer
):
    # The server's own start is activity too: let it be older than the 0.1 min threshold,
    # so that only the kernel's closing can keep the notebook running (when this test runs
    # first on a fresh server, it would otherwise be the start that does).
    status = clean_jupyter.api("GET", "/api/status")
    started = datetime.fromisoformat(status["started"].replace("Z", "+00:00"))
    time.sleep(max(0.0, 6.5 - (datetime.now(UTC) - started).total_seconds()))
    kernel_id = clean_jupyter.start_kernel()
    time.sleep(PAST_TINY_IDLE)
    # The first check sees the kernel (idle by its own time); then it is shut down, and
    # its activity time goes with it.
    check(notebook, clean_jupyter, "0.1", "--dry-run")
    clean_jupyter.api("DELETE", f"/api/kernels/{kernel_id}")
    result = check(notebook, clean_jupyter, "0.1")
    assert (
        "not idle: a kernel or terminal was opened or closed: last activity 0.0 min ago"
        in result.stdout
    )
    assert notebook.status() == "InService"
    time.sleep(6.5)  # past 0.1 min
    result = check(notebook, clean_jupyter, "0.1")
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


# --- a detached lifecycle step still running (the busy marker) --------------------------------


def start_detached_step(notebook: Notebook, name: str, body: str) -> subprocess.Popen:
    """Run the real detached.sh for one step, as runner.sh does (fragments in the work dir)."""
    work = notebook.work / "smc" / "on-create"
    (work / "fragments").mkdir(parents=True, exist_ok=True)
    shutil.copy(CW_TEE, work / "fragments" / "cw_tee.py")
    step = work / f"{name}.sh"
    step.write_text(body)
    env = {
        **notebook.env,
        "SMC_WORK_DIR": str(work),
        "SMC_PHASE": "on-create",
        "SMC_SYSTEM_PYTHON": sys.executable,
        "SMC_METADATA_FILE": str(notebook.metadata_file),
    }
    log = notebook.work / f"{name}.log"
    return subprocess.Popen(
        ["bash", str(DETACHED), name, "false", str(step), str(log)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for_file(path: Path, present: bool = True, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while path.exists() != present:
        assert time.monotonic() < deadline, f"{path} {'never appeared' if present else 'stayed'}"
        time.sleep(0.05)


def test_a_running_environment_creation_blocks_stop(
    notebook: Notebook, clean_jupyter: JupyterServer
):
    gate = notebook.work / "creation-may-finish"
    body = f"while [ ! -e {gate} ]; do sleep 0.1; done\n"
    step = start_detached_step(notebook, "conda-environments", body)
    marker = notebook.work / "smc" / "on-create" / "running" / "conda-environments.pid"
    try:
        wait_for_file(marker)
        assert int(marker.read_text()) == step.pid  # the PID of detached.sh itself
        time.sleep(PAST_TINY_IDLE)
        result = check(notebook, clean_jupyter, TINY_IDLE)
        assert (
            f"not idle: lifecycle step(s) still running: on-create/conda-environments (pid {step.pid})"
            in result.stdout
        )
        assert notebook.status() == "InService"
    finally:
        gate.touch()
        step.wait(20)
    assert step.returncode == 0
    assert not marker.exists()  # removed when the step ended
    result = check(notebook, clean_jupyter, TINY_IDLE)
    assert "idle for" in result.stdout
    assert notebook.status() == "Stopped"


def test_a_step_ended_by_a_signal_leaves_no_marker(notebook: Notebook):
    step = start_detached_step(notebook, "packages", "sleep 30\n")
    marker = notebook.work / "smc" / "on-create" / "running" / "packages.pid"
    wait_for_file(marker)
    os.killpg(step.pid, signal.SIGTERM)  # the step's whole session, as a shutdown signals it
    assert step.wait(20) == 143
    assert not marker.exists()


def test_stale_busy_markers_are_ignored(notebook: Notebook, clean_jupyter: JupyterServer):
    running = notebook.work / "smc" / "on-create" / "running"
    running.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (running / "conda-environments.pid").write_text(f"{dead.pid}\n")
    # A live process that is not a detached step: a PID reused after a step was killed.
    (running / "packages.pid").write_text(f"{os.getpid()}\n")
    (running / "garbled.pid").write_text("not a pid\n")
    time.sleep(PAST_TINY_IDLE)
    result = check(notebook, clean_jupyter, TINY_IDLE)
    assert (
        f"ignoring stale busy marker {running / 'conda-environments.pid'}: pid {dead.pid}"
        in result.stdout
    )
    assert (
        f"ignoring stale busy marker {running / 'packages.pid'}: pid {os.getpid()}" in result.stdout
    )
    assert f"ignoring unreadable busy marker {running / 'garbled.pid'}" in result.stdout
    assert "idle for" in result.stdout
    assert notebook.status() == "Stopped"


# --- CloudWatch, the stop call and the hooks before it -----------------------------------------


def test_checker_lines_reach_cloudwatch(notebook: Notebook, clean_jupyter: JupyterServer):
    notebook.logs.create_log_group(logGroupName=LOG_GROUP)
    first = check(notebook, clean_jupyter, "60")
    time.sleep(PAST_TINY_IDLE)
    second = check(notebook, clean_jupyter, TINY_IDLE)
    assert (first.stderr, second.stderr) == ("", "")
    assert notebook.status() == "Stopped"
    # Both runs, in one stream named after the notebook, exactly as printed to the journal.
    assert notebook.log_lines() == (first.stdout + second.stdout).splitlines()
    assert notebook.log_lines()[-1] == f"[idle-autostop] stop requested for {NOTEBOOK}"


def test_missing_log_group_is_reported_and_does_not_change_the_outcome(
    notebook: Notebook, clean_jupyter: JupyterServer
):
    time.sleep(PAST_TINY_IDLE)
    result = check(notebook, clean_jupyter, TINY_IDLE)
    assert result.stderr.startswith(
        f"[idle-autostop] cannot write CloudWatch Logs {LOG_GROUP} {NOTEBOOK}/idle-autostop: "
    )
    assert "ResourceNotFoundException" in result.stderr
    assert notebook.status() == "Stopped"


def test_wrong_endpoint_fails_loudly_and_stops_nothing(
    notebook: Notebook, clean_jupyter: JupyterServer
):
    from tests.lifecycle.servers import free_port

    time.sleep(PAST_TINY_IDLE)
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = run_checker(
        notebook,
        clean_jupyter.url,
        clean_jupyter.token,
        TINY_IDLE,
        env={"AWS_ENDPOINT_URL": nowhere},
    )
    assert result.returncode == 1, result.stdout
    assert (
        f"[idle-autostop] could not stop {NOTEBOOK}: Could not connect to the endpoint URL"
        in result.stdout
    )
    assert notebook.status() == "InService"  # asked of the real moto


def test_before_stop_hooks_run_first_and_cannot_prevent_the_stop(
    notebook: Notebook, clean_jupyter: JupyterServer
):
    notebook.hooks.mkdir()
    seen = notebook.work / "status-seen-by-hook"
    python = sys.executable
    (notebook.hooks / "10-backup").write_text(
        f"#!/bin/bash\necho backing up\n{python} -c 'import boto3; "
        f'print(boto3.client("sagemaker", region_name="{REGION}").describe_notebook_instance('
        f'NotebookInstanceName="{NOTEBOOK}")["NotebookInstanceStatus"])\' > {seen}\n'
    )
    (notebook.hooks / "20-broken").write_text("#!/bin/bash\necho oops\nexit 3\n")
    (notebook.hooks / "30-not-executable").write_text("#!/bin/bash\ntouch /nonexistent\n")
    for hook in ("10-backup", "20-broken"):
        (notebook.hooks / hook).chmod(0o755)
    time.sleep(PAST_TINY_IDLE)
    result = check(notebook, clean_jupyter, TINY_IDLE)
    assert seen.read_text() == "InService\n"  # the hook ran before the stop call
    lines = result.stdout.splitlines()
    assert lines.index("backing up") < lines.index("oops")  # in name order, output kept
    assert (
        f"[idle-autostop] before stop: {notebook.hooks / '20-broken'} failed (3); stopping anyway"
        in lines
    )
    assert "30-not-executable" not in result.stdout
    assert notebook.status() == "Stopped"


# --- failures that must not stop anything ---------------------------------------------------


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


@pytest.mark.parametrize("flag", ["--idle-minutes", "--terminal-idle-minutes"])
@pytest.mark.parametrize("minutes", ["0", "-1", "nan", "soon"])
def test_minutes_must_be_positive(flag: str, minutes: str):
    result = subprocess.run(
        [sys.executable, str(CHECKER), "--idle-minutes=5", f"{flag}={minutes}"],
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


def state(kernels=(), terminals=(), started="2024-05-01T10:00:00Z", sessions=None):
    return idle_autostop.JupyterState(list(kernels), list(terminals), started, sessions or {})


def kernel(execution_state="idle", connections=0, last="2024-05-01T11:00:00Z"):
    return {"id": "0123456789ab", "execution_state": execution_state,
            "connections": connections, "last_activity": last}  # fmt: skip


def terminal(last="2024-05-01T11:00:00Z"):
    return {"name": "1", "last_activity": last}


@pytest.mark.parametrize(
    ("jupyter_state", "ignore", "idle", "reason"),
    [
        (state(), False, True, "idle for 120.0 min (idle period 30 min)"),
        (
            state(started="2024-05-01T11:50:00Z"),
            False,
            False,
            "the Jupyter server started: last activity 10.0 min ago",
        ),
        (
            state([kernel(last="2024-05-01T11:45:00Z")]),
            False,
            False,
            "kernel 01234567: last activity 15.0 min ago, within 30 min",
        ),
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
        (
            state(terminals=[terminal("2024-05-01T10:00:00Z")]),
            True,
            True,
            "idle for 120.0 min (idle period 30 min, terminals 90 min)",
        ),
        (
            state(terminals=[terminal("2024-05-01T11:10:00Z")]),
            True,
            False,
            "terminal 1: last activity 50.0 min ago, within 90 min",
        ),
        (state(terminals=[{"name": "1"}]), True, False, "terminal 1 reports no activity time"),
        (
            state([{"id": "0123456789ab", "execution_state": "idle"}]),
            True,
            False,
            "kernel 01234567 reports no activity time",
        ),
        (state(started=None), False, False, "no activity time"),
    ],
)
def test_decide(jupyter_state, ignore: bool, idle: bool, reason: str):
    settings = idle_autostop.Settings(30, 90 if jupyter_state.terminals else 30, ignore)
    decision = idle_autostop.decide(jupyter_state, NOW, settings)
    assert decision.idle is idle
    assert reason in decision.reason


def test_decide_running_steps_and_recent_changes():
    settings = idle_autostop.Settings(30, 30, True)
    busy = idle_autostop.decide(state(), NOW, settings, [("on-create/conda-environments", 42)])
    assert busy == (False, "lifecycle step(s) still running: on-create/conda-environments (pid 42)")
    changed = idle_autostop.decide(state(), NOW, settings, [], NOW - timedelta(minutes=5))
    assert changed == (
        False,
        "a kernel or terminal was opened or closed: last activity 5.0 min ago, within 30 min",
    )
    old_change = idle_autostop.decide(state(), NOW, settings, [], NOW - timedelta(minutes=45))
    assert old_change == (True, "idle for 45.0 min (idle period 30 min)")


def test_last_change_compares_with_the_previous_run(tmp_path: Path):
    path = str(tmp_path / "sub" / "state.json")
    epoch = datetime.fromtimestamp(0, timezone.utc)  # noqa: UP017
    assert idle_autostop.last_change(path, ["ka"], NOW) is None  # first run: nothing known
    later = NOW + timedelta(minutes=5)
    assert idle_autostop.last_change(path, ["ka"], later) == epoch  # no change seen, ever
    assert idle_autostop.last_change(path, [], later) == later  # the kernel went
    # The next run, with nothing changed, dates the change from the file (mtime: now).
    seen = idle_autostop.last_change(path, [], later + timedelta(minutes=5))
    assert seen is not None and abs(datetime.now(timezone.utc) - seen) < timedelta(minutes=1)  # noqa: UP017
    Path(path).write_text("garbled")
    assert idle_autostop.last_change(path, [], NOW) == NOW  # anything else counts as a change


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


@pytest.fixture(scope="session")
def python_without_boto3(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real Python (a bare venv of this interpreter) that cannot import boto3."""
    directory = tmp_path_factory.mktemp("bare-venv")
    venv.create(directory, with_pip=False)
    python = directory / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import boto3"], capture_output=True, timeout=30)
    assert probe.returncode == 1  # the control: this interpreter really lacks boto3
    return str(python)


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


def test_installer_passes_the_terminal_idle_period(tmp_path: Path, systemd_path: str):
    env = installer_env(tmp_path, systemd_path, AUTOSTOP_TERMINAL_IDLE_MINUTES="120")
    assert run_installer(env).returncode == 0
    service = tree(tmp_path / "systemd")["sagemaker-idle-autostop.service"].splitlines()
    assert (
        f"ExecStart={sys.executable} {CHECKER} --idle-minutes 45 --terminal-idle-minutes 120"
        " --ignore-connections" in service
    )


def test_installer_fails_when_its_python_cannot_import_boto3(
    tmp_path: Path, systemd_path: str, python_without_boto3: str
):
    env = installer_env(tmp_path, systemd_path, AUTOSTOP_PYTHON=python_without_boto3)
    result = run_installer(env)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"[install-autostop] error: AUTOSTOP_PYTHON: {python_without_boto3} cannot import boto3"
    )
    assert "ModuleNotFoundError: No module named 'boto3'" in result.stderr
    assert not (tmp_path / "systemd").exists()
    assert not (tmp_path / "systemctl-calls").exists()


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
        (
            {"AUTOSTOP_TERMINAL_IDLE_MINUTES": "0"},
            "AUTOSTOP_TERMINAL_IDLE_MINUTES must be a positive number of minutes (e.g. 120), got '0'",
        ),
        ({"AUTOSTOP_TERMINAL_IDLE_MINUTES": "2h"}, "got '2h'"),
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


# --- the IdleAutoStop step, composed -------------------------------------------------------


@pytest.mark.parametrize("value", [4, 10081, "120", True, 7.5])
def test_terminal_idle_minutes_is_validated(value: object):
    from sagemaker_constructs import IdleAutoStop, NotebookSetup

    setup = NotebookSetup([IdleAutoStop(terminal_idle_minutes=value)])  # type: ignore[arg-type]
    assert setup.problems() == [
        ("steps[0] (idle-auto-stop).terminal_idle_minutes", value, "an integer from 5 to 10080")
    ]


@pytest.mark.parametrize(
    ("terminal_idle", "flag"), [(240, " --terminal-idle-minutes 240"), (None, "")]
)
def test_composed_step_installs_the_bundled_checker(
    tmp_path: Path, systemd_path: str, terminal_idle: int | None, flag: str
):
    from sagemaker_constructs import IdleAutoStop, NotebookSetup
    from sagemaker_constructs.setup.notebook_setup import unbundle

    script = NotebookSetup(
        [IdleAutoStop(idle_minutes=30, terminal_idle_minutes=terminal_idle)]
    ).on_start_text()
    assert script is not None
    work = tmp_path / "work"
    (work / "fragments").mkdir(parents=True)
    for name, text in unbundle(script).items():
        (work / "fragments" / name).write_text(text)
    body = re.search(
        r"<< 'SMC_STEP_END'\nset -euo pipefail\n(.*?)\nSMC_STEP_END\nsmc_run_step idle-auto-stop ",
        script,
        re.S,
    )
    assert body, script
    env = installer_env(tmp_path, systemd_path, SMC_WORK_DIR=str(work))
    env["SMC_SYSTEM_PYTHON"] = sys.executable
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", body.group(1)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    service = tree(tmp_path / "systemd")["sagemaker-idle-autostop.service"].splitlines()
    checker = work / "fragments" / "idle_autostop.py"
    assert f"ExecStart={sys.executable} {checker} --idle-minutes 30{flag}" in service
    # The bundled (compacted) checker runs: Jupyter is not there, so it says so and stops nothing.
    metadata = tmp_path / "metadata.json"
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:notebook-instance/{NOTEBOOK}"
    metadata.write_text(json.dumps({"ResourceName": NOTEBOOK, "ResourceArn": arn}))
    from tests.lifecycle.servers import free_port

    run = subprocess.run(
        [sys.executable, str(checker), "--idle-minutes", "30"]
        + ["--metadata-file", str(metadata), "--state-file", str(tmp_path / "state.json")]
        + ["--jupyter-url", f"http://127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0, run.stderr
    assert "cannot reach Jupyter" in run.stdout
