"""Errors of the ASL interpreter.

Two families that never mix: :class:`DefinitionError` (the definition text is wrong; raised before
anything runs, carrying every problem found) and :class:`StatesFailure` (something failed while an
execution ran; carries the ASL error name that Retry/Catch match and a cause a person can act on).
"""

from __future__ import annotations

from dataclasses import dataclass

# Error names Step Functions reserves (https://states-language.net/#appendix-a-predefined-error-codes
# and the developer guide's "Error handling in Step Functions").
ALL = "States.ALL"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
TIMEOUT = "States.Timeout"
TASK_FAILED = "States.TaskFailed"
PERMISSIONS = "States.Permissions"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
# Reserved by the spec ("A branch of a Parallel State failed") but never raised: on AWS a failed
# branch's own error (name and cause) becomes the Parallel state's error, so a Catch names that error
# (conformance: parallel/core-branch-error-is-caught-by-name, and parallel_branch_failed_is_not_the_
# error_name where a Catch on this name does not catch it). Kept so the reserved names stay listed.
BRANCH_FAILED = "States.BranchFailed"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
ITEM_READER_FAILED = "States.ItemReaderFailed"
RESULT_WRITER_FAILED = "States.ResultWriterFailed"
RUNTIME = "States.Runtime"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"

# Errors that States.ALL never matches ("Error names" in the developer guide: a States.Runtime error
# is not retriable and always fails the execution; States.DataLimitExceeded is terminal and only an
# explicit name catches it).
NOT_MATCHED_BY_ALL = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})
# Errors that no Retry or Catch ever handles, even when named.
NEVER_HANDLED = frozenset({RUNTIME})
# Errors raised by the interpreter itself, whose cause AWS prefixes with the state's name.
LOCATED_ERRORS = frozenset(
    {RUNTIME, QUERY_EVALUATION_ERROR, INTRINSIC_FAILURE, RESULT_PATH_MATCH_FAILURE, PARAMETER_PATH_FAILURE}
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition: a JSON Pointer into the definition, a message, and the
    diagnostic code ValidateStateMachineDefinition uses (SCHEMA_VALIDATION_FAILED,
    MISSING_TRANSITION_TARGET, UNREACHABLE_STATE, ...)."""

    path: str
    message: str
    code: str = "SCHEMA_VALIDATION_FAILED"

    def __str__(self) -> str:
        return f"{self.code}: {self.message} at {self.path or '/'}"


class DefinitionError(ValueError):
    """The definition is invalid. ``problems`` holds every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid state machine definition ({len(self.problems)} problem(s)):\n{lines}")


class StatesFailure(Exception):
    """A runtime failure with an ASL error name (``States.TaskFailed``, ``Lambda.Unknown``, ...)."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        self.error = error
        self.cause = cause
        self.located = False  # the cause already names the state it happened in
        self.location: str | None = None  # the field a JSONata evaluation failed in
        super().__init__(f"{error}: {cause}" if cause else error)

    def locate(self, state: str, entered_event_id: int) -> StatesFailure:
        """Prefix the cause with the state, as AWS does for errors the interpreter raises itself."""
        if not self.located and self.error in LOCATED_ERRORS:
            self.cause = (
                f"An error occurred while executing the state '{state}' (entered at the event id "
                f"#{entered_event_id}). {self.cause or ''}"
            ).rstrip()
        self.located = True
        return self


# The cancellation reason StopExecution gives (ExecutionHost.stop); other reasons are a failing
# sibling branch or iteration, or a failing Map Run.
STOP_REQUESTED = "StopExecution"


class ExecutionStopped(Exception):
    """Raised inside the interpreter's threads when StopExecution (or a failure elsewhere) ends a run."""

    @property
    def stop_requested(self) -> bool:
        """Whether StopExecution ended the run. Then AWS records ``ExecutionAborted`` and nothing
        for the states that were running, neither their exit nor a ``*StateAborted`` (a history
        recorded on AWS of an execution stopped in a Wait state is ExecutionStarted,
        WaitStateEntered, ExecutionAborted; conformance case history/stop_during_wait_ends_aborted),
        whereas states that a failing sibling cancels record their ``*StateAborted``."""
        return bool(self.args) and self.args[0] == STOP_REQUESTED


def error_matches(error: str, names: list[str]) -> bool:
    """AWS's ErrorEquals rule: exact names, or States.ALL for anything but the terminal errors."""
    if error in NEVER_HANDLED:
        return False
    if error in names:
        return True
    if error in NOT_MATCHED_BY_ALL:
        return False
    # States.TaskFailed "acts as a wildcard that matches any known error name except for
    # States.Timeout" (the guide's "Error names").
    return ALL in names or (TASK_FAILED in names and error != TIMEOUT)
