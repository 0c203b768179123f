#!/usr/bin/env python3
"""The example app: the platform stack and one stack per team of the config file.

    cdk synth                          # config/teams.yaml
    cdk synth -c config=path/to.yaml   # another config

A config error or an invalid construct property exits 1 with one line per problem
(file, field path, value, what is allowed) and no traceback.
"""

import os
import sys

# jsii prints a multi-line banner on every run under Node 20, the version this project's
# machines pin; it would bury the synth output. Must be set before aws_cdk is imported.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402

from sagemaker_constructs import ConstructValidationError  # noqa: E402
from stacks import ConfigError, build_app, load_config, register_compliance_checks  # noqa: E402

DEFAULT_CONFIG = "config/teams.yaml"


def main() -> int:
    app = cdk.App()
    path = app.node.try_get_context("config") or DEFAULT_CONFIG
    try:
        build_app(app, load_config(path))
    except (ConfigError, ConstructValidationError) as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 1
    register_compliance_checks(app)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
