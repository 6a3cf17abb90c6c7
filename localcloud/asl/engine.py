"""Running a graph of states in one frame: the transition loop, and the progress record redrive
resumes from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localcloud.asl.runtime import Frame

if TYPE_CHECKING:
    from localcloud.asl.machine import StateGraph


def run_graph(graph: StateGraph, frame: Frame, data: Any) -> Any:
    """Run ``graph`` from its StartAt (or from where ``frame.resume`` says) and return the output of
    the state that ends it. Failures propagate as :class:`StatesFailure`."""
    record = frame.record
    resume = frame.resume
    if resume is not None and resume.get("state") in graph.states:
        name = resume["state"]
        data = resume.get("input")
    else:
        name = graph.start_at
        frame.resume = None
    states = graph.states
    while True:
        frame.check()
        state = states[name]
        record["state"] = name
        record["input"] = data
        record["vars"] = dict(frame.variables.local)
        record.pop("children", None)
        record.pop("map_run", None)
        transition = state.execute(frame, data)
        frame.resume = None
        data = transition.output
        if transition.next is None:
            return data
        name = transition.next
