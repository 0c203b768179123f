"""Create-only properties of resource types, from the provider schemas cfn-lint ships.

A change to a create-only property makes CloudFormation replace the resource (create a
new one, then delete the old one). The schemas are the CloudFormation resource provider
schemas bundled with cfn-lint (``cfnlint/data/schemas``): nothing is kept by hand here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from .assembly import InputError

DEFAULT_REGION = "us-east-1"

#: A create-only property as path parts below ``/properties`` (``*`` = any list item).
Pointer = tuple[str, ...]


def _manager() -> Any:
    try:
        from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    except ImportError:  # pragma: no cover - cfn-lint is a declared dependency
        raise InputError(
            "cfn-lint is required for the resource schemas: "
            "pip install 'sagemaker-constructs[review]'"
        ) from None
    return PROVIDER_SCHEMA_MANAGER


@cache
def _known_regions() -> frozenset[str]:
    try:
        from cfnlint.helpers import REGIONS
    except ImportError:  # pragma: no cover
        return frozenset({DEFAULT_REGION})
    return frozenset(REGIONS)


@cache
def create_only_properties(resource_type: str, region: str | None = None) -> list[Pointer] | None:
    """The create-only properties of ``resource_type``; None when the type is unknown.

    ``region`` picks the region's schema (they can differ); the default is us-east-1.
    """
    region = region if region in _known_regions() else DEFAULT_REGION
    manager = _manager()
    try:
        schema = manager.get_resource_schema(region, resource_type).schema
    except Exception:  # cfn-lint's ResourceNotFoundError, or an unreadable schema file
        return None
    pointers: list[Pointer] = []
    for pointer in schema.get("createOnlyProperties", []):
        parts = tuple(p for p in pointer.split("/") if p)
        if parts and parts[0] == "properties" and len(parts) > 1:
            pointers.append(parts[1:])
    return pointers
