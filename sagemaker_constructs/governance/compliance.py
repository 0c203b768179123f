"""The compliance packs and CloudFormation's limits, registered as CDK validation plugins.

Needs the ``compliance`` extra (``pip install sagemaker-constructs[compliance]``), which
brings cdk-nag.
"""

from __future__ import annotations

from aws_cdk import App, Validations

from sagemaker_constructs.governance.stack_limits import StackLimitsCheck

try:
    from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "sagemaker_constructs.governance.compliance needs cdk-nag: install "
        "sagemaker-constructs[compliance]"
    ) from exc

#: The cdk-nag packs every app of this library is checked against.
COMPLIANCE_PACKS = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")


def register_compliance_checks(app: App, *, verbose: bool = True) -> None:
    """Check every stack of ``app`` against the four packs and CloudFormation's limits at synth.

    The packs are AwsSolutions, HIPAA Security, NIST 800-53 rev 5 and PCI DSS 3.2.1; an
    unacknowledged finding of any of them fails synth, as does a stack over one of
    CloudFormation's limits (:class:`StackLimitsCheck`). Registered on the App, they check
    the stacks of every Stage too (a pipeline's included). Call it once per app.

    Args:
        app: The CDK app.
        verbose: Whether AwsSolutions findings carry their full explanation (default: they do).
    """
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=verbose),
        HIPAASecurityChecks(app),
        NIST80053R5Checks(app),
        PCIDSS321Checks(app),
        StackLimitsCheck(),
    )
