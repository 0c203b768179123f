#!@PYTHON@ -I
"""conda for the simulated notebook host (tests/lifecycle/harness.py), on py-rattler.

A real solver and installer, offline: channels come from the .condarc files conda reads
(``$CONDARC``, ``$HOME/.condarc``, ``<root>/.condarc``) or ``-c``; a channel that cannot be
reached, or a spec no channel can satisfy, fails as conda does (exit 1). Only Python itself
cannot come from a channel here: an environment's interpreter is a venv of the harness's
Python, and a solve that picks another Python minor version fails.
Commands: create (--prefix/-p | --name/-n), install (into -p/-n or the active env).
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import rattler
import rattler.exceptions
import yaml

ROOT = Path(__file__).resolve().parent.parent  # ANACONDA_DIR
PY_VERSION = "@PY_VERSION@"
PY_FULL = "@PY_FULL@"
PLATFORMS = ["linux-64", "noarch"]
DEFAULT_CHANNELS = ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]
CHANNEL_ALIAS = "https://conda.anaconda.org"
PIP_SCRIPT = """#!{python}
import sys
from pip._internal.cli.main import main
sys.exit(main())
"""


def fail(message, code=1):
    print(message, file=sys.stderr)
    sys.exit(code)


def condarc():
    """The merged settings of the .condarc files conda reads (later files win per key)."""
    settings = {}
    files = [ROOT / ".condarc", Path(os.path.expanduser("~/.condarc"))]
    if os.environ.get("CONDARC"):
        files.append(Path(os.environ["CONDARC"]))
    for path in files:
        if path.is_file():
            try:
                loaded = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as exc:
                fail(
                    f"ConfigurationLoadError: Unable to load configuration file.\n  path: {path}\n  reason: {exc}"
                )
            if not isinstance(loaded, dict):
                fail(f"ConfigurationLoadError: {path} is not a mapping")
            settings.update(loaded)
    return settings


def channel_urls(names, settings):
    alias = str(settings.get("channel_alias") or CHANNEL_ALIAS).rstrip("/")
    defaults = settings.get("default_channels")
    defaults = DEFAULT_CHANNELS if defaults is None else list(defaults)
    urls = []
    for name in names:
        name = str(name)
        expanded = defaults if name == "defaults" else [name]
        for item in expanded:
            urls.append(item if "://" in item else f"{alias}/{item}")
    return urls


def parse(args):
    options = {"channels": [], "override": False}
    specs = []
    it = iter(args)
    for arg in it:
        if arg in ("-y", "--yes", "-q", "--quiet"):
            continue
        if arg == "--override-channels":
            options["override"] = True
        elif arg in ("-p", "--prefix", "-n", "--name", "-c", "--channel"):
            value = next(it, None)
            if value is None:
                fail(f"conda: error: argument {arg}: expected one argument", 2)
            key = {"p": "prefix", "n": "name", "c": "channel"}[arg.lstrip("-")[0]]
            if key == "channel":
                options["channels"].append(value)
            else:
                options[key] = value
        elif arg.startswith("-"):
            fail(f"conda (harness): unsupported option {arg}", 2)
        else:
            specs.append(arg)
    if "prefix" in options:
        prefix = Path(options["prefix"])
    elif "name" in options:
        prefix = ROOT / "envs" / options["name"]
    else:
        prefix = None
    return options, prefix, specs


def channels_for(options):
    settings = condarc()
    names = list(options["channels"])
    if not options["override"]:
        names += list(settings.get("channels") or ["defaults"])
    return channel_urls(names, settings)


def record(command, prefix, specs, channels):
    with open(Path("@RECORD_DIR@") / "conda.log", "a") as fh:
        fh.write(
            json.dumps(
                {"command": command, "prefix": str(prefix), "specs": specs, "channels": channels}
            )
            + "\n"
        )


async def solve(channels, specs, installed):
    with tempfile.TemporaryDirectory(prefix="conda-repodata-") as cache:
        # A fresh repodata cache each time: a channel that is gone now fails now.
        gateway = rattler.Gateway(cache_dir=cache)
        try:
            return await rattler.solve(
                [rattler.Channel(url) for url in channels],
                specs,
                gateway=gateway,
                platforms=PLATFORMS,
                locked_packages=installed,
            )
        except rattler.exceptions.InvalidMatchSpecError as exc:
            fail(f"InvalidMatchSpec: {exc}")
        except rattler.exceptions.SolverError as exc:
            fail(f"LibMambaUnsatisfiableError: Encountered problems while solving:\n{exc}")
        except Exception as exc:  # GatewayError and friends: a channel not reachable
            fail(f"CondaHTTPError: HTTP 000 CONNECTION FAILED for one of {channels}\n{exc}")


def make_interpreter(prefix, records):
    python = [r for r in records if r.name.normalized == "python"]
    if not python:
        fail("conda (harness): the solution has no python; an environment needs one")
    version = str(python[0].version)
    if version.split(".")[:2] != PY_VERSION.split("."):
        fail(
            f"conda (harness): the channel's python {version} was chosen, but this "
            f"harness can only make Python {PY_VERSION} environments"
        )
    subprocess.run(["@PYTHON@", "-m", "venv", "--without-pip", str(prefix)], check=True)
    site = prefix / "lib" / f"python{PY_VERSION}" / "site-packages"
    (site / "@PTH_NAME@").write_text("@HOST_SITE@\n")
    # conda puts pip into every Python environment (add_pip_as_python_dependency).
    pip = prefix / "bin" / "pip"
    pip.write_text(PIP_SCRIPT.format(python=prefix / "bin" / "python"))
    pip.chmod(0o755)


def installed_records(prefix):
    meta = prefix / "conda-meta"
    return (
        [rattler.PrefixRecord.from_path(p) for p in sorted(meta.glob("*.json"))]
        if meta.is_dir()
        else []
    )


async def main(argv):
    delay = Path("@RECORD_DIR@") / "conda-seconds"
    if delay.exists():  # a real solve and download takes minutes; tests can ask for some
        time.sleep(float(delay.read_text()))
    if not argv:
        fail("usage: conda create|install ...", 2)
    command, args = argv[0], argv[1:]
    options, prefix, specs = parse(args)
    if command == "create":
        if prefix is None:
            fail("CondaValueError: one of --prefix or --name is required", 2)
        if not specs:
            fail("CondaValueError: no package specs given", 2)
        channels = channels_for(options)
        records = await solve(channels, specs, [])
        if prefix.exists():
            shutil.rmtree(prefix)
        make_interpreter(prefix, records)
    elif command == "install":
        if prefix is None and os.environ.get("CONDA_PREFIX"):
            prefix = Path(os.environ["CONDA_PREFIX"])
        if prefix is None or not (prefix / "bin" / "python").exists():
            fail(f"EnvironmentLocationNotFound: Not a conda environment: {prefix}")
        if not specs:
            fail("CondaValueError: no package specs given", 2)
        channels = channels_for(options)
        installed = installed_records(prefix)
        pins = (
            [] if any(r.name.normalized == "python" for r in installed) else [f"python={PY_FULL}"]
        )
        records = await solve(channels, specs + pins, installed)
    else:
        fail(f"conda (harness): unsupported command {command}", 2)
    await rattler.install(
        records,
        prefix,
        cache_dir=ROOT / "pkgs",
        installed_packages=installed_records(prefix),
        show_progress=False,
    )
    with open(prefix / "conda-meta" / "history", "a") as fh:
        fh.write(f"==> {datetime.now():%Y-%m-%d %H:%M:%S} <==\n# cmd: conda {' '.join(argv)}\n")
        fh.write(f"# update specs: {specs!r}\n")
    record(command, prefix, specs, channels)
    names = ", ".join(f"{r.name.normalized}-{r.version}" for r in records)
    print(f"Executing transaction: done ({names})")


try:
    asyncio.run(main(sys.argv[1:]))
    code = 0
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
# rattler's runtime threads can crash the interpreter's shutdown (a segfault after the
# work is done): leave without it.
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
