"""A simulated SageMaker Studio app host, for running composed Studio start scripts unmodified.

The facts it follows are in docs/studio.md ("The Studio host"). What is real here and what
stands in for what cannot run on this machine:

* **The user is real**: a non-root account ``sagemaker-user`` (created with ``useradd`` when
  missing: GID 100 as on the image, UID 1000 when that is free, else the next free one; the
  scripts never depend on the number). Tests run as root (here and in CI); the script runs
  as that user with ``runuser``, in a clean environment (``env -i``) holding only what an
  app's environment has plus the documented hooks below. Everything the script writes is
  therefore owned by the user, and anything it may not write fails as on a host.
* **The home** is ``<root>/home/sagemaker-user`` (the space's volume; ``SAGEMAKER_DIR`` and
  ``HOME`` point there), not ``/home/sagemaker-user``, so tests can run in parallel and start
  from an empty or a prepared volume. ``<root>`` is a 0755 directory under /tmp: the user
  must be able to reach it (pytest's tmp_path is root's only).
* **The image's environment** (``ANACONDA_DIR``, ``/opt/conda`` on the host) is a real venv of
  Debian's ``/usr/bin/python3.11`` (pyenv's interpreter is under /root, which the user cannot
  read) with a ``.pth`` naming this .venv's site-packages (boto3, ipykernel, jupyter_client,
  PyYAML, pip: what SageMaker Distribution's ``base`` has). It is owned by **root**: on the real
  image the user could write it (docs/studio.md), so this is stricter: a script that installs
  into the server's environment fails here instead of silently changing the server. Tests
  also compare its file tree before and after a start.
* **A restart** (:meth:`StudioHost.restart`) ends the user's processes, empties ``<root>/tmp``
  and rebuilds the image's environment: everything outside the home is the image again.
* **No internet**: ``https_proxy``/``http_proxy`` name a closed port on 127.0.0.1 (only
  127.0.0.1/localhost bypass it), so anything that reaches out fails fast, as in a VPC
  without NAT.
* **CodeArtifact** cannot run here and moto does not model it: :class:`CodeArtifact` is a
  stand-in on 127.0.0.1 (``AWS_ENDPOINT_URL_CODEARTIFACT``) answering the two calls the
  script makes, only for the configured domain, owner and repository and only for signed
  requests; its repository endpoint serves a PEP 503 index of test wheels that answers 401
  without the token it issued. pip finds it only through the pip.conf the script writes
  (no ``PIP_*`` variables are set).
* **CloudWatch Logs** is a real moto server (tests/deploy/moto_launcher.py) reached through
  ``AWS_ENDPOINT_URL``. The harness plays SageMaker's part of copying the script's output
  to ``<domain>/<space>/<app>/default/LifecycleConfigOnStart``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

USER = "sagemaker-user"
USER_GID = 100
#: The image's interpreter stand-in: world-readable, same minor version as this .venv.
IMAGE_PYTHON = Path("/usr/bin/python3.11")
HOST_SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
DOMAIN_ID = "d-harness00001"
SPACE = "harness-space"
PROFILE = "forecasting-dave"
STUDIO_LOG_GROUP = "/aws/sagemaker/studio"
LAUNCHER = Path(__file__).resolve().parent.parent / "deploy" / "moto_launcher.py"
SCRIPT_TIMEOUT = 300.0  # Studio's limit for a lifecycle script
DETACHED_TIMEOUT = 90.0

_STARTED = re.compile(r"step (\S+): started in the background; progress in (\S+)")
_PHASE = re.compile(r"^export SMC_PHASE=(\S+)$", re.M)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_user() -> pwd.struct_passwd:
    """The real ``sagemaker-user`` account, created if missing (needs root)."""
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(USER)
    taken = {p.pw_uid for p in pwd.getpwall()}
    uid = next(u for u in range(1000, 60000) if u not in taken)
    subprocess.run(
        ["useradd", "--uid", str(uid), "--gid", str(USER_GID), "--no-create-home"]
        + ["--home-dir", f"/home/{USER}", "--shell", "/bin/bash", USER],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(USER)


# --- packages ------------------------------------------------------------------------------


def wheel(directory: Path, dist: str, version: str, module: str, source: str) -> Path:
    """A one-module pure-Python wheel written by the wheel spec (no build backend here)."""
    name = re.sub(r"[-_.]+", "_", dist)
    info = f"{name}-{version}.dist-info"
    members = {
        f"{module}.py": source,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }

    def digest(data: bytes) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    lines = [f"{n},sha256={digest(t.encode())},{len(t.encode())}" for n, t in members.items()]
    members[f"{info}/RECORD"] = "\n".join([*lines, f"{info}/RECORD,,"]) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in members.items():
            archive.writestr(member, text)
    return path


class CodeArtifact:
    """Stand-in for one CodeArtifact PyPI repository: the token and endpoint API + the index.

    Strict where the service is: an unsigned request is 403, another domain, owner or
    repository is 404, an index request without a token it issued is 401.
    """

    def __init__(self, domain: str, repository: str, owner: str = ACCOUNT) -> None:
        self.domain, self.repository, self.owner = domain, repository, owner
        self.wheels: dict[str, list[Path]] = {}
        self.tokens: list[str] = []
        self.index_requests: list[str] = []
        self.require_token = True
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                stand_in._api(self)

            def do_GET(self) -> None:
                if self.path.startswith("/v1/"):
                    stand_in._api(self)
                else:
                    stand_in._index(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.index_path = f"/{domain}/{repository}/simple/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_wheel(self, directory: Path, dist: str, version: str, module: str) -> None:
        path = wheel(directory, dist, version, module, f"VERSION = {version!r}\n")
        self.wheels.setdefault(re.sub(r"[-_.]+", "-", dist).lower(), []).append(path)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, kind: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _error(self, handler: BaseHTTPRequestHandler, status: int, kind: str, msg: str) -> None:
        body = json.dumps({"message": msg}).encode()
        handler.send_response(status)
        handler.send_header("x-amzn-ErrorType", kind)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _api(self, handler: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if not handler.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256"):
            return self._error(handler, 403, "AccessDeniedException", "unsigned request")
        if query.get("domain") != self.domain or query.get("domain-owner") != self.owner:
            return self._error(handler, 404, "ResourceNotFoundException", "no such domain")
        if url.path == "/v1/authorization-token" and handler.command == "POST":
            token = f"tok{len(self.tokens)}{os.urandom(6).hex()}"
            self.tokens.append(token)
            body = {"authorizationToken": token, "expiration": time.time() + 43200}
        elif url.path == "/v1/repository/endpoint" and handler.command == "GET":
            if query.get("repository") != self.repository or query.get("format") != "pypi":
                return self._error(handler, 404, "ResourceNotFoundException", "no such repo")
            body = {"repositoryEndpoint": f"{self.url}/{self.domain}/{self.repository}/"}
        else:
            return self._error(handler, 404, "UnknownOperationException", url.path)
        self._send(handler, 200, json.dumps(body).encode(), "application/json")

    def _index(self, handler: BaseHTTPRequestHandler) -> None:
        self.index_requests.append(handler.path)
        auth = handler.headers.get("Authorization", "")
        user_token = base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else ""
        if self.require_token and user_token not in {f"aws:{t}" for t in self.tokens}:
            handler.send_response(401)
            handler.send_header("WWW-Authenticate", 'Basic realm="codeartifact"')
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        path = urllib.parse.urlsplit(handler.path).path
        files = f"/{self.domain}/{self.repository}/files/"
        if path == self.index_path:
            links = "".join(f'<a href="{n}/">{n}</a>' for n in self.wheels)
            return self._send(
                handler, 200, f"<html><body>{links}</body></html>".encode(), "text/html"
            )
        if path.startswith(self.index_path):
            name = path[len(self.index_path) :].strip("/")
            if name not in self.wheels:
                return self._send(handler, 404, b"", "text/html")
            links = "".join(
                f'<a href="{files}{p.name}#sha256={hashlib.sha256(p.read_bytes()).hexdigest()}">'
                f"{p.name}</a>"
                for p in self.wheels[name]
            )
            return self._send(
                handler, 200, f"<html><body>{links}</body></html>".encode(), "text/html"
            )
        if path.startswith(files):
            wanted = path[len(files) :]
            for p in (p for ps in self.wheels.values() for p in ps):
                if p.name == wanted:
                    return self._send(handler, 200, p.read_bytes(), "application/octet-stream")
        self._send(handler, 404, b"", "text/html")


# --- moto ----------------------------------------------------------------------------------


class Moto:
    """A moto server on 127.0.0.1 started through tests/deploy/moto_launcher.py."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        env = {
            k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")
        }
        env["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 120
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while True:
            try:
                opener.open(f"{self.url}/moto-api/", timeout=2).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not start: {log.read_text()}") from None
                time.sleep(0.2)

    def client(self, service: str):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}, proxies={}),
        )

    def reset(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        opener.open(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")).close()
        self.client("logs").create_log_group(logGroupName=STUDIO_LOG_GROUP)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self._log.close()


# --- the host ------------------------------------------------------------------------------


@dataclass
class Run:
    returncode: int
    output: str
    seconds: float
    #: detached step name -> its log file's text once it ended
    detached: dict[str, str]


class StudioHost:
    """One space: its volume (the home), the image around it, and a start of its app."""

    def __init__(
        self,
        moto: Moto,
        codeartifact: CodeArtifact | None = None,
        app_type: str = "JupyterLab",
    ) -> None:
        self.user = ensure_user()
        self.moto, self.codeartifact, self.app_type = moto, codeartifact, app_type
        self.root = Path(tempfile.mkdtemp(prefix="smc-studio-", dir="/tmp"))
        self.root.chmod(0o755)
        self.home = self.root / "home" / USER
        self.home.mkdir(parents=True)
        os.chown(self.home, self.user.pw_uid, self.user.pw_gid)
        self.home.chmod(0o750)
        self.conda = self.root / "opt" / "conda"
        self.metadata = self.root / "opt" / "ml" / "metadata" / "resource-metadata.json"
        self.tmp = self.root / "tmp"
        self.dead_proxy = f"http://127.0.0.1:{free_port()}"
        self._build_image()

    # -- the image (everything outside the home) --

    def _build_image(self) -> None:
        if not IMAGE_PYTHON.exists():
            raise RuntimeError(f"{IMAGE_PYTHON} is needed as the image's Python")
        shutil.rmtree(self.conda, ignore_errors=True)
        subprocess.run(
            [str(IMAGE_PYTHON), "-m", "venv", "--without-pip", str(self.conda)],
            check=True,
            capture_output=True,
        )
        site = Path(
            subprocess.run(
                [
                    str(self.conda / "bin" / "python"),
                    "-c",
                    "import sysconfig;print(sysconfig.get_paths()['purelib'])",
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
        )
        (site / "_smc_image_packages.pth").write_text(f"{HOST_SITE_PACKAGES}\n")
        self.metadata.parent.mkdir(parents=True, exist_ok=True)
        # Only the fields AWS documents (docs/studio.md); the space's name is in the environment.
        self.metadata.write_text(
            json.dumps(
                {
                    "AppType": self.app_type,
                    "DomainId": DOMAIN_ID,
                    "UserProfileName": PROFILE,
                    "ResourceArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:app/{DOMAIN_ID}/"
                    f"{SPACE}/{self.app_type}/default",
                }
            )
        )
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir()
        self.tmp.chmod(0o1777)

    def image_digest(self) -> str:
        """A digest of the image's environment: every path, size and content."""
        digest = hashlib.sha256()
        for path in sorted(self.conda.rglob("*")):
            digest.update(str(path.relative_to(self.conda)).encode())
            if path.is_file() and not path.is_symlink():
                digest.update(path.read_bytes())
        return digest.hexdigest()

    @property
    def python(self) -> Path:
        """The image's Python (the server's environment)."""
        return self.conda / "bin" / "python"

    # -- running as the user --

    def env(self, phase: str = "studio") -> dict[str, str]:
        env = {
            "HOME": str(self.home),
            "USER": USER,
            "LOGNAME": USER,
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
            "PATH": f"{self.conda / 'bin'}:{HOST_PATH}",
            # The documented hooks (studio_host.sh) pointing at this simulated host.
            "SAGEMAKER_DIR": str(self.home),
            "ANACONDA_DIR": str(self.conda),
            "SMC_METADATA_FILE": str(self.metadata),
            "SMC_WORK_DIR": str(self.tmp / "sagemaker-constructs" / phase),
            # What an app's environment has (docs/studio.md).
            "SAGEMAKER_SPACE_NAME": SPACE,
            "SAGEMAKER_APP_TYPE": self.app_type,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            # The execution role's credentials stand-in, and local AWS.
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": self.moto.url,
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_EC2_METADATA_DISABLED": "true",
            # A VPC without internet: only local addresses bypass a proxy that is not there.
            "https_proxy": self.dead_proxy,
            "http_proxy": self.dead_proxy,
            "HTTPS_PROXY": self.dead_proxy,
            "HTTP_PROXY": self.dead_proxy,
            "no_proxy": "127.0.0.1,localhost",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        if self.codeartifact is not None:
            env["AWS_ENDPOINT_URL_CODEARTIFACT"] = self.codeartifact.url
        return env

    def as_user(
        self, command: list[str], timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command as sagemaker-user in the app's environment (from the home)."""
        values = {**self.env(), **(env or {})}
        return subprocess.run(
            ["runuser", "-u", USER, "--", "env", "-i", *(f"{k}={v}" for k, v in values.items())]
            + command,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, script: str, env: dict[str, str] | None = None, as_root: bool = False) -> Run:
        """Start the app: run the script as the user (or root), forward its output, wait for
        detached steps (run as root, their processes are root's: waited for by their logs)."""
        phase_match = _PHASE.search(script)
        phase = phase_match.group(1) if phase_match else "studio"
        path = self.root / "lifecycle-config.sh"
        path.write_text(script)
        path.chmod(0o644)
        logs_dir = self.home / ".sagemaker-constructs" / "logs"
        sizes = {p: p.stat().st_size for p in logs_dir.glob("*.log")} if logs_dir.is_dir() else {}
        started = time.monotonic()
        who = [] if as_root else ["runuser", "-u", USER, "--"]
        values = {**self.env(phase), **(env or {})}
        if as_root:
            values.update(HOME="/root", USER="root", LOGNAME="root")
        result = subprocess.run(
            [*who, "env", "-i"] + [f"{k}={v}" for k, v in values.items()] + ["bash", str(path)],
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
        seconds = time.monotonic() - started
        self._forward(result.stdout)
        detached = {}
        for name, log in _STARTED.findall(result.stdout):
            detached[name] = self._wait_detached(name, Path(log), sizes.get(Path(log), 0))
        self._wait_user_processes()
        return Run(result.returncode, result.stdout, seconds, detached)

    def _forward(self, output: str) -> None:
        """SageMaker's part: the script's STDOUT/STDERR to the LifecycleConfigOnStart stream."""
        logs = self.moto.client("logs")
        stream = f"{DOMAIN_ID}/{SPACE}/{self.app_type}/default/LifecycleConfigOnStart"
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=STUDIO_LOG_GROUP, logStreamName=stream)
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in output.splitlines() if line]
        if events:
            logs.put_log_events(
                logGroupName=STUDIO_LOG_GROUP, logStreamName=stream, logEvents=events
            )

    def _wait_detached(self, name: str, log: Path, offset: int) -> str:
        """The step's log from this start on (a restart keeps the volume, hence old logs)."""
        end = re.compile(rf"step {re.escape(name)}: (done|FAILED)")
        deadline = time.monotonic() + DETACHED_TIMEOUT
        while time.monotonic() < deadline:
            text = log.read_bytes()[offset:].decode() if log.exists() else ""
            if end.search(text):
                return text
            time.sleep(0.1)
        raise TimeoutError(f"detached step {name} did not end: {log}")

    def user_pids(self) -> list[int]:
        """The user's processes of THIS host: those whose environment has its HOME (every
        command starts with ``env -i HOME=<root>/home/...`` and children inherit it). The
        account is shared by every host of the machine (other test workers' too), so
        ``pgrep -u`` alone would stop their apps as well."""
        found = subprocess.run(
            ["pgrep", "-u", str(self.user.pw_uid)], capture_output=True, text=True, check=False
        )
        mine = f"HOME={self.home}".encode()
        pids = []
        for pid in map(int, found.stdout.split()):
            try:
                environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:  # ended meanwhile
                continue
            if mine in environment:
                pids.append(pid)
        return pids

    def _wait_user_processes(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.user_pids() and time.monotonic() < deadline:
            time.sleep(0.1)

    def restart(self) -> None:
        """Stop and start the app: the user's processes end, everything but the home resets."""
        for pid in self.user_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 15)
        self._wait_user_processes(5)
        self._build_image()

    def write_home_file(self, relative: str, text: str) -> Path:
        """A file the user had on the volume before the start (owned by the user)."""
        path = self.home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in [path.parent, *path.parent.parents]:
            if parent == self.home:
                break
            os.chown(parent, self.user.pw_uid, self.user.pw_gid)
        path.write_text(text)
        os.chown(path, self.user.pw_uid, self.user.pw_gid)
        return path

    def log_events(self, stream_prefix: str) -> dict[str, list[str]]:
        """CloudWatch events of the Studio group, by stream, for streams with this prefix."""
        logs = self.moto.client("logs")
        streams = logs.describe_log_streams(
            logGroupName=STUDIO_LOG_GROUP, logStreamNamePrefix=stream_prefix
        )["logStreams"]
        return {
            s["logStreamName"]: [
                e["message"]
                for e in logs.get_log_events(
                    logGroupName=STUDIO_LOG_GROUP, logStreamName=s["logStreamName"]
                )["events"]
            ]
            for s in streams
        }

    def close(self) -> None:
        for pid in self.user_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def studio_host(moto: Moto, **kwargs: object) -> Iterator[StudioHost]:
    host = StudioHost(moto, **kwargs)  # type: ignore[arg-type]
    try:
        yield host
    finally:
        host.close()
