"""Foreground time of the composed lifecycle scripts against SageMaker's 5-minute limit.

Usage (from the repository root)::

    .venv/bin/python benchmarks/lifecycle_foreground.py             # 5 runs
    .venv/bin/python benchmarks/lifecycle_foreground.py --runs 9 --conda-seconds 10

The scripts of a setup with every step type (PackageIndex, ConnectivityCheck, two
CondaEnvironments, PackageInstall into one of them and into the built-in python3 kernel,
IdleAutoStop, a detached CustomStep) run unmodified on the simulated notebook host of
``tests/lifecycle/harness.py`` (stand-ins for sudo, systemctl and conda only; real bash,
curl, pip, venv, ipykernel). Each run is one notebook's life:

1. *on-create, new notebook*: the on-create script on an empty volume; then at once
2. *on-start, first boot*: the on-start script, while on-create's detached steps run;
3. *on-start, after a stop*: after every detached step ended, a stop (the home and the
   built-in envs are fresh, the volume with its environments stays) and the on-start
   script again, which now registers the environments as kernels and restarts Jupyter.

Measured: wall time (``time.monotonic``) from starting ``bash SCRIPT`` to its exit, which
is what SageMaker holds against the limit; the detached steps go on after it and are not
part of it. The ConnectivityCheck targets a local HTTP server, so it answers at once: an
unreachable URL costs up to its ``timeout_seconds`` (at most 30) of foreground time. The
simulated ``conda create`` takes ``--conda-seconds``; a real one takes minutes, which only
the detached steps wait for.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from sagemaker_constructs.setup.notebook_setup import (  # noqa: E402
    CondaEnvironment,
    ConnectivityCheck,
    CustomStep,
    IdleAutoStop,
    NotebookSetup,
    PackageIndex,
    PackageInstall,
)
from tests.lifecycle.harness import PY_VERSION, Host, http_server  # noqa: E402

LIMIT_SECONDS = 300.0
ROWS = ("on-create, new notebook", "on-start, first boot", "on-start, after a stop")


def full_setup(url: str) -> NotebookSetup:
    return NotebookSetup(
        steps=[
            PackageIndex(
                pip_index_url="https://pypi.example.internal/simple/",
                conda_channel="https://conda.example.internal/main",
            ),
            ConnectivityCheck(url=url, timeout_seconds=5),
            CondaEnvironment(
                name="forecast",
                python_version=PY_VERSION,
                conda_packages=["numpy=1.26.4"],
                pip_packages=["bench-pkg==1.0.0"],
            ),
            CondaEnvironment(name="scratch", python_version=PY_VERSION, optional=True),
            PackageInstall(kernel="forecast", pip_packages=["bench-extra==1.0.0"]),
            PackageInstall(
                kernel="python3",
                pip_packages=["bench-extra==1.0.0"],
                conda_packages=["scipy=1.13.1"],
            ),
            IdleAutoStop(idle_minutes=60),
            CustomStep(name="warm-cache", on_start="sleep 2\necho cache warmed", detached=True),
        ]
    )


def one_life(host: Host, setup: NotebookSetup) -> dict[str, tuple[float, float]]:
    """(foreground s, all detached steps done after s) for each row."""
    create = host.run(setup.on_create_text())
    start = host.run(setup.on_start_text())
    host.wait(create, start)
    host.stop()
    later = host.run(setup.on_start_text())
    host.wait(later)
    results = {}
    for row, run in zip(ROWS, (create, start, later), strict=True):
        if run.returncode != 0:
            raise SystemExit(f"{row}: exit {run.returncode}\n{run.output}")
        results[row] = (run.elapsed, run.detached_elapsed or run.elapsed)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="notebook lives to measure")
    parser.add_argument(
        "--conda-seconds", type=float, default=3.0, help="simulated conda create time"
    )
    args = parser.parse_args(argv)

    measured: dict[str, list[tuple[float, float]]] = {row: [] for row in ROWS}
    with tempfile.TemporaryDirectory(prefix="lifecycle-bench-") as tmp, http_server() as server:
        host = Host(Path(tmp))
        try:
            host.add_wheel("bench-pkg", "1.0.0", "bench_pkg", "VALUE = 1\n")
            host.add_wheel("bench-extra", "1.0.0", "bench_extra", "VALUE = 2\n")
            setup = full_setup(server.url)
            sizes = len(setup.on_create_text()), len(setup.on_start_text())
            for n in range(args.runs):
                host.new_notebook()
                host.conda_create_seconds = args.conda_seconds
                started = time.monotonic()
                for row, values in one_life(host, setup).items():
                    measured[row].append(values)
                print(
                    f"run {n + 1}/{args.runs}: {time.monotonic() - started:.1f} s", file=sys.stderr
                )
        finally:
            host.close()

    print(
        f"Foreground wall time of the composed scripts, median of {args.runs} runs "
        f"(min-max), every step type, simulated host (tests/lifecycle/harness.py); "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; scripts "
        f"{sizes[0]} and {sizes[1]} bytes; simulated conda create {args.conda_seconds:g} s.\n"
    )
    print("| script | foreground s | of the 300 s limit | detached steps done after s |")
    print("|---|---:|---:|---:|")
    for row in ROWS:
        fg = [f for f, _ in measured[row]]
        done = [d for _, d in measured[row]]
        median = statistics.median(fg)
        print(
            f"| {row} | {median:.2f} ({min(fg):.2f}-{max(fg):.2f}) "
            f"| {median / LIMIT_SECONDS:.2%} | {statistics.median(done):.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
