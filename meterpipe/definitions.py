"""Render the state machine definitions: one file + substitutions -> the definition text.

``state_machines/*.asl.json`` are valid JSON whose strings may hold ``${Placeholder}`` marks for
everything that differs between deployments. The CDK app (with CloudFormation tokens as values)
and the local deploy (with concrete values) both call :func:`build_substitutions` and
:func:`render_definition`, so AWS and localcloud run the very same definition text.

Rendering works on the parsed JSON, not on the raw text:

* a string that is exactly one placeholder takes the substitution's JSON type (``"${MaxConcurrency}"``
  becomes the number ``40``), so a template stays valid JSON;
* a placeholder inside a longer string (a JSONata expression, an ARN) is replaced by the value's
  text (non-strings as compact JSON), and serialising the result JSON-escapes it, SQL included;
* a placeholder left unfilled, or a substitution that matches no placeholder, is an error naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers import ledger_format, settings
from meterpipe.checks import VALID_READINGS_FILE, VALIDATION_FILE, fill, markers
from meterpipe.errors import MeterpipeError
from meterpipe.tables import GLUE_DATABASE

# The definitions and the SQL are package data: read through importlib.resources, they are found
# the same in a checkout and in an installed wheel, whatever the working directory.
STATE_MACHINES_DIR: Final[Traversable] = files("meterpipe") / "state_machines"
QUERIES_DIR: Final[Traversable] = files("meterpipe") / "queries"
# The checkout's root, for what only a checkout has (the CDK app, node_modules, the tests); in an
# installed wheel it is site-packages and nothing of meterpipe's own reads from it.
REPO_ROOT: Final = Path(__file__).resolve().parent.parent
# The Lambda's code: the installed ``handlers`` package (a folder beside meterpipe's, checkout or not).
HANDLERS_DIR: Final = Path(settings.__file__).resolve().parent

DAILY_ROLLUP: Final = "daily_rollup"
BACKFILL: Final = "backfill"
LEDGER_SYNC: Final = "ledger_sync"
STATE_MACHINE_NAMES: Final = (DAILY_ROLLUP, BACKFILL, LEDGER_SYNC)
# ledger_sync runs for a moment per event and needs no history: EXPRESS. The others are STANDARD.
EXPRESS_STATE_MACHINES: Final = frozenset({LEDGER_SYNC})

# The three granularities: query file stem -> placeholder holding its SQL.
QUERY_PLACEHOLDERS: Final = {"hourly": "HourlyQuery", "daily": "DailyQuery", "monthly": "MonthlyQuery"}
VALIDATION_PLACEHOLDER: Final = "ValidationQuery"
# The rollup queries read readings through queries/valid_readings.sql, of one day or one month: the
# partition filter goes inside, where Athena (and localcloud) prune partitions by it.
VALID_READINGS_MARKERS: Final = {
    "valid_readings_of_day": "l.year = ? AND l.month = ? AND l.day = ?",
    "valid_readings_of_month": "l.year = ? AND l.month = ?",
}
DEFAULT_MAX_KWH_PER_READING: Final = 1000
DEFAULT_MAX_BAD_READINGS: Final = 0
DEFAULT_READINGS_PER_SENSOR_PER_DAY: Final = 24
DEFAULT_MIN_COMPLETENESS_PERCENT: Final = 0

# Step Functions caps a state's input at 256 KiB; a batch must leave room for BatchInput and framing.
PAYLOAD_LIMIT_BYTES: Final = 262_144
MAX_INPUT_BYTES_PER_BATCH_LIMIT: Final = PAYLOAD_LIMIT_BYTES - 4096

# Key prefixes of the results bucket, the same on AWS and locally: Athena's query results (the
# workgroup's enforced result location) and the Distributed Maps' ResultWriter output.
ATHENA_RESULTS_PREFIX: Final = "athena-results/"
MAP_RESULTS_PREFIX: Final = "map-results/"

DEFAULT_NAME_PREFIX: Final = "meterpipe"

# What a deployment gets unless configured otherwise, the same for the CDK app (infra/config.py,
# cdk.json) and the local deploy (meterpipe.local.deploy).
DEFAULT_STACK_NAME: Final = "MeterPipe"
DEFAULT_SCHEDULE_GROUP: Final = "default"  # EventBridge Scheduler's group of the daily schedule
DEFAULT_SCHEDULE: Final = "cron(30 3 * * ? *)"  # the upstream sample's, evaluated in DEFAULT_TIMEZONE
DEFAULT_TIMEZONE: Final = "UTC"
DEFAULT_MAX_ITEMS_PER_BATCH: Final = 1000
DEFAULT_MAX_INPUT_BYTES_PER_BATCH: Final = 204_800
DEFAULT_MAP_MAX_CONCURRENCY: Final = 20
DEFAULT_BACKFILL_MAX_CONCURRENCY: Final = 4
DEFAULT_BACKFILL_MAX_CONCURRENCY_LIMIT: Final = 40
DEFAULT_LAMBDA_TIMEOUT_SECONDS: Final = 60
DEFAULT_LAMBDA_MEMORY_MB: Final = 512
# The workgroup: a query scanning more is cancelled (Athena's minimum is 10 MB); results SSE-S3.
DEFAULT_ATHENA_BYTES_SCANNED_CUTOFF: Final = 10 * 1024**3
ATHENA_RESULTS_ENCRYPTION: Final = "SSE_S3"

WRITE_BATCH_HANDLER: Final = "handlers.write_batch.handler"

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9_]*)\}")
_PLACEHOLDER_ONLY = re.compile(r"\$\{([A-Za-z][A-Za-z0-9_]*)\}\Z")
_MS_PER_DAY = 86_400_000

Substitution: TypeAlias = str | int | float | bool | list[Any] | dict[str, Any]


class DefinitionError(MeterpipeError):
    """A definition cannot be rendered: unfilled placeholder, unknown substitution, bad value."""


def definition_path(name: str, directory: Traversable = STATE_MACHINES_DIR) -> Traversable:
    """The template file of a state machine (``daily_rollup`` or ``backfill``)."""
    if name not in STATE_MACHINE_NAMES:
        raise DefinitionError(
            f"unknown state machine {name!r}; expected one of {', '.join(STATE_MACHINE_NAMES)}"
        )
    return directory / f"{name}.asl.json"


def state_machine_name(name: str, prefix: str = DEFAULT_NAME_PREFIX) -> str:
    """The deployed name of a state machine: ``meterpipe-daily-rollup``, ``meterpipe-backfill``,
    ``meterpipe-ledger-sync``."""
    if name not in STATE_MACHINE_NAMES:
        raise DefinitionError(
            f"unknown state machine {name!r}; expected one of {', '.join(STATE_MACHINE_NAMES)}"
        )
    return f"{prefix}-{name.replace('_', '-')}"


def walk_states(definition: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state of a parsed definition, nested ones (Parallel branches, Map item processors)
    included, as ``(name, state)`` pairs in document order."""
    for name, state in definition["States"].items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from walk_states(branch)
        if "ItemProcessor" in state:
            yield from walk_states(state["ItemProcessor"])


