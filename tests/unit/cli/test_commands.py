from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from meterpipe.cli import app
from meterpipe.ops.pipeline import Pipeline
from meterpipe.tables import ROLLUPS
from tests.unit.cli.conftest import Invoke, one_error_line
from tests.unit.ops.conftest import LAKE
from tests.unit.ops.fake_sfn import DAILY_ROLLUP_ARN, FakeStepFunctions, failed, succeeded


def test_ingest_reports_what_it_uploaded_and_skipped(
    pipeline: Pipeline, invoke: Invoke, tmp_path: Path
) -> None:
    day = tmp_path / "data/iot_electricity_metering/2022-01-05"
    day.mkdir(parents=True)
    (day / "a.csv").write_bytes(
        b"SendorID,Voltage,Current,Frequency,kWh,HourCollected\r\n51246501,240,10,60,0.22,01\r\n"
    )
    result = invoke("ingest", str(tmp_path / "data"))
    assert result.exit_code == 0, result.output
    assert "uploaded 1 file (82 B), skipped 0 unchanged (0 B) into s3://meterpipe-lake/" in result.stdout
    assert "layout: upstream sample; readings for 2022-01-05" in result.stdout
    again = json.loads(invoke("ingest", str(tmp_path / "data"), "--json").stdout)
    assert (again["uploaded"], again["skipped"], again["days"]) == (0, 1, ["2022-01-05"])
    assert pipeline.client("s3").list_objects_v2(Bucket=LAKE)["KeyCount"] == 1


def test_run_starts_the_day_and_wait_reports_items(
    pipeline: Pipeline, invoke: Invoke, fake_sfn: FakeStepFunctions
) -> None:
    started = invoke("run", "--date", "2024-01-05")
    assert started.exit_code == 0 and started.stdout.startswith("started 2024-01-05_run_")
    fake_sfn.polls_to_finish = 2
    waited = invoke("run", "--date", "2024-01-05", "--wait", "--json")
    [day] = json.loads(waited.stdout)["days"]
    assert (waited.exit_code, day["status"], day["itemsWritten"], day["date"], day["attempts"]) == (
        0,
        "SUCCEEDED",
        52,
        "2024-01-05",
        2,
    )
    text = invoke("run", "--date", "2024-01-05", "--wait")
    assert text.stdout.startswith("2024-01-05  SUCCEEDED  2024-01-05_run_")
    assert text.stdout.rstrip().endswith("  3.0 s  52 items written")


