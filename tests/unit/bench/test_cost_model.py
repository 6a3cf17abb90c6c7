"""The AWS cost model's arithmetic, against figures worked out here from the same inputs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bench.cost_model import PRICES, Counts, Settings, estimate


def test_a_month_item_costs_two_wrus_because_it_is_written_in_a_transaction() -> None:
    counts = Counts(items=26.0, transact_items=1.0, item_wru=1.0, ledger_writes=24)
    result = estimate(1_000, counts, Settings())
    # 26,000 items at one WRU, the 1,000 month items' second WRU, the ledger's 24; one RRU a batch.
    wrus = Decimal(26_000 + 1_000 + 24)
    reads = Decimal(26)  # 26,000 items in batches of 1,000
    expected = wrus * Decimal(str(PRICES["dynamodb_wru"].usd)) + reads * Decimal(
        str(PRICES["dynamodb_rru"].usd)
    )
    assert result["cost"]["DynamoDB writes (WRU)"] == pytest.approx(float(expected))
    assert result["items written"] == 26_000


def test_the_table_quota_binds_at_its_wrus_shared_by_the_month_items_second_wru() -> None:
    counts = Counts(items=26.0, transact_items=1.0)
    result = estimate(10_000_000, counts, Settings(table_wru_per_s=27_000))
    assert result["binds first"] == "DynamoDB table write quota"
    # 27 WRUs buy 26 items: 26,000 items/s; the hour items (24 of 26) set the wall time.
    assert result["write items/s"] == pytest.approx(26_000)
    assert result["write seconds"] == pytest.approx(240_000_000 / 26_000)
