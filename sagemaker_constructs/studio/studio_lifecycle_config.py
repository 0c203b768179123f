"""``AWS::SageMaker::StudioLifecycleConfig``, named by its content."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import jsii
from aws_cdk import (
    IAnyProducer,
    IResolvable,
    IResolveContext,
    IStringProducer,
    Lazy,
    Names,
    RemovalPolicy,
    Stack,
    Tags,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sagemaker_constructs._names import NAME_MAX_LENGTH, NAME_PATTERN
from sagemaker_constructs._validation import (
    STUDIO_TAG_VALUE_LENGTH,
    ConstructValidationError,
    Problem,
    Problems,
)
from sagemaker_constructs.setup.lifecycle_script import MAX_BASE64_CHARS, LifecycleScript
from sagemaker_constructs.setup.studio_setup import STUDIO_APP_TYPES, StudioSetup

#: Hex digits of the content digest at the end of every name.
DIGEST_LENGTH: Final = 12
#: Longest ``name_prefix``: the name is ``<prefix>-<digest>``, at most 63 characters.
NAME_PREFIX_MAX_LENGTH: Final = NAME_MAX_LENGTH - 1 - DIGEST_LENGTH
NAME_PREFIX_ALLOWED: Final = (
    f"1 to {NAME_PREFIX_MAX_LENGTH} letters, digits and hyphens, starting and ending with a "
    "letter or digit"
)

AppType = Literal["JupyterLab", "CodeEditor"]


@jsii.implements(IStringProducer)
class _StringProducer:
    def __init__(self, produce: Callable[[], str]) -> None:
        self._produce = produce

    def produce(self, context: IResolveContext) -> str:
        return self._produce()


@jsii.implements(IAnyProducer)
class _AnyProducer:
    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def produce(self, context: IResolveContext) -> Any:
        return self._produce()


def lazy_string(produce: Callable[[], str]) -> str:
    """A string computed when the template is synthesized (every time it is resolved)."""
    return Lazy.uncached_string(_StringProducer(produce))


def lazy_any(produce: Callable[[], Any]) -> IResolvable:
    """A value computed when the template is synthesized (every time it is resolved)."""
    return Lazy.uncached_any(_AnyProducer(produce))


class StudioLifecycleConfig(Construct):
    """A script run at every start of a Studio JupyterLab or Code Editor app.

    Give it as a :class:`LifecycleScript` or as a :class:`StudioSetup` of typed steps.
    The script is checked at synth time: LF line endings, and at most 16,384 characters
    once base64-encoded (the ``StudioLifecycleConfigContent`` limit).

    CloudFormation cannot update a Studio lifecycle configuration in place: its content,
    app type and tags can only be set on create. So the name ends with a digest of all
    three (``<name_prefix>-<12 hex digits>``): a change creates a configuration under a new
    name, and whatever attaches :attr:`lifecycle_config_arn` (a ``StudioDomain``, a
    ``StudioUserProfile``) switches to it, instead of the deploy failing on a replacement
    with the same name. The configuration being replaced is retained by default, so that a
    user profile in a stack deployed later never points at a deleted configuration; delete
    unused ones with ``aws sagemaker delete-studio-lifecycle-config``.

    Attributes:
        resource: The L1 ``CfnStudioLifecycleConfig``.
        app_type: ``"JupyterLab"`` or ``"CodeEditor"``.
        lifecycle_config_name: The configuration's name (a token until synth: the digest
            covers the tags, which are known only then).
        lifecycle_config_arn: Its ARN, built from the name, so that using it in another
            stack adds no cross-stack reference and changes with the content.
        script: The script, as composed.
        setup: The setup the script was composed from, if any.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        app_type: AppType = "JupyterLab",
        script: LifecycleScript | None = None,
        setup: StudioSetup | None = None,
        name_prefix: str | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """Create the lifecycle configuration.

        Args:
            app_type: The app type it runs in. Default: ``"JupyterLab"``.
            script: The script. Either this or ``setup``.
            setup: Typed steps composed into the script. Either this or ``script``.
            name_prefix: Start of the name, at most 50 characters. Default: derived from
                the construct path, unique in the account.
            tags: Tags for the configuration. Default: none.
            removal_policy: Applied to the configuration, also when a change replaces it.
                Default: retained (see above).
        """
        super().__init__(scope, id)
        problems = Problems(self)
        problems.one_of("app_type", app_type, STUDIO_APP_TYPES, required=True)
        script_typed = script is None or isinstance(script, LifecycleScript)
        if not script_typed:
            problems.add(
                "script", type(script).__name__, "a LifecycleScript (from_text or from_file)"
            )
        if (script is None) == (setup is None):
            problems.add(
                "script/setup",
                "both" if script is not None else None,
                "either a script or a setup",
            )
        if setup is not None:
            for prop, value, allowed in setup.problems():
                problems.add(f"setup.{prop}", value, allowed)
            if not problems:
                text = setup.script_text(app_type)
                if text is None:
                    problems.add(
                        "setup.steps", "no step that runs at app start", "at least one step"
                    )
                else:
                    script = LifecycleScript(text, f"setup ({app_type})")
        if script is not None and script_typed:
            for value, allowed in script.problems():
                problems.add("script", value, allowed)
        problems.pattern(
            "name_prefix",
            name_prefix,
            NAME_PATTERN,
            NAME_PREFIX_ALLOWED,
            max_length=NAME_PREFIX_MAX_LENGTH,
        )
        problems.tags("tags", tags, value_length=STUDIO_TAG_VALUE_LENGTH)
        problems.raise_if_any()
        if script is None:  # every path leaving it None has added a problem above
            raise ConstructValidationError(
                self.node.path, [Problem("script/setup", None, "either a script or a setup")]
            )

        self.app_type: str = app_type
        self.script = script
        self.setup = setup
        prefix = (
            name_prefix
            or Names.unique_resource_name(self, max_length=NAME_PREFIX_MAX_LENGTH, separator="-")
        ).lower()
        content = script.base64
        if len(content) > MAX_BASE64_CHARS:  # script.problems() reports this first
            raise ConstructValidationError(
                self.node.path,
                [
                    Problem(
                        "script",
                        f"{len(content)} base64 characters",
                        f"at most {MAX_BASE64_CHARS}",
                    )
                ],
            )

        def name() -> str:
            digest = hashlib.sha256(
                json.dumps(
                    {
                        "app_type": app_type,
                        "content": content,
                        "tags": dict(self.resource.cdk_tag_manager.tag_values()),
                    },
                    sort_keys=True,
                ).encode()
            ).hexdigest()
            return f"{prefix}-{digest[:DIGEST_LENGTH]}"

        self.lifecycle_config_name: str = lazy_string(name)
        self.resource = sagemaker.CfnStudioLifecycleConfig(
            self,
            "Resource",
            studio_lifecycle_config_app_type=app_type,
            studio_lifecycle_config_content=content,
            studio_lifecycle_config_name=self.lifecycle_config_name,
        )
        self.resource.apply_removal_policy(removal_policy)
        for key, value in (tags or {}).items():
            Tags.of(self).add(key, value)
        self.lifecycle_config_arn: str = Stack.of(self).format_arn(
            service="sagemaker",
            resource="studio-lifecycle-config",
            resource_name=self.lifecycle_config_name,
        )

    def execution_role_statements(self) -> list[iam.PolicyStatement]:
        """What an execution role needs for this script to run (beyond using Studio).

        A package index on CodeArtifact needs a token and read access to the repository;
        ``sts:GetServiceBearerToken`` allows no resource, so it is limited to CodeArtifact
        by a condition.
        """
        index = self.setup.package_index if self.setup is not None else None
        if index is None or not index.code_artifact_domain:
            return []
        stack = Stack.of(self)
        domain_arn = stack.format_arn(
            service="codeartifact", resource="domain", resource_name=index.code_artifact_domain
        )
        repository_arn = stack.format_arn(
            service="codeartifact",
            resource="repository",
            resource_name=f"{index.code_artifact_domain}/{index.code_artifact_repository}",
        )
        return [
            iam.PolicyStatement(
                sid="CodeArtifactToken",
                actions=["codeartifact:GetAuthorizationToken"],
                resources=[domain_arn],
            ),
            iam.PolicyStatement(
                sid="CodeArtifactRead",
                actions=["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
                resources=[repository_arn],
            ),
            iam.PolicyStatement(
                sid="CodeArtifactBearerToken",
                actions=["sts:GetServiceBearerToken"],
                resources=["*"],
                conditions={"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}},
            ),
        ]
