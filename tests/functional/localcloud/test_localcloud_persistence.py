"""State survives a graceful stop and start, and a SIGKILL (all but the last few seconds)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from endpoint_support import clients

from localcloud import control, launcher
from meterpipe.tables import GLUE_DATABASE, READINGS

pytestmark = pytest.mark.slow
ROLE = "arn:aws:iam::000000000000:role/localcloud-tests"


def package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'echo': event}\n")
    return buffer.getvalue()


def create_everything(client, suffix: str) -> None:  # type: ignore[no-untyped-def]
    client("s3").create_bucket(Bucket=f"persist-{suffix}")
    client("s3").put_object(Bucket=f"persist-{suffix}", Key="k.csv", Body=f"body {suffix}".encode())
    ddb = client("dynamodb")
    ddb.create_table(
        TableName=f"persist-{suffix}",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=f"persist-{suffix}", Item={"pk": {"S": "a"}, "kwh": {"N": "1.25"}})
    glue = client("glue")
    glue.create_database(DatabaseInput={"Name": f"{GLUE_DATABASE}_{suffix}"})
    glue.create_table(DatabaseName=f"{GLUE_DATABASE}_{suffix}", TableInput=READINGS.glue_table_input("lake"))
    client("lambda").create_function(
        FunctionName=f"persist-{suffix}", Runtime="python3.12", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": package()},
    )  # fmt: skip
    client("scheduler").create_schedule(
        Name=f"persist-{suffix}",
        ScheduleExpression="cron(0 4 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": f"arn:aws:lambda:us-east-1:000000000000:function:persist-{suffix}", "RoleArn": ROLE},
    )


def assert_everything(client, suffix: str) -> None:  # type: ignore[no-untyped-def]
    body = client("s3").get_object(Bucket=f"persist-{suffix}", Key="k.csv")["Body"].read()
    assert body == f"body {suffix}".encode()
    item = client("dynamodb").get_item(TableName=f"persist-{suffix}", Key={"pk": {"S": "a"}})["Item"]
    assert item["kwh"] == {"N": "1.25"}
    table = client("glue").get_table(DatabaseName=f"{GLUE_DATABASE}_{suffix}", Name=READINGS.name)["Table"]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["year", "month", "day"]
    response = client("lambda").invoke(FunctionName=f"persist-{suffix}", Payload=b'{"n": 1}')
    assert response["Payload"].read() == b'{"echo": {"n": 1}}'
    schedule = client("scheduler").get_schedule(Name=f"persist-{suffix}")
    assert schedule["ScheduleExpression"] == "cron(0 4 * * ? *)"


def test_state_survives_a_graceful_stop_and_a_sigkill(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = launcher.start(home, port=0)
    try:
        create_everything(clients(first.endpoint), "graceful")
        control.set_clock(first.endpoint, dt.datetime(2030, 5, 1, tzinfo=dt.UTC), frozen=True)
    finally:
        launcher.stop(home)

    second = launcher.start(home, port=0)
    client = clients(second.endpoint)
    assert control.health(second.endpoint)["previous_run"] == "clean"
    assert_everything(client, "graceful")
    assert control.get_clock(second.endpoint)["now"] == "2030-05-01T00:00:00Z"  # the clock is state too
    create_everything(client, "killed")
    control.checkpoint(second.endpoint)  # MiniStack's state made durable now; localcloud's own at each write
    launcher.stop(home, kill=True)
    assert launcher.status(home).stale_pid == second.pid  # the crash left its pid file behind

    third = launcher.start(home, port=0)
    try:
        client = clients(third.endpoint)
        assert control.health(third.endpoint)["previous_run"] == "crash"
        assert_everything(client, "graceful")
        assert_everything(client, "killed")
    finally:
        launcher.stop(home)
