"""The whole pipeline offline: a localcloud per test module, the project deployed to it by
``meterpipe local up`` and a month of generated readings in its lake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pipeline_support import CUSTOMERS, MONTH, SPEC, Pipeline, start_pipeline

from localcloud import launcher
from meterpipe.datagen import GenerateOptions, generate, upload_lake


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    lake = tmp_path_factory.mktemp("lake")
    generate(
        GenerateOptions(customers=CUSTOMERS, start=MONTH[0], end=MONTH[-1], out=lake, interval=60, seed=5)
    )
    home = tmp_path_factory.mktemp("meterpipe-home")
    running = start_pipeline(home, lake)
    try:
        upload_lake(lake, running.client("s3"), SPEC.lake_bucket)
        yield running
    finally:
        if launcher.status(home).running:
            launcher.stop(home)
