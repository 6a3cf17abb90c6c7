"""What localcloud's Athena service holds: workgroups and query executions, as the API shows them,
and the errors it answers with (botocore's ``athena`` model)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from localcloud.server.errors import AwsError

PRIMARY = "primary"
ENGINE_VERSION = {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"
# Athena's error catalog: ErrorType 1000 is a user error, 200 an internal error of the engine.
USER_ERROR_TYPE, ENGINE_ERROR_TYPE = 1000, 200
BYTES_SCANNED_LIMIT = "Bytes scanned limit was exceeded"


class InvalidRequestException(AwsError):
    code = "InvalidRequestException"
    status = 400
    sender_fault = True

    def __init__(self, message: str, athena_code: str = "INVALID_INPUT") -> None:
        super().__init__(message, AthenaErrorCode=athena_code)


class ResourceNotFoundException(AwsError):
    code = "ResourceNotFoundException"
    status = 400
    sender_fault = True


def _iso(when: dt.datetime | None) -> str | None:
    return when.isoformat() if when else None


def _from_iso(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


@dataclass
class WorkGroup:
    name: str
    configuration: dict[str, Any]
    description: str = ""
    state: str = "ENABLED"
    creation_time: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def output_location(self) -> str | None:
        location = (self.configuration.get("ResultConfiguration") or {}).get("OutputLocation")
        return str(location) if location else None

    @property
    def enforced(self) -> bool:
        return bool(self.configuration.get("EnforceWorkGroupConfiguration", True))

    @property
    def bytes_cutoff(self) -> int | None:
        cutoff = self.configuration.get("BytesScannedCutoffPerQuery")
        return int(cutoff) if cutoff else None

    def describe(self) -> dict[str, Any]:
        configuration = {
            "EnforceWorkGroupConfiguration": True,
            "PublishCloudWatchMetricsEnabled": True,
            "RequesterPaysEnabled": False,
            **self.configuration,
            "EngineVersion": ENGINE_VERSION,
        }
        return {
            "Name": self.name,
            "State": self.state,
            "Configuration": configuration,
            "Description": self.description,
            "CreationTime": self.creation_time,
        }

    def summary(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "State": self.state,
            "Description": self.description,
            "CreationTime": self.creation_time,
            "EngineVersion": ENGINE_VERSION,
        }

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["creation_time"] = _iso(self.creation_time)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkGroup:
        values = dict(data)
        values["creation_time"] = _from_iso(values["creation_time"])
        return cls(**values)


@dataclass
class QueryRecord:
    """One query execution: what Get/BatchGet/ListQueryExecutions and the statistics answer from."""

    id: str
    query: str
    workgroup: str
    output_location: str  # the result CSV: <OutputLocation>/<id>.csv
    submitted: dt.datetime
    database: str = ""
    catalog: str = "AwsDataCatalog"
    parameters: list[str] = field(default_factory=list)
    client_token: str = ""
    bytes_cutoff: int | None = None
    state: str = QUEUED
    reason: str | None = None
    error: dict[str, Any] | None = None  # AthenaError
    started: dt.datetime | None = None
    completed: dt.datetime | None = None
    engine_ms: int = 0
    scanned_bytes: int = 0
    output_rows: int | None = None
    output_bytes: int | None = None

    @property
    def done(self) -> bool:
        return self.state in (SUCCEEDED, FAILED, CANCELLED)

    def _ms(self, start: dt.datetime | None, end: dt.datetime | None) -> int:
        return max(0, int((end - start).total_seconds() * 1000)) if start and end else 0

    def statistics(self) -> dict[str, Any]:
        queue_ms = self._ms(self.submitted, self.started or self.completed)
        total_ms = self._ms(self.submitted, self.completed)
        return {
            "EngineExecutionTimeInMillis": self.engine_ms,
            "DataScannedInBytes": self.scanned_bytes,
            "TotalExecutionTimeInMillis": total_ms,
            "QueryQueueTimeInMillis": queue_ms,
            "ServicePreProcessingTimeInMillis": 0,
            "QueryPlanningTimeInMillis": 0,
            "ServiceProcessingTimeInMillis": max(0, total_ms - queue_ms - self.engine_ms),
            "ResultReuseInformation": {"ReusedPreviousResult": False},
        }

    def describe(self) -> dict[str, Any]:
        """``QueryExecution`` as GetQueryExecution returns it."""
        status: dict[str, Any] = {"State": self.state, "SubmissionDateTime": self.submitted}
        if self.completed:
            status["CompletionDateTime"] = self.completed
        if self.reason:
            status["StateChangeReason"] = self.reason
        if self.error:
            status["AthenaError"] = self.error
        context = {"Catalog": self.catalog.lower()}
        if self.database:
            context["Database"] = self.database
        answer: dict[str, Any] = {
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": "DML",
            "SubstatementType": "SELECT",
            "ResultConfiguration": {"OutputLocation": self.output_location},
            "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
            "QueryExecutionContext": context,
            "Status": status,
            "Statistics": self.statistics(),
            "WorkGroup": self.workgroup,
            "EngineVersion": ENGINE_VERSION,
        }
        if self.parameters:
            answer["ExecutionParameters"] = list(self.parameters)
        return answer

    def runtime_statistics(self) -> dict[str, Any]:
        """``QueryRuntimeStatistics``: published at once locally, with the rows once it finished."""
        stats = self.statistics()
        timeline = {
            key: stats[key]
            for key in (
                "QueryQueueTimeInMillis",
                "ServicePreProcessingTimeInMillis",
                "QueryPlanningTimeInMillis",
                "EngineExecutionTimeInMillis",
                "ServiceProcessingTimeInMillis",
                "TotalExecutionTimeInMillis",
            )
        }
        answer: dict[str, Any] = {"Timeline": timeline}
        if self.state == SUCCEEDED:
            answer["Rows"] = {
                "InputBytes": self.scanned_bytes,
                "OutputBytes": self.output_bytes or 0,
                "OutputRows": self.output_rows or 0,
            }
        return answer

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("submitted", "started", "completed"):
            data[key] = _iso(getattr(self, key))
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueryRecord:
        values = dict(data)
        for key in ("submitted", "started", "completed"):
            values[key] = _from_iso(values.get(key))
        return cls(**values)
