"""The console's pages through its ASGI app in-process, against a running localcloud with failed
days (one that failed validation, one whose batches DynamoDB refused): what each page's JSON twin
and HTML say, checked against boto3's own answers and against figures computed from the generated
files."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from decimal import Decimal
from typing import Any

import pytest

from meterpipe.console.app import ConsoleApp
from tests.e2e.console.conftest import BAD_DAY, BATCH_DAY, CONSOLE_PORT, DAYS, GENERATED, REFUSED, World
from tests.unit.console.asgi import Answer, call

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
HOST = f"127.0.0.1:{CONSOLE_PORT}"


def get(app: ConsoleApp, path: str) -> Answer:
    return call(app, "GET", path, host=HOST)


def page_json(app: ConsoleApp, path: str) -> Any:
    base, _, query = path.partition("?")
    answer = get(app, base + ".json" + (f"?{query}" if query else ""))
    assert answer.status == 200, answer.text
    return answer.json()


def url(arn: str) -> str:
    return "/executions/" + urllib.parse.quote(arn, safe=":/")


@pytest.fixture(scope="module")
def failed_run(world: World) -> dict[str, Any]:
    """BATCH_DAY's run: its map runs failed, batch by batch."""
    [run] = [e for e in world.executions("daily-rollup", "FAILED") if e["executionArn"] == world.batch_run]
    return run


@pytest.fixture(scope="module")
def bad_run(world: World) -> dict[str, Any]:
    """BAD_DAY's run, a child of the backfill: it failed validation."""
    [run] = [e for e in world.executions("daily-rollup", "FAILED") if e["name"].startswith(str(BAD_DAY))]
    return run


def test_the_list_holds_every_execution_of_both_state_machines_and_filters_them(
    app: ConsoleApp, world: World
) -> None:
    listed = page_json(app, "/executions")["executions"]
    expected = {e["executionArn"] for m in ("daily-rollup", "backfill") for e in world.executions(m)}
    assert {row["executionArn"] for row in listed} == expected
    assert len(listed) == len(expected) >= len(DAYS) + 2

    failed = page_json(app, "/executions?status=FAILED")["executions"]
    assert {row["executionArn"] for row in failed} == {
        e["executionArn"] for m in ("daily-rollup", "backfill") for e in world.executions(m, "FAILED")
    }
    assert {row["stateMachine"] for row in page_json(app, "/executions?machine=backfill")["executions"]} == {
        "backfill"
    }
    newest = dt.datetime.fromisoformat(listed[0]["start"].replace("Z", "+00:00")).date()
    oldest = dt.datetime.fromisoformat(listed[-1]["start"].replace("Z", "+00:00")).date()
    assert page_json(app, f"/executions?from={newest + dt.timedelta(days=1)}")["executions"] == []
    assert len(page_json(app, f"/executions?from={oldest}&to={newest}")["executions"]) == len(expected)
    assert page_json(app, f"/executions?to={oldest - dt.timedelta(days=1)}")["executions"] == []
    wrong = get(app, "/executions.json?from=2024-02-30")
    assert (wrong.status, "2024-02-30" in wrong.json()["error"]) == (400, True)


def test_the_failed_day_shows_each_state_coloured_by_what_it_did(
    app: ConsoleApp, failed_run: dict[str, Any], world: World
) -> None:
    data = page_json(app, url(failed_run["executionArn"]))
    states = data["states"]
    assert (states["ResolveDate"], states["CheckInput"], states["RunHourlyQuery"]) == ("succeeded",) * 3
    assert (states["RunRollupQueries"], states["MarkWritesStarted"]) == ("succeeded",) * 2
    failed_map = world.failed_map()
    assert (states["WriteRollups"], states[failed_map.state]) == ("failed", "failed")
    # The other map of the day's writes failed too, or was aborted when the first one failed.
    other = ({"WriteHourlyRollups", "WriteDailyRollups"} - {failed_map.state}).pop()
    assert states[other] in ("failed", "aborted")
    assert states["Reconcile"] == states["Done"] == states["InvalidInput"] == "not entered"
    assert states["WriteHourlyBatch"] == "in child executions"
    assert data["execution"]["error"] == "States.ExceedToleratedFailureThreshold"
    assert data["actions"] == {"stop": False, "redrive": True}

    page = get(app, url(failed_run["executionArn"])).shown
    for name in states:  # every state's name is text in the page, in its box
        assert f'<span class="state-name">{name}</span>' in page
    assert '<section class="branch" aria-label="WriteRollups branch 3">' in page
    assert '<section class="branch" aria-label="RunRollupQueries branch 1">' in page
    assert '<section class="processor" aria-label="WriteMonthlyRollups processor">' in page


