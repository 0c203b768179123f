"""StudioDomain: secure defaults, validation messages, interfaces, execution roles."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from sagemaker_constructs import (
    ConstructValidationError,
    LifecycleScript,
    NotebookNetwork,
    StudioCustomImage,
    StudioDomain,
    StudioLifecycleConfig,
)
from tests.conftest import isolated_vpc, new_stack

DOMAIN = "AWS::SageMaker::Domain"


def make(**props) -> StudioDomain:
    stack = new_stack()
    props.setdefault("vpc", isolated_vpc(stack))
    return StudioDomain(stack, "Domain", **props)


@pytest.fixture(scope="module")
def default_domain() -> tuple[cdk.Stack, StudioDomain, Template]:
    domain = make(domain_name="ds-studio")
    stack = cdk.Stack.of(domain)
    return stack, domain, Template.from_stack(stack)


def user_settings(t: Template) -> dict:
    (domain,) = t.find_resources(DOMAIN).values()
    return domain["Properties"]["DefaultUserSettings"]


# --- secure defaults ----------------------------------------------------------------


def test_vpc_only_iam_auth_and_customer_managed_key(default_domain):
    _, _, t = default_domain
    t.has_resource_properties(
        DOMAIN,
        {
            "AppNetworkAccessType": "VpcOnly",
            "AuthMode": "IAM",
            "DomainName": "ds-studio",
            "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^DomainKey"), "Arn"]},
            "VpcId": {"Ref": Match.string_like_regexp("^Vpc")},
            "SubnetIds": Match.any_value(),
        },
    )
    t.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    t.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain"})


def test_domain_and_its_home_file_system_are_retained(default_domain):
    _, _, t = default_domain
    t.has_resource(DOMAIN, {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})


def test_default_user_settings(default_domain):
    _, _, t = default_domain
    settings = user_settings(t)
    assert settings["SharingSettings"] == {"NotebookOutputOption": "Disabled"}
    assert settings["SpaceStorageSettings"] == {
        "DefaultEbsStorageSettings": {
            "DefaultEbsVolumeSizeInGb": 5,
            "MaximumEbsVolumeSizeInGb": 100,
        }
    }
    assert settings["DefaultLandingUri"] == "studio::"
    for app in ("JupyterLabAppSettings", "CodeEditorAppSettings"):
        assert settings[app]["AppLifecycleManagement"] == {
            "IdleSettings": {"IdleTimeoutInMinutes": 60, "LifecycleManagement": "ENABLED"}
        }
        assert settings[app]["DefaultResourceSpec"] == {"InstanceType": "ml.t3.medium"}
    (role,) = settings["ExecutionRole"]["Fn::GetAtt"][:1]
    assert role.startswith("DomainRole")


def test_source_identity_and_tag_propagation(default_domain):
    _, _, t = default_domain
    t.has_resource_properties(
        DOMAIN,
        {
            "DomainSettings": {"ExecutionRoleIdentityConfig": "USER_PROFILE_NAME"},
            "TagPropagation": "ENABLED",
        },
    )


def test_created_security_group_allows_nfs_within_itself_and_https_out(default_domain):
    stack, domain, t = default_domain
    sg = stack.resolve(domain.security_group.security_group_id)
    assert user_settings(t)["SecurityGroups"] == [sg]
    t.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049, "SourceSecurityGroupId": sg},
    )
    t.has_resource_properties(
        "AWS::EC2::SecurityGroupEgress",
        {"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049, "DestinationSecurityGroupId": sg},
    )
    (group,) = t.find_resources("AWS::EC2::SecurityGroup").values()
    assert "SecurityGroupIngress" not in group["Properties"]
    # Closed egress: HTTPS to the VPC's own range (its endpoints), never the internet.
    ((egress),) = group["Properties"]["SecurityGroupEgress"]
    assert (egress["FromPort"], egress["ToPort"]) == (443, 443)
    assert egress["CidrIp"]["Fn::GetAtt"][1] == "CidrBlock"


def test_default_execution_role_is_least_privilege(default_domain):
    _, _, t = default_domain
    (role,) = t.find_resources("AWS::IAM::Role").values()
    assert "ManagedPolicyArns" not in role["Properties"]
    assert "Policies" not in role["Properties"]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert {a for s in trust for a in _list(s["Action"])} == {
        "sts:AssumeRole",
        "sts:SetSourceIdentity",
    }
    t.resource_count_is("AWS::IAM::Policy", 0)
    (policy,) = t.find_resources("AWS::IAM::ManagedPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = [a for s in statements for a in _list(s["Action"])]
    assert all("*" not in a for a in actions)
    # No data access: S3 only with output sharing, which is off.
    assert not [a for a in actions if a.startswith("s3:")]


def test_spaces_and_apps_only_for_their_owner_on_allowed_instance_types(default_domain):
    stack, domain, t = default_domain
    (policy,) = t.find_resources("AWS::IAM::ManagedPolicy").values()
    by_sid = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    for sid in ("OwnPrivateSpaces", "OwnPrivateApps"):
        condition = by_sid[sid]["Condition"]
        owner = json.dumps(condition["ArnLike"]["sagemaker:OwnerUserProfileArn"])
        assert json.dumps(stack.resolve(domain.domain_id)) in owner
        assert "/${aws:SourceIdentity}" in owner
        assert condition["StringEquals"] == {"sagemaker:SpaceSharingType": "Private"}
        assert condition["ForAllValues:StringEquals"] == {
            "sagemaker:InstanceTypes": [
                "ml.m5.large",
                "ml.m5.xlarge",
                "ml.t3.large",
                "ml.t3.medium",
            ]
        }
    assert by_sid["TagOnCreate"]["Condition"] == {"Null": {"sagemaker:TaggingAction": "false"}}


def test_outputs_only_when_asked_and_exposed_attributes(default_domain):
    stack, domain, t = default_domain
    assert t.find_outputs("*") == {}
    asked = make(domain_name="ds-studio", create_outputs=True)
    outputs = Template.from_stack(cdk.Stack.of(asked)).find_outputs("*")
    assert any("DomainId" in k for k in outputs) and any("Url" in k for k in outputs)
    assert domain.resource.cfn_resource_type == DOMAIN
    assert isinstance(domain.key, kms.Key)
    assert isinstance(domain.role, iam.Role)
    assert domain.policy is not None
    assert stack.resolve(domain.domain_id) == {
        "Fn::GetAtt": [stack.resolve(domain.resource.logical_id), "DomainId"]
    }


def test_secure_domain_has_no_warnings(default_domain):
    stack, _, _ = default_domain
    assert Annotations.from_stack(stack).find_warning("*", Match.any_value()) == []


def test_is_usable_as_grantable_and_connectable():
    stack = new_stack()
    vpc = isolated_vpc(stack)
    domain = StudioDomain(stack, "Domain", vpc=vpc)
    # jsii accepts the construct where aws-cdk-lib expects IGrantable / IConnectable.
    bucket = s3.Bucket(stack, "Data")
    bucket.grant_read(domain)
    db = ec2.SecurityGroup(stack, "Db", vpc=vpc)
    db.connections.allow_from(domain, ec2.Port.tcp(5432))
    t = Template.from_stack(stack)
    t.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "FromPort": 5432,
            "SourceSecurityGroupId": {
                "Fn::GetAtt": [Match.string_like_regexp("^DomainSecurityGroup"), "GroupId"]
            },
        },
    )
    assert "s3:GetObject" in json.dumps(t.find_resources("AWS::IAM::ManagedPolicy"))
    t.resource_count_is("AWS::IAM::Policy", 0)
    assert domain.grant_principal is domain.role


# --- options --------------------------------------------------------------------------


def test_studio_security_group_of_a_notebook_only_network_is_named_not_crashed():
    # NotebookNetwork.studio_security_group is None without studio=True; passing it used to
    # raise AttributeError deep inside the domain.
    stack = new_stack()
    network = NotebookNetwork(stack, "Net")
    assert network.studio_security_group is None
    with pytest.raises(ConstructValidationError) as raised:
        StudioDomain(
            stack,
            "Domain",
            vpc=network.vpc,
            security_groups=[network.notebook_security_group, network.studio_security_group],
            domain_name="bad name!",
        )
    message = str(raised.value)
    assert (
        "security_groups[1]: got None; allowed: an ec2.ISecurityGroup (NotebookNetwork.studio_security_group"
        in message
    )
    assert "studio=True" in message
    assert "security_groups[0]" not in message
    # Every problem is in the one error, not only the first.
    assert "domain_name: got 'bad name!'" in message


def test_given_security_groups_get_the_nfs_rule_once():
    stack = new_stack()
    network = NotebookNetwork(stack, "Net", studio=True)
    domain = StudioDomain(
        stack,
        "Domain",
        vpc=network.vpc,
        security_groups=[network.studio_security_group],
    )
    assert domain.security_group is None
    t = Template.from_stack(stack)
    sg = stack.resolve(network.studio_security_group.security_group_id)
    nfs_in = t.find_resources(
        "AWS::EC2::SecurityGroupIngress", {"Properties": {"FromPort": 2049}}
    ).values()
    assert [r["Properties"]["SourceSecurityGroupId"] for r in nfs_in] == [sg]
    assert user_settings(t)["SecurityGroups"] == [sg]


def test_instance_types_sizes_idle_and_lifecycle_configs():
    stack = new_stack()
    jupyter = StudioLifecycleConfig(
        stack, "JL", script=LifecycleScript.from_text("echo hi\n"), name_prefix="jl"
    )
    editor = StudioLifecycleConfig(
        stack,
        "CE",
        app_type="CodeEditor",
        script=LifecycleScript.from_text("echo ce\n"),
        name_prefix="ce",
    )
    StudioDomain(
        stack,
        "Domain",
        vpc=isolated_vpc(stack),
        jupyter_lab_instance_types=["ml.t3.medium", "ml.g5.xlarge"],
        default_jupyter_lab_instance_type="ml.g5.xlarge",
        default_ebs_size_gib=20,
        max_ebs_size_gib=200,
        idle_timeout_minutes=120,
        jupyter_lab_lifecycle_config=jupyter,
        code_editor_lifecycle_config=editor,
    )
    t = Template.from_stack(stack)
    settings = user_settings(t)
    jl = settings["JupyterLabAppSettings"]
    assert jl["DefaultResourceSpec"]["InstanceType"] == "ml.g5.xlarge"
    jl_arn = json.dumps(jl["DefaultResourceSpec"]["LifecycleConfigArn"])
    assert ":studio-lifecycle-config/jl-" in jl_arn
    assert [json.dumps(a) for a in jl["LifecycleConfigArns"]] == [jl_arn]
    ce_arn = json.dumps(settings["CodeEditorAppSettings"]["DefaultResourceSpec"])
    assert ":studio-lifecycle-config/ce-" in ce_arn
    assert jl["AppLifecycleManagement"]["IdleSettings"]["IdleTimeoutInMinutes"] == 120
    assert settings["SpaceStorageSettings"]["DefaultEbsStorageSettings"] == {
        "DefaultEbsVolumeSizeInGb": 20,
        "MaximumEbsVolumeSizeInGb": 200,
    }
    (domain,) = t.find_resources(DOMAIN).values()
    assert len(domain["DependsOn"]) == 2  # both configs exist before the domain names them


def test_custom_images_are_attached_to_the_app_settings():
    stack = new_stack()
    image = StudioCustomImage(stack, "Image", image_name="base-py311", image_tag="1.0.0")
    editor = StudioCustomImage(
        stack, "Editor", image_name="editor", image_tag="1.0.0", app_type="CodeEditor"
    )
    domain = StudioDomain(stack, "Domain", vpc=isolated_vpc(stack), custom_images=[image])
    domain.add_custom_image(editor)
    t = Template.from_stack(stack)
    settings = user_settings(t)
    assert settings["JupyterLabAppSettings"]["CustomImages"] == [
        {"AppImageConfigName": "base-py311", "ImageName": "base-py311"}
    ]
    assert settings["CodeEditorAppSettings"]["CustomImages"] == [
        {"AppImageConfigName": "editor", "ImageName": "editor"}
    ]
    (resource,) = t.find_resources(DOMAIN).values()
    for child in (image.version, image.app_image_config, editor.version):
        assert stack.resolve(child.logical_id) in resource["DependsOn"]


def test_output_sharing_when_enabled_uses_the_bucket_prefix_and_key():
    stack = new_stack()
    bucket = s3.Bucket(stack, "Shared")
    key = kms.Key(stack, "SharingKey")
    domain = StudioDomain(
        stack,
        "Domain",
        vpc=isolated_vpc(stack),
        notebook_output_sharing=True,
        sharing_bucket=bucket,
        sharing_prefix="team/shared/",
        sharing_key=key,
    )
    t = Template.from_stack(stack)
    sharing = user_settings(t)["SharingSettings"]
    assert sharing["NotebookOutputOption"] == "Allowed"
    assert sharing["S3KmsKeyId"] == stack.resolve(key.key_arn)
    assert "/team/shared/" in json.dumps(sharing["S3OutputPath"])
    text = json.dumps(t.find_resources("AWS::IAM::ManagedPolicy"))
    assert "WriteSharedNotebooks" in text and "team/shared/*" in text
    Annotations.from_stack(stack).has_warning(
        f"/{stack.stack_name}/Domain", Match.string_like_regexp("notebook_output_sharing=True")
    )
    assert domain.resource is not None


@pytest.mark.parametrize(
    ("props", "cfn", "warning"),
    [
        (
            {"allow_public_internet": True},
            {"AppNetworkAccessType": "PublicInternetOnly"},
            "allow_public_internet=True",
        ),
        (
            {"idle_timeout_minutes": None},
            {
                "DefaultUserSettings": Match.object_like(
                    {
                        "JupyterLabAppSettings": Match.object_like(
                            {
                                "AppLifecycleManagement": {
                                    "IdleSettings": {"LifecycleManagement": "DISABLED"}
                                }
                            }
                        )
                    }
                )
            },
            "idle_timeout_minutes=None",
        ),
        ({"removal_policy": cdk.RemovalPolicy.DESTROY}, {}, "deletes its EFS home file system"),
    ],
)
def test_opt_outs_are_explicit_and_warn(props, cfn, warning):
    domain = make(**props)
    stack = cdk.Stack.of(domain)
    Template.from_stack(stack).has_resource_properties(DOMAIN, cfn)
    Annotations.from_stack(stack).has_warning("/Test/Domain", Match.string_like_regexp(warning))


def test_given_execution_role_and_key_are_used_not_created():
    stack = new_stack()
    role = iam.Role(stack, "Given", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    key = kms.Key(stack, "GivenKey")
    domain = StudioDomain(
        stack, "Domain", vpc=isolated_vpc(stack), execution_role=role, encryption_key=key
    )
    assert domain.role is role and domain.key is key and domain.policy is None
    t = Template.from_stack(stack)
    t.resource_count_is("AWS::IAM::ManagedPolicy", 0)
    t.resource_count_is("AWS::KMS::Key", 1)
    assert user_settings(t)["ExecutionRole"] == stack.resolve(role.role_arn)


def test_configure_execution_role_from_another_stack_keeps_wildcards_local():
    app_stack = new_stack("Studio")
    domain = StudioDomain(app_stack, "Domain", vpc=isolated_vpc(app_stack))
    team = cdk.Stack(app_stack.node.scope, "Team")
    role = iam.Role(team, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    policy = iam.ManagedPolicy(team, "Policy")
    domain.configure_execution_role(role, policy)
    t = Template.from_stack(team)
    (doc,) = [p["Properties"] for p in t.find_resources("AWS::IAM::ManagedPolicy").values()]
    assert doc["Roles"] == [{"Ref": team.resolve(role.node.default_child.logical_id)}]
    for statement in doc["PolicyDocument"]["Statement"]:
        for resource in _list(statement["Resource"]):
            if "*" in json.dumps(resource):
                # Wildcard ARNs name this account and region only: never the other stack.
                assert "Fn::GetStackOutput" not in json.dumps(resource), statement["Sid"]


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"default_ebs_size_gib": 20000},
            r"default_ebs_size_gib: got 20000; allowed: an integer from 5 to 16384",
        ),
        (
            {"max_ebs_size_gib": 20000},
            r"max_ebs_size_gib: got 20000; allowed: an integer from 5 to 16384",
        ),
        (
            {"default_ebs_size_gib": 200, "max_ebs_size_gib": 100},
            r"default_ebs_size_gib: got 200; allowed: at most max_ebs_size_gib \(100\)",
        ),
        (
            {"idle_timeout_minutes": 30},
            r"idle_timeout_minutes: got 30; allowed: an integer from 60 to 525600",
        ),
        (
            {"jupyter_lab_instance_types": ["m5.large"]},
            r"jupyter_lab_instance_types\[0\]: got 'm5.large'; allowed: a Studio app instance type SageMaker offers",
        ),
        (
            {"jupyter_lab_instance_types": []},
            r"jupyter_lab_instance_types: got \[\]; allowed: a non-empty list",
        ),
        (
            {"default_jupyter_lab_instance_type": "ml.p4d.24xlarge"},
            r"default_jupyter_lab_instance_type: got 'ml.p4d.24xlarge'; allowed: one of "
            r"jupyter_lab_instance_types: ml.t3.medium",
        ),
        (
            {"code_editor_instance_types": ["ml.t3.medium", "ml.t3.medium"]},
            r"code_editor_instance_types: .*allowed: each instance type at most once",
        ),
        ({"domain_name": "my_domain"}, r"domain_name: got 'my_domain'; allowed: 1 to 63 letters"),
        (
            {"notebook_output_sharing": True},
            r"sharing_bucket: got None; allowed: a bucket for shared notebooks",
        ),
        (
            {"sharing_prefix": "no-slash"},
            r"sharing_prefix: got 'no-slash'; allowed: an S3 key prefix",
        ),
        ({"vpc": None}, r"vpc: got None; allowed: a VPC"),
        ({"tags": {"aws:team": "x"}}, r"tags\['aws:team'\]"),
    ],
)
def test_each_invalid_prop_is_named(props, message):
    with pytest.raises(ConstructValidationError, match=message):
        make(**props)


def test_lifecycle_config_of_the_wrong_app_type():
    stack = new_stack()
    editor = StudioLifecycleConfig(
        stack, "CE", app_type="CodeEditor", script=LifecycleScript.from_text("echo\n")
    )
    with pytest.raises(
        ConstructValidationError,
        match=r"jupyter_lab_lifecycle_config: got 'a CodeEditor configuration'; "
        r"allowed: a JupyterLab configuration",
    ):
        StudioDomain(stack, "Domain", vpc=isolated_vpc(stack), jupyter_lab_lifecycle_config=editor)


def test_image_without_a_version_cannot_be_attached():
    stack = new_stack()
    image = StudioCustomImage(stack, "Image", image_name="not-pushed-yet")
    with pytest.raises(
        ConstructValidationError,
        match=r"custom_images\[0\]: got \"image 'not-pushed-yet' without a version\"; "
        r"allowed: an image with image_tag or image_uri",
    ):
        StudioDomain(stack, "Domain", vpc=isolated_vpc(stack), custom_images=[image])


def test_all_problems_are_reported_together():
    with pytest.raises(ConstructValidationError) as err:
        make(default_ebs_size_gib=20000, idle_timeout_minutes=1, domain_name="a_b")
    assert [p.prop for p in err.value.problems] == [
        "domain_name",
        "default_ebs_size_gib",
        "idle_timeout_minutes",
    ]
    assert str(err.value).startswith("Test/Domain: 3 invalid properties:")


def test_tokens_are_not_validated():
    stack = new_stack()
    size = cdk.CfnParameter(stack, "Size", type="Number").value_as_number
    name = cdk.CfnParameter(stack, "Name").value_as_string
    StudioDomain(
        stack, "Domain", vpc=isolated_vpc(stack), default_ebs_size_gib=size, domain_name=name
    )
    Template.from_stack(stack).has_resource_properties(DOMAIN, {"DomainName": {"Ref": "Name"}})


def _list(value) -> list:
    return value if isinstance(value, list) else [value]
