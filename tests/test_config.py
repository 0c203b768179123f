"""Config file loading: every error names the file, the field path, the value and the rule."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from stacks import ConfigError, load_config, parse_config
from tests.conftest import EXAMPLE_CONFIG

BASE = yaml.safe_load(EXAMPLE_CONFIG.read_text())


def with_change(path: str, value) -> dict:
    """The example config with one field (dotted path, [i] for lists) set to ``value``."""
    data = copy.deepcopy(BASE)
    target = data
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
    last = parts[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


def errors_of(data, source="teams.yaml") -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(data, source)
    return str(err.value).splitlines()


def test_example_config_is_valid():
    config = load_config(EXAMPLE_CONFIG)
    assert len(config.teams) >= 3
    types = {
        config.teams[i].resolved(nb).instance_type
        for i in range(len(config.teams))
        for nb in config.teams[i].notebooks
    }
    sizes = {
        config.teams[i].resolved(nb).volume_size_gib
        for i in range(len(config.teams))
        for nb in config.teams[i].notebooks
    }
    assert len(types) >= 3 and len(sizes) >= 3


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "teams[1].notebooks[0].volume_size_gib",
            3,
            "teams.yaml: teams[1].notebooks[0].volume_size_gib: got 3; allowed: an integer from 5 to 16384",
        ),
        (
            "teams[0].notebook_defaults.volume_size_gib",
            20000,
            "teams.yaml: teams[0].notebook_defaults.volume_size_gib: got 20000; allowed: an integer from 5 to 16384",
        ),
        (
            "teams[2].name",
            "Vision_Team",
            "teams.yaml: teams[2].name: got 'Vision_Team'; allowed: 1 to 24 lower-case letters, digits and single hyphens",
        ),
        (
            "teams[0].notebooks[1].user",
            "Bob",
            "teams.yaml: teams[0].notebooks[1].user: got 'Bob'; allowed: 1 to 32 lower-case letters",
        ),
        (
            "teams[0].notebooks[0].instance_type",
            "m5.large",
            "teams.yaml: teams[0].notebooks[0].instance_type: got 'm5.large'; allowed: a notebook instance type SageMaker offers, ml.<family>.<size>",
        ),
        (
            "teams[0].notebooks[0].platform_identifier",
            "notebook-al2-v2",
            "teams.yaml: teams[0].notebooks[0].platform_identifier: got 'notebook-al2-v2'; allowed: notebook-al2023-v1 or notebook-al2-v3",
        ),
        (
            "platform.log_retention_days",
            10,
            "teams.yaml: platform.log_retention_days: got 10; allowed: one of 1, 3, 5",
        ),
        (
            "platform.network.max_azs",
            1,
            "teams.yaml: platform.network.max_azs: got 1; allowed: an integer from 2 to 6",
        ),
        (
            "platform.env.account",
            "12345",
            "teams.yaml: platform.env.account: got '12345'; allowed: a string matching ^\\d{12}$",
        ),
        (
            "teams[0].notebooks[0].volume_size_gib",
            "big",
            "teams.yaml: teams[0].notebooks[0].volume_size_gib: got 'big'; allowed: Input should be a valid integer",
        ),
    ],
)
def test_field_errors_name_file_path_value_and_rule(path, value, expected):
    lines = errors_of(with_change(path, value))
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected), lines[0]


def test_every_problem_is_reported_at_once():
    data = with_change("teams[0].name", "A")
    data["teams"][1]["notebooks"][0]["volume_size_gib"] = 3
    lines = errors_of(data)
    assert len(lines) == 2
    assert any("teams[0].name" in line for line in lines)
    assert any("teams[1].notebooks[0].volume_size_gib" in line for line in lines)


def test_unknown_key_suggests_the_right_one():
    data = copy.deepcopy(BASE)
    data["teams"][0]["notebook"] = data["teams"][0].pop("notebooks")
    lines = errors_of(data)
    assert (
        "teams.yaml: teams[0].notebook: unknown field (did you mean 'notebooks'?); allowed fields: name, cost_center, notebook_defaults, setup, notebooks, studio, guardrails, office_hours, alerts, budget"
        in lines
    )
    assert "teams.yaml: teams[0].notebooks: missing; this field is required" in lines


def test_unknown_nested_key_lists_the_allowed_fields():
    lines = errors_of(with_change("teams[0].notebooks[0].volume_gib", 10))
    assert lines == [
        "teams.yaml: teams[0].notebooks[0].volume_gib: unknown field (did you mean 'volume_size_gib'?); "
        "allowed fields: user, instance_type, volume_size_gib, platform_identifier, office_hours, subnet, generation"
    ]


def test_duplicate_user_names():
    data = copy.deepcopy(BASE)
    data["teams"][1]["notebooks"].append({"user": "dave"})
    assert errors_of(data) == [
        "teams.yaml: teams[1].notebooks: user 'dave' has two notebooks; allowed: one notebook per user"
    ]


def test_duplicate_team_names():
    data = copy.deepcopy(BASE)
    data["teams"].append(copy.deepcopy(data["teams"][0]))
    assert errors_of(data) == [
        "teams.yaml: teams: team 'fraud' is listed twice; allowed: unique team names"
    ]


def test_longest_names_fit_sagemaker_name_limits():
    data = with_change("teams[0].name", "t" * 24)
    data["teams"][0]["notebooks"][0]["user"] = "u" * 32
    data["platform"]["prefix"] = "p" * 20
    config = parse_config(data)
    team = config.teams[0]
    assert len(team.notebook_name(team.notebooks[0])) <= 63
    assert len(f"{config.platform.prefix}-{team.name}") <= 63


def test_existing_vpc_needs_route_tables_unless_s3_exists():
    vpc = {
        "vpc_id": "vpc-0123456789abcdef0",
        "availability_zones": ["eu-west-1a", "eu-west-1b"],
        "subnet_ids": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
    }
    lines = errors_of(with_change("platform.network.existing_vpc", vpc))
    assert lines == [
        "teams.yaml: platform.network.existing_vpc: got 0 route_table_ids for 2 subnet_ids; allowed: one route "
        "table per subnet (for the S3 gateway endpoint), or 's3' in existing_endpoints"
    ]
    parse_config(
        with_change("platform.network.existing_vpc", {**vpc, "existing_endpoints": ["s3"]})
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "bad.yaml: the file is empty"),
        ("teams: [\n", "bad.yaml: line 2, column 1: not valid YAML"),
        ("- a\n- b\n", "bad.yaml: got a list at the top level; allowed: a mapping with 'teams'"),
        ("platform: {}\n", "bad.yaml: teams: missing; this field is required"),
    ],
)
def test_file_level_errors(tmp_path: Path, text: str, expected: str):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(str(tmp_path / expected)), str(err.value)


def test_missing_file(tmp_path: Path):
    with pytest.raises(
        ConfigError, match=r"nope.yaml: cannot read the file \(No such file or directory\)"
    ):
        load_config(tmp_path / "nope.yaml")


def test_setup_errors_name_the_config_field():
    data = copy.deepcopy(BASE)
    data["teams"][0]["setup"]["conda_environments"][0]["pip_packages"] = ["pandas"]
    data["teams"][1]["setup"]["packages"][0]["kernel"] = "julia"
    data["teams"][2]["setup"]["idle_auto_stop"]["idle_minutes"] = 1
    data["teams"][2]["setup"]["connectivity_checks"] = ["pypi.org"]
    assert errors_of(data) == [
        "teams.yaml: teams[0].setup.conda_environments[0].pip_packages[0]: got 'pandas'; allowed: a pinned pip requirement, name==version (e.g. pandas==2.2.3)",
        "teams.yaml: teams[1].setup.packages[0].kernel: got 'julia'; allowed: a built-in kernel of notebook-al2023-v1 (python3, pytorch) or a CondaEnvironment of this setup (none)",
        "teams.yaml: teams[2].setup.connectivity_checks[0]: got 'pypi.org'; allowed: an http:// or https:// URL",
        "teams.yaml: teams[2].setup.idle_auto_stop.idle_minutes: got 1; allowed: an integer from 5 to 10080",
    ]


def test_home_backup_fields_are_checked_with_the_librarys_rules_naming_the_config_field():
    data = copy.deepcopy(BASE)
    data["teams"][0]["setup"]["home_backup"] = {"interval_minutes": 2, "exclude": ["../etc"]}
    assert errors_of(data) == [
        "teams.yaml: teams[0].setup.home_backup.interval_minutes: got 2; allowed: an integer "
        "from 5 to 1440",
        "teams.yaml: teams[0].setup.home_backup.exclude: got ['../etc']; allowed: a list of "
        "relative folder names",
    ]
    # A setup with only the backup is a setup with a step.
    data = copy.deepcopy(BASE)
    data["teams"][0]["setup"] = {"home_backup": {}}
    data["teams"][0]["notebooks"][0]["generation"] = 1
    team = parse_config(data).teams[0]
    assert team.setup is not None and team.setup.home_backup is not None
    # The person, not the notebook's name, keys the backup: generation 1 is still alice's.
    owners = team.notebook_owners()
    assert owners[f"{team.name}-{team.notebooks[0].user}-g1"] == team.notebooks[0].user
    assert f"{team.name}-{team.notebooks[0].user}" not in owners


def test_platform_mirror_must_exist_to_be_used():
    data = copy.deepcopy(BASE)
    del data["platform"]["package_mirror"]
    lines = errors_of(data)
    assert lines[0] == (
        "teams.yaml: teams[0].setup.package_index.use_platform_mirror: got True; "
        "allowed: only with platform.package_mirror set"
    )


def test_package_mirror_domain_is_validated():
    lines = errors_of(with_change("platform.package_mirror.domain", "ML_Platform"))
    assert lines == [
        "teams.yaml: platform.package_mirror.domain: got 'ML_Platform'; allowed: 2 to 50 lower-case letters, digits and hyphens, starting with a letter and ending with a letter or digit"
    ]


# --- Studio ---------------------------------------------------------------------------


def test_example_config_has_a_studio_domain_and_a_team_using_it():
    config = load_config(EXAMPLE_CONFIG)
    studio = config.platform.studio
    assert studio is not None and studio.setup is not None
    users = {team.name: team.studio.users for team in config.teams if team.studio}
    assert users == {"forecasting": ["dave", "erin", "fatima"]}
    forecasting = next(t for t in config.teams if t.name == "forecasting")
    assert forecasting.notebooks  # Studio alongside notebook instances
    assert [i.tag for i in forecasting.studio.images] == ["2025.06.1"]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "platform.studio.max_ebs_size_gib",
            20000,
            "teams.yaml: platform.studio.max_ebs_size_gib: got 20000; allowed: an integer from 5 to 16384",
        ),
        (
            "platform.studio.default_ebs_size_gib",
            20000,
            "teams.yaml: platform.studio.default_ebs_size_gib: got 20000; allowed: an integer from 5 to 16384",
        ),
        (
            "platform.studio.default_ebs_size_gib",
            200,
            "teams.yaml: platform.studio.default_ebs_size_gib: got 200; allowed: at most max_ebs_size_gib (100)",
        ),
        (
            "platform.studio.idle_timeout_minutes",
            30,
            "teams.yaml: platform.studio.idle_timeout_minutes: got 30; allowed: an integer from 60 to 525600",
        ),
        (
            "platform.studio.default_jupyter_lab_instance_type",
            "ml.p4d.24xlarge",
            "teams.yaml: platform.studio.default_jupyter_lab_instance_type: got 'ml.p4d.24xlarge'; "
            "allowed: one of jupyter_lab_instance_types: ml.t3.medium, ml.t3.large, ml.m5.xlarge, ml.g5.xlarge",
        ),
        (
            "platform.studio.code_editor_instance_types[1]",
            "t3.large",
            "teams.yaml: platform.studio.code_editor_instance_types[1]: got 't3.large'; allowed: a Studio app instance type SageMaker offers",
        ),
        (
            "teams[1].studio.users[0]",
            "da_ve",
            "teams.yaml: teams[1].studio.users[0]: got 'da_ve'; allowed: 1 to 32 lower-case letters, digits "
            "and single hyphens, starting with a letter, not ending with a hyphen",
        ),
        (
            "teams[1].studio.images[0].tag",
            "-latest",
            "teams.yaml: teams[1].studio.images[0].tag: got '-latest'; allowed: an image tag",
        ),
        (
            "teams[1].studio.images[0].name",
            "Prophet_Image",
            "teams.yaml: teams[1].studio.images[0].name: got 'Prophet_Image'; allowed: 1 to 38 lower-case letters",
        ),
        (
            "teams[1].studio.images[0].app_type",
            "KernelGateway",
            "teams.yaml: teams[1].studio.images[0].app_type: got 'KernelGateway'; allowed: JupyterLab or CodeEditor",
        ),
    ],
)
def test_studio_field_errors_name_file_path_value_and_rule(path, value, expected):
    lines = errors_of(with_change(path, value))
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected), lines[0]


def test_duplicate_studio_users():
    data = copy.deepcopy(BASE)
    data["teams"][1]["studio"]["users"].append("erin")
    assert errors_of(data) == [
        "teams.yaml: teams[1].studio.users: user 'erin' is listed twice; allowed: one user profile per person"
    ]


def test_studio_profile_names_are_unique_across_teams():
    # "a-b" + "c" and "a" + "b-c" would both be the profile "a-b-c".
    data = copy.deepcopy(BASE)
    data["teams"][0]["name"] = "fraud-ops"
    data["teams"][0]["studio"] = {"users": ["dave"]}
    data["teams"][1]["name"] = "fraud"
    data["teams"][1]["studio"]["users"] = ["ops-dave"]
    data["teams"][1]["studio"]["spaces"] = []  # their owner, dave, is no longer a user
    assert errors_of(data) == [
        "teams.yaml: teams[1].studio.users[0]: got 'ops-dave'; allowed: a user whose profile name "
        "'fraud-ops-dave' is not taken already (by teams[0].studio.users[0]; one profile per person)"
    ]


def test_team_studio_needs_the_platform_domain():
    data = copy.deepcopy(BASE)
    del data["platform"]["studio"]
    assert errors_of(data) == [
        "teams.yaml: teams[1].studio: got a studio section; allowed: only with platform.studio set"
    ]


def test_studio_setup_errors_name_the_config_field():
    data = copy.deepcopy(BASE)
    setup = data["platform"]["studio"]["setup"]
    setup["packages"] = [{"kernel": "pytorch_p310", "pip_packages": ["torch"]}]
    setup["connectivity_checks"] = ["pypi.org"]
    assert errors_of(data) == [
        "teams.yaml: platform.studio.setup.connectivity_checks[0]: got 'pypi.org'; allowed: an http:// or https:// URL",
        "teams.yaml: platform.studio.setup.packages[0].pip_packages[0]: got 'torch'; allowed: a pinned pip requirement, name==version (e.g. pandas==2.2.3)",
        "teams.yaml: platform.studio.setup.packages[0].kernel: got 'pytorch_p310'; allowed: 'python3' (the image's default environment; other environments belong in a custom image)",
    ]


def test_studio_setup_has_no_notebook_only_steps():
    data = copy.deepcopy(BASE)
    data["platform"]["studio"]["setup"]["idle_auto_stop"] = {"idle_minutes": 60}
    assert errors_of(data) == [
        "teams.yaml: platform.studio.setup.idle_auto_stop: unknown field; allowed fields: "
        "package_index, connectivity_checks, packages"
    ]


def test_a_notebook_subnet_beyond_the_networks_subnets_is_rejected():
    data = copy.deepcopy(BASE)
    data["teams"][0]["notebooks"][1]["subnet"] = 2  # max_azs: 2 -> subnets 0 and 1
    with pytest.raises(ConfigError) as info:
        parse_config(data, "teams.yaml")
    assert str(info.value) == (
        "teams.yaml: teams[0].notebooks[1].subnet: got 2; allowed: 0 to 1 (one of the "
        "network's 2 notebook subnets, one per Availability Zone)"
    )


def test_a_generation_gives_the_notebook_a_new_name_that_collisions_see():
    data = copy.deepcopy(BASE)
    data["teams"][0]["notebooks"][0]["generation"] = 1
    config = parse_config(data)
    team = config.teams[0]
    assert [team.notebook_name(nb) for nb in team.notebooks] == [
        "fraud-alice-g1",
        "fraud-bob",
        "fraud-carol",
    ]
    data["teams"][0]["notebooks"].append({"user": "alice-g1"})
    with pytest.raises(ConfigError, match=r"notebooks\[3\]\.user: got 'alice-g1'"):
        parse_config(data, "teams.yaml")
    data["teams"][0]["notebooks"][0]["generation"] = 100
    with pytest.raises(ConfigError, match=r"generation: got 100; allowed: an integer from 0 to 99"):
        parse_config(data, "teams.yaml")