def test_a_day_that_failed_validation_shows_where_and_the_cause_names_the_file_and_value(
    app: ConsoleApp, bad_run: dict[str, Any], world: World
) -> None:
    data = page_json(app, url(bad_run["executionArn"]))
    states = data["states"]
    assert (states["ValidateReadings"], states["JudgeReadings"], states["RecordFailure"]) == (
        "succeeded",
    ) * 3
    assert states["BadReadings"] == "failed"
    assert states["RunRollupQueries"] == states["WriteRollups"] == "not entered"
    assert data["mapRuns"] == []
    bad = [(line, kwh) for _s, kwh, _h, line in world.lines(BAD_DAY) if kwh is None]
    cause = data["execution"]["cause"]
    assert data["execution"]["error"] == "MeterPipe.BadReadings"
    assert cause.startswith(f"{len(bad)} bad reading(s) of {len(world.lines(BAD_DAY))} on {BAD_DAY}")
    # The first one named with its file, its line's text and the value.
    named = [f"{key}: \"{line}\": kWh 'n/a'" for key in world.files(BAD_DAY) for line, _kwh in bad]
    assert any(text in cause for text in named), cause


def test_a_state_shows_its_input_output_error_duration_and_retries(
    app: ConsoleApp, failed_run: dict[str, Any], world: World
) -> None:
    arn = failed_run["executionArn"]
    events = world.cli.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)[
        "events"
    ]
    entered = next(
        e
        for e in events
        if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "RunHourlyQuery"
    )
    exited = next(
        e
        for e in events
        if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "RunHourlyQuery"
    )
    [visit] = page_json(app, f"{url(arn)}?state=RunHourlyQuery")["visits"]
    assert (visit["status"], visit["retries"]) == ("succeeded", 0)
    assert visit["input"] == entered["stateEnteredEventDetails"]["input"]
    assert visit["output"] == exited["stateExitedEventDetails"]["output"]
    assert visit["durationSeconds"] == round((exited["timestamp"] - entered["timestamp"]).total_seconds(), 3)

    state = world.failed_map().state
    [failed] = page_json(app, f"{url(arn)}?state={state}")["visits"]
    assert (failed["status"], failed["error"]) == ("failed", "States.ExceedToleratedFailureThreshold")
    shown = get(app, f"{url(arn)}?state={state}").shown
    assert f"<h2>State {state}</h2>" in shown and "States.ExceedToleratedFailureThreshold" in shown
    assert get(app, f"{url(arn)}?state=NoSuchState").status == 404


def test_the_events_table_filters_by_type(app: ConsoleApp, failed_run: dict[str, Any], world: World) -> None:
    arn = failed_run["executionArn"]
    events = world.cli.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)[
        "events"
    ]
    everything = page_json(app, url(arn))["events"]
    assert [e["id"] for e in everything] == [e["id"] for e in events]
    started = page_json(app, f"{url(arn)}?type=MapRunStarted")["events"]
    assert [e["id"] for e in started] == [e["id"] for e in events if e["type"] == "MapRunStarted"]
    assert len(started) >= 1  # the hourly map's; the others', if they started before it failed


