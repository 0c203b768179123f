"""Studio start scripts executed as sagemaker-user on a simulated Studio host.

The example app's scripts run unmodified (synthesized once per session, taken from the
Studio stack's template); the harness is tests/lifecycle/studio_host.py. Expected values
come from config/teams.yaml read as plain YAML and from docs/studio.md's facts, not from
the code under test.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sagemaker_constructs import CustomStep, PackageIndex, PackageInstall, StudioSetup
from tests.conftest import EXAMPLE_CONFIG
from tests.lifecycle.studio_host import (
    DOMAIN_ID,
    SPACE,
    STUDIO_LOG_GROUP,
    USER,
    CodeArtifact,
    Moto,
    StudioHost,
)

CONFIG = yaml.safe_load(EXAMPLE_CONFIG.read_text())
MIRROR = CONFIG["platform"]["package_mirror"]
STUDIO_PACKAGES = [
    spec
    for item in CONFIG["platform"]["studio"]["setup"]["packages"]
    for spec in item["pip_packages"]
]
# The kernel the docs promise for PackageInstall(kernel="python3") in Studio.
KERNEL = "python3-packages"
ENV_DIR = ".sagemaker-constructs/envs/python3"

KERNEL_RUN = """
import json, sys
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=60)
out = []
def hook(msg):
    if msg["msg_type"] == "stream":
        out.append(msg["content"]["text"])
    elif msg["msg_type"] == "error":
        out.append("ERROR " + msg["content"]["ename"] + ": " + msg["content"]["evalue"])
try:
    kc.execute_interactive(sys.argv[2], timeout=120, output_hook=hook)
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
print(json.dumps("".join(out)))
"""


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    server = Moto(tmp_path_factory.mktemp("studio-moto") / "moto.log")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def studio_scripts(example) -> dict[str, str]:
    """The example app's Studio start scripts by app type, as deployed (base64-decoded)."""
    template = example.template_json(f"{CONFIG['platform']['prefix']}-studio")
    scripts = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::SageMaker::StudioLifecycleConfig":
            props = resource["Properties"]
            scripts[props["StudioLifecycleConfigAppType"]] = base64.b64decode(
                props["StudioLifecycleConfigContent"]
            ).decode()
    assert set(scripts) == {"JupyterLab", "CodeEditor"}
    return scripts


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[CodeArtifact]:
    """The platform mirror of the example config, serving test wheels of its Studio packages."""
    stand_in = CodeArtifact(MIRROR["domain"], MIRROR["repository"])
    for spec in STUDIO_PACKAGES:
        name, version = spec.split("==")
        stand_in.add_wheel(tmp_path / "wheels", name, version, name.replace("-", "_"))
    stand_in.add_wheel(tmp_path / "wheels", "later-added", "2.0", "later_added")
    try:
        yield stand_in
    finally:
        stand_in.close()


@pytest.fixture
def host(moto: Moto, mirror: CodeArtifact) -> Iterator[StudioHost]:
    moto.reset()
    studio = StudioHost(moto, mirror)
    try:
        yield studio
    finally:
        studio.close()


def module_of(spec: str) -> str:
    return spec.split("==")[0].replace("-", "_")


def in_kernel(host: StudioHost, code: str) -> str:
    """Run code in a real kernel started from the user's kernel spec, as the server would."""
    result = host.as_user([str(host.python), "-c", KERNEL_RUN, KERNEL, code], timeout=180)
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout.strip().splitlines()[-1]))


# --- the example app's script ----------------------------------------------------------------


