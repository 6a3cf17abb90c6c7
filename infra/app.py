"""The CDK app (cdk.json runs ``python -m infra.app``): one stack, checked by cdk-nag AwsSolutions.

Synthesis is offline: no lookups, and unless CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION are set
(the CDK CLI sets them from your credentials when it finds some) the stack is
environment-agnostic.
"""

from __future__ import annotations

import os

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import DeploymentConfig
from infra.stack import MeterPipeStack


def build(app: App) -> MeterPipeStack:
    """Read the configuration from the app's context and add the stack, checked by cdk-nag."""
    DeploymentConfig.check_keys(app.node.get_all_context())
    config = DeploymentConfig.from_context(app.node.try_get_context)
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    stack = MeterPipeStack(
        app,
        config.stack_name,
        config=config,
        description="meterpipe: smart-meter readings to hourly, daily and monthly kWh rollups",
        env=Environment(account=account, region=region) if account and region else None,
    )
    # cdk-nag v3 is a policy-validation plugin: unacknowledged findings fail synthesis.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def main() -> None:
    app = App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
