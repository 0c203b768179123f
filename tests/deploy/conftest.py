"""A moto server of its own for the deploy smoke test, started through moto_launcher.py.

It is not the session-wide ``moto_server`` of tests/lifecycle/servers.py: that one runs plain
moto (without the launcher's fixes), and a deploy leaves a lot of state behind. This one
listens on its own free port of 127.0.0.1, is reset before and after the module and stops
at the end, so nothing leaks into other tests. Its log (one line per request, moto's
warnings and any traceback) is read by the test.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    # Imported in the fixture only: tests/lifecycle registers this module as a pytest plugin,
    # and an import at collection time, before that, would keep pytest from rewriting its
    # asserts ("Module already imported so cannot be rewritten").
    from tests.lifecycle.servers import MotoServer

LAUNCHER = Path(__file__).resolve().parent / "moto_launcher.py"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "deploy: runs the pinned CDK CLI against a local moto server (part of `make test`; "
        "deselect with -m 'not deploy')",
    )


@dataclass
class DeployMoto:
    server: MotoServer
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def deploy_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployMoto]:
    from tests.lifecycle.servers import MotoServer, ServerProcess, free_port

    log_path = tmp_path_factory.mktemp("deploy-moto") / "moto.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    # moto would run the custom resource's Lambda (the CDK's default-security-group handler) in
    # Docker, pulling an image from the internet if Docker is there; point it at no Docker.
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    env["PYTHONUNBUFFERED"] = "1"  # moto prints its warnings to stdout: into the log at once
    command = [sys.executable, str(LAUNCHER), "-H", "127.0.0.1", "-p", str(port)]
    process = ServerProcess("moto server (deploy)", command, env, log_path)
    server = MotoServer(port)
    process.wait_ready(server.is_ready)
    try:
        server.reset()
        yield DeployMoto(server=server, log_path=log_path)
        server.reset()
    finally:
        process.stop()
