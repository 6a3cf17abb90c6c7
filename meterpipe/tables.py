"""The project's tables, defined once.

CDK (infra/) and the local deploy (localcloud through boto3) both build the Glue tables and the
DynamoDB table from these specs, so the two places can never drift apart. The shapes produced
here are the AWS API shapes (Glue ``TableInput``, DynamoDB ``CreateTable`` parameters), which
CDK's L1 constructs accept almost verbatim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers import ledger_format as ledger
from handlers.ledger_format import LEDGER_TABLE_NAME
from handlers.rollup_format import (
    COMPUTED_AT,
    CUSTOMER_ID,
    EXECUTION,
    GRANULARITY,
    KWH_AMOUNT,
    QUERY_EXECUTION_ID,
    READING_COUNT,
    SENSOR_PERIOD,
    TABLE_NAME,
)

GLUE_DATABASE = "iotanalyticsdb"

# Hive/Athena text format: LazySimpleSerDe over TextInputFormat, as Athena creates CSV tables.
_TEXT_INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
_TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
_LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Hive/Athena DDL type: bigint, double, string, ...

    def glue(self) -> dict[str, str]:
        return {"Name": self.name, "Type": self.type}


@dataclass(frozen=True)
class Projection:
    """Athena partition projection for one partition column (integer, zero-padded)."""

    column: str
    low: int
    high: int
    digits: int = 0


@dataclass(frozen=True)
class LakeTable:
    """A CSV table in the data lake, registered in the Glue catalog."""

    name: str
    prefix: str  # key prefix under the lake bucket, ending in "/"
    columns: tuple[Column, ...]
    partition_keys: tuple[Column, ...] = ()
    projections: tuple[Projection, ...] = ()
    skip_header_lines: int = 1
    # None: LazySimpleSerDe's default (Ctrl-A), so a one-column table reads each line whole.
    field_delimiter: str | None = ","
    description: str = ""

    def location(self, bucket: str) -> str:
        return f"s3://{bucket}/{self.prefix}"

    def storage_location_template(self, bucket: str) -> str:
        parts = "/".join(f"{key.name}=${{{key.name}}}" for key in self.partition_keys)
        return f"{self.location(bucket)}{parts}"

    def table_parameters(self, bucket: str, *, projection: bool = True) -> dict[str, str]:
        params = {
            "classification": "csv",
            "EXTERNAL": "TRUE",
            "skip.header.line.count": str(self.skip_header_lines),
        }
        if projection and self.projections:
            params["projection.enabled"] = "true"
            for proj in self.projections:
                params[f"projection.{proj.column}.type"] = "integer"
                params[f"projection.{proj.column}.range"] = f"{proj.low},{proj.high}"
                if proj.digits:
                    params[f"projection.{proj.column}.digits"] = str(proj.digits)
            params["storage.location.template"] = self.storage_location_template(bucket)
        return params

    def glue_table_input(self, bucket: str, *, projection: bool = True) -> dict[str, Any]:
        """Glue ``TableInput`` for CreateTable (boto3) and ``CfnTable.TableInputProperty`` (CDK)."""
        return {
            "Name": self.name,
            "Description": self.description,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": self.table_parameters(bucket, projection=projection),
            "PartitionKeys": [key.glue() for key in self.partition_keys],
            "StorageDescriptor": {
                "Columns": [col.glue() for col in self.columns],
                "Location": self.location(bucket),
                "InputFormat": _TEXT_INPUT_FORMAT,
                "OutputFormat": _TEXT_OUTPUT_FORMAT,
                "SerdeInfo": {
                    "SerializationLibrary": _LAZY_SIMPLE_SERDE,
                    "Parameters": self._serde_parameters(),
                },
            },
        }

    def _serde_parameters(self) -> dict[str, str]:
        if self.field_delimiter is None:
            # What Athena's DDL gives a table without FIELDS TERMINATED BY: format "1", i.e. Ctrl-A.
            return {"serialization.format": "1"}
        return {"field.delim": self.field_delimiter, "serialization.format": self.field_delimiter}


@dataclass(frozen=True)
class KeyAttribute:
    name: str
    type: str  # "S" | "N" | "B"


@dataclass(frozen=True)
class KeyValueTable:
    """A DynamoDB table."""

    name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)  # documented non-key attributes

    def key_schema(self) -> list[dict[str, str]]:
        schema = [{"AttributeName": self.partition_key.name, "KeyType": "HASH"}]
        if self.sort_key:
            schema.append({"AttributeName": self.sort_key.name, "KeyType": "RANGE"})
        return schema

    def attribute_definitions(self) -> list[dict[str, str]]:
        keys = [self.partition_key, *([self.sort_key] if self.sort_key else [])]
        return [{"AttributeName": key.name, "AttributeType": key.type} for key in keys]

    def create_table_params(self, name: str | None = None) -> dict[str, Any]:
        """DynamoDB ``CreateTable`` parameters, on-demand billing."""
        return {
            "TableName": name or self.name,
            "KeySchema": self.key_schema(),
            "AttributeDefinitions": self.attribute_definitions(),
            "BillingMode": "PAY_PER_REQUEST",
        }


READINGS = LakeTable(
    name="iot_electricity_metering",
    prefix="iot_electricity_metering/",
    description="Smart-meter readings, one CSV row per reading; several readings per sensor and hour.",
    columns=(
        Column("sensorid", "bigint"),
        Column("voltage", "bigint"),
        Column("current", "bigint"),
        Column("frequency", "bigint"),
        Column("kwh", "double"),
        Column("hourcollected", "string"),
    ),
    partition_keys=(Column("year", "string"), Column("month", "string"), Column("day", "string")),
    projections=(
        Projection("year", 2000, 2099),
        Projection("month", 1, 12, digits=2),
        Projection("day", 1, 31, digits=2),
    ),
)

CUSTOMERS = LakeTable(
    name="customer_meter_sensor",
    prefix="customer_meter_sensor/",
    description="Which customer each sensor belongs to.",
    columns=(
        Column("customerid", "bigint"),
        Column("sensorid", "bigint"),
        Column("sensorgroup", "string"),
    ),
)

# The same objects read as whole lines, for the checks (meterpipe.checks): every line of a file,
# whatever its fields, with the object it came from ("$path"). The header line is skipped.
READINGS_LINES = LakeTable(
    name="iot_electricity_metering_lines",
    prefix=READINGS.prefix,
    description="The readings' lines as text, one row per line, for validation before any rollup.",
    columns=(Column("line", "string"),),
    partition_keys=READINGS.partition_keys,
    projections=READINGS.projections,
    field_delimiter=None,
)

CUSTOMERS_LINES = LakeTable(
    name="customer_meter_sensor_lines",
    prefix=CUSTOMERS.prefix,
    description="The customers table's lines as text, for validation before any rollup.",
    columns=(Column("line", "string"),),
    field_delimiter=None,
)

LAKE_TABLES: tuple[LakeTable, ...] = (READINGS, CUSTOMERS, READINGS_LINES, CUSTOMERS_LINES)
# Where the lake tables' objects are: each prefix once.
LAKE_PREFIXES: tuple[str, ...] = tuple(dict.fromkeys(table.prefix for table in LAKE_TABLES))


# The names are the data contract's (handlers.rollup_format, which the write_batch Lambda uses).
ROLLUPS = KeyValueTable(
    name=TABLE_NAME,
    partition_key=KeyAttribute(CUSTOMER_ID, "N"),
    sort_key=KeyAttribute(SENSOR_PERIOD, "S"),
    attributes={
        KWH_AMOUNT: "N",  # total kWh of the period, 2 decimals
        GRANULARITY: "S",  # hour | day | month
        READING_COUNT: "N",  # readings summed into the item
        # The computation the item came from: a later one replaces it, up or down (docs/ledger.md).
        COMPUTED_AT: "S",
        QUERY_EXECUTION_ID: "S",
        EXECUTION: "S",
    },
)


# The per-day ledger (docs/ledger.md): day, attempt and execution records share one table.
LEDGER = KeyValueTable(
    name=LEDGER_TABLE_NAME,
    partition_key=KeyAttribute(ledger.PIPELINE, "S"),
    sort_key=KeyAttribute(ledger.KEY, "S"),
    attributes={
        ledger.STATUS: "S",
        ledger.EXECUTION: "S",
        ledger.ATTEMPTS: "N",
        ledger.FINGERPRINT: "S",
    },
)


def readings_day_prefix(day: dt.date) -> str:
    """The lake key prefix of one day's readings, the partition READINGS projects:
    ``iot_electricity_metering/year=2022/month=01/day=05/``."""
    return f"{READINGS.prefix}year={day:%Y}/month={day:%m}/day={day:%d}/"
