"""NotebookLifecycleConfig and LifecycleScript: encoding, limits, validation."""

from __future__ import annotations

import base64
import json

import pytest
from aws_cdk.assertions import Template

from sagemaker_constructs import (
    MAX_BASE64_CHARS,
    ConstructValidationError,
    LifecycleScript,
    NotebookLifecycleConfig,
    lifecycle_scripts,
)
from tests.conftest import new_stack

LC = "AWS::SageMaker::NotebookInstanceLifecycleConfig"


def _decoded(t: Template, key: str) -> str:
    props = next(iter(t.find_resources(LC).values()))["Properties"]
    return base64.b64decode(props[key][0]["Content"]).decode()


def test_scripts_are_base64_encoded_and_round_trip():
    stack = new_stack()
    NotebookLifecycleConfig(
        stack,
        "Lc",
        lifecycle_config_name="team-a",
        on_create=LifecycleScript.from_text("#!/bin/bash\necho create\n"),
        on_start=LifecycleScript.from_text("#!/bin/bash\necho start é\n"),
    )
    t = Template.from_stack(stack)
    t.has_resource_properties(LC, {"NotebookInstanceLifecycleConfigName": "team-a"})
    assert _decoded(t, "OnCreate") == "#!/bin/bash\necho create\n"
    assert _decoded(t, "OnStart") == "#!/bin/bash\necho start é\n"


def test_only_given_scripts_are_set():
    stack = new_stack()
    NotebookLifecycleConfig(stack, "Lc", on_start=LifecycleScript.from_text("echo hi\n"))
    props = next(iter(Template.from_stack(stack).find_resources(LC).values()))["Properties"]
    assert "OnCreate" not in props and "OnStart" in props


def test_from_file_keeps_the_text_and_names_the_file(tmp_path):
    path = tmp_path / "start.sh"
    path.write_bytes(b"#!/bin/bash\r\necho hi\r\n")
    script = LifecycleScript.from_file(path)
    assert script.text == "#!/bin/bash\r\necho hi\r\n"
    stack = new_stack()
    with pytest.raises(
        ConstructValidationError,
        match=rf"on_start: got 'CRLF line endings on line\(s\) 1, 2 of {path}'",
    ):
        NotebookLifecycleConfig(stack, "Lc", on_start=script)


def test_crlf_is_rejected_naming_the_script():
    stack = new_stack()
    with pytest.raises(
        ConstructValidationError,
        match=r"on_create: got 'CRLF line endings on line\(s\) 2 of inline'; allowed: LF line endings only",
    ):
        NotebookLifecycleConfig(stack, "Lc", on_create=LifecycleScript.from_text("a\nb\r\nc\n"))


def test_size_limit_is_on_the_base64_form_and_reports_the_actual_size():
    # 12,288 bytes encode to exactly 16,384 base64 characters: the largest allowed.
    at_limit = LifecycleScript.from_text("#" * 12_288)
    assert len(at_limit.base64) == MAX_BASE64_CHARS
    NotebookLifecycleConfig(new_stack(), "Lc", on_start=at_limit)

    over = LifecycleScript.from_text("#" * 12_289)
    with pytest.raises(
        ConstructValidationError,
        match=r"on_start: got '16388 base64 characters \(12289 bytes\) from inline'; allowed: at most 16384 base64 characters \(the service limit\); allow_s3_asset=False",
    ):
        NotebookLifecycleConfig(new_stack(), "Lc", on_start=over, allow_s3_asset=False)


