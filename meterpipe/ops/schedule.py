"""The daily schedule: show it, enable or disable it, and (on localcloud) fire it.

Its next fire times come from the schedule expression, evaluated as EventBridge Scheduler
documents it (``meterpipe.ops.schedule_expressions``: meterpipe's own reading, no emulator code).

``fire --at TIME`` moves localcloud's clock (``meterpipe.local.clock``) so the
schedule fires as if the clock had reached TIME: for its latest due time at or before TIME. The
schedule is held DISABLED while the clock jumps (no catch-up of the times in between fires), set
to fire next at that due time, and the clock is then set to TIME and left running from there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from meterpipe.errors import MeterpipeError
from meterpipe.ops import schedule_expressions as expressions
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import Run, describe_run

_UPDATE_FIELDS = (
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "StartDate",
    "EndDate",
    "Description",
    "State",
    "KmsKeyArn",
    "ActionAfterCompletion",
    "FlexibleTimeWindow",
    "Target",
)


class ScheduleError(MeterpipeError):
    """No schedule deployed, or an operation it cannot do (fire on AWS)."""


@dataclass(frozen=True)
class ScheduleInfo:
    name: str
    group: str
    state: str
    expression: str
    timezone: str
    target: str
    input: str | None
    description: str | None
    next_times: tuple[dt.datetime, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "state": self.state,
            "expression": self.expression,
            "timezone": self.timezone,
            "target": self.target,
            "input": self.input,
            "description": self.description,
            "nextTimes": [t.isoformat().replace("+00:00", "Z") for t in self.next_times],
        }


def _schedule(pipeline: Pipeline) -> dict[str, Any]:
    pipeline.__dict__.pop("schedule", None)  # always read it fresh
    found = pipeline.schedule
    if found is None:
        where = "`meterpipe local up` deploys it" if pipeline.is_local else "is the stack deployed?"
        raise ScheduleError(f"no daily schedule {pipeline.deployment.schedule_name or ''} found ({where})")
    return found


def _expression(
    schedule: dict[str, Any],
) -> tuple[expressions.Expression, ZoneInfo, dt.datetime, dt.datetime | None]:
    """The expression, its zone, where a rate counts from, and the schedule's StartDate."""
    expression = expressions.parse(str(schedule["ScheduleExpression"]))
    zone = expressions.zone_of(schedule.get("ScheduleExpressionTimezone"))
    start = schedule.get("StartDate")
    anchor = start or schedule.get("CreationDate") or dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return expression, zone, anchor, start


def next_times(schedule: dict[str, Any], after: dt.datetime, count: int = 3) -> tuple[dt.datetime, ...]:
    expression, zone, anchor, start = _expression(schedule)
    return expressions.next_times(
        expression, zone, after=after, anchor=anchor, count=count, start=start, end=schedule.get("EndDate")
    )


def latest_due(schedule: dict[str, Any], at: dt.datetime) -> dt.datetime | None:
    """The schedule's latest fire time at or before ``at`` (within the year before it)."""
    expression, zone, anchor, start = _expression(schedule)
    return expressions.latest_at_or_before(expression, zone, at=at, anchor=anchor, start=start)


def _info(pipeline: Pipeline, schedule: dict[str, Any]) -> ScheduleInfo:
    target = schedule.get("Target", {})
    return ScheduleInfo(
        name=str(schedule["Name"]),
        group=str(schedule.get("GroupName") or pipeline.deployment.schedule_group),
        state=str(schedule.get("State", "ENABLED")),
        expression=str(schedule["ScheduleExpression"]),
        timezone=str(schedule.get("ScheduleExpressionTimezone") or "UTC"),
        target=str(target.get("Arn", "")),
        input=target.get("Input"),
        description=schedule.get("Description"),
        next_times=next_times(schedule, pipeline.now()) if schedule.get("State") != "DISABLED" else (),
    )


def show_schedule(pipeline: Pipeline) -> ScheduleInfo:
    return _info(pipeline, _schedule(pipeline))


def _update(pipeline: Pipeline, schedule: dict[str, Any], **changes: Any) -> None:
    fields = {key: schedule[key] for key in _UPDATE_FIELDS if schedule.get(key) is not None}
    fields.update(changes)
    pipeline.client("scheduler").update_schedule(
        Name=schedule["Name"],
        GroupName=schedule.get("GroupName") or pipeline.deployment.schedule_group,
        **fields,
    )


def set_schedule_state(pipeline: Pipeline, *, enabled: bool) -> tuple[ScheduleInfo, bool]:
    """Enable or disable the schedule; returns it and whether anything changed."""
    schedule = _schedule(pipeline)
    wanted = "ENABLED" if enabled else "DISABLED"
    if schedule.get("State") == wanted:
        return _info(pipeline, schedule), False
    _update(pipeline, schedule, State=wanted)
    return _info(pipeline, _schedule(pipeline)), True


@dataclass(frozen=True)
class Firing:
    scheduled_time: dt.datetime
    clock: dt.datetime
    run: Run | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "scheduledTime": self.scheduled_time.isoformat().replace("+00:00", "Z"),
            "clock": self.clock.isoformat().replace("+00:00", "Z"),
            "execution": self.run.to_json() if self.run else None,
            "error": self.error,
        }


def fire_schedule(pipeline: Pipeline, at: dt.datetime) -> Firing:
    """Fire the schedule on localcloud as if its clock reached ``at``; the clock then runs on
    from ``at``."""
    if not pipeline.is_local or not pipeline.clients.endpoint_url:
        raise ScheduleError(
            "schedule fire works with --target local only; on AWS, use `meterpipe run --date`"
        )
    from meterpipe.local import clock as local_clock  # noqa: PLC0415 - local targets only

    endpoint = pipeline.clients.endpoint_url
    schedule = _schedule(pipeline)
    due = latest_due(schedule, at)
    if due is None:
        raise ScheduleError(
            f"the schedule ({schedule['ScheduleExpression']}) has no fire time in the year before {at}"
        )
    state = str(schedule.get("State", "ENABLED"))
    # Held DISABLED while the clock jumps, so no due time in between fires.
    _update(pipeline, schedule, State="DISABLED")
    try:
        local_clock.set_clock(endpoint, due - dt.timedelta(seconds=1), frozen=True)
        _update(pipeline, schedule, State="ENABLED")  # its next due time is now `due`
        answer = local_clock.set_clock(endpoint, at, frozen=False)
    finally:
        if state != "ENABLED":
            _update(pipeline, _schedule(pipeline), State=state)
    clock = dt.datetime.fromisoformat(str(answer.get("now", at.isoformat())).replace("Z", "+00:00"))
    fired = [f for f in answer.get("fired", []) if f.get("schedule", "").endswith(f"/{schedule['Name']}")]
    if not fired:
        raise ScheduleError(f"localcloud moved its clock to {at} but the schedule did not fire")
    first = fired[0]
    arn = (first.get("result") or {}).get("executionArn")
    if first.get("status") != "SUCCEEDED" or not arn:
        return Firing(due, clock, None, first.get("error") or "the schedule's target call failed")
    return Firing(due, clock, describe_run(pipeline, str(arn)))
