"""NotebookSetup: composition of steps into scripts, and validation that names the step."""

from __future__ import annotations

import base64
import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from sagemaker_constructs import (
    CondaEnvironment,
    ConnectivityCheck,
    ConstructValidationError,
    CustomStep,
    IdleAutoStop,
    NotebookInstance,
    NotebookLifecycleConfig,
    NotebookSetup,
    PackageIndex,
    PackageInstall,
)
from sagemaker_constructs.setup.notebook_setup import unbundle
from tests.conftest import new_stack

FULL = NotebookSetup(
    steps=[
        PackageIndex(
            code_artifact_domain="ml-platform",
            code_artifact_repository="pypi",
            conda_channel="https://conda.example.com/main",
        ),
        ConnectivityCheck(url="https://pypi.org/simple/"),
        CondaEnvironment(name="py311", pip_packages=["pandas==2.2.3"]),
        PackageInstall(kernel="py311", pip_packages=["scikit-learn==1.5.2"]),
        PackageInstall(kernel="python3", pip_packages=["requests==2.32.3"], optional=True),
        CustomStep(name="motd", on_start="echo welcome > /etc/motd\n"),
        IdleAutoStop(idle_minutes=60, ignore_connections=True),
    ]
)


def steps_run(script: str) -> list[tuple[str, str, str]]:
    """(name, mode, optional) of every smc_run_step call, in order."""
    return re.findall(r"^smc_run_step (\S+) (foreground|detached) (true|false) ", script, re.M)


def test_on_create_creates_environments_detached_after_the_package_index():
    assert steps_run(FULL.on_create_text()) == [
        ("package-index", "foreground", "false"),
        ("conda-environments", "detached", "false"),
    ]


def test_on_start_order_and_modes():
    assert steps_run(FULL.on_start_text()) == [
        ("package-index", "foreground", "false"),
        ("connectivity-check", "foreground", "true"),
        ("register-kernels", "foreground", "false"),
        ("packages", "detached", "true"),
        ("motd", "foreground", "false"),
        ("idle-auto-stop", "foreground", "false"),
    ]


def test_packages_for_a_setup_environment_are_installed_once_after_creating_it():
    create = FULL.on_create_text()
    body = create.split("steps/02-conda-environments.sh\" << 'SMC_STEP_END'")[1].split(
        "SMC_STEP_END"
    )[0]
    assert (
        body.index("create_conda_env.sh")
        < body.index("scikit-learn==1.5.2")
        < body.index("register_kernels.sh")
    )
    assert "SMC_RESTART_JUPYTER=false" in body  # never restarts Jupyter under a working user
    assert "scikit-learn" not in FULL.on_start_text()


def test_only_needed_fragments_are_embedded():
    assert set(unbundle(FULL.on_create_text())) == {
        "host.sh",
        "runner.sh",
        "package_index.sh",
        "create_conda_env.sh",
        "install_packages.sh",
        "register_kernels.sh",
        "detached.sh",
        "cw_tee.py",
    }
    only_check = NotebookSetup([ConnectivityCheck(url="http://10.0.0.1/")])
    assert only_check.on_create_text() is None
    assert set(unbundle(only_check.on_start_text())) == {
        "host.sh",
        "runner.sh",
        "connectivity_check.sh",
    }


def test_values_are_shell_quoted():
    setup = NotebookSetup([ConnectivityCheck(url="https://example.com/a?b=1&c='x'")])
    assert (
        "export SMC_CHECK_URL='https://example.com/a?b=1&c='\"'\"'x'\"'\"''"
        in setup.on_start_text()
    )


