#!/usr/bin/env python3
"""Stop this SageMaker notebook instance once its kernels and terminals have been idle.

Run every few minutes (install_autostop.sh installs a systemd timer for it). Each run reads the
local Jupyter server's REST API and, when nothing is going on, calls StopNotebookInstance for the
instance's own name (from /opt/ml/metadata/resource-metadata.json; region from its ARN).

Activity is read from the kernels and terminals themselves, never from the server's own
"last_activity": that moves on every REST poll an open JupyterLab tab makes, so a forgotten tab
would keep the notebook running for good. The notebook is busy, and left running, while:
  * a detached lifecycle step is still running (a conda environment being created, say): its
    marker /var/tmp/sagemaker-constructs/<phase>/running/<step>.pid names a live detached.sh;
  * a kernel is busy, or starting (for at most --idle-minutes: Jupyter Server reports a
    kernel that no client ever talked to as "starting" for good);
  * a kernel has an open connection (a browser tab), unless --ignore-connections is given;
  * a kernel's own last activity lies within the last --idle-minutes;
  * a terminal's own last activity (input or output) lies within --terminal-idle-minutes
    (default: --idle-minutes). A job that prints nothing for longer is not seen: give
    terminals a longer idle period, or make the job print;
  * the server started, or a kernel or terminal was opened or closed (seen by comparing with
    the previous run, kept in --state-file), within the last --idle-minutes.
If Jupyter cannot be reached (for example while it is still starting) nothing is stopped.
Before the stop, every executable in --before-stop-dir runs, in name order (e.g. a last
backup of the home folder); the stop goes ahead whatever they return.
Every line logged goes to the journal and to CloudWatch Logs (log group
/aws/sagemaker/NotebookInstances, stream <notebook-name>/idle-autostop; best effort).

Exit status: 0 for every normal outcome (stopped, not idle, Jupyter unreachable, dry run);
1 when the instance metadata cannot be read or the stop call fails; 2 for bad arguments.
Needs only the standard library and boto3 (JupyterSystemEnv has both); Python 3.9 or later.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import http.client
import json
import math
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from typing import NamedTuple

LOG_PREFIX = "[idle-autostop]"
BUSY_STATES = ("busy", "starting")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
HTTP_TIMEOUT_SECONDS = 10
WORK_ROOT = "/var/tmp/sagemaker-constructs"
DEFAULT_BUSY_GLOB = f"{WORK_ROOT}/*/running/*.pid"
DEFAULT_STATE_FILE = f"{WORK_ROOT}/idle-autostop-state.json"
DEFAULT_BEFORE_STOP_DIR = f"{WORK_ROOT}/before-stop.d"
_LINES: list = []  # this run's, for CloudWatch
_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?")


def log(message: str) -> None:
    line = f"{LOG_PREFIX} {message}"
    print(line, flush=True)
    _LINES.append({"timestamp": int(time.time() * 1000), "message": line})


class JupyterState(NamedTuple):
    """What the Jupyter server reported, as decoded JSON from its REST API."""

    kernels: list  # /api/kernels, plus kernels known only from sessions
    terminals: list  # /api/terminals
    started: str | None  # /api/status "started"
    notebook_of_kernel: dict  # kernel id -> notebook path, from /api/sessions


class Settings(NamedTuple):
    idle_minutes: float
    terminal_idle_minutes: float
    ignore_connections: bool


class Decision(NamedTuple):
    idle: bool
    reason: str


def parse_timestamp(text: str) -> datetime:
    """Parse Jupyter's ISO 8601 timestamps ("2024-05-01T12:00:00.123456Z"), as aware UTC.

    datetime.fromisoformat before Python 3.11 accepts neither "Z" nor every fraction length.
    """
    match = _TIMESTAMP.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    base, fraction, zone = match.groups()
    fraction = (fraction or "0")[:6].ljust(6, "0")
    if zone in (None, "Z"):  # Jupyter reports UTC
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    return datetime.fromisoformat(f"{base}.{fraction}{zone}").astimezone(timezone.utc)  # noqa: UP017


def _kernel_label(kernel: dict, notebook_of_kernel: dict) -> str:
    kernel_id = str(kernel.get("id", "?"))
    path = notebook_of_kernel.get(kernel_id)
    return f"{kernel_id[:8]} ({path})" if path else kernel_id[:8]


def _minutes_since(stamp: str | None, now: datetime) -> float | None:
    return None if not stamp else (now - parse_timestamp(stamp)).total_seconds() / 60


def decide(
    state: JupyterState,
    now: datetime,
    settings: Settings,
    running_steps: list | None = None,
    last_change: datetime | None = None,
) -> Decision:
    """Whether the notebook is idle, and why (the reason is logged as is).

    ``running_steps`` are (step, pid) of live detached lifecycle steps; ``last_change`` is
    when a kernel or terminal was last seen opened or closed.
    """
    idle_minutes = settings.idle_minutes
    if running_steps:
        steps = ", ".join(f"{step} (pid {pid})" for step, pid in running_steps)
        return Decision(False, f"lifecycle step(s) still running: {steps}")
    for kernel in state.kernels:
        execution_state = kernel.get("execution_state")
        if execution_state not in BUSY_STATES:
            continue
        # Jupyter Server reports a kernel "starting" until a client first talks to it, so a
        # kernel that nobody ever used stays "starting": count it only while it is recent.
        since = _minutes_since(kernel.get("last_activity"), now)
        if execution_state == "busy" or since is None or since < idle_minutes:
            label = _kernel_label(kernel, state.notebook_of_kernel)
            return Decision(False, f"kernel {label} is {execution_state}")
    if not settings.ignore_connections:
        for kernel in state.kernels:
            connections = kernel.get("connections") or 0
            if connections > 0:
                label = _kernel_label(kernel, state.notebook_of_kernel)
                return Decision(
                    False,
                    f"kernel {label} has {connections} open connection(s) "
                    "(--ignore-connections disregards them)",
                )
    ages = []
    for kernel in state.kernels:
        label = f"kernel {_kernel_label(kernel, state.notebook_of_kernel)}"
        ages.append((label, _minutes_since(kernel.get("last_activity"), now), idle_minutes))
    for terminal in state.terminals:
        label = f"terminal {terminal.get('name', '?')}"
        since = _minutes_since(terminal.get("last_activity"), now)
        ages.append((label, since, settings.terminal_idle_minutes))
    ages.append(("the Jupyter server started", _minutes_since(state.started, now), idle_minutes))
    if last_change is not None:
        since = (now - last_change).total_seconds() / 60
        ages.append(("a kernel or terminal was opened or closed", since, idle_minutes))
    for label, since, limit in ages:
        if since is None and not label.startswith("the Jupyter"):
            return Decision(False, f"{label} reports no activity time")
        if since is not None and since < limit:
            return Decision(
                False, f"{label}: last activity {since:.1f} min ago, within {limit:g} min"
            )
    known = [since for _, since, _ in ages if since is not None]
    if not known:
        return Decision(False, "Jupyter reported no activity time")
    parts = [f"idle for {min(known):.1f} min (idle period {idle_minutes:g} min"]
    if state.terminals:
        parts.append(f", terminals {settings.terminal_idle_minutes:g} min")
    return Decision(True, "".join(parts) + ")")


class Jupyter:
    """A read-only client of the local Jupyter server's REST API."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        handlers: list = [urllib.request.ProxyHandler({})]  # never send local calls to a proxy
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme == "https" and parts.hostname in LOCAL_HOSTS:
            # The notebook's Jupyter serves https://localhost:8443 with a self-signed
            # certificate that cannot be verified; the traffic never leaves this host.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def get(self, path: str, missing_ok: bool = False):
        # no_track_activity: these polls must not count as user activity themselves.
        request = urllib.request.Request(f"{self.base_url}{path}?no_track_activity=1")
        request.add_header("Accept", "application/json")
        if self.token:
            request.add_header("Authorization", f"token {self.token}")
        try:
            with self._opener.open(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
                return json.load(response)
        except urllib.error.HTTPError as err:
            if missing_ok and err.code == 404:  # e.g. terminals disabled
                return []
            raise

    def state(self) -> JupyterState:
        kernels = self.get("/api/kernels")
        sessions = self.get("/api/sessions", missing_ok=True)
        terminals = self.get("/api/terminals", missing_ok=True)
        status = self.get("/api/status")
        known = {k.get("id") for k in kernels}
        notebook_of_kernel = {}
        for session in sessions:
            kernel = session.get("kernel") or {}
            notebook_of_kernel[kernel.get("id")] = session.get("path")
            if kernel.get("id") not in known:
                kernels.append(kernel)
                known.add(kernel.get("id"))
        return JupyterState(kernels, terminals, status.get("started"), notebook_of_kernel)


# --- detached lifecycle steps (the busy markers written by detached.sh) ------------------------


def running_steps(pattern: str) -> list:
    """(phase/step, pid) of every busy marker that names a live detached.sh; others are logged.

    A marker is stale when its process is gone, a zombie, or its PID now belongs to another
    program (a step killed with SIGKILL cannot remove its marker).
    """
    found = []
    for path in sorted(glob.glob(pattern)):
        step = (
            os.path.basename(os.path.dirname(os.path.dirname(path)))
            + "/"
            + path[:-4].rpartition("/")[2]
        )
        try:
            with open(path, encoding="utf-8") as f:
                pid = int(f.read())
            with open(f"/proc/{pid}/stat", "rb") as f:
                live = f.read().rpartition(b")")[2].split()[0] != b"Z"
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                live = live and b"detached.sh" in f.read()
        except ValueError as err:
            log(f"ignoring unreadable busy marker {path} ({err})")
            continue
        except OSError:  # no such process (or no /proc: never stop for a marker we cannot read)
            live = not os.path.isdir("/proc/self")
        if live:
            found.append((step, pid))
        else:
            log(f"ignoring stale busy marker {path}: pid {pid} is not a running detached step")
    return found


def last_change(path: str, ids: list, now: datetime) -> datetime | None:
    """When the open kernels and terminals last changed, as this and earlier runs saw them.

    A kernel shut down or a terminal closed takes its activity time with it, so a change of
    what is open since the previous run counts as activity now. ``path`` holds what was open
    (its mtime: when that changed; the first run, knowing nothing, dates it to 1970).
    """
    text = "\n".join(ids)
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return datetime.fromtimestamp(os.stat(path).st_mtime, timezone.utc)  # noqa: UP017
        changed: datetime | None = now
    except OSError:
        changed = None
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        if changed is None:
            os.utime(path, (0, 0))
    except OSError as err:
        log(f"cannot keep state in {path} ({err}); closed kernels may be missed")
    return changed


# --- AWS -------------------------------------------------------------------------------------


def read_metadata(path: str) -> tuple[str, str]:
    """The notebook instance's name and region, from SageMaker's resource metadata file."""
    with open(path, encoding="utf-8") as f:
        metadata = json.load(f)
    arn = str(metadata.get("ResourceArn", ""))
    parts = arn.split(":", 5)  # arn:aws:sagemaker:REGION:ACCOUNT:notebook-instance/NAME
    if len(parts) != 6 or parts[0] != "arn" or not parts[3]:
        raise ValueError(f"no notebook instance ARN in {path}: ResourceArn={arn!r}")
    name = metadata.get("ResourceName") or parts[5].rpartition("/")[2]
    if not name:
        raise ValueError(f"no notebook instance name in {path}")
    return str(name), parts[3]


def _client(service: str, region: str):
    import boto3  # imported here: deciding (and --dry-run) needs only the standard library
    from botocore.config import Config

    return boto3.client(
        service, region_name=region, config=Config(connect_timeout=10, read_timeout=30)
    )


def stop_notebook(name: str, region: str) -> None:
    _client("sagemaker", region).stop_notebook_instance(NotebookInstanceName=name)


def send_to_cloudwatch(name: str, region: str) -> None:
    """This run's lines to the notebook's own log stream; a failure goes to stderr only."""
    group, stream = "/aws/sagemaker/NotebookInstances", f"{name}/idle-autostop"
    try:
        client = _client("logs", region)
        with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
            client.create_log_stream(logGroupName=group, logStreamName=stream)
        client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=_LINES)
    except Exception as err:  # botocore's errors, no boto3: the journal has the lines anyway
        print(f"{LOG_PREFIX} cannot write CloudWatch Logs {group} {stream}: {err}", file=sys.stderr)


