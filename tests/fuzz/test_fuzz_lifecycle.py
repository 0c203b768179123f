"""Fuzz NotebookLifecycleConfig scripts and NotebookSetup steps."""

from __future__ import annotations

import base64
import dataclasses
import re
from dataclasses import dataclass, field

import aws_cdk as cdk
import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st

from sagemaker_constructs import (
    BUILT_IN_KERNELS,
    MAX_BASE64_CHARS,
    CondaEnvironment,
    ConnectivityCheck,
    ConstructValidationError,
    CustomStep,
    IdleAutoStop,
    LifecycleScript,
    NotebookInstance,
    NotebookLifecycleConfig,
    NotebookSetup,
    PackageIndex,
    PackageInstall,
)
from tests.fuzz.support import (
    BAD,
    OK,
    Expectation,
    Tagged,
    any_,
    bad,
    bads,
    big_ints,
    check_construct,
    finite_floats,
    imported_vpc,
    new_stack,
    non_str_scalars,
    non_str_values,
    ok,
    oks,
)

STEP_END = "SMC_STEP_END"

# --- script text -----------------------------------------------------------------------

# Shell-ish lines: printable text without CR (CR is what the CRLF rule is about).
line_text = st.text(
    st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="\r"), max_size=40
)
script_lines = st.lists(line_text, min_size=1, max_size=6).map(
    lambda lines: "#!/bin/bash\n" + "\n".join(lines) + "\n"
)


@st.composite
def sized_script(draw: st.DrawFn) -> str:
    """A script near the 16 KB base64 limit (12,288 bytes), or far over it."""
    pad = draw(st.sampled_from(["x", "\u00e9", "\u20ac", "\U0001f600"]))  # 1 to 4 bytes
    target = draw(
        st.one_of(
            st.integers(12_270, 12_300),
            st.sampled_from([12_287, 12_288, 12_289]),
            st.integers(12_301, 60_000),
        )
    )
    head = "#!/bin/bash\n: '"
    count = max(0, (target - len(head.encode()) - 2) // len(pad.encode()))
    return head + pad * count + "'\n"


# Lone surrogates cannot be encoded (BUGS["surrogate"]); non-str text: BUGS["script_type"].
surrogates = st.characters(categories=["Cs"])
script_texts = st.one_of(
    script_lines,
    sized_script(),
    st.sampled_from(["", " ", "\n", "\t\n  \n", "#!/bin/bash\r\necho hi\r\n", "echo\r"]),
    script_lines.map(lambda s: s.replace("\n", "\r\n")),
    st.text(max_size=200),
    st.text(max_size=200).map(lambda s: s + "\x00\r\n"),
    st.tuples(script_lines, surrogates).map(lambda t: t[0] + t[1] + "\n"),
    st.sampled_from([5, None, b"#!/bin/bash\n", ["echo a"]]),
)


def base64_size(text: str) -> int:
    return 4 * -(-len(text.encode("utf-8")) // 3)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def script_problem(text: object, assets_ok: bool) -> bool:
    """Whether the documented rules reject ``text`` as a lifecycle script."""
    if not isinstance(text, str) or not _utf8(text):
        return True
    empty = not text.strip()
    crlf = any(line.endswith("\r") for line in text.split("\n"))
    oversize = base64_size(text) > MAX_BASE64_CHARS and not assets_ok
    return empty or crlf or oversize


# --- setup steps -----------------------------------------------------------------------
#
# Each field has a strategy of valid values and one mixing valid, invalid and random
# values; a step is drawn "tame" (valid fields) or "wild" (any field may be off).

ENV_NAME_RE = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}"
ENV_POOL = ("fraud-py311", "vision", "env.1")
valid_env_names = st.one_of(
    ok(st.from_regex(ENV_NAME_RE, fullmatch=True)), oks(*ENV_POOL, "e" * 64)
)
env_names = st.one_of(
    valid_env_names,
    bads("", "e" * 65, "-x", ".x", "_x", "a b", "\u00e9", "x/y", "x\n", "x;rm -rf /"),
    bads(*BUILT_IN_KERNELS, "JupyterSystemEnv"),
    any_(st.text(max_size=20)),
    bad(non_str_values),  # BUGS["script_type"]
)
valid_python_versions = st.one_of(
    oks("3.11", "3.10", "3.12", "3.9"), ok(st.from_regex(r"3\.[0-9]{1,2}", fullmatch=True))
)
python_versions = st.one_of(
    valid_python_versions,
    bads("", "3", "3.", "3.111", "2.7", "python3.11", " 3.11", "3.11\n", "3.x"),
    any_(st.text(max_size=8)),
    bads(3.11, 3, None),  # BUGS["script_type"]
)
SPEC_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,10}"
valid_pip_specs = st.one_of(
    ok(st.from_regex(SPEC_NAME + r"(\[[a-z0-9,]{1,8}\])?==[A-Za-z0-9.+!_-]{1,8}", fullmatch=True)),
    oks("pandas==2.2.3", "torch==2.5.1+cu121", "uvicorn[standard]==0.30.0"),
)
pip_specs = st.one_of(
    valid_pip_specs,
    bads(
        "",
        "pandas",
        "pandas>=2",
        "pandas == 2",
        "pandas==",
        "==1",
        "-e git+https://x",
        "pandas==2;python_version>'3'",
        "pandas==2 --index-url http://evil",
    ),
    any_(st.text(max_size=20)),
    bad(st.one_of(st.integers(), finite_floats)),
)
valid_conda_specs = st.one_of(
    ok(
        st.from_regex(
            r"([a-z-]{1,8}::)?" + SPEC_NAME + r"={1,2}[A-Za-z0-9.+!_*-]{1,8}", fullmatch=True
        )
    ),
    oks("numpy=1.26.4", "conda-forge::numpy=1.26.4", "numpy==1.*"),
)
conda_specs = st.one_of(
    valid_conda_specs,
    bads("", "numpy", "numpy>=1", "::numpy=1", "numpy=", "numpy =1"),
    any_(st.text(max_size=20)),
    bad(st.integers()),
)


