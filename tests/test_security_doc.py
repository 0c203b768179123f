"""docs/SECURITY.md lists every acknowledged cdk-nag finding of the example app."""

from __future__ import annotations

import json
import re

from tests.conftest import ROOT, Synthesized

DOC = (ROOT / "docs" / "SECURITY.md").read_text()
PACKS = ("AwsSolutions::", "HIPAA.Security::", "NIST.800.53.R5::", "PCI.DSS.321::")


def _documented_rows() -> list[str]:
    return [line for line in DOC.splitlines() if line.startswith("| `sagemaker-")]


def _path_pattern(cell: str) -> re.Pattern[str]:
    """A doc path like `sagemaker-team-*/Notebook-*/Policy` as a regex over construct paths."""
    return re.compile("^/" + re.escape(cell).replace(r"\*", "[^/]+") + "(/Resource)*$")


def test_every_acknowledgment_is_documented(example: Synthesized):
    rows = _documented_rows()
    assert rows
    missing = []
    for meta in example.outdir.glob("*.metadata.json"):
        for path, entries in json.loads(meta.read_text()).items():
            for entry in entries:
                if entry["type"] != "aws:cdk:acknowledged-rules":
                    continue
                for rule in entry["data"]:
                    if not rule.startswith(PACKS):
                        continue
                    pack_rule = rule.split("::", 1)[1].split("[")[0]  # e.g. AwsSolutions-IAM5
                    base = pack_rule.split("-", 1)[1]  # e.g. IAM5, S3BucketLoggingEnabled
                    documented = any(
                        any(
                            _path_pattern(p).match(path)
                            for p in re.findall(r"`(sagemaker-[^`]+)`", row.split("|")[1])
                        )
                        and base in row.split("|")[2]
                        for row in rows
                    )
                    if not documented:
                        missing.append(f"{path}: {rule}")
    assert missing == []


def test_only_the_declared_role_has_inline_or_aws_managed_policies(example: Synthesized):
    found = []
    for path in example.template_files:
        for name, resource in json.loads(path.read_text())["Resources"].items():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::IAM::Policy" or (
                resource["Type"] == "AWS::IAM::Role"
                and ("Policies" in props or ":iam::aws:policy/" in json.dumps(props))
            ):
                found.append((path.name, name))
    declared = [(t, n) for t, n in found if "RestrictDefaultSGCustomResourceProvider" in n]
    assert found == declared
    # The doc names the exception, so the statement stays true.
    assert len(declared) == 1 and "CustomVpcRestrictDefaultSGCustomResourceProviderRole" in DOC
