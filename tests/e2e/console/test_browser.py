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
from tests.e2e.console.conftest import DAYS, FAILED_DAY, World, corrupt

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REDRIVE_DAY = dt.date(2023, 11, 15)  # a day of its own: fixed and redriven by the test
WAIT_MS = 120_000  # how long a page may take to show an execution's end (polled, not slept)


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


def screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("METERPIPE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"console-{name}.png"), full_page=True)


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
        e["name"] for e in world.executions("daily-rollup", "FAILED") if e["name"].startswith(str(FAILED_DAY))
    )
    expect(page.locator("#executions tbody tr")).to_have_count(
        len(world.executions("daily-rollup", "FAILED"))
    )
    screenshot(page, "executions")
    page.click(f"text={failed_name}")
    expect(page.locator("h1")).to_contain_text(failed_name)
    expect(page.locator("h1 .status")).to_have_text("failed")

    # The graph: every state's name as text, coloured by what it did.
    for name, status in {
        "ResolveDate": "succeeded",
        "RollUp": "failed",
        "WriteHourlyRollups": "failed",
        "RunHourlyQuery": "succeeded",
        "Reconcile": "not entered",
        "WriteHourlyBatch": "in child executions",
    }.items():
        state = page.locator(f'li.state[data-state="{name}"]')
        expect(state.locator("> a .state-name")).to_have_text(name)
        expect(state).to_have_attribute("data-status", status)
    expect(
        page.locator('section.branch[aria-label="RollUp branch 1"] li.state[data-state="RunHourlyQuery"]')
    ).to_have_count(1)
    screenshot(page, "execution")

    # Clicking a state shows what it did.
    page.click('li.state[data-state="WriteHourlyRollups"] > a.state-box')
    expect(page.locator("#detail h2")).to_have_text("State WriteHourlyRollups")
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

    # The hourly map run: every item failed, the counts add up, the failed batch links to its logs.
    hourly = page.locator("section.map-run", has_text="WriteHourlyRollups")
    items = hourly.locator("tr.counts-items")
    expected_items = len(world.sensor_hours(FAILED_DAY))
    expect(items.locator('td[data-part="failed"]')).to_have_text(f"{expected_items:,}")
    expect(items.locator('td[data-part="total"]')).to_have_text(f"{expected_items:,}")
    expect(items.locator("td").last).to_have_text("yes")
    expect(hourly.locator("table.failed-children td.cause")).to_contain_text("total_kwh is empty")
    hourly.locator("a.logs").click()
    expect(page.locator("h1")).to_contain_text("Log lines of request")
    expect(page.locator("#log-lines")).to_contain_text('"message":"batch rejected"')
    expect(page.locator("#log-lines tbody tr").first).to_contain_text("START RequestId:")
    screenshot(page, "logs")

    # Up to the backfill that ran the day, and its days.
    page.go_back()
    page.click("a.parent")
    expect(page.locator("h1")).to_contain_text("bf_20240101-20240104_")
    rows = page.locator("table.children tbody tr")
    expect(rows).to_have_count(len(DAYS))
    expect(rows.filter(has_text=str(FAILED_DAY)).locator(".status")).to_have_text("failed")


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
        len(month) * (len(DAYS) - 1) + _bars_on(world, customer, FAILED_DAY)
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


def _bars_on(world: World, customer: int, day: dt.date) -> int:
    """Bars of the failed day: whatever day items its failed run left (as the table holds them)."""
    table = world.cli.client("dynamodb")
    sensors = [s for s, c in world.owners.items() if c == customer]
    found = 0
    for sensor in sensors:
        key = {"CustomerID": {"N": str(customer)}, "SensorID-Period": {"S": f"{sensor}#{day}"}}
        found += "Item" in table.get_item(TableName="ElectricityMeteredByPeriod", Key=key)
    return found


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
    expect(page.locator("p.message")).to_have_text("stop requested")
    expect(page.locator("h1 .status")).to_have_text("aborted", timeout=WAIT_MS)
    assert sfn.describe_execution(executionArn=started["executionArn"])["status"] == "ABORTED"


def test_redrive_from_the_page_runs_the_fixed_day_again_and_its_figures_appear(
    page: Any, console_url: str, world: World, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    cli = world.cli
    args = (
        "generate",
        "--customers",
        "3",
        "--from",
        str(REDRIVE_DAY),
        "--to",
        str(REDRIVE_DAY),
        "--seed",
        "7",
    )
    assert cli(*args, "--out", str(tmp_path)).returncode == 0
    folder = (
        tmp_path
        / f"iot_electricity_metering/year={REDRIVE_DAY:%Y}/month={REDRIVE_DAY:%m}/day={REDRIVE_DAY:%d}"
    )
    for path in folder.glob("*.csv"):
        corrupt(path)
    assert cli("ingest", str(tmp_path)).returncode == 0
    assert cli("run", "--date", str(REDRIVE_DAY), "--wait").returncode == 3
    [failed] = [
        e for e in world.executions("daily-rollup", "FAILED") if e["name"].startswith(str(REDRIVE_DAY))
    ]

    # The export was fixed: the same day generated again, ingested again.
    assert cli(*args, "--out", str(tmp_path)).returncode == 0
    assert cli("ingest", str(tmp_path)).returncode == 0
    page.goto(f"{console_url}/executions/{failed['executionArn']}")
    expect(page.locator("h1 .status")).to_have_text("failed")
    page.click("form.action button:text-is('Redrive')")
    # write_batch rejected the day's rows: a redrive would re-send them, so a fresh run reads the lake.
    expect(page.locator("p.message")).to_contain_text("fresh run")
    expect(page.locator("h1")).to_contain_text(f"{REDRIVE_DAY}_redrive_")
    expect(page.locator("h1 .status")).to_have_text("succeeded", timeout=WAIT_MS)

    readings = _readings(folder)
    customer = world.owners[next(iter(readings))]
    expected = sum(
        (kwh for sensor, kwh in readings.items() if world.owners.get(sensor) == customer), Decimal(0)
    )
    page.goto(f"{console_url}/customers/{customer}?month={REDRIVE_DAY:%Y-%m}")
    row = page.locator("#days tbody tr", has_text=str(REDRIVE_DAY))
    expect(row.locator("td").last).to_have_text(f"{expected:,.2f}")


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
