"""Wait: pauses for a number of seconds or until a timestamp, on the execution's clock."""

from __future__ import annotations

import json
from typing import Any

from localcloud.asl.checker import Checker, pointer
from localcloud.asl.errors import QUERY_EVALUATION_ERROR, RUNTIME, StatesFailure
from localcloud.asl.jsonata_eval import is_expression
from localcloud.asl.states.base import State, StateRun
from localcloud.asl.timestamps import parse_timestamp

MAX_WAIT_SECONDS = 99999999


class WaitState(State):
    type_name = "Wait"
    jsonpath_fields = {
        "Next",
        "End",
        "InputPath",
        "OutputPath",
        "Seconds",
        "Timestamp",
        "SecondsPath",
        "TimestampPath",
        "Assign",
    }
    jsonata_fields = {"Next", "End", "Output", "Seconds", "Timestamp", "Assign"}

    def parse(self, check: Checker) -> None:
        raw, path = self.raw, self.path
        keys = (
            ["Seconds", "Timestamp"]
            if self.jsonata
            else ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
        )
        present = [k for k in keys if k in raw]
        if len(present) != 1:
            check.add(path, f"Exactly one of these fields is required: [{', '.join(keys)}]")
        self.seconds: Any = raw.get("Seconds")
        self.timestamp: Any = raw.get("Timestamp")
        self.seconds_path = check.path(raw, "SecondsPath", path) if not self.jsonata else None
        self.timestamp_path = check.path(raw, "TimestampPath", path) if not self.jsonata else None
        if "Seconds" in raw:
            if self.jsonata and is_expression(self.seconds):
                check.jsonata_template(self.seconds, pointer(path, "Seconds"))
            else:
                check.integer(raw, "Seconds", path, minimum=0, maximum=MAX_WAIT_SECONDS)
        if "Timestamp" in raw:
            if self.jsonata and is_expression(self.timestamp):
                check.jsonata_template(self.timestamp, pointer(path, "Timestamp"))
            elif parse_timestamp(self.timestamp) is None:
                check.add(
                    pointer(path, "Timestamp"),
                    "The value for the field 'Timestamp' must be a valid RFC3339 timestamp",
                )

    def body(self, run: StateRun, effective_input: Any) -> Any:
        seconds = self._seconds(run, effective_input)
        run.frame.sleep(seconds)
        return effective_input

    def _seconds(self, run: StateRun, data: Any) -> float:
        now = run.frame.ctx.clock.now()
        if self.seconds is not None:
            value = (
                run.jsonata(self.seconds, "Seconds")
                if self.jsonata and is_expression(self.seconds)
                else self.seconds
            )
            if not _is_seconds(value):
                raise StatesFailure(
                    QUERY_EVALUATION_ERROR,
                    f"The value for the field 'Seconds' must be an integer between 0 and {MAX_WAIT_SECONDS}, "
                    f"got {value!r}",
                )
            return float(value)
        if self.timestamp is not None:
            value = (
                run.jsonata(self.timestamp, "Timestamp")
                if self.jsonata and is_expression(self.timestamp)
                else self.timestamp
            )
            when = parse_timestamp(value)
            if when is None:
                raise StatesFailure(
                    QUERY_EVALUATION_ERROR,
                    f"The value for the field 'Timestamp' must be a valid RFC3339 timestamp, got {value!r}",
                )
            return max((when - now).total_seconds(), 0.0)
        if self.seconds_path is not None:
            return float(self._seconds_at(run, self.seconds_path, data))
        assert self.timestamp_path is not None
        value = run.path(self.timestamp_path, data, "TimestampPath")
        when = parse_timestamp(value)
        if when is None:
            raise StatesFailure(
                RUNTIME, f"The TimestampPath parameter does not reference a valid timestamp: {value!r}"
            )
        return max((when - now).total_seconds(), 0.0)

    @staticmethod
    def _seconds_at(run: StateRun, path: str, data: Any) -> int:
        """SecondsPath's value, failing in AWS's words (LocalStack's snapshot tests recorded on AWS):
        a path that selects nothing "does not reference an input value", a value that is not a
        whole number "cannot be parsed as a long value", a negative one "references a negative
        value". A string, even "5", is refused like any other non-number, as LocalStack's emulation
        does; no recording on AWS with a numeric string was found, so this one is not certain."""
        try:
            value = run.path(path, data, "SecondsPath")
        except StatesFailure as exc:
            raise StatesFailure(
                RUNTIME, f"The SecondsPath parameter does not reference an input value: {path}"
            ) from exc
        shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
            raise StatesFailure(
                RUNTIME,
                f"The SecondsPath parameter cannot be parsed as a long value: {path} == {shown}",
            )
        if value < 0:
            raise StatesFailure(
                RUNTIME, f"The SecondsPath parameter references a negative value: {path} == {shown}"
            )
        if value > MAX_WAIT_SECONDS:
            raise StatesFailure(
                RUNTIME,
                f"The value for the field 'SecondsPath' must be at most {MAX_WAIT_SECONDS}, got {shown}",
            )
        return int(value)


def _is_seconds(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return float(value).is_integer() and 0 <= value <= MAX_WAIT_SECONDS
