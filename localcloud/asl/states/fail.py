"""Fail: ends the execution with an error and a cause (static, from a path, or JSONata)."""

from __future__ import annotations

from typing import Any

from localcloud.asl.checker import Checker, pointer
from localcloud.asl.errors import QUERY_EVALUATION_ERROR, RUNTIME, StatesFailure
from localcloud.asl.intrinsics import Resolver, evaluate_intrinsic, is_intrinsic
from localcloud.asl.jsonata_eval import is_expression
from localcloud.asl.states.base import State, StateRun, Transition


class FailState(State):
    type_name = "Fail"
    jsonpath_fields = {"Error", "Cause", "ErrorPath", "CausePath"}
    jsonata_fields = {"Error", "Cause"}
    terminal = True

    def parse(self, check: Checker) -> None:
        raw, path = self.raw, self.path
        self.error = check.string(raw, "Error", path)
        self.cause = check.string(raw, "Cause", path)
        self.error_path: str | None = None
        self.cause_path: str | None = None
        if self.jsonata:
            for key in ("Error", "Cause"):
                value = raw.get(key)
                if isinstance(value, str) and (value.startswith("{%") or value.endswith("%}")):
                    check.jsonata_template(value, pointer(path, key))
            return
        check.exclusive(raw, ["Error", "ErrorPath"], path)
        check.exclusive(raw, ["Cause", "CausePath"], path)
        for key in ("ErrorPath", "CausePath"):
            value = check.string(raw, key, path)
            if value is not None:
                check.dynamic_value(value, pointer(path, key), key)
        self.error_path = raw.get("ErrorPath") if isinstance(raw.get("ErrorPath"), str) else None
        self.cause_path = raw.get("CausePath") if isinstance(raw.get("CausePath"), str) else None

    def run_once(self, run: StateRun) -> Transition:
        error = self._value(run, self.error, self.error_path, "Error")
        cause = self._value(run, self.cause, self.cause_path, "Cause")
        raise StatesFailure(error or "", cause)

    def _value(self, run: StateRun, static: str | None, path: str | None, field: str) -> str | None:
        if self.jsonata and static is not None and is_expression(static):
            value: Any = run.jsonata(static, field)
            if not isinstance(value, str):
                raise StatesFailure(
                    QUERY_EVALUATION_ERROR,
                    f"The JSONata expression for the field '{field}' must produce a string, "
                    f"got {type(value).__name__}",
                )
            return value
        if path is not None:
            if is_intrinsic(path):
                value = evaluate_intrinsic(
                    path, Resolver(run.raw_input, run.context, run.variable, f"{field}Path")
                )
            else:
                value = run.path(path, run.raw_input, f"{field}Path")
            if not isinstance(value, str):
                raise StatesFailure(
                    RUNTIME, f"The value at the path '{path}' for the field '{field}Path' must be a string"
                )
            return value
        return static
