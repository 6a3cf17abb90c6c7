"""Catalog: the Glue database and tables (from meterpipe.tables) and the Athena workgroup."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from meterpipe.definitions import ATHENA_RESULTS_ENCRYPTION
from meterpipe.tables import LakeTable


class Catalog(Construct):
    """Glue tables with partition projection (no crawler, no MSCK REPAIR) and the query workgroup."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        database_name: str,
        tables: tuple[LakeTable, ...],
        lake_bucket: s3.IBucket,
        results_bucket: s3.IBucket,
        results_prefix: str,
        workgroup_name: str,
        bytes_scanned_cutoff: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.database_name = database_name
        self.table_names = tuple(table.name for table in tables)

        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=database_name, description="meterpipe: smart-meter readings and customers"
            ),
        )
        for table in tables:
            cfn_table = glue.CfnTable(
                self,
                f"Table-{table.name}",
                catalog_id=stack.account,
                database_name=database_name,
                table_input=glue.CfnTable.TableInputProperty(name=table.name),
            )
            # The spec yields Glue's TableInput in the API's own shape, which is CloudFormation's
            # too: one source for CDK and the local deploy.
            cfn_table.add_property_override("TableInput", table.glue_table_input(lake_bucket.bucket_name))
            cfn_table.node.add_dependency(database)

        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=workgroup_name,
            description="meterpipe rollup queries: enforced result location, bytes-scanned cutoff",
            state="ENABLED",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=bytes_scanned_cutoff,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=results_bucket.s3_url_for_object(results_prefix),
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option=ATHENA_RESULTS_ENCRYPTION
                    ),
                ),
            ),
        )
        self.workgroup_name = workgroup_name
        self.workgroup_arn = stack.format_arn(
            service="athena", resource="workgroup", resource_name=workgroup_name
        )

    def grant_query(self, grantee: iam.IGrantable) -> None:
        """Run, watch and stop queries in the workgroup, reading the catalog's tables."""
        stack = Stack.of(self)
        principal = grantee.grant_principal
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:StopQueryExecution",
                    "athena:GetQueryRuntimeStatistics",
                ],
                resources=[self.workgroup_arn],
            )
        )
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["athena:GetDataCatalog"],
                resources=[
                    stack.format_arn(service="athena", resource="datacatalog", resource_name="AwsDataCatalog")
                ],
            )
        )
        glue_resources = [
            stack.format_arn(service="glue", resource="catalog"),
            stack.format_arn(service="glue", resource="database", resource_name=self.database_name),
            *(
                stack.format_arn(
                    service="glue", resource="table", resource_name=f"{self.database_name}/{name}"
                )
                for name in self.table_names
            ),
        ]
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                ],
                resources=glue_resources,
            )
        )
