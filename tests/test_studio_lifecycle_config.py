"""StudioLifecycleConfig and StudioSetup: content-hash names, composition, limits."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

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
    LifecycleScript,
    PackageIndex,
    PackageInstall,
    StudioDomain,
    StudioLifecycleConfig,
    StudioSetup,
)
from sagemaker_constructs.setup.notebook_setup import unbundle
from tests.conftest import new_app, new_stack

LC = "AWS::SageMaker::StudioLifecycleConfig"
_STEP_FILE = re.compile(r"^cat > \"[^\"]+\" << 'SMC_STEP_END'\n(.*?)^SMC_STEP_END$", re.S | re.M)
SHELLCHECK = Path(sys.executable).with_name("shellcheck")

SETUP = StudioSetup(
    [
        PackageIndex(code_artifact_domain="ml", code_artifact_repository="pypi"),
        ConnectivityCheck(url="https://pypi.org/simple/"),
        PackageInstall(kernel="python3", pip_packages=["polars==1.9.0"], optional=True),
        CustomStep(name="motd", on_start='echo "welcome"'),
    ]
)


def synth_domain(script: str, tags: dict[str, str] | None = None) -> tuple[str, dict]:
    """A stack with a JupyterLab config of ``script`` attached to a domain; its template."""
    app = new_app()
    stack = cdk.Stack(app, "Studio")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        restrict_default_security_group=False,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="i", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    lc = StudioLifecycleConfig(
        stack, "JupyterLab", script=LifecycleScript.from_text(script), name_prefix="ds-jl"
    )
    for key, value in (tags or {}).items():
        cdk.Tags.of(stack).add(key, value)
    StudioDomain(stack, "Domain", vpc=vpc, jupyter_lab_lifecycle_config=lc)
    template = app.synth().get_stack_by_name("Studio").template
    (config,) = [r for r in template["Resources"].values() if r["Type"] == LC]
    return config["Properties"]["StudioLifecycleConfigName"], template


def domain_jupyter_lab(template: dict) -> dict:
    (domain,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Domain"]
    return domain["Properties"]["DefaultUserSettings"]["JupyterLabAppSettings"]


# --- names follow the content ---------------------------------------------------------


def test_a_changed_script_gets_a_new_name_and_the_domain_switches_to_it():
    first, before = synth_domain("#!/bin/bash\necho one\n")
    second, after = synth_domain("#!/bin/bash\necho two\n")
    assert re.fullmatch(r"ds-jl-[0-9a-f]{12}", first)
    assert re.fullmatch(r"ds-jl-[0-9a-f]{12}", second)
    assert first != second
    for name, template in ((first, before), (second, after)):
        settings = domain_jupyter_lab(template)
        spec = json.dumps(settings["DefaultResourceSpec"]["LifecycleConfigArn"])
        assert f":studio-lifecycle-config/{name}" in spec
        assert [json.dumps(a) for a in settings["LifecycleConfigArns"]] == [spec]
    # The same content keeps its name: nothing is replaced.
    assert synth_domain("#!/bin/bash\necho one\n")[0] == first


def test_a_tag_change_also_gets_a_new_name():
    # Tags, like the content, can only be set when the configuration is created.
    plain, _ = synth_domain("echo same\n")
    tagged, template = synth_domain("echo same\n", tags={"cost-center": "cc-1"})
    assert plain != tagged
    (config,) = [r for r in template["Resources"].values() if r["Type"] == LC]
    assert {"Key": "cost-center", "Value": "cc-1"} in config["Properties"]["Tags"]


def test_replaced_configs_are_retained_and_content_is_base64():
    stack = new_stack()
    script = LifecycleScript.from_text("#!/bin/bash\necho hi\n")
    lc = StudioLifecycleConfig(stack, "LC", app_type="CodeEditor", script=script)
    t = Template.from_stack(stack)
    t.has_resource(
        LC,
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "StudioLifecycleConfigAppType": "CodeEditor",
                "StudioLifecycleConfigContent": script.base64,
            },
        },
    )
    name = stack.resolve(lc.lifecycle_config_name)
    assert name.startswith("test-lc-") and len(name) <= 63  # derived from the path, lower case


# --- composition ----------------------------------------------------------------------


def test_setup_is_composed_for_the_studio_host():
    text = SETUP.script_text("JupyterLab")
    assert text is not None
    assert text.startswith("#!/bin/bash\n# Studio JupyterLab start script")
    assert "export SMC_PHASE=studio-jupyterlab" in text
    assert set(unbundle(text)) == {
        "studio_host.sh",
        "runner.sh",
        "studio_package_index.sh",
        "connectivity_check.sh",
        "studio_install_packages.sh",
        "detached.sh",
        "cw_tee.py",  # detached steps log to the Studio log group
    }
    host = unbundle(text)["studio_host.sh"]
    assert "NOTEBOOK_USER:=sagemaker-user" in host and "SAGEMAKER_DIR:=/home/sagemaker-user" in host
    assert "smc_run_step package-index foreground false" in text
    assert "smc_run_step connectivity-check foreground true" in text
    assert "smc_run_step packages-python3 detached true" in text
    # Packages go to an environment on the volume, never into the image's (/opt/conda).
    assert 'export SMC_ENV_DIR="${SAGEMAKER_DIR}/.sagemaker-constructs/envs/python3"' in text
    assert 'export SMC_BASE_PYTHON="${ANACONDA_DIR}/bin/python"' in text
    assert "export SMC_KERNEL_NAME=python3-packages" in text
    assert "SMC_CW_LOG_GROUP:=/aws/sagemaker/studio" in host
    assert "smc_run_step motd foreground false" in text
    assert "sudo" not in text  # the app runs as its user


def test_composed_script_is_shellcheck_clean(tmp_path: Path):
    text = SETUP.script_text("CodeEditor")
    script = tmp_path / "studio.sh"
    script.write_text(text)
    files = [script]
    for name, body in unbundle(text).items():
        if name.endswith(".sh"):
            (tmp_path / name).write_text(body)
            files.append(tmp_path / name)
    # Step files are quoted here-docs, which shellcheck does not look into as part of the
    # script; each fragment runs in a ( ... ) subshell on purpose (SC2030, SC2031).
    for n, body in enumerate(_STEP_FILE.findall(text)):
        (tmp_path / f"step{n}.sh").write_text(body)
        files.append(tmp_path / f"step{n}.sh")
    assert len(files) > 7
    result = subprocess.run(
        [str(SHELLCHECK), "--shell=bash", "--exclude=SC2030,SC2031", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_studio_fragments_are_shellcheck_clean():
    root = Path(__file__).resolve().parent.parent / "lifecycle_scripts"
    files = sorted(root.glob("studio_*.sh"))
    assert len(files) == 3
    result = subprocess.run(
        [str(SHELLCHECK), *map(str, files)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_codeartifact_index_grants_what_the_script_needs():
    stack = new_stack()
    lc = StudioLifecycleConfig(stack, "LC", setup=SETUP)
    statements = {
        s.sid: stack.resolve(s.to_statement_json()) for s in lc.execution_role_statements()
    }
    assert set(statements) == {"CodeArtifactToken", "CodeArtifactRead", "CodeArtifactBearerToken"}
    assert statements["CodeArtifactBearerToken"]["Condition"] == {
        "StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}
    }
    plain = StudioLifecycleConfig(stack, "Plain", script=LifecycleScript.from_text("echo\n"))
    assert plain.execution_role_statements() == []


# --- validation -----------------------------------------------------------------------


def test_steps_studio_does_not_run_say_what_to_use_instead():
    setup = StudioSetup(
        [
            CondaEnvironment(name="forecast"),
            IdleAutoStop(idle_minutes=60),
            PackageInstall(kernel="pytorch_p310", pip_packages=["torch==2.5.1"]),
            CustomStep(name="once", on_create="echo created"),
            PackageInstall(kernel="python3", pip_packages=["pandas"]),
        ]
    )
    stack = new_stack()
    with pytest.raises(ConstructValidationError) as err:
        StudioLifecycleConfig(stack, "LC", setup=setup)
    lines = str(err.value).splitlines()[1:]
    assert lines == [
        "  - setup.steps[0] (conda-environment:forecast).type: got 'CondaEnvironment'; allowed: "
        "a PackageIndex, ConnectivityCheck, PackageInstall or CustomStep; build conda "
        "environments into a custom image (StudioCustomImage)",
        "  - setup.steps[1] (idle-auto-stop).type: got 'IdleAutoStop'; allowed: a PackageIndex, "
        "ConnectivityCheck, PackageInstall or CustomStep; Studio shuts idle apps down itself "
        "(StudioDomain idle_timeout_minutes)",
        "  - setup.steps[2] (packages:pytorch_p310).kernel: got 'pytorch_p310'; allowed: "
        "'python3' (the image's default environment; other environments belong in a custom "
        "image)",
        "  - setup.steps[3] (custom:once).on_create: got 'given'; allowed: none (a Studio "
        "lifecycle configuration runs at every app start; use on_start)",
        "  - setup.steps[4] (packages:python3).pip_packages[0]: got 'pandas'; allowed: a pinned "
        "pip requirement, name==version (e.g. pandas==2.2.3)",
    ]


def test_conda_packages_belong_in_a_custom_image():
    setup = StudioSetup([PackageInstall(kernel="python3", conda_packages=["polars=1.9.0"])])
    with pytest.raises(ConstructValidationError) as err:
        StudioLifecycleConfig(new_stack(), "LC", setup=setup)
    assert str(err.value).splitlines()[1:] == [
        "  - setup.steps[0] (packages:python3).conda_packages: got ['polars=1.9.0']; allowed: "
        "none in Studio: pip_packages go to a persistent environment on the space's volume; "
        "conda packages belong in a custom image (StudioCustomImage)"
    ]


def test_content_over_the_service_limit():
    # StudioLifecycleConfigContent: at most 16384 characters (cfn-lint's schema).
    big = LifecycleScript.from_text("#!/bin/bash\n" + "echo 0123456789abcdef\n" * 700)
    with pytest.raises(
        ConstructValidationError,
        match=r"script: got '\d+ base64 characters .*'; allowed: at most 16384 base64 "
        r"characters \(the service limit\)",
    ):
        StudioLifecycleConfig(new_stack(), "LC", script=big)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"app_type": "JupyterServer"}, r"app_type: got 'JupyterServer'; allowed: one of "),
        ({"script": None}, r"script/setup: got None; allowed: either a script or a setup"),
        ({"setup": SETUP}, r"script/setup: got 'both'; allowed: either a script or a setup"),
        ({"name_prefix": "x" * 51}, r"name_prefix: got 'x+'; allowed: at most 50 characters"),
        ({"name_prefix": "team_a"}, r"name_prefix: got 'team_a'; allowed: 1 to 50 letters"),
        (
            {"script": LifecycleScript.from_text("echo a\r\necho b\r\n")},
            r"script: got 'CRLF line endings on line\(s\) 1, 2 of inline'",
        ),
    ],
)
def test_each_invalid_prop_is_named(props, message):
    props = {"script": LifecycleScript.from_text("echo\n"), **props}
    with pytest.raises(ConstructValidationError, match=message):
        StudioLifecycleConfig(new_stack(), "LC", **props)


def test_empty_setup():
    with pytest.raises(
        ConstructValidationError,
        match=r"setup.steps: got 'no step that runs at app start'; allowed: at least one step",
    ):
        StudioLifecycleConfig(new_stack(), "LC", setup=StudioSetup([]))


def test_content_is_stored_as_given():
    stack = new_stack()
    lc = StudioLifecycleConfig(stack, "LC", setup=SETUP)
    (config,) = Template.from_stack(stack).find_resources(LC).values()
    content = config["Properties"]["StudioLifecycleConfigContent"]
    assert base64.b64decode(content).decode() == lc.script.text
