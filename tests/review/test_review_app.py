"""sagemaker-review on assemblies of the real example app and edited copies of its config."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

from sagemaker_constructs.review import review
from sagemaker_constructs.review.cli import main
from sagemaker_constructs.review.findings import DATA_LOSS, FAILS, WARNING
from sagemaker_constructs.setup.notebook_setup import unbundle

# The module, not .venv/bin/sagemaker-review: the console script's shebang may name another
# checkout's interpreter, which would review with that checkout's code.
COMMAND = [sys.executable, "-m", "sagemaker_constructs.review.cli"]
Assemblies = Callable[[str], Path]


def run_cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*COMMAND, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def section(markdown: str, heading: str) -> str:
    """The text of one ``### heading`` section."""
    start = markdown.index(heading)
    end = markdown.find("\n### ", start + len(heading))
    return markdown[start : end if end != -1 else None]


def diff_blocks(markdown: str) -> list[str]:
    return re.findall(r"```diff\n(.*?)\n```", markdown, re.S)


# --- data loss ---------------------------------------------------------------------------


def test_renaming_a_notebook_is_data_loss_and_fails_the_command(assembly: Assemblies):
    result = run_cli(assembly("base"), assembly("rename"))

    assert result.returncode == 3, result.stderr
    report = result.stdout
    summary = report.splitlines()[4]
    assert summary.startswith("**Summary:** 1 of 5 stacks changed")
    assert "**DATA LOSS: yes** (1 resource)" in summary
    loss = section(report, "### ⛔ Data loss")
    assert (
        "**DATA LOSS** — `sagemaker-team-fraud` / `Notebookalice0A4DC2BE → Notebookalicia" in loss
    )
    assert "`AWS::SageMaker::NotebookInstance`, `fraud-alice`" in loss
    assert "create-only `NotebookInstanceName` changed" in loss
    assert "new empty resource replaces it — data stays in the old one, detached" in loss
    assert "the user loses access to their volume" in loss
    assert "| `NotebookInstanceName` | `fraud-alice` | `fraud-alicia` |" in report
    assert "acknowledge with --allow-data-loss" in result.stderr


def test_allow_data_loss_exits_0_but_still_reports_it(assembly: Assemblies):
    result = run_cli(assembly("base"), assembly("rename"), "--allow-data-loss")

    assert result.returncode == 0, result.stderr
    assert "**DATA LOSS: yes** (1 resource), allowed with `--allow-data-loss`" in result.stdout
    assert "Acknowledged with `--allow-data-loss`." in result.stdout


def test_reordering_notebooks_moves_none_of_them(assembly: Assemblies):
    result = review(assembly("base"), assembly("reorder"))

    assert result.exit_code == 0
    assert result.findings == []
    assert "NotebookInstance" not in result.markdown
    # Reordering the roles a policy is attached to is no change.
    assert "DataAccessPolicy" not in result.markdown


def test_moving_a_notebook_to_another_subnet_replaces_it(assembly: Assemblies):
    result = review(assembly("base"), assembly("pin-subnet"))

    assert result.exit_code == 3
    [loss] = [f for f in result.findings if f.level == DATA_LOSS]
    assert loss.name == "fraud-alice"
    assert "create-only `SubnetId` changed" in loss.message
    # The subnets are followed through Fn::GetStackOutput into the platform stack.
    security = section(result.markdown, "### 🔒 Security-relevant changes")
    assert (
        "| `sagemaker-team-fraud` | `Notebookalice0A4DC2BE` | `SubnetId` | "
        "`${sagemaker-platform/NetworkVpcNotebooksSubnet2Subnet085579A1}` | "
        "`${sagemaker-platform/NetworkVpcNotebooksSubnet1SubnetBD153770}` |"
    ) in security
    # Same name, new instance: CloudFormation cannot replace a custom-named resource.
    [fail] = [f for f in result.findings if f.level == FAILS]
    assert "keeps its fixed name `NotebookInstanceName: fraud-alice`" in fail.message
    assert "fraud-bob" not in result.markdown


def test_changing_the_platform_identifier_replaces_the_notebook(assembly: Assemblies):
    result = review(assembly("base"), assembly("platform"))

    assert result.exit_code == 3
    [loss] = [f for f in result.findings if f.level == DATA_LOSS]
    assert (loss.stack_id, loss.name) == ("sagemaker-team-vision", "vision-frank")
    assert "create-only `PlatformIdentifier` changed" in loss.message
    report = result.markdown
    assert (
        "| ✏️ modified | `NotebookfrankF1F4E434` | `AWS::SageMaker::NotebookInstance` | **replace** |"
        in report
    )
    assert (
        "| `sagemaker-team-vision` | `NotebookfrankF1F4E434` | `PlatformIdentifier` | "
        "`notebook-al2023-v1` | `notebook-al2-v3` |"
    ) in section(report, "### 🔒 Security-relevant changes")


