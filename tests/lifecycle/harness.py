"""A simulated SageMaker notebook host, for running composed lifecycle scripts unmodified.

The composed on-create/on-start scripts read every host path from variables with the real
defaults (``lifecycle_scripts/host.sh``, ``runner.sh``); :class:`Host` exports those variables
pointing into a temporary directory, so the same script text SageMaker would run runs here,
as ``bash SCRIPT`` from ``/``, with ``PATH=<stand-ins>:/sbin:/bin:/usr/sbin:/usr/bin``.

Layout under the root (``/home/ec2-user/...`` on a real host)::

    home/ec2-user/               HOME of the notebook user (wiped by ``stop()``)
    home/ec2-user/SageMaker/     SAGEMAKER_DIR, the volume: the only thing a stop keeps
    home/ec2-user/anaconda3/     ANACONDA_DIR: bin/conda and bin/activate (stand-ins) and
        envs/python3             the built-in kernel's env: a real venv (reset by ``stop()``)
        envs/JupyterSystemEnv    SMC_SYSTEM_PYTHON's env: a real venv WITHOUT boto3, so
                                 cw_tee.py writes the log file only, and nothing can call AWS
    root/                        HOME of root
    bin/                         stand-ins first on PATH: sudo, systemctl
    var/tmp/sagemaker-constructs/<phase>  SMC_WORK_DIR (the runner's default shape)
    var/log/sagemaker-constructs          SMC_LOG_DIR
    etc/systemd/system, etc/cron.d        SYSTEMD_DIR, CRON_DIR of install_autostop.sh
    opt/ml/metadata/resource-metadata.json  SMC_METADATA_FILE
    wheelhouse/                  the only package source pip has (see "Packages" below)
    record/                      what the stand-ins saw (systemctl.log, conda.log)

Stand-ins exist only for what cannot exist here; everything else (bash, tar, base64, curl,
setsid, python, pip, ipykernel, jupyter) is real:

* ``sudo``: takes ``-u USER`` (only the notebook user), ``-i``, ``-H``, ``-n``; runs the command
  as the current user (ownership is not simulated: everything runs as whoever runs the tests)
  in a reset environment like sudo's ``env_reset`` (HOME=the fake home, USER, LOGNAME, SHELL,
  PATH). With ``-i`` it starts in HOME and reads ``~/.bash_profile`` first, as a login shell
  does. ``sudo -u ec2-user -i printenv HOME`` prints the fake home.
* ``systemctl``: appends its arguments to ``record/systemctl.log`` and exits 0.
* ``$ANACONDA_DIR/bin/conda``: ``create [--yes] [--quiet] (--prefix P | --name N) SPECS`` makes
  a real venv at P (``python -m venv --without-pip`` of the interpreter this ``.venv`` was made
  from; only that Python minor version is available) and records the specs in
  ``P/conda-meta/history``; ``install SPECS`` (into ``--prefix``/``--name`` or the active env)
  records them. Neither downloads anything: conda packages are recorded, never installed.
  ``create`` can be slowed down (:attr:`Host.conda_create_seconds`) to act like a real one.
* ``$ANACONDA_DIR/bin/activate``: ``source activate NAME|PREFIX`` sources that venv's
  ``bin/activate`` and defines the ``conda`` shell function, as conda's own does.

Python packages: every env made here (the built-in ones and those the ``conda`` stand-in
creates) gets a ``.pth`` file naming this ``.venv``'s site-packages, appended to ``sys.path``
after the env's own. That makes ``ipykernel`` (needed for a kernel) and ``pip`` importable
without a network. pip itself installs into the env it runs in (``sys.prefix``), so a package
pip installs lands in the env's own site-packages, where the tests look for it (pip sees
the .venv's packages as installed already: test packages must be ones it lacks). The user's
``~/.bash_profile`` (part of the simulated image, re-made by ``stop()``) exports
``PIP_NO_INDEX=1`` and ``PIP_FIND_LINKS=<wheelhouse>``: the real pip installs real wheels
(written by :func:`build_wheel` from the wheel spec: this .venv has no ``wheel`` package
for a build backend) offline, and a pip.conf written by package_index.sh never makes
pip look anything up (environment settings win over config files).

Detached steps outlive the script: :meth:`Host.wait` polls their log files for the
``step NAME: done|FAILED`` line and for their processes to end, with a bounded timeout.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

USER = "ec2-user"
#: PATH of a real notebook host's lifecycle scripts; the stand-ins go before it.
HOST_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"
#: The interpreter this .venv was made from; the simulated envs are venvs of it.
BASE_PYTHON = Path(getattr(sys, "_base_executable", sys.executable))
PY_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
#: This .venv's site-packages (ipykernel, pip, jupyter_client), shared through a .pth file.
HOST_SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
PTH_NAME = "_smc_harness_host_packages.pth"

SCRIPT_TIMEOUT = 300.0  # SageMaker's limit for one lifecycle script
DETACHED_TIMEOUT = 60.0
USER_COMMAND_TIMEOUT = 120.0

_STARTED = re.compile(r"step (\S+): started in the background; progress in (\S+)")
_PHASE = re.compile(r"^export SMC_PHASE=(\S+)$", re.M)


# --- packages --------------------------------------------------------------------------


def build_wheel(directory: Path, dist: str, version: str, module: str, source: str) -> Path:
    """Write a pure-Python wheel (one module) by the wheel spec, without a build backend.

    Returns the wheel's path. pip installs it like any other wheel.
    """
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


def make_env(prefix: Path, python: Path = BASE_PYTHON) -> None:
    """A real venv at ``prefix`` that can import this .venv's packages (after its own)."""
    subprocess.run(
        [str(python), "-m", "venv", "--without-pip", str(prefix)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    site = prefix / "lib" / f"python{PY_VERSION}" / "site-packages"
    (site / PTH_NAME).write_text(f"{HOST_SITE_PACKAGES}\n")


# --- stand-ins -------------------------------------------------------------------------

_SUDO = """\
#!/bin/bash
# Stand-in for sudo (tests/lifecycle/harness.py): runs the command as the current user, as
# NOTEBOOK_USER would run it: reset environment, HOME = the fake home; -i also starts in HOME
# and reads ~/.bash_profile first, as a login shell does.
set -euo pipefail
user=root
login=false
while [ $# -gt 0 ]; do
  case "$1" in
    -u) user="$2"; shift 2 ;;
    -i) login=true; shift ;;
    -H | -n) shift ;;
    --) shift; break ;;
    -*) echo "sudo (stand-in): unsupported option $1" >&2; exit 1 ;;
    *) break ;;
  esac
done
if [ "${user}" != @USER@ ]; then
  echo "sudo: unknown user ${user} (the stand-in knows only @USER@)" >&2
  exit 1
fi
if [ $# -eq 0 ]; then
  echo "sudo (stand-in): no command given" >&2
  exit 1
fi
home=@HOME@
if [ "${login}" = true ]; then
  cd "${home}"
fi
exec env -i HOME="${home}" USER="${user}" LOGNAME="${user}" SHELL=/bin/bash \\
  PATH=@PATH@ LANG=C.UTF-8 SUDO_USER=root SMC_SUDO_LOGIN="${login}" \\
  /bin/bash -c 'if [ "${SMC_SUDO_LOGIN}" = true ] && [ -f "${HOME}/.bash_profile" ]; then
  . "${HOME}/.bash_profile"
fi
unset SMC_SUDO_LOGIN
"$@"' sudo "$@"
"""

_SYSTEMCTL = """\
#!/bin/bash
# Stand-in for systemctl (tests/lifecycle/harness.py): records its arguments, succeeds.
printf '%s\\n' "$*" >> @RECORD@
"""

_ACTIVATE = """\
# Stand-in for conda's bin/activate (tests/lifecycle/harness.py), to be sourced:
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

_CONDA = '''\
#!@PYTHON@ -I
"""Stand-in for conda (tests/lifecycle/harness.py): create makes a real venv, install records."""
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # ANACONDA_DIR
PY_VERSION = "@PY_VERSION@"
SPEC = re.compile(r"([A-Za-z0-9_.-]+::)?([A-Za-z0-9][A-Za-z0-9._-]*)(={1,2}([A-Za-z0-9.+!_*-]+))?")


def fail(message, code=1):
    print(message, file=sys.stderr)
    sys.exit(code)


def parse(args):
    options, specs = {}, []
    it = iter(args)
    for arg in it:
        if arg in ("-y", "--yes", "-q", "--quiet"):
            options[arg.lstrip("-")[0]] = True
        elif arg in ("-p", "--prefix", "-n", "--name"):
            options[arg.lstrip("-")[0]] = next(it, None) or fail(f"conda: {arg} needs a value", 2)
        elif arg.startswith("-"):
            fail(f"conda (stand-in): unsupported option {arg}", 2)
        else:
            if not SPEC.fullmatch(arg):
                fail(f"InvalidMatchSpec: Invalid spec '{arg}'")
            specs.append(arg)
    if "p" in options:
        prefix = Path(options["p"])
    elif "n" in options:
        prefix = ROOT / "envs" / options["n"]
    else:
        prefix = None
    return options, prefix, specs


def record(command, prefix, specs):
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    with open(meta / "history", "a") as fh:
        fh.write(f"==> {datetime.now():%Y-%m-%d %H:%M:%S} <==\\n# cmd: conda {command}\\n")
        fh.write(f"# update specs: {specs!r}\\n")
    with open("@RECORD@", "a") as fh:
        fh.write(json.dumps({"command": command, "prefix": str(prefix), "specs": specs}) + "\\n")


def main(argv):
    if not argv:
        fail("usage: conda create|install ...", 2)
    command, args = argv[0], argv[1:]
    options, prefix, specs = parse(args)
    config_file = ROOT / ".simulated-conda.json"
    config = json.loads(config_file.read_text()) if config_file.exists() else {}
    if command == "create":
        if prefix is None:
            fail("conda create: give --prefix or --name", 2)
        python = [s for s in specs if SPEC.fullmatch(s).group(2) == "python"]
        version = SPEC.fullmatch(python[0]).group(4) if python else PY_VERSION
        if version != PY_VERSION and not version.startswith(PY_VERSION + "."):
            fail(f"PackagesNotFoundError: python={version} (the stand-in makes Python "
                 f"{PY_VERSION} environments only)")
        time.sleep(float(config.get("create_seconds", 0)))
        if prefix.exists():
            subprocess.run(["rm", "-rf", str(prefix)], check=True)
        subprocess.run(["@PYTHON@", "-m", "venv", "--without-pip", str(prefix)], check=True)
        site = prefix / "lib" / f"python{PY_VERSION}" / "site-packages"
        (site / "@PTH_NAME@").write_text("@HOST_SITE@\\n")
        record("create", prefix, specs)
        print(f"created environment {prefix}")
    elif command == "install":
        prefix = prefix or (Path(os.environ["CONDA_PREFIX"]) if os.environ.get("CONDA_PREFIX") else None)
        if prefix is None or not (prefix / "bin" / "python").exists():
            fail(f"EnvironmentLocationNotFound: Not a conda environment: {prefix}")
        if not specs:
            fail("conda install: no package specs given", 2)
        record("install", prefix, specs)
        print("Executing transaction: done")
    else:
        fail(f"conda (stand-in): unsupported command {command}", 2)


main(sys.argv[1:])
'''

_BASH_PROFILE = """\
# Simulated image (tests/lifecycle/harness.py): there is no network here; pip installs from
# the local wheelhouse only, whatever index a pip.conf names.
export PIP_NO_INDEX=1
export PIP_FIND_LINKS=@WHEELHOUSE@
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1
"""


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace(f"@{key}@", value)
    return template


def _write_executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


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


class Host:
    """A simulated notebook host under ``root``; see the module docstring for the layout."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
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
        self.wheelhouse = self.root / "wheelhouse"
        self.record_dir = self.root / "record"
        self.scripts_dir = self.root / "scripts"  # copies of what was run, for reading
        self.system_python = self.anaconda_dir / "envs" / "JupyterSystemEnv" / "bin" / "python"
        self._runs = 0
        self._build()

    # -- layout --

    def _build(self) -> None:
        for directory in (self.wheelhouse, self.record_dir, self.scripts_dir):
            directory.mkdir(parents=True, exist_ok=True)
        _write_executable(
            self.bin_dir / "sudo",
            _fill(_SUDO, USER=USER, HOME=str(self.home), PATH=f"{self.bin_dir}:{HOST_PATH}"),
        )
        _write_executable(
            self.bin_dir / "systemctl", _fill(_SYSTEMCTL, RECORD=str(self.systemctl_log))
        )
        self.metadata_file.parent.mkdir(parents=True, exist_ok=True)
        self.metadata_file.write_text(
            json.dumps(
                {
                    "ResourceName": "harness-notebook",
                    "ResourceArn": "arn:aws:sagemaker:eu-west-1:123456789012:"
                    "notebook-instance/harness-notebook",
                }
            )
        )
        self._boot_root_volume()

    def _boot_root_volume(self) -> None:
        """What a fresh root volume has: the user's home (without the volume) and anaconda."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / ".bash_profile").write_text(
            _fill(_BASH_PROFILE, WHEELHOUSE=str(self.wheelhouse))
        )
        (self.root / "root").mkdir(exist_ok=True)
        _write_executable(self.anaconda_dir / "bin" / "activate", _ACTIVATE)
        _write_executable(
            self.anaconda_dir / "bin" / "conda",
            _fill(
                _CONDA,
                PYTHON=str(BASE_PYTHON),
                PY_VERSION=PY_VERSION,
                PTH_NAME=PTH_NAME,
                HOST_SITE=str(HOST_SITE_PACKAGES),
                RECORD=str(self.record_dir / "conda.log"),
            ),
        )
        make_env(self.anaconda_dir / "envs" / "python3")
        # The system env has no .pth: no boto3, so nothing in it can reach AWS.
        subprocess.run(
            [str(BASE_PYTHON), "-m", "venv", "--without-pip", str(self.system_python.parents[1])],
            check=True,
            capture_output=True,
            timeout=60,
        )

    @property
    def systemctl_log(self) -> Path:
        return self.record_dir / "systemctl.log"

    @property
    def conda_create_seconds(self) -> float:
        config = self.anaconda_dir / ".simulated-conda.json"
        return json.loads(config.read_text())["create_seconds"] if config.exists() else 0.0

    @conda_create_seconds.setter
    def conda_create_seconds(self, seconds: float) -> None:
        """Make the simulated ``conda create`` take this long, like a real one (minutes)."""
        (self.anaconda_dir / ".simulated-conda.json").write_text(
            json.dumps({"create_seconds": seconds})
        )

    def add_wheel(self, dist: str, version: str, module: str, source: str) -> Path:
        """Make a package installable by pip on this host (from the wheelhouse)."""
        return build_wheel(self.wheelhouse, dist, version, module, source)

    def env(self, phase: str) -> dict[str, str]:
        """The environment a composed script of ``phase`` runs with on this host."""
        return {
            "PATH": f"{self.bin_dir}:{HOST_PATH}",
            "HOME": str(self.root / "root"),
            "USER": "root",
            "LOGNAME": "root",
            "LANG": "C.UTF-8",
            # host.sh
            "NOTEBOOK_USER": USER,
            "SAGEMAKER_DIR": str(self.sagemaker_dir),
            "ANACONDA_DIR": str(self.anaconda_dir),
            "SMC_METADATA_FILE": str(self.metadata_file),
            # runner.sh (SMC_WORK_DIR in its default shape, one per phase)
            "SMC_WORK_DIR": str(self.work_root / phase),
            "SMC_LOG_DIR": str(self.log_dir),
            "SMC_SYSTEM_PYTHON": str(self.system_python),
            # install_autostop.sh (the composed script does not set these: its defaults)
            "SYSTEMD_DIR": str(self.systemd_dir),
            "CRON_DIR": str(self.cron_dir),
            "AUTOSTOP_PYTHON": str(self.system_python),
            # Belt and braces: nothing here may reach AWS or a proxy.
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    # -- running scripts --

    def run(self, script: str, timeout: float = SCRIPT_TIMEOUT) -> Run:
        """Run a composed script unmodified, as SageMaker does (``bash FILE`` from ``/``).

        Returns when the script does; its detached steps go on (see :meth:`wait`).
        """
        match = _PHASE.search(script)
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

        The home (kernel specs, pip.conf), anaconda's built-in envs, /var and /etc are made
        fresh; SAGEMAKER_DIR (with the conda environments on it) stays.
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
        self, *command: str, timeout: float = USER_COMMAND_TIMEOUT, check: bool = True
    ) -> subprocess.CompletedProcess:
        """Run ``command`` as the notebook user (through the sudo stand-in, ``-i``)."""
        completed = subprocess.run(
            [str(self.bin_dir / "sudo"), "-u", USER, "-i", *command],
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

    def kernelspecs(self) -> dict[str, dict]:
        """``jupyter kernelspec list --json`` as the user (the real jupyter of this .venv)."""
        jupyter = Path(sys.executable).with_name("jupyter")
        listed = self.as_user(str(jupyter), "kernelspec", "list", "--json")
        return json.loads(listed.stdout)["kernelspecs"]

    def user_kernel_dir(self) -> Path:
        """Where ``ipykernel install --user`` writes kernel specs (jupyter's user data dir)."""
        return self.home / ".local" / "share" / "jupyter" / "kernels"

    def python_in(self, env_dir: Path, code: str) -> str:
        """Run ``code`` with the env's python as the user; returns its stdout."""
        return self.as_user(str(env_dir / "bin" / "python"), "-c", code).stdout

    def execute_in_kernel(self, kernel: str, code: str, timeout: float = 60.0) -> dict:
        """Start kernel spec ``kernel`` as the user (real jupyter_client), run ``code`` in it.

        Returns {"status": ..., "stdout": ...}.
        """
        driver = textwrap.dedent(
            """
            import json, sys
            from jupyter_client.manager import start_new_kernel
            km, kc = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=float(sys.argv[3]))
            out = []
            def hook(msg):
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])
            try:
                reply = kc.execute_interactive(sys.argv[2], timeout=float(sys.argv[3]),
                                               output_hook=hook)
            finally:
                kc.stop_channels()
                km.shutdown_kernel(now=True)
            print(json.dumps({"status": reply["content"]["status"], "stdout": "".join(out)}))
            """
        )
        completed = self.as_user(
            sys.executable, "-c", driver, kernel, code, str(timeout), timeout=timeout * 2 + 30
        )
        return json.loads(completed.stdout.strip().splitlines()[-1])

    def systemctl_calls(self) -> list[str]:
        if not self.systemctl_log.exists():
            return []
        return self.systemctl_log.read_text().splitlines()

    def conda_calls(self) -> list[dict]:
        log = self.record_dir / "conda.log"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def close(self) -> None:
        self.kill_processes()


# --- a local HTTP server ---------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:  # noqa: N802 - the http.server API
        self.server.requests.append(self.command)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        self.do_HEAD()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@dataclass
class LocalServer:
    url: str
    requests: list[str]  # the HTTP methods it was asked, in order


@contextmanager
def http_server() -> Iterator[LocalServer]:
    """A real HTTP server on 127.0.0.1 answering 200 to HEAD and GET."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalServer(f"http://127.0.0.1:{server.server_address[1]}/", server.requests)  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
