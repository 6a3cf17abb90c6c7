"""The console in a real browser: Playwright drives Debian's Chromium against ``meterpipe console``
(the installed command) on a localcloud with a failed day. Each test clicks through pages as an
operator would and checks what they show against figures computed here; Stop and Redrive run end
to end. ``METERPIPE_SCREENSHOTS=DIR`` also saves a screenshot of each page there (docs/img)."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import METERPIPE
from tests.e2e.console.conftest import BAD_DAY, BATCH_DAY, DAYS, REFUSED, World

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ACTION_DAY = dt.date(2023, 11, 15)  # a day of its own: run, redriven and stopped from its page
# How long a page may take to show an execution's end (polled, not slept): generous, since CI runs two
# test files at once on two cores and a redrive re-invokes every failed batch.
WAIT_MS = 360_000


@pytest.fixture(scope="module")
def console_url(world: World) -> Iterator[str]:
    process = subprocess.Popen(
        [str(METERPIPE), "console", "--port", "0", "--home", str(world.cli.home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"console at (http://127\.0\.0\.1:\d+)/", line)
        assert found, line + (process.stderr.read() if process.poll() is not None and process.stderr else "")
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    opened = context.new_page()
    opened.on("dialog", lambda dialog: dialog.accept())  # the actions' "are you sure?"
    try:
        yield opened
    finally:
        context.close()


def screenshot(page: Any, name: str, part: Any = None) -> None:
    """The whole page (or ``part``, a locator) as ``console-<name>.png`` when asked for
    (``make screenshots``)."""
    folder = os.environ.get("METERPIPE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        path = str(Path(folder) / f"console-{name}.png")
        if part is not None:
            part.screenshot(path=path)
        else:
            page.screenshot(path=path, full_page=True)


def test_from_the_list_to_the_failed_day_its_states_its_map_run_and_its_batchs_log_lines(
    page: Any, console_url: str, world: World
) -> None:
    from playwright.sync_api import expect

    page.goto(console_url + "/")
    expect(page).to_have_url(console_url + "/executions")
    page.select_option("select[name=status]", "FAILED")
    page.select_option("select[name=machine]", "daily_rollup")
    page.click("form.filters button[type=submit]")
    failed_name = next(
        e["name"] for e in world.executions("daily-rollup", "FAILED") if e["executionArn"] == world.batch_run
    )
    expect(page.locator("#executions tbody tr")).to_have_count(
        len(world.executions("daily-rollup", "FAILED"))
    )
    screenshot(page, "executions")
    page.click(f"text={failed_name}")
    expect(page.locator("h1")).to_contain_text(failed_name)
    expect(page.locator("h1 .status")).to_have_text("failed")

    # The graph: every state's name as text, coloured by what it did.
    failed_map = world.failed_map()
    for name, status in {
        "ResolveDate": "succeeded",
        "WriteRollups": "failed",
        "RunRollupQueries": "succeeded",
        failed_map.state: "failed",
        "RunHourlyQuery": "succeeded",
        "Reconcile": "not entered",
        failed_map.batch_state: "in child executions",
    }.items():
        state = page.locator(f'li.state[data-state="{name}"]')
        expect(state.locator("> a .state-name")).to_have_text(name)
        expect(state).to_have_attribute("data-status", status)
    expect(
        page.locator(
            'section.branch[aria-label="RunRollupQueries branch 1"] li.state[data-state="RunHourlyQuery"]'
        )
    ).to_have_count(1)
    screenshot(page, "execution", page.locator('li.state[data-state="WriteRollups"]'))

    # Clicking a state shows what it did.
    page.click(f'li.state[data-state="{failed_map.state}"] > a.state-box')
    expect(page.locator("#detail h2")).to_have_text(f"State {failed_map.state}")
    expect(page.locator("#detail .visit dd.error")).to_have_text("States.ExceedToleratedFailureThreshold")
    expect(page.locator("#detail .visit dd.retries")).to_have_text("0")

    # The events table, filtered by type (the select applies itself).
    failed_arn = next(
        e["executionArn"] for e in world.executions("daily-rollup", "FAILED") if e["name"] == failed_name
    )
    history = world.cli.client("stepfunctions").get_execution_history(
        executionArn=failed_arn, maxResults=1000
    )
    page.select_option("select[name=type]", "MapRunStarted")
    expect(page.locator("#event-table tbody tr")).to_have_count(
        sum(e["type"] == "MapRunStarted" for e in history["events"])
    )
    expect(page.locator("#event-table tbody tr").first).to_have_attribute("data-type", "MapRunStarted")

    # The failed map run: every item failed, the counts add up, the failed batch links to its logs.
    hourly = page.locator("section.map-run", has_text=failed_map.state)
    items = hourly.locator("tr.counts-items")
    expected_items = failed_map.rows
    expect(items.locator('td[data-part="failed"]')).to_have_text(f"{expected_items:,}")
    expect(items.locator('td[data-part="total"]')).to_have_text(f"{expected_items:,}")
    expect(items.locator("td").last).to_have_text("yes")
    screenshot(page, "map-runs", page.locator("#map-runs"))
    expect(hourly.locator("table.failed-children td.cause").first).to_contain_text(f"({REFUSED})")
    hourly.locator("a.logs").first.click()
    expect(page.locator("h1")).to_contain_text("Log lines of request")
    expect(page.locator("#log-lines")).to_contain_text(f"[ERROR] ClientError: An error occurred ({REFUSED})")
    expect(page.locator("#log-lines tbody tr").first).to_contain_text("START RequestId:")
    screenshot(page, "logs")

    # The day that failed validation, up to the backfill that ran it, and its days.
    page.goto(console_url + "/executions?status=FAILED&machine=daily_rollup")
    page.click(f"text={BAD_DAY}_bf_")
    expect(page.locator(".failure strong")).to_have_text("MeterPipe.BadReadings")
    expect(page.locator('li.state[data-state="BadReadings"]')).to_have_attribute("data-status", "failed")
    page.click("a.parent")
    expect(page.locator("h1")).to_contain_text("bf_20240101-20240104_")
    rows = page.locator("table.children tbody tr")
    expect(rows).to_have_count(len(DAYS))
    expect(rows.filter(has_text=str(BAD_DAY)).locator(".status")).to_have_text("failed")


def test_a_customers_month_days_and_hours_match_the_readings(
    page: Any, console_url: str, world: World
) -> None:
    from playwright.sync_api import expect

    customer = max(world.customers(), key=lambda c: len([s for s, o in world.owners.items() if o == c]))
    page.goto(console_url + "/customers")
    page.fill("input[name=id]", str(customer))
    page.click("form.filters button[type=submit]")
    expect(page.locator("h1")).to_have_text(f"Customer {customer}")
    expect(page.locator("strong.month")).to_have_text("2024-01")
    month = world.month_kwh(customer)
    expect(page.locator("#month-total")).to_have_text(f"{sum(month.values()):,.2f}")
    last = DAYS[-1]
    expected_day = world.day_kwh(customer, last)
    row = page.locator("#days tbody tr", has_text=str(last))
    expect(row.locator("td").last).to_have_text(f"{sum(expected_day.values()):,.2f}")
    expect(page.locator("#hours h2")).to_have_text(f"Hours of {last}")
    # Each chart is drawn (SVG bars) and its figures are text below it.
    expect(page.locator("#chart-days rect.bar")).to_have_count(
        len(month) * (len(DAYS) - 1)  # neither BAD_DAY's nor BATCH_DAY's day items were written
    )
    screenshot(page, "customer")

    page.click(f"#days a:text-is('{DAYS[1]}')")
    expect(page.locator("#hours h2")).to_have_text(f"Hours of {DAYS[1]}")
    hours = world.hour_kwh(customer, DAYS[1])
    eight = sum((v for (s, h), v in hours.items() if h == 8), Decimal(0))
    expect(page.locator("#hours-table tbody tr", has_text="08:00").locator("td").last).to_have_text(
        f"{eight:,.2f}"
    )
    page.click("a[rel=prev]")
    expect(page.locator("strong.month")).to_have_text("2023-12")


def test_stop_from_the_page_aborts_a_running_execution(page: Any, console_url: str, world: World) -> None:
    from playwright.sync_api import expect

    sfn = world.cli.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn="arn:aws:states:us-east-1:000000000000:stateMachine:meterpipe-backfill",
        input='{"from": "2023-04-01", "to": "2023-04-30", "max_concurrency": 1}',
    )
    page.goto(f"{console_url}/executions/{started['executionArn']}")
    expect(page.locator("h1 .status")).to_have_text("running")
    page.click("form.action button:text-is('Stop')")
    # As `meterpipe stop` does: the backfill, then the day it was running.
    expect(page.locator("p.message")).to_contain_text(
        f"stop requested: {started['executionArn'].rsplit(':', 1)[-1]}"
    )
    expect(page.locator("h1 .status")).to_have_text("aborted", timeout=WAIT_MS)
    assert sfn.describe_execution(executionArn=started["executionArn"])["status"] == "ABORTED"


def test_the_calendar_leads_to_each_day_its_attempts_and_why_they_failed(
    page: Any, console_url: str, world: World
) -> None:
    from playwright.sync_api import expect

    from tests.e2e.console.test_pages import expected_items

    page.goto(console_url + "/")
    page.click("header nav a:text-is('Calendar')")
    page.fill("input[name=month]", "2024-01")
    page.click("form.inline button[type=submit]")
    expect(page).to_have_url(console_url + "/calendar/2024-01")
    expected = {str(d): "succeeded" for d in DAYS} | {str(BAD_DAY): "failed", str(BATCH_DAY): "incomplete"}
    for day, status in expected.items():
        expect(page.locator(f'a.cell[data-date="{day}"]')).to_have_attribute("data-status", status)
    expect(page.locator('a.cell[data-date="2024-01-20"]')).to_have_attribute("data-status", "never")
    first = page.locator(f'a.cell[data-date="{DAYS[0]}"]')
    expect(first.locator(".items")).to_have_text(f"{expected_items(world, DAYS[0]):,}")
    expect(first.locator(".attempts")).to_have_text("1")
    screenshot(page, "calendar")

    page.click(f'a.cell[data-date="{BAD_DAY}"]')
    expect(page.locator("h1")).to_contain_text(f"{BAD_DAY} failed")
    wrong = [line for _s, kwh, _h, line in world.lines(BAD_DAY) if kwh is None]
    row = page.locator("#attempts tbody tr[data-attempt='1']")
    expect(row.locator(".bad")).to_have_text(f"{len(wrong)}")
    expect(row.locator(".sensors")).to_have_text(f"{len({s for s, *_ in world.lines(BAD_DAY)})} / 4")
    failure = page.locator("#attempts .failure")
    expect(failure.locator(".error")).to_have_text("MeterPipe.BadReadings")
    expect(failure.locator(".cause")).to_contain_text(f'{world.files(BAD_DAY)[0]}: "{wrong[0]}"')
    expect(failure.locator(".cause")).to_contain_text("kWh 'n/a' is not a non-negative decimal")
    screenshot(page, "day")

    for _ in range((BATCH_DAY - BAD_DAY).days):
        page.click("a[rel=next]")
    expect(page.locator("h1")).to_contain_text(f"{BATCH_DAY} incomplete")
    expect(page.locator("#attempts .root-cause")).to_contain_text(f"batch of {BATCH_DAY}")
    expect(page.locator("#attempts .root-cause")).to_contain_text(
        f"({REFUSED}) when calling the BatchWriteItem"
    )
    page.click("#attempts tbody a")
    expect(page.locator("h1")).to_contain_text(f"{BATCH_DAY}_run_")


def test_run_redrive_and_stop_from_a_days_page(
    page: Any, console_url: str, world: World, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    cli = world.cli
    made = cli(
        "generate", "--customers", "3", "--from", str(ACTION_DAY), "--to", str(ACTION_DAY), "--seed", "7",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert cli("ingest", str(tmp_path)).returncode == 0
    page.goto(f"{console_url}/calendar/{ACTION_DAY:%Y-%m}")
    page.click(f'a.cell[data-date="{ACTION_DAY}"]')
    expect(page.locator("h1 .status")).to_have_text("never run")
    try:
        # Run while DynamoDB refuses the writes: the day ends INCOMPLETE (the page follows the run).
        assert cli("local", "faults", "add", "dynamodb", "BatchWriteItem", "--error", REFUSED).returncode == 0
        page.click("form.action button:text-is('Run')")
        expect(page.locator("p.message")).to_contain_text(f"started {ACTION_DAY}_run_")
        expect(page.locator("h1 .status")).to_have_text("incomplete", timeout=WAIT_MS)
        assert cli("local", "faults", "clear").returncode == 0

        # Redrive: refused writes are no fault of the rows, so RedriveExecution re-runs the failed batches.
        page.click("form.action button:text-is('Redrive')")
        expect(page.locator("p.message")).to_contain_text(
            f"{ACTION_DAY}: redrive: incomplete, and redrivable"
        )
        try:
            expect(page.locator("h1 .status")).to_have_text("succeeded", timeout=WAIT_MS)
        except AssertionError as failure:  # say what the day and its executions did
            raise AssertionError(f"{failure}\n{_what_the_day_did(world, ACTION_DAY)}") from None
        rows = page.locator("#attempts tbody tr[data-attempt]")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_have_attribute("data-status", "INCOMPLETE")
        expect(rows.nth(1)).to_have_attribute("data-status", "SUCCEEDED")
        readings = _readings(tmp_path / _day_folder(ACTION_DAY))
        month_sensors = {s for s in readings if s in world.owners}
        hours = _sensor_hours(tmp_path / _day_folder(ACTION_DAY))
        expect(rows.nth(1).locator(".items")).to_have_text(f"{len(hours) + 2 * len(month_sensors):,}")

        # Run again, held (Athena slow to start the day's first query), then Stop: the day ABORTED.
        assert (
            cli(
                "local", "faults", "add", "athena", "StartQueryExecution", "--delay", "60", "--count", "1"
            ).returncode
            == 0
        )
        page.click("form.action button:text-is('Run')")
        expect(page.locator("#day-record .ledger-status")).to_have_text("RUNNING", timeout=WAIT_MS)
        page.click("form.action button:text-is('Stop')")
        expect(page.locator("p.message")).to_contain_text(f"stop requested: {ACTION_DAY}_run_")
        expect(page.locator("h1 .status")).to_have_text("aborted", timeout=WAIT_MS)
        expect(rows).to_have_count(3)
    finally:
        cli("local", "faults", "clear")
    page.click(f"a:text-is('{ACTION_DAY:%Y-%m}')")
    cell = page.locator(f'a.cell[data-date="{ACTION_DAY}"]')
    expect(cell).to_have_attribute("data-status", "aborted")
    expect(cell.locator(".attempts")).to_have_text("3")

    customer = world.owners[next(iter(readings))]
    expected = sum(
        (kwh for sensor, kwh in readings.items() if world.owners.get(sensor) == customer), Decimal(0)
    )
    page.goto(f"{console_url}/customers/{customer}?month={ACTION_DAY:%Y-%m}")
    row = page.locator("#days tbody tr", has_text=str(ACTION_DAY))
    expect(row.locator("td").last).to_have_text(f"{expected:,.2f}")


def _day_folder(day: dt.date) -> str:
    return f"iot_electricity_metering/year={day:%Y}/month={day:%m}/day={day:%d}"


def _sensor_hours(folder: Path) -> set[tuple[int, str]]:
    found = set()
    for path in folder.glob("*.csv"):
        for line in path.read_text(encoding="utf-8-sig").splitlines()[1:]:
            if line:
                fields = line.split(",")
                found.add((int(fields[0]), fields[5]))
    return found


def _readings(folder: Path) -> dict[int, Decimal]:
    """Each sensor's kWh of the day's files, rounded as the rollup rounds a day."""
    from decimal import ROUND_HALF_UP

    totals: dict[int, Decimal] = {}
    for path in folder.glob("*.csv"):
        for line in path.read_text(encoding="utf-8-sig").splitlines()[1:]:
            if line:
                sensor, _v, _c, _f, kwh, _hour = line.split(",")
                totals[int(sensor)] = totals.get(int(sensor), Decimal(0)) + Decimal(kwh)
    return {s: v.quantize(Decimal("0.01"), ROUND_HALF_UP) for s, v in totals.items()}


def _what_the_day_did(world: World, day: dt.date) -> str:
    """The day's ledger line and each of its executions' status, error and cause, for a failure."""
    history = world.cli("history", "--from", str(day), "--to", str(day), "--json").stdout
    sfn = world.cli.client("stepfunctions")
    lines = [f"history: {history.strip()}"]
    for execution in world.executions("daily-rollup"):
        if execution["name"].startswith(str(day)):
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            lines.append(
                f"{execution['name']}: {described['status']} redrives={described.get('redriveCount', 0)} "
                f"{described.get('error', '')}: {str(described.get('cause', ''))[:1500]}"
            )
    return "\n".join(lines)
