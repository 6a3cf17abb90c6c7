"""One rollup item: a validated query-result row, and the DynamoDB item it becomes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from handlers.rollup_format import (
    CUSTOMER_ID,
    GRANULARITY,
    KWH_AMOUNT,
    READING_COUNT,
    SENSOR_PERIOD,
    Granularity,
    format_kwh,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


@dataclass(frozen=True)
class RollupItem:
    """A period's total for one customer's sensor, as the table stores it.

    Only values that a re-run reproduces exactly: no timestamps, no execution names, so that
    re-running any day, in any order, any number of times, leaves the same table.
    """

    customer_id: int
    sensor_period: str
    kwh: Decimal
    granularity: Granularity
    reading_count: int

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
        }
