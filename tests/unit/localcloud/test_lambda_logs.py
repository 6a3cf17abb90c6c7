"""The Lambda log shipper's batching, with a fake CloudWatch Logs client (no endpoint)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from localcloud.awslambda import logs as logs_module
from localcloud.awslambda.logs import LogShipper


class AlreadyExists(Exception):
    pass


class FakeLogs:
    class exceptions:
        ResourceAlreadyExistsException = AlreadyExists

    def __init__(self) -> None:
        self.sent: list[list[str]] = []
        self.streams: list[tuple[str, str]] = []
        self.changed = threading.Condition()

    def create_log_group(self, *, logGroupName: str) -> None:
        pass

    def create_log_stream(self, *, logGroupName: str, logStreamName: str) -> None:
        self.streams.append((logGroupName, logStreamName))

    def put_log_events(
        self, *, logGroupName: str, logStreamName: str, logEvents: list[dict[str, Any]]
    ) -> None:
        with self.changed:
            self.sent.append([event["message"] for event in logEvents])
            self.changed.notify_all()

    def wait_for(self, calls: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.sent) >= calls, timeout=10), self.sent


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> FakeLogs:
    # A minute between sends: a line that goes before the test ends went because the shipper
    # was idle, not because the interval passed.
    monkeypatch.setattr(logs_module, "SEND_INTERVAL", 60.0)
    return FakeLogs()


def test_a_line_after_a_quiet_spell_is_sent_at_once(client: FakeLogs) -> None:
    shipper = LogShipper(lambda: client)
    shipper.start()
    try:
        shipper.emit("/aws/lambda/f", "stream", "START RequestId: 1")
        client.wait_for(1)
        assert client.sent == [["START RequestId: 1"]]
        assert client.streams == [("/aws/lambda/f", "stream")]
    finally:
        shipper.stop()


def test_lines_that_follow_a_send_go_together_in_one_call(client: FakeLogs) -> None:
    shipper = LogShipper(lambda: client)
    shipper.start()
    shipper.emit("/aws/lambda/f", "stream", "first", 1)
    client.wait_for(1)
    for n in range(100):
        shipper.emit("/aws/lambda/f", "stream", f"line {n}", 2 + n)
    time.sleep(0.2)  # the shipper has them all, and holds them: the interval has not passed
    assert len(client.sent) == 1
    shipper.stop()  # stopping sends what is held
    assert client.sent == [["first"], [f"line {n}" for n in range(100)]]
