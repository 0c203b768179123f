"""``AWS::SageMaker::NotebookInstanceLifecycleConfig`` from validated scripts."""

from __future__ import annotations

import base64
import json
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from aws_cdk import BootstraplessSynthesizer, Fn, Names, Resource, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sagemaker_constructs._compliance import acknowledge_wildcard_resource
from sagemaker_constructs._names import NAME_MAX_LENGTH
from sagemaker_constructs._validation import Problems
from sagemaker_constructs.setup.lifecycle_script import MAX_BASE64_CHARS, LifecycleScript
from sagemaker_constructs.setup.notebook_setup import HomeBackup, NotebookSetup

if TYPE_CHECKING:
    from sagemaker_constructs.notebooks.notebook_instance import NotebookInstance

# Runs the real script, stored as an S3 asset, with the notebook's role. Only the asset's
# bucket and key are filled in; it is far below the size limit.
_FETCH_AND_RUN = """#!/bin/bash
# The composed {phase} script is larger than the 16 KB limit of a lifecycle script, so it
# is stored as an S3 asset; this fetches it through the VPC's S3 endpoint and runs it.
set -euo pipefail
python="${{SMC_SYSTEM_PYTHON:-/home/ec2-user/anaconda3/envs/JupyterSystemEnv/bin/python}}"
script="${{SMC_WORK_DIR:-/var/tmp/sagemaker-constructs/{phase}}}-full.sh"
metadata="${{SMC_METADATA_FILE:-/opt/ml/metadata/resource-metadata.json}}"
mkdir -p "$(dirname "$script")"
"$python" - "{bucket}" "{key}" "$script" "$metadata" << 'PY'
import json, sys
import boto3
bucket, key, target, metadata = sys.argv[1:5]
with open(metadata) as fh:
    region = json.load(fh)["ResourceArn"].split(":")[3]
boto3.client("s3", region_name=region).download_file(bucket, key, target)
{fill}PY
exec bash "$script"
"""

# Deploy-time values (a bucket's name, a key's ARN) in a script stored as an asset, which
# cannot hold them: the asset has a marker for each and the loader fills them in.
_FILL_VALUES = """values = {values}
with open(target, encoding="utf-8") as fh:
    text = fh.read()
for marker, value in values.items():
    text = text.replace(marker, value)
with open(target, "w", encoding="utf-8") as fh:
    fh.write(text)
"""
# A CDK string token, as it appears in text before synthesis.
_TOKEN = re.compile(r"\$\{Token\[[^\]]+\]\}")
# A deploy-time value is counted at this length when the script's size is checked (bucket
# names have at most 63 characters, key ARNs about 90).
_TOKEN_CHARS = 128


@runtime_checkable
class INotebookLifecycleConfig(Protocol):
    """A notebook lifecycle configuration, created here or imported.

    ``NotebookInstance(lifecycle_config=...)`` takes any of these: a
    :class:`NotebookLifecycleConfig` or one from
    :meth:`NotebookLifecycleConfig.from_notebook_lifecycle_config_name`.
    """

    @property
    def lifecycle_config_name(self) -> str:
        """The configuration's name."""
        ...

    def bind(self, notebook: NotebookInstance) -> None:
        """Grant ``notebook``'s role what the scripts need (called by NotebookInstance)."""
        ...


class _ImportedNotebookLifecycleConfig(Resource):
    """A lifecycle configuration defined elsewhere, known by name only."""

    def __init__(self, scope: Construct, id: str, name: str) -> None:
        super().__init__(scope, id)
        self._config_name = name

    @property
    def lifecycle_config_name(self) -> str:
        return self._config_name

    def bind(self, notebook: NotebookInstance) -> None:
        # Its scripts are not known here: whatever they need (S3 assets, CodeArtifact,
        # stopping the notebook when idle) must be granted to the notebook by the caller.
        return None