def test_map_runs_are_listed_once_with_counts_that_add_up_and_failed_batches_with_their_logs(
    app: ConsoleApp, failed_run: dict[str, Any], world: World
) -> None:
    data = page_json(app, url(failed_run["executionArn"]))
    runs = {run["state"]: run for run in data["mapRuns"]}
    events = world.cli.client("stepfunctions").get_execution_history(
        executionArn=failed_run["executionArn"], maxResults=1000
    )
    started = [
        e["mapRunStartedEventDetails"]["mapRunArn"] for e in events["events"] if e["type"] == "MapRunStarted"
    ]
    failed_map = world.failed_map()
    # Each map run once (the branches start theirs in parallel, so in no set order).
    assert sorted(run["mapRunArn"] for run in data["mapRuns"]) == sorted(started)
    assert failed_map.state in runs
    sfn = world.cli.client("stepfunctions")
    for run in runs.values():
        described = sfn.describe_map_run(mapRunArn=run["mapRunArn"])
        assert run["itemCounts"] == described["itemCounts"]
        parts = ("pending", "running", "succeeded", "failed", "timedOut", "aborted")
        assert sum(run["itemCounts"][p] for p in parts) == run["itemCounts"]["total"]
        assert run["itemsUnaccounted"] == run["executionsUnaccounted"] == 0
    hourly = runs[failed_map.state]
    # One item per row of the query (sensor and hour, or sensor), every one failed.
    assert hourly["itemCounts"]["total"] == hourly["itemCounts"]["failed"] == failed_map.rows
    children = sfn.list_executions(mapRunArn=hourly["mapRunArn"], statusFilter="FAILED")["executions"]
    assert {c["executionArn"] for c in hourly["failedChildren"]} == {c["executionArn"] for c in children}
    child = hourly["failedChildren"][0]
    assert (child["status"], child["error"]) == ("FAILED", "ClientError")
    assert f"({REFUSED}) when calling the BatchWriteItem operation" in child["cause"]
    assert hourly["functions"] == ["meterpipe-write-batch"]

    logs = page_json(app, f"/logs/meterpipe-write-batch/{child['lambdaRequestId']}")
    messages = [line["message"] for line in logs["lines"]]
    assert messages[0] == f"START RequestId: {child['lambdaRequestId']} Version: $LATEST"
    # The runtime's line of the unhandled exception names no request: it is found all the same.
    assert any(m.startswith(f"[ERROR] ClientError: An error occurred ({REFUSED})") for m in messages)
    assert messages[-1].startswith(f"REPORT RequestId: {child['lambdaRequestId']}")
    assert logs["logGroup"] == "/aws/lambda/meterpipe-write-batch"
    page = get(app, url(failed_run["executionArn"])).shown
    assert f'href="/logs/meterpipe-write-batch/{child["lambdaRequestId"]}"' in page

    # The batch's own page: its parent, its failed task, and the same log lines from there.
    batch = page_json(app, url(child["executionArn"]))
    assert batch["parent"]["executionArn"] == failed_run["executionArn"]
    assert batch["states"][failed_map.batch_state] == "failed"
    detail = get(app, f"{url(child['executionArn'])}?state={failed_map.batch_state}").shown
    assert f'href="/logs/meterpipe-write-batch/{child["lambdaRequestId"]}"' in detail


def test_a_day_links_to_the_backfill_that_ran_it_and_the_backfill_to_its_days(
    app: ConsoleApp, bad_run: dict[str, Any], failed_run: dict[str, Any], world: World
) -> None:
    [backfill] = [e for e in world.executions("backfill") if e["name"].startswith("bf_20240101-20240104_")]
    assert page_json(app, url(bad_run["executionArn"]))["parent"]["executionArn"] == backfill["executionArn"]
    assert page_json(app, url(failed_run["executionArn"]))["parent"] is None  # a run of its own
    children = page_json(app, url(backfill["executionArn"]))["children"]
    assert [c["label"] for c in children] == [str(d) for d in DAYS]
    assert {c["label"]: c["status"] for c in children}[str(BAD_DAY)] == "FAILED"
    days = {e["executionArn"] for e in world.executions("daily-rollup") if backfill["name"] in e["name"]}
    assert {c["executionArn"] for c in children} == days and len(days) == len(DAYS)


def test_export_gives_the_whole_history_as_a_json_download(
    app: ConsoleApp, failed_run: dict[str, Any], world: World
) -> None:
    arn = failed_run["executionArn"]
    answer = get(app, f"{url(arn)}/history.json")
    assert answer.status == 200
    assert (
        answer.headers["content-disposition"] == f'attachment; filename="{failed_run["name"]}.history.json"'
    )
    events = world.cli.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)[
        "events"
    ]
    exported = answer.json()
    assert [e["id"] for e in exported["events"]] == [e["id"] for e in events]
    assert exported["execution"]["status"] == "FAILED"


def test_a_customer_opens_on_the_latest_month_with_each_days_and_hours_figures(
    app: ConsoleApp, world: World
) -> None:
    for customer in world.customers():
        data = page_json(app, f"/customers/{customer}")
        assert (data["month"], data["latestMonth"], data["hoursDay"]) == ("2024-01", "2024-01", str(DAYS[-1]))
        sensors = sorted(s for s, c in world.owners.items() if c == customer)
        assert data["sensors"] == sensors
        month = world.month_kwh(customer)
        assert {int(s): Decimal(v) for s, v in data["monthKwh"].items()} == month
        assert Decimal(data["monthTotalKwh"]) == sum(month.values())
        days = {row["day"]: row for row in data["days"]}
        assert len(days) == 31
        for day in GENERATED:
            if day in (BAD_DAY, BATCH_DAY):
                assert days[str(day)]["totalKwh"] is None  # nothing of the day's own written
                continue
            expected = world.day_kwh(customer, day)
            assert {int(s): Decimal(v) for s, v in days[str(day)]["kwh"].items() if v} == expected
            assert Decimal(days[str(day)]["totalKwh"]) == sum(expected.values())
        hours = {
            (int(s), row["hour"]): Decimal(v) for row in data["hours"] for s, v in row["kwh"].items() if v
        }
        assert hours == world.hour_kwh(customer, DAYS[-1])
        assert [m["month"] for m in data["months"]][-1] == "2024-01" and len(data["months"]) == 12