def placeholders_in(template: Traversable) -> set[str]:
    """The placeholder names a template uses."""
    return set(_placeholders(_load_template(template)))


def render_definition(template: Traversable, substitutions: Mapping[str, Substitution]) -> str:
    """Render ``template`` with ``substitutions`` into definition text (JSON, 2-space indented).

    Raises :class:`DefinitionError` naming every placeholder left unfilled and every substitution
    that matches no placeholder in the file.
    """
    document = _load_template(template)
    used = set(_placeholders(document))
    unknown = sorted(set(substitutions) - used)
    missing = sorted(used - set(substitutions))
    problems = []
    if missing:
        problems.append("placeholder(s) left unfilled: " + ", ".join(f"${{{n}}}" for n in missing))
    if unknown:
        problems.append("substitution(s) matching no placeholder: " + ", ".join(unknown))
    if problems:
        raise DefinitionError(f"cannot render {template.name}: " + "; ".join(problems))
    rendered = _substitute(document, substitutions)
    text = json.dumps(rendered, indent=2, ensure_ascii=False)
    left = sorted(set(_PLACEHOLDER.findall(text)))
    if left:
        # Only possible when a substitution value itself carries a ${Name} mark.
        raise DefinitionError(
            f"cannot render {template.name}: a substitution value contains placeholder(s) "
            + ", ".join(f"${{{n}}}" for n in left)
        )
    return text


