"""Amazon Athena, optimized (the guide's "Run Athena queries with Step Functions"):
``arn:aws:states:::athena:startQueryExecution`` (request-response and ``.sync``),
``stopQueryExecution``, ``getQueryExecution`` and ``getQueryResults`` (request-response).

Parameters are Athena's API fields. A request-response result is Athena's response plus
``SdkHttpMetadata``/``SdkResponseMetadata``; ``startQueryExecution.sync`` records the start response
as TaskSubmitted, polls GetQueryExecution on the execution's clock until the query ends, and
returns GetQueryExecution's response (timestamps as epoch milliseconds). A query that ends FAILED or
CANCELLED fails the task with ``States.TaskFailed`` and GetQueryExecution's response as the cause
(its ``Status.StateChangeReason`` says why); a task that times out or is stopped while the query
runs stops the query. Athena's own errors are ``Athena.<ErrorCode>`` (``Athena.InvalidRequestException``,
``Athena.TooManyRequestsException``; ``Athena.AmazonAthenaException`` when Athena names none).
"""

from __future__ import annotations

from typing import Any

from localcloud.asl.errors import TASK_FAILED, ExecutionStopped, StatesFailure
from localcloud.asl.integrations.base import TaskRequest
from localcloud.asl.integrations.optimized import OptimizedApiCall
from localcloud.asl.integrations.sdk import call, optimized_failure, plain_json
from localcloud.asl.payload import to_json
from localcloud.asl.runtime import ExecutionTimedOut

METHODS = {
    "startQueryExecution": "start_query_execution",
    "stopQueryExecution": "stop_query_execution",
    "getQueryExecution": "get_query_execution",
    "getQueryResults": "get_query_results",
}
# Seconds between GetQueryExecution polls: quick at first, then every few seconds.
POLL_SECONDS = (1, 1, 2, 2, 5)
_ENDED = ("SUCCEEDED", "FAILED", "CANCELLED")


def _failure(exc: BaseException) -> StatesFailure:
    return optimized_failure(exc, prefix="Athena", service="AmazonAthena", fallback="AmazonAthenaException")


class AthenaCall(OptimizedApiCall):
    """An optimized Athena action, request-response."""

    boto3_service = "athena"
    methods = METHODS

    def failure(self, exc: BaseException) -> StatesFailure:
        return _failure(exc)


class AthenaStartQuery(AthenaCall):
    """``startQueryExecution``, also as ``.sync``."""

    patterns = frozenset({"", "sync"})

    def wait_for_job(self, req: TaskRequest, submitted: Any) -> Any:
        query_id = submitted.get("QueryExecutionId") if isinstance(submitted, dict) else None
        client = req.client("athena")
        polls = 0
        try:
            while True:
                response = call(client, "get_query_execution", {"QueryExecutionId": query_id}, _failure)
                state = ((response.get("QueryExecution") or {}).get("Status") or {}).get("State")
                if state in _ENDED:
                    result = plain_json(response)
                    if state != "SUCCEEDED":
                        raise StatesFailure(TASK_FAILED, to_json(result))
                    return result
                req.sleep(POLL_SECONDS[min(polls, len(POLL_SECONDS) - 1)])
                polls += 1
        except (ExecutionStopped, ExecutionTimedOut):
            self._stop(client, query_id)
            raise
        except StatesFailure as failure:
            if failure.error == "States.Timeout":
                self._stop(client, query_id)
            raise

    @staticmethod
    def _stop(client: Any, query_id: Any) -> None:
        """The task no longer waits: the query it started is stopped (best effort)."""
        try:
            client.stop_query_execution(QueryExecutionId=query_id)
        except Exception:
            return
