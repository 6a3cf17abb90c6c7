"""Query failures as Athena reports them.

Athena puts an error name at the start of a failed query's ``StateChangeReason``
(``TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.db.t' does not exist``) and classifies it
in ``Status.AthenaError``: ``ErrorCategory`` 1 (system), 2 (user) or 3 (other). The names and
wordings below are Trino's (Athena engine v3), with Athena's own additions where they differ.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCategory(IntEnum):
    """``AthenaError.ErrorCategory``."""

    SYSTEM = 1
    USER = 2
    OTHER = 3


# Error names whose cause is the system, not the query; every other name is a user error.
_SYSTEM_ERRORS = frozenset({"GENERIC_INTERNAL_ERROR", "HIVE_CURSOR_ERROR", "HIVE_FILESYSTEM_ERROR"})


class AthenaQueryError(Exception):
    """A query that fails the way an Athena query fails.

    ``name`` is the error name (``SYNTAX_ERROR``, ``TABLE_NOT_FOUND``, ...); ``str(error)`` and
    ``message`` are the whole reason as Athena reports it, the name first.
    """

    def __init__(self, name: str, detail: str, *, line: int | None = None, column: int | None = None) -> None:
        self.name = name
        self.line = line
        self.column = column
        where = f"line {line}:{column}: " if line is not None and column is not None else ""
        self.detail = detail
        self.message = f"{name}: {where}{detail}"
        super().__init__(self.message)

    @property
    def category(self) -> ErrorCategory:
        return ErrorCategory.SYSTEM if self.name in _SYSTEM_ERRORS else ErrorCategory.USER

    @property
    def retryable(self) -> bool:
        return self.category is ErrorCategory.SYSTEM


def syntax_error(detail: str, *, line: int | None = None, column: int | None = None) -> AthenaQueryError:
    return AthenaQueryError("SYNTAX_ERROR", detail, line=line, column=column)


def not_supported(detail: str) -> AthenaQueryError:
    """A feature this engine does not implement: fail loudly, naming it, rather than answer wrongly."""
    return AthenaQueryError("NOT_SUPPORTED", f"{detail} (not supported by localcloud's Athena engine)")
