"""Deploy-time settings come from the deployment: a stack's outputs (``--target aws``, DescribeStacks
answered by the fake) or the record ``meterpipe local up`` writes in the same form, never from the
checkout's cdk.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meterpipe.aws import Target
from meterpipe.local import record
from meterpipe.ops.pipeline import Deployment, NotDeployed, connect
from tests.unit.cli.conftest import Invoke, one_error_line
from tests.unit.cli.fake_cloudformation import STATES, FakeCloudFormation, stack_outputs

AWS = ("--target", "aws", "--region", "eu-west-1")


def test_a_stack_deployed_with_limit_10_refuses_concurrency_40_before_anything_runs(
    aws: None, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeCloudFormation({"MeterPipe": stack_outputs(BackfillMaxConcurrencyLimit="10")}).install(monkeypatch)

    result = invoke("backfill", "--from", "2024-01-01", "--to", "2024-01-31", "--concurrency", "40", *AWS)

    # Refused before planning: planning reads the ledger table, which does not exist in moto.
    assert result.exit_code == 1
    assert one_error_line(result) == (
        "error: --concurrency must be from 1 to 10: stack MeterPipe was deployed with "
        "backfillMaxConcurrencyLimit 10"
    )


def test_redrive_checks_the_concurrency_against_the_stacks_limit_too(
    aws: None, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeCloudFormation({"MeterPipe": stack_outputs(BackfillMaxConcurrencyLimit="10")}).install(monkeypatch)

    result = invoke("redrive", "--failed", "--concurrency", "11", *AWS)

    assert one_error_line(result).startswith("error: --concurrency must be from 1 to 10: stack MeterPipe")


def test_the_time_zone_limits_and_tolerances_are_the_stacks_outputs(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = stack_outputs(
        TimeZone="Europe/London",
        BackfillMaxConcurrency="2",
        BackfillMaxConcurrencyLimit="10",
        MaxBadReadings="5",
        MaxKwhPerReading="250",
        ReadingsPerSensorPerDay="96",
        MinCompletenessPercent="97.5",
        ScheduleName="Nightly",
    )
    FakeCloudFormation({"Pipes": outputs}).install(monkeypatch)

    pipeline = connect(Target.aws(region="eu-west-1", stack="Pipes"))

    assert pipeline.deployment == Deployment(
        lake_bucket="lake",
        results_bucket="results",
        rollup_table="ElectricityMeteredByPeriod",
        ledger_table="MeterPipeLedger",
        daily_rollup_arn=STATES + "meterpipe-daily-rollup",
        backfill_arn=STATES + "meterpipe-backfill",
        schedule_name="Nightly",
        schedule_group="default",
        timezone="Europe/London",
        backfill_max_concurrency=2,
        backfill_max_concurrency_limit=10,
        max_bad_readings=5,
        max_kwh_per_reading=250,
        readings_per_sensor_per_day=96,
        min_completeness_percent=97.5,
        stack_name="Pipes",
    )
    assert str(pipeline.timezone) == "Europe/London"


def test_an_unreadable_output_is_named(aws: None, invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = stack_outputs(TimeZone="Mars/Olympus", BackfillMaxConcurrencyLimit="many")
    FakeCloudFormation({"MeterPipe": outputs}).install(monkeypatch)

    result = invoke("calendar", *AWS)

    assert one_error_line(result) == (
        "error: stack 'MeterPipe' has unreadable output(s): BackfillMaxConcurrencyLimit is not a number: "
        "'many'; TimeZone is not an IANA time zone name: 'Mars/Olympus'"
    )


def test_the_local_record_is_the_stacks_outputs_form_and_reads_back_the_same(tmp_path: Path) -> None:
    deployed = Deployment.from_outputs(stack_outputs(TimeZone="America/New_York"), where="test")

    assert record.write(tmp_path, deployed) == "created"
    assert record.write(tmp_path, deployed) == "unchanged"

    document = json.loads((tmp_path / "deployment.json").read_text(encoding="utf-8"))
    assert {o["OutputKey"]: o["OutputValue"] for o in document["Outputs"]} == stack_outputs(
        TimeZone="America/New_York"
    )
    assert record.read(tmp_path) == deployed


def test_a_home_without_a_record_says_how_to_deploy(tmp_path: Path) -> None:
    with pytest.raises(NotDeployed, match=r"nothing is deployed to the localcloud of .*meterpipe local up"):
        record.read(tmp_path)
