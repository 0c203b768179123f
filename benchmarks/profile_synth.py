"""Where one synth of the benchmark app spends its time: cProfile and jsii round trips.

Usage (from the repository root)::

    .venv/bin/python benchmarks/profile_synth.py --teams 100                # library + packs
    .venv/bin/python benchmarks/profile_synth.py --teams 1 --variant l1 --top 30

It builds the same app as ``benchmarks/synth_scale.py`` (same config, same variants) once
in this process and prints:

* the number of jsii kernel requests (Python -> node messages, callbacks answered
  included) by kind, and by the first frame outside jsii and aws-cdk-lib's generated
  bindings that caused them (the library's or the app's own code), with counts per
  phase: *build* (constructing the constructs) and *synth* (``app.synth()``: aspects,
  validation plugins, template writing);
* the top functions of a cProfile run of the same synth, by cumulative and by own time;
* with ``--node-profile``, the same for the jsii kernel (the node process that holds the
  constructs): it is started with ``--cpu-prof`` through a ``JSII_NODE`` wrapper, stopped
  after synth so that it writes its profile, and the profile is summed per function
  (own time, and inclusive time counting each function once per sample). The kernel's
  time waiting for Python's next request shows as ``readSync``.

The request counter wraps the jsii runtime's private ``_NodeProcess.send`` for the
measurement only; timing figures come from ``synth_scale.py`` (this script's profiler
and counter slow the run down).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth_scale  # noqa: E402

ROOT = synth_scale.ROOT
# Frames from these directories are the bridge, not the cause of a round trip.
BRIDGE_PARTS = ("/jsii/", "/aws_cdk/", "/constructs/", "/cdk_nag/", "/typeguard/", "/attr/")


class RoundTrips:
    """Counts jsii requests by kind and by the nearest non-bridge Python frame."""

    def __init__(self) -> None:
        self.phase = "build"
        self.kinds: Counter[tuple[str, str]] = Counter()
        self.callers: Counter[tuple[str, str]] = Counter()

    def install(self) -> None:
        from jsii._kernel.providers import process

        original = process._NodeProcess.send
        counter = self

        def send(self: Any, request: Any, response_type: Any) -> Any:
            counter.record(type(request).__name__)
            return original(self, request, response_type)

        process._NodeProcess.send = send  # type: ignore[method-assign]

    def record(self, kind: str) -> None:
        self.kinds[(self.phase, kind)] += 1
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if not any(part in name for part in BRIDGE_PARTS) and name != __file__:
                break
            frame = frame.f_back  # type: ignore[assignment]
        where = "(node callback)" if frame is None else _where(frame)
        self.callers[(self.phase, where)] += 1

    def report(self, top: int) -> str:
        lines = []
        for phase in ("build", "synth"):
            total = sum(n for (p, _), n in self.kinds.items() if p == phase)
            kinds = ", ".join(
                f"{kind.removesuffix('Request')} {n}"
                for (p, kind), n in self.kinds.most_common()
                if p == phase
            )
            lines.append(f"jsii requests, {phase}: {total} ({kinds})")
            callers = [(w, n) for (p, w), n in self.callers.most_common() if p == phase]
            lines.extend(f"  {n:>7}  {where}" for where, n in callers[:top])
        return "\n".join(lines)


def _where(frame: Any) -> str:
    path = Path(frame.f_code.co_filename)
    try:
        shown = path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        shown = path.name
    return f"{shown}:{frame.f_lineno} {frame.f_code.co_name}"


def node_wrapper(directory: Path) -> Path:
    """A ``node`` that writes a CPU profile into ``directory`` (jsii's JSII_NODE)."""
    wrapper = directory / "node-cpu-prof"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'exec node --cpu-prof --cpu-prof-dir="{directory}" --cpu-prof-interval=2000 "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    return wrapper


def summarize_node_profile(path: Path, top: int) -> str:
    """Own and inclusive time per function of one ``.cpuprofile`` (V8's JSON format)."""
    profile = json.loads(path.read_text(encoding="utf-8"))
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", [])}

    def name(node: dict[str, Any]) -> str:
        frame = node["callFrame"]
        url = frame["url"]
        url = url[url.find("node_modules/") + 13 :] if "node_modules/" in url else Path(url).name
        return f"{frame['functionName'] or '(anonymous)'} {url}:{frame['lineNumber']}"

    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    deltas = profile["timeDeltas"][1:] + [0]
    for sample, delta in zip(profile["samples"], deltas, strict=True):
        own[name(nodes[sample])] += delta
        seen: set[str] = set()
        current: int | None = sample
        while current is not None:
            seen.add(name(nodes[current]))
            current = parent.get(current)
        for function in seen:
            inclusive[function] += delta
    total = sum(deltas) / 1e6
    lines = [f"node profile {path.name}: {total:.2f} s sampled"]
    for title, counts in (("inclusive", inclusive), ("own", own)):
        lines.append(f"--- node, by {title} time (s, share of the kernel's sampled time)")
        for function, micros in counts.most_common(top):
            lines.append(f"  {micros / 1e6:7.2f} {micros / 1e6 / total:6.1%}  {function[:140]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--teams", type=int, default=1)
    parser.add_argument("--variant", choices=list(synth_scale.VARIANTS), default="library")
    parser.add_argument("--top", type=int, default=25, help="rows per listing")
    parser.add_argument("--no-profile", action="store_true", help="count requests only")
    parser.add_argument("--pstats", type=Path, help="also write the cProfile data here")
    parser.add_argument(
        "--node-profile", type=Path, metavar="DIR", help="profile the jsii kernel into DIR"
    )
    args = parser.parse_args(argv)
    if args.node_profile:
        args.node_profile = args.node_profile.resolve()
        args.node_profile.mkdir(parents=True, exist_ok=True)
        os.environ["JSII_NODE"] = str(node_wrapper(args.node_profile))

    config_data = synth_scale.make_config(args.teams)
    context, version_reporting = synth_scale.cdk_settings()
    import aws_cdk as cdk

    if args.variant == synth_scale.L1_ONLY:

        def build(app: cdk.App) -> None:
            synth_scale.build_l1_app(app, config_data)
    else:
        sys.path.insert(0, str(ROOT))
        from sagemaker_constructs.governance import register_compliance_checks
        from stacks import build_app, parse_config

        config = parse_config(config_data, "<generated>")

        def build(app: cdk.App) -> None:
            build_app(app, config)
            if args.variant == synth_scale.LIBRARY:
                register_compliance_checks(app)

    trips = RoundTrips()
    trips.install()
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="profile-synth-") as outdir:
        start = time.perf_counter()
        if not args.no_profile:
            profiler.enable()
        app = cdk.App(context=context, outdir=outdir, analytics_reporting=version_reporting)
        build(app)
        built = time.perf_counter()
        trips.phase = "synth"
        app.synth()
        profiler.disable()
        done = time.perf_counter()
    print(
        f"{args.teams} teams, {synth_scale.VARIANTS[args.variant]}: build {built - start:.2f} s, "
        f"synth {done - built:.2f} s (under the profiler and counter)"
    )
    print(trips.report(args.top))
    if not args.no_profile:
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats(order).print_stats(args.top)
            print(f"\n--- cProfile by {order}")
            print(out.getvalue().split("ncalls", 1)[-1].rstrip())
        if args.pstats:
            profiler.dump_stats(args.pstats)
    if args.node_profile:
        from jsii._runtime import kernel

        before = set(args.node_profile.glob("*.cpuprofile"))
        kernel.provider._process.stop()  # the kernel writes its profile as it exits
        written = sorted(set(args.node_profile.glob("*.cpuprofile")) - before)
        # The largest profile is the kernel's; the other is jsii's small launcher.
        if written:
            biggest = max(written, key=lambda p: p.stat().st_size)
            print()
            print(summarize_node_profile(biggest, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