@st.composite
def spec_lists(
    draw: st.DrawFn, specs: st.SearchStrategy, wild: bool
) -> tuple[object, list[Tagged] | None]:
    """A list (or tuple) of specs, or (wild) one string (or None, ...) instead of a list."""
    if wild and draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["pandas==2.2.3", "", None, 5, {"pandas": "2.2.3"}])), None
    items = draw(st.lists(specs, max_size=3))
    return draw(st.sampled_from([list, tuple]))(t.value for t in items), items


URL_HOST = r"[a-z0-9][a-z0-9.-]{0,20}(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]{0,20})?"
https_urls = st.one_of(
    ok(st.from_regex("https://" + URL_HOST, fullmatch=True)),
    oks(
        "https://pypi.org/simple/",
        "https://conda.anaconda.org/conda-forge",
        "https://x/$(reboot)",  # RFC 3986 allows $ ( ); the value is shell-quoted
    ),
)
http_urls = st.one_of(https_urls, ok(st.from_regex("http://" + URL_HOST, fullmatch=True)))
broken_urls = bads(
    "pypi.org",
    "ftp://pypi.org",
    "https://",
    "https://a b",
    "http:/x",
    "https://\u00e9.org",
    "https://x/\n",
    "HTTPS://PYPI.ORG",
)
valid_ca_domains = ok(st.from_regex(r"[a-z][a-z0-9-]{0,48}[a-z0-9]", fullmatch=True))
ca_domains = st.one_of(
    valid_ca_domains,
    bads("a", "A1", "1ab", "ab_c", "a" * 51, "", "ab-"),  # "ab-": BUGS["config_mirror_domain"]
    bad(non_str_scalars),  # BUGS["script_type"]
)
valid_ca_repositories = ok(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{1,99}", fullmatch=True))
ca_repositories = st.one_of(valid_ca_repositories, bads("a", "-ab", "a b", "r" * 101, ""))
valid_custom_texts = st.one_of(
    oks("echo hi", "pip list\nexit 0\n", "cat <<'EOF'\nx\nEOF\n"),
    # (hypothesis draws string constants of the code under test, such as the end marker)
    ok(script_lines.filter(lambda s: all(line.strip() != STEP_END for line in s.splitlines()))),
)
custom_texts = st.one_of(
    oks(None),
    valid_custom_texts,
    bads(
        "echo a\r\necho b",
        "echo\r",
        f"echo\n{STEP_END}\nreboot",
        f"  {STEP_END}  ",
        STEP_END,
    ),
    any_(st.text(max_size=80)),
    bad(st.tuples(line_text, surrogates).map("".join)),  # BUGS["surrogate"]
    bads(["echo a", "echo b"], 5, b"echo"),  # BUGS["script_type"]
)
wild_ints = st.one_of(st.integers(), big_ints, st.booleans())  # bools: BUGS["bool_ints"]
# Flags must be bools (BUGS["truthy_flags"]).
wild_flags = st.one_of(st.booleans(), st.sampled_from(["false", "no", 0, 1, None]))


@dataclass
class GenStep:
    """A generated step: the object, and its fields' verdicts (the rest: judged by the model)."""

    step: object
    verdicts: dict[str, str] = field(default_factory=dict)
    specs: dict[str, list[Tagged] | None] = field(default_factory=dict)


def _pick(draw: st.DrawFn, wild: bool, valid: st.SearchStrategy, anything: st.SearchStrategy):
    """A value of one field: of a wild step, each field is off half of the time."""
    return draw(anything if wild and draw(st.booleans()) else valid)


@st.composite
def conda_environments(draw: st.DrawFn, wild: bool) -> GenStep:
    name = _pick(draw, wild, valid_env_names, env_names)
    version = _pick(draw, wild, valid_python_versions, python_versions)
    conda, conda_items = draw(spec_lists(conda_specs if wild else valid_conda_specs, wild))
    pip, pip_items = draw(spec_lists(pip_specs if wild else valid_pip_specs, wild))
    step = CondaEnvironment(
        name=name.value,
        python_version=version.value,
        conda_packages=conda,
        pip_packages=pip,
        optional=_pick(draw, wild, st.booleans(), wild_flags),
    )
    return GenStep(
        step,
        {"name": name.verdict, "python_version": version.verdict},
        {"conda_packages": conda_items, "pip_packages": pip_items},
    )


@st.composite
def package_installs(draw: st.DrawFn, wild: bool) -> GenStep:
    valid_kernels = st.sampled_from(BUILT_IN_KERNELS + ENV_POOL)  # tame: set by setup_steps
    kernel = _pick(
        draw,
        wild,
        valid_kernels,
        st.one_of(
            valid_kernels,
            st.sampled_from(["julia", "", "Python3", "python3 "]),
            st.text(max_size=10),
            st.none(),
            st.integers(),
        ),
    )
    conda, conda_items = draw(spec_lists(conda_specs if wild else valid_conda_specs, wild))
    pip, pip_items = draw(spec_lists(pip_specs if wild else valid_pip_specs, wild))
    if not wild and not conda and not pip:
        pip, pip_items = ["requests==2.32.3"], [Tagged("requests==2.32.3", OK)]
    step = PackageInstall(
        kernel=kernel,
        pip_packages=pip,
        conda_packages=conda,
        optional=_pick(draw, wild, st.booleans(), wild_flags),
    )
    return GenStep(step, {}, {"conda_packages": conda_items, "pip_packages": pip_items})


@st.composite
def idle_auto_stops(draw: st.DrawFn, wild: bool) -> GenStep:
    idle = _pick(
        draw,
        wild,
        st.integers(5, 10_080),
        st.one_of(
            st.integers(5, 10_080),
            st.sampled_from([5, 10_080, 4, 10_081, 0, -1, True, False, None, "60", 60.0]),
            wild_ints,
        ),
    )
    interval = _pick(
        draw,
        wild,
        st.integers(1, 5),
        st.one_of(
            st.integers(1, 60),
            st.sampled_from([1, 60, 0, 61, -5, None, "5", 5.0]),
            wild_ints,
        ),
    )
    step = IdleAutoStop(
        idle_minutes=idle,
        check_interval_minutes=interval,
        ignore_connections=_pick(draw, wild, st.booleans(), wild_flags),
        optional=_pick(draw, wild, st.booleans(), wild_flags),
    )
    return GenStep(step)


@st.composite
def connectivity_checks(draw: st.DrawFn, wild: bool) -> GenStep:
    url = _pick(
        draw,
        wild,
        http_urls,
        st.one_of(
            http_urls,
            broken_urls,
            any_(st.text(max_size=30)),
            bad(st.one_of(st.none(), st.integers())),
        ),
    )
    timeout = _pick(
        draw,
        wild,
        st.integers(1, 30),
        st.one_of(st.integers(1, 30), st.sampled_from([1, 30, 0, 31, None, "5", 5.0]), wild_ints),
    )
    return GenStep(ConnectivityCheck(url=url.value, timeout_seconds=timeout), {"url": url.verdict})


optional_https_urls = st.one_of(
    oks(None),
    https_urls,
    broken_urls,
    bads("http://pypi.org/simple", ""),
    any_(st.text(max_size=30)),
    bad(non_str_scalars),  # BUGS["script_type"]
)


@st.composite
def package_indexes(draw: st.DrawFn, wild: bool) -> GenStep:
    if wild:
        pip_index_url = draw(optional_https_urls)
        domain = draw(st.one_of(oks(None), ca_domains))
        repository = draw(st.one_of(oks(None), ca_repositories))
        channel = draw(optional_https_urls)
    else:
        none = Tagged(None, OK)
        if draw(st.booleans()):
            pip_index_url, domain, repository = draw(https_urls), none, none
        else:
            pip_index_url = none
            domain, repository = draw(valid_ca_domains), draw(valid_ca_repositories)
        channel = draw(st.one_of(oks(None), https_urls))
    step = PackageIndex(
        pip_index_url=pip_index_url.value,
        code_artifact_domain=domain.value,
        code_artifact_repository=repository.value,
        conda_channel=channel.value,
        optional=_pick(draw, wild, st.booleans(), wild_flags),
    )
    verdicts = {
        "pip_index_url": pip_index_url.verdict,
        "code_artifact_domain": domain.verdict,
        "code_artifact_repository": repository.verdict,
        "conda_channel": channel.verdict,
    }
    return GenStep(step, verdicts)


@st.composite
def custom_steps(draw: st.DrawFn, wild: bool) -> GenStep:
    name = _pick(draw, wild, valid_env_names, st.one_of(env_names, bad(st.integers())))
    if name.value in (*BUILT_IN_KERNELS, "JupyterSystemEnv"):
        name = Tagged(name.value, OK)  # reserved for environments only
    if wild:
        on_create, on_start = draw(custom_texts), draw(custom_texts)
    else:
        none = Tagged(None, OK)
        on_create, on_start = draw(
            st.sampled_from(["create", "start", "both"]).flatmap(
                lambda which: st.tuples(
                    valid_custom_texts if which != "start" else st.just(none),
                    valid_custom_texts if which != "create" else st.just(none),
                )
            )
        )
    step = CustomStep(
        name=name.value,
        on_create=on_create.value,
        on_start=on_start.value,
        detached=_pick(draw, wild, st.booleans(), wild_flags),
        optional=_pick(draw, wild, st.booleans(), wild_flags),
    )
    return GenStep(
        step, {"name": name.verdict, "on_create": on_create.verdict, "on_start": on_start.verdict}
    )


not_steps = st.sampled_from(
    ["echo hi", 5, None, LifecycleScript.from_text("echo"), {"name": "x"}]
).map(GenStep)

STEP_KINDS = (
    conda_environments,
    package_installs,
    idle_auto_stops,
    connectivity_checks,
    package_indexes,
    custom_steps,
)


@st.composite
def setup_steps(draw: st.DrawFn, wild: bool) -> list[GenStep]:
    """Up to 5 steps; when ``wild``, up to two of them may have invalid fields.

    Tame steps are kept valid together too: unique environment names, one IdleAutoStop
    and one PackageIndex at most, kernels that exist.
    """
    count = draw(st.integers(1, 5) if not wild or draw(st.integers(0, 19)) else st.just(0))
    wild_ones = draw(st.sets(st.integers(0, count - 1), max_size=2)) if wild and count else set()
    gen: list[GenStep] = []
    for i in range(count):
        if i in wild_ones:
            if draw(st.integers(0, 9)) == 0:
                gen.append(draw(not_steps))
            else:
                gen.append(draw(st.sampled_from(STEP_KINDS).flatmap(lambda k: k(True))))
            continue
        g = draw(st.sampled_from(STEP_KINDS).flatmap(lambda k: k(False)))
        taken = [x.step for x in gen]
        if isinstance(g.step, IdleAutoStop | PackageIndex) and any(
            type(t) is type(g.step) for t in taken
        ):
            continue
        if isinstance(g.step, CondaEnvironment):
            names = [t.name for t in taken if isinstance(t, CondaEnvironment)]
            if g.step.name in names:
                g.step = dataclasses.replace(g.step, name=f"env-{i}")
        if isinstance(g.step, PackageInstall):
            envs = [
                t.name for t in taken if isinstance(t, CondaEnvironment) and isinstance(t.name, str)
            ]
            kernel = draw(st.sampled_from(BUILT_IN_KERNELS + tuple(envs)))
            g.step = dataclasses.replace(g.step, kernel=kernel)
        gen.append(g)
    return gen


# --- the model of the documented step rules --------------------------------------------


def _label(step: object) -> str:
    if isinstance(step, CondaEnvironment):
        return f"conda-environment:{step.name}"
    if isinstance(step, PackageInstall):
        return f"packages:{step.kernel}"
    if isinstance(step, CustomStep):
        return f"custom:{step.name}"
    labels = {
        IdleAutoStop: "idle-auto-stop",
        ConnectivityCheck: "connectivity-check",
        PackageIndex: "package-index",
    }
    return labels.get(type(step), type(step).__name__)


def _is_int(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def setup_expectation(gen: list[GenStep]) -> Expectation:
    """Which ``setup.steps[i] (<label>).<field>`` props must (or may) be flagged."""
    expected = Expectation(set(), set())
    all_steps = [g.step for g in gen]
    env_names_in_setup = [
        s.name for s in all_steps if isinstance(s, CondaEnvironment) and isinstance(s.name, str)
    ]
    seen_types: set[type] = set()
    seen_envs: list[str] = []
    for i, g in enumerate(gen):
        step = g.step

        def flag(attr: str, verdict: str = BAD, *, _i: int = i, _step: object = step) -> None:
            expected.field(f"setup.steps[{_i}] ({_label(_step)}).{attr}", verdict)

        def spec_list(attr: str, _g: GenStep = g, _step: object = step) -> None:
            items = _g.specs[attr]
            if items is None:  # one string instead of a list
                flag(attr)
                return
            for j, t in enumerate(items):
                flag(f"{attr}[{j}]", t.verdict)

        for attr in ("optional", "detached", "ignore_connections"):
            if hasattr(step, attr) and not isinstance(getattr(step, attr), bool):
                flag(attr)  # BUGS["truthy_flags"]
        if type(step) in (IdleAutoStop, PackageIndex):
            if type(step) in seen_types:
                flag("type")
            seen_types.add(type(step))
        if isinstance(step, CondaEnvironment):
            verdict = g.verdicts["name"]
            if verdict == OK and step.name in seen_envs:
                verdict = BAD  # a second environment of the same name
            flag("name", verdict)
            seen_envs.append(step.name)
            flag("python_version", g.verdicts["python_version"])
            spec_list("conda_packages")
            spec_list("pip_packages")
        elif isinstance(step, PackageInstall):
            if not isinstance(step.kernel, str) or (
                step.kernel not in BUILT_IN_KERNELS and step.kernel not in env_names_in_setup
            ):
                flag("kernel")
            if not step.pip_packages and not step.conda_packages:
                flag("pip_packages/conda_packages")
            spec_list("conda_packages")
            spec_list("pip_packages")
        elif isinstance(step, IdleAutoStop):
            if not _is_int(step.idle_minutes, 5, 10_080):
                flag("idle_minutes")
            interval = step.check_interval_minutes
            if not _is_int(interval, 1, 60) or (
                _is_int(step.idle_minutes, 5, 10_080) and step.idle_minutes < interval
            ):
                flag("check_interval_minutes")
        elif isinstance(step, ConnectivityCheck):
            flag("url", g.verdicts["url"])
            if not _is_int(step.timeout_seconds, 1, 30):
                flag("timeout_seconds")
        elif isinstance(step, PackageIndex):
            v = g.verdicts
            code_artifact = step.code_artifact_domain or step.code_artifact_repository
            if bool(step.pip_index_url) == bool(code_artifact):
                flag("pip_index_url/code_artifact_domain")
            if step.pip_index_url is not None:
                flag("pip_index_url", v["pip_index_url"])
            if code_artifact:
                flag(
                    "code_artifact_domain",
                    BAD if not step.code_artifact_domain else v["code_artifact_domain"],
                )
                flag(
                    "code_artifact_repository",
                    BAD if not step.code_artifact_repository else v["code_artifact_repository"],
                )
            if step.conda_channel is not None:
                flag("conda_channel", v["conda_channel"])
        elif isinstance(step, CustomStep):
            flag("name", g.verdicts["name"])
            if not step.on_create and not step.on_start:
                flag("on_create/on_start")
            for attr in ("on_create", "on_start"):
                if getattr(step, attr) is not None:
                    flag(attr, g.verdicts[attr])
        else:
            flag("type")
    return expected


# --- the property ---------------------------------------------------------------------

NAME_RE = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,40}"
valid_config_names = st.one_of(
    oks(None, "a" * 63, "team-1"),
    ok(st.from_regex(NAME_RE, fullmatch=True).filter(lambda s: len(s) <= 63)),
)
config_names = st.one_of(
    valid_config_names,
    bads("", "a" * 64, "-a", "a-", "a_b", "a b", "\u00e9", "a\n"),
    any_(st.text(max_size=70)),
    bad(st.integers()),
)

TOP_PROPS = {"on_create", "on_start", "on_create/on_start", "setup", "lifecycle_config_name"}
_STEP_PROP = re.compile(r"setup\.steps\[\d+\] \(.*\)\..+", re.S)


_SOURCE_PROP = re.compile(r"lifecycle_config\.setup\.steps\[\d+\] \([^)]*\)")


def _is_prop(name: str) -> bool:
    return (
        name in TOP_PROPS or bool(_STEP_PROP.fullmatch(name)) or bool(_SOURCE_PROP.fullmatch(name))
    )


WILD_FIELDS = ("kind", "scripts", "name")


@st.composite
def lifecycle_inputs(draw: st.DrawFn, focus: str) -> tuple[dict, dict, Expectation]:
    """Props of a NotebookLifecycleConfig; ``focus``: "scripts" or "steps" (of a setup)."""
    if focus == "steps":
        wild = {"steps"}
        kind = "setup"
    else:
        wild = draw(st.sets(st.sampled_from(WILD_FIELDS), max_size=3))
        kinds = ["scripts", "setup"]
        if "kind" in wild:
            kinds += ["both", "nothing", "steps-list"]
        kind = draw(st.sampled_from(kinds))
    expected = Expectation(set(), set())
    synthesizer = draw(st.sampled_from(["default", "default", "bootstrapless"]))
    allow_s3_asset = draw(st.sampled_from([True, True, False]))
    assets_ok = allow_s3_asset and synthesizer == "default"
    kwargs: dict = {"allow_s3_asset": allow_s3_asset}

    scripts: dict[str, object] = {}
    if kind in ("scripts", "both"):
        texts = script_texts if "scripts" in wild else st.one_of(script_lines, sized_script())
        # (a tame script over the size limit is still rejected without S3 assets)
        phases = draw(st.sampled_from([("on_create",), ("on_start",), ("on_create", "on_start")]))
        for phase in phases:
            scripts[phase] = draw(texts)
            if "scripts" in wild and scripts[phase] is not None and draw(st.integers(0, 9)) == 0:
                kwargs[phase] = scripts.pop(phase)  # not a LifecycleScript: BUGS["script_type"]
                expected.bad.add(phase)
            else:
                kwargs[phase] = LifecycleScript.from_text(scripts[phase])
    gen: list[GenStep] = []
    if kind == "steps-list":  # a list of steps, not a NotebookSetup
        kwargs["setup"] = [IdleAutoStop()]
        expected.bad.add("setup")
    if kind in ("setup", "both"):
        gen = draw(setup_steps("steps" in wild))
        kwargs["setup"] = NotebookSetup([g.step for g in gen])
        if kind == "both":
            expected.bad.add("setup")
        step_expected = setup_expectation(gen)
        expected.bad |= step_expected.bad
        expected.maybe |= step_expected.maybe
        if gen and not step_expected.bad and not assets_ok:
            # The composed scripts (of a setup that may be valid) can be over the limit.
            expected.maybe |= {"on_create", "on_start"}
    if kind == "nothing" or (kind == "setup" and not gen):
        expected.bad.add("on_create/on_start")
    for phase, text in scripts.items():
        if script_problem(text, assets_ok):
            expected.bad.add(phase)

    name = draw(config_names if "name" in wild else valid_config_names)
    kwargs["lifecycle_config_name"] = name.value
    expected.field("lifecycle_config_name", name.verdict)
    attach = draw(st.booleans())
    setup = kwargs.get("setup")
    if attach and isinstance(setup, NotebookSetup) and not expected.bad:
        # The notebook (in a VPC, no direct internet) rejects installing steps without a
        # package source; when the config itself may be rejected first, it may not get there.
        sourceless = {f"lifecycle_config.setup.{prop}" for prop, _, _ in setup.source_problems()}
        (expected.maybe if expected.maybe else expected.bad).update(sourceless)
    return kwargs, {"synthesizer": synthesizer, "attach": attach}, expected


def build_lifecycle(kwargs: dict, env: dict) -> cdk.Stack:
    synthesizer = cdk.BootstraplessSynthesizer() if env["synthesizer"] == "bootstrapless" else None
    stack = new_stack(synthesizer)
    lc = NotebookLifecycleConfig(stack, "Lifecycle", **kwargs)
    if env["attach"]:
        NotebookInstance(stack, "Notebook", vpc=imported_vpc(stack), lifecycle_config=lc)
    return stack


def _check(example) -> None:
    kwargs, env, expected = example
    note(f"expected invalid: {sorted(expected.bad)}; may be flagged: {sorted(expected.maybe)}")
    event(check_construct(lambda: build_lifecycle(kwargs, env), expected, _is_prop))


@given(lifecycle_inputs("scripts"))
def test_lifecycle_config_scripts_and_names(example):
    _check(example)


@given(lifecycle_inputs("steps"))
def test_notebook_setup_steps(example):
    _check(example)


def test_base64_size_model_matches_the_library():
    for text in ("", "a", "ab", "abc", "\u00e9" * 7, "\U0001f600" * 5):
        assert base64_size(text) == len(base64.b64encode(text.encode()).decode())


# --- regression tests for the bugs the fuzzing found (support.BUGS) -------------------


def _lifecycle_rejects(*props: str, **kwargs) -> None:
    with pytest.raises(ConstructValidationError) as err:
        NotebookLifecycleConfig(new_stack(), "Lifecycle", **kwargs)
    assert [p.prop for p in err.value.problems] == list(props), err.value


def _setup_rejects(prop: str, *steps) -> None:
    _lifecycle_rejects(f"setup.steps[0] ({_label(steps[0])}).{prop}", setup=NotebookSetup(steps))


@pytest.mark.parametrize(
    ("prop", "kwargs"),
    [
        ("on_start", {"on_start": "#!/bin/bash\necho plain str\n"}),
        ("on_create", {"on_create": LifecycleScript(text=5)}),
        ("setup", {"setup": [IdleAutoStop()]}),
    ],
    ids=["str-script", "int-text", "list-setup"],
)
def test_bug_8_wrong_types_of_scripts_are_rejected(prop, kwargs):
    _lifecycle_rejects(prop, **kwargs)


@pytest.mark.parametrize(
    ("prop", "step"),
    [
        ("on_start", CustomStep(name="x", on_start=["echo a", "echo b"])),
        ("python_version", CondaEnvironment(name="x", python_version=3.11)),
        ("name", CondaEnvironment(name=None)),
        ("pip_packages", CondaEnvironment(name="x", pip_packages=None)),
        ("pip_index_url", PackageIndex(pip_index_url=5)),
        (
            "code_artifact_domain",
            PackageIndex(code_artifact_domain=5, code_artifact_repository="ab"),
        ),
    ],
    ids=["list-custom", "float-python", "none-env-name", "none-pip-list", "int-url", "int-domain"],
)
def test_bug_8_wrong_types_of_step_fields_are_rejected(prop, step):
    _setup_rejects(prop, step)


@pytest.mark.parametrize(
    ("prop", "kwargs"),
    [
        ("on_start", {"on_start": LifecycleScript.from_text("#!/bin/bash\necho \ud800\n")}),
        (
            "setup.steps[0] (custom:x).on_start",
            {"setup": NotebookSetup([CustomStep(name="x", on_start="echo \udcff")])},
        ),
    ],
    ids=["script", "custom-step"],
)
def test_bug_9_lone_surrogates_are_rejected(prop, kwargs):
    _lifecycle_rejects(prop, **kwargs)


@pytest.mark.parametrize(
    ("prop", "step"),
    [
        ("check_interval_minutes", IdleAutoStop(check_interval_minutes=True)),
        (
            "timeout_seconds",
            ConnectivityCheck(url="https://pypi.org/simple/", timeout_seconds=True),
        ),
    ],
    ids=["check-interval", "timeout"],
)
def test_bug_10_bools_are_not_integers(prop, step):
    _setup_rejects(prop, step)


@pytest.mark.parametrize(
    ("prop", "step"),
    [
        ("ignore_connections", IdleAutoStop(ignore_connections="false")),
        ("optional", IdleAutoStop(optional="no")),
        ("detached", CustomStep(name="x", on_start="echo", detached="false")),
    ],
    ids=["ignore-connections", "optional", "detached"],
)
def test_bug_7_step_flags_must_be_bools(prop, step):
    _setup_rejects(prop, step)


@pytest.mark.parametrize("domain", ["ml-", "a-"])
def test_bug_18_code_artifact_domain_ends_with_a_letter_or_digit(domain):
    _setup_rejects(
        "code_artifact_domain",
        PackageIndex(code_artifact_domain=domain, code_artifact_repository="pypi"),
    )


def test_oversize_setup_in_a_bootstrapless_stack_names_the_script():
    """A plain example of the size rule the property relies on (no S3 asset possible)."""
    stack = new_stack(cdk.BootstraplessSynthesizer())
    big = CustomStep(name="big", on_start=": '" + "x" * 20_000 + "'")
    with pytest.raises(ConstructValidationError) as err:
        NotebookLifecycleConfig(stack, "Lifecycle", setup=NotebookSetup([big]))
    assert {p.prop for p in err.value.problems} == {"on_start"}
