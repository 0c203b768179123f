"""Real servers for lifecycle-script tests: moto (AWS APIs) and Jupyter Server, as subprocesses.

Use it as a pytest plugin from a test module: ``pytest_plugins = ["tests.lifecycle.servers"]``.
That registers the fixtures once for the whole run, so every module shares one moto server:

* ``moto_server`` (session): a moto server on 127.0.0.1; ``.env`` is the environment for
  clients (endpoint, dummy credentials, no retries), ``.client(service, region)`` a boto3 client.
* ``aws`` (function): the same server, reset to empty before the test.
* ``jupyter`` (module): a Jupyter server over http on 127.0.0.1 with a known token, a temporary
  root dir and a ``python3`` kernel running this interpreter.
* ``jupyter_tls`` (module): the same over https://localhost with a self-signed certificate.
* ``clean_jupyter`` (function): ``jupyter``, with every kernel and terminal removed before and
  after the test.
* ``package_servers`` (session): the test packages (:data:`TEST_PACKAGES`) as wheels and as a
  conda channel, built once, served on 127.0.0.1: a PEP 503 index, the CodeArtifact stand-in
  (repository :data:`CODEARTIFACT` of the harness's account) and the channel
  (``tests.lifecycle.harness.PackageServers``).

Nothing here reaches beyond 127.0.0.1/localhost; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.lifecycle.harness import ACCOUNT, CODEARTIFACT, TEST_PACKAGES, PackageServers

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# Local calls must not go through a proxy that the environment may set.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(
    method: str,
    url: str,
    body: object = None,
    headers: dict | None = None,
    timeout: float = 10,
    context: ssl.SSLContext | None = None,
) -> tuple[int, object]:
    """One HTTP request; returns (status, decoded JSON or None). HTTP errors are returned too."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    opener = _LOCAL
    if context is not None:
        https = urllib.request.HTTPSHandler(context=context)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), https)
    try:
        with opener.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def wait_for(
    condition: Callable[[], object], timeout: float, what: str, interval: float = 0.1
) -> object:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class ServerProcess:
    """A server subprocess with its output in a log file; stop() is bounded."""

    def __init__(self, name: str, command: list[str], env: dict, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )

    def wait_ready(self, probe: Callable[[], bool], timeout: float = START_TIMEOUT) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                return probe()
            except OSError:  # not listening yet
                return False

        try:
            wait_for(ready, timeout, f"{self.name} to answer", interval=0.2)
        except TimeoutError as err:
            self.stop()
            raise TimeoutError(f"{err}\n{self.output()}") from None

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        self._log.close()


# --- moto --------------------------------------------------------------------------------------


class MotoServer:
    def __init__(self, port: int) -> None:
        self.port = port
        # Clients use "localhost" (as an endpoint name a real host would have), not 127.0.0.1.
        self.endpoint = f"http://localhost:{port}"
        self._admin = f"http://127.0.0.1:{port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment for a client subprocess: this server, dummy credentials, no retries.

        No region is set on purpose beyond a default, so code that must take its region from
        elsewhere (an ARN) is seen to do so when it uses another one.
        """
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_") and k.lower() not in ("http_proxy", "https_proxy")
        }
        env.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_SESSION_TOKEN="testing",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_MAX_ATTEMPTS="1",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            NO_PROXY="localhost,127.0.0.1",
            no_proxy="localhost,127.0.0.1",
        )
        return env

    def client(self, service: str, region: str = "us-east-1"):
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
            config=Config(retries={"max_attempts": 1}, proxies={}),
        )

    def reset(self) -> None:
        status, _ = http("POST", f"{self._admin}/moto-api/reset")
        assert status == 200, f"moto reset answered {status}"

    def is_ready(self) -> bool:
        return http("GET", f"{self._admin}/moto-api/", timeout=2)[0] == 200


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = ServerProcess("moto server", command, dict(os.environ), log)
    server = MotoServer(port)
    process.wait_ready(server.is_ready)
    try:
        yield server
    finally:
        process.stop()


@pytest.fixture
def aws(moto_server: MotoServer) -> MotoServer:
    moto_server.reset()
    return moto_server


# --- package sources ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def package_servers() -> Iterator[PackageServers]:
    directory = Path(tempfile.mkdtemp(prefix="smc-packages-"))
    servers = PackageServers(directory, TEST_PACKAGES)
    servers.add_repository(CODEARTIFACT[0], ACCOUNT, CODEARTIFACT[1])
    servers.add_repository("ml", ACCOUNT, "pypi")
    try:
        yield servers
    finally:
        servers.close()
        shutil.rmtree(directory, ignore_errors=True)


# --- Jupyter -----------------------------------------------------------------------------------


class KernelChannel:
    """A websocket on a kernel's channels (counts as one kernel connection while open)."""

    def __init__(self, url: str, timeout: float = 10) -> None:
        import websocket  # websocket-client, a dependency of jupyter_server

        self.session = uuid.uuid4().hex
        self.ws = websocket.create_connection(url, timeout=timeout, http_no_proxy=["127.0.0.1"])

    def execute(self, code: str) -> str:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "session": self.session,
            "username": "test",
            "version": "5.3",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        content = {"code": code, "silent": False, "store_history": False, "allow_stdin": False}
        message = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
        self.ws.send(json.dumps({**message, "channel": "shell", "buffers": []}))
        return msg_id

    def close(self) -> None:
        self.ws.close()