def run_before_stop_hooks(directory: str) -> None:
    """Run the executables in ``directory`` in name order; whatever they return, the stop goes
    ahead (the notebook's volume outlives a stop)."""
    for hook in sorted(glob.glob(os.path.join(glob.escape(directory), "*"))):
        if os.path.isfile(hook) and os.access(hook, os.X_OK):
            log(f"before stop: running {hook}")
            try:
                rc: object = subprocess.run(
                    [hook], stdin=subprocess.DEVNULL, timeout=600
                ).returncode
            except (OSError, subprocess.SubprocessError) as err:
                rc = err
            if rc:
                log(f"before stop: {hook} failed ({rc}); stopping anyway")


# --- command line ----------------------------------------------------------------------------


def positive_minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of minutes, got {text!r}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle-minutes", type=positive_minutes, required=True)
    parser.add_argument("--terminal-idle-minutes", type=positive_minutes)
    parser.add_argument("--ignore-connections", action="store_true")
    parser.add_argument("--jupyter-url", default="https://localhost:8443")
    parser.add_argument("--token", default=os.environ.get("JUPYTER_TOKEN") or None)
    parser.add_argument("--metadata-file", default="/opt/ml/metadata/resource-metadata.json")
    parser.add_argument(
        "--busy-glob", default=os.environ.get("AUTOSTOP_BUSY_GLOB") or DEFAULT_BUSY_GLOB
    )
    parser.add_argument("--state-file", default=DEFAULT_STATE_FILE)
    parser.add_argument("--before-stop-dir", default=DEFAULT_BEFORE_STOP_DIR)
    parser.add_argument("--dry-run", action="store_true", help="report only, never stop")
    return parser.parse_args(argv)


