#!/usr/bin/env python3
"""Stop this SageMaker notebook instance once its Jupyter server has been idle.

Run every few minutes (install_autostop.sh installs a systemd timer for it). Each run reads the
local Jupyter server's REST API and, when nothing is going on, calls StopNotebookInstance for the
instance's own name (from /opt/ml/metadata/resource-metadata.json; region from its ARN).

The server is busy, and the instance is left running, while:
  * a kernel is busy, or starting (for at most --idle-minutes: Jupyter Server reports a
    kernel that no client ever talked to as "starting" for good);
  * a kernel has an open connection (a browser tab), unless --ignore-connections is given;
  * a terminal is open. Jupyter cannot see what runs in a terminal (a training job, a long
    download), so any open terminal blocks auto-stop: close terminals you no longer need;
  * the latest activity of the server or a kernel lies within the last --idle-minutes.
If Jupyter cannot be reached (for example while it is still starting) nothing is stopped.

Exit status: 0 for every normal outcome (stopped, not idle, Jupyter unreachable, dry run);
1 when the instance metadata cannot be read or the stop call fails; 2 for bad arguments.
Needs only the standard library and boto3 (JupyterSystemEnv has both); Python 3.9 or later.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from typing import NamedTuple

LOG_PREFIX = "[idle-autostop]"
BUSY_STATES = ("busy", "starting")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
HTTP_TIMEOUT_SECONDS = 10
_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?")


def log(message: str) -> None:
    print(f"{LOG_PREFIX} {message}", flush=True)


class JupyterState(NamedTuple):
    """What the Jupyter server reported, as decoded JSON from its REST API."""

    kernels: list  # /api/kernels, plus kernels known only from sessions
    terminals: list  # /api/terminals
    server_last_activity: str | None  # /api/status "last_activity"
    notebook_of_kernel: dict  # kernel id -> notebook path, from /api/sessions


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
    state: JupyterState, now: datetime, idle_minutes: float, ignore_connections: bool
) -> Decision:
    """Whether the server is idle, and why (the reason is logged as is)."""
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
    if not ignore_connections:
        for kernel in state.kernels:
            connections = kernel.get("connections") or 0
            if connections > 0:
                label = _kernel_label(kernel, state.notebook_of_kernel)
                return Decision(
                    False,
                    f"kernel {label} has {connections} open connection(s) "
                    "(--ignore-connections disregards them)",
                )
    if state.terminals:
        names = ", ".join(str(t.get("name", "?")) for t in state.terminals)
        return Decision(
            False,
            f"{len(state.terminals)} terminal(s) open ({names}); what runs in a terminal is "
            "invisible to Jupyter, so close terminals to allow auto-stop",
        )
    stamps = [k.get("last_activity") for k in state.kernels] + [state.server_last_activity]
    ages = [_minutes_since(s, now) for s in stamps if s]
    if not ages:
        return Decision(False, "Jupyter reported no activity time")
    idle_for = min(ages)
    if idle_for < idle_minutes:
        return Decision(
            False,
            f"last activity {idle_for:.1f} min ago, within the idle period of {idle_minutes:g} min",
        )
    return Decision(True, f"idle for {idle_for:.1f} min (idle period {idle_minutes:g} min)")


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
        return JupyterState(kernels, terminals, status.get("last_activity"), notebook_of_kernel)


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


def stop_notebook(name: str, region: str) -> None:
    import boto3  # imported here: deciding (and --dry-run) needs only the standard library
    from botocore.config import Config

    config = Config(connect_timeout=10, read_timeout=30)
    client = boto3.client("sagemaker", region_name=region, config=config)
    client.stop_notebook_instance(NotebookInstanceName=name)


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
    parser.add_argument(
        "--ignore-connections",
        action="store_true",
        help="open browser connections to an idle kernel do not count as activity",
    )
    parser.add_argument("--jupyter-url", default="https://localhost:8443")
    parser.add_argument("--token", default=os.environ.get("JUPYTER_TOKEN") or None)
    parser.add_argument("--metadata-file", default="/opt/ml/metadata/resource-metadata.json")
    parser.add_argument("--dry-run", action="store_true", help="report only, never stop")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        name, region = read_metadata(args.metadata_file)
    except (OSError, ValueError) as err:
        log(f"cannot read the notebook instance metadata: {err}")
        return 1
    try:
        state = Jupyter(args.jupyter_url, args.token).state()
        now = datetime.now(timezone.utc)  # noqa: UP017 (datetime.UTC needs Python 3.11)
        decision = decide(state, now, args.idle_minutes, args.ignore_connections)
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
    try:
        stop_notebook(name, region)
    except Exception as err:  # botocore's errors; the timer runs again anyway
        log(f"could not stop {name}: {err}")
        return 1
    log(f"stop requested for {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
