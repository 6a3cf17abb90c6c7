"""One rollup item: a validated query-result row, and the DynamoDB item it becomes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from handlers.rollup_format import (
    COMPUTED_AT,
    CUSTOMER_ID,
    EXECUTION,
    GRANULARITY,
    KWH_AMOUNT,
    QUERY_EXECUTION_ID,
    READING_COUNT,
    SENSOR_PERIOD,
    Granularity,
    format_kwh,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


@dataclass(frozen=True)
class Computation:
    """The query run an item was computed by: what orders two items of one key (docs/ledger.md)."""

    computed_at: str  # the query's submission time, ISO 8601 UTC with milliseconds: sorts as text
    query_execution_id: str  # breaks a tie of two queries submitted in the same millisecond
    execution: str  # the name of the daily_rollup execution that wrote the item

    def attributes(self) -> dict[str, AttributeValueTypeDef]:
        return {
            COMPUTED_AT: {"S": self.computed_at},
            QUERY_EXECUTION_ID: {"S": self.query_execution_id},
            EXECUTION: {"S": self.execution},
        }


@dataclass(frozen=True)
class RollupItem:
    """A period's total for one customer's sensor, as the table stores it, and the computation it
    came from (the same kWh and reading count whichever run computes it from the same readings)."""

    customer_id: int
    sensor_period: str
    kwh: Decimal
    granularity: Granularity
    reading_count: int
    computation: Computation

    @property
    def key(self) -> tuple[int, str]:
        return (self.customer_id, self.sensor_period)

    def dynamodb_key(self) -> dict[str, AttributeValueTypeDef]:
        return {CUSTOMER_ID: {"N": str(self.customer_id)}, SENSOR_PERIOD: {"S": self.sensor_period}}

    def dynamodb_item(self) -> dict[str, AttributeValueTypeDef]:
        return {
            **self.dynamodb_key(),
            KWH_AMOUNT: {"N": format_kwh(self.kwh)},
            GRANULARITY: {"S": self.granularity},
            READING_COUNT: {"N": str(self.reading_count)},
            **self.computation.attributes(),
        }
