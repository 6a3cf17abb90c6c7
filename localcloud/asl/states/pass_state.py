"""Pass: passes its input (or ``Result``) to its output, optionally transformed."""

from __future__ import annotations

from typing import Any

from localcloud.asl.checker import Checker
from localcloud.asl.states.base import MISSING, State, StateRun


class PassState(State):
    type_name = "Pass"
    jsonpath_fields = {
        "Next",
        "End",
        "InputPath",
        "OutputPath",
        "ResultPath",
        "Parameters",
        "Result",
        "Assign",
    }
    jsonata_fields = {"Next", "End", "Output", "Assign"}

    def parse(self, check: Checker) -> None:
        self.result: Any = self.raw.get("Result", MISSING)
        # JSONPath Pass states produce a result that ResultPath places; JSONata ones pass input on.
        self.has_result = not self.jsonata

    def body(self, run: StateRun, effective_input: Any) -> Any:
        return effective_input if self.result is MISSING else self.result
