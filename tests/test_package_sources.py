"""Package sources: every installing step has one, or synth fails naming the step and the fix.

Covers the S3 conda channel (CondaChannel and PackageIndex.conda_channel_s3), environments
built from a built-in one without any channel (CondaEnvironment.base_environment), the
synth-time check where a setup meets its notebook, and the example config's fields.
"""

from __future__ import annotations

import copy
import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk.assertions import Match, Template

from sagemaker_constructs import (
    CondaChannel,
    CondaChannelS3,
    CondaEnvironment,
    ConstructValidationError,
    NotebookInstance,
    NotebookLifecycleConfig,
    NotebookSetup,
    PackageIndex,
    PackageInstall,
)
from sagemaker_constructs.setup.notebook_setup import unbundle
from stacks import ConfigError, parse_config
from tests.conftest import new_stack
from tests.test_config import BASE

MIRROR = {"code_artifact_domain": "ml", "code_artifact_repository": "pypi"}
CHANNEL = CondaChannelS3(bucket_name="team-conda-{account}-{region}", key_arn="arn:key")


def _vpc(stack: cdk.Stack) -> ec2.Vpc:
    return ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        restrict_default_security_group=False,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="i", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )


def _notebook(setup: NotebookSetup, **kwargs) -> tuple[cdk.Stack, NotebookInstance]:
    stack = new_stack()
    lc = NotebookLifecycleConfig(stack, "Lc", setup=setup)
    vpc = None if kwargs.get("allow_direct_internet") else _vpc(stack)
    nb = NotebookInstance(stack, "Nb", vpc=vpc, lifecycle_config=lc, **kwargs)
    return stack, nb


def _error_lines(setup: NotebookSetup, **kwargs) -> list[str]:
    with pytest.raises(ConstructValidationError) as err:
        _notebook(setup, **kwargs)
    return [line for line in str(err.value).splitlines() if line.startswith("  - ")]


# --- the synth-time check ---------------------------------------------------------------


def test_conda_environment_without_a_conda_source_fails_naming_step_kind_and_fix():
    setup = NotebookSetup(
        [PackageIndex(**MIRROR), CondaEnvironment(name="geo", pip_packages=["shapely==2.0.6"])]
    )
    (line,) = _error_lines(setup)
    assert "steps[1] (conda-environment:geo)" in line
    assert "conda packages (python=3.11 ipykernel)" in line
    assert "conda_channel_s3" in line and "base_environment='python3'" in line


def test_each_kind_without_a_source_is_its_own_line():
    setup = NotebookSetup(
        [
            CondaEnvironment(name="geo", pip_packages=["shapely==2.0.6"]),
            PackageInstall(kernel="python3", conda_packages=["numpy=1.26.4"]),
        ]
    )
    lines = _error_lines(setup)
    assert [re.search(r"steps\[\d\] \(\S+\)", x).group(0) for x in lines] == [
        "steps[0] (conda-environment:geo)",
        "steps[0] (conda-environment:geo)",
        "steps[1] (packages:python3)",
    ]
    assert ["conda packages" in lines[0], "pip packages" in lines[1]] == [True, True]
    assert "PackageMirror" in lines[1]


@pytest.mark.parametrize(
    "index",
    [
        PackageIndex(**MIRROR, conda_channel_s3=CHANNEL),
        PackageIndex(**MIRROR, conda_channel="https://conda.example.com/main"),
    ],
    ids=["s3-channel", "channel-url"],
)
def test_a_conda_source_of_either_kind_satisfies_the_check(index):
    setup = NotebookSetup([index, CondaEnvironment(name="geo", pip_packages=["shapely==2.0.6"])])
    _notebook(setup)  # no error


def test_an_environment_from_a_built_in_one_needs_only_a_pip_source():
    env = CondaEnvironment(name="geo", base_environment="python3", pip_packages=["x==1"])
    _notebook(NotebookSetup([PackageIndex(**MIRROR), env]))
    (line,) = _error_lines(NotebookSetup([env]))
    assert "pip packages (x==1)" in line


def test_direct_internet_needs_no_source():
    setup = NotebookSetup([CondaEnvironment(name="geo")])
    _notebook(setup, allow_direct_internet=True)


