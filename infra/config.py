"""The deployment's configuration: CDK context keys (cdk.json, or ``-c key=value``), typed and checked.

Every key is ``meterpipe:<name>``. Values from ``cdk.json`` arrive typed; values given with ``-c``
arrive as strings, so each key is parsed by its type. Unknown ``meterpipe:`` keys are errors, so
a typo never silently falls back to a default.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from meterpipe.definitions import (
    BACKFILL,
    DAILY_ROLLUP,
    DEFAULT_ATHENA_BYTES_SCANNED_CUTOFF,
    DEFAULT_BACKFILL_MAX_CONCURRENCY,
    DEFAULT_BACKFILL_MAX_CONCURRENCY_LIMIT,
    DEFAULT_LAMBDA_MEMORY_MB,
    DEFAULT_LAMBDA_TIMEOUT_SECONDS,
    DEFAULT_MAP_MAX_CONCURRENCY,
    DEFAULT_MAX_BAD_READINGS,
    DEFAULT_MAX_INPUT_BYTES_PER_BATCH,
    DEFAULT_MAX_ITEMS_PER_BATCH,
    DEFAULT_MAX_KWH_PER_READING,
    DEFAULT_MIN_COMPLETENESS_PERCENT,
    DEFAULT_NAME_PREFIX,
    DEFAULT_READINGS_PER_SENSOR_PER_DAY,
    DEFAULT_SCHEDULE,
    DEFAULT_STACK_NAME,
    DEFAULT_TIMEZONE,
    LEDGER_SYNC,
    MAX_INPUT_BYTES_PER_BATCH_LIMIT,
    state_machine_name,
)
from meterpipe.tables import LEDGER, ROLLUPS

PREFIX = "meterpipe:"


class ConfigError(ValueError):
    """A context value is missing its type, out of range, or an unknown key."""


@dataclass(frozen=True, kw_only=True)
class DeploymentConfig:
    """What an operator can set per deployment. Defaults reproduce the upstream sample."""

    stack_name: str = DEFAULT_STACK_NAME
    # Prefixes the state machine and workgroup names (and so the ARNs the CLI looks for).
    name_prefix: str = DEFAULT_NAME_PREFIX
    # Schedule: EventBridge Scheduler cron expression, evaluated in `timezone`.
    schedule_cron: str = DEFAULT_SCHEDULE
    schedule_enabled: bool = True
    # Both when the schedule fires and which calendar day "yesterday" is for a scheduled run.
    timezone: str = DEFAULT_TIMEZONE
    # Distributed Map sizing.
    max_items_per_batch: int = DEFAULT_MAX_ITEMS_PER_BATCH
    max_input_bytes_per_batch: int = DEFAULT_MAX_INPUT_BYTES_PER_BATCH
    map_max_concurrency: int = DEFAULT_MAP_MAX_CONCURRENCY
    backfill_max_concurrency: int = DEFAULT_BACKFILL_MAX_CONCURRENCY
    backfill_max_concurrency_limit: int = DEFAULT_BACKFILL_MAX_CONCURRENCY_LIMIT
    # write_batch Lambda.
    lambda_timeout_seconds: int = DEFAULT_LAMBDA_TIMEOUT_SECONDS
    lambda_memory_mb: int = DEFAULT_LAMBDA_MEMORY_MB
    lambda_reserved_concurrency: int | None = None
    powertools_layer_version: int = 27
    # Data.
    table_name: str = ROLLUPS.name
    ledger_table_name: str = LEDGER.name
    table_deletion_protection: bool = True
    remove_data_on_destroy: bool = False
    results_expiration_days: int = 30
    athena_bytes_scanned_cutoff: int = DEFAULT_ATHENA_BYTES_SCANNED_CUTOFF
    # Validation before any write (meterpipe.checks, docs/ledger.md).
    max_bad_readings: int = DEFAULT_MAX_BAD_READINGS
    max_kwh_per_reading: int = DEFAULT_MAX_KWH_PER_READING
    readings_per_sensor_per_day: int = DEFAULT_READINGS_PER_SENSOR_PER_DAY
    min_completeness_percent: int = DEFAULT_MIN_COMPLETENESS_PERCENT
    # Operations.
    log_retention_days: int = 30
    alarm_email: str = ""

    def __post_init__(self) -> None:
        problems = []
        ranges = {
            "max_items_per_batch": (1, 100_000_000),
            # What the definitions accept: room for BatchInput under the 256 KiB payload limit.
            "max_input_bytes_per_batch": (1024, MAX_INPUT_BYTES_PER_BATCH_LIMIT),
            "map_max_concurrency": (1, 10_000),
            "backfill_max_concurrency": (1, 10_000),
            "backfill_max_concurrency_limit": (1, 10_000),
            # An EXPRESS child runs at most five minutes: three attempts of a batch must fit.
            "lambda_timeout_seconds": (1, 90),
            "lambda_memory_mb": (128, 10_240),
            "powertools_layer_version": (1, 10_000),
            "results_expiration_days": (1, 3650),
            # Athena's minimum cutoff is 10 MB.
            "athena_bytes_scanned_cutoff": (10_000_000, 2**62),
            "log_retention_days": (1, 3653),
            "max_bad_readings": (0, 1_000_000_000),
            "max_kwh_per_reading": (1, 1_000_000_000),
            # 15-minute readings give 96 a day; one a second 86,400.
            "readings_per_sensor_per_day": (1, 86_400),
            "min_completeness_percent": (0, 100),
        }
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if not low <= value <= high:
                problems.append(f"{PREFIX}{_camel(name)} must be within {low}..{high}, got {value}")
        if self.lambda_reserved_concurrency is not None and self.lambda_reserved_concurrency < 1:
            reserved = self.lambda_reserved_concurrency
            problems.append(f"{PREFIX}lambdaReservedConcurrency must be >= 1 or null, got {reserved}")
        if self.backfill_max_concurrency > self.backfill_max_concurrency_limit:
            problems.append(f"{PREFIX}backfillMaxConcurrency exceeds {PREFIX}backfillMaxConcurrencyLimit")
        if not re.fullmatch(r"cron\(.+\)|rate\(.+\)|at\(.+\)", self.schedule_cron):
            problems.append(
                f"{PREFIX}scheduleCron must be a Scheduler expression like cron(30 3 * * ? *), "
                f"got {self.schedule_cron!r}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"{PREFIX}timezone {self.timezone!r} is not an IANA time zone name")
        if not re.fullmatch(r"[a-z][a-z0-9-]{1,30}", self.name_prefix):
            problems.append(
                f"{PREFIX}namePrefix must be 2-31 lowercase letters, digits or '-', got {self.name_prefix!r}"
            )
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,127}", self.stack_name):
            problems.append(
                f"{PREFIX}stackName is not a valid CloudFormation stack name: {self.stack_name!r}"
            )
        for key, name in (("tableName", self.table_name), ("ledgerTableName", self.ledger_table_name)):
            if not re.fullmatch(r"[A-Za-z0-9_.-]{3,255}", name):
                problems.append(f"{PREFIX}{key} is not a valid DynamoDB table name: {name!r}")
        if self.ledger_table_name == self.table_name:
            problems.append(f"{PREFIX}ledgerTableName must differ from {PREFIX}tableName")
        if self.alarm_email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", self.alarm_email):
            problems.append(f"{PREFIX}alarmEmail is not an e-mail address: {self.alarm_email!r}")
        if problems:
            raise ConfigError("invalid CDK context: " + "; ".join(problems))

    @property
    def daily_rollup_name(self) -> str:
        return state_machine_name(DAILY_ROLLUP, self.name_prefix)

    @property
    def backfill_name(self) -> str:
        return state_machine_name(BACKFILL, self.name_prefix)

    @property
    def ledger_sync_name(self) -> str:
        return state_machine_name(LEDGER_SYNC, self.name_prefix)

    @property
    def workgroup_name(self) -> str:
        return self.name_prefix

    @classmethod
    def from_context(cls, lookup: Callable[[str], Any]) -> DeploymentConfig:
        """Build from a context lookup (``node.try_get_context``): each key's value or None."""
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = lookup(PREFIX + _camel(spec.name))
            if raw is not None:
                values[spec.name] = _parse(spec.name, raw, str(spec.type))
        return cls(**values)

    @classmethod
    def check_keys(cls, context: Mapping[str, Any]) -> None:
        """Refuse ``meterpipe:`` keys this configuration does not know (typos)."""
        known = {PREFIX + _camel(spec.name) for spec in fields(cls)}
        unknown = sorted(key for key in context if key.startswith(PREFIX) and key not in known)
        if unknown:
            raise ConfigError(
                f"unknown CDK context key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )


def context_keys() -> dict[str, Any]:
    """Every context key with its default, as documented in the README and cdk.json."""
    defaults = DeploymentConfig()
    return {PREFIX + _camel(spec.name): getattr(defaults, spec.name) for spec in fields(DeploymentConfig)}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _parse(name: str, raw: Any, type_name: str) -> Any:
    key = PREFIX + _camel(name)
    if "int" in type_name:
        if raw in ("", "null", "none") and "None" in type_name:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise ConfigError(f"{key} must be a whole number, got {raw!r}")
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{key} must be a whole number, got {raw!r}") from None
    if "bool" in type_name:
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("true", "false"):
            return str(raw).lower() == "true"
        raise ConfigError(f"{key} must be true or false, got {raw!r}")
    if not isinstance(raw, str):
        raise ConfigError(f"{key} must be a string, got {raw!r}")
    return raw
