"""The console's pages and actions, thin over ``meterpipe/ops``.

A page returns a :class:`Page`: its template, and its data as JSON (the page's ``.json`` twin, what
tests and scripts read); the template gets the same data plus what only drawing needs. An action
does one thing through the library and returns where to go next.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from meterpipe.console.charts import stacked_bars
from meterpipe.errors import MeterpipeError
from meterpipe.ops.calendar import CATEGORIES, LABELS, category, month_calendar
from meterpipe.ops.dates import DateRange, format_duration, iso_utc, parse_date, parse_month
from meterpipe.ops.executions import (
    COUNT_PARTS,
    STATUSES,
    ExecutionDetail,
    execution_detail,
    history_document,
    jsonable,
    lambda_request_id,
    list_executions,
    state_machines,
)
from meterpipe.ops.history import root_cause
from meterpipe.ops.inputs import day_inputs
from meterpipe.ops.ledger import DayRecord, attempt_records, day_record, repair_attempts
from meterpipe.ops.logs import request_log_lines
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.redrive import Redrive, redrive_days, redrive_execution
from meterpipe.ops.runs import Run, UnknownExecution, describe_run, start_run
from meterpipe.ops.statemachine import Flow
from meterpipe.ops.stop import stop_day
from meterpipe.ops.stop import stop_execution as stop_run
from meterpipe.ops.usage import customer_month
from meterpipe.ops.visits import NOT_ENTERED

IN_CHILDREN = "in child executions"
REFRESH_SECONDS = 3
# After the execution an action started has ended, its day page still reloads until the ledger
# records that end (ledger_sync does it a moment later), but no longer than this: a run that never
# owned the day never shows there.
FOLLOW_GRACE = dt.timedelta(minutes=2)
_PAYLOAD_SHOWN = 20_000  # characters of a state's input or output shown in the page


class NotFound(MeterpipeError):
    """No such page or object: HTTP 404."""


@dataclass
class Page:
    template: str
    data: dict[str, Any]
    title: str
    extra: dict[str, Any] = field(default_factory=dict)


def execution_url(arn: str, suffix: str = "") -> str:
    return "/executions/" + urllib.parse.quote(arn, safe=":/") + suffix


def _date_option(value: str | None, what: str) -> dt.date | None:
    return parse_date(value, what) if value else None


# -- /calendar/YYYY-MM and /days/YYYY-MM-DD: the ledger ----------------------------------------------


def _month_after(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1)


def calendar_page(pipeline: Pipeline, month: str) -> Page:
    """The month's processing dates by ledger status: one Query, one listing of the lake (stale)."""
    first = parse_month(month, "month")
    found = month_calendar(pipeline, first)
    cells = [day.to_json() for day in found.days]
    lead = first.weekday()  # Monday first
    padded: list[dict[str, Any] | None] = [None] * lead + list(cells)
    padded += [None] * (-len(padded) % 7)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    extra = {
        "weeks": [padded[n : n + 7] for n in range(0, len(padded), 7)],
        "labels": [(c, LABELS[c]) for c in CATEGORIES],
        "label_of": LABELS,
        "month_label": f"{first:%B %Y}",
        "previous_month": f"{previous:%Y-%m}",
        "next_month": f"{_month_after(first):%Y-%m}",
    }
    return Page("calendar.html", found.to_json(), f"{first:%B %Y}", extra)


def day_page(pipeline: Pipeline, day_text: str, query: dict[str, str]) -> Page:
    """Every attempt at a processing date (runs, redrives, backfill children), from the ledger.

    The page reloads while the day runs, and while the execution an action started (``follow``)
    runs: it may not have claimed the day yet when the page first shows."""
    day = parse_date(day_text, "date")
    now = pipeline.now()
    record = day_record(pipeline, day)
    attempts = repair_attempts(pipeline, attempt_records(pipeline, DateRange(day, day)).get(day, []))
    stale = False
    if record is not None and record.succeeded and record.fingerprint is not None:
        stale = day_inputs(pipeline, DateRange(day, day))[day].value != record.fingerprint
    shown = category(record, stale=stale)
    data = {
        "date": day.isoformat(),
        "status": shown,
        "record": record.to_json(now) if record else None,
        "attempts": [_attempt_json(pipeline, attempt, now) for attempt in attempts],
        "actions": {
            "run": True,
            "redrive": record is not None and not record.succeeded and not record.running,
            "stop": record is not None and record.running,
        },
    }
    extra = {
        "status_label": LABELS[shown],
        "previous_day": (day - dt.timedelta(days=1)).isoformat(),
        "next_day": (day + dt.timedelta(days=1)).isoformat(),
        "refresh_seconds": REFRESH_SECONDS
        if (record is not None and record.running)
        or awaits_ledger(_followed(pipeline, query.get("follow")), attempts, now)
        else None,
    }
    return Page("day.html", data, day.isoformat(), extra)


