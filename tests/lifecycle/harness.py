"""A simulated SageMaker notebook host, as strict as a real one without internet access.

The composed on-create/on-start scripts read every host path from variables with the real
defaults (``lifecycle_scripts/host.sh``, ``runner.sh``); :class:`Host` exports those variables
pointing into a directory of its own, so the same script text SageMaker would run runs here,
as root, as ``bash SCRIPT`` from ``/``, with ``PATH=<stand-ins>:/sbin:/bin:/usr/sbin:/usr/bin``.

Real parts: bash, curl, tar, setsid, python, pip, ipykernel, jupyter_client, **the real
``/usr/bin/sudo`` and a real ``ec2-user`` account** (created by :func:`ensure_notebook_user`;
root only, so the tests that need it skip with a reason when not run as root), **a real
solver and installer behind ``conda``** (py-rattler), **pip reading the pip.conf the scripts
wrote** against a PEP 503 index on 127.0.0.1, and boto3 talking to a moto server.

Layout under the root (``/`` on a real host)::

    home/ec2-user/               NOTEBOOK_HOME, owned by ec2-user (wiped by ``stop()``)
    home/ec2-user/SageMaker/     SAGEMAKER_DIR, the volume: the only thing a stop keeps
    home/ec2-user/anaconda3/     ANACONDA_DIR, owned by ec2-user (made anew by ``stop()``):
        bin/conda                conda on py-rattler (``conda_rattler.py``, see below)
        bin/activate             ``source activate NAME|PREFIX`` (a venv's activate + CONDA_*)
        envs/python3             the built-in kernel's env: a venv of this Python
        envs/JupyterSystemEnv    SMC_SYSTEM_PYTHON's env: has boto3 (and jupyter), which
                                 reaches the moto server through AWS_ENDPOINT_URL
    root/                        HOME of root
    bin/systemctl                the one stand-in on PATH: records its arguments
    var/tmp/sagemaker-constructs/<phase>  SMC_WORK_DIR (the runner's default shape)
    var/log/sagemaker-constructs          SMC_LOG_DIR
    etc/systemd/system, etc/cron.d        SYSTEMD_DIR, CRON_DIR
    opt/ml/metadata/resource-metadata.json  SMC_METADATA_FILE
    record/                      what the stand-ins saw (systemctl.log, conda.log)

The user. The scripts run user commands as ``sudo -u ec2-user -i HOME="${NOTEBOOK_HOME}" ...``
(host.sh's NOTEBOOK_HOME; ``/home/ec2-user`` on a host, where the assignment changes nothing).
The account's passwd home on this machine is the real ``/home/ec2-user``, shared by every
test run: changing it (``usermod -d``) would be global, so HOME is passed instead. sudo puts
it in the environment before the login shell starts, so that shell reads the simulated
home's ``.bash_profile`` and every file the scripts make for the user lands in the simulated
home, owned by ec2-user (only the login shell's working directory is the real home). That
``.bash_profile`` is part of the simulated image (:data:`OFFLINE_PROFILE`, made again by
``stop()``) and is the network of an isolated subnet: every connection beyond
127.0.0.1/localhost goes to a closed port (``http(s)_proxy``), so pip cannot fall back on
pypi.org and conda cannot reach anaconda.org. The root scripts get the same proxy: their AWS
calls go to 127.0.0.1 and are let through, everything else is cut off the same way. A side effect of the real sudo that the tests caught: ``sudo -i``
passes the command through the login shell leaving ``$`` unescaped, so the fragments hand
their inline scripts to ``bash -s`` on stdin (host.sh, ``smc_as_user``).

conda (``tests/lifecycle/conda_rattler.py``): ``create (--prefix|--name) SPECS`` and
``install [-p|-n] SPECS`` solve with py-rattler against the channels of the .condarc files
conda reads (``$ANACONDA_DIR/.condarc``, ``~/.condarc``, ``-c``; ``defaults`` and bare names
expand to anaconda.org URLs, which are unreachable here) and install the solved packages
into the prefix (``conda-meta/*.json``). A channel that cannot be reached, or a spec no
channel satisfies (rattler's SolverError), fails with exit 1 as conda does. Python itself
cannot come from a channel offline: the channel's ``python`` package is a placeholder, and
the environment's interpreter is a venv of this Python (so a solve that picks another Python
minor version fails); conda's ``pip`` comes with it as a ``bin/pip`` of the venv.

Python packages: every env made here gets a ``.pth`` file naming this ``.venv``'s
site-packages, appended to ``sys.path`` after the env's own. That makes ``ipykernel`` (for a
kernel), ``pip`` (for ``bin/pip``) and ``boto3`` (for JupyterSystemEnv) importable without a
network. A venv the scripts make from a built-in env's python with
``--system-site-packages`` (CondaEnvironment(base_environment=...)) sees the built-in env's
packages on a host; here the built-in envs are venvs themselves, so a ``.pth`` in ec2-user's
site dir (``~/.local/lib/python3.X/site-packages``, read only by such venvs) stands for them.
pip installs into the env it runs in (``sys.prefix``), so a package pip installs lands
in the env's own site-packages, where the tests look for it (test packages must be ones this
.venv lacks). pip finds packages only where the pip.conf the scripts wrote points it
(``~/.config/pip/pip.conf`` of the simulated home): a PEP 503 index on 127.0.0.1
(:class:`PackageServers`), which for CodeArtifact accepts only tokens the CodeArtifact
stand-in issued (basic auth ``aws:<token>``, as CodeArtifact does).

CodeArtifact has no moto model: :class:`PackageServers` answers GetAuthorizationToken and
GetRepositoryEndpoint on 127.0.0.1 (``AWS_ENDPOINT_URL_CODEARTIFACT``; SigV4-signed requests
only), issuing tokens for the index. Everything else AWS (CloudWatch Logs, SageMaker, S3) is a
moto server (``AWS_ENDPOINT_URL``, dummy credentials).

Detached steps outlive the script: :meth:`Host.wait` polls their log files for the
``step NAME: done|FAILED`` line and for their processes to end, with a bounded timeout.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import io
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import textwrap
import threading
import time
import urllib.parse
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

USER = "ec2-user"
#: PATH of a real notebook host's lifecycle scripts; the stand-ins go before it.
HOST_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"
#: The interpreter this .venv was made from.
BASE_PYTHON = Path(getattr(sys, "_base_executable", sys.executable))
VENV_PYTHON = Path(sys.executable)
PY_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
#: This .venv's site-packages (ipykernel, pip, jupyter_client, boto3, rattler), shared
#: with every simulated env through a .pth file.
HOST_SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
PTH_NAME = "_smc_harness_host_packages.pth"
CONDA_STANDIN = Path(__file__).with_name("conda_rattler.py")
REGION = "eu-west-1"
ACCOUNT = "123456789012"
NOTEBOOK_NAME = "harness-notebook"
LOG_GROUP = "/aws/sagemaker/NotebookInstances"
#: Where nothing listens: the "internet" of ec2-user (see OFFLINE_PROFILE).
NOWHERE = "http://127.0.0.1:9"

SCRIPT_TIMEOUT = 300.0  # SageMaker's limit for one lifecycle script
DETACHED_TIMEOUT = 90.0
USER_COMMAND_TIMEOUT = 120.0

_STARTED = re.compile(r"step (\S+): started in the background; progress in (\S+)")
_PHASE = re.compile(r"^export SMC_PHASE=(\S+)$", re.M)
#: The loader of a script stored as an S3 asset names the phase in its target file.
_LOADER_PHASE = re.compile(r"/var/tmp/sagemaker-constructs/([a-z-]+)\}-full\.sh")

#: The simulated home's ``.bash_profile`` (part of the image; ``sudo -i HOME=...`` reads it):
#: ec2-user has no way out but 127.0.0.1.
OFFLINE_PROFILE = f"""\
# The simulated image (tests/lifecycle/harness.py): this notebook has no internet access.
# Every connection beyond 127.0.0.1/localhost goes to a closed port, as in an isolated
# subnet without a NAT; local servers stay reachable.
export http_proxy={NOWHERE} https_proxy={NOWHERE} HTTP_PROXY={NOWHERE} HTTPS_PROXY={NOWHERE}
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
# A refused connection fails at once (pip would retry it 5 times with back-off).
export PIP_RETRIES=0
"""


# --- the notebook user ----------------------------------------------------------------


def _open_to_others(path: Path, bit: int = 0o001) -> bool:
    """Whether other users may pass through every directory down to ``path`` (and, with
    ``bit``, use ``path`` itself that way)."""
    path = path.resolve()
    return all(p.stat().st_mode & 0o001 for p in path.parents) and bool(path.stat().st_mode & bit)


@functools.cache
def host_python() -> tuple[Path, str] | None:
    """An interpreter of this Python minor version that ec2-user can run, and its version.

    This .venv's own base interpreter when others may run it; otherwise the system's
    ``/usr/bin/python3.X`` (e.g. when the base lives under root's 0700 home, as pyenv's
    does). The simulated envs are venvs of it; this .venv's packages (same minor version,
    same ABI) are importable in them.
    """
    for candidate in (BASE_PYTHON, Path(f"/usr/bin/python{PY_VERSION}")):
        if candidate.exists() and _open_to_others(candidate):
            version = subprocess.run(
                [str(candidate), "-c", "import platform; print(platform.python_version())"],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.strip()
            if version.startswith(f"{PY_VERSION}."):
                return candidate, version
    return None


def not_root_reason() -> str | None:
    """Why the strict harness cannot run here, or None (it needs root: useradd, sudo -u)."""
    if os.geteuid() != 0:
        return (
            "the notebook-host harness runs scripts as root with a real ec2-user "
            "(run the tests as root, as CI does)"
        )
    if not Path("/usr/bin/sudo").exists():
        return "the notebook-host harness needs the real sudo (apt-get install -y sudo)"
    if host_python() is None:
        return f"no Python {PY_VERSION} that ec2-user may run (this one is {BASE_PYTHON})"
    if not _open_to_others(HOST_SITE_PACKAGES, 0o001):
        return f"ec2-user cannot read this .venv's packages ({HOST_SITE_PACKAGES})"
    return None


def py_full() -> str:
    """The full version of the simulated envs' Python (the channel's ``python`` package)."""
    found = host_python()
    return found[1] if found else f"{PY_VERSION}.0"


def ensure_notebook_user() -> pwd.struct_passwd:
    """The ``ec2-user`` account (made with ``useradd -m`` if missing), offline (see above)."""
    reason = not_root_reason()
    if reason:
        import pytest

        pytest.skip(reason)
    try:
        account = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "-m", "-s", "/bin/bash", USER], check=False, capture_output=True, timeout=30
        )
        account = pwd.getpwnam(USER)  # another run may have made it meanwhile
    if account.pw_shell != "/bin/bash":  # AL2023's ec2-user logs in with bash
        subprocess.run(["usermod", "-s", "/bin/bash", USER], check=True, timeout=30)
        account = pwd.getpwnam(USER)
    return account


def owner(path: Path) -> str:
    return pwd.getpwuid(path.lstat().st_uid).pw_name


def chown_tree(path: Path, account: pwd.struct_passwd) -> None:
    for item in [path, *path.rglob("*")]:
        os.lchown(item, account.pw_uid, account.pw_gid)


# --- packages --------------------------------------------------------------------------


def build_wheel(directory: Path, dist: str, version: str, module: str, source: str) -> Path:
    """Write a pure-Python wheel (one module) by the wheel spec, without a build backend."""
    directory.mkdir(parents=True, exist_ok=True)
    normalized = re.sub(r"[-_.]+", "_", dist)
    dist_info = f"{normalized}-{version}.dist-info"
    files = {
        f"{module}.py": source,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests.lifecycle.harness\n"
            "Root-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / f"{normalized}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


def build_conda_package(
    channel: Path,
    name: str,
    version: str,
    *,
    module: str | None = None,
    depends: tuple[str, ...] = ("python",),
) -> Path:
    """A noarch conda package (``.tar.bz2``) in ``channel/noarch``; ``module`` imports.

    A ``python`` package (no module, no dependencies) is the placeholder for the
    interpreter, which the conda stand-in takes from a venv.
    """
    files: dict[str, bytes] = {}
    if module:
        source = f"__version__ = {version!r}\nCONDA_PACKAGE = {name!r}\n"
        files[f"site-packages/{module}/__init__.py"] = source.encode()
    noarch = "python" if module or name != "python" else "generic"
    index = {
        "name": name,
        "version": version,
        "build": "harness_0",
        "build_number": 0,
        "depends": [] if name == "python" else list(depends),
        "subdir": "noarch",
        "noarch": noarch,
        "license": "MIT",
        "timestamp": 1735689600000,
    }
    paths = {
        "paths": [
            {
                "_path": p,
                "path_type": "hardlink",
                "sha256": hashlib.sha256(d).hexdigest(),
                "size_in_bytes": len(d),
            }
            for p, d in files.items()
        ],
        "paths_version": 1,
    }
    members = {
        "info/index.json": json.dumps(index).encode(),
        "info/paths.json": json.dumps(paths).encode(),
        "info/files": "".join(f"{p}\n" for p in files).encode(),
        **files,
    }
    if noarch == "python":
        link = {"noarch": {"type": "python"}, "package_metadata_version": 1}
        members["info/link.json"] = json.dumps(link).encode()
    out = channel / "noarch" / f"{name}-{version}-harness_0.tar.bz2"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:bz2") as tar:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return out


def index_channel(channel: Path) -> None:
    """Write ``noarch/repodata.json`` and ``linux-64/repodata.json`` (rattler's indexer)."""
    from rattler.index import index_fs

    (channel / "linux-64").mkdir(parents=True, exist_ok=True)
    (channel / "noarch").mkdir(parents=True, exist_ok=True)
    asyncio.run(index_fs(channel, write_zst=False, write_shards=False, force=True))
    shutil.rmtree(channel / ".tmp", ignore_errors=True)


@dataclass(frozen=True)
class Package:
    """A test package: a wheel and/or a conda package whose ``module`` imports."""

    name: str
    version: str
    module: str
    wheel: bool = True
    conda: bool = False


#: Every package a lifecycle test installs: the tests' own, and the example app's pins
#: (config/teams.yaml) with the module each imports as. None is in this .venv.
TEST_PACKAGES = [
    Package("smc-tinypkg", "1.0.0", "smc_tinypkg"),
    Package("smc-otherpkg", "2.0.0", "smc_otherpkg"),
    Package("smc-kernelpkg", "1.0.0", "smc_kernelpkg"),
    Package("smc-plainpkg", "1.0.0", "smc_plainpkg"),
    Package("smc-refreshpkg", "1.0.0", "smc_refreshpkg"),
    Package("smc-venvpkg", "1.0.0", "smc_venvpkg"),
    Package("numpy", "1.26.4", "numpy", wheel=False, conda=True),
    Package("scipy", "1.13.1", "scipy", wheel=False, conda=True),
    Package("pandas", "2.2.3", "pandas"),
    Package("scikit-learn", "1.5.2", "sklearn"),
    Package("xgboost", "2.1.3", "xgboost"),
    Package("prophet", "1.1.6", "prophet"),
    Package("statsmodels", "0.14.4", "statsmodels"),
    Package("torch", "2.5.1", "torch"),
    Package("torchvision", "0.20.1", "torchvision"),
]
#: The CodeArtifact (domain, repository) the stand-in serves, as the example app's mirror.
CODEARTIFACT = ("sagemaker-platform", "pypi")


# --- local servers ---------------------------------------------------------------------


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 that can be stopped and started on its port."""

    def __init__(self, handler: type[BaseHTTPRequestHandler] | functools.partial) -> None:  # type: ignore[type-arg]
        self._handler = handler
        self.requests: list[str] = []  # "METHOD path" in order
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
        server.daemon_threads = True
        server.owner = self  # type: ignore[attr-defined]
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join(timeout=10)
        self._server = None

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """Nothing listens on this server's port inside the block (connections are refused)."""
        self.stop()
        try:
            yield
        finally:
            self.start()


class _Quiet:
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _StaticHandler(_Quiet, SimpleHTTPRequestHandler):
    def send_head(self):  # type: ignore[no-untyped-def]
        self.server.owner.requests.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        return super().send_head()


class _HeadHandler(_Quiet, BaseHTTPRequestHandler):
    """200 to HEAD and GET (for the connectivity check)."""

    def do_HEAD(self) -> None:  # noqa: N802 - the http.server API
        self.server.owner.requests.append(self.command)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        self.do_HEAD()


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class _IndexHandler(_Quiet, BaseHTTPRequestHandler):
    """A PEP 503 simple index of the wheelhouse: open under ``/simple/``; under
    ``/<domain>-<owner>/pypi/<repository>/simple/`` (CodeArtifact's shape) only with basic
    auth ``aws:<token>`` of a token the CodeArtifact stand-in issued and did not revoke."""

    def do_GET(self) -> None:  # noqa: N802
        sources: PackageServers = self.server.owner.sources  # type: ignore[attr-defined]
        self.server.owner.requests.append(f"GET {self.path}")  # type: ignore[attr-defined]
        path = urllib.parse.urlparse(self.path).path
        match = re.fullmatch(r"/(?:([a-z0-9-]+)/pypi/([A-Za-z0-9._-]+)/)?(simple|files)/(.*)", path)
        if not match:
            return self._send(404, b"not found")
        domain_owner, repository, kind, rest = match.groups()
        if domain_owner is not None:
            if (domain_owner, repository) not in sources.repositories():
                return self._send(404, b"no such repository")
            if not sources.token_ok(self.headers.get("Authorization", "")):
                return self._send(401, b"Unauthorized", {"WWW-Authenticate": 'Basic realm="x"'})
        wheels = {p.name: p for p in sources.wheels_dir.glob("*.whl")}
        if kind == "files":
            wheel = wheels.get(rest)
            if wheel is None:
                return self._send(404, b"no such file")
            return self._send(200, wheel.read_bytes(), {"Content-Type": "application/zip"})
        projects: dict[str, list[Path]] = {}
        for wheel in wheels.values():
            projects.setdefault(_normalize(wheel.name.split("-")[0]), []).append(wheel)
        if rest == "":
            links = "".join(f'<a href="{p}/">{p}</a>\n' for p in sorted(projects))
        elif rest.rstrip("/") in projects:
            links = "".join(
                f'<a href="../../files/{w.name}#sha256={hashlib.sha256(w.read_bytes()).hexdigest()}">'
                f"{w.name}</a>\n"
                for w in projects[rest.rstrip("/")]
            )
        else:
            return self._send(404, b"no such project")
        body = f"<!DOCTYPE html><html><body>\n{links}</body></html>\n".encode()
        self._send(200, body, {"Content-Type": "text/html"})

    def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _CodeArtifactHandler(_Quiet, BaseHTTPRequestHandler):
    """GetAuthorizationToken and GetRepositoryEndpoint of the CodeArtifact REST API."""

    def _reply(self, code: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        if code >= 400:
            self.send_header("x-amzn-ErrorType", str(body.get("__type", "")))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        sources: PackageServers = self.server.owner.sources  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        url = urllib.parse.urlparse(self.path)
        self.server.owner.requests.append(f"{self.command} {url.path}")  # type: ignore[attr-defined]
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 Credential="):
            return self._reply(403, {"__type": "AccessDeniedException", "message": "unsigned"})
        key = (f"{query.get('domain')}-{query.get('domain-owner')}", query.get("repository"))
        if (self.command, url.path) == ("POST", "/v1/authorization-token"):
            duration = int(query.get("duration", "43200"))
            if not 900 <= duration <= 43200 and duration != 0:
                return self._reply(400, {"__type": "ValidationException", "message": "duration"})
            if key[0] not in {d for d, _ in sources.repositories()}:
                return self._reply(
                    404, {"__type": "ResourceNotFoundException", "message": "domain"}
                )
            token = sources.issue_token(duration)
            return self._reply(
                200, {"authorizationToken": token, "expiration": time.time() + duration}
            )
        if (self.command, url.path) == ("GET", "/v1/repository/endpoint"):
            if key not in sources.repositories() or query.get("format") != "pypi":
                return self._reply(404, {"__type": "ResourceNotFoundException", "message": "repo"})
            endpoint = f"{sources.index.url}{key[0]}/pypi/{key[1]}/"
            return self._reply(200, {"repositoryEndpoint": endpoint})
        self._reply(404, {"__type": "UnknownOperationException", "message": url.path})

    do_GET = do_POST = _handle  # noqa: N815


def upload_conda_channel(
    s3: Any, packages: PackageServers, script: str, account: str, region: str, *, create: bool
) -> None:
    """Fill the platform's conda channel bucket, as a composed ``script`` names it, with the
    test channel (as the platform team's ``aws s3 sync`` would, docs/lifecycle.md); the
    bucket is made first when ``create`` (else it must exist: a deploy made it)."""
    bucket = re.search(r"^export SMC_CONDA_CHANNEL_BUCKET=(\S+)$", script, re.M)
    prefix = re.search(r"^export SMC_CONDA_CHANNEL_PREFIX=(\S+)$", script, re.M)
    if not bucket:
        return
    name = bucket.group(1).strip("'\"").replace("{account}", account).replace("{region}", region)
    key_prefix = prefix.group(1).strip("'\"") if prefix else "conda-channel"
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if create and name not in existing:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    else:
        s3.head_bucket(Bucket=name)
    for path in sorted(packages.channel_dir.rglob("*")):
        if path.is_file():
            key = f"{key_prefix}/{path.relative_to(packages.channel_dir).as_posix()}"
            s3.put_object(Bucket=name, Key=key, Body=path.read_bytes())


class PackageServers:
    """The package sources of a test session, built once, served on 127.0.0.1.

    * ``wheels_dir``: a wheel per :class:`Package` with ``wheel=True``;
    * ``channel_dir``: a conda channel (``noarch`` + empty ``linux-64``) with a
      placeholder ``python`` (this interpreter's version), ``ipykernel`` and a package per
      :class:`Package` with ``conda=True``; served by ``channel`` (http) and usable as a
      ``file://`` channel (:attr:`channel_file_url`);
    * ``index``: the PEP 503 index (open ``/simple/`` and CodeArtifact-shaped repositories);
    * ``codeartifact``: the CodeArtifact API stand-in issuing tokens for ``index``.
    """

    def __init__(self, directory: Path, packages: list[Package]) -> None:
        self.directory = directory
        self.wheels_dir = directory / "wheels"
        self.channel_dir = directory / "channel"
        self._tokens: dict[str, float] = {}  # token -> expiry (time.time())
        self._repositories: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.packages = list(packages)
        build_conda_package(self.channel_dir, "python", py_full())
        build_conda_package(self.channel_dir, "ipykernel", "6.29.5")
        for package in packages:
            self.add(package, reindex=False)
        index_channel(self.channel_dir)
        directory.chmod(0o755)
        self.index = LocalServer(_IndexHandler)
        self.index.sources = self  # type: ignore[attr-defined]
        self.codeartifact = LocalServer(_CodeArtifactHandler)
        self.codeartifact.sources = self  # type: ignore[attr-defined]
        handler = functools.partial(_StaticHandler, directory=str(self.channel_dir))
        self.channel = LocalServer(handler)

    def add(self, package: Package, *, reindex: bool = True) -> None:
        if package.wheel:
            source = f"VALUE = {package.version!r}\n"
            build_wheel(self.wheels_dir, package.name, package.version, package.module, source)
        if package.conda:
            build_conda_package(
                self.channel_dir, package.name, package.version, module=package.module
            )
            if reindex:
                index_channel(self.channel_dir)
        if package not in self.packages:
            self.packages.append(package)

    @property
    def channel_file_url(self) -> str:
        return f"file://{self.channel_dir}"

    @property
    def simple_url(self) -> str:
        return f"{self.index.url}simple/"

    def add_repository(self, domain: str, owner: str, repository: str) -> None:
        with self._lock:
            self._repositories.add((f"{domain}-{owner}", repository))

    def repositories(self) -> set[tuple[str, str]]:
        with self._lock:
            return set(self._repositories)

    def issue_token(self, duration: int) -> str:
        token = f"harness-token-{secrets.token_hex(8)}"
        with self._lock:
            self._tokens[token] = time.time() + duration
        return token

    def revoke_tokens(self) -> None:
        """Every token issued so far expires now (as after 12 hours)."""
        with self._lock:
            self._tokens.clear()

    def token_ok(self, authorization: str) -> bool:
        if not authorization.startswith("Basic "):
            return False
        try:
            user, _, token = base64.b64decode(authorization[6:]).decode().partition(":")
        except ValueError:
            return False
        with self._lock:
            return user == "aws" and self._tokens.get(token, 0) > time.time()

    def close(self) -> None:
        for server in (self.index, self.codeartifact, self.channel):
            server.stop()


@contextmanager
def http_server() -> Iterator[LocalServer]:
    """A real HTTP server on 127.0.0.1 answering 200 to HEAD and GET."""
    server = LocalServer(_HeadHandler)
    try:
        yield server
    finally:
        server.stop()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- stand-ins -------------------------------------------------------------------------

_SYSTEMCTL = """\
#!/bin/bash
# Stand-in for systemctl (tests/lifecycle/harness.py): records its arguments, succeeds.
printf '%s\\n' "$*" >> @RECORD@
"""

_ACTIVATE = """\
# conda's bin/activate for the simulated host (tests/lifecycle/harness.py), to be sourced:
#   source "$ANACONDA_DIR/bin/activate" NAME|PREFIX
# Sources that env's venv activate script and defines the conda function, as conda does.
_smc_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_smc_env="${1:-base}"
case "${_smc_env}" in
  /*) _smc_prefix="${_smc_env}" ;;
  *) _smc_prefix="${_smc_root}/envs/${_smc_env}" ;;
esac
if [ ! -f "${_smc_prefix}/bin/activate" ]; then
  echo "EnvironmentNameNotFound: Could not find conda environment: ${_smc_env}" >&2
  unset _smc_root _smc_env _smc_prefix
  return 1
fi
. "${_smc_prefix}/bin/activate"
export CONDA_PREFIX="${_smc_prefix}" CONDA_DEFAULT_ENV="${_smc_env}"
export CONDA_EXE="${_smc_root}/bin/conda"
conda() { "${CONDA_EXE}" "$@"; }
unset _smc_root _smc_env _smc_prefix
"""

_PIP = """\
#!{python}
import sys
from pip._internal.cli.main import main
sys.exit(main())
"""


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace(f"@{key}@", value)
    return template


def _write_executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def make_env(prefix: Path, python: Path | None = None) -> None:
    """A venv at ``prefix`` with ``bin/pip``, importing this .venv's packages after its own."""
    if python is None:
        found = host_python()
        assert found, not_root_reason()
        python = found[0]
    subprocess.run(
        [str(python), "-m", "venv", "--without-pip", str(prefix)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    site = prefix / "lib" / f"python{PY_VERSION}" / "site-packages"
    (site / PTH_NAME).write_text(f"{HOST_SITE_PACKAGES}\n")
    _write_executable(prefix / "bin" / "pip", _PIP.format(python=prefix / "bin" / "python"))
    (prefix / "conda-meta").mkdir(exist_ok=True)
    (prefix / "conda-meta" / "history").write_text("")


# --- runs ------------------------------------------------------------------------------


@dataclass
class DetachedStep:
    name: str
    log: Path
    offset: int  # size of the log before the run: this run's lines come after it


@dataclass
class Run:
    """One run of a composed script: its exit code, output, foreground time, detached steps."""

    phase: str
    returncode: int
    stdout: str
    stderr: str
    elapsed: float  # wall seconds until the script returned (the foreground part)
    started: float  # time.monotonic() when it was started
    detached: list[DetachedStep] = field(default_factory=list)
    detached_logs: dict[str, str] = field(default_factory=dict)  # name -> this run's lines
    detached_elapsed: float | None = None  # seconds from the script's start to all done

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def log(self, name: str) -> str:
        """This run's lines of detached step ``name`` (after :meth:`Host.wait`)."""
        return self.detached_logs[name]


_KERNEL_DRIVER = """\
import json, sys
from pathlib import Path
from jupyter_client.manager import start_new_kernel
kernel, code_file, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
km, kc = start_new_kernel(kernel_name=kernel, startup_timeout=timeout)
out = []
def hook(msg):
    if msg["msg_type"] == "stream":
        out.append(msg["content"]["text"])
    elif msg["msg_type"] == "error":
        out.append("\\n".join(msg["content"]["traceback"]))
try:
    reply = kc.execute_interactive(Path(code_file).read_text(), timeout=timeout, output_hook=hook)
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
print(json.dumps({"status": reply["content"]["status"], "stdout": "".join(out)}))
"""


class Host:
    """A simulated notebook host; see the module docstring for the layout.

    Args:
        root: Where to build it; by default (or when ``root``'s parent is not open to
            ec2-user, like pytest's 0700 temp dirs) a new directory under the system temp dir.
        aws: Environment for boto3 in the scripts (a moto server's endpoint and dummy
            credentials, e.g. ``MotoServer.env``); by default AWS is a closed port.
        packages: The session's package servers (for the CodeArtifact endpoint).
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        aws: dict[str, str] | None = None,
        packages: PackageServers | None = None,
    ) -> None:
        self.account = ensure_notebook_user()
        if root is None or not _open_to_others(root.parent):
            root = Path(tempfile.mkdtemp(prefix="smc-notebook-host-"))
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        self.root = root.resolve()
        self.aws = aws
        self.packages = packages
        self.home = self.root / "home" / USER
        self.sagemaker_dir = self.home / "SageMaker"
        self.anaconda_dir = self.home / "anaconda3"
        self.envs_dir = self.sagemaker_dir / "envs"  # SMC_ENVS_DIR's default
        self.bin_dir = self.root / "bin"
        self.log_dir = self.root / "var" / "log" / "sagemaker-constructs"
        self.work_root = self.root / "var" / "tmp" / "sagemaker-constructs"
        self.systemd_dir = self.root / "etc" / "systemd" / "system"
        self.cron_dir = self.root / "etc" / "cron.d"
        self.metadata_file = self.root / "opt" / "ml" / "metadata" / "resource-metadata.json"
        self.record_dir = self.root / "record"
        self.scripts_dir = self.root / "scripts"  # copies of what was run, for reading
        self.system_python = self.anaconda_dir / "envs" / "JupyterSystemEnv" / "bin" / "python"
        self._runs = 0
        self._build()

    # -- layout --

    def _build(self) -> None:
        for directory in (self.record_dir, self.scripts_dir):
            directory.mkdir(parents=True, exist_ok=True)
        # The stand-ins that run as ec2-user (conda) record here too.
        self.record_dir.chmod(0o1777)
        self.scripts_dir.chmod(0o755)
        _write_executable(
            self.bin_dir / "systemctl", _fill(_SYSTEMCTL, RECORD=str(self.systemctl_log))
        )
        self.metadata_file.parent.mkdir(parents=True, exist_ok=True)
        self.metadata_file.write_text(
            json.dumps(
                {
                    "ResourceName": NOTEBOOK_NAME,
                    "ResourceArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:"
                    f"notebook-instance/{NOTEBOOK_NAME}",
                }
            )
        )
        self.home.parent.mkdir(parents=True, exist_ok=True)
        self.home.parent.chmod(0o755)
        self._boot_root_volume()

    def _boot_root_volume(self) -> None:
        """What a fresh root volume has: the user's home (around the volume) and anaconda."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)
        (self.home / ".bash_profile").write_text(OFFLINE_PROFILE)
        # A venv made from a built-in env's python with --system-site-packages sees that
        # env's packages on a host (a real interpreter there); here the built-in envs are
        # venvs themselves, so ec2-user's site dir (on for such venvs only) stands for them.
        user_site = self.home / ".local" / "lib" / f"python{PY_VERSION}" / "site-packages"
        user_site.mkdir(parents=True, exist_ok=True)
        (user_site / PTH_NAME).write_text(f"{HOST_SITE_PACKAGES}\n")
        (self.root / "root").mkdir(exist_ok=True)
        var_tmp = self.root / "var" / "tmp"
        var_tmp.mkdir(parents=True, exist_ok=True)
        var_tmp.chmod(0o1777)
        # anaconda3 is conda's base env: a venv whose python runs bin/conda (with rattler).
        make_env(self.anaconda_dir)
        _write_executable(self.anaconda_dir / "bin" / "activate", _ACTIVATE)
        _write_executable(
            self.anaconda_dir / "bin" / "conda",
            _fill(
                CONDA_STANDIN.read_text(),
                PYTHON=str(self.anaconda_dir / "bin" / "python"),
                PY_VERSION=PY_VERSION,
                PY_FULL=py_full(),
                PTH_NAME=PTH_NAME,
                HOST_SITE=str(HOST_SITE_PACKAGES),
                RECORD_DIR=str(self.record_dir),
            ),
        )
        make_env(self.anaconda_dir / "envs" / "python3")
        make_env(self.system_python.parents[1])
        owned = [self.home, *(p for p in self.home.iterdir() if p != self.sagemaker_dir)]
        for path in owned:
            if path == self.home:
                os.chown(path, self.account.pw_uid, self.account.pw_gid)
            else:
                chown_tree(path, self.account)

    @property
    def conda_seconds(self) -> float:
        delay = self.record_dir / "conda-seconds"
        return float(delay.read_text()) if delay.exists() else 0.0

    @conda_seconds.setter
    def conda_seconds(self, seconds: float) -> None:
        """Make each ``conda`` command take this much longer, like a real one (minutes)."""
        (self.record_dir / "conda-seconds").write_text(str(seconds))

    @property
    def systemctl_log(self) -> Path:
        return self.record_dir / "systemctl.log"

    def env(self, phase: str) -> dict[str, str]:
        """The environment a composed script of ``phase`` runs with on this host."""
        aws = dict(self.aws or {"AWS_ENDPOINT_URL": NOWHERE})
        aws = {k: v for k, v in aws.items() if k.startswith("AWS_")}
        env = {
            "PATH": f"{self.bin_dir}:{HOST_PATH}",
            "HOME": str(self.root / "root"),
            "USER": "root",
            "LOGNAME": "root",
            "LANG": "C.UTF-8",
            # host.sh
            "NOTEBOOK_USER": USER,
            "NOTEBOOK_HOME": str(self.home),
            "SAGEMAKER_DIR": str(self.sagemaker_dir),
            "ANACONDA_DIR": str(self.anaconda_dir),
            "SMC_METADATA_FILE": str(self.metadata_file),
            # runner.sh (SMC_WORK_DIR in its default shape, one per phase)
            "SMC_WORK_DIR": str(self.work_root / phase),
            "SMC_LOG_DIR": str(self.log_dir),
            "SMC_SYSTEM_PYTHON": str(self.system_python),
            # install_autostop.sh and package_index.sh (units)
            "SYSTEMD_DIR": str(self.systemd_dir),
            "CRON_DIR": str(self.cron_dir),
            "AUTOSTOP_PYTHON": str(self.system_python),
            # home_backup.py: its before-stop hook and lock inside this host, not in the
            # machine's own /var/tmp.
            "AUTOSTOP_HOOKS_DIR": str(self.work_root / "before-stop.d"),
            "SMC_BACKUP_LOCK": str(self.work_root / "home-backup.lock"),
            # boto3 of the root scripts: the instance role's credentials on a host; here
            # dummy ones for moto, nothing beyond 127.0.0.1.
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            **aws,
            "AWS_ENDPOINT_URL_CODEARTIFACT": self.packages.codeartifact.url.rstrip("/")
            if self.packages
            else NOWHERE,
            # The network of an isolated subnet for root too (see OFFLINE_PROFILE).
            "http_proxy": NOWHERE,
            "https_proxy": NOWHERE,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        return env

    # -- running scripts --

    def run(self, script: str | None, timeout: float = SCRIPT_TIMEOUT) -> Run:
        """Run a composed script unmodified, as SageMaker does (``bash FILE`` from ``/``).

        Returns when the script does; its detached steps go on (see :meth:`wait`).
        """
        assert script is not None, "no script to run"
        match = _PHASE.search(script) or _LOADER_PHASE.search(script)
        phase = match.group(1) if match else "lifecycle"
        self._runs += 1
        path = self.scripts_dir / f"{self._runs:02d}-{phase}.sh"
        path.write_text(script)
        offsets = self._log_sizes()
        started = time.monotonic()
        completed = subprocess.run(
            ["bash", str(path)],
            cwd="/",
            env=self.env(phase),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        elapsed = time.monotonic() - started
        detached = [
            DetachedStep(name, Path(log), offsets.get(Path(log), 0))
            for name, log in _STARTED.findall(completed.stdout)
        ]
        return Run(
            phase,
            completed.returncode,
            completed.stdout,
            completed.stderr,
            elapsed,
            started,
            detached,
        )

    def _log_sizes(self) -> dict[Path, int]:
        if not self.log_dir.is_dir():
            return {}
        return {p: p.stat().st_size for p in self.log_dir.glob("*.log")}

    def wait(self, *runs: Run, timeout: float = DETACHED_TIMEOUT) -> None:
        """Wait until every detached step of ``runs`` logged its end and no process is left.

        Fills each run's ``detached_logs`` and ``detached_elapsed``. Raises TimeoutError
        (with the logs so far) after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        pending = list(runs)
        while True:
            for run in list(pending):
                logs = self.detached_text(run)
                if all(
                    len(re.findall(rf"step {re.escape(name)}: (done|FAILED)", text))
                    >= sum(1 for d in run.detached if d.name == name)
                    for name, text in logs.items()
                ):
                    run.detached_logs = logs
                    run.detached_elapsed = time.monotonic() - run.started
                    pending.remove(run)
            if not pending and not self.processes():
                return
            if time.monotonic() > deadline:
                logs = {
                    d.name: self.detached_text(run)[d.name] for run in runs for d in run.detached
                }
                raise TimeoutError(
                    f"detached steps not finished after {timeout:g} s; processes left: "
                    f"{self.processes()}; logs: {json.dumps(logs, indent=1)}"
                )
            time.sleep(0.1)

    def detached_text(self, run: Run) -> dict[str, str]:
        """What each detached step of ``run`` has logged so far (its lines of this run)."""
        logs: dict[str, str] = {}
        for step in run.detached:
            if step.name in logs:
                continue
            try:
                with open(step.log, "rb") as fh:
                    fh.seek(step.offset)
                    logs[step.name] = fh.read().decode(errors="replace")
            except FileNotFoundError:
                logs[step.name] = ""
        return logs

    def processes(self) -> list[int]:
        """PIDs of processes started on this host (their environment names its root)."""
        marker = f"{self.root}/".encode()  # every path of this host, not a sibling
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if marker in environ:
                found.append(int(entry.name))
        return found

    def kill_processes(self, timeout: float = 10.0) -> list[int]:
        """End the processes left over from this host's scripts (by PID); returns them."""
        killed = self.processes()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.processes():
                with suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + timeout / 2
            while self.processes() and time.monotonic() < deadline:
                time.sleep(0.1)
            if not self.processes():
                break
        return killed

    def stop(self) -> None:
        """Stop and start the notebook: every process ends; only the volume is kept.

        Everything outside SAGEMAKER_DIR is made fresh: the home (kernel specs, pip.conf,
        .condarc), anaconda's built-in envs, /var (work dirs, logs), /etc (units), /root.
        """
        self.kill_processes()
        keep = self.sagemaker_dir
        moved = self.root / "volume-during-stop"
        if keep.exists():
            keep.rename(moved)
        for path in (self.home, self.root / "var", self.root / "etc", self.root / "root"):
            shutil.rmtree(path, ignore_errors=True)
        self._boot_root_volume()
        if moved.exists():
            moved.rename(keep)

    def new_notebook(self) -> None:
        """Like :meth:`stop`, and the volume is empty too (a notebook just created)."""
        self.kill_processes()
        shutil.rmtree(self.sagemaker_dir, ignore_errors=True)
        self.stop()

    # -- looking at the host as the user --

    def as_user(
        self,
        *command: str,
        timeout: float = USER_COMMAND_TIMEOUT,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` as the notebook user: real ``sudo -u ec2-user -i`` (login shell).

        Arguments must be single lines (sudo -i escapes each for the shell's ``-c``).
        """
        # HOME before the login shell starts (it reads HOME's .bash_profile); the rest after
        # it (the login files reset PATH).
        later = ["env", *(f"{k}={v}" for k, v in env.items())] if env else []
        completed = subprocess.run(
            ["/usr/bin/sudo", "-u", USER, "-i", f"HOME={self.home}", *later, *command],
            env=self.env("lifecycle"),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"{command} failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}"
            )
        return completed

    def jupyter_env(self) -> dict[str, str]:
        """What the Jupyter server's processes have: JupyterSystemEnv first on PATH."""
        return {"PATH": f"{self.system_python.parent}:/usr/local/bin:/usr/bin:/bin"}

    def kernelspecs(self) -> dict[str, dict]:  # type: ignore[type-arg]
        """``jupyter kernelspec list --json`` as the user, with JupyterSystemEnv's jupyter."""
        listed = self.as_user(
            str(self.system_python), "-m", "jupyter_client.kernelspecapp", "list", "--json"
        )
        return json.loads(listed.stdout)["kernelspecs"]  # type: ignore[no-any-return]

    def user_kernel_dir(self) -> Path:
        """Where ``ipykernel install --user`` writes kernel specs (jupyter's user data dir)."""
        return self.home / ".local" / "share" / "jupyter" / "kernels"

    def python_in(self, env_dir: Path, code: str) -> str:
        """Run one line of ``code`` with the env's python as the user; returns its stdout."""
        assert "\n" not in code, "one line (sudo -i)"
        return self.as_user(str(env_dir / "bin" / "python"), "-c", code).stdout

    def execute_in_kernel(self, kernel: str, code: str, timeout: float = 60.0) -> dict[str, str]:
        """Start kernel spec ``kernel`` as the user, the way Jupyter does, and run ``code``.

        The kernel is launched by jupyter_client from its kernel.json (argv and env), from
        JupyterSystemEnv with that env first on PATH, as the notebook's Jupyter server runs.
        Returns {"status": ..., "stdout": ...}.
        """
        driver = self.scripts_dir / "kernel_driver.py"
        driver.write_text(_KERNEL_DRIVER)
        code_file = Path(tempfile.mkstemp(dir=self.scripts_dir, suffix=".py")[1])
        code_file.write_text(textwrap.dedent(code))
        code_file.chmod(0o644)
        try:
            completed = self.as_user(
                str(self.system_python),
                str(driver),
                kernel,
                str(code_file),
                str(timeout),
                timeout=timeout * 2 + 30,
                env=self.jupyter_env(),
            )
        finally:
            code_file.unlink()
        return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    def systemctl_calls(self) -> list[str]:
        if not self.systemctl_log.exists():
            return []
        return self.systemctl_log.read_text().splitlines()

    def jupyter_restarts(self, calls: list[str] | None = None) -> int:
        """How many times the scripts restarted Jupyter (``systemctl ... restart jupyter-server``)."""
        calls = self.systemctl_calls() if calls is None else calls
        return sum(1 for c in calls if re.search(r"\brestart\b.*\bjupyter-server\b", c))

    def conda_calls(self) -> list[dict]:  # type: ignore[type-arg]
        log = self.record_dir / "conda.log"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def close(self) -> None:
        self.kill_processes()
        shutil.rmtree(self.root, ignore_errors=True)
