"""Distributed Map fields whose number may be static, a JSONata expression, or (JSONPath) a
reference path in a ``...Path`` sibling field: MaxItems, MaxItemsPerBatch, MaxInputBytesPerBatch,
ToleratedFailureCount, ToleratedFailurePercentage.

Checked at definition time (range, exclusive pair, JSONata syntax, Path only in JSONPath states);
resolved at run time against the state's effective input, failing as AWS does: a path that does
not resolve to a number in range is ``States.Runtime`` (``States.ItemReaderFailed`` for MaxItems) in
AWS's words (``path_number``), a JSONata value out of range is ``States.QueryEvaluationError``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localcloud.asl.checker import Checker, pointer
from localcloud.asl.errors import ITEM_READER_FAILED, QUERY_EVALUATION_ERROR, RUNTIME, StatesFailure
from localcloud.asl.jsonata_eval import is_expression

if TYPE_CHECKING:
    from localcloud.asl.states.base import StateRun


@dataclass(frozen=True)
class NumberSetting:
    field: str
    static: Any = None
    path: str | None = None
    minimum: float = 0
    maximum: float | None = None
    integer: bool = True

    @classmethod
    def parse(
        cls,
        raw: dict[str, Any],
        at: str,
        check: Checker,
        *,
        jsonata: bool,
        field: str,
        minimum: float = 0,
        maximum: float | None = None,
        integer: bool = True,
    ) -> NumberSetting | None:
        """The setting named ``field`` (and ``field + "Path"``) in ``raw``, or None when absent."""
        path_field = field + "Path"
        if field in raw and path_field in raw:
            check.add(at, f"These fields are mutually exclusive: [{field}, {path_field}]")
        if path_field in raw:
            if jsonata:
                check.add(
                    pointer(at, path_field),
                    f"The field '{path_field}' is only supported in JSONPath states; "
                    f"use a JSONata expression in '{field}'",
                )
                return None
            path = check.path(raw, path_field, at)
            return cls(field, path=path, minimum=minimum, maximum=maximum, integer=integer) if path else None
        if field not in raw:
            return None
        value = raw[field]
        if jsonata and is_expression(value):
            check.jsonata_template(value, pointer(at, field))
        elif not _in_range(value, minimum, maximum, integer):
            check.add(
                pointer(at, field),
                f"The value for the field '{field}' must be {_wanted(minimum, maximum, integer)}",
            )
            return None
        return cls(field, static=value, minimum=minimum, maximum=maximum, integer=integer)

    def resolve(self, run: StateRun, data: Any) -> float | int:
        """The value for this run: the static number, the JSONata result, or the path's value."""
        if self.path is not None:
            value = run.path(self.path, data, self.field + "Path")
            return path_number(
                self.field, self.path, value, minimum=self.minimum, maximum=self.maximum, integer=self.integer
            )
        if is_expression(self.static):
            value = run.jsonata(self.static, self.field)
            if not _in_range(value, self.minimum, self.maximum, self.integer):
                raise StatesFailure(
                    QUERY_EVALUATION_ERROR,
                    f"The JSONata expression for the field '{self.field}' must evaluate to "
                    f"{_wanted(self.minimum, self.maximum, self.integer)}, got {value!r}",
                )
            return _number(value, self.integer)
        return _number(self.static, self.integer)


_INTEGER_TEXT = re.compile(r"-?[0-9]+")
_NUMBER_TEXT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")

# What AWS says when a ``...Path`` field's value is a number out of range. The texts for
# MaxConcurrency, ToleratedFailureCount, ToleratedFailurePercentage and MaxItems are the ones
# recorded on AWS in LocalStack's Step Functions snapshot tests (tests/aws/services/stepfunctions,
# marked aws.validated; moto vendors the same parser); no recording shows the ItemBatcher's, whose
# texts follow MaxConcurrency's.
_OUT_OF_RANGE = {
    "MaxConcurrency": "Expected non-negative integer for MaxConcurrency, got '{value}' instead.",
    "ToleratedFailureCount": "ToleratedFailureCount cannot be negative.",
    "ToleratedFailurePercentage": "ToleratedFailurePercentage must be between 0 and 100.",
    "MaxItems": "field MaxItems must be positive",
    "MaxItemsPerBatch": "Expected positive integer for MaxItemsPerBatch, got '{value}' instead.",
    "MaxInputBytesPerBatch": "Expected positive integer for MaxInputBytesPerBatch, got '{value}' instead.",
}


def path_number(
    field: str,
    path: str,
    value: Any,
    *,
    minimum: float = 0,
    maximum: float | None = None,
    integer: bool = True,
) -> float | int:
    """The number a ``<field>Path`` reference path selected, as AWS reads it: a JSON number, or a
    string holding one ("5"); anything else fails with AWS's text (after the state's name, as the
    interpreter's other runtime errors).

    MaxItems (the ItemReader's) fails with ``States.ItemReaderFailed`` (so without the state's name
    in front) and quotes the value with single quotes, as recorded on AWS; the others with
    ``States.Runtime``. A JSON value that is not a string is shown as compact JSON, as AWS shows
    JSON in its other causes.
    """
    error = ITEM_READER_FAILED if field == "MaxItems" else RUNTIME
    number = _parse_number(value, integer)
    if number is None:
        quote = "'" if field == "MaxItems" else '"'
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        kind = "integer" if integer else "float"
        raise StatesFailure(
            error,
            f"The {field}Path field refers to value {quote}{text}{quote} which is not a valid {kind}: {path}",
        )
    if number < minimum or (maximum is not None and number > maximum):
        template = _OUT_OF_RANGE.get(field)
        wanted = _wanted(minimum, maximum, integer)
        cause = (
            template.format(value=number)
            if template is not None
            else f"The value for the field '{field}' must be {wanted}, got {number}"
        )
        raise StatesFailure(error, cause)
    return number


def _parse_number(value: Any, integer: bool) -> float | int | None:
    if isinstance(value, str):
        if integer:
            return int(value) if _INTEGER_TEXT.fullmatch(value) else None
        return float(value) if _NUMBER_TEXT.fullmatch(value) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if integer:
        return int(value) if float(value).is_integer() else None
    return float(value)


def _in_range(value: Any, minimum: float, maximum: float | None, integer: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if integer and not float(value).is_integer():
        return False
    return value >= minimum and (maximum is None or value <= maximum)


def _number(value: Any, integer: bool) -> float | int:
    return int(value) if integer else float(value)


def _wanted(minimum: float, maximum: float | None, integer: bool) -> str:
    kind = "an integer" if integer else "a number"
    low = int(minimum) if float(minimum).is_integer() else minimum
    if maximum is None:
        return f"{kind} of at least {low}"
    high = int(maximum) if float(maximum).is_integer() else maximum
    return f"{kind} from {low} to {high}"
