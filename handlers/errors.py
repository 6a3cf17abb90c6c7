"""The errors the handlers raise.

On Lambda, Step Functions sees an unhandled exception as an error whose name is the exception's
class name, and its Retry/Catch rules match that name. So these class names are an interface with
the state machines: rename one and the definitions in ``meterpipe/state_machines/`` must follow. The
constants below are what a definition (or a test of one) should cite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


class HandlerError(Exception):
    """Base class of every error a handler raises on purpose."""


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one row of a batch (``row`` is 1-based within the batch)."""

    row: int
    message: str


class InvalidBatchError(HandlerError):
    """The event or some of its rows break the contract; nothing was written. Never worth retrying:
    the same input fails the same way."""

    # A Lambda error's message becomes the Step Functions ``Cause``, which AWS caps at 32,768
    # characters: list this many problems in full, count the rest.
    MAX_LISTED = 50

    def __init__(self, summary: str, problems: tuple[RowProblem, ...] = ()) -> None:
        self.summary = summary
        self.problems = problems
        super().__init__(self._message())

    def _message(self) -> str:
        if not self.problems:
            return self.summary
        rows = sorted({p.row for p in self.problems})
        lines = [f"{self.summary}: {len(rows)} bad row{'s' if len(rows) != 1 else ''} ({_row_list(rows)})"]
        for problem in self.problems[: self.MAX_LISTED]:
            lines.append(f"row {problem.row}: {problem.message}")
        hidden = len(self.problems) - self.MAX_LISTED
        if hidden > 0:
            lines.append(f"... and {hidden} more problem{'s' if hidden != 1 else ''} not listed")
        return "\n".join(lines)


class TimeBudgetExhaustedError(HandlerError):
    """The Lambda's remaining time ran short before every item was written. Every write is
    idempotent, so the state machine retries the whole batch."""

    def __init__(self, message: str, *, written: int, pending: int, retried: int = 0) -> None:
        self.written = written
        self.pending = pending
        self.retried = retried
        super().__init__(message)


class SupersededError(HandlerError):
    """The batch's execution no longer owns its day in the ledger: a later run claimed it (docs/ledger.md,
    "Two runs of one day"). Nothing was written. Never worth retrying: the ownership does not come back."""

    def __init__(self, message: str, *, owner: str | None) -> None:
        self.owner = owner
        super().__init__(message)


class MissingSettingError(HandlerError):
    """A required environment variable is unset or empty (a deployment mistake)."""

    def __init__(self, variable: str, purpose: str) -> None:
        self.variable = variable
        super().__init__(f"environment variable {variable} is not set: it must hold {purpose}")


class InvalidSettingError(HandlerError):
    """An environment variable holds a value the handler cannot use (a deployment mistake)."""


# The error names as Step Functions sees them on AWS (and on localcloud's Lambda).
INVALID_BATCH: Final = InvalidBatchError.__name__
TIME_BUDGET_EXHAUSTED: Final = TimeBudgetExhaustedError.__name__
SUPERSEDED: Final = SupersededError.__name__


def _row_list(rows: list[int]) -> str:
    """``rows 3, 7-9, 12`` (ranges keep the first line short)."""
    spans: list[str] = []
    start = prev = rows[0]
    for row in [*rows[1:], None]:
        if row is not None and row == prev + 1:
            prev = row
            continue
        spans.append(str(start) if start == prev else f"{start}-{prev}")
        if row is not None:
            start = prev = row
    return ("row " if len(rows) == 1 else "rows ") + ", ".join(spans)
