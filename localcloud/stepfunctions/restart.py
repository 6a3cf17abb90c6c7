"""What a restart of localcloud does to the executions it interrupted: every rule in one place.

AWS never restarts under a running execution; localcloud does (``meterpipe local down``, a
SIGKILL, a crash). localcloud turns such an interruption into a failure AWS knows how to continue
from: the execution ends FAILED with ``States.Runtime`` (the interpreter's own error, which no
Retry or Catch of the definition handles) and a cause naming the restart, and RedriveExecution
continues it as AWS's redrive does ("continues the failed execution from the unsuccessful step
and uses the same input ... doesn't rerun [successful] steps", RedriveExecution in the API
Reference). :data:`RULES` lists each kind of interrupted work, what localcloud does with it and
the AWS behaviour it follows; ``tests/functional/localcloud/test_localcloud_sfn_persistence.py``
checks the table row by row against a real server stopped cleanly and killed.

Where each rule runs:

- at start (``StepFunctionsService.recover`` / ``start``): :func:`interruption_cause`,
  :func:`interrupt` (through ``SqliteExecutionStore.fail_interrupted``) and
  :func:`redriven_at_start`;
- when a redriven parent asks again for a child it started by name (``EndpointHost``):
  :func:`named_child_answer`;
- the rest is AWS's own redrive (``localcloud.asl.host.ExecutionHost.redrive``, the Distributed
  Map processor's Map Run redrive): the saved progress (``record.progress``, written in
  checkpoints about once a second, and as it stands at a clean stop) is what it continues from.

The interpreter library has one more way back, which the endpoint does not use:
``ExecutionHost.recover()`` continues RUNNING records in place (no failure, no redrive), and a Map
Run that finds its child RUNNING then waits for it instead of redriving it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from localcloud.asl.history import History
from localcloud.asl.store import FAILED, RUNNING, ExecutionRecord

Shutdown = Literal["clean", "crash", "first-start"]

RESTART_ERROR = "States.Runtime"
CRASH_CAUSE = (
    "localcloud restarted after it stopped without a clean shutdown (killed or crashed) while this "
    "execution was running; its progress up to the last checkpoint is kept: RedriveExecution "
    "continues it from there"
)
STOP_CAUSE = (
    "localcloud was stopped while this execution was running; it was redriven when localcloud "
    "started again, from its progress at the stop"
)
RESTART_CAUSES = (CRASH_CAUSE, STOP_CAUSE)

REDRIVE_API = "RedriveExecution (Step Functions API Reference)"
REDRIVE_MAP_RUNS = "Redriving Map Runs (Step Functions Developer Guide)"
START_EXECUTION_API = (
    "StartExecution (Step Functions API Reference): idempotent on name and input while RUNNING"
)


@dataclass(frozen=True)
class Rule:
    """One kind of interrupted work: what localcloud shows after a clean stop and after a crash,
    and what AWS does that the rule follows (with the page that says so)."""

    interrupted: str
    after_stop: str
    after_crash: str
    aws: str
    source: str


RULES: tuple[Rule, ...] = (
    Rule(
        "a top-level execution (any state running: Pass, Task, Wait, Parallel, inline Map)",
        "FAILED (States.Runtime, STOP_CAUSE), then redriven at once: RUNNING, redriveCount 1",
        "FAILED (States.Runtime, CRASH_CAUSE), REDRIVABLE until RedriveExecution",
        "a redriven execution continues from the unsuccessful state with the same input; "
        "successful states are not run again",
        REDRIVE_API,
    ),
    Rule(
        "the state that was running (a Wait, a Task, a .waitForTaskToken task)",
        "runs again from its start: a Wait waits its whole time again, a Task calls its "
        "service again, a callback task issues a new token",
        "the same, from the last checkpoint (at most about a second of progress is lost)",
        "the unsuccessful state is run again; earlier ones keep their results",
        REDRIVE_API,
    ),
    Rule(
        "Parallel branches and inline Map iterations",
        "the succeeded ones keep their output; the others run again",
        "the same, as of the last checkpoint",
        "RedriveExecution redrives only the iterations and branches that failed or aborted",
        REDRIVE_API,
    ),
    Rule(
        "a Distributed Map's Map Run and its child executions",
        "Map Run and children FAILED with their parent; the parent's redrive redrives the same "
        "Map Run (MapRunRedriven): succeeded children keep their output, STANDARD children are "
        "redriven under their ARN, EXPRESS ones start again under theirs",
        "the same, once the parent is redriven; the children wait for it (REDRIVABLE_BY_MAP_RUN)",
        "a redriven parent redrives its failed Map Run; STANDARD children are redriven, EXPRESS "
        "children rerun with StartExecution under the same ARN",
        REDRIVE_MAP_RUNS,
    ),
    Rule(
        "a child started by name (states:startExecution) while its parent waited (.sync)",
        "child FAILED, not redriven by itself; the redriven parent starting it again by name "
        "gets it redriven (same ARN), or gets its end when it ended while localcloud was down",
        "the same, once the parent is redriven",
        "StartExecution with the name and input of a RUNNING execution returns that execution; "
        "localcloud extends this to the executions a restart interrupted (AWS has none)",
        START_EXECUTION_API,
    ),
    Rule(
        "an execution that ended before the stop or crash",
        "unchanged",
        "unchanged if its end reached a checkpoint; otherwise it is one of the RUNNING ones above",
        "an ended execution never changes",
        REDRIVE_API,
    ),
)


def interruption_cause(previous_shutdown: Shutdown | str) -> str | None:
    """The cause executions left RUNNING by the last run end with (None at the first start)."""
    if previous_shutdown == "first-start":
        return None
    return CRASH_CAUSE if previous_shutdown == "crash" else STOP_CAUSE


def interrupt(record: ExecutionRecord, now: dt.datetime, cause: str) -> None:
    """End a RUNNING record interrupted by the last run's end: FAILED with :data:`RESTART_ERROR`,
    an ``ExecutionFailed`` event closing its history, its running Map Runs FAILED. Its progress
    stays: RedriveExecution continues from it."""
    record.status = FAILED
    record.stop_date = now
    record.error, record.cause = RESTART_ERROR, cause
    history = History(lambda: now, record.history)
    history.add("ExecutionFailed", history.last_id, {"error": RESTART_ERROR, "cause": cause})
    for run in record.map_runs.values():
        if run.status == RUNNING:
            run.stop(FAILED, now)


def redriven_at_start(previous_shutdown: Shutdown | str, summary: Mapping[str, Any]) -> bool:
    """After a clean stop the top-level executions carry on by themselves; children (of a Map
    Run, or started by name) follow through their parents' redrive, never on their own."""
    return (
        previous_shutdown == "clean"
        and not summary.get("parentExecutionArn")
        and not summary.get("mapRunArn")
    )


