"""End-to-end: the INSTALLED ``meterpipe`` command, run as a subprocess as an operator would,
against a localcloud it started itself (``meterpipe local up`` in a temporary home on a free
port), stopped at the end of the session."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from cdk_support import Synthesis

from handlers.rollup_format import TABLE_NAME
from localcloud import launcher
from tests.e2e.cdk_deployment import CDK, CdkDeployment, bootstrap_and_deploy

METERPIPE = Path(sys.executable).with_name("meterpipe")
Items = dict[tuple[int, str], tuple[Decimal, int]]  # (CustomerID, SensorID-Period) -> (kWh, readings)


@dataclass(frozen=True)
class Cli:
    home: Path
    endpoint: str

    def __call__(
        self, *args: str, home: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = {
            **os.environ,
            "METERPIPE_HOME": str(home or self.home),
            "COLUMNS": "200",
            "METERPIPE_DEBUG": "",
            **(env or {}),
        }
        return subprocess.run(
            [str(METERPIPE), *args], capture_output=True, text=True, env=environment, check=False, timeout=600
        )

    def json(self, *args: str) -> Any:
        done = self(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="e2e",
            aws_secret_access_key="e2e",
        )

    def table(self) -> Items:
        """Every item of the rollup table."""
        pages = self.client("dynamodb").get_paginator("scan").paginate(TableName=TABLE_NAME)
        return _items(item for page in pages for item in page["Items"])

    def customers_items(self, customers: Iterable[int]) -> Items:
        """The items of these customers, a Query each (a large table: MiniStack's Scan reads every
        item again for each page, so a million items took 15 minutes to scan)."""
        paginator = self.client("dynamodb").get_paginator("query")
        return _items(
            item
            for customer in sorted(customers)
            for page in paginator.paginate(
                TableName=TABLE_NAME,
                KeyConditionExpression="CustomerID = :customer",
                ExpressionAttributeValues={":customer": {"N": str(customer)}},
            )
            for item in page["Items"]
        )

    def item_count(self) -> int:
        """The rollup table's ItemCount (DescribeTable)."""
        table = self.client("dynamodb").describe_table(TableName=TABLE_NAME)["Table"]
        return int(table["ItemCount"])


def _items(found: Iterable[dict[str, Any]]) -> Items:
    return {
        (int(item["CustomerID"]["N"]), item["SensorID-Period"]["S"]): (
            Decimal(item["kWh-Amount"]["N"]),
            int(item["ReadingCount"]["N"]),
        )
        for item in found
    }


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    """A failed command's stderr: exactly one line, ``error: ...``, and never a traceback."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return lines[0]


@contextlib.contextmanager
def local_cli(home: Path) -> Iterator[Cli]:
    """The installed command against a localcloud it starts in ``home`` (``local up`` on a free
    port), stopped on the way out."""
    assert METERPIPE.exists(), f"the meterpipe command is not installed next to {sys.executable}"
    starting = Cli(home, "")
    up = starting("local", "up", "--port", "0")
    assert up.returncode == 0, up.stdout + up.stderr
    status = json.loads(starting("local", "status", "--json").stdout)
    try:
        yield Cli(home, status["endpoint"])
    finally:
        starting("local", "down")


@pytest.fixture(scope="session")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    with local_cli(tmp_path_factory.mktemp("e2e-home")) as running:
        yield running


class _NoStacks(BaseHTTPRequestHandler):
    """CloudFormation with no stack at all: every call answers as AWS does for an unknown stack
    (query protocol, HTTP 400, ``ValidationError`` ``Stack with id X does not exist``)."""

    def do_POST(self) -> None:
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        name = form.get("StackName", ["?"])[0]
        body = (
            '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error>'
            f"<Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id {name} does not "
            "exist</Message></Error><RequestId>e2e</RequestId></ErrorResponse>"
        ).encode()
        self.send_response(400)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="session")
def no_stack_endpoint() -> Iterator[str]:
    """The endpoint of an AWS account where no stack is deployed (CloudFormation only)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoStacks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _rows(path: Path) -> list[list[str]]:
    """A CSV file's rows after its header line, as Athena's text format reads them (any line ends)."""
    text = path.read_bytes().decode("utf-8-sig")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[1:]
    return list(csv.reader(line for line in lines if line))


def expected_items(customers: Path, readings: dict[dt.date, list[Path]]) -> Items:
    """The rollups, computed here from the CSV text with Decimal sums: hour and day items of every
    day given, month items over every reading of the month given."""
    owners: dict[str, int] = {}
    for path in customers.glob("*.csv"):
        owners.update({sensor: int(customer) for customer, sensor, *_ in _rows(path)})
    totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for day, paths in readings.items():
        for path in paths:
            for sensor, _voltage, _current, _frequency, kwh, hour in _rows(path):
                if sensor not in owners:
                    continue
                for period in (f"{day}T{hour}", f"{day}", f"{day:%Y-%m}"):
                    key = (owners[sensor], f"{sensor}#{period}")
                    totals[key] += Decimal(kwh)
                    counts[key] += 1
    return {
        key: (total.quantize(Decimal("0.01"), ROUND_HALF_UP), counts[key]) for key, total in totals.items()
    }


def lake_readings(root: Path) -> dict[dt.date, list[Path]]:
    """The reading files of a folder in the lake layout, by day."""
    found: dict[dt.date, list[Path]] = defaultdict(list)
    for path in sorted(root.glob("iot_electricity_metering/year=*/month=*/day=*/*.csv")):
        year, month, day = (int(part.split("=")[1]) for part in path.parts[-4:-1])
        found[dt.date(year, month, day)].append(path)
    return dict(found)


@pytest.fixture(scope="session")
def cdk_stack(synthesis: Synthesis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CdkDeployment]:
    """One localcloud per session with the CDK stack deployed into it by ``cdk bootstrap`` and
    ``cdk deploy`` (the session's synthesis), stopped at the end of the session."""
    if not CDK.exists():
        pytest.skip("the CDK CLI comes with `make setup` (Node.js)")
    home = tmp_path_factory.mktemp("cdk-home")
    try:
        yield bootstrap_and_deploy(home, synthesis.outdir, tmp_path_factory.mktemp("cdk-cli"))
    finally:
        if launcher.status(home).running:
            launcher.stop(home)
