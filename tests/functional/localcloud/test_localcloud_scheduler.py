"""localcloud's EventBridge Scheduler: the API through boto3, and firing on localcloud's clock."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from localcloud import control
from localcloud.launcher import RunningServer

ROLE = "arn:aws:iam::000000000000:role/localcloud-tests"
RECORDER = """
import json, boto3

def handler(event, context):
    key = f"{event['schedule']}/{event['time']}"
    boto3.client("s3").put_object(Bucket="scheduler-out", Key=key, Body=json.dumps(event).encode())
"""
TARGET_ARN = "arn:aws:lambda:us-east-1:000000000000:function:recorder"
INPUT = json.dumps(
    {
        "time": "<aws.scheduler.scheduled-time>",
        "execution": "<aws.scheduler.execution-id>",
        "attempt": "<aws.scheduler.attempt-number>",
        "arn": "<aws.scheduler.schedule-arn>",
        "schedule": "SCHEDULE",
    }
)


@pytest.fixture(scope="module")
def target(client, zip_package) -> None:
    client("s3").create_bucket(Bucket="scheduler-out")
    client("lambda").create_function(
        FunctionName="recorder",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_package({"app.py": RECORDER})},
    )


@pytest.fixture
def recorder(target, client) -> Iterator[None]:
    """The target, and no schedule left behind to fire in the next test's clock moves."""
    yield
    scheduler = client("scheduler")
    for schedule in scheduler.list_schedules()["Schedules"]:
        scheduler.delete_schedule(Name=schedule["Name"], GroupName=schedule["GroupName"])


def recorded(client, schedule: str, expected: int, timeout: float = 10.0) -> list[dict]:
    """What the target received (it is invoked asynchronously, as Scheduler does)."""
    s3 = client("s3")
    deadline = time.monotonic() + timeout
    while True:
        keys = [
            o["Key"]
            for o in s3.list_objects_v2(Bucket="scheduler-out", Prefix=f"{schedule}/").get("Contents", [])
        ]
        if len(keys) >= expected or time.monotonic() > deadline:
            return [
                json.loads(s3.get_object(Bucket="scheduler-out", Key=k)["Body"].read()) for k in sorted(keys)
            ]
        time.sleep(0.1)


def create(scheduler, name: str, expression: str, **extra) -> str:
    target = {"Arn": TARGET_ARN, "RoleArn": ROLE, "Input": INPUT.replace("SCHEDULE", name)}
    return scheduler.create_schedule(
        Name=name, ScheduleExpression=expression, FlexibleTimeWindow={"Mode": "OFF"}, Target=target, **extra
    )["ScheduleArn"]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_schedule_fires_once_when_the_clock_passes_its_time(
    server: RunningServer, client, recorder
) -> None:
    scheduler = client("scheduler")
    control.set_clock(server.endpoint, at("2031-03-01T03:29:00Z"), frozen=True)
    arn = create(scheduler, "daily", "cron(30 3 * * ? *)")
    assert control.advance_clock(server.endpoint, 30)["fired"] == []  # 03:29:30: not yet
    fired = control.advance_clock(server.endpoint, 45)["fired"]  # 03:30:15
    assert [(f["scheduledTime"], f["status"]) for f in fired] == [("2031-03-01T03:30:00Z", "SUCCEEDED")]
    assert control.advance_clock(server.endpoint, 60)["fired"] == []  # never twice for one due time
    events = recorded(client, "daily", 1)
    assert len(events) == 1
    assert events[0]["time"] == "2031-03-01T03:30:00Z"
    assert events[0]["attempt"] == "1"
    assert events[0]["arn"] == arn
    assert len(events[0]["execution"]) == 16 and events[0]["execution"] == fired[0]["executionId"]


def test_advancing_past_several_due_times_fires_each_once_in_the_schedules_zone(
    server, client, recorder
) -> None:
    scheduler = client("scheduler")
    control.set_clock(server.endpoint, at("2031-06-01T00:00:00Z"), frozen=True)
    create(scheduler, "berlin", "cron(0 9 * * ? *)", ScheduleExpressionTimezone="Europe/Berlin")
    fired = control.advance_clock(server.endpoint, 3 * 86400)["fired"]
    # 09:00 in Berlin in June (CEST, UTC+2) is 07:00 UTC.
    assert [f["scheduledTime"] for f in fired] == [
        "2031-06-01T07:00:00Z",
        "2031-06-02T07:00:00Z",
        "2031-06-03T07:00:00Z",
    ]
    assert [e["time"] for e in recorded(client, "berlin", 3)] == [f["scheduledTime"] for f in fired]


def test_a_one_time_schedule_deletes_itself_after_completion(server, client, recorder) -> None:
    scheduler = client("scheduler")
    control.set_clock(server.endpoint, at("2032-01-01T00:00:00Z"), frozen=True)
    create(scheduler, "once", "at(2032-01-01T12:00:00)", ActionAfterCompletion="DELETE")
    assert scheduler.get_schedule(Name="once")["ScheduleExpression"] == "at(2032-01-01T12:00:00)"
    fired = control.advance_clock(server.endpoint, 86400)["fired"]
    assert [f["scheduledTime"] for f in fired] == ["2032-01-01T12:00:00Z"]
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name="once")