def interrupted_by_restart(record: ExecutionRecord) -> bool:
    return record.status == FAILED and record.error == RESTART_ERROR and record.cause in RESTART_CAUSES


def resumed_after_restart(record: ExecutionRecord) -> bool:
    """Whether the execution's last failure was a stop or crash of localcloud (it runs on, redriven)."""
    failed = next((e for e in reversed(record.history) if e.get("type") == "ExecutionFailed"), None)
    return failed is not None and failed.get("executionFailedEventDetails", {}).get("cause") in RESTART_CAUSES


def named_child_answer(
    existing: ExecutionRecord,
    *,
    input: Any,
    parent_arn: str | None,
    find: Callable[[str], ExecutionRecord | None],
    redrive_problem: Callable[[ExecutionRecord], str | None],
) -> Literal["running", "redrive", "ended", "start"]:
    """What a ``states:startExecution`` of the name ``existing`` holds answers:

    - ``running``: same input and RUNNING: that execution (AWS's StartExecution idempotency);
    - ``redrive``: same input, interrupted by a restart and redrivable: redrive it and answer it
      (so redriving an interrupted parent continues its child from the child's saved progress
      instead of failing on the name it already used);
    - ``ended``: same input, started by this parent, and ended while the parent was interrupted
      (between the child's end and the parent's ``.sync`` task seeing it): that execution, ended;
    - ``start``: none of these: start it (which refuses a name in use: ExecutionAlreadyExists).
    """
    if existing.input != (input if input is not None else {}):
        return "start"
    if existing.status == RUNNING:
        return "running"
    if interrupted_by_restart(existing) and redrive_problem(existing) is None:
        return "redrive"
    if parent_arn is not None and existing.extra.get("parent_execution_arn") == parent_arn:
        parent = find(parent_arn)
        if parent is not None and resumed_after_restart(parent):
            return "ended"
    return "start"