def test_base_environment_is_a_built_in_one_and_takes_no_conda_packages():
    setup = NotebookSetup(
        [
            PackageIndex(**MIRROR),
            CondaEnvironment(name="a", base_environment="tensorflow2_p310"),
            CondaEnvironment(name="b", base_environment="python3", conda_packages=["x=1"]),
        ]
    )
    problems = {field: allowed for field, _, allowed in setup.problems()}
    assert "python3, pytorch" in problems["steps[1] (conda-environment:a).base_environment"]
    assert "use pip_packages" in problems["steps[2] (conda-environment:b).conda_packages"]


def test_a_conda_channel_alone_is_a_valid_package_index():
    assert NotebookSetup([PackageIndex(conda_channel_s3=CHANNEL)]).problems() == []
    (problem,) = NotebookSetup([PackageIndex()]).problems()
    assert problem[0] == "steps[0] (package-index).pip_index_url/code_artifact_domain"


def test_channel_fields_are_validated():
    bad = CondaChannelS3(bucket_name="Team_Bucket", prefix="/x/", local_dir="relative")
    fields = [f for f, _, _ in NotebookSetup([PackageIndex(conda_channel_s3=bad)]).problems()]
    assert fields == [
        "steps[0] (package-index).conda_channel_s3.bucket_name",
        "steps[0] (package-index).conda_channel_s3.prefix",
        "steps[0] (package-index).conda_channel_s3.local_dir",
    ]


# --- composed scripts -------------------------------------------------------------------


def _step_body(script: str, name: str) -> str:
    match = re.search(
        rf"steps/\d\d-{name}\.sh\" << 'SMC_STEP_END'\n(.*?)\nSMC_STEP_END", script, re.S
    )
    assert match, f"no step {name}"
    return match.group(1)


def test_the_channel_is_fetched_before_conda_creates_and_not_for_a_built_in_clone():
    setup = NotebookSetup(
        [
            PackageIndex(**MIRROR, conda_channel_s3=CHANNEL),
            CondaEnvironment(name="geo", conda_packages=["gdal=3.9.2"]),
            CondaEnvironment(name="light", base_environment="python3", pip_packages=["x==1"]),
        ]
    )
    create = setup.on_create_text()
    body = _step_body(create, "conda-environments")
    fetch = body.index("conda_channel_s3.py")
    assert fetch < body.index("create_conda_env.sh") < body.index("create_conda_env_from_builtin")
    assert "export SMC_CONDA_CHANNEL_BUCKET='team-conda-{account}-{region}'" in body
    assert "export SMC_BASE_ENV=python3" in body
    assert {"conda_channel_s3.py", "create_conda_env_from_builtin.sh"} <= set(unbundle(create))
    # the package index still sets up pip only (package_index.sh knows nothing of S3)
    assert "SMC_CONDA_CHANNEL" not in _step_body(create, "package-index")
    # nothing to fetch on start: no conda install there, and on_every_start is off
    assert "conda_channel_s3.py" not in setup.on_start_text()


def test_on_start_fetches_before_conda_installs_into_built_in_envs_or_when_asked():
    install = PackageInstall(kernel="python3", conda_packages=["numpy=1.26.4"])
    start = NotebookSetup([PackageIndex(conda_channel_s3=CHANNEL), install]).on_start_text()
    body = _step_body(start, "packages")
    assert body.index("conda_channel_s3.py") < body.index("install_packages.sh")
    every = CondaChannelS3(bucket_name="b-1", on_every_start=True)
    start = NotebookSetup([PackageIndex(**MIRROR, conda_channel_s3=every)]).on_start_text()
    assert re.search(r"^smc_run_step conda-channel detached false ", start, re.M)


def test_a_conda_only_index_runs_no_pip_index_fragment():
    env = CondaEnvironment(name="geo", conda_packages=["gdal=3.9.2"])
    create = NotebookSetup([PackageIndex(conda_channel_s3=CHANNEL), env]).on_create_text()
    assert "package_index.sh" not in unbundle(create)


# --- the notebook's permissions ---------------------------------------------------------


def _statements(stack: cdk.Stack) -> dict[str, dict]:
    template = Template.from_stack(stack).to_json()
    return {
        s["Sid"]: s
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if "Sid" in s
    }