def test_a_customer_page_is_browsable_by_day_and_month_and_shows_its_figures_as_text(
    app: ConsoleApp, world: World
) -> None:
    customer = world.customers()[0]
    chosen = page_json(app, f"/customers/{customer}?day=2024-01-02")
    hours = {(int(s), row["hour"]): Decimal(v) for row in chosen["hours"] for s, v in row["kwh"].items() if v}
    assert (chosen["hoursDay"], hours) == ("2024-01-02", world.hour_kwh(customer, dt.date(2024, 1, 2)))
    earlier = page_json(app, f"/customers/{customer}?month=2023-12")
    assert (earlier["month"], earlier["monthTotalKwh"], earlier["hoursDay"]) == ("2023-12", None, None)
    page = get(app, f"/customers/{customer}").shown
    total = sum(world.month_kwh(customer).values())
    assert f'<td class="num" id="month-total">{total:,.2f}</td>' in page
    for chart in ("chart-days", "chart-hours", "chart-months"):
        assert f'<figure class="chart" id="{chart}">' in page
    assert get(app, "/customers/99999999").status == 404
    assert get(app, "/customers/not-a-number").status == 404


def test_stop_ends_a_running_execution(app: ConsoleApp, world: World) -> None:
    # A backfill of days with no readings, one at a time: long enough to be stopped while running.
    sfn = world.cli.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn="arn:aws:states:us-east-1:000000000000:stateMachine:meterpipe-backfill",
        input='{"from": "2023-05-01", "to": "2023-05-31", "max_concurrency": 1}',
    )
    arn = started["executionArn"]
    assert page_json(app, url(arn))["actions"]["stop"] is True
    answer = call(
        app,
        "POST",
        f"{url(arn)}/stop",
        host=HOST,
        headers={"origin": f"http://{HOST}"},
        form={"csrf_token": app.guard.csrf_token},
    )
    assert answer.status == 303 and answer.headers["location"].startswith(url(arn))
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    assert page_json(app, url(arn))["execution"]["status"] == "ABORTED"


def test_the_failed_batches_of_a_day_or_of_its_backfill_come_with_their_log_lines(
    failed_run: dict[str, Any], world: World
) -> None:
    from meterpipe.ops.logs import failed_batch_logs

    pipeline = world.pipeline()
    found = failed_batch_logs(pipeline, failed_run["executionArn"])
    sfn = world.cli.client("stepfunctions")
    hourly = [b for b in found if b.state == world.failed_map().state]
    failed_children = sfn.list_executions(mapRunArn=hourly[0].map_run_arn, statusFilter="FAILED")[
        "executions"
    ]
    assert {b.child.arn for b in hourly} == {c["executionArn"] for c in failed_children}
    for batch in hourly:
        messages = [line.message for line in batch.lines]
        assert messages[0] == f"START RequestId: {batch.child.request_id} Version: $LATEST"
        assert messages[-1].startswith(f"REPORT RequestId: {batch.child.request_id}")
        assert batch.function == "meterpipe-write-batch"
    assert all(any(line.message.startswith("[ERROR] ClientError") for line in b.lines) for b in found)
    [backfill] = [e for e in world.executions("backfill") if e["name"].startswith("bf_20240101-20240104_")]
    assert failed_batch_logs(pipeline, backfill["executionArn"]) == []  # its failed day wrote nothing


def expected_items(world: World, day: dt.date) -> int:
    """Items a successful run of ``day`` writes: one per sensor and hour, one per sensor for the
    day, one per sensor with a valid reading in the month (the whole month's lake)."""
    readings = [(s, h) for s, _kwh, h in world.readings(day) if s in world.owners]
    month = {s for d in GENERATED for s, _kwh, _h in world.readings(d) if s in world.owners}
    return len(set(readings)) + len({s for s, _h in readings}) + len(month)


