from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonpath_ng.ext.parser import parse as ng_parse

from localcloud.asl.clock import VirtualClock
from localcloud.asl.jsonpath import PathNotFound, compile_path

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def test_virtual_sleep_alone_returns_at_once_with_time_advanced() -> None:
    clock = VirtualClock(START)
    assert clock.sleep(3600) is True
    assert clock.now() == START + dt.timedelta(hours=1)


def test_virtual_time_waits_for_busy_participants() -> None:
    clock = VirtualClock(START)
    woke_at: list[dt.datetime] = []
    busy = threading.Event()
    release = threading.Event()

    def sleeper() -> None:
        clock.sleep(10)
        woke_at.append(clock.now())

    def worker() -> None:
        busy.set()
        release.wait(5)  # busy outside the clock: time must not move meanwhile

    threads = [threading.Thread(target=clock.bind_participant(fn)) for fn in (sleeper, worker)]
    for thread in threads:
        thread.start()
    busy.wait(5)
    assert not woke_at
    assert clock.now() == START
    release.set()
    for thread in threads:
        thread.join(5)
    assert woke_at == [START + dt.timedelta(seconds=10)]


def test_concurrent_sleepers_wake_in_deadline_order_without_adding_up() -> None:
    clock = VirtualClock(START)
    woke: dict[int, dt.datetime] = {}

    def sleeper(seconds: int) -> None:
        clock.sleep(seconds)
        woke[seconds] = clock.now()

    threads = [threading.Thread(target=clock.bind_participant(lambda s=s: sleeper(s))) for s in (30, 10, 20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert woke == {s: START + dt.timedelta(seconds=s) for s in (10, 20, 30)}
    assert clock.now() == START + dt.timedelta(seconds=30)


def test_a_woken_sleeper_returns_early_without_moving_time() -> None:
    clock = VirtualClock(START)
    wake = threading.Event()
    result: list[bool] = []
    blocker = threading.Event()

    def sleeper() -> None:
        result.append(clock.sleep(100, wake))

    def holder() -> None:
        blocker.wait(5)

    threads = [threading.Thread(target=clock.bind_participant(fn)) for fn in (sleeper, holder)]
    for thread in threads:
        thread.start()
    wake.set()
    clock.notify()
    threads[0].join(5)
    blocker.set()
    threads[1].join(5)
    assert result == [False]
    assert clock.now() == START


_names = st.text(alphabet="abcxyz_-", min_size=1, max_size=4)
_steps = st.lists(st.one_of(_names, st.integers(min_value=0, max_value=3)), max_size=4)
_json = st.recursive(
    st.one_of(st.integers(), st.text(max_size=3), st.none()),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_names, children, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(steps=_steps, data=_json)
def test_fast_path_agrees_with_jsonpath_ng(steps: list[Any], data: Any) -> None:
    text = "$" + "".join(f"[{s}]" if isinstance(s, int) else f"['{s}']" for s in steps)
    compiled = compile_path(text)
    assert compiled.definite
    expected = [m.value for m in ng_parse(text).find(data)]
    try:
        got = [compiled.get(data)]
    except PathNotFound:
        got = []
    assert got == expected
