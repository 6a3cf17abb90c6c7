"""MiniStack's DynamoDB number checks answer from a cache per text, exactly as uncached."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import ministack.services.dynamodb as ministack_dynamodb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud.server import dynamodb_numbers
from localcloud.server.dynamodb_numbers import CACHED, NumberChecksMissing, cached, install


def original(name: str) -> Callable[[Any], Any]:
    function = getattr(ministack_dynamodb, name)
    return getattr(function, "__wrapped__", function)  # another test may have installed the cache


number_texts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.from_regex(r"[ +-]?[0-9_]{0,45}(\.[0-9]{0,45})?([eE][+-]?[0-9]{1,22})?[ ]?", fullmatch=True),
    st.text(max_size=12),
)


@pytest.mark.parametrize("name", CACHED)
@given(text=number_texts)
def test_a_cached_check_answers_as_minstacks_own_for_any_text(name: str, text: str) -> None:
    check = cached(original(name))
    first, again = check(text), check(text)  # the second answer comes from the cache
    assert first == again == original(name)(text)


@pytest.mark.parametrize("value", [None, 12, 1.5, ["1"], {"N": "1"}])
def test_values_that_are_not_text_go_to_the_original_uncached(value: Any) -> None:
    seen: list[Any] = []

    def check(text: Any) -> str:
        seen.append(text)
        return "refused"

    wrapped = cached(check)
    assert wrapped(value) == wrapped(value) == "refused"
    assert seen == [value, value]


def test_a_repeated_text_is_checked_once() -> None:
    seen: list[str] = []

    def check(text: str) -> int:
        seen.append(text)
        return len(text)

    wrapped = cached(check)
    assert [wrapped("12.5"), wrapped("12.5"), wrapped("7")] == [4, 4, 1]
    assert seen == ["12.5", "7"]


def test_install_wraps_each_check_once_and_a_second_install_keeps_the_first() -> None:
    module = types.ModuleType("fake_dynamodb")
    for name in CACHED:
        setattr(module, name, lambda text, name=name: f"{name}:{text}")
    install(module)
    first = [getattr(module, name) for name in CACHED]
    install(module)
    assert [getattr(module, name) for name in CACHED] == first
    assert module._number_error("5") == "_number_error:5"  # type: ignore[attr-defined]
    assert all(getattr(module, name).__wrapped__("5") == f"{name}:5" for name in CACHED)


def test_a_ministack_without_the_checks_fails_at_start_naming_them() -> None:
    module = types.ModuleType("fake_dynamodb")
    module._number_error = lambda text: None  # type: ignore[attr-defined]
    with pytest.raises(NumberChecksMissing) as caught:
        install(module)
    assert "has no _ddb_canonicalize_number, _number_size_bytes" in str(caught.value)
    assert "localcloud/server/dynamodb_numbers.py" in str(caught.value)


def test_the_pinned_ministack_has_every_check() -> None:
    assert all(callable(original(name)) for name in dynamodb_numbers.CACHED)