def test_removing_a_team_keeps_its_retained_data_with_warnings(assembly: Assemblies):
    result = review(assembly("team"), assembly("base"))

    assert result.exit_code == 0
    assert not result.data_loss
    report = result.markdown
    assert "#### ➖ `sagemaker-team-risk` — stack removed with 11 resources" in report
    warned = {(f.resource_type, f.level) for f in result.findings}
    assert warned == {
        ("AWS::SageMaker::NotebookInstance", WARNING),
        ("AWS::KMS::Key", WARNING),
        ("AWS::S3::Bucket", WARNING),
    }
    assert "its stack is removed, but retained (DeletionPolicy: Retain)" in report
    assert "the notebook keeps running (and billing) outside the stack" in report


# --- changes that lose nothing ----------------------------------------------------------


def test_lifecycle_script_edit_is_shown_decoded_as_a_diff(assembly: Assemblies):
    result = review(assembly("base"), assembly("edits"))

    assert result.exit_code == 0
    scripts = section(result.markdown, "### 📜 Lifecycle scripts")
    # fraud's on-start is over the 16 KB limit: the review reads it from the asset.
    assert (
        "`sagemaker-team-fraud` / `LifecycleConfig6B71FDFA` — **OnStart script (stored as an S3 asset)**"
        in scripts
    )
    fraud = diff_blocks(scripts)[0]
    assert "\n-export AUTOSTOP_IDLE_MINUTES=60\n+export AUTOSTOP_IDLE_MINUTES=45\n" in fraud
    # The fragment bundle is named, never diffed as base64 lines.
    for block in diff_blocks(scripts):
        assert not re.search(r"^[-+ ][A-Za-z0-9+/=]{60,}$", block, re.M), block
    assert (
        "`sagemaker-team-vision` / `LifecycleConfig6B71FDFA` — **OnStart fragments removed**"
        in scripts
    )
    assert re.search(
        r"removed from the bundle: `idle_autostop.py` \(\d+ lines\), `install_autostop.sh` \(\d+ lines\)",
        scripts,
    )
    assert "(script changed: see Lifecycle scripts)" in result.markdown


def test_lifecycle_script_stored_as_an_asset_is_read_from_the_assembly(assembly: Assemblies):
    result = review(assembly("big"), assembly("big-edited"))

    scripts = section(result.markdown, "### 📜 Lifecycle scripts")
    title = "`sagemaker-team-forecasting` / `LifecycleConfig6B71FDFA` — **OnStart script (stored as an S3 asset)**"
    assert title in scripts
    block = scripts.split(title)[1].split("```diff\n")[1].split("\n```")[0]
    assert "\n-export AUTOSTOP_IDLE_MINUTES=120\n+export AUTOSTOP_IDLE_MINUTES=90\n" in block
    assert "boto3" not in block  # the script itself, not its loader


def test_volume_decrease_is_flagged_as_an_update_that_fails(assembly: Assemblies):
    result = review(assembly("base"), assembly("shrink"))

    [fail] = [f for f in result.findings if f.level == FAILS]
    assert fail.name == "fraud-bob"
    assert "`VolumeSizeInGB` decreases from 50 to 20 GiB" in fail.message
    assert "**WILL FAIL** — `sagemaker-team-fraud` / `NotebookbobB355AE95`" in result.markdown
    assert "1 update that will fail" in result.markdown
    # It fails and rolls back: nothing is lost, but the change cannot deploy.
    assert result.exit_code == 4
    assert review(assembly("base"), assembly("shrink"), allow_failures=True).exit_code == 0


def test_added_iam_statement_is_listed_with_its_actions(assembly: Assemblies):
    # The edited config has no idle auto-stop for vision; adding it grants StopItselfWhenIdle.
    result = review(assembly("edits"), assembly("base"))

    iam = section(result.markdown, "### 🔑 IAM changes")
    for user in ("frank", "grace"):
        assert (
            "**added:** Allow `sagemaker:DescribeNotebookInstance`, "
            "`sagemaker:StopNotebookInstance` on "
            "`arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:"
            f"notebook-instance/vision-{user}` (Sid `StopItselfWhenIdle`)"
        ) in iam
    assert (
        "- `sagemaker-team-vision` / `NotebookfrankPolicy76386003` (`AWS::IAM::ManagedPolicy`) — managed policy:"
        in iam
    )
    assert result.exit_code == 0


def test_removed_iam_statement_is_listed(assembly: Assemblies):
    result = review(assembly("base"), assembly("edits"))

    iam = section(result.markdown, "### 🔑 IAM changes")
    assert "**removed:** Allow `sagemaker:DescribeNotebookInstance`" in iam
    assert "vision-frank` (Sid `StopItselfWhenIdle`)" in iam


