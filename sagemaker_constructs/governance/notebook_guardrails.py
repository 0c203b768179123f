"""An aspect that enforces an organisation's notebook policy at synth time."""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import Annotations, IAspect
from aws_cdk import aws_sagemaker as sagemaker
from constructs import IConstruct

from sagemaker_constructs._validation import is_token


@jsii.implements(IAspect)
class NotebookGuardrails:
    """Reject, at synth time, notebooks that break the organisation's policy.

    Apply with ``Aspects.of(scope).add(NotebookGuardrails(...))``. Every notebook
    instance under ``scope`` is checked: internet access and root access must be disabled,
    the instance type must be allowed and the volume no larger than the maximum. Each
    breach is an error annotation naming the owner (e.g. the team), the notebook and the
    rule, so ``cdk synth`` fails before anything is deployed. Values that are tokens are
    not checked.
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

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, sagemaker.CfnNotebookInstance):
            return
        name = node.notebook_instance_name
        label = f"{self.owner}: notebook {name if not is_token(name) else node.node.path}"
        errors = []
        if node.direct_internet_access != "Disabled":
            errors.append("direct internet access must be disabled (rule: internet never enabled)")
        if node.root_access != "Disabled":
            errors.append("root access must be disabled (rule: no root)")
        itype = node.instance_type
        if (
            self.allowed_instance_types
            and not is_token(itype)
            and itype not in self.allowed_instance_types
        ):
            errors.append(
                f"instance type {itype} is not allowed (rule: allowed instance types "
                f"{', '.join(self.allowed_instance_types)})"
            )
        size = node.volume_size_in_gb
        if (
            self.max_volume_size_gib is not None
            and isinstance(size, int | float)
            and not is_token(size)
            and size > self.max_volume_size_gib
        ):
            errors.append(
                f"volume of {size} GiB is over the maximum (rule: at most "
                f"{self.max_volume_size_gib} GiB)"
            )
        for error in errors:
            Annotations.of(node).add_error(f"{label}: {error}")
