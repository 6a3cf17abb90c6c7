"""One stage for the whole fault suite (starting localcloud and deploying costs seconds): each
scenario resets it (no faults, an empty table) and ends comparing the whole table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localcloud import launcher
from meterpipe.datagen import GenerateOptions, generate, upload_lake
from tests.faults.rehearsal import MONTH, SPEC, Rehearsal
from tests.functional.pipeline.pipeline_support import CUSTOMERS


@pytest.fixture(scope="package")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    lake = tmp_path_factory.mktemp("lake")
    generate(
        GenerateOptions(customers=CUSTOMERS, start=MONTH[0], end=MONTH[-1], out=lake, interval=60, seed=5)
    )
    home = tmp_path_factory.mktemp("rehearsal-home")
    launcher.start(home, port=0, verify_signatures=True)
    try:
        rehearsal = Rehearsal.on(home, lake)
        rehearsal.up()  # deploys the project, signing with the keys file's key
        assert rehearsal.cli("schedule", "disable").exit_code == 0  # the clock never fires a run here
        upload_lake(lake, rehearsal.client("s3"), SPEC.lake_bucket)
        yield rehearsal
    finally:
        if launcher.status(home).running:
            launcher.stop(home)


@pytest.fixture
def rehearsal(stage: Rehearsal) -> Rehearsal:
    stage.reset()
    return stage