def test_a_disabled_schedule_does_not_fire(server, client, recorder) -> None:
    scheduler = client("scheduler")
    control.set_clock(server.endpoint, at("2033-01-01T00:00:00Z"), frozen=True)
    create(scheduler, "off", "rate(1 hour)", State="DISABLED")
    assert control.advance_clock(server.endpoint, 5 * 3600)["fired"] == []


def test_every_scheduler_operation_accepts_the_aws_cli_request_shapes(server, client, recorder) -> None:
    scheduler = client("scheduler")
    control.set_clock(server.endpoint, at("2034-01-01T00:00:00Z"), frozen=True)
    group_arn = scheduler.create_schedule_group(Name="ops", Tags=[{"Key": "team", "Value": "meters"}])[
        "ScheduleGroupArn"
    ]
    assert group_arn == "arn:aws:scheduler:us-east-1:000000000000:schedule-group/ops"
    assert scheduler.get_schedule_group(Name="ops")["State"] == "ACTIVE"
    assert "ops" in [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]
    arn = create(
        scheduler,
        "shaped",
        "rate(5 minutes)",
        GroupName="ops",
        Description="every five minutes",
        StartDate=at("2034-02-01T00:00:00Z"),
        EndDate=at("2034-03-01T00:00:00Z"),
    )
    assert arn == "arn:aws:scheduler:us-east-1:000000000000:schedule/ops/shaped"
    got = scheduler.get_schedule(Name="shaped", GroupName="ops")
    assert got["StartDate"] == at("2034-02-01T00:00:00Z") and got["State"] == "ENABLED"
    scheduler.update_schedule(
        Name="shaped",
        GroupName="ops",
        ScheduleExpression="rate(10 minutes)",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5},
        Target={"Arn": TARGET_ARN, "RoleArn": ROLE},
        State="DISABLED",
    )
    updated = scheduler.get_schedule(Name="shaped", GroupName="ops")
    assert updated["ScheduleExpression"] == "rate(10 minutes)" and updated["State"] == "DISABLED"
    assert updated["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5}
    listed = scheduler.list_schedules(GroupName="ops", State="DISABLED")["Schedules"]
    assert [(s["Name"], s["Target"]["Arn"]) for s in listed] == [("shaped", TARGET_ARN)]
    scheduler.tag_resource(ResourceArn=group_arn, Tags=[{"Key": "env", "Value": "local"}])
    scheduler.untag_resource(ResourceArn=group_arn, TagKeys=["team"])
    assert scheduler.list_tags_for_resource(ResourceArn=group_arn)["Tags"] == [
        {"Key": "env", "Value": "local"}
    ]
    scheduler.delete_schedule(Name="shaped", GroupName="ops")
    scheduler.delete_schedule_group(Name="ops")
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule_group(Name="ops")


@pytest.mark.parametrize(
    ("expression", "timezone"),
    [
        ("cron(0 9 * * * *)", "UTC"),
        ("rate(0 minutes)", "UTC"),
        ("every day", "UTC"),
        ("rate(1 hour)", "Mars/Base"),
    ],
)
def test_invalid_expressions_and_zones_are_refused(client, recorder, expression, timezone) -> None:
    with pytest.raises(ClientError) as error:
        client("scheduler").create_schedule(
            Name="invalid",
            ScheduleExpression=expression,
            ScheduleExpressionTimezone=timezone,
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": TARGET_ARN, "RoleArn": ROLE},
        )
    assert error.value.response["Error"]["Code"] == "ValidationException"


def test_duplicates_conflict(client, recorder) -> None:
    scheduler = client("scheduler")
    create(scheduler, "dup", "rate(1 day)", State="DISABLED")
    with pytest.raises(scheduler.exceptions.ConflictException):
        create(scheduler, "dup", "rate(1 day)", State="DISABLED")


def test_a_rate_schedule_without_start_date_fires_at_once_then_every_period(server, client, recorder) -> None:
    control.set_clock(server.endpoint, at("2035-01-01T00:00:00Z"), frozen=True)
    create(client("scheduler"), "rate", "rate(10 minutes)")
    control.advance_clock(server.endpoint, 25 * 60)
    assert [e["time"] for e in recorded(client, "rate", 3)] == [
        "2035-01-01T00:00:00Z",
        "2035-01-01T00:10:00Z",
        "2035-01-01T00:20:00Z",
    ]


def test_a_failing_target_is_recorded_as_failed_with_the_reason(server, client, recorder) -> None:
    control.set_clock(server.endpoint, at("2036-01-01T00:00:00Z"), frozen=True)
    client("scheduler").create_schedule(
        Name="to-sfn",
        ScheduleExpression="at(2036-01-01T01:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:states:us-east-1:000000000000:stateMachine:daily",
            "RoleArn": ROLE,
            "Input": "{}",
        },
    )
    fired = control.advance_clock(server.endpoint, 3600)["fired"]
    assert [(f["status"], f["error"].split(":")[0]) for f in fired] == [
        ("FAILED", "StateMachineDoesNotExist")
    ]


