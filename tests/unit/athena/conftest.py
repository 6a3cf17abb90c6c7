"""Fixtures of the engine's unit tests: an in-memory store and a catalog of three small tables."""

from __future__ import annotations

import pytest
from athena_fakes import EVENTS_COLUMNS, PROJECTED, MemoryStore, glue_table

from localcloud.athena import AthenaEngine, StaticCatalog


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def catalog() -> StaticCatalog:
    return StaticCatalog(
        {
            "db": [
                glue_table(
                    "events", "s3://lake/events/", EVENTS_COLUMNS, parameters={"skip.header.line.count": "1"}
                ),
                glue_table(
                    "listed",
                    "s3://lake/listed/",
                    EVENTS_COLUMNS,
                    [("year", "string"), ("month", "string")],
                    parameters={"skip.header.line.count": "1"},
                ),
                glue_table(
                    "projected",
                    "s3://lake/projected/",
                    EVENTS_COLUMNS,
                    [("year", "string"), ("month", "string")],
                    parameters=PROJECTED,
                ),
            ]
        }
    )


@pytest.fixture
def engine(catalog: StaticCatalog, store: MemoryStore) -> AthenaEngine:
    return AthenaEngine(catalog, store)