def test_the_calendar_shows_each_day_by_its_ledger_status_with_its_items_and_attempts(
    app: ConsoleApp, world: World
) -> None:
    data = page_json(app, "/calendar/2024-01")
    days = {d["date"]: d for d in data["days"]}
    assert len(days) == 31
    expected = {str(d): "succeeded" for d in DAYS} | {str(BAD_DAY): "failed", str(BATCH_DAY): "incomplete"}
    assert {d: row["status"] for d, row in days.items() if row["status"] != "never"} == expected
    assert data["counts"] == {
        "succeeded": len(DAYS) - 1, "stale": 0, "failed": 1, "incomplete": 1, "no_data": 0, "aborted": 0,
        "running": 0, "never": 31 - len(GENERATED),
    }  # fmt: skip
    for day in DAYS:
        if day != BAD_DAY:
            assert (days[str(day)]["itemsWritten"], days[str(day)]["attempts"]) == (
                expected_items(world, day),
                1,
            )
    assert days[str(BAD_DAY)]["itemsWritten"] is None and days[str(BATCH_DAY)]["attempts"] == 1

    page = get(app, "/calendar/2024-01").shown
    assert (
        f'<a class="cell cal-failed" href="/days/{BAD_DAY}" data-date="{BAD_DAY}" data-status="failed">'
        in page
    )
    assert '<a class="cell cal-never" href="/days/2024-01-31"' in page
    assert f'<span class="items">{expected_items(world, DAYS[0]):,}</span> items' in page
    moved = get(app, "/calendar?month=2024-01")
    assert (moved.status, moved.headers["location"]) == (303, "/calendar/2024-01")
    wrong = get(app, "/calendar/2024-13.json")
    assert (wrong.status, "month 13" in wrong.json()["error"]) == (400, True)


def test_a_day_lists_each_attempt_with_its_counts_and_the_cause_of_its_failure(
    app: ConsoleApp, world: World, bad_run: dict[str, Any]
) -> None:
    done = page_json(app, f"/days/{DAYS[0]}")
    [attempt] = done["attempts"]
    lines = world.lines(DAYS[0])
    assert (done["status"], attempt["status"], attempt["origin"]) == ("succeeded", "SUCCEEDED", "backfill")
    assert (attempt["itemsWritten"], attempt["readings"], attempt["badReadings"]) == (
        expected_items(world, DAYS[0]),
        len(lines),
        0,
    )
    assert attempt["sensorsReporting"] == len({s for s, _k, _h, _l in lines})
    start, end = (dt.datetime.fromisoformat(attempt[k].replace("Z", "+00:00")) for k in ("start", "end"))
    assert attempt["durationSeconds"] == round((end - start).total_seconds(), 3)
    assert done["actions"] == {"run": True, "redrive": False, "stop": False}

    bad = page_json(app, f"/days/{BAD_DAY}")
    [attempt] = bad["attempts"]
    wrong = [line for _s, kwh, _h, line in world.lines(BAD_DAY) if kwh is None]
    assert (bad["status"], attempt["error"], attempt["badReadings"]) == (
        "failed",
        "MeterPipe.BadReadings",
        len(wrong),
    )
    assert attempt["executionArn"] == bad_run["executionArn"] and attempt["itemsWritten"] is None
    assert bad["actions"] == {"run": True, "redrive": True, "stop": False}
    shown = get(app, f"/days/{BAD_DAY}").shown  # the cause: the file, the line and its value
    assert any(f"{world.files(BAD_DAY)[0]}: \"{line}\": kWh 'n/a'" in shown for line in wrong)

    batch = page_json(app, f"/days/{BATCH_DAY}")
    [attempt] = batch["attempts"]
    assert (batch["status"], attempt["status"], attempt["origin"]) == ("incomplete", "INCOMPLETE", "run")
    assert attempt["error"] == "States.ExceedToleratedFailureThreshold"
    assert f"batch of {BATCH_DAY}" in attempt["rootCause"] and f"({REFUSED})" in attempt["rootCause"]

    never = page_json(app, "/days/2024-01-20")
    assert (never["status"], never["record"], never["attempts"]) == ("never", None, [])
    assert get(app, "/days/2024-02-30.json").status == 400


def test_day_actions_need_the_csrf_token(app: ConsoleApp) -> None:
    for action in ("run", "redrive", "stop"):
        refused = call(
            app, "POST", f"/days/{BAD_DAY}/{action}", host=HOST, headers={"origin": f"http://{HOST}"}, form={}
        )
        assert refused.status == 403 and "CSRF" in refused.text
    # A day that is not running has nothing to stop: one clear error, nothing started.
    answer = call(
        app, "POST", f"/days/{BAD_DAY}/stop", host=HOST, headers={"origin": f"http://{HOST}"},
        form={"csrf_token": app.guard.csrf_token},
    )  # fmt: skip
    assert answer.status == 400 and f"{BAD_DAY} is not running" in answer.shown
