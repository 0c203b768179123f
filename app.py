#!/usr/bin/env python3
"""The example app: the platform stack and one stack per team of the config file.

    cdk synth                          # config/teams.yaml
    cdk synth -c config=path/to.yaml   # another config
"""

import sys

import aws_cdk as cdk

from sagemaker_constructs import ConstructValidationError
from stacks import ConfigError, build_app, load_config, register_compliance_checks

DEFAULT_CONFIG = "config/teams.yaml"


def main() -> int:
    app = cdk.App()
    path = app.node.try_get_context("config") or DEFAULT_CONFIG
    try:
        build_app(app, load_config(path))
    except (ConfigError, ConstructValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    register_compliance_checks(app)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
