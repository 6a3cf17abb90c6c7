"""Fakes at the boto3-client boundary for running the project's state machines in-process:

* :class:`RollupAthena` answers StartQueryExecution / GetQueryExecution / GetQueryRuntimeStatistics
  for the three rollup queries from canned readings, writing each result as Athena's CSV (every
  field quoted) to moto's S3;
* :class:`WriteBatchLambda` answers Invoke by calling ``handlers.write_batch.write_batch`` against
  moto's DynamoDB, reporting a raised exception as Lambda does (FunctionError, errorType);
* :class:`HostSfn` answers DescribeMapRun from the execution host, as Step Functions would.

The real services are the endpoint's (localcloud); these stay in tests/.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from botocore.exceptions import ClientError

from handlers.write_batch import write_batch
from localcloud.asl import ExecutionHost
from meterpipe.definitions import DEFAULT_MAX_KWH_PER_READING, QUERY_PLACEHOLDERS, rollup_query

COLUMNS = ("customerid", "sensorid_period", "total_kwh", "reading_count")


@dataclass(frozen=True)
class Reading:
    customer: int
    sensor: int
    day: dt.date
    hour: int
    kwh: str


def rollup_rows(readings: list[Reading], granularity: str, params: list[str]) -> list[dict[str, str]]:
    """What the rollup query of ``granularity`` returns for ExecutionParameters ``params``
    (``'YYYY'``, ``'MM'`` and for hour/day ``'DD'``): summed exactly, rounded half up to cents."""
    year, month = (int(p.strip("'")) for p in params[:2])
    day = int(params[2].strip("'")) if len(params) > 2 else None
    sums: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
    for r in readings:
        if (r.day.year, r.day.month) != (year, month) or (day is not None and r.day.day != day):
            continue
        if granularity == "hour":
            period = f"{r.day.isoformat()}T{r.hour:02d}"
        elif granularity == "day":
            period = r.day.isoformat()
        else:
            period = f"{r.day.year:04d}-{r.day.month:02d}"
        sums[(r.customer, f"{r.sensor}#{period}")].append(Decimal(r.kwh))
    rows = []
    for (customer, key), amounts in sorted(sums.items()):
        total = sum(amounts, Decimal(0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        rows.append(
            {
                "customerid": str(customer),
                "sensorid_period": key,
                "total_kwh": repr(float(total)),  # Java's shortest double text: "1.25", "1.0"
                "reading_count": str(len(amounts)),
            }
        )
    return rows


def athena_csv(rows: list[dict[str, str]]) -> bytes:
    lines = [",".join(f'"{c}"' for c in COLUMNS)]
    lines += [",".join(f'"{row[c]}"' for c in COLUMNS) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


@dataclass
class RollupAthena:
    """A boto3-shaped Athena client for the three rollup queries."""

    s3: Any
    bucket: str
    readings: list[Reading]
    # A date ('YYYY-MM-DD') whose hour and day queries fail, as a broken partition would.
    failing_day: str | None = None
    # Rows GetQueryRuntimeStatistics reports beyond the result file's (a query/result mismatch).
    extra_statistics_rows: int = 0
    # How many GetQueryRuntimeStatistics calls answer without Rows before they appear (None: never).
    statistics_after: int | None = 0
    started: list[dict[str, Any]] = field(default_factory=list)
    _queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _statistics_calls: int = 0

    def __post_init__(self) -> None:
        self._granularity_of_sql = {
            rollup_query(stem, DEFAULT_MAX_KWH_PER_READING): stem for stem in QUERY_PLACEHOLDERS
        }

    def start_query_execution(self, **kwargs: Any) -> dict[str, Any]:
        stem = self._granularity_of_sql.get(kwargs["QueryString"])
        if stem is None:
            raise _error("InvalidRequestException", "unknown query", "StartQueryExecution")
        granularity = {"hourly": "hour", "daily": "day", "monthly": "month"}[stem]
        params = kwargs.get("ExecutionParameters") or []
        query_id = f"q-{next(self._ids)}-{granularity}"
        self.started.append({"granularity": granularity, **kwargs})
        day = "-".join(p.strip("'") for p in params)
        if self.failing_day is not None and day == self.failing_day:
            self._queries[query_id] = {"state": "FAILED", "rows": 0}
            return {"QueryExecutionId": query_id}
        rows = rollup_rows(self.readings, granularity, params)
        key = f"athena-results/{query_id}.csv"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=athena_csv(rows))
        self._queries[query_id] = {"state": "SUCCEEDED", "rows": len(rows), "key": key}
        return {
            "QueryExecutionId": query_id,
            "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": query_id},
        }

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        query = self._queries[QueryExecutionId]
        status: dict[str, Any] = {
            "State": query["state"],
            "SubmissionDateTime": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        }
        if query["state"] == "FAILED":
            status["StateChangeReason"] = "HIVE_CANNOT_OPEN_SPLIT: the partition's file cannot be read"
        execution: dict[str, Any] = {"QueryExecutionId": QueryExecutionId, "Status": status}
        if "key" in query:
            execution["ResultConfiguration"] = {"OutputLocation": f"s3://{self.bucket}/{query['key']}"}
            execution["Statistics"] = {"DataScannedInBytes": 4096}
        return {"QueryExecution": execution}

    def get_query_runtime_statistics(self, QueryExecutionId: str) -> dict[str, Any]:
        self._statistics_calls += 1
        ready = self.statistics_after is not None and self._statistics_calls > self.statistics_after
        if not ready:
            return {"QueryRuntimeStatistics": {"Timeline": {"TotalExecutionTimeInMillis": 10}}}
        rows = self._queries[QueryExecutionId]["rows"] + self.extra_statistics_rows
        return {"QueryRuntimeStatistics": {"Rows": {"InputRows": rows, "OutputRows": rows}}}

    def stop_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        return {}


class LambdaContext:
    function_name = "write-batch"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:write-batch"
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/write-batch"
    log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class WriteBatchLambda:
    """A boto3-shaped Lambda client running the real write_batch handler function."""

    dynamodb: Any
    table: str
    events: list[Any] = field(default_factory=list)

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        event = json.loads(kwargs["Payload"])
        self.events.append(event)
        meta = {"HTTPStatusCode": 200, "RequestId": "local", "HTTPHeaders": {}}
        try:
            result = write_batch(event, LambdaContext(), table_name=self.table, boto3_client=self.dynamodb)
        except Exception as exc:
            body = {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": []}
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps(body).encode()),
                "ResponseMetadata": meta,
            }
        return {
            "StatusCode": 200,
            "Payload": io.BytesIO(json.dumps(result).encode()),
            "ResponseMetadata": meta,
        }


@dataclass
class HostSfn:
    """A boto3-shaped Step Functions client answering from the execution host."""

    host: ExecutionHost

    def describe_map_run(self, mapRunArn: str) -> dict[str, Any]:
        return {
            **self.host.describe_map_run(mapRunArn).describe(),
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }


def _error(code: str, message: str, operation: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "x"},
        },
        operation,
    )
