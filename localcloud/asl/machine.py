"""A parsed state machine as data: the graph of typed states and the definition's own fields.

Kept apart from the parser (``definition.py``) so that what runs a machine (the host, the
Distributed Map processor that makes its ItemProcessor a machine of its own, TestState) needs
no import of the parser, and the parser's imports never come back to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.asl.states.base import State


class StateGraph:
    """``StartAt`` and ``States``: the top level, a Parallel branch or a Map's ItemProcessor."""

    def __init__(self, start_at: str, states: dict[str, State], query_language: str) -> None:
        self.start_at = start_at
        self.states = states
        self.query_language = query_language


class StateMachine:
    """A parsed, valid definition. ``raw`` is the definition as JSON data (kept for redrive)."""

    def __init__(
        self, graph: StateGraph, raw: dict[str, Any], timeout_seconds: int | None, comment: str | None
    ) -> None:
        self.graph = graph
        self.raw = raw
        self.timeout_seconds = timeout_seconds
        self.comment = comment
        self.query_language = graph.query_language
        # STANDARD or EXPRESS: the state machine resource's type. A host's machine_resolver sets it
        # for the machines it returns, so that states:startExecution starts the right kind.
        self.machine_type = "STANDARD"
