"""The Athena API (botocore's ``athena`` model, JSON 1.1) on localcloud's DuckDB engine.

Queries run on worker threads (QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED) with the
tables of the Glue Data Catalog (MiniStack's, through a boto3 client to the endpoint) over the
objects in S3. A query's result goes where Athena writes it: ``<OutputLocation>/<id>.csv`` and
``<id>.csv.metadata`` beside it, the output location being the workgroup's when it enforces its
configuration, else the request's, else the workgroup's. GetQueryResults reads that file back
(the header row first, as Athena answers), from memory while it is recent.

Workgroups: ``primary`` always exists; Create/Get/List/Update/DeleteWorkGroup manage the others.
A workgroup's ``BytesScannedCutoffPerQuery`` cancels a query that reads more, as Athena does
(``CANCELLED``, "Bytes scanned limit was exceeded", no result written).

Query executions are kept in the ``athena.queries`` collection; queries still queued or running
when localcloud stopped end FAILED at the next start, saying so.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import json
import logging
import os
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from localcloud.athena.catalog import GlueCatalog
from localcloud.athena.engine import AthenaEngine
from localcloud.athena.errors import AthenaQueryError
from localcloud.athena.results import QueryResult
from localcloud.athena.service_model import (
    BYTES_SCANNED_LIMIT,
    CANCELLED,
    ENGINE_ERROR_TYPE,
    FAILED,
    PRIMARY,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    USER_ERROR_TYPE,
    InvalidRequestException,
    QueryRecord,
    WorkGroup,
)
from localcloud.athena.storage import split_s3_uri
from localcloud.server.pagination import BadToken, page
from localcloud.server.protocols import JsonProtocol
from localcloud.server.registry import ProtocolService, ServiceContext
from localcloud.state import Collection

log = logging.getLogger("localcloud.athena")

QUERY_WORKERS = 4
# StartQueryExecution answers once its query has ended or after this long, whichever is first:
# most local queries take milliseconds, and a caller's first GetQueryExecution (Step Functions'
# .sync polls after 1 s) then already sees the end instead of waiting a poll interval.
START_WAIT_SECONDS = float(os.environ.get("LOCALCLOUD_ATHENA_START_WAIT_SECONDS", "2"))
_RESULT_CACHE = 64  # recent results kept in memory for GetQueryResults
_RESTART_REASON = "localcloud stopped while this query was queued or running; run it again"


class AthenaService(ProtocolService):
    signing_name = "athena"
    title = "Athena"
    blocking = True

    def __init__(self) -> None:
        self.protocol = JsonProtocol("athena")
        self._context: ServiceContext | None = None
        self._queries: Collection | None = None
        self._workgroups: Collection | None = None
        self._records: dict[str, QueryRecord] = {}
        self._latest_submitted: dt.datetime | None = None  # see _submission_time
        self._tokens: dict[str, str] = {}  # ClientRequestToken -> query execution id
        self._results: OrderedDict[str, tuple[list[dict[str, Any]], list[list[str | None]]]] = OrderedDict()
        self._lock = threading.RLock()
        self._engine: AthenaEngine | None = None
        # Starts wait up to START_WAIT_SECONDS each: enough threads that polls never queue behind them.
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="athena-api")
        self.executor = self._pool
        self._runners = ThreadPoolExecutor(max_workers=QUERY_WORKERS, thread_name_prefix="athena-query")

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self, context: ServiceContext) -> None:
        self._context = context
        self._queries = context.store.collection("athena.queries")
        self._workgroups = context.store.collection("athena.workgroups")
        if self._workgroups.get(PRIMARY) is None:
            self._save_workgroup(WorkGroup(PRIMARY, {}, creation_time=context.clock.now()))
        now = context.clock.now()
        for doc in self._queries.values():
            record = QueryRecord.from_json(doc)
            if not record.done:
                self._finish(record, FAILED, now, reason=_RESTART_REASON, category=1, retryable=True)
            self._records[record.id] = record
            if self._latest_submitted is None or record.submitted > self._latest_submitted:
                self._latest_submitted = record.submitted
            if record.client_token:
                self._tokens[record.client_token] = record.id

    async def stop(self) -> None:
        self._runners.shutdown(wait=False, cancel_futures=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def context(self) -> ServiceContext:
        assert self._context is not None, "the Athena service was not started"
        return self._context

    @property
    def queries(self) -> Collection:
        assert self._queries is not None, "the Athena service was not started"
        return self._queries

    @property
    def workgroups(self) -> Collection:
        assert self._workgroups is not None, "the Athena service was not started"
        return self._workgroups

    @property
    def engine(self) -> AthenaEngine:
        with self._lock:
            if self._engine is None:
                glue, s3 = self.context.shared_client("glue"), self.context.shared_client("s3")
                faults = self.context.faults
                self._engine = AthenaEngine(
                    GlueCatalog(glue),
                    s3_client=s3,
                    confirm_cached=lambda: faults is not None and faults.targets("s3", "GetObject"),
                )
            return self._engine

    # -- workgroups --------------------------------------------------------------------------------
    def _workgroup(self, name: str) -> WorkGroup:
        doc = self.workgroups.get(name)
        if doc is None:
            raise InvalidRequestException(f"WorkGroup {name} is not found.")
        return WorkGroup.from_json(doc)

    def _save_workgroup(self, group: WorkGroup) -> None:
        self.workgroups.put(group.name, group.to_json())

    def create_work_group(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Name"]
        with self._lock:
            if self.workgroups.get(name) is not None:
                raise InvalidRequestException("WorkGroup is already created", "ALREADY_EXISTS")
            configuration = dict(params.get("Configuration") or {})
            configuration.pop("EngineVersion", None)
            self._save_workgroup(
                WorkGroup(
                    name,
                    configuration,
                    description=params.get("Description", ""),
                    creation_time=self.context.clock.now(),
                    tags={tag["Key"]: tag.get("Value", "") for tag in params.get("Tags") or []},
                )
            )
        return {}

    def get_work_group(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"WorkGroup": self._workgroup(params["WorkGroup"]).describe()}

    def list_work_groups(self, params: dict[str, Any]) -> dict[str, Any]:
        groups = sorted((WorkGroup.from_json(doc) for doc in self.workgroups.values()), key=lambda g: g.name)
        chosen, token = self._page(groups, "ListWorkGroups", params, 50)
        answer: dict[str, Any] = {"WorkGroups": [group.summary() for group in chosen]}
        if token:
            answer["NextToken"] = token
        return answer

    def update_work_group(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            group = self._workgroup(params["WorkGroup"])
            if "Description" in params:
                group.description = params["Description"]
            if params.get("State"):
                group.state = params["State"]
            updates = dict(params.get("ConfigurationUpdates") or {})
            configuration = group.configuration
            result_updates = updates.pop("ResultConfigurationUpdates", None) or {}
            result = dict(configuration.get("ResultConfiguration") or {})
            for key, value in result_updates.items():
                if key.startswith("Remove"):
                    if value:
                        result.pop(key.removeprefix("Remove"), None)
                else:
                    result[key] = value
            configuration["ResultConfiguration"] = result
            if updates.pop("RemoveBytesScannedCutoffPerQuery", False):
                configuration.pop("BytesScannedCutoffPerQuery", None)
            updates.pop("EngineVersion", None)
            configuration.update(updates)
            self._save_workgroup(group)
        return {}

    def delete_work_group(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["WorkGroup"]
        if name == PRIMARY:
            raise InvalidRequestException("Cannot delete the primary workgroup")
        self._workgroup(name)
        self.workgroups.delete(name)
        return {}

    # -- queries ---------------------------------------------------------------------------------------
    def start_query_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        token = params.get("ClientRequestToken") or ""
        with self._lock:
            if token and token in self._tokens:
                return {"QueryExecutionId": self._tokens[token]}
            group = self._workgroup(params.get("WorkGroup") or PRIMARY)
            if group.state != "ENABLED":
                raise InvalidRequestException(f"WorkGroup {group.name} is disabled.")
            requested = (params.get("ResultConfiguration") or {}).get("OutputLocation")
            location = group.output_location if group.enforced else (requested or group.output_location)
            location = location or requested
            if not location:
                raise InvalidRequestException(
                    "No output location provided. An output location is required either through the "
                    "Workgroup result configuration setting or as an API input."
                )
            query_id = str(uuid.uuid4())
            context = params.get("QueryExecutionContext") or {}
            submitted = self._submission_time()
            record = QueryRecord(
                id=query_id,
                query=params["QueryString"],
                workgroup=group.name,
                output_location=f"{location.rstrip('/')}/{query_id}.csv",
                submitted=submitted,
                database=context.get("Database", ""),
                catalog=context.get("Catalog") or "AwsDataCatalog",
                parameters=list(params.get("ExecutionParameters") or []),
                client_token=token,
                bytes_cutoff=group.bytes_cutoff,
            )
            self._save(record)
            if token:
                self._tokens[token] = query_id
        running = self._runners.submit(self._run, query_id)
        with contextlib.suppress(concurrent.futures.TimeoutError):
            running.result(timeout=START_WAIT_SECONDS)
        return {"QueryExecutionId": query_id}

    def _record(self, query_id: str) -> QueryRecord:
        with self._lock:
            record = self._records.get(query_id)
        if record is None:
            raise InvalidRequestException(f"QueryExecution {query_id} was not found")
        return record

    def _submission_time(self) -> dt.datetime:
        """Now on localcloud's clock, but never before a submission already recorded.

        Real time never goes backwards, so callers may order computations by SubmissionDateTime
        (meterpipe records it in the items it writes: a later result replaces an earlier one).
        localcloud's clock can be set back (a schedule fired at a past time); without this, a query
        run after that would look older than one run before it. Call with the lock held.
        """
        now = self.context.clock.now()
        latest = self._latest_submitted
        if latest is not None and now <= latest:
            now = latest + dt.timedelta(milliseconds=1)
        self._latest_submitted = now
        return now

    def _save(self, record: QueryRecord) -> None:
        with self._lock:
            self._records[record.id] = record
            self.queries.put(record.id, record.to_json())

    def _run(self, query_id: str) -> None:
        record = self._record(query_id)
        with self._lock:
            if record.state != QUEUED:  # cancelled while queued
                return
            record.state = RUNNING
            record.started = self.context.clock.now()
            self._save(record)
        try:
            result = self.engine.execute(record.query, record.parameters, database=record.database)
        except AthenaQueryError as error:
            self._finish(
                record,
                FAILED,
                self.context.clock.now(),
                reason=error.message,
                category=int(error.category),
                retryable=error.retryable,
            )
            return
        except Exception as exc:  # a bug of ours: the query fails, the log keeps the traceback
            log.exception("query %s failed inside localcloud", query_id)
            self._finish(
                record,
                FAILED,
                self.context.clock.now(),
                reason=f"GENERIC_INTERNAL_ERROR: {exc}",
                category=1,
                retryable=False,
            )
            return
        self._complete(record, result)

    def _complete(self, record: QueryRecord, result: QueryResult) -> None:
        now = self.context.clock.now()
        record.engine_ms = result.engine_execution_ms
        if record.bytes_cutoff is not None and result.data_scanned_bytes > record.bytes_cutoff:
            # Athena cancels the query once it has read the cutoff; nothing is written.
            record.scanned_bytes = record.bytes_cutoff
            self._finish(record, CANCELLED, now, reason=BYTES_SCANNED_LIMIT, category=2, retryable=False)
            return
        record.scanned_bytes = result.data_scanned_bytes
        with self._lock:
            if record.state != RUNNING:  # StopQueryExecution came first: the result is dropped
                return
        try:
            record.output_bytes = self.engine.write_result(result, record.output_location)
        except Exception as exc:
            self._finish(
                record,
                FAILED,
                now,
                reason=f"Unable to write the query results to {record.output_location}: {exc}",
                category=1,
                retryable=True,
            )
            return
        record.output_rows = len(result.rows)
        columns = [column.column_info() for column in result.columns]
        rows: list[list[str | None]] = [[column.name for column in result.columns], *result.text_rows()]
        with self._lock:
            self._results[record.id] = (columns, rows)
            while len(self._results) > _RESULT_CACHE:
                self._results.popitem(last=False)
            self._finish(record, SUCCEEDED, self.context.clock.now())

    def _finish(
        self,
        record: QueryRecord,
        state: str,
        when: dt.datetime,
        *,
        reason: str | None = None,
        category: int | None = None,
        retryable: bool = False,
    ) -> None:
        with self._lock:
            if record.done:
                return
            record.state = state
            record.completed = when
            record.reason = reason
            if category is not None and reason is not None:
                record.error = {
                    "ErrorCategory": category,
                    "ErrorType": USER_ERROR_TYPE if category == 2 else ENGINE_ERROR_TYPE,
                    "Retryable": retryable,
                    "ErrorMessage": reason,
                }
            self._save(record)

    def get_query_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"QueryExecution": self._record(params["QueryExecutionId"]).describe()}

    def batch_get_query_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        found, missing = [], []
        for query_id in params["QueryExecutionIds"]:
            with self._lock:
                record = self._records.get(query_id)
            if record is None:
                missing.append(
                    {
                        "QueryExecutionId": query_id,
                        "ErrorCode": "INVALID_INPUT",
                        "ErrorMessage": f"QueryExecution {query_id} was not found",
                    }
                )
            else:
                found.append(record.describe())
        return {"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing}

    def list_query_executions(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._workgroup(params.get("WorkGroup") or PRIMARY)
        with self._lock:
            records = [r for r in self._records.values() if r.workgroup == group.name]
        records.sort(key=lambda r: (r.submitted, r.id), reverse=True)
        ids = [r.id for r in records]
        chosen, token = self._page(ids, f"ListQueryExecutions:{group.name}", params, 50)
        answer: dict[str, Any] = {"QueryExecutionIds": chosen}
        if token:
            answer["NextToken"] = token
        return answer

    def stop_query_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._record(params["QueryExecutionId"])
        self._finish(record, CANCELLED, self.context.clock.now())
        return {}

    def get_query_runtime_statistics(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"QueryRuntimeStatistics": self._record(params["QueryExecutionId"]).runtime_statistics()}

    def get_query_results(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._record(params["QueryExecutionId"])
        if record.state in (QUEUED, RUNNING):
            raise InvalidRequestException(f"Query has not yet finished. Current state: {record.state}")
        if record.state != SUCCEEDED:
            detail = f"\n{record.reason}" if record.reason else ""
            raise InvalidRequestException(
                f"Query did not finish successfully. Final query state: {record.state}{detail}"
            )
        columns, rows = self._result(record)
        chosen, token = self._page(rows, f"GetQueryResults:{record.id}", params, 1000)
        answer: dict[str, Any] = {
            "UpdateCount": 0,
            "ResultSet": {
                "Rows": [
                    {"Data": [{} if value is None else {"VarCharValue": value} for value in row]}
                    for row in chosen
                ],
                "ResultSetMetadata": {"ColumnInfo": columns},
            },
        }
        if token:
            answer["NextToken"] = token
        return answer

    def _result(self, record: QueryRecord) -> tuple[list[dict[str, Any]], list[list[str | None]]]:
        with self._lock:
            cached = self._results.get(record.id)
        if cached is not None:
            return cached
        # Not in memory (an older query, or localcloud restarted): read the files, as Athena does.
        bucket, key = split_s3_uri(record.output_location)
        s3 = self.context.shared_client("s3")
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        meta = s3.get_object(Bucket=bucket, Key=key + ".metadata")["Body"].read()
        columns = json.loads(meta)["ColumnInfo"]
        return columns, parse_result_csv(body.decode("utf-8"))

    @staticmethod
    def _page(
        items: list[Any], scope: str, params: dict[str, Any], maximum: int
    ) -> tuple[list[Any], str | None]:
        limit = params.get("MaxResults") or maximum
        try:
            return page(items, scope, params.get("NextToken"), min(limit, maximum))
        except BadToken as exc:
            raise InvalidRequestException(f"Invalid NextToken: {params.get('NextToken')}") from exc


def parse_result_csv(text: str) -> list[list[str | None]]:
    """Rows of an Athena result file: every value quoted (``""`` inside doubled), NULL unquoted
    and empty, so a NULL and an empty string stay apart (Python's csv module cannot tell them)."""
    rows: list[list[str | None]] = []
    row: list[str | None] = []
    position, length = 0, len(text)
    while position < length:
        if text[position] == '"':
            end = position + 1
            chunks = []
            while True:
                quote = text.index('"', end)
                chunks.append(text[end:quote])
                if quote + 1 < length and text[quote + 1] == '"':
                    chunks.append('"')
                    end = quote + 2
                    continue
                position = quote + 1
                break
            row.append("".join(chunks))
        else:
            row.append(None)
        if position >= length or text[position] == "\n":
            rows.append(row)
            row = []
        position += 1
    return rows
