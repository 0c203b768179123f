"""Package sources on a simulated host: the S3 conda channel fetch against a real moto S3,
and an environment built from a built-in one with no conda at all.

The fetch runs the shipped fragment with this interpreter (it has boto3, as JupyterSystemEnv
does on the host), the harness's sudo stand-in and the host's metadata file; S3 is a real moto
server on 127.0.0.1. Negative controls: a prefix holding no channel, an unknown bucket and a
stopped S3 each fail the fetch.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sagemaker_constructs import lifecycle_scripts
from sagemaker_constructs.setup.notebook_setup import (
    CondaEnvironment,
    EnvironmentVariables,
    JupyterLabExtension,
    NotebookSetup,
    PackageIndex,
)
from tests.lifecycle.harness import Host, closed_port

pytest_plugins = ["tests.lifecycle.servers"]

REGION = "eu-west-1"  # the host's metadata ARN names this Region and account 123456789012
BUCKET = "conda-{account}-{region}"
REAL_BUCKET = "conda-123456789012-eu-west-1"
CHANNEL_FILES = {
    "noarch/repodata.json": json.dumps({"info": {"subdir": "noarch"}, "packages": {}}),
    "linux-64/repodata.json": json.dumps({"info": {"subdir": "linux-64"}, "packages": {}}),
    "linux-64/tinylib-1.0-0.tar.bz2": "not really a package, but bytes to copy",
}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory):
    built = Host(tmp_path_factory.mktemp("sources-host"))
    built.add_wheel("smc-venvpkg", "1.0.0", "smc_venvpkg", "VALUE = 'from the index'\n")
    built.add_wheel("smc-labext", "1.0.0", "smc_labext", "VALUE = 'an extension'\n")
    yield built
    built.close()


@pytest.fixture
def fragment(tmp_path: Path) -> Path:
    path = tmp_path / "conda_channel_s3.py"
    path.write_text(lifecycle_scripts.read("conda_channel_s3.py"))
    return path


def _fetch(host: Host, fragment: Path, endpoint: str, target: Path, **extra: str):
    env = host.env("on-create")
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_MAX_ATTEMPTS="1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        SMC_CONDA_CHANNEL_BUCKET=BUCKET,
        SMC_CONDA_CHANNEL_PREFIX="channel",
        SMC_CONDA_CHANNEL_DIR=str(target),
        **extra,
    )
    return subprocess.run(
        [sys.executable, str(fragment)], env=env, capture_output=True, text=True, timeout=60
    )


def _upload(aws, prefix: str = "channel") -> None:
    s3 = aws.client("s3", REGION)
    s3.create_bucket(Bucket=REAL_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for key, body in CHANNEL_FILES.items():
        s3.put_object(Bucket=REAL_BUCKET, Key=f"{prefix}/{key}", Body=body.encode())
    s3.put_object(Bucket=REAL_BUCKET, Key="elsewhere/secret.txt", Body=b"not the channel")


def test_fetch_copies_the_channel_and_makes_it_the_only_conda_channel(
    aws, host, fragment, tmp_path
):
    _upload(aws)
    condarc = host.home / ".condarc"
    condarc.write_text(
        "channels:\n  - defaults\n  - https://repo.anaconda.com/pkgs/main\n"
        "envs_dirs:\n  - /home/ec2-user/SageMaker/envs\nauto_activate_base: false\n"
    )
    target = tmp_path / "channel-copy"
    result = _fetch(host, fragment, aws.endpoint, target)
    assert result.returncode == 0, result.stderr
    copied = {str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()}
    assert copied == set(CHANNEL_FILES)
    assert (target / "linux-64/tinylib-1.0-0.tar.bz2").read_text() == CHANNEL_FILES[
        "linux-64/tinylib-1.0-0.tar.bz2"
    ]
    text = condarc.read_text()
    assert f"channels:\n  - file://{target}\ndefault_channels: []\n" in text
    assert "defaults" not in text.replace("default_channels", "")
    assert "envs_dirs:\n  - /home/ec2-user/SageMaker/envs\n" in text  # other keys kept
    assert "auto_activate_base: false" in text

    # Again (a later start): packages of the same size are kept, the index is fetched anew.
    again = _fetch(host, fragment, aws.endpoint, target)
    assert again.returncode == 0, again.stderr
    assert "2 fetched, 1 kept" in again.stdout
    assert condarc.read_text() == text


def test_fetch_fails_on_a_prefix_that_holds_no_channel(aws, host, fragment, tmp_path):
    _upload(aws, prefix="not-here")
    result = _fetch(host, fragment, aws.endpoint, tmp_path / "copy")
    assert result.returncode == 1
    assert "holds no noarch/repodata.json" in result.stderr


def test_fetch_fails_without_the_bucket_or_without_s3(aws, host, fragment, tmp_path):
    missing = _fetch(host, fragment, aws.endpoint, tmp_path / "a")
    assert missing.returncode != 0 and "NoSuchBucket" in missing.stderr
    _upload(aws)
    condarc = host.home / ".condarc"
    condarc.write_text("channels:\n  - defaults\n")
    unreachable = _fetch(host, fragment, f"http://127.0.0.1:{closed_port()}", tmp_path / "b")
    assert unreachable.returncode != 0
    assert condarc.read_text() == "channels:\n  - defaults\n"  # left as it was


def test_environment_from_a_built_in_one_needs_no_conda(host):
    setup = NotebookSetup(
        [
            PackageIndex(pip_index_url="https://pypi.example.internal/simple/"),
            CondaEnvironment(
                name="light", base_environment="python3", pip_packages=["smc-venvpkg==1.0.0"]
            ),
        ]
    )
    create = host.run(setup.on_create_text())
    assert create.returncode == 0, create.stderr
    host.wait(create)
    log = host.detached_text(create)["conda-environments"]
    assert "step conda-environments: done" in log, log
    env = host.envs_dir / "light"
    assert "include-system-site-packages = true" in (env / "pyvenv.cfg").read_text()
    # pip installed into the new env, not the built-in one it sees
    site = host.python_in(env, "import smc_venvpkg; print(smc_venvpkg.__file__)")
    assert str(env) in site
    assert "smc_venvpkg" not in host.python_in(
        host.anaconda_dir / "envs" / "python3", "import sys; print(sys.modules.keys())"
    )
    # A package of the built-in env (ipykernel, which the harness gives the built-in env
    # through its own .pth) is importable in the new env, and pip's package wins there.
    assert host.python_in(env, "import ipykernel; print('ok')").strip() == "ok"
    order = host.python_in(env, "import sys; print(sys.path)")
    assert order.index(str(env)) < order.index(str(host.anaconda_dir / "envs" / "python3"))
    assert not host.conda_calls(), "no conda was run"
    # registered as a kernel at the end of the step; the kernel runs in the new env
    assert "light" in host.kernelspecs()
    ran = host.execute_in_kernel("light", "import smc_venvpkg, sys; print(smc_venvpkg.VALUE)")
    assert ran == {"status": "ok", "stdout": "from the index\n"}


def test_environment_from_a_missing_built_in_env_fails(host):
    setup = NotebookSetup(
        [
            PackageIndex(pip_index_url="https://pypi.example.internal/simple/"),
            CondaEnvironment(name="orphan", base_environment="pytorch"),
        ]
    )
    create = host.run(setup.on_create_text())
    host.wait(create)
    log = host.detached_text(create)["conda-environments"]
    assert "no built-in environment pytorch" in log
    assert "step conda-environments: FAILED" in log


TRICKY = 'it\'s "quoted" $HOME and spaces'


def test_environment_variables_reach_kernels_and_terminals_and_survive_a_restart(host):
    setup = NotebookSetup([EnvironmentVariables(values={"SMC_TEAM": "geo", "SMC_TRICKY": TRICKY})])
    bashrc = host.home / ".bashrc"
    bashrc.write_text("# the image's own bashrc\nalias ll='ls -l'\n")
    for _ in range(2):  # a second start replaces the block, it does not add another
        start = host.run(setup.on_start_text())
        assert start.returncode == 0, start.stderr
    text = bashrc.read_text()
    assert text.startswith("# the image's own bashrc\nalias ll='ls -l'\n")
    assert text.count("sagemaker-constructs environment variables >>>") == 1
    terminal = host.as_user("bash", "-i", "-c", 'printf "%s|%s" "$SMC_TEAM" "$SMC_TRICKY"')
    assert terminal.stdout.endswith(f"geo|{TRICKY}")
    kernel = host.execute_in_kernel(
        "python3", "import os; print(os.environ['SMC_TEAM'], os.environ['SMC_TRICKY'])"
    )
    assert kernel == {"status": "ok", "stdout": f"geo {TRICKY}\n"}
    assert not [c for c in host.systemctl_calls() if "restart" in c]


def test_without_the_step_kernels_do_not_see_the_variables(host):
    # Negative control: a fresh home (a stop) and a start without the step.
    host.stop()
    start = host.run(NotebookSetup([EnvironmentVariables(values={"OTHER": "x"})]).on_start_text())
    assert start.returncode == 0, start.stderr
    kernel = host.execute_in_kernel("python3", "import os; print(os.environ.get('SMC_TEAM'))")
    assert kernel["stdout"] == "None\n"


def test_jupyterlab_extension_lands_in_jupyters_env_without_a_restart(host):
    setup = NotebookSetup(
        [
            PackageIndex(pip_index_url="https://pypi.example.internal/simple/"),
            JupyterLabExtension(pip_packages=["smc-labext==1.0.0"], optional=False),
        ]
    )
    system_env = host.anaconda_dir / "envs" / "JupyterSystemEnv"
    # The harness's JupyterSystemEnv is a venv without pip; the host's has pip (it is a
    # conda env with jupyterlab). ensurepip installs the bundled pip, offline.
    host.as_user(str(system_env / "bin" / "python"), "-m", "ensurepip", "--default-pip")
    start = host.run(setup.on_start_text())
    assert start.returncode == 0, start.stderr
    host.wait(start)
    log = host.detached_text(start)["jupyterlab-extensions"]
    assert "step jupyterlab-extensions: done" in log, log
    where = host.python_in(system_env, "import smc_labext; print(smc_labext.__file__)")
    assert str(system_env) in where
    assert not [c for c in host.systemctl_calls() if "restart" in c]
