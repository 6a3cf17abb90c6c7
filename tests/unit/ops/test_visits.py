"""What each state did, read from an execution's events as AWS records them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from meterpipe.ops.visits import read_visits

T0 = dt.datetime(2024, 2, 1, 3, 30, tzinfo=dt.UTC)


def events(*specs: tuple[str, int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Events numbered from 1, each a second after the one before; each spec is (type,
    previousEventId, details); details go under the event type's details key."""
    made = []
    for number, (kind, previous, details) in enumerate(specs, start=1):
        key = kind[0].lower() + kind[1:] + "EventDetails"
        if kind.endswith("StateEntered"):
            key = "stateEnteredEventDetails"
        elif kind.endswith("StateExited"):
            key = "stateExitedEventDetails"
        made.append(
            {
                "id": number,
                "previousEventId": previous,
                "type": kind,
                "timestamp": T0 + dt.timedelta(seconds=number),
                key: details,
            }
        )
    return made


def test_a_retried_task_counts_its_retries_and_keeps_its_input_and_output() -> None:
    visits = read_visits(
        events(
            ("ExecutionStarted", 0, {}),
            ("TaskStateEntered", 1, {"name": "Write", "input": '{"a": 1}'}),
            ("TaskScheduled", 2, {}),
            ("TaskFailed", 3, {"error": "Lambda.ServiceException", "cause": "flaky"}),
            ("TaskScheduled", 4, {}),
            ("TaskSucceeded", 5, {}),
            ("TaskStateExited", 6, {"name": "Write", "output": '{"written": 3}'}),
        )
    )
    [visit] = visits.visits
    assert (visit.status, visit.attempts, visit.retries, visit.error) == ("succeeded", 2, 1, None)
    assert (visit.input, visit.output) == ('{"a": 1}', '{"written": 3}')
    assert visit.duration(T0) == 5.0


def test_a_failure_a_catch_sends_on_is_caught_whether_or_not_the_state_recorded_its_exit() -> None:
    with_exit = read_visits(
        events(
            ("TaskStateEntered", 0, {"name": "Stats"}),
            ("TaskScheduled", 1, {}),
            ("TaskFailed", 2, {"error": "Athena.Busy", "cause": "later"}),
            ("TaskStateExited", 3, {"name": "Stats", "output": "{}"}),
            ("PassStateEntered", 4, {"name": "Next"}),
        )
    )
    without_exit = read_visits(
        events(
            ("TaskStateEntered", 0, {"name": "Stats"}),
            ("TaskScheduled", 1, {}),
            ("TaskFailed", 2, {"error": "Athena.Busy", "cause": "later"}),
            ("PassStateEntered", 3, {"name": "Next"}),
        )
    )
    for visits in (with_exit, without_exit):
        assert visits.status("Stats") == "caught"
        assert visits.of("Stats")[0].error == "Athena.Busy"
        assert visits.status("Next") == "running"
        assert visits.status("Elsewhere") == "not entered"


def test_parallel_branches_keep_their_own_events_and_the_parallel_fails_with_its_branch() -> None:
    visits = read_visits(
        events(
            ("ParallelStateEntered", 0, {"name": "RollUp"}),  # 1
            ("ParallelStateStarted", 1, {}),  # 2
            ("TaskStateEntered", 2, {"name": "Hourly"}),  # 3
            ("TaskStateEntered", 2, {"name": "Daily"}),  # 4
            ("TaskScheduled", 3, {}),  # 5
            ("TaskScheduled", 4, {}),  # 6
            ("TaskSucceeded", 6, {}),  # 7
            ("TaskStateExited", 7, {"name": "Daily", "output": "{}"}),  # 8
            ("TaskFailed", 5, {"error": "Boom", "cause": "hourly broke"}),  # 9
            ("ParallelStateFailed", 9, {}),  # 10
            ("ExecutionFailed", 10, {"error": "Boom"}),  # 11
        )
    )
    assert visits.status("Daily") == "succeeded"
    assert (visits.status("Hourly"), visits.of("Hourly")[0].error) == ("running", "Boom")
    assert visits.status("RollUp") == "failed"


def test_a_stop_ends_the_states_still_running_as_aborted_and_a_redrive_starts_a_new_attempt() -> None:
    visits = read_visits(
        events(
            ("MapStateEntered", 0, {"name": "Write"}),  # 1
            ("MapRunStarted", 1, {"mapRunArn": "arn:run"}),  # 2
            ("ExecutionAborted", 2, {}),  # 3
            ("ExecutionRedriven", 3, {}),  # 4
            ("MapRunRedriven", 4, {"mapRunArn": "arn:run"}),  # 5
        )
    )
    assert visits.status("Write") == "aborted"
    assert visits.map_runs() == ["arn:run"]
    assert len(visits.redrives) == 1


def test_map_run_counts_are_described_so_that_they_add_up() -> None:
    from meterpipe.ops.executions import describe_counts

    counts = {
        "pending": 0,
        "running": 0,
        "succeeded": 0,
        "failed": 1000,
        "timedOut": 0,
        "aborted": 602,
        "total": 1602,
    }
    assert describe_counts(counts) == "1,602 items: 1,000 failed, 602 aborted"
    assert (
        describe_counts({"succeeded": 3, "timedOut": 1, "total": 5}, "days")
        == "5 days: 3 succeeded, 1 timed out, 1 unaccounted"
    )
    assert describe_counts({"total": 0}) == "0 items: none"
