"""Storage: the data lake bucket, the query-results bucket, the rollup table and the per-day ledger."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from meterpipe.definitions import ATHENA_RESULTS_PREFIX, MAP_RESULTS_PREFIX
from meterpipe.tables import LAKE_PREFIXES, KeyValueTable

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


class Storage(Construct):
    """Lake and results buckets (encrypted, private, TLS only) and the DynamoDB rollup table."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table_spec: KeyValueTable,
        table_name: str,
        ledger_spec: KeyValueTable,
        ledger_table_name: str,
        table_deletion_protection: bool,
        results_expiration_days: int,
        remove_data_on_destroy: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.DESTROY if remove_data_on_destroy else RemovalPolicy.RETAIN

        def bucket(bucket_id: str, **extra: object) -> s3.Bucket:
            return s3.Bucket(
                self,
                bucket_id,
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                enforce_ssl=True,
                removal_policy=removal,
                auto_delete_objects=remove_data_on_destroy,
                **extra,  # type: ignore[arg-type]
            )

        # S3 delivers server access logs through this bucket's policy (cdk.json sets
        # @aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy), so ACLs stay disabled everywhere.
        self.access_logs_bucket = bucket(
            "AccessLogs", lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))]
        )
        self.lake_bucket = bucket(
            "Lake",
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="lake/",
        )
        self.results_bucket = bucket(
            "Results",
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="results/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(results_expiration_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )

        def table(table_id: str, spec: KeyValueTable, name: str) -> dynamodb.Table:
            sort_key = spec.sort_key
            return dynamodb.Table(
                self,
                table_id,
                table_name=name,
                partition_key=dynamodb.Attribute(
                    name=spec.partition_key.name, type=_ATTRIBUTE_TYPES[spec.partition_key.type]
                ),
                sort_key=dynamodb.Attribute(name=sort_key.name, type=_ATTRIBUTE_TYPES[sort_key.type])
                if sort_key
                else None,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                deletion_protection=table_deletion_protection,
                removal_policy=removal,
            )

        self.table = table("Rollups", table_spec, table_name)
        # docs/ledger.md: what a billing job checks before it reads a day; kept like the rollups.
        self.ledger = table("Ledger", ledger_spec, ledger_table_name)

    def grant_lake_read(self, grantee: iam.IGrantable) -> None:
        """Read the lake tables' objects (Athena reads them with the caller's credentials)."""
        prefixes = [self.lake_bucket.arn_for_objects(f"{prefix}*") for prefix in LAKE_PREFIXES]
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=prefixes)
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[self.lake_bucket.bucket_arn]
            )
        )

    def grant_results_read_write(self, grantee: iam.IGrantable) -> None:
        """Write and read Athena's results and the Distributed Maps' ResultWriter output."""
        objects = [
            self.results_bucket.arn_for_objects(f"{p}*") for p in (ATHENA_RESULTS_PREFIX, MAP_RESULTS_PREFIX)
        ]
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                resources=objects,
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                resources=[self.results_bucket.bucket_arn],
            )
        )

    def grant_rollup_writes(self, grantee: iam.IGrantable) -> None:
        """Exactly what write_batch does: batch puts, and conditional puts for month items (in
        TransactWriteItems calls, which IAM allows through the PutItem action)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:BatchWriteItem", "dynamodb:PutItem"], resources=[self.table.table_arn]
            )
        )

    def grant_ledger_writes(self, grantee: iam.IGrantable) -> None:
        """What daily_rollup and ledger_sync do to the ledger: read a record, and write records in
        transactions (TransactWriteItems needs the action of each item it holds)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                resources=[self.ledger.table_arn],
            )
        )

    def grant_ledger_read(self, grantee: iam.IGrantable) -> None:
        """write_batch reads the day record to check that its execution still owns the day."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[self.ledger.table_arn])
        )
