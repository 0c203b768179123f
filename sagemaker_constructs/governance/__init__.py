"""Guardrails around notebooks: permissions boundary, synth-time rules, compliance packs, limits.

``register_compliance_checks`` needs the ``compliance`` extra (cdk-nag); it is imported on
first use, so the rest of this package works without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    "assembly_problems",
    "register_compliance_checks",
]


def __getattr__(name: str) -> Any:
    if name in ("register_compliance_checks", "COMPLIANCE_PACKS"):
        from sagemaker_constructs.governance import compliance

        return getattr(compliance, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
