"""daily_rollup's JSONata around the ledger and the validation: the run's options and origin, the
input fingerprint (against meterpipe/ops/fingerprint.py), the validation's result, the causes,
and the ledger's Cause cut at a line boundary."""

from __future__ import annotations

import string
from typing import Any

import pytest
from asl_support import evaluate, evaluate_with_reference, reference_available, rendered, states_of
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.ledger_format import CAUSE_LIMIT
from meterpipe.ops.fingerprint import fingerprint_pages

# The rendered daily_rollup's states, for the property tests (a fixture is not reset per example).
DAILY = states_of(rendered()["daily_rollup"])
RUN = {"problem": None, "source": "date", "date": "2024-01-05", "year": "2024", "month": "01", "day": "05"}


def options(states: dict[str, dict[str, Any]], given: Any, name: str = "run-1") -> dict[str, Any]:
    result: dict[str, Any] = evaluate(
        states["ResolveOptions"]["Assign"]["run"],
        input=given,
        context={"Execution": {"Name": name}},
        variables={"run": RUN},
    )
    return result


def test_the_tolerance_and_completeness_come_from_the_input_else_the_deployment(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    default = options(daily_states, {"date": "2024-01-05"})
    assert (default["maxBadReadings"], default["minCompletenessPercent"]) == (0, 0)
    assert default["prefix"] == "iot_electricity_metering/year=2024/month=01/day=05/"
    given = options(daily_states, {"date": "2024-01-05", "maxBadReadings": 7, "minCompletenessPercent": 90.5})
    assert (given["maxBadReadings"], given["minCompletenessPercent"], given["problem"]) == (7, 90.5, None)


@pytest.mark.parametrize(
    ("name", "given", "origin"),
    [
        ("2024-01-05_run_20240106T101500_3fa9", {"date": "2024-01-05"}, "run"),
        ("2024-01-05_redrive_20240106T101500_3fa9", {"date": "2024-01-05"}, "redrive"),
        ("2024-01-05_bf_20240101-20240131_20240201T033006_a54d_r0", {"date": "2024-01-05"}, "backfill"),
        ("8f3f13b5-92c0-4f31-be32-1d4f34179e25", {"scheduled_time": "2024-01-06T03:30:00Z"}, "schedule"),
        ("by-hand", {"date": "2024-01-05"}, "other"),
    ],
)
def test_the_origin_of_a_run_comes_from_its_name_and_input_as_meterpipe_names_runs(
    daily_states: dict[str, dict[str, Any]], name: str, given: Any, origin: str
) -> None:
    assert options(daily_states, given, name)["origin"] == origin


# -- the input fingerprint --------------------------------------------------------------------

KEY_PART = st.text(alphabet=string.ascii_lowercase + string.digits + "-_.=", min_size=1, max_size=6)


@st.composite
def listing(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A day's objects as ListObjectsV2 gives them, in key order: data files, and the hidden
    files, ``_`` files and folder markers Athena skips."""
    prefix = "iot_electricity_metering/year=2024/month=01/day=05/"
    names = draw(st.lists(st.lists(KEY_PART, min_size=1, max_size=2).map("/".join), max_size=8, unique=True))
    keys = sorted({prefix + name for name in names} | set(draw(st.sampled_from([[], [prefix]]))))
    return [
        {
            "Key": key,
            "Size": draw(st.integers(0, 10**9)),
            "ETag": '"' + draw(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)) + '"',
        }
        for key in keys
    ]


def paged(objects: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [objects[i : i + size] for i in range(0, len(objects), size)] or [[]]


def state_machine_fingerprint(states: dict[str, dict[str, Any]], pages: list[list[dict[str, Any]]]) -> Any:
    """ListDayObjects' Assign, page after page, from ResolveOptions' empty listing."""
    listing_value = evaluate(states["ResolveOptions"]["Assign"]["listing"])
    for number, page in enumerate(pages):
        last = number == len(pages) - 1
        result = {"IsTruncated": not last, **({"Contents": page} if page else {})}
        if not last:
            result["NextContinuationToken"] = f"token-{number}"
        listing_value = evaluate(
            states["ListDayObjects"]["Assign"]["listing"], result=result, variables={"listing": listing_value}
        )
        assert listing_value["token"] == (None if last else f"token-{number}")
    return listing_value


@settings(max_examples=60, deadline=None)
@given(objects=listing(), page_size=st.integers(1, 4))
def test_the_state_machines_fingerprint_is_the_python_one_whatever_the_paging(
    objects: list[dict[str, Any]], page_size: int
) -> None:
    found = state_machine_fingerprint(DAILY, paged(objects, page_size))
    python = fingerprint_pages(paged(objects, 1000))
    assert (found["fingerprint"], found["objects"], found["bytes"]) == (
        python.value,
        python.objects,
        python.bytes,
    )


@settings(max_examples=80, deadline=None)
@given(first=listing(), second=listing(), page_size=st.integers(1, 4))
def test_the_fingerprint_changes_if_and_only_if_the_days_data_objects_change(
    first: list[dict[str, Any]], second: list[dict[str, Any]], page_size: int
) -> None:
    def data(objects: list[dict[str, Any]]) -> set[tuple[str, int, str]]:
        return {
            (o["Key"], o["Size"], o["ETag"])
            for o in objects
            if not o["Key"].endswith("/") and not o["Key"].rsplit("/", 1)[-1].startswith(("_", "."))
        }

    same = fingerprint_pages(paged(first, page_size)) == fingerprint_pages(paged(second, 3))
    assert same == (data(first) == data(second))


def test_a_rewritten_object_of_the_same_size_changes_the_fingerprint() -> None:
    before = [{"Key": "a/readings.csv", "Size": 10, "ETag": '"aaaa"'}]
    after = [{"Key": "a/readings.csv", "Size": 10, "ETag": '"bbbb"'}]
    assert fingerprint_pages([before]) != fingerprint_pages([after])
    assert (
        fingerprint_pages([[]]).value
        == "sha256:" + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.skipif(
    not reference_available(), reason="the JSONata reference implementation comes with `make setup`"
)
def test_the_reference_jsonata_implementation_computes_the_same_fingerprint(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    objects = [
        {"Key": "d/_SUCCESS", "Size": 0, "ETag": '"00"'},
        {"Key": "d/a.csv", "Size": 120, "ETag": '"9b2cf535f27731c974343645a3985328"'},
        {"Key": "d/b.csv", "Size": 7, "ETag": '"c4ca4238a0b923820dcc509a6f75849b"'},
    ]
    start = evaluate(daily_states["ResolveOptions"]["Assign"]["listing"])
    expression = daily_states["ListDayObjects"]["Assign"]["listing"]
    [reference] = evaluate_with_reference(
        expression,
        [{"states": {"result": {"IsTruncated": False, "Contents": objects}}, "listing": start}],
    )
    assert reference["value"]["fingerprint"] == fingerprint_pages([objects]).value


# -- the validation ---------------------------------------------------------------------------


def query_results(rows: list[list[str | None]]) -> dict[str, Any]:
    """GetQueryResults of the validation query: the header row, then the rows (NULL: no VarCharValue)."""
    header = ["kind", "n", "object_key", "line", "rule", "value", "problem"]
    return {
        "ResultSet": {
            "Rows": [
                {"Data": [{"VarCharValue": h} for h in header]},
                *({"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows),
            ]
        }
    }


COUNTS = [
    ["readings", "96", None, None, None, None, None],
    ["bad_readings", "2", None, None, None, None, None],
    ["month_bad_readings", "1", None, None, None, None, None],
    ["sensors_reporting", "3", None, None, None, None, None],
    ["sensors_known", "4", None, None, None, None, None],
    ["bad_customers", "0", None, None, None, None, None],
]
KEY = "iot_electricity_metering/year=2024/month=01/day=05/readings.csv"
BAD = [
    [
        "bad_reading",
        None,
        KEY,
        "51246501,240,10,60,abc,05",
        "kwh",
        "abc",
        "kWh 'abc' is not a non-negative decimal",
    ],
    ["bad_reading", None, KEY, "51246501,240,10,60,0.5,24", "hour", "24", "HourCollected '24' is not 00..23"],
]


def checked(states: dict[str, dict[str, Any]], rows: list[list[str | None]]) -> dict[str, Any]:
    result: dict[str, Any] = evaluate(
        states["ReadValidation"]["Assign"]["checked"], result=query_results(rows)
    )
    return result


def test_the_validations_rows_become_its_counts_and_listed_lines(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    found = checked(daily_states, COUNTS + BAD)
    assert {k: v for k, v in found.items() if not k.endswith("Lines")} == {
        "readings": 96,
        "badReadings": 2,
        "monthBadReadings": 1,
        "sensorsReporting": 3,
        "sensorsKnown": 4,
        "readingsExpected": 96,  # 4 sensors x 24
        "badCustomers": 0,
    }
    assert [line["rule"] for line in found["badLines"]] == ["kwh", "hour"]
    assert found["badCustomerLines"] == []
    one = checked(daily_states, COUNTS + BAD[:1])
    assert [line["value"] for line in one["badLines"]] == ["abc"]  # a list even of one


def judge(states: dict[str, dict[str, Any]], found: dict[str, Any], run: dict[str, Any]) -> tuple[str, Any]:
    """The JudgeReadings rule that matches, and the failure it assigns."""
    for rule in states["JudgeReadings"]["Choices"]:
        variables = {"checked": found, "run": run, "listing": {"objects": 1, "bytes": 53}}
        if evaluate(rule["Condition"], variables=variables):
            return rule["Next"], evaluate(rule["Assign"]["failure"], variables=variables)
    return states["JudgeReadings"]["Default"], None


def test_more_bad_readings_than_tolerated_fail_naming_each_listed_line(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    run = {**RUN, "maxBadReadings": 1, "minCompletenessPercent": 0}
    step, failure = judge(daily_states, checked(daily_states, COUNTS + BAD), run)
    assert step == "CutCause"
    assert failure == {
        "status": "FAILED",
        "error": "MeterPipe.BadReadings",
        "cause": "2 bad reading(s) of 96 on 2024-01-05, more than the 1 tolerated (maxBadReadings); "
        "nothing written. The first 2:\n"
        f"{KEY}: \"51246501,240,10,60,abc,05\": kWh 'abc' is not a non-negative decimal (kwh)\n"
        f"{KEY}: \"51246501,240,10,60,0.5,24\": HourCollected '24' is not 00..23 (hour)",
    }
    assert judge(daily_states, checked(daily_states, COUNTS + BAD), {**run, "maxBadReadings": 2})[0] == (
        "RecordValidation"
    )


def test_no_reading_lines_end_no_data_before_anything_else(daily_states: dict[str, dict[str, Any]]) -> None:
    rows = [["readings", "0", None, None, None, None, None], *COUNTS[1:]]
    run = {**RUN, "maxBadReadings": 0, "minCompletenessPercent": 0, "prefix": "p/"}
    step, failure = judge(daily_states, checked(daily_states, rows), run)
    assert (step, failure["status"], failure["error"]) == ("CutCause", "NO_DATA", "MeterPipe.NoReadings")


def test_completeness_below_the_threshold_fails_only_when_a_threshold_is_set(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    found = checked(daily_states, COUNTS)  # 96 readings of 96 expected, 2 of them bad: 97.9%
    assert (
        judge(daily_states, found, {**RUN, "maxBadReadings": 5, "minCompletenessPercent": 0})[0]
        == "RecordValidation"
    )
    assert (
        judge(daily_states, found, {**RUN, "maxBadReadings": 5, "minCompletenessPercent": 97.9})[0]
        == "RecordValidation"
    )
    step, failure = judge(daily_states, found, {**RUN, "maxBadReadings": 5, "minCompletenessPercent": 98})
    assert (step, failure["error"]) == ("CutCause", "MeterPipe.IncompleteReadings")
    assert (
        "94 valid reading(s) on 2024-01-05 from 3 of 4 sensors: 97.9% of the 96 expected" in failure["cause"]
    )


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(st.text(alphabet=string.ascii_letters + " :/\"'", max_size=1500), min_size=1, max_size=40)
)
def test_the_ledgers_cause_keeps_whole_lines_within_its_limit(lines: list[str]) -> None:
    cause = "\n".join(lines)
    cut = evaluate(DAILY["CutCause"]["Assign"]["failure"], variables={"failure": {"cause": cause}})[
        "ledgerCause"
    ]
    assert len(cut) <= CAUSE_LIMIT
    if len(cause) <= CAUSE_LIMIT - 40:
        assert cut == cause
    else:
        kept, _, note = cut.rpartition("\n") if "\n(+" in cut else ("", "", cut)
        dropped = int(note.removeprefix("(+").removesuffix(" more lines)"))
        kept_lines = kept.split("\n") if kept else []
        assert kept_lines == lines[: len(kept_lines)]  # whole lines, in order, none cut
        assert len(kept_lines) + dropped == len(lines)


SYNC = states_of(rendered()["ledger_sync"])
LONG_LINE = "Athena: " + ", ".join(f"column_{n} AS value_{n}" for n in range(400))  # 10,000+ characters


def _cut_by_both_machines(cause: str) -> list[str]:
    """The ledger's cause as daily_rollup (its own failures) and ledger_sync (every other end) cut it."""
    daily = evaluate(DAILY["CutCause"]["Assign"]["failure"], variables={"failure": {"cause": cause}})
    end = {"status": "FAILED", "error": "States.TaskFailed", "cause": cause}
    sync = evaluate(SYNC["DescribeTheEnd"]["Assign"]["end"], variables={"event": end, "writes": False})
    return [daily["ledgerCause"], sync["cause"]]


@pytest.mark.parametrize("rest", [[], ["second line", "third line"]])
def test_a_first_line_over_the_limit_is_kept_up_to_a_word_never_cut_mid_name(rest: list[str]) -> None:
    for cut in _cut_by_both_machines("\n".join([LONG_LINE, *rest])):
        first, _, note = cut.partition("\n")
        assert len(cut) <= CAUSE_LIMIT and first.endswith(" …")
        kept = first.removesuffix(" …")
        assert LONG_LINE.startswith(kept) and LONG_LINE[len(kept)] in " ,;" and len(kept) > CAUSE_LIMIT - 200
        assert note == (f"(+{len(rest)} more lines)" if rest else "")


def ledger_writes(states: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every write of a machine's states: each transaction's items and each single updateItem."""
    transactions = [
        item[kind]
        for state in states.values()
        if state.get("Resource") == "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems"
        for item in state["Arguments"]["TransactItems"]
        for kind in item
    ]
    updates = [
        s["Arguments"] for s in states.values() if s.get("Resource") == "arn:aws:states:::dynamodb:updateItem"
    ]
    return transactions + updates


@pytest.mark.parametrize(("machine", "count"), [("daily_rollup", 15), ("ledger_sync", 7)])
def test_the_claim_and_every_record_write_name_only_the_attributes_they_use(machine: str, count: int) -> None:
    # DynamoDB refuses an expression attribute name or value that the expressions do not use.
    writes = ledger_writes({"daily_rollup": DAILY, "ledger_sync": SYNC}[machine])
    assert len(writes) == count
    for write in writes:
        expressions = " ".join(write.get(k, "") for k in ("UpdateExpression", "ConditionExpression"))
        assert all(name in expressions for name in write.get("ExpressionAttributeNames", {}))
        assert all(value in expressions for value in write.get("ExpressionAttributeValues", {}))


# -- ledger_sync: every attempt record ends, whatever the order of the events -----------------------

ARN = "arn:aws:states:us-east-1:000000000000:execution:meterpipe-daily-rollup:2024-01-05_run"


def next_state(name: str, variables: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The state a Choice of ledger_sync goes to, and what the taken rule assigns."""
    choice = SYNC[name]
    for rule in choice["Choices"]:
        if evaluate(rule["Condition"], variables=variables) is True:
            assigned = {
                k: evaluate(v, variables=variables) if isinstance(v, str) else v
                for k, v in rule.get("Assign", {}).items()
            }
            return rule["Next"], assigned
    return choice["Default"], {}


def event(status: str, redrives: int) -> dict[str, Any]:
    return {"executionArn": ARN, "status": status, "redriveCount": redrives}


def day(status: str, redrives: int, owner: str = ARN, writes: bool = False) -> dict[str, Any]:
    return {"execution": owner, "status": status, "redrives": redrives, "writes": writes}


@pytest.mark.parametrize(
    ("the_day", "the_event", "goes_to"),
    [
        (day("RUNNING", 0), event("FAILED", 0), "DescribeTheEnd"),  # in order: the day's end
        (day("RUNNING", 0), event("FAILED", 1), "DescribeTheEnd"),  # a redrive's end before its start
        (day("RUNNING", 1), event("FAILED", 0), "ReadAttemptRecord"),  # the redrive went first
        (day("SUCCEEDED", 1), event("ABORTED", 0), "ReadAttemptRecord"),  # daily_rollup's redrive went first
        (
            day("FAILED", 0),
            event("FAILED", 0),
            "ReadAttemptRecord",
        ),  # recorded already (repeat, or daily_rollup)
        (
            day("RUNNING", 0, owner=ARN + "-later"),
            event("TIMED_OUT", 0),
            "ReadAttemptRecord",
        ),  # claimed since
        (day("FAILED", 0), event("RUNNING", 1), "RecordRedrive"),
        (day("RUNNING", 1), event("RUNNING", 1), "NothingToRecord"),  # recorded by daily_rollup already
        (day("FAILED", 0, owner=ARN + "-later"), event("RUNNING", 1), "NothingToRecord"),
    ],
)
def test_an_end_the_day_has_moved_past_goes_to_its_own_attempt_record_never_to_the_day(
    the_day: dict[str, Any], the_event: dict[str, Any], goes_to: str
) -> None:
    variables = {"day": the_day, "event": the_event}
    state, assigned = next_state("WhatToRecord", variables)
    if state == "NewAttemptAlreadyRecorded":
        state, assigned = next_state(state, variables)
    assert state == goes_to
    if goes_to == "DescribeTheEnd":
        assert assigned == {"writes": the_day["writes"], "closeOnly": False}


def attempt_item(
    status: str = "RUNNING", redrives: int = 0, owner: str = ARN, writes: bool = True
) -> dict[str, Any]:
    return {
        "Status": {"S": status},
        "Execution": {"S": owner},
        "RedriveCount": {"N": str(redrives)},
        "WritesStarted": {"BOOL": writes},
    }


@pytest.mark.parametrize(
    ("item", "still_open"),
    [
        (attempt_item(), True),
        (attempt_item(writes=False), True),
        (attempt_item("INCOMPLETE"), False),  # ended already: a repeated event changes nothing
        (attempt_item("SUCCEEDED"), False),
        (attempt_item(redrives=1), False),  # another redrive's record
        (attempt_item(owner=ARN + "-later"), False),
        (None, False),
    ],
)
def test_only_a_running_attempt_of_the_events_own_execution_and_redrive_is_closed(
    item: dict[str, Any] | None, still_open: bool
) -> None:
    read = SYNC["ReadAttemptRecord"]
    result = {} if item is None else {"Item": item}
    variables = {"event": event("FAILED", 0)}
    assert evaluate(read["Assign"]["open"], result=result, variables=variables) is still_open
    assert evaluate(read["Assign"]["writes"], result=result, variables=variables) is bool(
        item and item["WritesStarted"]["BOOL"]
    )
    assert read["Assign"]["closeOnly"] is True
    assert next_state("AttemptStillOpen", {"open": still_open})[0] == (
        "DescribeTheEnd" if still_open else "NothingToRecord"
    )


@pytest.mark.parametrize(
    ("status", "writes", "recorded"),
    [
        ("FAILED", True, "INCOMPLETE"),
        ("TIMED_OUT", False, "FAILED"),
        ("FAILED", False, "FAILED"),
        ("ABORTED", True, "ABORTED"),
    ],
)
def test_a_closed_attempt_ends_by_its_own_writes_and_goes_to_its_record_alone(
    status: str, writes: bool, recorded: str
) -> None:
    end = evaluate(
        SYNC["DescribeTheEnd"]["Assign"]["end"],
        variables={"event": {**event(status, 0), "stopDate": 1_704_425_406_123}, "writes": writes},
    )
    assert (end["status"], end["at"]) == (recorded, "2024-01-05T03:30:06.123Z")
    assert next_state("WhichRecords", {"closeOnly": True})[0] == "CloseAttempt"
    assert next_state("WhichRecords", {"closeOnly": False})[0] == "RecordEnd"


def test_closing_an_attempt_is_conditional_on_it_running_for_this_execution_and_redrive() -> None:
    close = SYNC["CloseAttempt"]["Arguments"]
    assert close["Key"]["Pipeline"] == {"S": "daily_rollup#attempts"}
    assert close["ConditionExpression"] == "#status = :running AND #execution = :me AND #redrives = :rc"
    names, values = close["ExpressionAttributeNames"], close["ExpressionAttributeValues"]
    assert (names["#status"], names["#execution"], names["#redrives"]) == (
        "Status",
        "Execution",
        "RedriveCount",
    )
    assert values[":running"] == {"S": "RUNNING"}
    assert SYNC["CloseAttempt"]["Catch"][0]["ErrorEquals"] == ["DynamoDB.ConditionalCheckFailedException"]
    # A day that moved on between the read and RecordEnd's write: the attempt's own record still ends.
    assert SYNC["RecordEnd"]["Catch"][0]["Next"] == "ReadAttemptRecord"
