"""``AWS::SageMaker::NotebookInstanceLifecycleConfig`` from validated scripts."""

from __future__ import annotations

from aws_cdk import Names
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ._names import NAME_ALLOWED, NAME_MAX_LENGTH, NAME_PATTERN
from ._validation import Problems
from .lifecycle_script import LifecycleScript


class NotebookLifecycleConfig(Construct):
    """Scripts run as root when a notebook instance is created and each time it starts.

    Each script is checked at synth time: LF line endings only, and at most 16,384
    characters once base64-encoded (the service limit).

    Attributes:
        resource: The L1 ``CfnNotebookInstanceLifecycleConfig``.
        lifecycle_config_name: The configuration's name.
        on_create: The on-create script, if any.
        on_start: The on-start script, if any.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        on_create: LifecycleScript | None = None,
        on_start: LifecycleScript | None = None,
        lifecycle_config_name: str | None = None,
    ) -> None:
        """Create the lifecycle configuration.

        Args:
            on_create: Runs once, when the notebook instance is created. Default: none.
            on_start: Runs on every start, including the first. Default: none.
            lifecycle_config_name: Name of the configuration. Default: a name unique in
                the account, derived from the construct path.
        """
        super().__init__(scope, id)
        problems = Problems(self)
        if on_create is None and on_start is None:
            problems.add("on_create/on_start", None, "at least one script")
        for prop, script in (("on_create", on_create), ("on_start", on_start)):
            if script is not None:
                for value, allowed in script.problems():
                    problems.add(prop, value, allowed)
        problems.pattern(
            "lifecycle_config_name",
            lifecycle_config_name,
            NAME_PATTERN,
            NAME_ALLOWED,
            max_length=NAME_MAX_LENGTH,
        )
        problems.raise_if_any()

        self.on_create = on_create
        self.on_start = on_start
        name = lifecycle_config_name or Names.unique_resource_name(
            self, max_length=NAME_MAX_LENGTH, separator="-"
        )
        self.resource = sagemaker.CfnNotebookInstanceLifecycleConfig(
            self,
            "Resource",
            notebook_instance_lifecycle_config_name=name,
            on_create=[{"content": on_create.base64}] if on_create else None,
            on_start=[{"content": on_start.base64}] if on_start else None,
        )
        self.lifecycle_config_name: str = self.resource.attr_notebook_instance_lifecycle_config_name
