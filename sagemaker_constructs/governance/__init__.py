"""Guardrails around notebooks: permissions boundary, synth-time rules, compliance packs, limits.

``register_compliance_checks`` needs the ``compliance`` extra (cdk-nag); it is imported on
first use, so the rest of this package works without it.

``acknowledge`` / ``acknowledge_wildcard_resource`` record scoped acknowledgments of single
cdk-nag findings (one rule, optionally one finding ID, on one construct, with the evidence as
the reason); ``finding_resource_name`` renders a resolved value the way cdk-nag names it in a
finding ID (``<Bucket.Arn>/*``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagemaker_constructs._compliance import _render as finding_resource_name
from sagemaker_constructs._compliance import (
    acknowledge,
    acknowledge_wildcard_resource,
    skip_checkov,
)
from sagemaker_constructs.governance.notebook_guardrails import NotebookGuardrails
from sagemaker_constructs.governance.notebook_permissions_boundary import (
    NotebookPermissionsBoundary,
)
from sagemaker_constructs.governance.person_access import PersonAccess
from sagemaker_constructs.governance.stack_limits import (
    LimitProblem,
    StackLimitsCheck,
    assembly_problems,
)

if TYPE_CHECKING:
    from sagemaker_constructs.governance.compliance import (
        COMPLIANCE_PACKS,
        register_compliance_checks,
    )

__all__ = [
    "COMPLIANCE_PACKS",
    "LimitProblem",
    "NotebookGuardrails",
    "NotebookPermissionsBoundary",
    "PersonAccess",
    "StackLimitsCheck",
    "acknowledge",
    "acknowledge_wildcard_resource",
    "skip_checkov",
    "assembly_problems",
    "finding_resource_name",
    "register_compliance_checks",
]


def __getattr__(name: str) -> Any:
    if name in ("register_compliance_checks", "COMPLIANCE_PACKS"):
        from sagemaker_constructs.governance import compliance

        return getattr(compliance, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
