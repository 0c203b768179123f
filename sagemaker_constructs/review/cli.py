"""``sagemaker-review``: a markdown review of the change between two cloud assemblies.

    sagemaker-review OLD_CDK_OUT NEW_CDK_OUT
    sagemaker-review --git-rev origin/main HEAD

Exit codes: 0 nothing found; 3 data loss (unless ``--allow-data-loss``); 4 updates that
will fail (unless ``--allow-failures``), when there is no data loss; 2 usage or input error
(the message names the folder or file).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from .assembly import InputError
from .report import truncate
from .review import EXIT_DATA_LOSS, EXIT_FAILS, EXIT_USAGE, review

DEFAULT_MAX_CHARS = 60_000  # GitHub comments hold 65,536 characters


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagemaker-review",
        description=(
            "Compare two synthesized cloud assemblies (cdk.out folders) and print a markdown "
            "review for a pull request: resources added, removed, changed and replaced, data "
            "loss, IAM and security changes, lifecycle script diffs."
        ),
        epilog="Exit codes: 0 no data loss and no failing update; 3 data loss (unless "
        "--allow-data-loss); 4 an update that will fail (unless --allow-failures); 2 usage "
        "or input error.",
    )
    parser.add_argument("old", nargs="?", metavar="OLD", help="cloud assembly before the change")
    parser.add_argument("new", nargs="?", metavar="NEW", help="cloud assembly after the change")
    parser.add_argument(
        "--git-rev",
        nargs=2,
        metavar=("OLD_REV", "NEW_REV"),
        help="synthesize the app at two git revisions (git worktree) instead of OLD and NEW",
    )
    parser.add_argument(
        "--allow-data-loss",
        action="store_true",
        help="exit 0 even when the change loses data (the report still says so)",
    )
    parser.add_argument(
        "--allow-failures",
        action="store_true",
        help="do not exit 4 for updates that will fail (the report still lists them)",
    )
    parser.add_argument(
        "--region",
        help="region whose resource schemas to use for environment-agnostic stacks "
        "(default: the stack's region, else us-east-1)",
    )
    parser.add_argument("--output", "-o", type=Path, help="also write the report to this file")
    parser.add_argument(
        "--max-chars",
        type=int,
        default=DEFAULT_MAX_CHARS,
        help=f"cut the report to this many characters (default {DEFAULT_MAX_CHARS}; 0: no limit)",
    )
    git = parser.add_argument_group("with --git-rev")
    git.add_argument("--repo", type=Path, default=Path("."), help="the git repository (default .)")
    git.add_argument("--app", default="app.py", help="the CDK app script (default app.py)")
    git.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter that runs the app (default: this one)",
    )
    return parser


def _error(message: str) -> int:
    for i, line in enumerate(message.splitlines()):
        print(f"sagemaker-review: {'error: ' if i == 0 else '  '}{line}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.git_rev and (args.old or args.new):
        parser.error("give either OLD and NEW or --git-rev OLD_REV NEW_REV, not both")
    if not args.git_rev and not (args.old and args.new):
        parser.error("OLD and NEW (two cdk.out folders) are required, or --git-rev OLD_REV NEW_REV")
    # The lifecycle diff imports the constructs package, which starts the jsii runtime.
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    try:
        if args.git_rev:
            from .gitrev import repo_root, synth_revision

            old_rev, new_rev = args.git_rev
            repo = repo_root(args.repo)
            with tempfile.TemporaryDirectory(prefix="sagemaker-review-") as tmp:
                work = Path(tmp)
                kwargs = {"python": args.python, "app": args.app}
                old = synth_revision(repo, old_rev, work, name="old", **kwargs)
                new = synth_revision(repo, new_rev, work, name="new", **kwargs)
                result = review(
                    old,
                    new,
                    allow_data_loss=args.allow_data_loss,
                    allow_failures=args.allow_failures,
                    region=args.region,
                    old_label=old_rev,
                    new_label=new_rev,
                )
                markdown = result.markdown
        else:
            result = review(
                args.old,
                args.new,
                allow_data_loss=args.allow_data_loss,
                allow_failures=args.allow_failures,
                region=args.region,
            )
            markdown = result.markdown
    except InputError as exc:
        return _error(str(exc))
    markdown = truncate(markdown, args.max_chars)
    sys.stdout.write(markdown)
    if args.output:
        try:
            args.output.write_text(markdown, encoding="utf-8")
        except OSError as exc:
            return _error(f"{args.output}: cannot write the report ({exc.strerror})")
    if result.exit_code == EXIT_DATA_LOSS:
        print(
            "sagemaker-review: data loss found (exit code 3); acknowledge with --allow-data-loss",
            file=sys.stderr,
        )
    elif result.exit_code == EXIT_FAILS:
        print(
            "sagemaker-review: updates that will fail found (exit code 4); the change cannot "
            "deploy as it is (--allow-failures to pass anyway)",
            file=sys.stderr,
        )
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