@dataclass(frozen=True, kw_only=True)
class DeploymentValues:
    """What differs between deployments. CDK passes tokens for the ARNs and names it creates."""

    write_batch_function_arn: str
    daily_rollup_state_machine_arn: str
    results_bucket: str
    athena_workgroup: str
    # Where the readings are (the input fingerprint lists the day's objects there).
    lake_bucket: str
    # The per-day ledger daily_rollup writes (docs/ledger.md).
    ledger_table: str = ledger_format.LEDGER_TABLE_NAME
    glue_database: str = GLUE_DATABASE
    # ResultWriter output of the Distributed Maps goes under this prefix of the results bucket.
    map_results_prefix: str = MAP_RESULTS_PREFIX
    max_items_per_batch: int = DEFAULT_MAX_ITEMS_PER_BATCH
    max_input_bytes_per_batch: int = DEFAULT_MAX_INPUT_BYTES_PER_BATCH
    max_concurrency: int = DEFAULT_MAP_MAX_CONCURRENCY
    backfill_max_concurrency: int = DEFAULT_BACKFILL_MAX_CONCURRENCY
    backfill_max_concurrency_limit: int = DEFAULT_BACKFILL_MAX_CONCURRENCY_LIMIT
    # ResolveDate: "yesterday" of a scheduled run is the previous calendar day in this zone.
    timezone: str = DEFAULT_TIMEZONE
    timezone_first_year: int = 2000
    timezone_last_year: int = 2099
    # Validation: a reading of this many kWh or more is bad (meterpipe.checks); bad readings a day
    # may have and still be rolled up (skipped); readings a sensor gives a day; the share of those
    # (percent, 0 = off) below which a day fails. The last two may come in the execution input.
    max_kwh_per_reading: int = DEFAULT_MAX_KWH_PER_READING
    max_bad_readings: int = DEFAULT_MAX_BAD_READINGS
    readings_per_sensor_per_day: int = DEFAULT_READINGS_PER_SENSOR_PER_DAY
    min_completeness_percent: int | float = DEFAULT_MIN_COMPLETENESS_PERCENT
    # How long a write_batch invocation may run: a stopped or failed owner's batches are over after it.
    write_batch_timeout_seconds: int = DEFAULT_LAMBDA_TIMEOUT_SECONDS
    queries_dir: Traversable = field(default=QUERIES_DIR)

    def validate(self) -> None:
        """Raise :class:`DefinitionError` listing every value that cannot work."""
        problems: list[str] = []
        for name in ("max_items_per_batch", "max_concurrency", "backfill_max_concurrency"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                problems.append(f"{name} must be a whole number >= 1, got {value!r}")
        limit = self.backfill_max_concurrency_limit
        if not _is_int(limit) or limit < 1:
            problems.append(f"backfill_max_concurrency_limit must be a whole number >= 1, got {limit!r}")
        elif _is_int(self.backfill_max_concurrency) and self.backfill_max_concurrency > limit:
            problems.append(
                f"backfill_max_concurrency {self.backfill_max_concurrency} exceeds "
                f"backfill_max_concurrency_limit {limit}"
            )
        max_bytes = self.max_input_bytes_per_batch
        if not _is_int(max_bytes) or not 1024 <= max_bytes <= MAX_INPUT_BYTES_PER_BATCH_LIMIT:
            problems.append(
                "max_input_bytes_per_batch must leave room for BatchInput under the 256 KiB state "
                f"payload limit (1024..{MAX_INPUT_BYTES_PER_BATCH_LIMIT}), got {max_bytes!r}"
            )
        if not self.map_results_prefix.endswith("/") or self.map_results_prefix.startswith("/"):
            problems.append(
                f"map_results_prefix must be a key prefix ending in '/', got {self.map_results_prefix!r}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"timezone {self.timezone!r} is not an IANA time zone name (e.g. Europe/London)")
        if not 1970 <= self.timezone_first_year <= self.timezone_last_year <= 2199:
            problems.append(
                "timezone_first_year..timezone_last_year must be a range within 1970..2199, got "
                f"{self.timezone_first_year}..{self.timezone_last_year}"
            )
        lowest = {"max_kwh_per_reading": 1, "max_bad_readings": 0, "readings_per_sensor_per_day": 1}
        for name, low in lowest.items():
            value = getattr(self, name)
            if not _is_int(value) or value < low:
                problems.append(f"{name} must be a whole number >= {low}, got {value!r}")
        percent = self.min_completeness_percent
        if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100:
            problems.append(f"min_completeness_percent must be a number from 0 to 100, got {percent!r}")
        # These values are embedded in JSONata string literals ('...'): a quote would end them early.
        for name in ("daily_rollup_state_machine_arn", "results_bucket", "map_results_prefix", "lake_bucket"):
            if "'" in getattr(self, name):
                problems.append(f"{name} must not contain a single quote")
        if problems:
            raise DefinitionError("invalid deployment values: " + "; ".join(problems))


def write_batch_environment(table_name: str, ledger_table_name: str) -> dict[str, str]:
    """The write_batch function's environment as every deployment sets it, under the names
    ``handlers.settings`` reads (the Powertools names at their defaults)."""
    return {
        settings.ROLLUP_TABLE_NAME_ENV: table_name,
        settings.LEDGER_TABLE_NAME_ENV: ledger_table_name,
        settings.SERVICE_NAME_ENV: settings.DEFAULT_SERVICE_NAME,
        settings.METRICS_NAMESPACE_ENV: settings.DEFAULT_METRICS_NAMESPACE,
    }


def build_substitutions(values: DeploymentValues) -> dict[str, dict[str, Substitution]]:
    """The substitutions of each state machine (``daily_rollup``, ``backfill``) for a deployment."""
    values.validate()
    starts, offsets, end = utc_offset_transitions(
        values.timezone, values.timezone_first_year, values.timezone_last_year
    )
    daily: dict[str, Substitution] = {
        "WriteBatchFunctionArn": values.write_batch_function_arn,
        "LedgerTable": values.ledger_table,
        "LakeBucket": values.lake_bucket,
        "MaxBadReadings": values.max_bad_readings,
        "MinCompletenessPercent": values.min_completeness_percent,
        "ReadingsPerSensorPerDay": values.readings_per_sensor_per_day,
        "WriteBatchTimeoutSeconds": values.write_batch_timeout_seconds,
        "LedgerCauseLimit": ledger_format.CAUSE_LIMIT,
        "AthenaWorkGroup": values.athena_workgroup,
        "GlueDatabase": values.glue_database,
        "ResultsBucket": values.results_bucket,
        "MapResultsPrefix": values.map_results_prefix,
        "MaxItemsPerBatch": values.max_items_per_batch,
        "MaxInputBytesPerBatch": values.max_input_bytes_per_batch,
        "MaxConcurrency": values.max_concurrency,
        "TimeZone": values.timezone,
        "TimeZoneTransitions": list(starts),
        "TimeZoneOffsets": list(offsets),
        "TimeZoneCoverageEnd": end,
    }
    for stem, placeholder in QUERY_PLACEHOLDERS.items():
        daily[placeholder] = rollup_query(stem, values.max_kwh_per_reading, values.queries_dir)
    daily[VALIDATION_PLACEHOLDER] = validation_query(values.max_kwh_per_reading, values.queries_dir)
    backfill: dict[str, Substitution] = {
        "DailyRollupStateMachineArn": values.daily_rollup_state_machine_arn,
        "BackfillMaxConcurrency": values.backfill_max_concurrency,
        "BackfillMaxConcurrencyLimit": values.backfill_max_concurrency_limit,
    }
    ledger_sync: dict[str, Substitution] = {
        "LedgerTable": values.ledger_table,
        "LedgerCauseLimit": ledger_format.CAUSE_LIMIT,
    }
    return {DAILY_ROLLUP: daily, BACKFILL: backfill, LEDGER_SYNC: ledger_sync}


def ledger_sync_event_pattern(daily_rollup_state_machine_arn: str) -> dict[str, Any]:
    """The EventBridge pattern that starts ledger_sync: daily_rollup's "Step Functions Execution
    Status Change" events that it must record (docs/ledger.md): an end daily_rollup could not
    record itself, or a redrive (RUNNING again, with a redrive count above 0)."""
    return {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "stateMachineArn": [daily_rollup_state_machine_arn],
            "$or": [
                {"status": ["FAILED", "TIMED_OUT", "ABORTED"]},
                {"status": ["RUNNING"], "redriveCount": [{"numeric": [">", 0]}]},
            ],
        },
    }


def render_state_machines(
    values: DeploymentValues, directory: Traversable = STATE_MACHINES_DIR
) -> dict[str, str]:
    """Both definitions rendered for one deployment: name -> definition text."""
    substitutions = build_substitutions(values)
    return {
        name: render_definition(definition_path(name, directory), substitutions[name])
        for name in substitutions
    }


def rollup_query(stem: str, max_kwh_per_reading: int, queries_dir: Traversable = QUERIES_DIR) -> str:
    """The rollup query ``queries/<stem>.sql`` as it runs: one line, its readings read through
    ``queries/valid_readings.sql`` with the partition filter and the per-reading ceiling filled in."""
    valid = sql_for_definition((queries_dir / VALID_READINGS_FILE).read_text(encoding="utf-8"))
    sql = sql_for_definition((queries_dir / f"{stem}.sql").read_text(encoding="utf-8"))
    fragments = {
        marker: fill(valid, {"partitions": partitions, "max_kwh_per_reading": str(max_kwh_per_reading)})
        for marker, partitions in VALID_READINGS_MARKERS.items()
        if marker in markers(sql)
    }
    return fill(sql, fragments)


def validation_query(max_kwh_per_reading: int, queries_dir: Traversable = QUERIES_DIR) -> str:
    """``queries/validation.sql`` as it runs: one line, the per-reading ceiling filled in."""
    sql = sql_for_definition((queries_dir / VALIDATION_FILE).read_text(encoding="utf-8"))
    return fill(sql, {"max_kwh_per_reading": str(max_kwh_per_reading)})


def sql_for_definition(sql: str) -> str:
    """The query as it goes into a definition: one line, comment lines and blank lines dropped.

    One line because definitions are checked with asl-validator, whose string patterns reject
    line breaks; Athena reads the single line the same. Only whole-line ``--`` comments can be
    dropped safely, so any other comment is refused rather than silently swallowing the rest.
    """
    lines = [line.strip() for line in sql.splitlines()]
    kept = [line for line in lines if line and not line.startswith("--")]
    single = " ".join(kept).rstrip(";").strip()
    if "--" in single or "/*" in single:
        raise DefinitionError(
            "queries may only carry whole-line '--' comments (an inline comment would swallow SQL)"
        )
    if not single:
        raise DefinitionError("query is empty")
    return single


@lru_cache(maxsize=32)
def utc_offset_transitions(
    zone: str, first_year: int, last_year: int
) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """A zone's UTC offsets from ``first_year`` through ``last_year``, as JSONata can use them.

    Returns ``(starts, offsets, end)``: ``offsets[i]`` (milliseconds) is in effect from epoch
    millisecond ``starts[i]`` until ``starts[i + 1]``; ``starts[0]`` is the start of
    ``first_year`` (UTC) and ``end`` the start of ``last_year + 1``. JSONata's ``$fromMillis``
    knows only fixed offsets, so the definition carries this table and picks the entry in effect.
    """
    tz = ZoneInfo(zone)
    begin = datetime(first_year, 1, 1, tzinfo=UTC)
    finish = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    starts = [_millis(begin)]
    offsets = [_offset_millis(tz, begin)]
    # Zones change offset at most a few times a year, never twice within six hours.
    step = timedelta(hours=6)
    previous = begin
    while previous < finish:
        current = min(previous + step, finish)
        if _offset_millis(tz, current) != _offset_millis(tz, previous):
            moment = _first_change(tz, previous, current)
            starts.append(_millis(moment))
            offsets.append(_offset_millis(tz, moment))
        previous = current
    return tuple(starts), tuple(offsets), _millis(finish)


def _first_change(tz: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The first second in (before, after] whose offset differs from ``before``'s (bisection)."""
    base = _offset_millis(tz, before)
    low, high = before, after
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            middle = low + timedelta(seconds=1)
        if _offset_millis(tz, middle) == base:
            low = middle
        else:
            high = middle
    return high


def _offset_millis(tz: ZoneInfo, moment: datetime) -> int:
    offset = moment.astimezone(tz).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return int(offset.total_seconds() * 1000)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _load_template(template: Traversable) -> Any:
    try:
        return json.loads(template.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DefinitionError(f"no state machine template at {template}") from None
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"{template.name} is not valid JSON: {exc}") from None


def _placeholders(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield from _PLACEHOLDER.findall(node)
    elif isinstance(node, list):
        for item in node:
            yield from _placeholders(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if _PLACEHOLDER.search(key):
                raise DefinitionError(f"placeholders belong in values, not in the key {key!r}")
            yield from _placeholders(value)


def _substitute(node: Any, substitutions: Mapping[str, Substitution]) -> Any:
    if isinstance(node, str):
        whole = _PLACEHOLDER_ONLY.match(node)
        if whole and not isinstance(substitutions[whole.group(1)], str):
            return substitutions[whole.group(1)]
        return _PLACEHOLDER.sub(lambda match: _as_text(substitutions[match.group(1)]), node)
    if isinstance(node, list):
        return [_substitute(item, substitutions) for item in node]
    if isinstance(node, dict):
        return {key: _substitute(value, substitutions) for key, value in node.items()}
    return node


def _as_text(value: Substitution) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
