"""A workgroup's BytesScannedCutoffPerQuery, below the 10 MB the API accepts: the service's own
completion step with a query that read more than the limit (Athena cancels such a query)."""

from __future__ import annotations

import datetime as dt

from localcloud.athena.results import QueryResult, ResultColumn
from localcloud.athena.service import AthenaService, parse_result_csv
from localcloud.athena.service_model import BYTES_SCANNED_LIMIT, RUNNING, QueryRecord
from localcloud.clock import Clock
from localcloud.server.registry import ServiceContext
from localcloud.state import Store


def service() -> AthenaService:
    athena = AthenaService()
    store = Store(None)
    athena._context = ServiceContext(
        store=store,
        clock=Clock(),
        home=None,
        endpoint_url="http://127.0.0.1:1",
        region="us-east-1",  # type: ignore[arg-type]
        account_id="000000000000",
    )
    athena._queries = store.collection("athena.queries")
    return athena


def test_a_query_reading_more_than_the_cutoff_is_cancelled_with_athenas_reason() -> None:
    athena = service()
    record = QueryRecord(
        id="q1", query="SELECT 1", workgroup="capped", output_location="s3://out/q1.csv",
        submitted=dt.datetime.now(dt.UTC), bytes_cutoff=1000, state=RUNNING,
    )  # fmt: skip
    result = QueryResult([ResultColumn("one", "integer", 10)], [(1,)], data_scanned_bytes=5000)
    athena._complete(record, result)
    described = record.describe()
    assert described["Status"]["State"] == "CANCELLED"
    assert described["Status"]["StateChangeReason"] == BYTES_SCANNED_LIMIT
    assert described["Statistics"]["DataScannedInBytes"] == 1000  # it stopped at the limit


def test_result_files_read_back_keep_null_apart_from_an_empty_string() -> None:
    text = '"a","b","c"\n"1",,""\n"x ""quoted""",,"line\nbreak"\n'
    assert parse_result_csv(text) == [["a", "b", "c"], ["1", None, ""], ['x "quoted"', None, "line\nbreak"]]