def test_a_failed_run_exits_3_with_its_cause(
    pipeline: Pipeline, invoke: Invoke, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.day_outcome = lambda day: failed("MeterPipe.ReconcileFailed", "hour: 3 rows but 2 items")
    result = invoke("run", "--date", "2024-01-05", "--wait")
    assert result.exit_code == 3
    assert "INCOMPLETE" in result.stdout and "cause: hour: 3 rows but 2 items" in result.stdout
    assert one_error_line(result) == (
        "error: 1 day(s) not completed: 2024-01-05 (INCOMPLETE: MeterPipe.ReconcileFailed)"
    )


def test_backfill_dry_run_prints_each_day_and_why(
    pipeline: Pipeline, invoke: Invoke, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "x", {"date": "2024-01-02"}, succeeded())
    result = invoke(
        "backfill", "--from", "2024-01-01", "--to", "2024-01-03", "--only-missing", "--dry-run", "--json"
    )
    plan = json.loads(result.stdout)
    assert [(d["date"], d["run"]) for d in plan["days"]] == [
        ("2024-01-01", True),
        ("2024-01-02", False),
        ("2024-01-03", True),
    ]
    assert plan["backfills"] == ["2024-01-01", "2024-01-03"]
    assert not [op for op, _ in fake_sfn.calls if op == "StartExecution"]
    text = invoke("backfill", "--from", "2024-01-01", "--to", "2024-01-03", "--only-missing", "--dry-run")
    assert "skip: succeeded (2024-02-01 10:00 UTC, x)" in text.stdout
    assert "2 of 3 days would run, in 2 backfill execution(s)" in text.stdout


def test_backfill_wait_exits_0_only_when_every_day_succeeded(
    pipeline: Pipeline, invoke: Invoke, fake_sfn: FakeStepFunctions
) -> None:
    good = invoke("backfill", "--from", "2024-01-01", "--to", "2024-01-03", "--wait")
    assert good.exit_code == 0, good.output
    assert "3 of 3 days succeeded, 0 failed; 156 items written" in good.stdout
    fake_sfn.day_outcome = lambda day: failed() if day.day == 2 else succeeded()
    bad = invoke("backfill", "--from", "2024-01-01", "--to", "2024-01-03", "--wait")
    assert bad.exit_code == 3
    assert "2 of 3 days succeeded, 1 failed" in bad.stdout
    assert " FAILED: MeterPipe.DaysFailed: 1 of 3 days failed: 2024-01-02." in bad.stdout  # the backfill
    assert "States.ExceedToleratedFailureThreshold" in bad.stdout
    assert (
        "complete them with: meterpipe redrive --failed --from 2024-01-02 --to 2024-01-02 --wait"
        in bad.stdout
    )
    assert one_error_line(bad) == (
        "error: 1 day(s) not completed: 2024-01-02 (INCOMPLETE: States.ExceedToleratedFailureThreshold)"
    )


def test_backfill_with_nothing_missing_starts_nothing(
    pipeline: Pipeline, invoke: Invoke, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "x", {"date": "2024-01-02"}, succeeded())
    result = invoke("backfill", "--from", "2024-01-02", "--to", "2024-01-02", "--only-missing")
    assert result.exit_code == 0
    assert result.stdout.strip() == "nothing to do in 2024-01-02: every day succeeded"


def test_redrive_failed_then_history_shows_the_redrive(
    pipeline: Pipeline, invoke: Invoke, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.day_outcome = lambda day: failed() if day.day == 2 else succeeded()
    invoke("backfill", "--from", "2024-01-01", "--to", "2024-01-03", "--wait")
    fake_sfn.day_outcome = lambda day: succeeded()
    result = invoke("redrive", "--failed", "--wait")
    assert result.exit_code == 0, result.output
    assert "2024-01-02  SUCCEEDED" in result.stdout
    history = json.loads(invoke("history", "--from", "2024-01-01", "--to", "2024-01-03", "--json").stdout)
    assert [(d["date"], d["status"], d["attempts"], d["redriveCount"], d["origin"]) for d in history] == [
        ("2024-01-01", "SUCCEEDED", 1, 0, "backfill"),
        ("2024-01-02", "SUCCEEDED", 2, 1, "redrive"),
        ("2024-01-03", "SUCCEEDED", 1, 0, "backfill"),
    ]
    calendar = json.loads(invoke("calendar", "--month", "2024-01", "--json").stdout)
    assert (calendar["counts"]["succeeded"], calendar["counts"]["never"]) == (3, 28)
    assert sum(calendar["counts"].values()) == 31
    assert (
        invoke("redrive", "--failed").stdout.strip()
        == "nothing to redrive: every day with a ledger record succeeded"
    )


def test_redrive_wait_exits_3_when_a_redriven_day_fails_again(
    pipeline: Pipeline, invoke: Invoke, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.day_outcome = lambda day: failed() if day.day == 2 else succeeded()
    invoke("backfill", "--from", "2024-01-01", "--to", "2024-01-03", "--wait")

    text = invoke("redrive", "--failed", "--wait")
    as_json = invoke("redrive", "--failed", "--wait", "--json")

    not_completed = (
        "error: 1 day(s) not completed: 2024-01-02 (INCOMPLETE: States.ExceedToleratedFailureThreshold)"
    )
    assert text.exit_code == 3
    assert "2024-01-02  INCOMPLETE" in text.stdout
    assert one_error_line(text) == not_completed
    assert as_json.exit_code == 3
    assert [d["status"] for d in json.loads(as_json.stdout)["days"]] == ["INCOMPLETE"]
    assert one_error_line(as_json) == not_completed


def test_history_of_a_date_prints_its_timeline(pipeline: Pipeline, invoke: Invoke) -> None:
    invoke("run", "--date", "2024-01-05")
    result = invoke("history", "2024-01-05")
    assert result.exit_code == 0
    for text in (
        "daily_rollup 2024-01-05_run_",
        "RunHourlyQuery",
        "q-hour-2024-01-05_run_",
        "map run: 48 items: 48 succeeded",
    ):
        assert text in result.stdout
    data = json.loads(invoke("history", "2024-01-05", "--json").stdout)
    assert data["stateMachine"] == "daily_rollup"
    query = next(s for s in data["states"] if s["state"] == "RunDailyQuery")
    assert query["bytesScanned"] == 2000


def test_on_an_80_column_terminal_long_columns_move_to_a_table_of_their_own(
    pipeline: Pipeline, invoke: Invoke
) -> None:
    started = invoke("run", "--date", "2024-01-05").stdout.split()[1]

    def narrow(*args: str) -> list[str]:
        done = CliRunner(env={"COLUMNS": "80"}).invoke(app, list(args), catch_exceptions=False)
        assert done.exit_code == 0, done.output
        return done.stdout.splitlines()

    timeline = narrow("history", "2024-01-05")
    # The header lines are soft-wrapped (kept whole for copying); the tables fit the width.
    assert timeline[2].startswith("ledger: attempt 1 SUCCEEDED, 96/96 readings (of expected), 2/2 sensors")
    assert max(len(line) for line in timeline[3:]) <= 80
    assert timeline[3].split() == ["state", "type", "start", "duration", "status"]
    write = [line.split() for line in timeline if line.startswith("WriteHourlyRollups")]
    assert write[0][-1] == "succeeded" and "map run: 48 items: 48 succeeded" in " ".join(write[1])

    days = narrow("history", "--from", "2024-01-05", "--to", "2024-01-05")
    assert max(len(line) for line in days) <= 80
    assert days[3].split()[:2] == ["2024-01-05", "SUCCEEDED"]
    assert days[-1].split() == ["2024-01-05", "2024-02-01", "10:00", started]

    wide = invoke("history", "2024-01-05").stdout.splitlines()
    assert "detail" in next(line for line in wide if "state" in line and "status" in line)
    assert any("WriteHourlyRollups" in line and "map run: 48 items: 48 succeeded" in line for line in wide)


def test_query_prints_a_chart_csv_or_json(pipeline: Pipeline, invoke: Invoke) -> None:
    ddb = pipeline.client("dynamodb")
    for day, kwh in (("2022-01-04", "5.5"), ("2022-01-05", "11")):
        ddb.put_item(
            TableName=ROLLUPS.name,
            Item={
                "CustomerID": {"N": "7"},
                "SensorID-Period": {"S": f"51#{day}"},
                "kWh-Amount": {"N": kwh},
                "ReadingCount": {"N": "24"},
            },
        )
    table = invoke("query", "--customer", "7", "--granularity", "day")
    assert table.exit_code == 0
    assert "█" * 28 in table.stdout and "█" * 14 in table.stdout
    csv_out = invoke("query", "--customer", "7", "--granularity", "day", "--format", "csv").stdout
    assert csv_out.splitlines() == [
        "CustomerID,SensorID,Period,Granularity,kWh,Readings",
        "7,51,2022-01-04,day,5.5,24",
        "7,51,2022-01-05,day,11,24",
    ]
    rows = json.loads(
        invoke("query", "--customer", "7", "--granularity", "day", "--json", "--to", "2022-01-04").stdout
    )
    assert [(r["SensorID-Period"], Decimal(r["kWh"])) for r in rows] == [("51#2022-01-04", Decimal("5.5"))]
    assert (
        invoke("query", "--customer", "8", "--granularity", "month").stdout.strip()
        == "no month items for customer 8"
    )


def test_schedule_show_and_disable(pipeline: Pipeline, invoke: Invoke) -> None:
    shown = invoke("schedule", "show")
    assert "cron(30 3 * * ? *) in UTC" in shown.stdout and "ENABLED" in shown.stdout
    assert invoke("schedule", "disable").stdout.strip() == "schedule meterpipe-daily-rollup disabled"
    assert invoke("schedule", "disable").stdout.strip() == "schedule meterpipe-daily-rollup already disabled"
    assert json.loads(invoke("schedule", "show", "--json").stdout)["state"] == "DISABLED"


def test_the_calendar_defaults_to_the_targets_current_month(pipeline: Pipeline, invoke: Invoke) -> None:
    result = invoke("calendar")
    assert result.exit_code == 0
    assert f"{dt.datetime.now(dt.UTC):%B %Y}" in result.stdout