class JupyterServer:
    def __init__(self, port: int, token: str, cafile: Path | None = None) -> None:
        """Over http on 127.0.0.1; or, given the certificate ``cafile``, https on localhost."""
        self.port = port
        self.token = token
        self.url = f"https://localhost:{port}" if cafile else f"http://127.0.0.1:{port}"
        # The tests' own calls verify the certificate (the checker is what must not).
        self.context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
        self._channels: list[KernelChannel] = []

    def api(self, method: str, path: str, body: object = None, timeout: float = 30):
        status, data = http(
            method,
            f"{self.url}{path}",
            body,
            {"Authorization": f"token {self.token}"},
            timeout=timeout,
            context=self.context,
        )
        assert status < 300, f"{method} {path} answered {status}: {data}"
        return data

    def is_ready(self) -> bool:
        url = f"{self.url}/api/status?token={self.token}"
        return http("GET", url, timeout=2, context=self.context)[0] == 200

    def start_kernel(self) -> str:
        """Start a ``python3`` kernel and wait until Jupyter reports it idle.

        Jupyter Server learns that a kernel finished starting only from a client's first
        request, so connect once (the server then asks for kernel_info) and disconnect.
        """
        kernel_id = self.api("POST", "/api/kernels", {"name": "python3"})["id"]
        channel = self.connect(kernel_id)
        self.wait_state(kernel_id, "idle", timeout=30)
        channel.close()
        self._channels.remove(channel)
        wait_for(lambda: self.kernel(kernel_id)["connections"] == 0, 10, "the disconnection")
        return kernel_id

    def kernel(self, kernel_id: str) -> dict:
        return self.api("GET", f"/api/kernels/{kernel_id}")

    def wait_state(self, kernel_id: str, state: str, timeout: float = 15) -> None:
        wait_for(
            lambda: self.kernel(kernel_id)["execution_state"] == state,
            timeout,
            f"kernel {kernel_id} to be {state}",
        )

    def connect(self, kernel_id: str) -> KernelChannel:
        """Open a websocket on the kernel (one more connection while it stays open)."""
        assert self.context is None, "kernel websockets are only opened on the http server"
        url = f"ws://127.0.0.1:{self.port}/api/kernels/{kernel_id}/channels?token={self.token}"
        before = self.kernel(kernel_id)["connections"]
        channel = KernelChannel(url)
        self._channels.append(channel)
        wait_for(
            lambda: self.kernel(kernel_id)["connections"] > before, 10, "the kernel connection"
        )
        return channel

    def open_terminal(self) -> str:
        return self.api("POST", "/api/terminals")["name"]

    def clean(self) -> None:
        """Close websockets, shut down every kernel and close every terminal."""
        for channel in self._channels:
            with contextlib.suppress(Exception):
                channel.close()
        self._channels.clear()
        for kernel in self.api("GET", "/api/kernels"):
            with contextlib.suppress(AssertionError):  # it may have gone already
                self.api("POST", f"/api/kernels/{kernel['id']}/interrupt")
            self.api("DELETE", f"/api/kernels/{kernel['id']}")
        for terminal in self.api("GET", "/api/terminals"):
            self.api("DELETE", f"/api/terminals/{terminal['name']}")


def write_kernelspec(jupyter_path: Path) -> None:
    """A ``python3`` kernelspec that runs this very interpreter (the venv's), found first."""
    spec_dir = jupyter_path / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (test)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, like the notebook's Jupyter has."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(timezone.utc)  # noqa: UP017 (kept alike to the checker)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


def run_jupyter(base: Path, tls: bool = False) -> Iterator[JupyterServer]:
    """Run a Jupyter server with its files under ``base``; a generator for fixtures."""
    for sub in ("root", "path", "config", "data", "runtime", "ipython"):
        (base / sub).mkdir()
    write_kernelspec(base / "path")
    env = dict(os.environ)
    env.update(
        JUPYTER_PATH=str(base / "path"),
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        IPYTHONDIR=str(base / "ipython"),
        SHELL="/bin/bash",
    )
    port, token = free_port(), uuid.uuid4().hex
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={base / 'root'}",
        "--allow-root",
    ]
    certfile = None
    if tls:
        certfile, keyfile = self_signed_certificate(base)
        command += [f"--ServerApp.certfile={certfile}", f"--ServerApp.keyfile={keyfile}"]
    process = ServerProcess("jupyter server", command, env, base / "jupyter.log")
    server = JupyterServer(port, token, cafile=certfile)
    process.wait_ready(server.is_ready)
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.clean()
        process.stop()


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    yield from run_jupyter(tmp_path_factory.mktemp("jupyter"))


@pytest.fixture(scope="module")
def jupyter_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """Like ``jupyter``, over https://localhost with a self-signed certificate (as on a host)."""
    yield from run_jupyter(tmp_path_factory.mktemp("jupyter-tls"), tls=True)


@pytest.fixture
def clean_jupyter(jupyter: JupyterServer) -> Iterator[JupyterServer]:
    jupyter.clean()
    yield jupyter
    jupyter.clean()