def test_setting_the_clock_back_counts_due_times_again_from_the_new_time(server, client, recorder) -> None:
    control.set_clock(server.endpoint, at("2037-01-10T03:29:00Z"), frozen=True)
    create(client("scheduler"), "back", "cron(30 3 * * ? *)")
    fired = control.advance_clock(server.endpoint, 120)["fired"]
    assert [f["scheduledTime"] for f in fired] == ["2037-01-10T03:30:00Z"]
    # Back two days: the next due time is the first one after the new time, not 2037-01-11.
    assert control.set_clock(server.endpoint, at("2037-01-08T03:29:00Z"), frozen=True)["fired"] == []
    fired = control.advance_clock(server.endpoint, 120)["fired"]
    assert [f["scheduledTime"] for f in fired] == ["2037-01-08T03:30:00Z"]
    # Back to a due time itself: it is due at once, as when the clock is moved forward onto it.
    fired = control.set_clock(server.endpoint, at("2037-01-05T03:30:00Z"), frozen=True)["fired"]
    assert [f["scheduledTime"] for f in fired] == ["2037-01-05T03:30:00Z"]
    assert [e["time"] for e in recorded(client, "back", 3)] == [
        "2037-01-05T03:30:00Z",
        "2037-01-08T03:30:00Z",
        "2037-01-10T03:30:00Z",
    ]


def test_schedules_are_listed_in_pages_and_a_foreign_token_is_refused(server, client, recorder) -> None:
    scheduler = client("scheduler")
    for name in ("p1", "p2", "p3", "p4", "p5"):
        create(scheduler, name, "rate(1 day)", State="DISABLED")
    names, token, pages = [], None, 0
    while True:
        kwargs = {"MaxResults": 2, **({"NextToken": token} if token else {})}
        answer = scheduler.list_schedules(**kwargs)
        names += [s["Name"] for s in answer["Schedules"]]
        pages += 1
        token = answer.get("NextToken")
        if not token:
            break
    assert (names, pages) == (["p1", "p2", "p3", "p4", "p5"], 3)
    first = scheduler.list_schedules(MaxResults=2)["NextToken"]
    with pytest.raises(ClientError) as error:
        scheduler.list_schedule_groups(NextToken=first)
    assert error.value.response["Error"]["Code"] == "ValidationException"


def test_ministacks_scheduler_never_runs_and_a_schedule_fires_once_through_localcloud(
    server: RunningServer, client, recorder
) -> None:
    before = control.health(server.endpoint)["ministack_replaced"]
    assert before["firing_threads"] == []
    assert {"scheduler", "eventbridge"} <= set(before["replaced_modules"])
    control.set_clock(server.endpoint, at("2038-04-01T11:59:00Z"), frozen=True)
    arn = create(client("scheduler"), "held", "at(2038-04-01T12:00:00)")
    assert client("scheduler").get_schedule(Name="held")["Arn"] == arn  # localcloud holds it
    fired = control.advance_clock(server.endpoint, 120)["fired"]
    assert [(f["schedule"], f["scheduledTime"]) for f in fired] == [(arn, "2038-04-01T12:00:00Z")]
    assert control.advance_clock(server.endpoint, 86400)["fired"] == []
    # Time for a second invocation to show if anything else fired it: there is none.
    assert [e["time"] for e in recorded(client, "held", expected=2, timeout=2)] == ["2038-04-01T12:00:00Z"]
    assert control.health(server.endpoint)["ministack_replaced"] == before


def test_a_flexible_window_fires_once_at_its_start_as_off_fires_at_the_exact_time(
    server: RunningServer, client, recorder
) -> None:
    scheduler = client("scheduler")
    control.set_clock(server.endpoint, at("2039-02-01T06:00:00Z"), frozen=True)
    exact = create(scheduler, "exact", "cron(15 6 * * ? *)")
    flexible = scheduler.create_schedule(
        Name="flexible",
        ScheduleExpression="cron(15 6 * * ? *)",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10},
        Target={"Arn": TARGET_ARN, "RoleArn": ROLE, "Input": INPUT.replace("SCHEDULE", "flexible")},
    )["ScheduleArn"]
    assert control.advance_clock(server.endpoint, 15 * 60 - 1)["fired"] == []  # 06:14:59
    fired = control.advance_clock(server.endpoint, 1)["fired"]  # 06:15:00, the window's start
    assert sorted((f["schedule"], f["scheduledTime"]) for f in fired) == sorted(
        [(exact, "2039-02-01T06:15:00Z"), (flexible, "2039-02-01T06:15:00Z")]
    )
    assert control.advance_clock(server.endpoint, 10 * 60)["fired"] == []  # the rest of the window
    for name in ("exact", "flexible"):
        assert [e["time"] for e in recorded(client, name, 1)] == ["2039-02-01T06:15:00Z"]
