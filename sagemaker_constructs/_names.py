"""Name rules SageMaker applies to notebook instances and lifecycle configurations."""

import re

NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
NAME_MAX_LENGTH = 63
NAME_ALLOWED = (
    f"1 to {NAME_MAX_LENGTH} letters, digits and hyphens, starting and ending with a "
    "letter or digit"
)