def _followed(pipeline: Pipeline, arn: str | None) -> Run | None:
    if not arn or not arn.startswith("arn:"):
        return None
    try:
        return describe_run(pipeline, arn)
    except UnknownExecution:
        return None


def awaits_ledger(run: Run | None, attempts: list[DayRecord], now: dt.datetime) -> bool:
    """Whether a day page following ``run`` (the execution an action started) must reload: while
    the run runs, and once it has ended, until the ledger holds an attempt record of it, of its
    latest redrive, that says so itself (not a reader's repair of a RUNNING record). A redrive of
    a few rows can end before the page first shows, while the day still reads INCOMPLETE."""
    if run is None:
        return False
    if run.status in ("RUNNING", "PENDING_REDRIVE"):
        return True
    recorded = any(
        attempt.execution_arn == run.arn
        and (attempt.redrive_count or 0) == run.redrive_count
        and attempt.status != "RUNNING"
        and attempt.recorded_status is None
        for attempt in attempts
    )
    return not recorded and run.stop is not None and now - run.stop < FOLLOW_GRACE


def _attempt_json(pipeline: Pipeline, attempt: DayRecord, now: dt.datetime) -> dict[str, Any]:
    """An attempt as the ledger holds it; a failed map run's (``States.*``) with the first failed
    batch's own error, which names the rows and why."""
    data = attempt.to_json(now)
    data["rootCause"] = None
    if attempt.error and attempt.error.startswith("States.") and attempt.execution_arn:
        data["rootCause"] = root_cause(pipeline, attempt.execution_arn)
    return data


def _day_url(day: dt.date, message: str, follow: str | None = None) -> str:
    query = {"message": message, **({"follow": follow} if follow else {})}
    return f"/days/{day.isoformat()}?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)


def run_day(pipeline: Pipeline, day_text: str) -> str:
    """Start a run of the day, as ``meterpipe run --date`` does."""
    day = parse_date(day_text, "date")
    started = start_run(pipeline, day)
    return _day_url(day, f"started {started.name}", started.arn)


def redrive_day(pipeline: Pipeline, day_text: str) -> str:
    """Complete the day, as ``meterpipe redrive --date`` does: RedriveExecution of its run where that
    can help, else a fresh run."""
    day = parse_date(day_text, "date")
    done = redrive_days(pipeline, DateRange(day, day))
    if not done.actions:
        raise MeterpipeError(f"{day} has succeeded: nothing to redrive")
    follow = next((a.execution_arn for a in done.acting if a.execution_arn), None)
    return _day_url(day, _describe_redrive(done), follow)


def _describe_redrive(done: Redrive) -> str:
    return "; ".join(f"{a.date}: {a.action}: {a.reason}" for a in done.actions)


def stop_running_day(pipeline: Pipeline, day_text: str) -> str:
    """Stop the run that owns the day, as ``meterpipe stop --date`` does."""
    day = parse_date(day_text, "date")
    stopped = stop_day(pipeline, day)
    return _day_url(day, "stop requested: " + ", ".join(s.execution.name for s in stopped))


# -- /executions -----------------------------------------------------------------------------------


def executions_page(pipeline: Pipeline, query: dict[str, str]) -> Page:
    machine = query.get("machine") or None
    status = (query.get("status") or "").upper() or None
    since = _date_option(query.get("from"), "from")
    until = _date_option(query.get("to"), "to")
    if since and until and until < since:
        raise MeterpipeError(f"to {until} is before from {since}")
    listed = list_executions(pipeline, machine=machine, status=status, since=since, until=until)
    data = {
        "filters": {"machine": machine, "status": status, "from": iso_date(since), "to": iso_date(until)},
        "executions": [row.to_json() for row in listed.rows],
        "truncated": listed.truncated,
    }
    extra = {
        "rows": listed.rows,
        "machines": list(state_machines(pipeline)),
        "statuses": STATUSES,
        "now": pipeline.now(),
    }
    return Page("executions.html", data, "Executions", extra)


