"""The meterpipe stack: composes the constructs and wires the grants between them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.catalog import Catalog
from infra.compute import Compute
from infra.config import DeploymentConfig
from infra.monitoring import Monitoring
from infra.nag import suppress_findings
from infra.orchestration import Orchestration, state_machine_arn
from infra.schedule import Schedule
from infra.storage import Storage
from meterpipe.definitions import (
    ATHENA_RESULTS_PREFIX,
    DEFAULT_SCHEDULE_GROUP,
    HANDLERS_DIR,
    MAP_RESULTS_PREFIX,
    DeploymentValues,
)
from meterpipe.tables import GLUE_DATABASE, LAKE_TABLES, LEDGER, ROLLUPS


class MeterPipeStack(Stack):
    """Everything the daily rollup needs on AWS, configured by :class:`DeploymentConfig`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        handlers_dir: Path = HANDLERS_DIR,
        **stack_props: Any,
    ) -> None:
        super().__init__(scope, construct_id, **stack_props)
        self.config = config

        storage = Storage(
            self,
            "Storage",
            table_spec=ROLLUPS,
            table_name=config.table_name,
            ledger_spec=LEDGER,
            ledger_table_name=config.ledger_table_name,
            table_deletion_protection=config.table_deletion_protection,
            results_expiration_days=config.results_expiration_days,
            remove_data_on_destroy=config.remove_data_on_destroy,
        )
        catalog = Catalog(
            self,
            "Catalog",
            database_name=GLUE_DATABASE,
            tables=LAKE_TABLES,
            lake_bucket=storage.lake_bucket,
            results_bucket=storage.results_bucket,
            results_prefix=ATHENA_RESULTS_PREFIX,
            workgroup_name=config.workgroup_name,
            bytes_scanned_cutoff=config.athena_bytes_scanned_cutoff,
        )
        compute = Compute(
            self,
            "Compute",
            handlers_dir=handlers_dir,
            table_name=storage.table.table_name,
            ledger_table_name=storage.ledger.table_name,
            timeout_seconds=config.lambda_timeout_seconds,
            memory_mb=config.lambda_memory_mb,
            reserved_concurrency=config.lambda_reserved_concurrency,
            powertools_layer_version=config.powertools_layer_version,
            log_retention_days=config.log_retention_days,
            remove_logs_on_destroy=config.remove_data_on_destroy,
        )
        orchestration = Orchestration(
            self,
            "Orchestration",
            values=DeploymentValues(
                write_batch_function_arn=compute.function.function_arn,
                daily_rollup_state_machine_arn=state_machine_arn(self, config.daily_rollup_name),
                results_bucket=storage.results_bucket.bucket_name,
                lake_bucket=storage.lake_bucket.bucket_name,
                ledger_table=storage.ledger.table_name,
                athena_workgroup=config.workgroup_name,
                glue_database=GLUE_DATABASE,
                map_results_prefix=MAP_RESULTS_PREFIX,
                max_items_per_batch=config.max_items_per_batch,
                max_input_bytes_per_batch=config.max_input_bytes_per_batch,
                max_concurrency=config.map_max_concurrency,
                backfill_max_concurrency=config.backfill_max_concurrency,
                backfill_max_concurrency_limit=config.backfill_max_concurrency_limit,
                timezone=config.timezone,
                max_kwh_per_reading=config.max_kwh_per_reading,
                max_bad_readings=config.max_bad_readings,
                readings_per_sensor_per_day=config.readings_per_sensor_per_day,
                min_completeness_percent=config.min_completeness_percent,
                write_batch_timeout_seconds=config.lambda_timeout_seconds,
            ),
            daily_rollup_name=config.daily_rollup_name,
            backfill_name=config.backfill_name,
            ledger_sync_name=config.ledger_sync_name,
            log_retention_days=config.log_retention_days,
            remove_logs_on_destroy=config.remove_data_on_destroy,
        )
        # The workgroup must exist before a definition naming it is created and run.
        orchestration.daily_rollup.node.add_dependency(catalog.workgroup)

        # Grants: daily_rollup queries the lake into the results bucket and invokes write_batch,
        # which writes the rollups. Nothing but write_batch can write to the table, and nothing
        # at all can write to the lake.
        catalog.grant_query(orchestration.daily_rollup_role)
        storage.grant_lake_read(orchestration.daily_rollup_role)
        storage.grant_results_read_write(orchestration.daily_rollup_role)
        compute.grant_invoke(orchestration.daily_rollup_role)
        storage.grant_rollup_writes(compute.role)
        # The ledger: daily_rollup claims and records its day; write_batch only reads the owner.
        storage.grant_ledger_writes(orchestration.daily_rollup_role)
        storage.grant_ledger_writes(orchestration.ledger_sync_role)
        storage.grant_ledger_read(compute.role)

        schedule = Schedule(
            self,
            "Schedule",
            state_machine=orchestration.daily_rollup,
            name=config.daily_rollup_name,
            expression=config.schedule_cron,
            timezone=config.timezone,
            enabled=config.schedule_enabled,
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            state_machines={
                "DailyRollup": orchestration.daily_rollup,
                "Backfill": orchestration.backfill,
                # A failing ledger_sync leaves days RUNNING in the ledger: worth an alarm too.
                "LedgerSync": orchestration.ledger_sync,
            },
            alarm_email=config.alarm_email,
        )

        outputs = {
            "DailyRollupStateMachineArn": orchestration.daily_rollup.state_machine_arn,
            "BackfillStateMachineArn": orchestration.backfill.state_machine_arn,
            "LedgerSyncStateMachineArn": orchestration.ledger_sync.state_machine_arn,
            "RollupTableName": storage.table.table_name,
            "LedgerTableName": storage.ledger.table_name,
            "ScheduleName": schedule.schedule.schedule_name,
            "ScheduleGroupName": DEFAULT_SCHEDULE_GROUP,
            # Deploy-time settings the CLI reads from the stack, never from a checkout: the zone of a
            # scheduled run's "yesterday", the backfill's concurrency and the most it accepts.
            "TimeZone": config.timezone,
            "BackfillMaxConcurrency": str(config.backfill_max_concurrency),
            "BackfillMaxConcurrencyLimit": str(config.backfill_max_concurrency_limit),
            # Deploy-time validation settings, for the CLI to report what a run applies.
            "MaxBadReadings": str(config.max_bad_readings),
            "MaxKwhPerReading": str(config.max_kwh_per_reading),
            "ReadingsPerSensorPerDay": str(config.readings_per_sensor_per_day),
            "MinCompletenessPercent": str(config.min_completeness_percent),
            "LakeBucketName": storage.lake_bucket.bucket_name,
            "ResultsBucketName": storage.results_bucket.bucket_name,
            "AthenaWorkGroupName": config.workgroup_name,
            "GlueDatabaseName": GLUE_DATABASE,
            "WriteBatchFunctionName": compute.function.function_name,
            "AlarmTopicArn": monitoring.topic.topic_arn,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)

        suppress_findings(self, storage=storage, compute=compute, orchestration=orchestration)
