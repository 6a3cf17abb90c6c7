"""A state machine's definition as a graph: its states in flow order, each with its transitions,
Parallel branches and Map processors nested inside their state.

The console draws this graph and the CLI groups a timeline by branch with it; both read the
definition an execution ran with (DescribeStateMachineForExecution), so the graph is whatever
the deployment holds, not a copy of ``meterpipe/state_machines/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Transition:
    label: str  # Next | Default | Choice | Catch <errors>
    target: str


@dataclass
class StateNode:
    name: str
    type: str
    comment: str | None = None
    end: bool = False
    transitions: list[Transition] = field(default_factory=list)
    branches: list[Flow] = field(default_factory=list)  # Parallel
    processor: Flow | None = None  # Map (ItemProcessor or Iterator)
    processor_mode: str | None = None  # INLINE | DISTRIBUTED
    label: str | None = None  # a Distributed Map's Label (names its map runs)
    resource: str | None = None
    functions: list[str] = field(default_factory=list)  # Lambda function names a Task invokes

    @property
    def children(self) -> list[Flow]:
        return [*self.branches, *([self.processor] if self.processor else [])]


@dataclass
class Flow:
    """One level of states: the whole machine, a Parallel branch or a Map processor."""

    start_at: str
    states: list[StateNode]

    def walk(self) -> Iterator[tuple[StateNode, tuple[str, ...]]]:
        """Every state, nested ones included, with the path of the states that enclose it
        (``("RollUp", "branch 2")`` for a state of RollUp's second branch)."""
        for state in self.states:
            yield state, ()
            for number, branch in enumerate(state.branches, start=1):
                for inner, path in branch.walk():
                    yield inner, (state.name, f"branch {number}", *path)
            if state.processor is not None:
                for inner, path in state.processor.walk():
                    yield inner, (state.name, "processor", *path)

    def find(self, name: str) -> StateNode | None:
        return next((state for state, _ in self.walk() if state.name == name), None)


def parse_definition(text: str | dict[str, Any]) -> Flow:
    """The graph of an ASL definition (its JSON text or the parsed document)."""
    document = json.loads(text) if isinstance(text, str) else text
    return _flow(document)


def _flow(document: dict[str, Any]) -> Flow:
    raw = document.get("States") or {}
    nodes = {name: _node(name, spec) for name, spec in raw.items() if isinstance(spec, dict)}
    start = str(document.get("StartAt", ""))
    ordered: list[StateNode] = []
    seen: set[str] = set()
    # Depth-first from StartAt, the usual path first (Next, Default), then the other branches
    # (Choices, Catch): the main line reads top to bottom, detours follow it.
    pending = [start]
    while pending:
        name = pending.pop()
        if name in seen or name not in nodes:
            continue
        seen.add(name)
        node = nodes[name]
        ordered.append(node)
        pending.extend(reversed([t.target for t in node.transitions]))
    ordered += [node for name, node in nodes.items() if name not in seen]  # unreachable states
    return Flow(start_at=start, states=ordered)


def _node(name: str, spec: dict[str, Any]) -> StateNode:
    node = StateNode(
        name=name,
        type=str(spec.get("Type", "?")),
        comment=spec.get("Comment"),
        end=bool(spec.get("End")),
        resource=spec.get("Resource"),
        label=spec.get("Label"),
    )
    if spec.get("Next"):
        node.transitions.append(Transition("Next", str(spec["Next"])))
    if spec.get("Default"):
        node.transitions.append(Transition("Default", str(spec["Default"])))
    for choice in spec.get("Choices") or []:
        if isinstance(choice, dict) and choice.get("Next"):
            node.transitions.append(Transition("Choice", str(choice["Next"])))
    for catcher in spec.get("Catch") or []:
        if isinstance(catcher, dict) and catcher.get("Next"):
            errors = ", ".join(str(e) for e in catcher.get("ErrorEquals") or [])
            node.transitions.append(Transition(f"Catch {errors}".strip(), str(catcher["Next"])))
    node.branches = [_flow(branch) for branch in spec.get("Branches") or [] if isinstance(branch, dict)]
    processor = spec.get("ItemProcessor") or spec.get("Iterator")
    if isinstance(processor, dict):
        node.processor = _flow(processor)
        node.processor_mode = str((processor.get("ProcessorConfig") or {}).get("Mode") or "INLINE")
    node.functions = _functions(spec)
    return node


def _functions(spec: dict[str, Any]) -> list[str]:
    """The Lambda functions a Task state invokes, when its definition names them literally."""
    resource = str(spec.get("Resource") or "")
    names: list[str] = []
    if ":lambda:" in resource and ":function:" in resource:
        names.append(resource)
    elif resource.startswith("arn:aws:states:::lambda:invoke"):
        arguments = spec.get("Arguments") or spec.get("Parameters") or {}
        value = arguments.get("FunctionName") if isinstance(arguments, dict) else None
        if isinstance(value, str) and not value.startswith("{%"):
            names.append(value)
    return [function_name(name) for name in names]


def function_name(reference: str) -> str:
    """A function's name from its name, ARN or qualified ARN (``...:function:f:$LATEST``)."""
    if ":function:" in reference:
        return reference.split(":function:", 1)[1].split(":", 1)[0]
    return reference.split(":", 1)[0]


def group_by_branch(flow: Flow, names: Sequence[str]) -> list[tuple[int, tuple[str, ...]]]:
    """The entries of a timeline (the state name of each, in order of entry) reordered so that each
    Parallel's branches follow it one branch after another, and a Map's processor follows the Map:
    ``(index into names, path of the branch)`` pairs, the path as :meth:`Flow.walk` gives it.

    The nested entries of a container that ran more than once (a loop, a redrive) go with the
    visit they follow; a state the definition does not know stays at the top level."""
    paths = {state.name: path for state, path in flow.walk()}
    nodes = {state.name: state for state, _ in flow.walk()}

    def level(indexes: list[int], prefix: tuple[str, ...]) -> list[tuple[int, tuple[str, ...]]]:
        members = [i for i in indexes if paths.get(names[i], ()) == prefix]
        ordered: list[tuple[int, tuple[str, ...]]] = []
        for number, index in enumerate(members):
            ordered.append((index, prefix))
            node = nodes.get(names[index])
            if node is None or not node.children:
                continue
            # Its nested entries: after this visit, before the next visit of the same state.
            following = [i for i in members[number + 1 :] if names[i] == names[index]]
            until = following[0] if following else len(names)
            inside = [i for i in indexes if index < i < until and i not in members]
            labels = [f"branch {n}" for n in range(1, len(node.branches) + 1)]
            labels += ["processor"] if node.processor is not None else []
            for label in labels:
                sub = (*prefix, node.name, label)
                ordered += level([i for i in inside if paths.get(names[i], ())[: len(sub)] == sub], sub)
        return ordered

    everything = list(range(len(names)))
    placed = level(everything, ())
    seen = {index for index, _ in placed}
    return placed + [(i, paths.get(names[i], ())) for i in everything if i not in seen]
