"""What the project's state machines call, in-process, at the boto3-client boundary:

* :class:`EngineAthena` answers the Athena API by running each query at once on localcloud's
  engine (``localcloud.athena.AthenaEngine``) over moto's S3 and the project's table specs, so the
  validation and rollup SQL is the real thing; it writes results where Athena does;
* :class:`WriteBatchLambda` answers Invoke by calling ``handlers.write_batch.write_batch`` against
  moto's DynamoDB, reporting a raised exception as Lambda does (FunctionError, errorType);
* :class:`HostSfn` answers DescribeMapRun and DescribeExecution from the execution host.

The real services are the endpoint's (localcloud); these stay in tests/.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from handlers.write_batch import write_batch
from localcloud.asl import ExecutionHost
from localcloud.athena import AthenaEngine, AthenaQueryError, S3ObjectStore, StaticCatalog
from meterpipe.tables import GLUE_DATABASE, LAKE_TABLES

READINGS_HEADER = "SensorID,Voltage,Current,Frequency,kWh,HourCollected\n"


@dataclass(frozen=True)
class Reading:
    customer: int
    sensor: int
    day: dt.date
    hour: int
    kwh: str

    def line(self) -> str:
        return f"{self.sensor},240,10,60,{self.kwh},{self.hour:02d}"


@dataclass
class EngineAthena:
    """A boto3-shaped Athena client whose queries run on localcloud's engine as they start."""

    s3: Any
    lake_bucket: str
    results_bucket: str
    now: Callable[[], dt.datetime]
    # A query whose text and parameters make this return a reason fails with it (a broken partition).
    fail_when: Callable[[str, list[str]], str | None] = lambda _sql, _params: None
    # Rows GetQueryRuntimeStatistics reports beyond the result file's (a query/result mismatch).
    extra_statistics_rows: int = 0
    # How many GetQueryRuntimeStatistics calls answer without Rows before they appear (None: never).
    statistics_after: int | None = 0
    started: list[dict[str, Any]] = field(default_factory=list)
    _queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _statistics_calls: int = 0

    def __post_init__(self) -> None:
        catalog = StaticCatalog({GLUE_DATABASE: [t.glue_table_input(self.lake_bucket) for t in LAKE_TABLES]})
        self.engine = AthenaEngine(catalog, S3ObjectStore(self.s3))

    def start_query_execution(self, **kwargs: Any) -> dict[str, Any]:
        sql, params = kwargs["QueryString"], list(kwargs.get("ExecutionParameters") or [])
        query_id = f"q-{next(self._ids):04d}"
        self.started.append({"id": query_id, **kwargs})
        record: dict[str, Any] = {"submitted": self.now(), "rows": 0}
        self._queries[query_id] = record
        reason = self.fail_when(sql, params)
        if reason is not None:
            record.update(state="FAILED", reason=reason)
            return {"QueryExecutionId": query_id}
        try:
            result, uri = self.engine.execute_to(
                sql,
                params,
                database=kwargs["QueryExecutionContext"]["Database"],
                output_location=f"s3://{self.results_bucket}/athena-results/",
                query_execution_id=query_id,
            )
        except AthenaQueryError as exc:
            record.update(state="FAILED", reason=str(exc))
            return {"QueryExecutionId": query_id}
        record.update(
            state="SUCCEEDED",
            rows=len(result.rows),
            uri=uri,
            result=result,
            scanned=result.data_scanned_bytes,
            engine_ms=result.engine_execution_ms,
        )
        return {"QueryExecutionId": query_id, "ResponseMetadata": {"HTTPStatusCode": 200}}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        query = self._queries[QueryExecutionId]
        status: dict[str, Any] = {"State": query["state"], "SubmissionDateTime": query["submitted"]}
        if query["state"] == "FAILED":
            status["StateChangeReason"] = query["reason"]
        execution: dict[str, Any] = {"QueryExecutionId": QueryExecutionId, "Status": status}
        if "uri" in query:
            execution["ResultConfiguration"] = {"OutputLocation": query["uri"]}
            execution["Statistics"] = {
                "DataScannedInBytes": query["scanned"],
                "EngineExecutionTimeInMillis": query["engine_ms"],
            }
        return {"QueryExecution": execution}

    def get_query_results(self, QueryExecutionId: str, **_kwargs: Any) -> dict[str, Any]:
        result = self._queries[QueryExecutionId]["result"]
        header = [{"VarCharValue": c.name} for c in result.columns]
        rows = [
            {"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in result.text_rows()
        ]
        return {
            "ResultSet": {
                "Rows": [{"Data": header}, *rows],
                "ResultSetMetadata": result.metadata(),
            }
        }

    def get_query_runtime_statistics(self, QueryExecutionId: str) -> dict[str, Any]:
        self._statistics_calls += 1
        ready = self.statistics_after is not None and self._statistics_calls > self.statistics_after
        if not ready:
            return {"QueryRuntimeStatistics": {"Timeline": {"TotalExecutionTimeInMillis": 10}}}
        rows = self._queries[QueryExecutionId]["rows"] + self.extra_statistics_rows
        return {"QueryRuntimeStatistics": {"Rows": {"InputRows": rows, "OutputRows": rows}}}

    def stop_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        return {}

    def rollup_queries(self) -> list[dict[str, Any]]:
        """The rollup queries started (not the validation), in order."""
        return [
            q
            for q in self.started
            if "valid_readings" not in q["QueryString"] and "AS on_day" not in q["QueryString"]
        ]


class Serialised:
    """A boto3 client whose calls run one at a time. moto checks a condition and writes in two steps
    without a lock, so two threads' conditional writes can both pass; DynamoDB's are atomic."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute) or name in ("get_paginator", "get_waiter"):
            return attribute

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return locked


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
    ledger_table: str
    events: list[Any] = field(default_factory=list)
    # Raised instead of running the handler while it returns an exception (a broken Lambda).
    broken: Callable[[dict[str, Any]], Exception | None] = lambda _event: None

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        event = json.loads(kwargs["Payload"])
        self.events.append(event)
        meta = {"HTTPStatusCode": 200, "RequestId": "local", "HTTPHeaders": {}}
        try:
            failure = self.broken(event)
            if failure is not None:
                raise failure
            result = write_batch(
                event,
                LambdaContext(),
                table_name=self.table,
                ledger_table_name=self.ledger_table,
                boto3_client=self.dynamodb,
            )
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

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        try:
            record = self.host.describe(executionArn)
        except LookupError:
            message = f"Execution Does Not Exist: '{executionArn}'"
            raise _error("ExecutionDoesNotExist", message, "DescribeExecution") from None
        described: dict[str, Any] = {
            "executionArn": record.execution_arn,
            "stateMachineArn": record.state_machine_arn,
            "name": record.name,
            "status": record.status,
            "startDate": record.start_date,
            "redriveCount": record.redrive_count,
        }
        if record.stop_date is not None:
            described["stopDate"] = record.stop_date
        return described


def _error(code: str, message: str, operation: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "x"},
        },
        operation,
    )