def iso_date(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


# -- /executions/<ARN> -----------------------------------------------------------------------------


def state_statuses(detail: ExecutionDetail) -> dict[str, str]:
    """Every state of the graph and what it did; the states of a distributed map's processor run
    in its child executions, not in this one."""
    statuses: dict[str, str] = {}
    if detail.graph is None:
        return statuses

    def mark(flow: Flow, inside_children: bool) -> None:
        for state in flow.states:
            status = detail.state_status(state.name)
            statuses[state.name] = IN_CHILDREN if inside_children and status == NOT_ENTERED else status
            for branch in state.branches:
                mark(branch, inside_children)
            if state.processor is not None:
                mark(state.processor, inside_children or state.processor_mode == "DISTRIBUTED")

    mark(detail.graph, False)
    return statuses


def execution_page(pipeline: Pipeline, arn: str, query: dict[str, str]) -> Page:
    detail = execution_detail(pipeline, arn)
    now = pipeline.now()
    described = detail.described
    statuses = state_statuses(detail)
    selected = query.get("state") or None
    if selected is not None and detail.graph is not None and detail.graph.find(selected) is None:
        raise NotFound(f"{detail.described['name']} has no state {selected!r}")
    event_type = query.get("type") or None
    events = [e for e in detail.events if event_type is None or e["type"] == event_type]
    data = {
        "execution": {
            "executionArn": detail.arn,
            "name": described.get("name"),
            "stateMachine": detail.machine,
            "stateMachineArn": described.get("stateMachineArn"),
            "status": detail.status,
            "start": iso_utc(described.get("startDate")),
            "stop": iso_utc(described.get("stopDate")),
            "redriveCount": int(described.get("redriveCount") or 0),
            "redriveStatus": described.get("redriveStatus"),
            "error": described.get("error"),
            "cause": described.get("cause"),
            "input": described.get("input"),
            "output": described.get("output"),
        },
        "states": statuses,
        "visits": [visit.to_json(now) for visit in detail.visits.visits if visit.state == selected]
        if selected
        else [],
        "selectedState": selected,
        "eventType": event_type,
        "eventTypes": sorted({e["type"] for e in detail.events}),
        "events": jsonable(events),
        "historyNote": detail.history_note,
        "mapRuns": [run.to_json() for run in detail.map_runs],
        "parent": detail.parent.to_json() if detail.parent else None,
        "children": [child.to_json() for child in detail.children],
        "actions": {
            "stop": detail.status == "RUNNING",
            "redrive": detail.status in ("FAILED", "TIMED_OUT", "ABORTED"),
        },
    }
    start: dt.datetime = described["startDate"]
    extra = {
        "detail": detail,
        "graph": detail.graph,
        "start": start,
        "duration": format_duration(((described.get("stopDate") or now) - start).total_seconds()),
        "selected_visits": [v for v in detail.visits.visits if v.state == selected] if selected else [],
        "log_links": _log_links(detail, selected),
        "payload": _payload,
        "count_parts": COUNT_PARTS,
        "event_rows": [(e, _event_summary(e), (e["timestamp"] - start).total_seconds()) for e in events],
        "now": now,
        # A running execution's page follows it: it reloads until the execution ends.
        "refresh_seconds": REFRESH_SECONDS if detail.status == "RUNNING" else None,
    }
    return Page("execution.html", data, str(described.get("name")), extra)


def _log_links(detail: ExecutionDetail, selected: str | None) -> dict[int, list[str]]:
    """For each visit of the selected Lambda task that failed with a request id in its cause, the
    links to that request's log lines (entered event id -> links)."""
    node = detail.graph.find(selected) if detail.graph and selected else None
    if node is None or not node.functions:
        return {}
    links: dict[int, list[str]] = {}
    for visit in detail.visits.of(node.name):
        request = lambda_request_id(visit.cause)
        if request:
            links[visit.entered_id] = [f"/logs/{function}/{request}" for function in node.functions]
    return links


def _event_summary(event: dict[str, Any]) -> str:
    """A short line of an event's details: the state's name, the error, the resource."""
    for key, value in event.items():
        if not key.endswith("EventDetails") or not isinstance(value, dict):
            continue
        parts = [
            str(value[name])
            for name in ("name", "error", "resourceType", "resource", "mapRunArn")
            if value.get(name)
        ]
        return " ".join(parts)
    return ""


def _payload(text: str | None) -> str:
    """A state's input or output, pretty-printed when it is JSON, cut past the page's share."""
    if text is None:
        return ""
    try:
        pretty = json.dumps(json.loads(text), indent=2)
    except ValueError:
        pretty = text
    if len(pretty) > _PAYLOAD_SHOWN:
        return (
            pretty[:_PAYLOAD_SHOWN]
            + f"\n… ({len(pretty) - _PAYLOAD_SHOWN:,} more characters: Export history)"
        )
    return pretty


def export_history(pipeline: Pipeline, arn: str) -> dict[str, Any]:
    return history_document(pipeline, arn)


def stop_execution(pipeline: Pipeline, arn: str) -> str:
    """Stop a daily_rollup execution, or a backfill with its running days, as ``meterpipe stop``
    does; any other execution (a map run's child) with StopExecution."""
    if _pipeline_machine(pipeline, arn):
        stopped = stop_run(pipeline, arn)
        message = "stop requested: " + ", ".join(s.execution.name for s in stopped)
    else:
        pipeline.sfn.stop_execution(
            executionArn=arn, error="MeterPipe.Stopped", cause="stopped from the console"
        )
        message = "stop requested"
    return execution_url(arn) + "?message=" + urllib.parse.quote(message)


def _pipeline_machine(pipeline: Pipeline, arn: str) -> bool:
    """Whether the execution is one of daily_rollup's or backfill's (the ops know them)."""
    machine_arn = str(pipeline.sfn.describe_execution(executionArn=arn)["stateMachineArn"])
    return machine_arn in (pipeline.deployment.daily_rollup_arn, pipeline.deployment.backfill_arn)


def redrive(pipeline: Pipeline, arn: str) -> str:
    """Redrive a daily_rollup or backfill execution the way ``meterpipe redrive`` does (a fresh run
    of the day where a redrive cannot help); any other execution with RedriveExecution."""
    if _pipeline_machine(pipeline, arn):
        done = redrive_execution(pipeline, arn)
        actions = done.actions
        first = actions[0]
        message = _describe_redrive(done)
        target = (first.execution_arn or arn) if len(actions) == 1 else arn
        return execution_url(target) + "?message=" + urllib.parse.quote(message)
    pipeline.sfn.redrive_execution(executionArn=arn)
    return execution_url(arn) + "?message=" + urllib.parse.quote("redriven")


# -- /logs/<function>/<request id> -----------------------------------------------------------------


def logs_page(pipeline: Pipeline, function: str, request_id: str) -> Page:
    lines = request_log_lines(pipeline, function, request_id)
    data = {
        "function": function,
        "logGroup": f"/aws/lambda/{function}",
        "requestId": request_id,
        "lines": [line.to_json() for line in lines],
    }
    return Page("logs.html", data, f"{function} {request_id}", {"lines": lines})


# -- /customers/<id> -------------------------------------------------------------------------------


def customer_page(pipeline: Pipeline, customer: str, query: dict[str, str]) -> Page:
    try:
        number = int(customer)
    except ValueError:
        raise NotFound(f"{customer!r} is not a customer ID (a number)") from None
    month = parse_month(query["month"], "month") if query.get("month") else None
    day = _date_option(query.get("day"), "day")
    if month is None and day is not None:
        month = day.replace(day=1)
    usage = customer_month(pipeline, number, month, day)
    names = [str(sensor) for sensor in usage.sensors]
    charts = {
        "days": stacked_bars(
            f"kWh per day, {usage.month:%B %Y}",
            [f"{d.day}" for d in usage.days],
            [
                (n, [usage.day_kwh.get((s, d)) for d in usage.days])
                for n, s in zip(names, usage.sensors, strict=True)
            ],
        ),
        "hours": stacked_bars(
            f"kWh per hour, {usage.hours_day}" if usage.hours_day else "kWh per hour",
            [f"{h:02d}" for h in range(24)],
            [
                (n, [usage.hour_kwh.get((s, h)) for h in range(24)])
                for n, s in zip(names, usage.sensors, strict=True)
            ],
        ),
        "months": stacked_bars(
            "kWh per month",
            [f"{m:%b %y}" for m in usage.year_months],
            [
                (n, [usage.year_kwh.get((s, m)) for m in usage.year_months])
                for n, s in zip(names, usage.sensors, strict=True)
            ],
        ),
    }
    first = usage.month
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    extra = {
        "usage": usage,
        "charts": charts,
        "previous_month": f"{previous:%Y-%m}",
        "next_month": f"{following:%Y-%m}" if following <= usage.latest_month else None,
        "hour_totals": {
            h: sum((usage.hour_kwh.get((s, h)) or Decimal(0) for s in usage.sensors), Decimal(0))
            for h in range(24)
        },
        "month_totals": {
            m: sum((usage.year_kwh.get((s, m)) or Decimal(0) for s in usage.sensors), Decimal(0))
            for m in usage.year_months
        },
        "hours_present": bool(usage.hour_kwh),
    }
    return Page("customer.html", usage.to_json(), f"Customer {number}", extra)
