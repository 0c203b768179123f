"""Lifecycle script fragments shipped with the package, read as data."""

from __future__ import annotations

from importlib import resources


def read(name: str) -> str:
    """Return the text of the fragment ``name`` (e.g. ``"register_kernels.sh"``).

    Raises:
        FileNotFoundError: No fragment of that name ships with the package; the message
            lists the ones that do.
    """
    fragment = resources.files(__name__).joinpath(name)
    if not fragment.is_file():
        raise FileNotFoundError(f"no lifecycle fragment {name!r}; available: {', '.join(names())}")
    return fragment.read_text(encoding="utf-8")


def names() -> list[str]:
    """Names of every fragment that ships with the package."""
    return sorted(
        entry.name
        for entry in resources.files(__name__).iterdir()
        if entry.is_file()
        and entry.name.endswith((".sh", ".py"))
        and not entry.name.startswith("_")
    )
