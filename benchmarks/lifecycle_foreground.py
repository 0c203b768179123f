"""Foreground time of the composed lifecycle scripts against SageMaker's 5-minute limit.

Usage (from the repository root)::

    .venv/bin/python benchmarks/lifecycle_foreground.py             # 5 runs
    .venv/bin/python benchmarks/lifecycle_foreground.py --runs 9 --conda-seconds 10

Run it as root (the strict harness uses a real ec2-user account and the real sudo). The
scripts of a setup with every step type (PackageIndex on a CodeArtifact repository and a
conda channel, ConnectivityCheck, two CondaEnvironments, PackageInstall into one of them
and into the built-in python3 kernel, IdleAutoStop, a detached CustomStep) run unmodified
on the strict notebook host of ``tests/lifecycle/harness.py``: real sudo and ec2-user,
conda solving and installing with py-rattler from a channel on 127.0.0.1, pip reading the
scripts' pip.conf against a local index with tokens from the CodeArtifact stand-in; only
systemctl is a stand-in. Each run is one notebook's life:

1. *on-create, new notebook*: the on-create script on an empty volume; then at once
2. *on-start, first boot*: the on-start script, while on-create's detached steps run;
3. *on-start, after a stop*: after every detached step ended, a stop (the home and the
   built-in envs are fresh, the volume with its environments stays) and the on-start
   script again, which registers the environments as kernels again (Jupyter is not
   restarted: the kernels are those of the previous start).

Measured: wall time (``time.monotonic``) from starting ``bash SCRIPT`` to its exit, which
is what SageMaker holds against the limit; the detached steps go on after it and are not
part of it. The ConnectivityCheck targets a local HTTP server, so it answers at once: an
unreachable URL costs up to its ``timeout_seconds`` (at most 30) of foreground time. Each
``conda`` command takes ``--conda-seconds`` more than its (sub-second) local solve and
install; a real one takes minutes, which only the detached steps wait for.
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
from tests.lifecycle.harness import (  # noqa: E402
    ACCOUNT,
    PY_VERSION,
    Host,
    Package,
    PackageServers,
    http_server,
    not_root_reason,
)

LIMIT_SECONDS = 300.0
ROWS = ("on-create, new notebook", "on-start, first boot", "on-start, after a stop")


def full_setup(url: str, channel: str) -> NotebookSetup:
    return NotebookSetup(
        steps=[
            PackageIndex(
                code_artifact_domain="bench", code_artifact_repository="pypi", conda_channel=channel
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

    reason = not_root_reason()
    if reason:
        raise SystemExit(reason)
    measured: dict[str, list[tuple[float, float]]] = {row: [] for row in ROWS}
    packages = [
        Package("bench-pkg", "1.0.0", "bench_pkg"),
        Package("bench-extra", "1.0.0", "bench_extra"),
        Package("numpy", "1.26.4", "numpy", wheel=False, conda=True),
        Package("scipy", "1.13.1", "scipy", wheel=False, conda=True),
    ]
    with tempfile.TemporaryDirectory(prefix="lifecycle-bench-") as tmp, http_server() as server:
        sources = PackageServers(Path(tmp), packages)
        sources.add_repository("bench", ACCOUNT, "pypi")
        host = Host(packages=sources)
        try:
            setup = full_setup(server.url, sources.channel.url)
            sizes = len(setup.on_create_text() or ""), len(setup.on_start_text() or "")
            for n in range(args.runs):
                host.new_notebook()
                host.conda_seconds = args.conda_seconds
                started = time.monotonic()
                for row, values in one_life(host, setup).items():
                    measured[row].append(values)
                print(
                    f"run {n + 1}/{args.runs}: {time.monotonic() - started:.1f} s", file=sys.stderr
                )
        finally:
            host.close()
            sources.close()

    print(
        f"Foreground wall time of the composed scripts, median of {args.runs} runs "
        f"(min-max), every step type, strict notebook host (tests/lifecycle/harness.py); "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; scripts "
        f"{sizes[0]} and {sizes[1]} bytes; each conda command {args.conda_seconds:g} s slower.\n"
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
