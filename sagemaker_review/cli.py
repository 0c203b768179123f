"""Placeholder entry point; replaced by the review implementation."""

import sys


def main(argv: list[str] | None = None) -> int:
    print("sagemaker-review: not implemented yet", file=sys.stderr)
    return 2
