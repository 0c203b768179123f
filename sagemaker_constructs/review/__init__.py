"""Pull-request review of synthesized CloudFormation templates (``sagemaker-review``)."""

from .assembly import InputError
from .review import EXIT_DATA_LOSS, EXIT_OK, EXIT_USAGE, Review, review, review_assemblies

__all__ = [
    "EXIT_DATA_LOSS",
    "EXIT_OK",
    "EXIT_USAGE",
    "InputError",
    "Review",
    "review",
    "review_assemblies",
]