def test_adding_a_team_reports_a_new_stack_without_data_loss(assembly: Assemblies):
    result = run_cli(assembly("base"), assembly("team"))

    assert result.returncode == 0, result.stderr
    report = result.stdout
    assert "2 of 6 stacks changed (1 added, 0 removed)" in report
    assert "data loss: **no**" in report
    assert "#### ➕ `sagemaker-team-risk` — new stack, 11 resources" in report
    assert "`AWS::SageMaker::NotebookInstance` ×1" in report
    # The platform's access-log bucket policy gains the new team's prefix: one statement changed.
    assert (
        "**changed:** Allow `s3:PutObject` to `{Service: logging.s3.amazonaws.com}`: "
        "resources +`${AccessLogsBucket83982689.Arn}/risk/*`"
    ) in report
    assert "### ⛔" not in report


def test_identical_assemblies_have_no_changes(assembly: Assemblies):
    result = run_cli(assembly("base"), assembly("base"))

    assert result.returncode == 0
    assert "**Summary:** no changes (5 stacks compared) · data loss: **no**" in result.stdout
    assert "### " not in result.stdout


def test_changed_bundled_fragment_is_diffed_file_by_file(assembly: Assemblies, tmp_path: Path):
    """A fragment edited inside the gzip'd tar (as a change to lifecycle_scripts/ would), in
    fraud's on-create script (inline: under the 16 KB limit)."""
    head = tmp_path / "head"
    shutil.copytree(assembly("base"), head)
    template_file = head / "sagemaker-team-fraud.template.json"
    template = json.loads(template_file.read_text())
    config = template["Resources"]["LifecycleConfig6B71FDFA"]["Properties"]
    script = base64.b64decode(config["OnCreate"][0]["Content"]).decode()
    fragments = unbundle(script)
    fragments["register_kernels.sh"] += 'echo "kernels registered"\n'
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, text in fragments.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    packed = base64.b64encode(gzip.compress(raw.getvalue())).decode()
    lines = script.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if "<< 'SMC_BUNDLE_END'" in line)
    end = lines.index("SMC_BUNDLE_END\n", start)
    bundle = [packed[i : i + 76] + "\n" for i in range(0, len(packed), 76)]
    edited = "".join(lines[: start + 1] + bundle + lines[end:])
    config["OnCreate"][0]["Content"] = base64.b64encode(edited.encode()).decode()
    template_file.write_text(json.dumps(template))

    result = review(assembly("base"), head)

    scripts = section(result.markdown, "### 📜 Lifecycle scripts")
    assert "**OnCreate script**" not in scripts  # only the bundle changed
    assert "— **OnCreate fragment register_kernels.sh**" in scripts
    [block] = diff_blocks(scripts)
    assert block.endswith('+echo "kernels registered"')
    assert "+++ b/LifecycleConfig6B71FDFA/OnCreate/register_kernels.sh" in block


# --- bad input ---------------------------------------------------------------------------


def test_missing_folder_exits_2_naming_it(assembly: Assemblies, tmp_path: Path):
    missing = tmp_path / "nowhere"
    result = run_cli(assembly("base"), missing)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == f"sagemaker-review: error: NEW {missing}: no such folder"


def test_folder_without_templates_exits_2(assembly: Assemblies, tmp_path: Path, capsys):
    assert main([str(tmp_path), str(assembly("base"))]) == 2
    err = capsys.readouterr().err
    assert f"error: OLD {tmp_path}: no CloudFormation templates (*.template.json) found" in err


def test_unreadable_template_exits_2_naming_the_file(assembly: Assemblies, tmp_path: Path, capsys):
    head = tmp_path / "head"
    shutil.copytree(assembly("base"), head)
    broken = head / "sagemaker-team-fraud.template.json"
    broken.write_text("{not json")

    assert main([str(assembly("base")), str(head)]) == 2
    err = capsys.readouterr().err
    assert f"error: NEW: {broken}: not valid JSON" in err


def test_missing_arguments_is_a_usage_error(capsys):
    try:
        main([])
    except SystemExit as exc:
        assert exc.code == 2
    assert "OLD and NEW (two cdk.out folders) are required" in capsys.readouterr().err


def test_report_written_to_a_file_too(assembly: Assemblies, tmp_path: Path, capsys):
    out = tmp_path / "review.md"
    assert main([str(assembly("base")), str(assembly("edits")), "--output", str(out)]) == 0
    assert out.read_text() == capsys.readouterr().out


def test_an_update_that_will_fail_exits_4_unless_allowed(assembly: Assemblies):
    failing = run_cli(assembly("base"), assembly("shrink"))
    allowed = run_cli(assembly("base"), assembly("shrink"), "--allow-failures")

    assert failing.returncode == 4, failing.stderr
    assert "updates that will fail found (exit code 4)" in failing.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert "Allowed with `--allow-failures`." in allowed.stdout
    # Data loss keeps exit code 3 whatever --allow-failures says.
    assert run_cli(assembly("base"), assembly("platform"), "--allow-failures").returncode == 3
