"""`make scale`'s one argument: the number of customers, or a clear message."""

from __future__ import annotations

import pytest

from bench.scale import customers_from


def test_no_argument_means_a_thousand_customers() -> None:
    assert customers_from([]) == 1000
    assert customers_from(["250"]) == 250


@pytest.mark.parametrize("argv", [["abc"], ["2.5"], ["0"], ["-3"], ["²"], ["10", "20"]])
def test_anything_but_one_whole_number_exits_with_a_message_naming_it(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        customers_from(argv)
    assert str(caught.value) == (
        f"make scale: CUSTOMERS must be one whole number of at least 1, got {' '.join(argv)!r} "
        "(for example: make scale CUSTOMERS=200)"
    )