def check(args: argparse.Namespace, name: str, region: str) -> int:
    settings = Settings(
        args.idle_minutes, args.terminal_idle_minutes or args.idle_minutes, args.ignore_connections
    )
    steps = running_steps(args.busy_glob)
    try:
        state = Jupyter(args.jupyter_url, args.token).state()
        now = datetime.now(timezone.utc)  # noqa: UP017 (datetime.UTC needs Python 3.11)
        ids = [f"k{k.get('id')}" for k in state.kernels] + [
            f"t{t.get('name')}" for t in state.terminals
        ]
        changed = last_change(args.state_file, sorted(ids), now)
        decision = decide(state, now, settings, steps, changed)
    except (OSError, http.client.HTTPException) as err:  # URLError and timeouts are OSErrors
        log(f"cannot reach Jupyter at {args.jupyter_url} ({err}); not stopping")
        return 0
    except (ValueError, TypeError, AttributeError) as err:
        log(f"unexpected answer from Jupyter at {args.jupyter_url} ({err!r}); not stopping")
        return 0
    if not decision.idle:
        log(f"not idle: {decision.reason}")
        return 0
    if args.dry_run:
        log(f"{decision.reason}; dry run, not stopping {name} ({region})")
        return 0
    log(f"{decision.reason}; stopping notebook instance {name} ({region})")
    run_before_stop_hooks(args.before_stop_dir)
    try:
        stop_notebook(name, region)
    except Exception as err:  # botocore's errors; the timer runs again anyway
        log(f"could not stop {name}: {err}")
        return 1
    log(f"stop requested for {name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        name, region = read_metadata(args.metadata_file)
    except (OSError, ValueError) as err:
        log(f"cannot read the notebook instance metadata: {err}")
        return 1
    try:
        return check(args, name, region)
    finally:
        send_to_cloudwatch(name, region)


if __name__ == "__main__":
    sys.exit(main())
