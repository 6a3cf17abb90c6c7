"""Faults: what may be set, the status each error gets, and which calls a fault answers."""

from __future__ import annotations

import json
import random

import pytest

from localcloud.faults import Faults, FaultSpecError, UnknownFault
from localcloud.faults.model import error_code_and_status
from localcloud.faults.respond import merge_unprocessed, split_batch


@pytest.mark.parametrize(
    ("service", "code", "wire", "status"),
    [
        ("dynamodb", "ProvisionedThroughputExceededException", "ProvisionedThroughputExceededException", 400),
        ("dynamodb", "ThrottlingException", "ThrottlingException", 400),
        ("dynamodb", "InternalServerError", "InternalServerError", 500),
        ("lambda", "ServiceException", "ServiceException", 500),
        ("lambda", "TooManyRequestsException", "TooManyRequestsException", 429),
        ("lambda", "ResourceNotFoundException", "ResourceNotFoundException", 404),
        ("s3", "SlowDown", "SlowDown", 503),
        ("s3", "NoSuchKey", "NoSuchKey", 404),
        ("s3", "InternalError", "InternalError", 500),
        ("athena", "TooManyRequestsException", "TooManyRequestsException", 400),
        ("athena", "InternalServerException", "InternalServerException", 500),
        ("iam", "NoSuchEntityException", "NoSuchEntity", 404),
        ("states", "ExecutionLimitExceeded", "ExecutionLimitExceeded", 400),
    ],
)
def test_each_error_gets_awss_status_in_its_service(service, code, wire, status) -> None:
    assert error_code_and_status(service, code) == (wire, status)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"service": "sqs", "operation": "SendMessage", "error": "X"}, "service must be one of"),
        (
            {"service": "dynamodb", "operation": "BatchWriteItems", "error": "X"},
            "did you mean BatchWriteItem?",
        ),
        ({"service": "dynamodb", "operation": "PutItem"}, "a fault needs an effect"),
        ({"service": "dynamodb", "operation": "PutItem", "unprocessed": 0.5}, "BatchWriteItem only"),
        ({"service": "dynamodb", "operation": "BatchWriteItem", "unprocessed": 1.5}, "at most 1"),
        ({"service": "lambda", "operation": "Invoke", "error": "Bad Code!"}, "error must be an error code"),
        ({"service": "lambda", "operation": "Invoke", "delay": 901}, "delay is seconds"),
        ({"service": "lambda", "operation": "Invoke", "delay": 1, "probability": 0}, "probability"),
        ({"service": "lambda", "operation": "Invoke", "delay": 1, "count": 0}, "count is at least 1"),
        ({"service": "lambda", "operation": "Invoke", "delay": 1, "count": 1.5}, "count must be an integer"),
        ({"service": "lambda", "operation": "Invoke", "delay": 1, "when": "now"}, "unknown field(s): when"),
    ],
)
def test_a_fault_that_cannot_be_set_says_why(spec, message) -> None:
    with pytest.raises(
        FaultSpecError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")
    ):
        Faults().add(spec)


def test_a_fault_without_count_or_probability_applies_until_cleared() -> None:
    faults = Faults()
    fault = faults.add({"service": "lambda", "operation": "Invoke", "error": "ServiceException"})
    for _ in range(5):
        assert faults.decide("lambda", "Invoke").error is fault
    assert faults.decide("lambda", "GetFunction").empty
    assert faults.decide("dynamodb", "Invoke").empty
    assert [f.id for f in faults.clear(fault.id)] == [fault.id]
    assert faults.decide("lambda", "Invoke").empty
    with pytest.raises(UnknownFault):
        faults.clear(fault.id)


def test_a_counted_fault_applies_to_the_next_n_calls_then_is_spent() -> None:
    faults = Faults()
    fault = faults.add(
        {"service": "dynamodb", "operation": "BatchWriteItem", "error": "ThrottlingException", "count": 2}
    )
    decisions = [faults.decide("dynamodb", "BatchWriteItem") for _ in range(4)]
    assert [d.error is fault for d in decisions] == [True, True, False, False]
    assert fault.spent and fault.hits == 2
    assert fault.to_json()["description"].endswith("every call, spent")


def test_targets_says_whether_a_call_may_still_meet_a_fault() -> None:
    faults = Faults()
    assert not faults.targets("s3", "GetObject")
    faults.add({"service": "s3", "operation": "GetObject", "error": "InternalError", "count": 1})
    assert (faults.targets("s3", "GetObject"), faults.targets("s3", "PutObject")) == (True, False)
    faults.decide("s3", "GetObject")  # the one call it answers
    assert not faults.targets("s3", "GetObject")


def test_a_probable_fault_applies_to_about_that_share_of_calls() -> None:
    faults = Faults(rng=random.Random(7))
    faults.add({"service": "s3", "operation": "GetObject", "error": "SlowDown", "probability": 0.25})
    hits = sum(faults.decide("s3", "GetObject").error is not None for _ in range(2000))
    assert 400 <= hits <= 600


def test_delays_add_up_and_an_error_ends_the_call() -> None:
    faults = Faults()
    slow = faults.add({"service": "athena", "operation": "StartQueryExecution", "delay": 1.5})
    failing = faults.add(
        {"service": "athena", "operation": "StartQueryExecution", "error": "InternalServerException"}
    )
    later = faults.add({"service": "athena", "operation": "StartQueryExecution", "delay": 2, "count": 1})
    decision = faults.decide("athena", "StartQueryExecution")
    assert decision.delay == 1.5 and decision.error is failing
    assert decision.fired == (slow.id, failing.id)
    assert later.hits == 0  # never reached


def test_an_internal_clients_retry_of_a_faulted_call_gets_the_same_answer_uncounted() -> None:
    faults = Faults()
    fault = faults.add({"service": "lambda", "operation": "Invoke", "error": "ServiceException", "count": 1})
    first = faults.decide("lambda", "Invoke", call_id="call-1")
    retried = faults.decide("lambda", "Invoke", call_id="call-1", retry=True)
    assert first.error is fault and retried.error is fault and fault.hits == 1
    assert faults.decide("lambda", "Invoke", call_id="call-2").empty


def _batch(n: int) -> bytes:
    return json.dumps(
        {"RequestItems": {"t": [{"PutRequest": {"Item": {"k": {"S": str(i)}}}} for i in range(n)]}}
    ).encode()


def test_unprocessed_holds_back_the_last_share_of_a_batch() -> None:
    split = split_batch(_batch(25), 0.5)
    assert split is not None
    kept, held = split
    kept_keys = [r["PutRequest"]["Item"]["k"]["S"] for r in json.loads(kept)["RequestItems"]["t"]]
    held_keys = [r["PutRequest"]["Item"]["k"]["S"] for r in held["t"]]
    assert kept_keys == [str(i) for i in range(13)] and held_keys == [str(i) for i in range(13, 25)]
    merged = json.loads(merge_unprocessed(b'{"UnprocessedItems": {}}', held))
    assert len(merged["UnprocessedItems"]["t"]) == 12
    assert split_batch(_batch(1), 0.5) is not None  # floor(0.5): a single item goes through
    assert split_batch(_batch(4), 1.0) is None  # all held: ProvisionedThroughputExceededException
