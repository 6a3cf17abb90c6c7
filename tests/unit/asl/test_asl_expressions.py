from __future__ import annotations

from typing import Any

import pytest

from localcloud.asl.errors import StatesFailure
from localcloud.asl.intrinsics import IntrinsicSyntaxError, Resolver, evaluate_intrinsic, parse_intrinsic
from localcloud.asl.jsonata_eval import Undefined, evaluate_jsonata
from localcloud.asl.jsonpath import PathNotFound, evaluate_path, set_reference_path


def intrinsic(text: str, data: Any = None) -> Any:
    return evaluate_intrinsic(
        text, Resolver(data, lambda: {"Execution": {"Name": "e1"}}, lambda name: {"v": 9}[name])
    )


def test_simple_and_complex_paths_select_as_aws_does() -> None:
    data = {"a": {"b c": [10, 20]}, "xs": [{"n": 1}, {"n": 5}]}
    assert evaluate_path("$.a['b c'][1]", data) == 20
    assert evaluate_path("$.xs[?(@.n > 2)].n", data) == [5]
    assert evaluate_path("$..n", data) == [1, 5]
    assert evaluate_path("$$.Execution", None, context={"Execution": 1}) == 1
    assert evaluate_path("$v.k", None, variables=lambda name: {"k": name}) == "v"
    with pytest.raises(PathNotFound):
        evaluate_path("$.a.missing", data)


def test_result_path_copies_instead_of_mutating() -> None:
    original = {"a": {"keep": 1}}
    updated = set_reference_path(original, "$.a.new", 2)
    assert updated == {"a": {"keep": 1, "new": 2}}
    assert original == {"a": {"keep": 1}}


def test_intrinsics_nest_and_read_paths_context_and_variables() -> None:
    assert intrinsic(
        "States.Format('{} of {} in {}', States.ArrayLength($.xs), $v, $$.Execution.Name)", {"xs": [1, 2]}
    ) == ("2 of 9 in e1")
    # The string values (after JSON decoding) escape with one backslash: \{ \} \' \\.
    assert intrinsic("States.Format('literal \\{\\} and {}', 'x')") == "literal {} and x"
    assert intrinsic("States.Format('it\\'s {}', true)") == "it's true"
    assert intrinsic("States.Format('back\\\\slash {}', 1)") == "back\\slash 1"


def test_intrinsic_failures_are_runtime_errors_naming_the_function() -> None:
    with pytest.raises(StatesFailure) as info:
        intrinsic("States.MathAdd('a', 1)")
    assert info.value.error == "States.Runtime"
    assert (info.value.cause or "").startswith("Invalid arguments in States.MathAdd")
    with pytest.raises(StatesFailure) as info:
        intrinsic("States.ArrayLength($.missing)", {})
    assert info.value.error == "States.Runtime"


@pytest.mark.parametrize(
    "text",
    ["States.Nope()", "States.Format('x'", "States.MathAdd(1)", "States.Array(1,,2)", "States.UUID(1)"],
)
def test_bad_intrinsic_calls_are_syntax_errors(text: str) -> None:
    with pytest.raises(IntrinsicSyntaxError):
        parse_intrinsic(text)


def test_jsonata_distinguishes_null_from_undefined_and_normalises_numbers() -> None:
    assert evaluate_jsonata("$states.input.a", {"states": {"input": {"a": None}}}) is None
    with pytest.raises(Undefined):
        evaluate_jsonata("$states.input.b", {"states": {"input": {"a": None}}})
    assert evaluate_jsonata("4 / 2", {}) == 2
    assert isinstance(evaluate_jsonata("4 / 2", {}), int)
    assert evaluate_jsonata("$hash('abc', 'SHA-1')", {}) == "a9993e364706816aba3e25717850c26c9cd0d89d"


def test_jsonata_errors_are_query_evaluation_errors() -> None:
    with pytest.raises(StatesFailure) as info:
        evaluate_jsonata("'a' + 1", {})
    assert info.value.error == "States.QueryEvaluationError"
    with pytest.raises(StatesFailure) as info:
        evaluate_jsonata("$eval('1')", {})
    assert "$parse" in (info.value.cause or "")


def test_jsonata_keeps_nulls_that_come_from_input_data_and_variables() -> None:
    assert evaluate_jsonata("$states.input", {"states": {"input": {"a": None, "l": [None, 1]}}}) == {
        "a": None,
        "l": [None, 1],
    }
    assert evaluate_jsonata("$run", {"run": {"problem": None, "date": "2024-01-01"}}) == {
        "problem": None,
        "date": "2024-01-01",
    }
    assert evaluate_jsonata("{'a': $nothing, 'b': [1, $nothing]}", {}) == {"b": [1]}