def test_oversize_script_is_stored_as_an_s3_asset_and_fetched(tmp_path):
    import aws_cdk as cdk
    from aws_cdk import aws_ec2 as ec2

    from sagemaker_constructs import NotebookInstance

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Big")
    big = "#!/bin/bash\n" + "echo padding-line-to-exceed-the-limit\n" * 500
    lc = NotebookLifecycleConfig(stack, "Lc", on_start=LifecycleScript.from_text(big))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        restrict_default_security_group=False,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="i", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    NotebookInstance(stack, "Nb", vpc=vpc, lifecycle_config=lc)
    assert len(lc.assets) == 1
    t = Template.from_stack(stack)
    content = next(iter(t.find_resources(LC).values()))["Properties"]["OnStart"][0]["Content"]
    assert "Fn::Base64" in content
    text = json.dumps(content)
    assert "download_file" in text and "exec bash" in text
    # The asset holds the full script, and the notebook's role may read exactly that object.
    staged = list(tmp_path.glob("asset.*.sh"))
    assert [p.read_text() for p in staged] == [big]
    statements = json.dumps(t.find_resources("AWS::IAM::ManagedPolicy"))
    assert "s3:GetObject" in statements and lc.assets[0].asset_hash in statements


def test_oversize_script_in_a_bootstrapless_stack_is_an_error():
    import aws_cdk as cdk

    stack = cdk.Stack(cdk.App(), "NoAssets", synthesizer=cdk.BootstraplessSynthesizer())
    with pytest.raises(
        ConstructValidationError,
        match=r"on_start: .*; the stack's BootstraplessSynthesizer cannot publish an S3 asset",
    ):
        NotebookLifecycleConfig(stack, "Lc", on_start=LifecycleScript.from_text("#" * 20_000))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, r"on_create/on_start: got None; allowed: at least one script"),
        ({"on_start": LifecycleScript.from_text("  \n")}, r"on_start: got 'an empty script'"),
        (
            {"on_start": LifecycleScript.from_text("x"), "lifecycle_config_name": "team_a"},
            r"lifecycle_config_name: got 'team_a'",
        ),
        (
            {"on_start": LifecycleScript.from_text("x"), "lifecycle_config_name": "a" * 64},
            r"at most 63 characters \(got 64\)",
        ),
    ],
)
def test_validation_messages(kwargs, message):
    with pytest.raises(ConstructValidationError, match=message):
        NotebookLifecycleConfig(new_stack(), "Lc", **kwargs)


def test_problems_of_both_scripts_are_reported_together():
    with pytest.raises(ConstructValidationError) as err:
        NotebookLifecycleConfig(
            new_stack(),
            "Lc",
            on_create=LifecycleScript.from_text("a\r\n"),
            on_start=LifecycleScript.from_text("#" * 20_000),
            allow_s3_asset=False,
        )
    assert [p.prop for p in err.value.problems] == ["on_create", "on_start"]


def test_shipped_fragments_are_packaged_and_valid():
    assert "register_kernels.sh" in lifecycle_scripts.names()
    from sagemaker_constructs.setup.notebook_setup import _bundle

    for name in lifecycle_scripts.names():
        text = LifecycleScript.from_text(lifecycle_scripts.read(name))
        assert text.problems(allow_oversize=True) == [], name
        # The size as they are embedded: compacted, in the gzip'd bundle.
        shipped = "\n".join(_bundle([name])) + "\n"
        assert LifecycleScript.from_text(shipped).problems() == [], name
    with pytest.raises(FileNotFoundError, match="available: .*register_kernels.sh"):
        lifecycle_scripts.read("nope.sh")


def test_notebook_with_an_imported_lifecycle_config() -> None:
    from aws_cdk import aws_ec2 as ec2

    from sagemaker_constructs import INotebookLifecycleConfig, NotebookInstance

    stack = new_stack()
    imported = NotebookLifecycleConfig.from_notebook_lifecycle_config_name(
        stack, "Imported", "team-a-setup"
    )
    assert isinstance(imported, INotebookLifecycleConfig)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0)
    NotebookInstance(
        stack,
        "Notebook",
        notebook_instance_name="alice",
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        lifecycle_config=imported,
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SageMaker::NotebookInstance", {"LifecycleConfigName": "team-a-setup"}
    )
    template.resource_count_is("AWS::SageMaker::NotebookInstanceLifecycleConfig", 0)


def test_imported_lifecycle_config_name_is_validated() -> None:
    stack = new_stack()
    with pytest.raises(ConstructValidationError, match=r"lifecycle_config_name.*bad_name!"):
        NotebookLifecycleConfig.from_notebook_lifecycle_config_name(stack, "Imported", "bad_name!")