class NotebookLifecycleConfig(Resource):
    """Scripts run as root when a notebook instance is created and each time it starts.

    Give the scripts as :class:`LifecycleScript` (``on_create`` / ``on_start``) or as a
    :class:`NotebookSetup` of typed steps, which composes both. Each script is checked
    at synth time: LF line endings only, and at most 16,384 characters once
    base64-encoded (the service limit). A script over the limit is stored as an S3 asset
    and the configuration only fetches and runs it, unless ``allow_s3_asset`` is false or
    the stack cannot publish assets; then it is an error.

    Attributes:
        resource: The L1 ``CfnNotebookInstanceLifecycleConfig``.
        lifecycle_config_name: The configuration's name.
        on_create: The on-create script, if any (as composed, before any S3 fallback).
        on_start: The on-start script, if any.
        setup: The setup the scripts were composed from, if any.
        assets: S3 assets holding scripts over the limit (usually none).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        on_create: LifecycleScript | None = None,
        on_start: LifecycleScript | None = None,
        setup: NotebookSetup | None = None,
        lifecycle_config_name: str | None = None,
        allow_s3_asset: bool = True,
    ) -> None:
        """Create the lifecycle configuration.

        Args:
            on_create: Runs once, when the notebook instance is created. Default: none.
            on_start: Runs on every start, including the first. Default: none.
            setup: Typed steps composed into both scripts; not with ``on_create`` or
                ``on_start``. Default: none.
            lifecycle_config_name: Name of the configuration. Default: a name unique in
                the account, derived from the construct path.
            allow_s3_asset: Store a script over the size limit as an S3 asset. Default:
                allowed; when false, an over-size script is an error.
        """
        super().__init__(scope, id)
        problems = Problems(self)
        if setup is not None and not isinstance(setup, NotebookSetup):
            problems.add("setup", type(setup).__name__, "a NotebookSetup")
            setup = None
        if setup is not None:
            if on_create is not None or on_start is not None:
                problems.add("setup", "given with on_create/on_start", "either setup or scripts")
            for prop, value, allowed in setup.problems():
                problems.add(f"setup.{prop}", value, allowed)
            if not problems:
                create_text, start_text = setup.on_create_text(), setup.on_start_text()
                on_create = (
                    LifecycleScript(create_text, "setup (on-create)") if create_text else None
                )
                on_start = LifecycleScript(start_text, "setup (on-start)") if start_text else None
        if not problems and on_create is None and on_start is None:
            problems.add("on_create/on_start", None, "at least one script (or a setup with steps)")
        assets_ok, why_not = self._assets_allowed(allow_s3_asset)
        for prop, script in (("on_create", on_create), ("on_start", on_start)):
            if script is None:
                continue
            if not isinstance(script, LifecycleScript):
                problems.add(
                    prop,
                    type(script).__name__,
                    "a LifecycleScript, e.g. LifecycleScript.from_text(...) or .from_file(...)",
                )
                continue
            for value, allowed in script.problems(allow_oversize=assets_ok):
                problems.add(prop, value, allowed if assets_ok else f"{allowed}; {why_not}")
        problems.sagemaker_name("lifecycle_config_name", lifecycle_config_name)
        problems.raise_if_any()

        self.on_create = on_create
        self.on_start = on_start
        self.setup = setup
        self.assets: list[s3_assets.Asset] = []
        name = lifecycle_config_name or Names.unique_resource_name(
            self, max_length=NAME_MAX_LENGTH, separator="-"
        )
        self.resource = sagemaker.CfnNotebookInstanceLifecycleConfig(
            self,
            "Resource",
            notebook_instance_lifecycle_config_name=name,
            on_create=self._content("on-create", on_create),
            on_start=self._content("on-start", on_start),
        )
        self._config_name: str = self.resource.attr_notebook_instance_lifecycle_config_name

    @property
    def lifecycle_config_name(self) -> str:
        """The configuration's name."""
        return self._config_name

    @staticmethod
    def from_notebook_lifecycle_config_name(
        scope: Construct, id: str, lifecycle_config_name: str
    ) -> INotebookLifecycleConfig:
        """A lifecycle configuration that exists already (another stack or app), by name.

        Its scripts are not known, so ``bind`` grants nothing: give the notebook's role
        what the scripts need yourself (``notebook.add_to_role_policy``).
        """
        problems = Problems(scope)
        problems.sagemaker_name("lifecycle_config_name", lifecycle_config_name)
        problems.raise_if_any()
        return _ImportedNotebookLifecycleConfig(scope, id, lifecycle_config_name)

    def _assets_allowed(self, allow_s3_asset: bool) -> tuple[bool, str]:
        if not allow_s3_asset:
            return False, "allow_s3_asset=False, so it cannot be stored as an S3 asset"
        if isinstance(Stack.of(self).synthesizer, BootstraplessSynthesizer):
            return False, "the stack's BootstraplessSynthesizer cannot publish an S3 asset for it"
        return True, ""

    def _content(self, phase: str, script: LifecycleScript | None) -> list[Any] | None:
        if script is None:
            return None
        tokens = [t for t in dict.fromkeys(_TOKEN.findall(script.text)) if Token.is_unresolved(t)]
        if not tokens and len(script.base64) <= MAX_BASE64_CHARS:
            return [{"content": script.base64}]
        if tokens:
            sized = _TOKEN.sub("x" * _TOKEN_CHARS, script.text)
            if len(base64.b64encode(sized.encode()).decode()) <= MAX_BASE64_CHARS:
                # CloudFormation fills the values in (Fn::Base64 of an Fn::Join).
                return [{"content": Fn.base64(script.text)}]
        text, values = script.text, {}
        for n, token in enumerate(tokens):
            marker = f"@SMC_DEPLOY_VALUE_{n}@"
            text = text.replace(token, marker)
            values[marker] = token
        # A file asset is uploaded as it is (a folder would be zipped); its S3 key is
        # derived from the content, so the staging folder's name does not matter.
        path = Path(tempfile.mkdtemp(prefix="smc-lifecycle-")) / f"{phase}.sh"
        path.write_text(text, encoding="utf-8")
        asset = s3_assets.Asset(self, f"{phase.title().replace('-', '')}Script", path=str(path))
        self.assets.append(asset)
        fill = _FILL_VALUES.format(values=json.dumps(values, sort_keys=True)) if values else ""
        fetch = _FETCH_AND_RUN.format(
            phase=phase, bucket=asset.s3_bucket_name, key=asset.s3_object_key, fill=fill
        )
        return [{"content": Fn.base64(fetch)}]

    def bind(self, notebook: NotebookInstance) -> None:
        """Grant ``notebook``'s role what these scripts need (called by NotebookInstance).

        Raises:
            ConstructValidationError: ``notebook`` has no direct internet access and a
                step installs a kind of package (pip, conda) the setup has no source for;
                one line per step and kind, naming the fix.
        """
        setup = self.setup
        if setup is not None and not getattr(notebook, "direct_internet_access", False):
            problems = Problems(notebook)
            for prop, value, allowed in setup.source_problems():
                problems.add(f"lifecycle_config.setup.{prop}", value, allowed)
            problems.raise_if_any()
        if setup is not None and setup.idle_auto_stop is not None:
            notebook.add_to_role_policy(
                iam.PolicyStatement(
                    sid="StopItselfWhenIdle",
                    actions=[
                        "sagemaker:DescribeNotebookInstance",
                        "sagemaker:StopNotebookInstance",
                    ],
                    resources=[notebook.notebook_instance_arn],
                )
            )
        backup = setup.home_backup if setup is not None else None
        if backup is not None:
            _grant_home_backup(notebook, backup)
        index = setup.package_index if setup is not None else None
        if index is not None and index.code_artifact_domain:
            stack = Stack.of(notebook)
            domain_arn = stack.format_arn(
                service="codeartifact", resource="domain", resource_name=index.code_artifact_domain
            )
            repository_arn = stack.format_arn(
                service="codeartifact",
                resource="repository",
                resource_name=f"{index.code_artifact_domain}/{index.code_artifact_repository}",
            )
            notebook.add_to_role_policy(
                iam.PolicyStatement(
                    sid="CodeArtifactToken",
                    actions=["codeartifact:GetAuthorizationToken"],
                    resources=[domain_arn],
                )
            )
            notebook.add_to_role_policy(
                iam.PolicyStatement(
                    sid="CodeArtifactRead",
                    actions=[
                        "codeartifact:GetRepositoryEndpoint",
                        "codeartifact:ReadFromRepository",
                    ],
                    resources=[repository_arn],
                )
            )
            notebook.add_to_role_policy(
                iam.PolicyStatement(
                    sid="CodeArtifactBearerToken",
                    actions=["sts:GetServiceBearerToken"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}
                    },
                )
            )
            if notebook.policy is not None:
                acknowledge_wildcard_resource(
                    notebook.policy,
                    "*",
                    "sts:GetServiceBearerToken supports no resource-level permissions; the "
                    "statement is limited to CodeArtifact by the sts:AWSServiceName condition.",
                )
        channel = index.conda_channel_s3 if index is not None else None
        if channel is not None:
            stack = Stack.of(notebook)
            bucket = channel.bucket_for(stack.account, stack.region)
            bucket_arn = f"arn:{stack.partition}:s3:::{bucket}"
            notebook.add_to_role_policy(
                iam.PolicyStatement(
                    sid="CondaChannelList",
                    actions=["s3:ListBucket"],
                    resources=[bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{channel.prefix}/*"]}},
                )
            )
            notebook.add_to_role_policy(
                iam.PolicyStatement(
                    sid="CondaChannelRead",
                    actions=["s3:GetObject"],
                    resources=[f"{bucket_arn}/{channel.prefix}/*"],
                )
            )
            if notebook.policy is not None:
                acknowledge_wildcard_resource(
                    notebook.policy,
                    f"{bucket_arn}/{channel.prefix}/*",
                    "Read-only on the conda channel's prefix: the package files it holds are "
                    "named by the channel's index, not known at synth time.",
                )
            if channel.key_arn is not None:
                notebook.add_to_role_policy(
                    iam.PolicyStatement(
                        sid="CondaChannelDecrypt",
                        actions=["kms:Decrypt"],
                        resources=[channel.key_arn],
                    )
                )
        for n, asset in enumerate(self.assets):
            notebook.add_to_role_policy(
                iam.PolicyStatement(
                    sid=f"ReadLifecycleScript{n}",
                    actions=["s3:GetObject"],
                    resources=[asset.bucket.arn_for_objects(asset.s3_object_key)],
                )
            )


def _grant_home_backup(notebook: NotebookInstance, backup: HomeBackup) -> None:
    """Read and write on exactly this notebook's prefix of the bucket, and its key.

    The configuration is usually shared (one per team), so the prefix is resolved per
    notebook: ``{owner}`` from ``owners`` by the notebook's name, ``{notebook}`` its name.
    """
    name = notebook.notebook_instance_name
    templated = "{owner}" in backup.prefix or "{notebook}" in backup.prefix
    problems = Problems(notebook)
    prefix = None
    if templated and Token.is_unresolved(name):
        problems.add(
            "lifecycle_config.setup.home-backup.prefix",
            backup.prefix,
            "a prefix without {owner}/{notebook} for a notebook whose name is a token",
        )
    else:
        prefix = backup.prefix_for(name)
        if prefix is None:
            problems.add(
                "lifecycle_config.setup.home-backup.owners",
                name,
                "this notebook's name among the owners ("
                + (", ".join(sorted(backup.owners or {})) or "none")
                + ")",
            )
    problems.raise_if_any()
    assert prefix is not None
    partition = Stack.of(notebook).partition
    bucket_arn = f"arn:{partition}:s3:::{backup.bucket_name}"
    notebook.add_to_role_policy(
        iam.PolicyStatement(
            sid="HomeBackupObjects",
            actions=["s3:GetObject", "s3:PutObject"],
            resources=[f"{bucket_arn}/{prefix}*"],
        )
    )
    if notebook.policy is not None:
        acknowledge_wildcard_resource(
            notebook.policy,
            f"{bucket_arn}/{prefix}*",
            "Read and write on this notebook's own backup prefix only: the files under it are "
            "the person's notebook files, not known at synth time.",
        )
    notebook.add_to_role_policy(
        iam.PolicyStatement(
            sid="HomeBackupList",
            actions=["s3:ListBucket"],
            resources=[bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        )
    )
    if backup.kms_key_arn:
        notebook.add_to_role_policy(
            iam.PolicyStatement(
                sid="HomeBackupKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[backup.kms_key_arn],
            )
        )