def test_optional_steps_inside_the_environment_chain_are_guarded():
    setup = NotebookSetup([CondaEnvironment(name="extra", optional=True)])
    assert "echo 'conda-environment:extra: FAILED (optional, ignored)'" in setup.on_create_text()


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            PackageInstall(kernel="r-env", pip_packages=["x==1"]),
            r"steps\[0\] \(packages:r-env\)\.kernel: got 'r-env'; allowed: a built-in kernel of notebook-al2023-v1 \(python3, pytorch\) or a CondaEnvironment of this setup \(none\)",
        ),
        (
            PackageInstall(kernel="python3", pip_packages=["pandas"]),
            r"steps\[0\] \(packages:python3\)\.pip_packages\[0\]: got 'pandas'; allowed: a pinned pip requirement",
        ),
        (
            PackageInstall(kernel="python3", conda_packages=["numpy>=1"]),
            r"\.conda_packages\[0\]: got 'numpy>=1'; allowed: a pinned conda spec",
        ),
        (
            PackageInstall(kernel="python3"),
            r"\.pip_packages/conda_packages: got None; allowed: at least one package",
        ),
        (
            PackageInstall(kernel="python3", pip_packages="x==1"),
            r"\.pip_packages: got 'x==1'; allowed: a list of specs",
        ),
        (
            CondaEnvironment(name="python3"),
            r"steps\[0\] \(conda-environment:python3\)\.name: got 'python3'; allowed: a name that is not a built-in kernel's",
        ),
        (CondaEnvironment(name="bad name"), r"\.name: got 'bad name'"),
        (
            CondaEnvironment(name="e", python_version="2.7"),
            r"\.python_version: got '2.7'; allowed: 3.<minor>",
        ),
        (
            IdleAutoStop(idle_minutes=2),
            r"steps\[0\] \(idle-auto-stop\)\.idle_minutes: got 2; allowed: an integer from 5 to 10080",
        ),
        (
            IdleAutoStop(idle_minutes=10, check_interval_minutes=15),
            r"\.check_interval_minutes: got 15; allowed: at most idle_minutes \(10\)",
        ),
        (
            ConnectivityCheck(url="ftp://x"),
            r"steps\[0\] \(connectivity-check\)\.url: got 'ftp://x'; allowed: an http:// or https:// URL",
        ),
        (ConnectivityCheck(url="https://x", timeout_seconds=0), r"\.timeout_seconds: got 0"),
        (
            PackageIndex(),
            r"steps\[0\] \(package-index\)\.pip_index_url/code_artifact_domain: got None; allowed: either",
        ),
        (
            PackageIndex(pip_index_url="http://insecure/simple"),
            r"\.pip_index_url: got 'http://insecure/simple'; allowed: an https:// URL",
        ),
        (
            PackageIndex(code_artifact_domain="Bad_Domain", code_artifact_repository="pypi"),
            r"\.code_artifact_domain: got 'Bad_Domain'",
        ),
        (
            CustomStep(name="win", on_start="echo a\r\necho b\n"),
            r"steps\[0\] \(custom:win\)\.on_start: got 'CRLF line endings on line\(s\) \[1\]'; allowed: LF line endings only",
        ),
        (
            CustomStep(name="empty"),
            r"\(custom:empty\)\.on_create/on_start: got None; allowed: at least one of them",
        ),
        ("echo hi", r"steps\[0\] \(str\)\.type: got 'str'; allowed: a CondaEnvironment"),
    ],
)
def test_invalid_steps_are_named_in_the_error(step, message):
    with pytest.raises(ConstructValidationError) as err:
        NotebookLifecycleConfig(new_stack(), "Lc", setup=NotebookSetup([step]))
    text = str(err.value)
    assert "\n  - setup.steps[0] (" in text, text
    assert re.search(message, text), text


def test_a_kernel_may_be_an_environment_of_the_setup_and_singletons_are_checked():
    setup = NotebookSetup(
        [
            CondaEnvironment(name="a"),
            CondaEnvironment(name="a"),
            PackageInstall(kernel="a", pip_packages=["x==1"]),
            IdleAutoStop(),
            IdleAutoStop(),
        ]
    )
    assert [(p[0], p[2]) for p in setup.problems()] == [
        ("steps[1] (conda-environment:a).name", "a name used by one CondaEnvironment only"),
        ("steps[4] (idle-auto-stop).type", "at most one per setup"),
    ]


def test_setup_and_scripts_are_exclusive():
    from sagemaker_constructs import LifecycleScript

    with pytest.raises(
        ConstructValidationError,
        match=r"setup: got 'given with on_create/on_start'; allowed: either setup or scripts",
    ):
        NotebookLifecycleConfig(
            new_stack(), "Lc", setup=FULL, on_start=LifecycleScript.from_text("x")
        )