def test_example_studio_script_runs_as_sagemaker_user(host, mirror, studio_scripts):
    # The user's own settings, on the volume before the first start.
    host.write_home_file(".config/pip/pip.conf", "[global]\ntimeout = 42\n[list]\nformat = json\n")
    image_before = host.image_digest()

    run = host.start(studio_scripts["JupyterLab"])

    assert run.returncode == 0, run.output
    assert run.seconds < 30, "the foreground part must stay far from the 5-minute limit"
    # It ran as the app user: what it wrote on the volume is the user's.
    pip_conf = host.home / ".config" / "pip" / "pip.conf"
    env_dir = host.home / ENV_DIR
    assert pip_conf.stat().st_uid == host.user.pw_uid
    assert env_dir.stat().st_uid == host.user.pw_uid
    assert oct(pip_conf.stat().st_mode & 0o777) == "0o600"  # it holds a token
    # pip.conf: the mirror with a token the stand-in issued, the user's settings kept.
    text = pip_conf.read_text()
    assert f"@127.0.0.1:{mirror.port}/{MIRROR['domain']}/{MIRROR['repository']}/simple/" in text
    assert any(f"aws:{token}@" in text for token in mirror.tokens)
    assert "timeout = 42" in text and "[list]" in text and "format = json" in text
    # No internet: the example's connectivity check reports it and the start goes on.
    assert "NOT reachable" in run.output
    # The packages step ran detached and installed from the mirror.
    (name,) = run.detached
    assert f"step {name}: done" in run.detached[name], run.detached[name]
    assert any("/simple/" in r for r in mirror.index_requests)
    # The server's environment is exactly the image's: nothing installed into it.
    assert host.image_digest() == image_before
    for spec in STUDIO_PACKAGES:
        probe = host.as_user([str(host.python), "-c", f"import {module_of(spec)}"])
        assert probe.returncode != 0, f"{spec} must not be importable by the server"
    # The kernel is registered and its packages import inside a real kernel, from the env.
    specs = host.as_user(
        [
            str(host.python),
            "-c",
            "import json; from jupyter_client.kernelspec import KernelSpecManager as K;"
            "print(json.dumps(sorted(K().find_kernel_specs())))",
        ]
    )
    assert KERNEL in json.loads(specs.stdout), specs.stderr
    code = "; ".join(
        f"import {module_of(s)}; print({module_of(s)}.__file__)" for s in STUDIO_PACKAGES
    )
    output = in_kernel(host, code)
    assert output.count(str(env_dir)) == len(STUDIO_PACKAGES), output
    # CloudWatch: the detached step's output in its own stream of the Studio group.
    streams = host.log_events(f"{DOMAIN_ID}/{SPACE}/JupyterLab/default/")
    own = [s for s in streams if s.endswith(name) and "sagemaker-constructs" in s]
    assert own, sorted(streams)
    assert any(f"step {name}: done" in m for m in streams[own[0]])


def test_second_start_installs_nothing_and_keeps_the_kernel(host, mirror, studio_scripts):
    first = host.start(studio_scripts["JupyterLab"])
    assert first.returncode == 0, first.output
    (name,) = first.detached
    requests_after_first = len(mirror.index_requests)
    assert requests_after_first > 0

    host.restart()  # everything outside the home is the image again
    second = host.start(studio_scripts["JupyterLab"])

    assert second.returncode == 0, second.output
    assert "nothing installed" in second.detached[name], second.detached[name]
    assert "Successfully installed" not in second.detached[name]
    assert len(mirror.index_requests) == requests_after_first  # not one request to the index
    code = f"import {module_of(STUDIO_PACKAGES[0])}; print('ok')"
    assert "ok" in in_kernel(host, code)


def test_pip_in_the_kernel_installs_into_its_environment(host, mirror, studio_scripts):
    assert host.start(studio_scripts["JupyterLab"]).returncode == 0
    output = in_kernel(
        host,
        "%pip install --quiet later-added==2.0\nimport later_added; print(later_added.__file__)",
    )
    assert str(host.home / ENV_DIR) in output, output
    # `!pip` finds the environment's pip first on the kernel's PATH.
    output = in_kernel(host, "!which pip")
    assert output.strip() == str(host.home / ENV_DIR / "bin" / "pip"), output


def test_run_as_root_the_volume_still_gets_only_the_users_files(host, mirror, studio_scripts):
    # AWS does not say who runs a Studio script; as root, the fragments switch to the user.
    run = host.start(studio_scripts["JupyterLab"], as_root=True)
    assert run.returncode == 0, run.output
    assert all("done" in log for log in run.detached.values()), run.detached
    logs = host.home / ".sagemaker-constructs" / "logs"
    root_owned = [p for p in [host.home, *host.home.rglob("*")] if p.lstat().st_uid == 0]
    # Only the detached steps' log files (written by the runner, as root) are root's, in a
    # folder of the user, who can therefore remove them; everything the steps made is hers.
    assert root_owned and all(p.parent == logs for p in root_owned), root_owned
    assert logs.stat().st_uid == host.user.pw_uid
    code = f"import {module_of(STUDIO_PACKAGES[0])}; print('ok')"
    assert "ok" in in_kernel(host, code)


