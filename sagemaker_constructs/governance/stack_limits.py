"""CloudFormation's per-stack limits, checked on the synthesized templates.

A stack over a limit synthesizes fine and fails only at deploy time, after the stacks
before it have changed; these checks fail ``cdk synth`` instead, naming the stack and
the limit. Registered by :func:`stacks.register_compliance_checks` as a validation plugin
(it reads every template of the cloud assembly, those of pipeline stages included);
:func:`assembly_problems` runs the same checks on an assembly already written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import jsii
from aws_cdk import (
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
    cx_api,
)

# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
MAX_RESOURCES = 500
MAX_OUTPUTS = 200
MAX_PARAMETERS = 200
MAX_MAPPINGS = 200
#: A template body uploaded to S3 (which the CDK CLI does for every stack).
MAX_TEMPLATE_BYTES = 1_000_000
#: A template body passed inline in the API request; larger ones must come from S3.
MAX_INLINE_TEMPLATE_BYTES = 51_200

PLUGIN_NAME = "CloudFormationLimits"


@dataclass(frozen=True)
class LimitProblem:
    """One stack over (or, for ``warning``, near) one of CloudFormation's limits."""

    stack: str
    rule: str
    what: str
    value: int
    maximum: int
    severity: Literal["error", "warning"]
    location: str

    def __str__(self) -> str:
        if self.severity == "warning":
            return (
                f"stack {self.stack}: template is {self.value:,} bytes, over the "
                f"{self.maximum:,} bytes CloudFormation accepts inline; it deploys only "
                "from S3 (as the CDK CLI and CDK Pipelines do)"
            )
        return (
            f"stack {self.stack}: {self.value:,} {self.what}; CloudFormation allows at most "
            f"{self.maximum:,} per stack"
        )


_COUNTED = (
    ("Resources", "TooManyResources", "resources", MAX_RESOURCES),
    ("Outputs", "TooManyOutputs", "outputs", MAX_OUTPUTS),
    ("Parameters", "TooManyParameters", "parameters", MAX_PARAMETERS),
    ("Mappings", "TooManyMappings", "mappings", MAX_MAPPINGS),
)


def template_problems(stack: str, template: Mapping[str, Any], size: int) -> list[LimitProblem]:
    """The limits ``template`` (of stack ``stack``, ``size`` bytes as written) is over."""
    problems = []
    for section, rule, what, maximum in _COUNTED:
        count = len(template.get(section) or {})
        if count > maximum:
            problems.append(LimitProblem(stack, rule, what, count, maximum, "error", section))
    if size > MAX_TEMPLATE_BYTES:
        problems.append(
            LimitProblem(
                stack,
                "TemplateTooLarge",
                "bytes of template",
                size,
                MAX_TEMPLATE_BYTES,
                "error",
                "",
            )
        )
    elif size > MAX_INLINE_TEMPLATE_BYTES:
        problems.append(
            LimitProblem(
                stack,
                "TemplateNeedsS3",
                "bytes of template",
                size,
                MAX_INLINE_TEMPLATE_BYTES,
                "warning",
                "",
            )
        )
    return problems


def template_file_problems(stack: str, path: str | Path) -> list[LimitProblem]:
    """:func:`template_problems` of a template file."""
    data = Path(path).read_bytes()
    return template_problems(stack, json.loads(data), len(data))


def assembly_problems(assembly: cx_api.CloudAssembly) -> list[LimitProblem]:
    """Every limit problem of every stack of ``assembly`` and of its nested assemblies."""
    return [
        problem
        for stack in assembly.stacks_recursively
        for problem in template_file_problems(stack.display_name, stack.template_full_path)
    ]


def errors(problems: Iterable[LimitProblem]) -> list[LimitProblem]:
    return [p for p in problems if p.severity == "error"]


@jsii.implements(IPolicyValidationPlugin)
class StackLimitsCheck:
    """A CDK validation plugin: fails synth for a stack over a CloudFormation limit.

    Errors: more than 500 resources, 200 outputs, 200 parameters or 200 mappings, or a
    template over 1 MB. Warning only: a template over 51,200 bytes, which CloudFormation
    takes only from S3 (the CDK CLI and CDK Pipelines upload every template to S3).

    Register with ``Validations.of(app).add_plugins(StackLimitsCheck())``.
    """

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str:
        return "1.0.0"

    @property
    def rule_ids(self) -> list[str]:
        return [rule for _, rule, _, _ in _COUNTED] + ["TemplateTooLarge", "TemplateNeedsS3"]

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        # The template paths are one list of strings from node; the stacks' construct paths
        # (one struct per stack, each field its own round trip) are looked up only for the
        # stacks with a problem, from the cloud assembly's manifest written beside them.
        found = [
            (path, problem)
            for path in context.template_paths
            for problem in template_file_problems("", path)
        ]
        stacks = _construct_paths(context, {path for path, _ in found}) if found else {}
        violations = []
        for path, problem in found:
            violations.append(
                PolicyViolation(
                    rule_name=problem.rule,
                    description=str(replace(problem, stack=stacks[path])),
                    severity=problem.severity,
                    fix=_FIXES[problem.rule],
                    violating_resources=[
                        PolicyViolatingResource(
                            construct_path=stacks[path],
                            template_path=path,
                            locations=[problem.location] if problem.location else [],
                        )
                    ],
                )
            )
        return PolicyValidationPluginReport(
            success=not any(v.severity == "error" for v in violations), violations=violations
        )


def _construct_paths(context: IPolicyValidationContext, paths: set[str]) -> dict[str, str]:
    """Template path -> construct path of its stack, for each of ``paths``.

    A stack artifact's ``displayName`` in the assembly's ``manifest.json`` (in the folder of
    the template: a Stage's stacks are in its nested assembly's folder) is its construct
    path; the context's ``stack_templates`` answers for any other.
    """
    found: dict[str, str] = {}
    for folder in {os.path.dirname(p) for p in paths}:
        try:
            with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
                artifacts = json.load(f).get("artifacts", {})
        except (OSError, ValueError):
            continue
        for artifact in artifacts.values():
            template = (artifact.get("properties") or {}).get("templateFile")
            path = os.path.join(folder, template) if isinstance(template, str) else None
            if path in paths and isinstance(artifact.get("displayName"), str):
                found[path] = artifact["displayName"]
    if paths - found.keys():
        for stack in context.stack_templates:
            found.setdefault(stack.template_path, stack.stack_construct_path)
    return found


_FIXES = {
    "TooManyResources": "Move resources to another stack: a team's notebooks are spread over "
    "stacks automatically; for other stacks split the config (fewer teams or users).",
    "TooManyOutputs": "Fewer outputs or cross-stack references in this stack.",
    "TooManyParameters": "Fewer CloudFormation parameters (or assets) in this stack.",
    "TooManyMappings": "Fewer CloudFormation mappings in this stack.",
    "TemplateTooLarge": "Move resources, or large inline content such as lifecycle scripts, "
    "to another stack or to S3 assets.",
    "TemplateNeedsS3": "Nothing to do with the CDK CLI or CDK Pipelines; other tools must "
    "upload the template to S3 and pass its URL.",
}
