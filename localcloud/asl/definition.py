"""Parse and validate a state machine definition into typed nodes.

:func:`parse_definition` returns a :class:`StateMachine` or raises :class:`DefinitionError` carrying
every problem found; :func:`validate_definition` returns the problems as a list (what
ValidateStateMachineDefinition and CreateStateMachine's InvalidDefinition report).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from localcloud.asl.checker import JSONATA, JSONPATH, Checker, pointer
from localcloud.asl.errors import DefinitionError, Problem
from localcloud.asl.machine import StateGraph, StateMachine
from localcloud.asl.registrations import default_factory, default_processors
from localcloud.asl.states import registry

if TYPE_CHECKING:
    from localcloud.asl.integrations.base import IntegrationFactory
    from localcloud.asl.states.base import State
    from localcloud.asl.states.map_state import MapProcessor

__all__ = [
    "DefinitionError",
    "ParseContext",
    "Problem",
    "StateGraph",
    "StateMachine",
    "parse_definition",
    "parse_graph",
    "validate_definition",
]

MAX_STATE_NAME = 80


class ParseContext:
    """What parsing carries down: the problems so far, the integration factory for Resource and the
    Map processors by mode."""

    def __init__(
        self,
        integrations: IntegrationFactory,
        machine_type: str = "STANDARD",
        processors: Mapping[str, type[MapProcessor]] | None = None,
    ) -> None:
        self.check = Checker()
        self.integrations = integrations
        # How a Map runs its items, by ``ProcessorConfig.Mode`` (``registrations.default_processors``).
        self.processors: Mapping[str, type[MapProcessor]] = (
            processors if processors is not None else default_processors()
        )
        # The state machine's type: an EXPRESS machine cannot use .sync, .waitForTaskToken or a
        # Distributed Map ("Express Workflows do not support Run a Job (.sync) or Wait for
        # Callback (.waitForTaskToken)"; "Distributed mode is ... not supported in Express workflows").
        self.machine_type = machine_type
        self.top_language = JSONPATH
        # Definition-wide facts states record while parsing (Distributed Map labels must be unique).
        self.extensions: dict[str, Any] = {}

    def parse_graph(self, raw: dict[str, Any], path: str, language: str) -> StateGraph | None:
        """For states holding sub-graphs (Parallel branches, Map's ItemProcessor)."""
        return parse_graph(raw, path, self, language)


def _load(definition: str | Mapping[str, Any], check: Checker) -> dict[str, Any] | None:
    if isinstance(definition, str):
        try:
            data = json.loads(definition)
        except json.JSONDecodeError as exc:
            check.add("", f"The definition is not valid JSON: {exc}", "INVALID_JSON_DESCRIPTION")
            return None
    else:
        data = dict(definition)
    if not isinstance(data, dict):
        check.add("", "The definition must be a JSON object", "INVALID_JSON_DESCRIPTION")
        return None
    return data


def _parse(
    definition: str | Mapping[str, Any], integrations: IntegrationFactory | None, machine_type: str
) -> tuple[StateMachine | None, list[Problem]]:
    if integrations is None:
        integrations = default_factory()
    pctx = ParseContext(integrations, machine_type)
    check = pctx.check
    raw = _load(definition, check)
    if raw is None:
        return None, check.problems
    check.allowed_fields(
        raw,
        {"Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"},
        "",
        "a state machine",
    )
    language = JSONPATH
    if "QueryLanguage" in raw:
        if raw["QueryLanguage"] not in (JSONPATH, JSONATA):
            check.add(
                "/QueryLanguage",
                "The value for the field 'QueryLanguage' must be JSONPath or JSONata, "
                f"got {raw['QueryLanguage']!r}",
            )
        else:
            language = raw["QueryLanguage"]
    pctx.top_language = language
    timeout = check.integer(raw, "TimeoutSeconds", "", minimum=1, maximum=99999999)
    comment = check.string(raw, "Comment", "")
    check.string(raw, "Version", "")
    graph = parse_graph(raw, "", pctx, language)
    if graph is not None:
        check_variable_scopes(graph, {}, check)
    if check.problems or graph is None:
        return None, check.problems
    return StateMachine(graph, raw, timeout, comment), []


def parse_definition(
    definition: str | Mapping[str, Any],
    integrations: IntegrationFactory | None = None,
    machine_type: str = "STANDARD",
) -> StateMachine:
    """Definition text (or its JSON data) to typed nodes. Raises :class:`DefinitionError`.
    ``machine_type`` (STANDARD or EXPRESS) is the state machine's type; the result carries it."""
    machine, problems = _parse(definition, integrations, machine_type)
    if problems or machine is None:
        raise DefinitionError(problems)
    machine.machine_type = machine_type
    return machine


def validate_definition(
    definition: str | Mapping[str, Any],
    integrations: IntegrationFactory | None = None,
    machine_type: str = "STANDARD",
) -> list[Problem]:
    """Every problem of a definition (empty when it is valid), for a machine of ``machine_type``."""
    return _parse(definition, integrations, machine_type)[1]


def parse_graph(raw: dict[str, Any], path: str, pctx: ParseContext, language: str) -> StateGraph | None:
    """Parse ``StartAt`` + ``States`` at ``path`` (the top level, a branch or an ItemProcessor)."""
    check = pctx.check
    start_at = check.string(raw, "StartAt", path, required=True)
    states_raw = raw.get("States")
    if "States" not in raw:
        check.add(path, "These fields are required: [States]")
        return None
    if not isinstance(states_raw, dict) or not states_raw:
        check.add(pointer(path, "States"), "The value for the field 'States' must be a non-empty OBJECT")
        return None
    states: dict[str, State] = {}
    for name, state_raw in states_raw.items():
        at = pointer(path, "States", name)
        if len(name) > MAX_STATE_NAME or not name:
            check.add(at, f"State names must be 1 to {MAX_STATE_NAME} characters long")
        if not isinstance(state_raw, dict):
            check.add(at, "A state must be an OBJECT")
            continue
        state = registry.parse_state(name, state_raw, at, pctx)
        if state is not None:
            states[name] = state
    if start_at is not None and start_at not in states_raw:
        check.add(pointer(path, "StartAt"), f"Missing 'Next' target: {start_at}", "MISSING_TRANSITION_TARGET")
    # Transitions stay inside their graph: a branch cannot jump to a state outside it.
    edges: dict[str, list[str]] = {}
    for name, state in states.items():
        targets = []
        for at, target in state.transitions():
            if target not in states_raw:
                check.add(at, f"Missing 'Next' target: {target}", "MISSING_TRANSITION_TARGET")
            else:
                targets.append(target)
        edges[name] = targets
    if start_at is not None and start_at in states_raw and len(states) == len(states_raw):
        seen = {start_at}
        todo = [start_at]
        while todo:
            for target in edges.get(todo.pop(), []):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        for name in states_raw:
            if name not in seen:
                check.add(
                    pointer(path, "States", name), f"State '{name}' is not reachable", "UNREACHABLE_STATE"
                )
    return StateGraph(start_at or "", states, language)


def check_variable_scopes(graph: StateGraph, outer: dict[str, str], check: Checker) -> None:
    """The guide's "Variable scope": a variable assigned in an inner scope (a Parallel branch, a Map
    iteration) cannot have the same name as one assigned in an outer scope. ``outer``: the
    variables the enclosing scopes assign (name -> JSON Pointer of an Assign that sets it)."""
    here: dict[str, str] = {}
    for state in graph.states.values():
        for name, at in state.assigned_variables().items():
            here.setdefault(name, at)
    for name, at in here.items():
        if name in outer:
            check.add(
                at,
                f"The variable '{name}' is assigned in an outer scope ({outer[name]}) "
                "and cannot be assigned again in an inner scope",
            )
    visible = {**here, **outer}
    for state in graph.states.values():
        for sub in state.subgraphs():
            check_variable_scopes(sub, visible, check)
