"""What the Studio web portal shows: hidden apps, ML tools and instance types."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import aws_sagemaker as sagemaker

from sagemaker_constructs._validation import Problems

# The values CloudFormation accepts: the AppType and MlTools enums of the
# AWS::SageMaker::Domain registry schema (as cfn-lint ships it), for
# UserSettings.StudioWebPortalSettings
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-sagemaker-domain-studiowebportalsettings.html).
# The SageMaker API's own enums are longer (KernelGateway, RSessionGateway, ...); the
# schema rejects those.
APP_TYPES = (
    "JupyterServer",
    "TensorBoard",
    "RStudioServerPro",
    "JupyterLab",
    "CodeEditor",
    "DetailedProfiler",
    "Canvas",
)
ML_TOOLS = (
    "DataWrangler",
    "FeatureStore",
    "EmrClusters",
    "AutoMl",
    "Experiments",
    "Training",
    "ModelEvaluation",
    "Pipelines",
    "Models",
    "JumpStart",
    "InferenceRecommender",
    "Endpoints",
    "Projects",
    "InferenceOptimization",
    "HyperPodClusters",
    "Comet",
    "DeepchecksLLMEvaluation",
    "Fiddler",
    "LakeraGuard",
    "PerformanceEvaluation",
)

#: Apps this product does not configure (lifecycle scripts, images, idle shutdown are set
#: up for JupyterLab and Code Editor only).
UNSUPPORTED_APP_TYPES = (
    "JupyterServer",
    "RStudioServerPro",
    "Canvas",
    "TensorBoard",
    "DetailedProfiler",
)
#: Tools that start paid resources outside the platform's networks and budgets, or send
#: data to partner applications.
UNMANAGED_ML_TOOLS = (
    "EmrClusters",
    "HyperPodClusters",
    "JumpStart",
    "Endpoints",
    "InferenceRecommender",
    "InferenceOptimization",
    "LakeraGuard",
    "Comet",
    "DeepchecksLLMEvaluation",
    "Fiddler",
)


@dataclass(frozen=True)
class StudioPortalSettings:
    """Apps, ML tools and instance types the Studio portal hides.

    The defaults hide what the platform does not set up: the Studio Classic apps
    (JupyterServer), RStudio, Canvas, TensorBoard and the profiler
    (:data:`UNSUPPORTED_APP_TYPES`), and tools that start resources outside the
    platform's control or reach partner applications (:data:`UNMANAGED_ML_TOOLS`). No
    instance type is hidden by default (the domain's allowed lists already limit them).

    Attributes:
        hidden_app_types: Values of :data:`APP_TYPES`.
        hidden_ml_tools: Values of :data:`ML_TOOLS`.
        hidden_instance_types: ``ml.*`` instance types.
    """

    hidden_app_types: Sequence[str] = field(default=UNSUPPORTED_APP_TYPES)
    hidden_ml_tools: Sequence[str] = field(default=UNMANAGED_ML_TOOLS)
    hidden_instance_types: Sequence[str] = ()

    def check(self, problems: Problems, prop: str) -> None:
        """One problem per value CloudFormation would reject, named ``<prop>.<field>[i]``."""
        for name, values, allowed in (
            ("hidden_app_types", self.hidden_app_types, APP_TYPES),
            ("hidden_ml_tools", self.hidden_ml_tools, ML_TOOLS),
            ("hidden_instance_types", self.hidden_instance_types, ()),
        ):
            if not isinstance(values, list | tuple):
                problems.add(f"{prop}.{name}", values, "a list of strings (empty: none hidden)")
                continue
            if len(set(map(repr, values))) != len(values):
                problems.add(f"{prop}.{name}", list(values), "each value once")
            for index, value in enumerate(values):
                if name == "hidden_instance_types":
                    problems.instance_type(f"{prop}.{name}[{index}]", value, "studio")
                else:
                    problems.one_of(f"{prop}.{name}[{index}]", value, allowed, required=True)

    def to_cfn(self) -> sagemaker.CfnDomain.StudioWebPortalSettingsProperty:
        return sagemaker.CfnDomain.StudioWebPortalSettingsProperty(
            hidden_app_types=list(self.hidden_app_types) or None,
            hidden_ml_tools=list(self.hidden_ml_tools) or None,
            hidden_instance_types=list(self.hidden_instance_types) or None,
        )
