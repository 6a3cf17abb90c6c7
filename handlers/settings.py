"""The handlers' settings: environment variable names in one place, read at call time.

Every function takes an optional explicit value that wins over the environment (so tests and
local callers need not touch ``os.environ``), reads the variable only when called, and raises an
error naming the variable when a required one is missing or unusable.
"""

from __future__ import annotations

import os
from typing import Final

from handlers.errors import InvalidSettingError, MissingSettingError

# Set by the deployment (CDK on AWS, the local deploy on localcloud).
ROLLUP_TABLE_NAME_ENV: Final = "ROLLUP_TABLE_NAME"
# The per-day ledger (docs/ledger.md): write_batch checks there that its execution still owns the day.
LEDGER_TABLE_NAME_ENV: Final = "LEDGER_TABLE_NAME"
# Optional: how much of the Lambda's remaining time to keep unused (see time_reserve_ms).
TIME_RESERVE_MS_ENV: Final = "WRITE_BATCH_TIME_RESERVE_MS"
# Powertools' own variables; the deployment sets them, the defaults match it.
SERVICE_NAME_ENV: Final = "POWERTOOLS_SERVICE_NAME"
METRICS_NAMESPACE_ENV: Final = "POWERTOOLS_METRICS_NAMESPACE"

DEFAULT_SERVICE_NAME: Final = "meterpipe"
DEFAULT_METRICS_NAMESPACE: Final = "MeterPipe"
# Enough for one DynamoDB call in flight (the default client's timeouts) and the error's way back,
# so the handler fails with TimeBudgetExhaustedError instead of being killed by the Lambda timeout.
DEFAULT_TIME_RESERVE_MS: Final = 5_000


def rollup_table_name(explicit: str | None = None) -> str:
    """The DynamoDB table the rollups are written to."""
    return explicit or _required(ROLLUP_TABLE_NAME_ENV, "the name of the rollup DynamoDB table")


def ledger_table_name(explicit: str | None = None) -> str:
    """The DynamoDB table of the per-day ledger."""
    return explicit or _required(LEDGER_TABLE_NAME_ENV, "the name of the ledger DynamoDB table")


def _required(variable: str, purpose: str) -> str:
    value = os.environ.get(variable, "").strip()
    if not value:
        raise MissingSettingError(variable, purpose)
    return value


def time_reserve_ms(explicit: int | None = None) -> int:
    """Milliseconds of the Lambda's remaining time that no write or backoff may eat into."""
    if explicit is not None:
        return _non_negative(explicit, "time reserve")
    raw = os.environ.get(TIME_RESERVE_MS_ENV, "").strip()
    if not raw:
        return DEFAULT_TIME_RESERVE_MS
    try:
        value = int(raw)
    except ValueError:
        raise InvalidSettingError(
            f"environment variable {TIME_RESERVE_MS_ENV} must be a whole number of milliseconds, got {raw!r}"
        ) from None
    return _non_negative(value, TIME_RESERVE_MS_ENV)


def service_name(explicit: str | None = None) -> str:
    return explicit or os.environ.get(SERVICE_NAME_ENV) or DEFAULT_SERVICE_NAME


def metrics_namespace(explicit: str | None = None) -> str:
    return explicit or os.environ.get(METRICS_NAMESPACE_ENV) or DEFAULT_METRICS_NAMESPACE


def _non_negative(value: int, what: str) -> int:
    if value < 0:
        raise InvalidSettingError(f"{what} must be 0 or more milliseconds, got {value}")
    return value
