"""Compute: the write_batch Lambda (Python 3.12, arm64, Powertools from AWS's public layer)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import AssetHashType, Aws, BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.retention import retention
from meterpipe.definitions import WRITE_BATCH_HANDLER, write_batch_environment

# AWS publishes Powertools for AWS Lambda (Python) v3 as a public layer from this account.
POWERTOOLS_LAYER = (
    "arn:{partition}:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:{version}"
)


@jsii.implements(ILocalBundling)
class _CopyPackage:
    """Stage the ``handlers`` package as ``handlers/`` in the asset: no Docker, no network."""

    def __init__(self, source: Path) -> None:
        self._source = source

    def try_bundle(self, output_dir: str, _options: Any = None) -> bool:
        shutil.copytree(
            self._source,
            Path(output_dir) / self._source.name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "py.typed"),
            dirs_exist_ok=True,
        )
        return True


class Compute(Construct):
    """The write_batch function, its log group and a role holding only what it needs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handlers_dir: Path,
        table_name: str,
        ledger_table_name: str,
        timeout_seconds: int,
        memory_mb: int,
        reserved_concurrency: int | None,
        powertools_layer_version: int,
        log_retention_days: int,
        remove_logs_on_destroy: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY if remove_logs_on_destroy else RemovalPolicy.RETAIN,
        )
        # Our own role: the default one would carry the AWSLambdaBasicExecutionRole managed policy.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="write_batch: write rollup items to DynamoDB, log, trace",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "Powertools",
            POWERTOOLS_LAYER.format(
                partition=Aws.PARTITION, region=Aws.REGION, version=powertools_layer_version
            ),
        )
        self.function = lambda_.Function(
            self,
            "WriteBatch",
            description="meterpipe: writes one batch of rollup rows (a Distributed Map child) to DynamoDB",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler=WRITE_BATCH_HANDLER,
            code=lambda_.Code.from_asset(
                str(handlers_dir),
                asset_hash_type=AssetHashType.SOURCE,
                bundling=BundlingOptions(
                    # Never pulled: local bundling always succeeds, so synthesis needs no Docker.
                    image=DockerImage.from_registry("local-bundling-only"),
                    local=cast(
                        ILocalBundling, _CopyPackage(handlers_dir)
                    ),  # jsii.implements is invisible to mypy
                ),
            ),
            layers=[powertools],
            timeout=Duration.seconds(timeout_seconds),
            memory_size=memory_mb,
            reserved_concurrent_executions=reserved_concurrency,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment=write_batch_environment(table_name, ledger_table_name),
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> None:
        """Invoke the function by its unqualified ARN, as the definitions do (no versions, no aliases)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn])
        )