def test_the_notebook_reads_only_the_channel_prefix_and_decrypts_with_its_key():
    env = CondaEnvironment(name="geo", conda_packages=["gdal=3.9.2"])
    stack, _ = _notebook(NotebookSetup([PackageIndex(conda_channel_s3=CHANNEL), env]))
    statements = _statements(stack)
    bucket = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::team-conda-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}]]}  # fmt: skip
    assert statements["CondaChannelList"]["Action"] == "s3:ListBucket"
    assert statements["CondaChannelList"]["Resource"] == bucket
    assert statements["CondaChannelList"]["Condition"] == {
        "StringLike": {"s3:prefix": ["conda-channel/*"]}
    }
    read = statements["CondaChannelRead"]
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"]["Fn::Join"][1][-1] == "/conda-channel/*"
    assert statements["CondaChannelDecrypt"] == {
        "Sid": "CondaChannelDecrypt",
        "Action": "kms:Decrypt",
        "Effect": "Allow",
        "Resource": "arn:key",
    }


def test_without_a_channel_the_notebook_gets_no_s3_channel_access():
    stack, _ = _notebook(NotebookSetup([PackageIndex(**MIRROR)]))
    assert not [sid for sid in _statements(stack) if sid.startswith("CondaChannel")]


# --- the CondaChannel construct ---------------------------------------------------------


def test_channel_bucket_is_kms_encrypted_retained_tls_only_and_private():
    stack = new_stack()
    channel = CondaChannel(stack, "Channel")
    t = Template.from_stack(stack)
    t.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            Match.object_like(
                                {
                                    "ServerSideEncryptionByDefault": Match.object_like(
                                        {"SSEAlgorithm": "aws:kms"}
                                    )
                                }
                            )
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "VersioningConfiguration": {"Status": "Enabled"},
                }
            ),
        },
    )
    t.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )
    t.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain"})
    assert channel.source.bucket_name == "sagemaker-conda-channel-{account}-{region}"
    assert channel.source.key_arn is not None
    t.resource_count_is("Custom::CDKBucketDeployment", 0)


def test_grant_read_is_scoped_to_the_prefix():
    stack = new_stack()
    channel = CondaChannel(stack, "Channel", prefix="channels/ml")
    role = cdk.aws_iam.Role(stack, "R", assumed_by=cdk.aws_iam.AccountRootPrincipal())
    channel.grant_read(role)
    doc = Template.from_stack(stack).to_json()
    (policy,) = [r for r in doc["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(s["Action"] for s in statements) == [
        "kms:Decrypt",
        "s3:GetObject",
        "s3:ListBucket",
    ]
    listing = next(s for s in statements if s["Action"] == "s3:ListBucket")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["channels/ml/*"]}}
    reading = next(s for s in statements if s["Action"] == "s3:GetObject")
    assert reading["Resource"]["Fn::Join"][1][-1] == "/channels/ml/*"
    assert not any(s["Action"] in ("s3:*", "s3:GetObject*") for s in statements)


def test_an_existing_bucket_must_have_a_name_known_at_synth_time():
    stack = new_stack()
    named = s3.Bucket.from_bucket_name(stack, "Named", "org-conda")
    channel = CondaChannel(stack, "Ok", bucket=named)
    assert channel.source.bucket_name == "org-conda" and channel.key is None
    tokened = s3.Bucket(stack, "Made")
    with pytest.raises(ConstructValidationError, match=r"bucket: got .*known at synth time"):
        CondaChannel(stack, "Bad", bucket=tokened)


def test_invalid_channel_props_are_reported_together():
    with pytest.raises(ConstructValidationError) as err:
        CondaChannel(new_stack(), "C", bucket_name="Bad_Name", prefix="/x")
    assert "2 invalid properties" in str(err.value)
    assert "prefix: got '/x'" in str(err.value) and "bucket_name: got 'Bad_Name'" in str(err.value)


def test_publishing_at_deploy_uploads_under_the_prefix_without_pruning(tmp_path):
    (tmp_path / "noarch").mkdir()
    (tmp_path / "noarch" / "repodata.json").write_text("{}")
    stack = new_stack()
    CondaChannel(stack, "C", sources=[s3deploy.Source.asset(str(tmp_path))])
    Template.from_stack(stack).has_resource_properties(
        "Custom::CDKBucketDeployment",
        {"DestinationBucketKeyPrefix": "conda-channel", "Prune": False, "RetainOnDelete": True},
    )


# --- the example config -----------------------------------------------------------------


def _config_errors(data) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(data, "teams.yaml")
    return str(err.value).splitlines()


def test_example_config_without_its_conda_source_fails_with_one_line_naming_the_step():
    data = copy.deepcopy(BASE)
    del data["teams"][2]["setup"]["package_index"]["use_platform_conda_channel"]
    (line,) = _config_errors(data)
    assert line.startswith("teams.yaml: teams[2].setup.conda_environments[0]: got conda packages")
    assert "use_platform_conda_channel: true" in line


def test_example_config_without_its_pip_source_names_each_step():
    data = copy.deepcopy(BASE)
    del data["teams"][0]["setup"]["package_index"]
    (line,) = _config_errors(data)
    assert line.startswith("teams.yaml: teams[0].setup.conda_environments[0]: got pip packages")


def test_platform_conda_channel_is_required_for_use_platform_conda_channel():
    data = copy.deepcopy(BASE)
    del data["platform"]["conda_channel"]
    assert _config_errors(data) == [
        "teams.yaml: teams[2].setup.package_index.use_platform_conda_channel: got True; "
        "allowed: only with platform.conda_channel set"
    ]


def test_platform_conda_channel_fields_are_validated():
    data = copy.deepcopy(BASE)
    data["platform"]["conda_channel"] = {"bucket_name": "Conda_Bucket", "prefix": "/c/"}
    lines = _config_errors(data)
    assert [line.split(":")[1].strip() for line in lines] == [
        "platform.conda_channel.bucket_name",
        "platform.conda_channel.prefix",
    ]


def test_the_example_app_serves_every_setup_from_what_it_deploys(example):
    platform = example.template_json(example.built.platform.artifact_id)
    buckets = [
        r["Properties"].get("BucketName")
        for r in platform["Resources"].values()
        if r["Type"] == "AWS::S3::Bucket"
    ]
    assert any("sagemaker-conda-channel-" in str(b) for b in buckets)
    vision = example.template_json(example.built.teams["vision"].artifact_id)
    text = str(vision)
    assert "CondaChannelRead" in text and "CondaChannelDecrypt" in text
    # the S3 gateway endpoint admits this account's buckets, the channel's included
    (endpoint,) = [
        r
        for r in platform["Resources"].values()
        if r["Type"] == "AWS::EC2::VPCEndpoint" and r["Properties"]["VpcEndpointType"] == "Gateway"
    ]
    (own,) = [
        s
        for s in endpoint["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "OwnBucketsOnly"
    ]
    assert own["Condition"]["StringEquals"]["aws:ResourceAccount"] == {"Ref": "AWS::AccountId"}


# --- steps users ask for ----------------------------------------------------------------


def test_environment_variables_are_set_on_start_in_the_foreground_as_json():
    from sagemaker_constructs import EnvironmentVariables

    setup = NotebookSetup([EnvironmentVariables(values={"MLFLOW_URI": "http://mlflow:5000"})])
    assert setup.on_create_text() is None  # the home is reset on stop: start only
    start = setup.on_start_text()
    assert re.search(r"^smc_run_step environment-variables foreground false ", start, re.M)
    body = _step_body(start, "environment-variables")
    assert """export SMC_ENV_VARS='{"MLFLOW_URI": "http://mlflow:5000"}'""" in body
    assert "environment_variables.py" in unbundle(start)
    _notebook(setup)  # installs nothing: no source needed


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({}, "values"),
        ({"PATH": "/x"}, "values"),
        ({"1BAD": "x"}, "values"),
        ({"DB_PASSWORD": "x"}, "values[DB_PASSWORD]"),
        ({"OK": "two\nlines"}, "values[OK]"),
        ({"OK": 3}, "values[OK]"),
    ],
)
def test_environment_variables_are_validated(values, field):
    from sagemaker_constructs import EnvironmentVariables

    problems = NotebookSetup([EnvironmentVariables(values=values)]).problems()
    assert [p[0] for p in problems] == [f"steps[0] (environment-variables).{field}"]


def test_jupyterlab_extensions_go_into_jupyters_env_detached_without_restart():
    from sagemaker_constructs import JupyterLabExtension

    step = JupyterLabExtension(pip_packages=["jupyterlab-git==0.51.2"])
    setup = NotebookSetup([PackageIndex(**MIRROR), step])
    start = setup.on_start_text()
    assert re.search(r"^smc_run_step jupyterlab-extensions detached true ", start, re.M)
    body = _step_body(start, "jupyterlab-extensions")
    assert 'SMC_ENV_DIR="${ANACONDA_DIR}/envs/JupyterSystemEnv"' in body
    assert "export SMC_PACKAGES=jupyterlab-git==0.51.2" in body
    assert "systemctl" not in body
    (line,) = _error_lines(NotebookSetup([step]))
    assert "steps[0] (jupyterlab-extensions): got 'pip packages (jupyterlab-git==0.51.2)" in line


def test_pip_everywhere_installs_into_each_built_in_env_on_start_and_each_setup_env_on_create():
    from sagemaker_constructs import PipInstallEverywhere

    setup = NotebookSetup(
        [
            PackageIndex(**MIRROR, conda_channel_s3=CHANNEL),
            CondaEnvironment(name="geo"),
            PipInstallEverywhere(pip_packages=["polars==1.9.0"]),
        ]
    )
    start = _step_body(setup.on_start_text(), "packages")
    assert re.findall(r"SMC_ENV_DIR=\"\$\{ANACONDA_DIR\}/envs/(\w+)\"", start) == [
        "python3",
        "pytorch",
    ]
    create = _step_body(setup.on_create_text(), "conda-environments")
    assert create.index("create_conda_env.sh") < create.index('SMC_ENV_DIR="${SMC_ENVS_DIR}/geo"')
    al2 = NotebookSetup(setup.steps, platform="notebook-al2-v3").on_start_text()
    assert "envs/tensorflow2_p310" in _step_body(al2, "packages")


def test_new_list_steps_need_pinned_packages():
    from sagemaker_constructs import JupyterLabExtension, PipInstallEverywhere

    problems = NotebookSetup(
        [
            PipInstallEverywhere(pip_packages=[]),
            JupyterLabExtension(pip_packages=["jupyterlab-git"]),
        ]
    ).problems()
    assert [(p[0], p[1]) for p in problems] == [
        ("steps[0] (pip-everywhere).pip_packages", []),
        ("steps[1] (jupyterlab-extensions).pip_packages[0]", "jupyterlab-git"),
    ]


def test_config_fields_of_the_new_steps_name_the_field():
    data = copy.deepcopy(BASE)
    data["teams"][1]["setup"]["jupyterlab_extensions"] = ["jupyterlab-git"]
    data["teams"][1]["setup"]["environment_variables"] = {"GITHUB_TOKEN": "x"}
    lines = _config_errors(data)
    assert [line.split(": got")[0] for line in lines] == [
        "teams.yaml: teams[1].setup.jupyterlab_extensions[0]",
        "teams.yaml: teams[1].setup.environment_variables[GITHUB_TOKEN]",
    ]
    data["teams"][1]["setup"]["jupyterlab_extensions"] = ["jupyterlab-git==0.51.2"]
    data["teams"][1]["setup"]["environment_variables"] = {"MLFLOW_URI": "http://m"}
    data["teams"][1]["setup"]["pip_everywhere"] = ["polars==1.9.0"]
    config = parse_config(data, "teams.yaml")
    labels = [s.label for s in config.teams[1].setup.notebook_setup(None).steps]
    assert {"pip-everywhere", "jupyterlab-extensions", "environment-variables"} <= set(labels)


def test_studio_rejects_what_its_script_does_not_run_and_reports_missing_sources():
    from sagemaker_constructs import EnvironmentVariables, StudioSetup

    setup = StudioSetup(
        [
            PackageIndex(**MIRROR, conda_channel_s3=CHANNEL),
            EnvironmentVariables(values={"A": "b"}),
            PackageInstall(kernel="python3", conda_packages=["numpy=1.26.4"]),
        ]
    )
    fields = [p[0] for p in setup.problems()]
    assert fields == [
        "steps[0] (package-index).conda_channel_s3",
        "steps[1] (environment-variables).type",
        # conda packages belong in a custom image in Studio (the script installs pip only)
        "steps[2] (packages:python3).conda_packages",
    ]
    # the S3 channel is no conda source in Studio: the conda install has none
    assert [(i, kind) for i, kind, _ in setup.missing_sources()] == [(2, "conda")]


def test_studio_config_without_internet_needs_sources():
    data = copy.deepcopy(BASE)
    # pip packages with no package index: no source without internet
    data["platform"]["studio"]["setup"].pop("package_index", None)
    data["platform"]["studio"]["setup"]["packages"] = [
        {"kernel": "python3", "pip_packages": ["polars==1.9.0"]}
    ]
    (line,) = _config_errors(data)
    assert line.startswith("teams.yaml: platform.studio.setup.packages[0]: got pip packages")
    data["platform"]["studio"]["allow_public_internet"] = True
    parse_config(data, "teams.yaml")