def test_code_editor_script_runs_too(moto, mirror, studio_scripts):
    moto.reset()
    host = StudioHost(moto, mirror, app_type="CodeEditor")
    try:
        run = host.start(studio_scripts["CodeEditor"])
        assert run.returncode == 0, run.output
        assert all("done" in log for log in run.detached.values()), run.detached
        assert host.log_events(f"{DOMAIN_ID}/{SPACE}/CodeEditor/default/sagemaker-constructs/")
    finally:
        host.close()


# --- settings merged, not replaced --------------------------------------------------------------


def test_user_pip_and_conda_settings_are_merged(host, mirror):
    mirror.require_token = False
    index = f"{mirror.url}{mirror.index_path}"
    channel = "file:///home/sagemaker-user/channel"
    host.write_home_file(
        ".condarc", "channels:\n  - conda-forge\nenvs_dirs:\n  - ~/.conda/envs\nalways_yes: true\n"
    )
    host.write_home_file(
        ".config/pip/pip.conf", "[global]\nindex-url = https://old/\ntimeout = 9\n"
    )
    setup = StudioSetup([PackageIndex(pip_index_url=index, conda_channel=channel)])

    run = host.start(setup.script_text("JupyterLab") or "")

    assert run.returncode == 0, run.output
    condarc = yaml.safe_load((host.home / ".condarc").read_text())
    assert condarc["channels"] == [channel, "conda-forge"]
    assert condarc["envs_dirs"] == ["~/.conda/envs"] and condarc["always_yes"] is True
    pip_conf = (host.home / ".config" / "pip" / "pip.conf").read_text()
    assert f"index-url = {index}" in pip_conf and "https://old/" not in pip_conf
    assert "timeout = 9" in pip_conf
    # Idempotent: a second start does not add the channel twice.
    host.restart()
    assert host.start(setup.script_text("JupyterLab") or "").returncode == 0
    assert yaml.safe_load((host.home / ".condarc").read_text())["channels"] == [
        channel,
        "conda-forge",
    ]


def test_a_condarc_that_is_not_a_mapping_is_left_alone(host, mirror):
    broken = host.write_home_file(".condarc", "- just\n- a list\n")
    setup = StudioSetup(
        [PackageIndex(pip_index_url=f"{mirror.url}{mirror.index_path}", conda_channel="file:///c")]
    )
    run = host.start(setup.script_text("JupyterLab") or "")
    assert run.returncode != 0
    assert "is not a conda configuration" in run.output
    assert broken.read_text() == "- just\n- a list\n"


# --- negative controls: the harness is as strict as the host ------------------------------------


def test_without_the_mirror_the_install_fails(host, mirror, studio_scripts):
    mirror.wheels.clear()  # the index answers, but has nothing
    run = host.start(studio_scripts["JupyterLab"])
    assert run.returncode == 0, run.output  # the example's package step is optional
    (log,) = run.detached.values()
    assert "FAILED (optional, exit code" in log and "; ignored)" in log, log
    probe = host.as_user([str(host.home / ENV_DIR / "bin" / "python"), "-c", "import polars"])
    assert probe.returncode != 0


def test_pip_without_a_pip_conf_has_no_index(host, mirror):
    # No pip.conf, no PIP_* variables: pip must not find the packages behind the config's back.
    setup = StudioSetup([PackageInstall(kernel="python3", pip_packages=["polars==1.9.0"])])
    run = host.start(setup.script_text("JupyterLab") or "")
    (log,) = run.detached.values()
    assert "FAILED with exit code" in log, log
    assert mirror.index_requests == []


def test_a_wrong_repository_fails_the_start(moto, tmp_path, studio_scripts):
    moto.reset()
    other = CodeArtifact("another-domain", MIRROR["repository"])
    host = StudioHost(moto, other)
    try:
        run = host.start(studio_scripts["JupyterLab"])
        assert run.returncode != 0
        assert re.search(r"step package-index: FAILED with exit code \d+$", run.output, re.M)
    finally:
        host.close()
        other.close()


