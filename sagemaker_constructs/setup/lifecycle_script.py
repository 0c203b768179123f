"""Script content for notebook lifecycle configurations."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

#: The service limit on the base64-encoded form of one lifecycle script.
MAX_BASE64_CHARS = 16_384


@dataclass(frozen=True)
class LifecycleScript:
    """The text of one lifecycle script (on-create or on-start).

    Build one with :meth:`from_text` or :meth:`from_file`. The text is kept as given;
    :class:`~sagemaker_constructs.NotebookLifecycleConfig` checks it (line endings,
    size) and base64-encodes it.

    Attributes:
        text: The script text.
        source: Where the text came from (a file path or ``"inline"``), for messages.
    """

    text: str
    source: str = "inline"

    @classmethod
    def from_text(cls, text: str) -> LifecycleScript:
        """A script given as a string."""
        return cls(text=text, source="inline")

    @classmethod
    def from_file(cls, path: str | Path) -> LifecycleScript:
        """A script read from a file (UTF-8), at synth time."""
        p = Path(path)
        # newline="" keeps CRLF as it is, so the check for CRLF can see it.
        with p.open(encoding="utf-8", newline="") as fh:
            return cls(text=fh.read(), source=str(p))

    @property
    def base64(self) -> str:
        """The base64 form the service stores."""
        return base64.b64encode(self.text.encode("utf-8")).decode("ascii")

    def problems(self, *, allow_oversize: bool = False) -> list[tuple[str, str]]:
        """What is wrong with this script, as (value, allowed) pairs; empty when valid.

        Args:
            allow_oversize: Do not report a script over the size limit (it will be
                stored elsewhere, e.g. as an S3 asset).
        """
        found: list[tuple[str, str]] = []
        if not isinstance(self.text, str):
            return [(f"a {type(self.text).__name__}", "the script as a string")]
        try:
            self.text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return [
                (
                    f"a character that is not valid UTF-8 at offset {exc.start} of {self.source}",
                    "UTF-8 text",
                )
            ]
        if not self.text.strip():
            found.append(("an empty script", "a non-empty script"))
        crlf_lines = [n for n, line in enumerate(self.text.split("\n"), 1) if line.endswith("\r")]
        if crlf_lines:
            shown = ", ".join(str(n) for n in crlf_lines[:5])
            more = f" and {len(crlf_lines) - 5} more" if len(crlf_lines) > 5 else ""
            found.append(
                (
                    f"CRLF line endings on line(s) {shown}{more} of {self.source}",
                    "LF line endings only (the host runs the script with bash)",
                )
            )
        size = len(self.base64)
        if size > MAX_BASE64_CHARS and not allow_oversize:
            found.append(
                (
                    f"{size} base64 characters ({len(self.text.encode())} bytes) "
                    f"from {self.source}",
                    f"at most {MAX_BASE64_CHARS} base64 characters (the service limit)",
                )
            )
        return found
