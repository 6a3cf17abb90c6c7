from __future__ import annotations

import pytest

from handlers import settings
from handlers.errors import InvalidSettingError, MissingSettingError


def test_the_table_name_comes_from_the_environment_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLLUP_TABLE_NAME", "first")
    assert settings.rollup_table_name() == "first"
    monkeypatch.setenv("ROLLUP_TABLE_NAME", "second")
    assert settings.rollup_table_name() == "second"


def test_an_explicit_table_name_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLLUP_TABLE_NAME", "from-env")
    assert settings.rollup_table_name("explicit") == "explicit"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_an_unset_table_name_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("ROLLUP_TABLE_NAME", raising=False)
    else:
        monkeypatch.setenv("ROLLUP_TABLE_NAME", value)
    with pytest.raises(MissingSettingError) as caught:
        settings.rollup_table_name()
    assert str(caught.value) == (
        "environment variable ROLLUP_TABLE_NAME is not set: "
        "it must hold the name of the rollup DynamoDB table"
    )
    assert caught.value.variable == "ROLLUP_TABLE_NAME"


def test_the_time_reserve_defaults_to_five_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WRITE_BATCH_TIME_RESERVE_MS", raising=False)
    assert settings.time_reserve_ms() == 5000


def test_the_time_reserve_is_read_from_the_environment_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRITE_BATCH_TIME_RESERVE_MS", "1500")
    assert settings.time_reserve_ms() == 1500
    assert settings.time_reserve_ms(0) == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "soon",
            "environment variable WRITE_BATCH_TIME_RESERVE_MS must be a whole number of milliseconds, "
            "got 'soon'",
        ),
        ("-1", "WRITE_BATCH_TIME_RESERVE_MS must be 0 or more milliseconds, got -1"),
    ],
)
def test_an_unusable_time_reserve_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str, message: str
) -> None:
    monkeypatch.setenv("WRITE_BATCH_TIME_RESERVE_MS", raw)
    with pytest.raises(InvalidSettingError) as caught:
        settings.time_reserve_ms()
    assert str(caught.value) == message


def test_powertools_names_default_to_the_deployments_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    assert (settings.service_name(), settings.metrics_namespace()) == ("meterpipe", "MeterPipe")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Other")
    assert settings.metrics_namespace() == "Other"
    assert settings.metrics_namespace("Explicit") == "Explicit"


def test_the_ledger_table_name_comes_from_the_environment_and_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEDGER_TABLE_NAME", "Ledger")
    assert settings.ledger_table_name() == "Ledger"
    assert settings.ledger_table_name("explicit") == "explicit"
    monkeypatch.delenv("LEDGER_TABLE_NAME")
    with pytest.raises(
        MissingSettingError, match="LEDGER_TABLE_NAME is not set: it must hold the name of the ledger"
    ):
        settings.ledger_table_name()
