"""Hypothesis profiles for the fuzz suite.

* ``ci``: 100 examples per property, no deadline, derandomized (the same examples on
  every run, so a CI failure reproduces locally with ``HYPOTHESIS_PROFILE=ci``). 300 cost
  about 4 minutes of the 2-core machine's time, the largest part of the suite, and the
  same fixed examples every run: the hunt for new bugs is ``thorough``'s job.
* ``dev``: 50 examples per property, random, with the example database in ``.hypothesis/``.
* ``thorough``: 2000 random examples per property, to hunt for bugs (about 18 minutes for
  test_fuzz_config.py alone; a Studio property takes ~0.6 s an example, so run those one
  property at a time).

The Studio properties (test_fuzz_studio*.py) synthesize a whole domain per example: under
``dev`` they draw 15 examples each (``studio_strategies.studio_settings``).

``HYPOTHESIS_PROFILE`` picks one explicitly; otherwise ``ci`` when ``CI`` is set (CI runs
with ``CI=true``), else ``dev``. Loading a profile sets hypothesis's default settings for
the whole test session.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

# Generating a whole construct or config per example is slow by hypothesis's standards,
# and some strategies build long scripts or many tags on purpose.
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
# No "explain" phase: it re-runs a failing example hundreds of times (minutes here).
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_SUPPRESSED,
    phases=_PHASES,
)
settings.register_profile(
    "dev",
    max_examples=50,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SUPPRESSED,
    phases=_PHASES,
)

# For hunting bugs locally (not in CI): many random examples.
settings.register_profile(
    "thorough",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SUPPRESSED,
    phases=_PHASES,
)


def _profile_name() -> str:
    explicit = os.environ.get("HYPOTHESIS_PROFILE", "").strip()
    if explicit:
        return explicit
    ci = os.environ.get("CI", "").strip().lower()
    return "ci" if ci not in {"", "0", "false", "no"} else "dev"


settings.load_profile(_profile_name())


def pytest_terminal_summary(terminalreporter) -> None:
    """How many templates cfn-lint checked, and how many identical ones it was spared."""
    from tests.fuzz.support import LINT_STATS

    if LINT_STATS["linted"] or LINT_STATS["cached"]:
        terminalreporter.write_line(
            f"fuzz: profile {settings.default.max_examples} examples/property; cfn-lint ran on "
            f"{LINT_STATS['linted']} templates, {LINT_STATS['cached']} more were identical"
        )
