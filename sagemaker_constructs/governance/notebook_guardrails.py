"""Enforce an organisation's notebook policy at synth time."""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import Annotations, IAspect
from aws_cdk import aws_sagemaker as sagemaker
from constructs import IConstruct, IValidation

from sagemaker_constructs._validation import is_token


@jsii.implements(IAspect)
class NotebookGuardrails:
    """Reject, at synth time, notebooks that break the organisation's policy.

    Every notebook instance (``CfnNotebookInstance``) under a scope is checked: internet
    access and root access must be disabled, the instance type must be allowed and the
    volume no larger than the maximum. Each breach is an error annotation naming the owner
    (e.g. the team), the notebook and the rule, so ``cdk synth`` fails before anything is
    deployed. Values that are tokens are not checked.

    Apply with ``guardrails.apply_to(scope)``: the notebooks under ``scope`` are found and
    checked once, when the app is validated (after every aspect has run, so notebooks and
    property overrides that aspects add are checked too). It is also an aspect
    (``Aspects.of(scope).add(guardrails)``), which checks the same things but is called
    for every construct of the scope: with many constructs, ``apply_to`` is cheaper.
    """

    def __init__(
        self,
        *,
        owner: str,
        allowed_instance_types: Sequence[str] | None = None,
        max_volume_size_gib: int | None = None,
    ) -> None:
        """Args:
        owner: Who the notebooks belong to, named in every message (e.g. ``team fraud``).
        allowed_instance_types: Instance types allowed. Default: any.
        max_volume_size_gib: Largest volume allowed. Default: no maximum beyond the service's.
        """
        self.owner = owner
        self.allowed_instance_types = list(allowed_instance_types or [])
        self.max_volume_size_gib = max_volume_size_gib

    def apply_to(self, scope: IConstruct) -> None:
        """Check every notebook instance under ``scope`` (``scope`` included) at validation."""
        scope.node.add_validation(_CheckAtValidation(self, scope))

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, sagemaker.CfnNotebookInstance):
            self.check(node)

    def check(self, notebook: sagemaker.CfnNotebookInstance) -> None:
        """Add an error annotation to ``notebook`` for each rule it breaks."""
        # Every property's current value in one read from node (``cfnProperties``, the
        # L1's own view of its properties, setters included), not one read per property.
        props = notebook._cfn_properties
        name = props.get("notebookInstanceName")
        shown = name if name and not is_token(name) else notebook.node.path
        label = f"{self.owner}: notebook {shown}"
        errors = []
        if props.get("directInternetAccess") != "Disabled":
            errors.append("direct internet access must be disabled (rule: internet never enabled)")
        if props.get("rootAccess") != "Disabled":
            errors.append("root access must be disabled (rule: no root)")
        if self.allowed_instance_types:
            itype = props.get("instanceType")
            if not is_token(itype) and itype not in self.allowed_instance_types:
                errors.append(
                    f"instance type {itype} is not allowed (rule: allowed instance types "
                    f"{', '.join(self.allowed_instance_types)})"
                )
        if self.max_volume_size_gib is not None:
            size = props.get("volumeSizeInGb")
            if (
                isinstance(size, int | float)
                and not is_token(size)
                and size > self.max_volume_size_gib
            ):
                errors.append(
                    f"volume of {size} GiB is over the maximum (rule: at most "
                    f"{self.max_volume_size_gib} GiB)"
                )
        for error in errors:
            Annotations.of(notebook).add_error(f"{label}: {error}")


@jsii.implements(IValidation)
class _CheckAtValidation:
    """One validation on the scope: finds its notebooks in one walk of the tree (in node)."""

    def __init__(self, guardrails: NotebookGuardrails, scope: IConstruct) -> None:
        self._guardrails = guardrails
        self._scope = scope

    def validate(self) -> list[str]:
        for construct in self._scope.node.find_all():
            if isinstance(construct, sagemaker.CfnNotebookInstance):
                self._guardrails.check(construct)
        # The breaches are error annotations (as the aspect gives them), not validation
        # errors: they are reported with the construct's path, and with every other
        # annotation, by the same machinery.
        return []