def test_every_problem_of_a_setup_is_reported_at_once():
    with pytest.raises(ConstructValidationError) as err:
        NotebookLifecycleConfig(
            new_stack(),
            "Lc",
            setup=NotebookSetup(
                [
                    IdleAutoStop(idle_minutes=1),
                    ConnectivityCheck(url="nope"),
                ]
            ),
        )
    assert len(err.value.problems) == 2


def _notebook_with(setup: NotebookSetup) -> tuple[cdk.Stack, Template]:
    stack = new_stack()
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        restrict_default_security_group=False,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="i", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    lc = NotebookLifecycleConfig(stack, "Lc", setup=setup)
    NotebookInstance(stack, "Nb", vpc=vpc, notebook_instance_name="ds-alice", lifecycle_config=lc)
    return stack, Template.from_stack(stack)


def _statements(t: Template) -> dict[str, dict]:
    docs = [
        r["Properties"]["PolicyDocument"]
        for r in t.find_resources("AWS::IAM::ManagedPolicy").values()
    ]
    return {s.get("Sid"): s for d in docs for s in d["Statement"]}


def test_auto_stop_grants_stopping_only_this_notebook():
    _, t = _notebook_with(NotebookSetup([IdleAutoStop()]))
    stop = _statements(t)["StopItselfWhenIdle"]
    assert stop["Action"] == [
        "sagemaker:DescribeNotebookInstance",
        "sagemaker:StopNotebookInstance",
    ]
    assert "notebook-instance/ds-alice" in json.dumps(stop["Resource"])


def test_code_artifact_index_grants_read_on_that_repository_only():
    _, t = _notebook_with(
        NotebookSetup([PackageIndex(code_artifact_domain="ml", code_artifact_repository="pypi")])
    )
    statements = _statements(t)
    assert "domain/ml" in json.dumps(statements["CodeArtifactToken"]["Resource"])
    assert "repository/ml/pypi" in json.dumps(statements["CodeArtifactRead"]["Resource"])
    bearer = statements["CodeArtifactBearerToken"]
    assert bearer["Resource"] == "*"
    assert bearer["Condition"] == {
        "StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}
    }


def test_setup_without_these_steps_grants_nothing_more():
    _, t = _notebook_with(NotebookSetup([ConnectivityCheck(url="https://x.example/")]))
    assert set(_statements(t)) == {
        "WriteOwnLogStreams",
        "DescribeNotebookLogStreams",
        "UseVolumeKey",
        "GrantVolumeKeyToAwsServices",
    }


def test_setups_that_fit_stay_inline_and_larger_ones_become_an_s3_asset():
    stack, t = _notebook_with(FULL)
    lc = next(iter(t.find_resources("AWS::SageMaker::NotebookInstanceLifecycleConfig").values()))
    on_create = lc["Properties"]["OnCreate"][0]["Content"]
    assert isinstance(on_create, str) and len(on_create) <= 16_384
    assert base64.b64decode(on_create).decode() == FULL.on_create_text()
    # Every step type at once does not fit in 16 KB: the on-start script goes to S3.
    assert len(base64.b64encode(FULL.on_start_text().encode())) > 16_384
    assert "Fn::Base64" in lc["Properties"]["OnStart"][0]["Content"]
    assert "ReadLifecycleScript0" in _statements(t)


def test_built_in_kernels_follow_the_notebook_platform():
    al2_kernel = PackageInstall(kernel="pytorch_p310", pip_packages=["lightning==2.4.0"])
    al2023_kernel = PackageInstall(kernel="pytorch", pip_packages=["lightning==2.4.0"])
    # AL2's PyTorch environment does not exist on AL2023 (the default platform): rejected.
    assert [p[0] for p in NotebookSetup([al2_kernel]).problems()] == [
        "steps[0] (packages:pytorch_p310).kernel"
    ]
    assert NotebookSetup([al2023_kernel]).problems() == []
    # And the other way round on notebook-al2-v3.
    assert NotebookSetup([al2_kernel], platform="notebook-al2-v3").problems() == []
    problems = NotebookSetup([al2023_kernel], platform="notebook-al2-v3").problems()
    assert [(p[0], p[1]) for p in problems] == [("steps[0] (packages:pytorch).kernel", "pytorch")]
    assert "notebook-al2-v3 (python3, pytorch_p310, tensorflow2_p310)" in problems[0][2]
