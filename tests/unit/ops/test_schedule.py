from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.schedule import ScheduleError, fire_schedule, latest_due, set_schedule_state, show_schedule
from tests.unit.ops.conftest import SCHEDULE
from tests.unit.ops.fake_sfn import DAILY_ROLLUP_ARN, FakeStepFunctions


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_show_gives_the_expression_zone_target_and_next_fire_times(pipeline: Pipeline) -> None:
    info = show_schedule(pipeline)
    assert (info.name, info.state, info.expression, info.timezone) == (
        SCHEDULE,
        "ENABLED",
        "cron(30 3 * * ? *)",
        "UTC",
    )
    assert info.target == DAILY_ROLLUP_ARN
    assert json.loads(info.input or "{}") == {"scheduled_time": "<aws.scheduler.scheduled-time>"}
    assert len(info.next_times) == 3
    assert all(t.hour == 3 and t.minute == 30 for t in info.next_times)


def test_disable_then_enable_changes_the_state_once(pipeline: Pipeline) -> None:
    info, changed = set_schedule_state(pipeline, enabled=False)
    assert (info.state, changed, info.next_times) == ("DISABLED", True, ())
    _, again = set_schedule_state(pipeline, enabled=False)
    assert again is False
    info, changed = set_schedule_state(pipeline, enabled=True)
    assert (info.state, changed) == ("ENABLED", True)
    kept = pipeline.client("scheduler").get_schedule(Name=SCHEDULE)
    assert kept["Target"]["Arn"] == DAILY_ROLLUP_ARN and kept["ScheduleExpression"] == "cron(30 3 * * ? *)"


def test_the_due_time_a_fire_stands_for_is_the_latest_at_or_before_it(pipeline: Pipeline) -> None:
    schedule = pipeline.client("scheduler").get_schedule(Name=SCHEDULE)
    assert latest_due(schedule, at("2024-01-06T03:30:00Z")) == at("2024-01-06T03:30:00Z")
    assert latest_due(schedule, at("2024-01-06T03:29:59Z")) == at("2024-01-05T03:30:00Z")
    assert latest_due(schedule, at("2024-01-06T12:00:00Z")) == at("2024-01-06T03:30:00Z")


def test_fire_is_for_localcloud_only(pipeline: Pipeline) -> None:
    with pytest.raises(ScheduleError, match="schedule fire works with --target local only"):
        fire_schedule(pipeline, at("2024-01-06T03:30:00Z"))


def test_fire_moves_the_clock_with_the_schedule_held_so_it_fires_exactly_once(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from localcloud import control

    pipeline.clients.endpoint_url = "http://127.0.0.1:1"
    scheduler = pipeline.client("scheduler")
    moves: list[tuple[str, bool | None, str]] = []

    def set_clock(endpoint: str, when: dt.datetime, *, frozen: bool | None = None) -> dict[str, Any]:
        state = scheduler.get_schedule(Name=SCHEDULE)["State"]
        moves.append((when.isoformat(), frozen, state))
        if frozen:
            return {"now": when.isoformat(), "fired": []}
        execution = fake_sfn.add_execution(
            DAILY_ROLLUP_ARN,
            "c0ffee",
            {"scheduled_time": "2024-01-06T03:30:00Z"},
            fake_sfn.day_outcome(dt.date(2024, 1, 5)),
        )
        fired = {
            "schedule": f"arn:aws:scheduler:us-east-1:123456789012:schedule/default/{SCHEDULE}",
            "status": "SUCCEEDED",
            "result": {"executionArn": execution.arn},
        }
        return {"now": when.isoformat(), "fired": [fired]}

    monkeypatch.setattr(control, "set_clock", set_clock)
    monkeypatch.setattr(control, "get_clock", lambda endpoint: {"now": "2024-01-06T04:00:00Z"})
    scheduler_state = scheduler.get_schedule(Name=SCHEDULE)["State"]
    fired = fire_schedule(pipeline, at("2024-01-06T04:00:00Z"))
    assert moves == [
        ("2024-01-06T03:29:59+00:00", True, "DISABLED"),  # held while the clock jumps back
        ("2024-01-06T04:00:00+00:00", False, "ENABLED"),
    ]
    assert fired.scheduled_time == at("2024-01-06T03:30:00Z")
    assert fired.run is not None and fired.run.date == dt.date(2024, 1, 5) and fired.run.origin == "schedule"
    assert scheduler.get_schedule(Name=SCHEDULE)["State"] == scheduler_state
