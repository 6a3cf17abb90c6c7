"""How data looks in a terminal: tables, the calendar grid, the timeline, bar charts, progress.
Shared by the commands and ``make demo``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from meterpipe.ops.backfill import BackfillPlan
from meterpipe.ops.calendar import LABELS, Category, MonthCalendar
from meterpipe.ops.dates import format_duration
from meterpipe.ops.executions import describe_counts
from meterpipe.ops.history import DayLine, StateSpan, Timeline, readable_cause
from meterpipe.ops.ledger import DayRecord
from meterpipe.ops.redrive import RedriveAction
from meterpipe.ops.rollups import RollupItem
from meterpipe.ops.schedule import ScheduleInfo
from meterpipe.ops.watch import PENDING, Work

STATUS_STYLE = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "INCOMPLETE": "red",
    "TIMED_OUT": "red",
    "NO_DATA": "cyan",
    "ABORTED": "magenta",
    "RUNNING": "yellow",
    "PENDING_REDRIVE": "yellow",
    "PENDING": "dim",
    "NEVER": "dim",
}
CATEGORY_STYLE: dict[Category, tuple[str, str]] = {
    "succeeded": ("✓", "bold white on green"),
    "stale": ("↻", "bold black on bright_green"),
    "failed": ("✗", "bold white on red"),
    "incomplete": ("◐", "bold white on dark_red"),
    "no_data": ("∅", "bold black on cyan"),
    "aborted": ("■", "bold white on magenta"),
    "running": ("…", "bold black on yellow"),
    "never": ("·", "dim"),
}
_BLOCKS = " ▏▎▍▌▋▊▉█"


def size(count: int) -> str:
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{count} B"


def day_span(days: Sequence[dt.date]) -> str:
    if not days:
        return "no days"
    if len(days) == 1:
        return str(days[0])
    return f"{days[0]}..{days[-1]} ({len(days)} days)"


def status(text: str) -> Text:
    return Text(text, style=STATUS_STYLE.get(text, ""))


def when(moment: dt.datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}"


def number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def bar(value: Decimal, largest: Decimal, width: int = 28) -> str:
    """A horizontal bar in eighths of a character."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = round(float(value / largest) * width * 8)
    return "█" * (eighths // 8) + (_BLOCKS[eighths % 8] if eighths % 8 else "")


# -- runs and days -----------------------------------------------------------------------------------


def day_line(day: dt.date, state: str, record: DayRecord | None, now: dt.datetime) -> Text:
    """``2024-01-05  SUCCEEDED  <execution>  4.4 s  1,731 items written``: a day after some work."""
    line = Text()
    line.append(f"{day}  ")
    line.append_text(status(state))
    if record is None or state == PENDING:
        line.append("  never started")
        return line
    line.append(f"  {record.execution_name}  {format_duration(record.duration(now))}")
    if record.items_written is not None and state == "SUCCEEDED":
        line.append(f"  {record.items_written:,} items written")
    if record.bad_readings_skipped:
        line.append(f"  {record.bad_readings_skipped:,} bad readings skipped", style="yellow")
    if record.error and state != "SUCCEEDED":
        line.append(f"  {record.error}", style="red")
    return line


class ByWidth:
    """A renderable laid out for the width it is printed at: ``layout(True)``, the wide layout, where
    its natural width fits, else ``layout(False)``. On a narrow terminal a table keeps its short
    columns whole and puts its long text (execution names, query ids) in a table of its own, instead
    of folding that text a few letters a line or truncating the figures beside it."""

    def __init__(self, layout: Callable[[bool], RenderableType]) -> None:
        self.layout = layout

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = self.layout(True)
        natural = Measurement.get(console, options.update(width=100_000), wide).maximum
        fits = natural <= options.max_width
        yield wide if fits else self.layout(False)


def _table(title: str | None, columns: Sequence[tuple[str, str]], *, wide: bool) -> Table:
    """A table of short, unwrapped ``(header, justify)`` columns, as wide output draws it, or
    borderless with no outer padding when narrow."""
    if wide:
        table = Table(title=title, title_justify="left")
    else:
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header, justify in columns:
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    return table


class _Details:
    """The last, long column of a table: beside each row when wide; when narrow, gathered into a
    second two-column table under it (keyed by the row's first cell), where it has the width to read."""

    def __init__(self, table: Table, heading: str, *, wide: bool) -> None:
        self.table, self.heading, self.wide = table, heading, wide
        self.rows: list[tuple[str, Text]] = []
        if wide:
            table.add_column(heading, overflow="fold")

    def add(self, cells: list[RenderableType], key: str, detail: Text) -> None:
        if self.wide:
            self.table.add_row(*cells, detail)
            return
        self.table.add_row(*cells)
        if detail:
            self.rows.append((key, detail))

    def view(self) -> RenderableType:
        if self.wide or not self.rows:
            return self.table
        below = _table(None, [(str(self.table.columns[0].header), "left")], wide=False)
        below.add_column(self.heading, overflow="fold")
        for key, detail in self.rows:
            below.add_row(key, detail)
        return Group(self.table, Text(""), below)


def history_table(lines: Sequence[DayLine], now: dt.datetime) -> RenderableType:
    return ByWidth(lambda wide: _history_table(lines, now, wide=wide))


def _of(part: int | None, whole: int | None) -> str:
    """``1,590/1,608``; ``-`` when unrecorded."""
    if part is None:
        return "-"
    return f"{part:,}/{whole:,}" if whole is not None else f"{part:,}"


def _history_table(lines: Sequence[DayLine], now: dt.datetime, *, wide: bool) -> RenderableType:
    """Narrow: the start time moves beside the execution, into the table under it."""
    columns = [("date", "left"), ("status", "left")] + ([("started (UTC)", "left")] if wide else [])
    columns += [("duration", "right"), ("items", "right"), ("readings", "right"), ("sensors", "right")]
    columns += [("skipped", "right"), ("attempts", "right")]
    table = _table("daily_rollup by processing date (the ledger)", columns, wide=wide)
    details = _Details(table, "latest execution" if wide else "started (UTC), latest execution", wide=wide)
    for line in lines:
        record = line.record
        if record is None:
            blanks = ["-"] * (len(columns) - 3)
            details.add([str(line.date), status(line.status), *blanks, "0"], str(line.date), Text(""))
            continue
        started = f"{record.started_at:%Y-%m-%d %H:%M}" if record.started_at else "-"
        cells: list[RenderableType] = [str(line.date), status(line.status)]
        cells += [started] if wide else []
        cells += [
            format_duration(record.duration(now)),
            number(record.items_written),
            _of(record.readings, record.readings_expected),
            _of(record.sensors_reporting, record.sensors_known),
            number(record.bad_readings_skipped),
            str(record.attempts),
        ]
        detail = record.execution_name if wide else f"{started}  {record.execution_name}"
        details.add(cells, str(line.date), Text(detail))
    return details.view()


def plan_table(plan: BackfillPlan) -> Table:
    table = Table(title="backfill plan", title_justify="left")
    table.add_column("date")
    table.add_column("run?")
    table.add_column("why")
    for day in plan.days:
        table.add_row(str(day.date), Text("run", "green") if day.run else Text("skip", "dim"), day.reason)
    return table


def failed_days_table(progress: Work, root_causes: dict[str, str | None] | None = None) -> Table:
    """The days of some work without a success, each with its error and cause (the first failed
    batch, when a map run failed)."""
    table = Table(title="days not completed", title_justify="left")
    table.add_column("date", no_wrap=True)
    table.add_column("status")
    table.add_column("error", overflow="fold")
    table.add_column("cause", overflow="fold")
    for day in progress.not_completed:
        record = progress.records.get(day)
        state = progress.status(day)
        if record is None or state == PENDING:
            table.add_row(str(day), status(state), "-", Text("never started", style="red"))
            continue
        cause = (root_causes or {}).get(day.isoformat()) or readable_cause(record.cause) or "-"
        table.add_row(str(day), status(state), record.error or "-", Text(cause, style="red"))
    return table


def actions_table(actions: Sequence[RedriveAction]) -> Table:
    table = Table(title="redrive", title_justify="left")
    table.add_column("date")
    table.add_column("did")
    table.add_column("why", overflow="fold")
    table.add_column("execution")
    for action in actions:
        style = {"redrive": "green", "fresh run": "yellow", "backfill": "yellow", "wait": "cyan"}.get(
            action.action, "dim"
        )
        table.add_row(
            str(action.date), Text(action.action, style), action.reason, action.execution_name or "-"
        )
    return table


# -- calendar ------------------------------------------------------------------------------------------


def calendar_grid(month: MonthCalendar) -> RenderableType:
    table = Table(
        title=f"{month.month:%B %Y}: each processing date by its ledger status",
        title_justify="left",
        padding=(0, 1),
    )
    for name in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        table.add_column(name, justify="center")
    row: list[RenderableType] = [Text("")] * month.month.weekday()
    for day in month.days:
        symbol, style = CATEGORY_STYLE[day.category]
        row.append(Text(f"{day.date.day:>2} {symbol}", style=style))
        if len(row) == 7:
            table.add_row(*row)
            row = []
    if row:
        table.add_row(*(row + [Text("")] * (7 - len(row))))
    counts = month.counts()
    legend = Text()
    for category, (symbol, style) in CATEGORY_STYLE.items():
        legend.append(f" {symbol} {LABELS[category]} {counts[category]} ", style=style)
        legend.append(" ")
    return Group(table, legend)


# -- timeline ------------------------------------------------------------------------------------------


def _span_detail(span: StateSpan) -> Text:
    parts = Text()
    if span.query_execution_id:
        scanned = f", {size(span.bytes_scanned)} scanned" if span.bytes_scanned is not None else ""
        parts.append(f"query {span.query_execution_id}{scanned}")
    if span.map_run_arn:
        parts.append(_map_run_detail(span))
    if span.retries:
        parts.append(f"  {span.retries} retr{'y' if span.retries == 1 else 'ies'}", style="yellow")
    if span.error:
        parts.append(f"  {span.error}", style="red")
    return parts


def _map_run_detail(span: StateSpan) -> str:
    """``map run: 96 items: 90 succeeded, 6 failed, redriven 1 time(s)``: every part, adding up to
    the total; once per map run (on its last span: a redrive runs the same map run again)."""
    counts = span.item_counts
    if span.map_run_again:
        return "map run: run again after a redrive, below"
    if counts is None:
        return f"map run {(span.map_run_arn or '').rsplit(':', 1)[-1]}"
    if span.day_outcomes is not None:
        # A backfill's map catches each day's failure: its items all "succeed"; the days may not.
        days = ", ".join(f"{n:,} {s}" for s, n in sorted(span.day_outcomes.items()))
        total = counts.get("total", 0)
        text = f"map run: {total:,} days; each day's own outcome (the ledger): {days or 'none yet'}"
    else:
        text = "map run: " + describe_counts(counts)
    if span.map_run_redrives:
        text += f", redriven {span.map_run_redrives} time(s)"
    return text


def _spans_table(timeline: Timeline, now: dt.datetime, *, wide: bool) -> RenderableType:
    columns = [
        ("state", "left"),
        ("type", "left"),
        ("start", "right"),
        ("duration", "right"),
        ("status", "left"),
    ]
    table = _table(None, columns, wide=wide)
    details = _Details(table, "detail", wide=wide)
    base = timeline.execution.start
    marks = sorted(timeline.redrives)
    branch: tuple[str, ...] = ()
    for span in timeline.spans:
        while marks and marks[0] <= span.start and not span.branch:
            # Narrow: the time alone, so that the mark does not widen the state column.
            moment = when(marks.pop(0)) if wide else f"{marks.pop(0).astimezone(dt.UTC):%H:%M:%S}"
            table.add_row(Text(f"-- redriven at {moment} UTC --", style="bold yellow"))
        if span.branch and span.branch != branch:
            # Each branch under a heading of its own: the Parallel's name and the branch's number.
            indent = "  " * (len(span.branch) // 2 - 1)
            table.add_row(Text(f"{indent}{span.branch[-2]} {span.branch[-1]}:", style="dim"))
        branch = span.branch
        offset = (span.start - base).total_seconds()
        cells: list[RenderableType] = [
            "  " * (len(span.branch) // 2) + span.name,
            span.type,
            f"+{offset:.1f} s",
            format_duration(span.duration(now)),
            Text(
                span.status,
                style={"succeeded": "green", "failed": "red", "running": "yellow"}.get(span.status, ""),
            ),
        ]
        details.add(cells, span.name, _span_detail(span))
    return details.view()


def _backfill_days_table(timeline: Timeline, now: dt.datetime, *, wide: bool) -> RenderableType:
    columns = [("date", "left"), ("status", "left"), ("duration", "right"), ("items", "right")]
    table = _table("days of this backfill", columns, wide=wide)
    details = _Details(table, "execution", wide=wide)
    for day in timeline.days:
        cells: list[RenderableType] = [
            str(day.date),
            status(day.status),
            format_duration(day.duration(now)),
            number(day.items_written),
        ]
        details.add(cells, str(day.date), Text(day.execution_name))
    return details.view()


def _ledger_line(record: DayRecord) -> Text:
    """What the ledger recorded of the execution's attempt: its status and counts."""
    text = Text("ledger: attempt ")
    text.append(f"{record.attempt or record.attempts} ")
    text.append_text(status(record.status))
    if record.readings is not None:
        text.append(f", {_of(record.readings, record.readings_expected)} readings (of expected)")
    if record.sensors_reporting is not None:
        text.append(f", {_of(record.sensors_reporting, record.sensors_known)} sensors reporting")
    if record.bad_readings:
        skipped = record.bad_readings_skipped or 0
        text.append(f", {record.bad_readings:,} bad readings ({skipped:,} skipped)", style="yellow")
    if record.month_bad_readings_excluded:
        text.append(f", {record.month_bad_readings_excluded:,} bad readings of the month left out")
    return text


def timeline_view(timeline: Timeline, now: dt.datetime) -> RenderableType:
    run = timeline.execution
    header = Text()
    header.append(f"{timeline.machine} ", style="bold")
    header.append(f"{run.name}  ")
    header.append_text(status(run.status))
    header.append(f"\nprocessing date {run.date or '-'}, started {when(run.start)} UTC, ")
    header.append(f"{format_duration(run.duration(now))}, redriven {run.redrive_count} time(s)")
    if run.items_written is not None:
        header.append(f", {run.items_written:,} items written")
    parts: list[RenderableType] = [header]
    if timeline.ledger is not None:
        parts.append(_ledger_line(timeline.ledger))
    parts.append(ByWidth(lambda wide: _spans_table(timeline, now, wide=wide)))
    if timeline.error:
        parts.append(Text(f"error: {timeline.error}", style="bold red"))
    if timeline.cause:
        parts.append(Text(f"cause: {timeline.cause}", style="red"))
    if timeline.root_cause:
        parts.append(Text(f"first failed batch: {timeline.root_cause}", style="red"))
    if timeline.days:
        parts.append(ByWidth(lambda wide: _backfill_days_table(timeline, now, wide=wide)))
    return Group(*parts)


# -- rollups ------------------------------------------------------------------------------------------


def rollups_table(items: Sequence[RollupItem], *, customer: int, granularity: str) -> Table:
    largest = max((item.kwh for item in items), default=Decimal(0))
    total = sum((item.kwh for item in items), Decimal(0))
    table = Table(
        title=f"customer {customer}: kWh per {granularity}",
        caption=f"{len(items)} items, {total:,} kWh in all",
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("sensor")
    table.add_column(granularity)
    table.add_column("kWh", justify="right")
    table.add_column("readings", justify="right")
    table.add_column("", style="cyan", no_wrap=True)
    for item in items:
        table.add_row(
            str(item.sensor), item.period, f"{item.kwh}", number(item.readings), bar(item.kwh, largest)
        )
    return table


# -- schedule --------------------------------------------------------------------------------------


def schedule_view(info: ScheduleInfo) -> Text:
    text = Text()
    text.append(f"{info.name}", style="bold")
    text.append(f" (group {info.group})  ")
    text.append(info.state, style="green" if info.state == "ENABLED" else "yellow")
    text.append(f"\n  {info.expression} in {info.timezone}\n  target {info.target}")
    if info.input:
        text.append(f"\n  input {info.input}")
    if info.next_times:
        text.append("\n  next: " + ", ".join(f"{t:%Y-%m-%d %H:%M} UTC" for t in info.next_times))
    return text


# -- progress ------------------------------------------------------------------------------------------


@contextmanager
def day_progress(console: Console, total: int, label: str) -> Iterator[tuple[Progress, TaskID]]:
    """A live bar of days done, with counts in its description (on stderr, gone when done)."""
    with Progress(
        SpinnerColumn(),
        TextColumn(f"[bold]{label}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # no live display in logs and pipes
    ) as progress:
        yield progress, progress.add_task("", total=total)


def describe_progress(progress: Work) -> str:
    return (
        f"[green]{progress.succeeded} ok[/green] [yellow]{progress.running} running[/yellow] "
        f"[red]{progress.failed} failed[/red] {progress.pending} waiting · {progress.items_written:,} items"
    )
