"""backfill's JSONata: the range rules, the dates, the children's names and results, the verdict."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
from asl_support import DAILY_ARN, evaluate, evaluate_with_reference, reference_available

NAME_ALLOWED = re.compile(r"[A-Za-z0-9_-]{1,80}")


def plan(states: dict[str, dict[str, Any]], input_: Any) -> dict[str, Any]:
    result: dict[str, Any] = evaluate(states["ValidateRange"]["Assign"]["plan"], input=input_)
    return result


def dates_between(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def test_a_valid_range_lists_every_date_from_to_inclusive(backfill_states: dict[str, dict[str, Any]]) -> None:
    result = plan(backfill_states, {"from": "2024-02-27", "to": "2024-03-02"})

    assert result == {
        "problem": None,
        "from": "2024-02-27",
        "to": "2024-03-02",
        "max_concurrency": 3,  # the deployment's default
        "options": {},  # the deployment's tolerance: daily_rollup's own settings
        "dates": dates_between(date(2024, 2, 27), date(2024, 3, 2)),
    }


def test_a_tolerance_in_the_input_goes_to_every_days_input(
    backfill_states: dict[str, dict[str, Any]],
) -> None:
    given = {"from": "2024-01-01", "to": "2024-01-02", "maxBadReadings": 4, "minCompletenessPercent": 92.5}
    options = plan(backfill_states, given)["options"]
    assert options == {"maxBadReadings": 4, "minCompletenessPercent": 92.5}
    only_max = plan(backfill_states, {"from": "2024-01-01", "to": "2024-01-02", "maxBadReadings": 0})
    assert only_max["options"] == {"maxBadReadings": 0}
    day_input = backfill_states["RunDailyRollup"]["Arguments"]["Input"]
    assert evaluate(day_input, input={"date": "2024-01-02", "options": options}) == {
        "date": "2024-01-02",
        "maxBadReadings": 4,
        "minCompletenessPercent": 92.5,
    }
    assert evaluate(day_input, input={"date": "2024-01-02", "options": {}}) == {"date": "2024-01-02"}


def test_a_one_day_range_is_still_a_list(backfill_states: dict[str, dict[str, Any]]) -> None:
    assert plan(backfill_states, {"from": "2024-01-05", "to": "2024-01-05"})["dates"] == ["2024-01-05"]


def test_a_range_of_366_days_is_allowed_and_367_is_not(backfill_states: dict[str, dict[str, Any]]) -> None:
    longest = plan(backfill_states, {"from": "2024-01-01", "to": "2024-12-31"})
    too_long = plan(backfill_states, {"from": "2023-12-31", "to": "2024-12-31"})

    assert longest["dates"] == dates_between(date(2024, 1, 1), date(2024, 12, 31))
    assert len(longest["dates"]) == 366
    assert too_long == {
        "problem": "from 2023-12-31 to 2024-12-31 spans 367 days; a backfill covers at most 366 days"
    }


def test_max_concurrency_from_the_input_is_used(backfill_states: dict[str, dict[str, Any]]) -> None:
    assert (
        plan(backfill_states, {"from": "2024-01-01", "to": "2024-01-02", "max_concurrency": 10})[
            "max_concurrency"
        ]
        == 10
    )


@pytest.mark.parametrize(
    ("input_", "problem"),
    [
        ({"from": "2024-01-05", "to": "2024-01-04"}, "from 2024-01-05 is after to 2024-01-04"),
        ({"from": "2023-02-29", "to": "2023-03-01"}, "from 2023-02-29 is not a real calendar date"),
        ({"from": "2023-02-01", "to": "2023-02-30"}, "to 2023-02-30 is not a real calendar date"),
        ({"from": "2024/01/01", "to": "2024-01-02"}, "from must be a YYYY-MM-DD string, got 2024/01/01"),
        (
            {"from": "2024-01-01", "to": "2024-01-02", "max_concurrency": 0},
            "max_concurrency must be a whole number from 1 to 10, got 0",
        ),
        (
            {"from": "2024-01-01", "to": "2024-01-02", "max_concurrency": 11},
            "max_concurrency must be a whole number from 1 to 10, got 11",
        ),
        (
            {"from": "2024-01-01", "to": "2024-01-02", "max_concurrency": 2.5},
            "max_concurrency must be a whole number from 1 to 10, got 2.5",
        ),
        (
            {"from": "2024-01-01", "to": "2024-01-02", "max_concurrency": "4"},
            "max_concurrency must be a whole number from 1 to 10, got 4",
        ),
        (
            {"from": "2024-01-01", "to": "2024-01-02", "max_concurrency": True},
            "max_concurrency must be a whole number from 1 to 10, got true",
        ),
        (
            {"from": "2024-01-01", "to": "2024-01-02", "maxBadReadings": -1},
            "maxBadReadings must be a whole number of 0 or more, got -1",
        ),
        (
            {"from": "2024-01-01", "to": "2024-01-02", "maxBadReadings": "5"},
            "maxBadReadings must be a whole number of 0 or more, got 5",
        ),
        (
            {"from": "2024-01-01", "to": "2024-01-02", "minCompletenessPercent": 100.5},
            "minCompletenessPercent must be a number from 0 to 100, got 100.5",
        ),
    ],
)
def test_an_invalid_range_is_rejected_saying_what_is_wrong(
    backfill_states: dict[str, dict[str, Any]], input_: dict[str, Any], problem: str
) -> None:
    assert plan(backfill_states, input_) == {"problem": problem}


@pytest.mark.parametrize(
    ("input_", "start"),
    [
        ({"from": "2024-01-01"}, "the input needs both from and to;"),
        ({"from": "2024-01-01", "to": "2024-01-02", "until": "x"}, "unexpected input field(s): until;"),
        (["2024-01-01", "2024-01-02"], "the input must be a JSON object;"),
    ],
)
def test_an_input_of_the_wrong_shape_is_rejected(
    backfill_states: dict[str, dict[str, Any]], input_: Any, start: str
) -> None:
    problem = plan(backfill_states, input_)["problem"]

    assert problem.startswith(start)
    assert problem.endswith(
        'optionally "max_concurrency" (1 to 10), "maxBadReadings" and "minCompletenessPercent" '
        "(passed to each day)"
    )


def child_name(states: dict[str, dict[str, Any]], day: str, parent: str, redrive_count: int | None) -> str:
    execution: dict[str, Any] = {"Name": parent}
    if redrive_count is not None:
        execution["RedriveCount"] = redrive_count
    name: str = evaluate(
        states["RunDays"]["ItemSelector"]["execution_name"],
        context={"Execution": execution, "Map": {"Item": {"Index": 0, "Value": day}}},
    )
    return name


def test_a_child_execution_name_holds_the_date_the_backfill_and_its_redrive_count(
    backfill_states: dict[str, dict[str, Any]],
) -> None:
    assert child_name(backfill_states, "2024-01-05", "backfill-jan", 0) == "2024-01-05_backfill-jan_r0"
    assert child_name(backfill_states, "2024-01-05", "backfill-jan", 2) == "2024-01-05_backfill-jan_r2"
    assert child_name(backfill_states, "2024-01-05", "backfill-jan", None) == "2024-01-05_backfill-jan_r0"


def test_a_long_odd_backfill_name_still_gives_a_valid_80_character_name(
    backfill_states: dict[str, dict[str, Any]],
) -> None:
    parent = "ops run: 2024 Q1 (re-run) " + "x" * 60

    name = child_name(backfill_states, "2024-03-31", parent, 1000)

    assert NAME_ALLOWED.fullmatch(name), name
    assert len(name) == 80
    assert name.startswith("2024-03-31_ops_run__2024_Q1__re-run__")
    assert name.endswith("_r1000")


def describe_execution_cause(execution_arn: str) -> str:
    """A .sync:2 failure's cause: the child's DescribeExecution, PascalCase, as Step Functions reports it."""
    return json.dumps(
        {
            "ExecutionArn": execution_arn,
            "Input": '{"date":"2024-01-05"}',
            "Name": execution_arn.rsplit(":", 1)[1],
            "StateMachineArn": DAILY_ARN,
            "Status": "FAILED",
            "Error": "MeterPipe.ReconcileFailed",
            "Cause": "hour: the query returned 10 rows but 9 items were written (date 2024-01-05)",
        }
    )


def test_a_failed_day_records_the_child_execution_and_its_own_error(
    backfill_states: dict[str, dict[str, Any]],
) -> None:
    catch = backfill_states["RunDailyRollup"]["Catch"][0]
    arn = DAILY_ARN.replace(":stateMachine:", ":execution:") + ":2024-01-05_bf_r0"

    result = evaluate(
        catch["Output"],
        input={"date": "2024-01-05", "execution_name": "2024-01-05_bf_r0"},
        error_output={"Error": "States.TaskFailed", "Cause": describe_execution_cause(arn)},
    )

    assert result == {
        "date": "2024-01-05",
        "status": "FAILED",
        "executionArn": arn,
        "error": "MeterPipe.ReconcileFailed",
        "cause": "hour: the query returned 10 rows but 9 items were written (date 2024-01-05)",
    }


def test_a_day_that_could_not_start_records_the_name_it_would_have_had(
    backfill_states: dict[str, dict[str, Any]],
) -> None:
    catch = backfill_states["RunDailyRollup"]["Catch"][0]

    result = evaluate(
        catch["Output"],
        input={"date": "2024-01-06", "execution_name": "2024-01-06_bf_r0"},
        error_output={
            "Error": "StepFunctions.ExecutionAlreadyExistsException",
            "Cause": "already exists " + "y" * 400,
        },
    )

    assert (
        result["executionArn"]
        == "arn:aws:states:eu-west-1:123456789012:execution:meterpipe-daily-rollup:2024-01-06_bf_r0"
    )
    assert result["error"] == "StepFunctions.ExecutionAlreadyExistsException"
    # One line longer than the limit: cut at a word, never in the middle of one.
    assert result["cause"] == "already exists …"


@pytest.mark.parametrize(
    ("cause", "kept"),
    [
        ("short", "short"),
        ("7 bad reading(s)\n" + "\n".join(f"key-{n}: line {n}" for n in range(30)), None),
    ],
)
def test_a_failed_days_cause_is_cut_at_a_line_boundary(
    backfill_states: dict[str, dict[str, Any]], cause: str, kept: str | None
) -> None:
    catch = backfill_states["RunDailyRollup"]["Catch"][0]
    result = evaluate(
        catch["Output"],
        input={"date": "2024-01-06", "execution_name": "2024-01-06_bf_r0"},
        error_output={"Error": "MeterPipe.BadReadings", "Cause": cause},
    )
    if kept is not None:
        assert result["cause"] == kept
        return
    *lines, note = result["cause"].split("\n")
    assert len(result["cause"]) <= 256
    assert lines == cause.split("\n")[: len(lines)]  # whole lines only
    assert note == f"(+{len(cause.split(chr(10))) - len(lines)} more lines)"


def test_a_successful_day_records_its_execution_arn(backfill_states: dict[str, dict[str, Any]]) -> None:
    task = backfill_states["RunDailyRollup"]

    result = evaluate(
        task["Output"],
        input={"date": "2024-01-05", "execution_name": "n"},
        result={"ExecutionArn": "arn:x", "Status": "SUCCEEDED", "Output": {"date": "2024-01-05"}},
    )

    assert result == {
        "date": "2024-01-05",
        "status": "SUCCEEDED",
        "executionArn": "arn:x",
        "error": None,
        "cause": None,
    }


def day(when: str, status: str) -> dict[str, Any]:
    return {"date": when, "status": status, "executionArn": f"arn:{when}", "error": None, "cause": None}


def test_the_backfill_fails_listing_the_failed_dates_when_any_day_failed(
    backfill_states: dict[str, dict[str, Any]],
) -> None:
    days = [
        day("2024-01-01", "SUCCEEDED"),
        day("2024-01-02", "FAILED"),
        day("2024-01-03", "FAILED"),
        {"unexpected": True},
    ]
    choice = backfill_states["CheckDays"]["Choices"][0]

    failed = evaluate(choice["Condition"], variables={"days": days})
    cause = evaluate(backfill_states["DaysFailed"]["Cause"], variables={"days": days})

    assert failed is True
    assert cause.startswith("3 of 4 days failed: 2024-01-02, 2024-01-03. ")
    assert "meterpipe redrive --failed" in cause


def test_when_every_day_succeeded_the_output_lists_the_dates_and_their_executions(
    backfill_states: dict[str, dict[str, Any]],
) -> None:
    days = [day("2024-01-01", "SUCCEEDED")]
    condition = backfill_states["CheckDays"]["Choices"][0]["Condition"]
    variables = {"days": days, "plan": {"from": "2024-01-01", "to": "2024-01-01"}}

    assert evaluate(condition, variables=variables) is False
    assert evaluate(backfill_states["Done"]["Output"], variables=variables) == {
        "from": "2024-01-01",
        "to": "2024-01-01",
        "dates": ["2024-01-01"],
        "executions": [{"date": "2024-01-01", "executionArn": "arn:2024-01-01"}],
    }


@pytest.mark.skipif(
    not reference_available(), reason="the JSONata reference implementation comes with `make setup`"
)
def test_the_reference_jsonata_implementation_agrees_on_plans_names_and_failures(
    backfill_states: dict[str, dict[str, Any]],
) -> None:
    inputs: list[Any] = [
        {"from": "2024-02-27", "to": "2024-03-02"},
        {"from": "2024-01-05", "to": "2024-01-05", "max_concurrency": 2},
        {"from": "2023-12-31", "to": "2024-12-31"},
        {"from": "2024-01-01", "to": "2024-01-02", "max_concurrency": 2.5},
        {"from": "2024-01-01"},
        [],
    ]
    expression = backfill_states["RunDays"]["ItemSelector"]["execution_name"]
    contexts = [
        {
            "Execution": {"Name": "ops run: (x)" * 9, "RedriveCount": 7},
            "Map": {"Item": {"Value": "2024-01-05"}},
        }
    ]
    catch = backfill_states["RunDailyRollup"]["Catch"][0]["Output"]
    arn = DAILY_ARN.replace(":stateMachine:", ":execution:") + ":n"
    errors = [
        {"Error": "States.TaskFailed", "Cause": describe_execution_cause(arn)},
        {"Error": "States.Timeout"},
        {"Error": "X", "Cause": "{not json}"},
    ]

    plans = evaluate_with_reference(
        backfill_states["ValidateRange"]["Assign"]["plan"], [{"states": {"input": i}} for i in inputs]
    )
    names = evaluate_with_reference(expression, [{"states": {"context": c}} for c in contexts])
    failures = evaluate_with_reference(
        catch,
        [
            {"states": {"input": {"date": "2024-01-05", "execution_name": "n"}, "errorOutput": e}}
            for e in errors
        ],
    )

    assert plans == [{"value": plan(backfill_states, i)} for i in inputs]
    assert names == [{"value": evaluate(expression, context=c)} for c in contexts]
    assert failures == [
        {"value": evaluate(catch, input={"date": "2024-01-05", "execution_name": "n"}, error_output=e)}
        for e in errors
    ]
    # A cause that is not a DescribeExecution document is kept as text, never parsed.
    assert failures[2]["value"]["cause"] == "{not json}"
