#!/usr/bin/env python3
"""The example app: the platform stack and one stack per team of the config file.

    cdk synth                          # config/teams.yaml
    cdk synth -c config=path/to.yaml   # another config

With ``platform.pipeline`` in the config, the app is the pipeline stack instead, whose
stages (one per environment) hold those stacks; see docs/pipelines.md.

A config error or an invalid construct property exits 1 with one line per problem
(file, field path, value, what is allowed) and no traceback.
"""

import os
import sys
from pathlib import Path

# jsii prints a multi-line banner on every run under Node 20, the version this project's
# machines pin; it would bury the synth output. Must be set before aws_cdk is imported.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402

from sagemaker_constructs import ConstructValidationError  # noqa: E402
from sagemaker_constructs.governance import register_compliance_checks  # noqa: E402
from stacks import (  # noqa: E402
    ConfigError,
    PipelineStack,
    build_app,
    load_config,
)

DEFAULT_CONFIG = "config/teams.yaml"
ROOT = Path(__file__).resolve().parent


def repository_path(path: str) -> str:
    """``path`` relative to the repository root, where the pipeline runs `make synth`."""
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        raise ConfigError(
            path,
            [
                "platform.pipeline: the config file is outside the repository; allowed: a "
                "file in the repository the pipeline checks out (its synth step reads it)"
            ],
        ) from None


def main() -> int:
    app = cdk.App()
    path = app.node.try_get_context("config") or DEFAULT_CONFIG
    try:
        config = load_config(path)
        if config.platform.pipeline is None:
            build_app(app, config)
        else:
            # The pipeline's stages hold the stacks; its synth step reads the same file.
            PipelineStack(
                app,
                f"{config.platform.prefix}-pipeline",
                config=config,
                config_file=repository_path(path),
                description="CDK Pipelines pipeline deploying the SageMaker platform",
            )
    except (ConfigError, ConstructValidationError) as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 1
    register_compliance_checks(app)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
