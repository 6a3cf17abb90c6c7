from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from localcloud.clock import Clock, ClockState
from localcloud.state import Store


def test_documents_survive_reopening_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    functions = store.collection("lambda.functions")
    functions.put("b", {"n": 2})
    functions.put("a", {"n": 1})
    functions.put("a", {"n": 3})
    store.collection("other").put("a", {"n": 9})
    store.close()
    reopened = Store(tmp_path / "db.sqlite").collection("lambda.functions")
    assert reopened.items() == [("a", {"n": 3}), ("b", {"n": 2})]
    assert len(reopened) == 2
    assert reopened.delete("a") and not reopened.delete("a")


def test_event_logs_number_and_page_events_per_stream() -> None:
    history = Store(None).log("sfn.history")
    assert history.append("exec-1", {"type": "Started"}, {"type": "Entered"}) == [1, 2]
    assert history.append("exec-1", {"type": "Succeeded"}) == [3]
    history.append("exec-2", {"type": "Started"})
    assert [seq for seq, _ in history.read("exec-1")] == [1, 2, 3]
    assert [seq for seq, _ in history.read("exec-1", after=1, limit=1)] == [2]
    assert [seq for seq, _ in history.read("exec-1", reverse=True, after=3)] == [2, 1]
    assert history.length("exec-2") == 1


def test_a_failed_transaction_writes_nothing() -> None:
    store = Store(None)
    docs = store.collection("docs")
    with pytest.raises(RuntimeError), store.transaction():
        docs.put("a", {"n": 1})
        raise RuntimeError("boom")
    assert docs.get("a") is None


def test_the_clock_can_be_frozen_set_and_advanced_and_tells_listeners() -> None:
    real = [1_000_000.0]
    clock = Clock(real_time=lambda: real[0])
    changes: list[str] = []
    clock.subscribe(lambda: changes.append("changed"))
    assert clock.is_real
    clock.set(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), frozen=True)
    real[0] += 3600
    assert clock.now() == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    clock.advance(90)
    assert clock.now() == dt.datetime(2030, 1, 1, 0, 1, 30, tzinfo=dt.UTC)
    assert (
        clock.seconds_until(dt.datetime(2030, 1, 2, tzinfo=dt.UTC)) is None
    )  # frozen: only controls move it
    clock.unfreeze()
    real[0] += 10
    assert clock.now() == dt.datetime(2030, 1, 1, 0, 1, 40, tzinfo=dt.UTC)
    restored = Clock(ClockState.from_json(clock.state.to_json()), real_time=lambda: real[0])
    assert restored.now() == clock.now()
    assert changes == ["changed"] * 3
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_the_clock_counts_the_times_it_was_set_back() -> None:
    real = [1_000_000.0]
    clock = Clock(real_time=lambda: real[0])
    clock.set(dt.datetime(2030, 1, 2, tzinfo=dt.UTC), frozen=True)  # forward from 1970
    clock.advance(60)
    clock.set(dt.datetime(2030, 1, 2, 0, 1, tzinfo=dt.UTC))  # where it stands: not back
    assert clock.set_backs == 0
    clock.set(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert clock.set_backs == 1
    clock.reset()  # back to 1970's real time
    assert clock.set_backs == 2
    clock.reset()
    assert clock.set_backs == 2
