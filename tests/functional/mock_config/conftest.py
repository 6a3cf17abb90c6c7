"""A localcloud started as a suite written for Step Functions Local starts its container: with
``SFN_MOCK_CONFIG`` naming the suite's MockConfigFile.json, on a free port, in its own home."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud import launcher
from localcloud.launcher import RunningServer

SUITE = Path(__file__).parent


@pytest.fixture(scope="module")
def sfn_local(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch
) -> Iterator[RunningServer]:
    home = tmp_path_factory.mktemp("sfn-local-home")
    monkeypatch_module.setenv("SFN_MOCK_CONFIG", str(SUITE / "MockConfigFile.json"))
    running = launcher.start(home, port=0)
    yield running
    if launcher.status(home).running:
        launcher.stop(home)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def sfn(sfn_local: RunningServer) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=sfn_local.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def definition() -> Callable[[str], str]:
    return lambda name: (SUITE / "statemachines" / name).read_text(encoding="utf-8")