def test_the_user_cannot_write_the_image_environment(host):
    # Stricter than the real image (docs/studio.md): an install there fails loudly here.
    result = host.as_user([str(host.python), "-m", "pip", "install", "--no-index", "x==1"])
    touch = host.as_user(["touch", str(host.conda / "lib" / "marker")])
    assert touch.returncode != 0 and "Permission denied" in touch.stderr
    assert result.returncode != 0
    who = host.as_user(["id", "-un"])
    assert who.stdout.strip() == USER and host.user.pw_uid != 0


def test_cloudwatch_logging_is_best_effort(host, mirror):
    # CloudWatch Logs unreachable: the step still runs and logs to its file.
    setup = StudioSetup([CustomStep(name="bg", on_start="echo working", detached=True)])
    unreachable = {"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": host.dead_proxy}
    run = host.start(setup.script_text("JupyterLab") or "", env=unreachable)
    assert "working" in run.detached["bg"] and "step bg: done" in run.detached["bg"]
    assert not host.log_events(f"{DOMAIN_ID}/{SPACE}/JupyterLab/default/sagemaker-constructs/")


# --- the failure alarm on the Studio log group (issue 13) ----------------------------------------


def test_studio_metric_filter_matches_the_runners_failure_line_only(example, moto, tmp_path):
    """The synthesized Studio filter, stored by moto, finds a failed start's real output."""
    team = next(t for t in CONFIG["teams"] if t.get("studio") and t.get("alerts"))
    template = example.template_json(f"{CONFIG['platform']['prefix']}-team-{team['name']}")
    filters = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Logs::MetricFilter"
        and r["Properties"]["LogGroupName"] == STUDIO_LOG_GROUP
    ]
    assert len(filters) == 1, "one Studio filter per team with Studio and alerts"
    props = filters[0]
    moto.reset()
    logs = moto.client("logs")
    logs.put_metric_filter(
        logGroupName=STUDIO_LOG_GROUP,
        filterName="studio-lifecycle",
        filterPattern=props["FilterPattern"],
        metricTransformations=[
            {k[0].lower() + k[1:]: v for k, v in t.items()} for t in props["MetricTransformations"]
        ],
    )
    failing = StudioSetup([CustomStep(name="must-pass", on_start="echo checking\nexit 3")])
    ok = StudioSetup([CustomStep(name="fine", on_start="echo fine")])
    for setup, returncode in ((failing, 3), (ok, 0)):
        host = StudioHost(moto)
        try:
            run = host.start(setup.script_text("JupyterLab") or "")
            assert run.returncode == returncode, run.output
        finally:
            host.close()
        time.sleep(0.01)
    matched = logs.filter_log_events(
        logGroupName=STUDIO_LOG_GROUP, filterPattern=props["FilterPattern"]
    )["events"]
    assert [e["message"].split("] ", 1)[1] for e in matched] == [
        "step must-pass: FAILED with exit code 3"
    ]
    everything = logs.filter_log_events(logGroupName=STUDIO_LOG_GROUP)["events"]
    assert len(everything) > len(matched)  # negative control: not a match-all pattern


def test_a_host_stops_only_its_own_processes_of_the_shared_account(moto: Moto):
    """Two hosts of the machine (as two test workers have) share the real sagemaker-user:
    closing one ends the processes started in its home and leaves the other's running."""
    mine, other = StudioHost(moto), StudioHost(moto)
    started: list[subprocess.Popen[bytes]] = []
    try:
        started += [
            subprocess.Popen(
                ["runuser", "-u", USER, "--", "env", "-i", f"HOME={h.home}", "sleep", "60"],
                cwd=h.home,
            )
            for h in (mine, other)
        ]
        deadline = time.monotonic() + 10
        while not (mine.user_pids() and other.user_pids()):
            assert time.monotonic() < deadline, "the sleeps never started"
            time.sleep(0.1)
        mine.close()
        assert started[0].wait(10) != 0  # killed (its own)
        assert started[1].poll() is None  # the other host's process runs on
        assert other.user_pids()
    finally:
        other.close()
        for process in started:
            process.wait(10)
