"""How a ``...Path`` field's value becomes a number (localcloud/asl/distributed/settings.py
path_number): JSON numbers and numeric strings are read, anything else fails in AWS's words.
The end-to-end texts are conformance cases (map_inline/max_concurrency_path_*,
map_distributed/tolerated_failure_*_path_*, map_distributed/max_items_path_*)."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.asl.distributed.settings import path_number
from localcloud.asl.errors import StatesFailure


@pytest.mark.parametrize(("value", "number"), [(3, 3), (3.0, 3), ("3", 3), ("-0", 0), ("12", 12)])
def test_an_integer_field_reads_whole_numbers_and_their_text(value: Any, number: int) -> None:
    assert path_number("MaxConcurrency", "$.n", value) == number


@pytest.mark.parametrize("value", [1.5, "1.5", " 3", "3 ", "+3", "1e2", "", True, None, [1], {"n": 1}])
def test_an_integer_field_refuses_anything_else(value: Any) -> None:
    with pytest.raises(StatesFailure) as failure:
        path_number("MaxConcurrency", "$.n", value)
    assert failure.value.error == "States.Runtime"
    assert failure.value.cause is not None
    assert failure.value.cause.startswith("The MaxConcurrencyPath field refers to value ")
    assert failure.value.cause.endswith(" which is not a valid integer: $.n")


def test_a_value_that_is_not_text_is_shown_as_compact_json() -> None:
    with pytest.raises(StatesFailure) as failure:
        path_number("ToleratedFailureCount", "$.n", {"n": [1, 2]})
    assert failure.value.cause == (
        'The ToleratedFailureCountPath field refers to value "{"n":[1,2]}" which is not a valid integer: $.n'
    )


@pytest.mark.parametrize(("value", "number"), [(50, 50.0), (12.5, 12.5), ("50", 50.0), ("12.5", 12.5)])
def test_the_percentage_reads_decimals_and_their_text(value: Any, number: float) -> None:
    assert path_number("ToleratedFailurePercentage", "$.p", value, maximum=100, integer=False) == number


def test_the_percentage_refuses_text_that_is_not_a_number_as_not_a_valid_float() -> None:
    with pytest.raises(StatesFailure) as failure:
        path_number("ToleratedFailurePercentage", "$.p", "NaN", maximum=100, integer=False)
    assert failure.value.cause == (
        'The ToleratedFailurePercentagePath field refers to value "NaN" which is not a valid float: $.p'
    )


def test_max_items_fails_as_an_item_reader_failure_quoting_with_single_quotes() -> None:
    with pytest.raises(StatesFailure) as failure:
        path_number("MaxItems", "$.limit", "x")
    assert failure.value.error == "States.ItemReaderFailed"
    assert failure.value.cause == (
        "The MaxItemsPath field refers to value 'x' which is not a valid integer: $.limit"
    )


@pytest.mark.parametrize(
    ("field", "value", "cause"),
    [
        ("MaxConcurrency", -2, "Expected non-negative integer for MaxConcurrency, got '-2' instead."),
        ("ToleratedFailureCount", "-1", "ToleratedFailureCount cannot be negative."),
        ("MaxItemsPerBatch", 0, "Expected positive integer for MaxItemsPerBatch, got '0' instead."),
    ],
)
def test_out_of_range_values_fail_with_the_fields_own_text(field: str, value: Any, cause: str) -> None:
    minimum = 1 if field == "MaxItemsPerBatch" else 0
    with pytest.raises(StatesFailure) as failure:
        path_number(field, "$.n", value, minimum=minimum)
    assert failure.value.cause == cause
