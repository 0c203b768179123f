"""Compare two cloud assemblies: the Python API behind ``sagemaker-review``.

Example::

    from sagemaker_constructs.review import review

    result = review("base/cdk.out", "head/cdk.out")
    print(result.markdown)
    raise SystemExit(result.exit_code)   # 3 data loss, 4 updates that will fail, else 0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .assembly import Assembly, load_assembly
from .changes import StackChange, compare
from .findings import DATA_LOSS, FAILS, Finding, SecurityNote, assess, security
from .iam import IamChange, iam_changes
from .lifecycle import ScriptDiff, lifecycle_diffs
from .report import render_markdown

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_DATA_LOSS = 3
EXIT_FAILS = 4


@dataclass
class Review:
    old_label: str
    new_label: str
    stacks: list[StackChange]
    findings: list[Finding] = field(default_factory=list)
    security: list[SecurityNote] = field(default_factory=list)
    iam: list[IamChange] = field(default_factory=list)
    scripts: list[ScriptDiff] = field(default_factory=list)
    allow_data_loss: bool = False
    allow_failures: bool = False

    @property
    def data_loss(self) -> bool:
        return any(f.level == DATA_LOSS for f in self.findings)

    @property
    def fails(self) -> bool:
        """Some update will fail (and the stack roll back): the change cannot deploy."""
        return any(f.level == FAILS for f in self.findings)

    @property
    def changed(self) -> bool:
        return any(s.status != "unchanged" for s in self.stacks)

    @property
    def exit_code(self) -> int:
        """3 for data loss, else 4 for updates that will fail, else 0 (each unless allowed)."""
        if self.data_loss and not self.allow_data_loss:
            return EXIT_DATA_LOSS
        if self.fails and not self.allow_failures:
            return EXIT_FAILS
        return EXIT_OK

    @property
    def markdown(self) -> str:
        return render_markdown(self)


def review_assemblies(
    old: Assembly,
    new: Assembly,
    *,
    allow_data_loss: bool = False,
    allow_failures: bool = False,
    region: str | None = None,
    old_label: str | None = None,
    new_label: str | None = None,
) -> Review:
    stacks = compare(old, new, region)
    return Review(
        old_label=old_label or str(old.root),
        new_label=new_label or str(new.root),
        stacks=stacks,
        findings=assess(stacks),
        security=security(stacks),
        iam=iam_changes(stacks),
        scripts=lifecycle_diffs(stacks),
        allow_data_loss=allow_data_loss,
        allow_failures=allow_failures,
    )


def review(
    old: str | Path,
    new: str | Path,
    *,
    allow_data_loss: bool = False,
    allow_failures: bool = False,
    region: str | None = None,
    old_label: str | None = None,
    new_label: str | None = None,
) -> Review:
    """Review the change from the assembly folder ``old`` to ``new``.

    Raises:
        InputError: A folder is missing or holds no usable template.
    """
    return review_assemblies(
        load_assembly(old, "OLD"),
        load_assembly(new, "NEW"),
        allow_data_loss=allow_data_loss,
        allow_failures=allow_failures,
        region=region,
        old_label=old_label or str(old),
        new_label=new_label or str(new),
    )
