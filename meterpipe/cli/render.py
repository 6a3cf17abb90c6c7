"""How data looks in a terminal: tables, the calendar grid, the timeline, bar charts, progress.
Shared by the commands and ``make demo``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
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

from meterpipe.ops.backfill import BackfillPlan, BackfillProgress
from meterpipe.ops.calendar import Category, MonthCalendar
from meterpipe.ops.dates import format_duration
from meterpipe.ops.history import DayLine, StateSpan, Timeline
from meterpipe.ops.redrive import RedriveAction
from meterpipe.ops.rollups import RollupItem
from meterpipe.ops.runs import Run
from meterpipe.ops.schedule import ScheduleInfo

STATUS_STYLE = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "TIMED_OUT": "red",
    "ABORTED": "magenta",
    "RUNNING": "yellow",
    "PENDING_REDRIVE": "yellow",
    "PENDING": "dim",
    "NEVER": "dim",
}
CATEGORY_STYLE: dict[Category, tuple[str, str]] = {
    "succeeded": ("✓", "bold white on green"),
    "failed": ("✗", "bold white on red"),
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


def run_line(run: Run, now: dt.datetime) -> Text:
    line = Text()
    line.append(f"{run.date or '?'}  ")
    line.append_text(status(run.status))
    line.append(f"  {run.name}  {format_duration(run.duration(now))}")
    if run.items_written is not None:
        line.append(f"  {run.items_written:,} items written")
    if run.error:
        line.append(f"  {run.error}", style="red")
    return line


def history_table(lines: Sequence[DayLine], now: dt.datetime) -> Table:
    table = Table(title="daily_rollup runs by processing date", title_justify="left")
    for column, justify, wrap in (
        ("date", "left", False),
        ("status", "left", False),
        ("started (UTC)", "left", False),
        ("duration", "right", False),
        ("items", "right", False),
        ("redrives", "right", False),
        ("runs", "right", False),
        ("latest execution", "left", True),
    ):
        table.add_column(column, justify=justify, no_wrap=not wrap, overflow="fold")  # type: ignore[arg-type]
    for line in lines:
        run = line.latest
        table.add_row(
            str(line.date),
            status(line.status),
            f"{run.last_start.astimezone(dt.UTC):%Y-%m-%d %H:%M}" if run else "-",
            format_duration(run.duration(now)) if run else "-",
            number(run.items_written) if run else "-",
            str(run.redrive_count) if run else "-",
            str(line.runs),
            run.name if run else "",
        )
    return table


def plan_table(plan: BackfillPlan) -> Table:
    table = Table(title="backfill plan", title_justify="left")
    table.add_column("date")
    table.add_column("run?")
    table.add_column("why")
    for day in plan.days:
        table.add_row(str(day.date), Text("run", "green") if day.run else Text("skip", "dim"), day.reason)
    return table


def failed_days_table(progress: BackfillProgress) -> Table:
    table = Table(title="failed days", title_justify="left")
    table.add_column("date", no_wrap=True)
    table.add_column("status")
    table.add_column("error", overflow="fold")
    table.add_column("cause", overflow="fold")
    for day in progress.failed_days:
        run = day.run
        cause = day.root_cause or (run.cause if run else None) or "never started"
        table.add_row(
            str(day.date),
            status(day.status),
            (run.error or "-") if run else "-",
            Text(str(cause), style="red"),
        )
    return table


def actions_table(actions: Sequence[RedriveAction]) -> Table:
    table = Table(title="redrive", title_justify="left")
    table.add_column("date")
    table.add_column("did")
    table.add_column("why", overflow="fold")
    table.add_column("execution")
    for action in actions:
        style = {"redrive": "green", "fresh run": "yellow", "nothing": "dim"}[action.action]
        table.add_row(
            str(action.date or "?"), Text(action.action, style), action.reason, action.execution_name
        )
    return table


# -- calendar ------------------------------------------------------------------------------------------


def calendar_grid(month: MonthCalendar) -> RenderableType:
    table = Table(
        title=f"{month.month:%B %Y}: latest run per processing date", title_justify="left", padding=(0, 1)
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
        legend.append(f" {symbol} {category} {counts[category]} ", style=style)
        legend.append(" ")
    return Group(table, legend)


# -- timeline ------------------------------------------------------------------------------------------


def _span_detail(span: StateSpan) -> Text:
    parts = Text()
    if span.query_execution_id:
        scanned = f", {size(span.bytes_scanned)} scanned" if span.bytes_scanned is not None else ""
        parts.append(f"query {span.query_execution_id}{scanned}")
    if span.map_run_arn:
        counts = span.item_counts or {}
        if counts:
            parts.append(
                f"map run: {counts.get('succeeded', 0):,}/{counts.get('total', 0):,} items succeeded"
                + (f", {counts['failed']:,} failed" if counts.get("failed") else "")
            )
        else:
            parts.append(f"map run {span.map_run_arn.rsplit(':', 1)[-1]}")
    if span.retries:
        parts.append(f"  {span.retries} retr{'y' if span.retries == 1 else 'ies'}", style="yellow")
    if span.error:
        parts.append(f"  {span.error}", style="red")
    return parts


class _SpansTable:
    """The states of a timeline, laid out for the width it is printed at: a detail column where
    there is room for it, else each detail on a line of its own under its state (an 80-column
    terminal would fold a query id a few letters a line)."""

    WIDE = 120

    def __init__(self, timeline: Timeline, now: dt.datetime) -> None:
        self.timeline = timeline
        self.now = now

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.table(wide=options.max_width >= self.WIDE)

    def table(self, *, wide: bool) -> Table:
        table = Table(title_justify="left")
        table.add_column("state", no_wrap=wide, overflow="fold")
        table.add_column("type", no_wrap=True)
        table.add_column("start", justify="right", no_wrap=True)
        table.add_column("duration", justify="right", no_wrap=True)
        table.add_column("status", no_wrap=True)
        if wide:
            table.add_column("detail", overflow="fold")
        blank = [""] * (len(table.columns) - 1)
        base = self.timeline.execution.start
        marks = sorted(self.timeline.redrives)
        for span in self.timeline.spans:
            while marks and marks[0] <= span.start:
                mark = Text(f"-- redriven at {when(marks.pop(0))} UTC --", style="bold yellow")
                table.add_row(mark, *blank)
            offset = (span.start - base).total_seconds()
            detail = _span_detail(span)
            row: list[RenderableType] = [
                span.name,
                span.type,
                f"+{offset:.1f} s",
                format_duration(span.duration(self.now)),
                Text(
                    span.status,
                    style={"succeeded": "green", "failed": "red", "running": "yellow"}.get(span.status, ""),
                ),
            ]
            if wide:
                table.add_row(*row, detail)
                continue
            table.add_row(*row)
            if detail:
                table.add_row(Text("  ").append_text(detail), *blank)
        return table


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
    parts: list[RenderableType] = [header, _SpansTable(timeline, now)]
    if timeline.error:
        parts.append(Text(f"error: {timeline.error}", style="bold red"))
    if timeline.cause:
        parts.append(Text(f"cause: {timeline.cause}", style="red"))
    if timeline.root_cause:
        parts.append(Text(f"first failed batch: {timeline.root_cause}", style="red"))
    if timeline.days:
        days = Table(title="days of this backfill", title_justify="left")
        for column in ("date", "status", "duration", "items", "execution"):
            days.add_column(column)
        for day in timeline.days:
            days.add_row(
                str(day.date),
                status(day.status),
                format_duration(day.duration(now)),
                number(day.items_written),
                day.name,
            )
        parts.append(days)
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


def describe_progress(progress: BackfillProgress) -> str:
    return (
        f"[green]{progress.succeeded} ok[/green] [yellow]{progress.running} running[/yellow] "
        f"[red]{progress.failed} failed[/red] {progress.pending} waiting · {progress.items_written:,} items"
    )
