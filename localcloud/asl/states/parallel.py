"""Parallel: runs every branch on the same input at once; the output is the list of their outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localcloud.asl.checker import Checker, pointer
from localcloud.asl.runtime import CancelToken
from localcloud.asl.states.base import RESULT_STATE_JSONPATH_FIELDS, WORK_STATE_FIELDS, State, StateRun
from localcloud.asl.states.children import SUCCEEDED, ChildOutcome, finish_group, run_child, spawn

if TYPE_CHECKING:
    from localcloud.asl.definition import ParseContext, StateGraph


class ParallelState(State):
    type_name = "Parallel"
    _common = WORK_STATE_FIELDS | {"Branches"}
    jsonpath_fields = _common | RESULT_STATE_JSONPATH_FIELDS
    jsonata_fields = _common | {"Arguments", "Output"}
    has_result = True
    can_retry = True

    def parse(self, check: Checker) -> None:
        self.branches: list[StateGraph] = []

    def setup(self, pctx: ParseContext) -> None:
        check = pctx.check
        branches = self.raw.get("Branches")
        if "Branches" not in self.raw:
            check.add(self.path, "These fields are required: [Branches]")
            return
        if not isinstance(branches, list) or not branches:
            check.add(
                pointer(self.path, "Branches"), "The value for the field 'Branches' must be a non-empty LIST"
            )
            return
        for i, branch in enumerate(branches):
            at = pointer(self.path, "Branches", i)
            if not isinstance(branch, dict):
                check.add(at, "A branch must be an OBJECT with StartAt and States")
                continue
            check.allowed_fields(
                branch, {"StartAt", "States", "Comment", "QueryLanguage"}, at, "a Parallel branch"
            )
            graph = pctx.parse_graph(branch, at, self.language)
            if graph is not None:
                self.branches.append(graph)

    def subgraphs(self) -> list[StateGraph]:
        return list(self.branches)

    def body(self, run: StateRun, effective_input: Any) -> Any:
        frame = run.frame
        data = effective_input
        if self.jsonata:
            args = run.arguments()
            data = run.raw_input if args is None else args
        resume = frame.resume if frame.resume and frame.resume.get("state") == self.name else None
        frame.resume = None
        previous: list[dict[str, Any]] = list((resume or {}).get("children") or [])
        records: list[dict[str, Any]] = [{"status": "RUNNING"} for _ in self.branches]
        frame.record["children"] = records
        frame.event("ParallelStateStarted")
        results: list[Any] = [None] * len(self.branches)
        outcome = ChildOutcome(frame)
        group = CancelToken(frame.token)
        work = []
        for index, graph in enumerate(self.branches):
            before = previous[index] if index < len(previous) else None
            if before is not None and before.get("status") == SUCCEEDED:
                # Redrive: a branch that succeeded keeps its output and does not run again.
                records[index] = before
                results[index] = before.get("output")
                continue
            child = frame.child(records[index], resume=before, group=group)

            def branch(graph: StateGraph = graph, child: Any = child, index: int = index) -> None:
                status, value = run_child(graph, child, data, outcome, lambda: group.cancel("branch failed"))
                if status == SUCCEEDED:
                    results[index] = value

            work.append(branch)
        spawn(frame, work)
        finish_group(frame, group, outcome, "Parallel")
        return results
