"""A localcloud server per test module: a real subprocess on a free port of 127.0.0.1, with its
own home folder, stopped at the end of the module."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localcloud import launcher
from localcloud.launcher import RunningServer

Client = Callable[[str], Any]
ROLE = "arn:aws:iam::000000000000:role/localcloud-tests"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("localcloud-home")


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[RunningServer]:
    running = launcher.start(home, port=0)
    yield running
    if launcher.status(home).running:
        launcher.stop(home)


@pytest.fixture(scope="module")
def client(server: RunningServer) -> Client:
    def make(service: str, config: Config | None = None) -> Any:
        return boto3.client(
            service,
            config=config,
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return make


@pytest.fixture(scope="module")
def zip_package() -> Callable[[dict[str, str]], bytes]:
    def build(files: dict[str, str]) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, text in files.items():
                archive.writestr(name, text)
        return buffer.getvalue()

    return build
