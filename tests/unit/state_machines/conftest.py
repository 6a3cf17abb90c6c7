"""Fixtures of the state machine tests (helpers live in asl_support)."""

from __future__ import annotations

from typing import Any

import pytest
from asl_support import rendered, states_of


@pytest.fixture
def daily_states() -> dict[str, dict[str, Any]]:
    return states_of(rendered()["daily_rollup"])


@pytest.fixture
def backfill_states() -> dict[str, dict[str, Any]]:
    return states_of(rendered()["backfill"])
