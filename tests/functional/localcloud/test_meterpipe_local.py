"""``meterpipe local up|status|down`` and the local deploy, against a real localcloud."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from localcloud import launcher
from meterpipe.aws import LocalcloudNotRunning, Target, clients_for
from meterpipe.cli import app
from meterpipe.local import server
from meterpipe.local.deploy import DeployError, LocalDeployment, deploy
from meterpipe.local.server import LocalServerError
from meterpipe.tables import GLUE_DATABASE, LAKE_TABLES, ROLLUPS


@pytest.fixture(scope="module")
def local_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("meterpipe-home")
    yield home
    if launcher.status(home).running:
        launcher.stop(home)


def run(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output, result.exception


def test_up_starts_localcloud_and_deploys_the_project(local_home: Path) -> None:
    code, output, error = run("local", "up", "--home", str(local_home), "--port", "0")
    assert error is None and code == 0, output
    running = launcher.status(local_home).server
    assert running is not None
    assert f"localcloud started at {running.endpoint}" in output
    assert "created   DynamoDB tables: ElectricityMeteredByPeriod, MeterPipeLedger" in output
    assert "created   Athena workgroup: meterpipe -> s3://meterpipe-results/athena-results/" in output
    assert "created   State machines: meterpipe-daily-rollup created; meterpipe-backfill created" in output
    assert "created   Schedule: meterpipe-daily-rollup: cron(30 3 * * ? *) UTC" in output

    clients = clients_for(Target.local(local_home))
    spec = LocalDeployment()
    names = {b["Name"] for b in clients.client("s3").list_buckets()["Buckets"]}
    assert {spec.lake_bucket, spec.results_bucket} <= names
    tables = clients.client("glue").get_tables(DatabaseName=GLUE_DATABASE)["TableList"]
    assert sorted(t["Name"] for t in tables) == sorted(t.name for t in LAKE_TABLES)
    key_schema = clients.client("dynamodb").describe_table(TableName=ROLLUPS.name)["Table"]["KeySchema"]
    assert key_schema == ROLLUPS.key_schema()
    function = clients.client("lambda").get_function(FunctionName=spec.function_name)
    assert function["Configuration"]["Handler"] == "handlers.write_batch.handler"
    assert function["Configuration"]["Environment"]["Variables"]["ROLLUP_TABLE_NAME"] == ROLLUPS.name
    source = Path(function["Code"]["Location"])
    assert (source / "handlers").resolve() == spec.handlers_dir.resolve()


def test_up_twice_changes_nothing(local_home: Path) -> None:
    code, output, _ = run("local", "up", "--home", str(local_home), "--port", "0")
    assert code == 0
    assert "already running" in output
    assert "created" not in output and "updated" not in output
    # buckets, catalog, tables, role, function, workgroup, state machines, the ledger_sync rule, schedule
    assert output.count("unchanged") == 9


def test_status_reports_the_endpoint_and_services_as_json(local_home: Path) -> None:
    code, output, _ = run("local", "status", "--json", "--home", str(local_home))
    info = json.loads(output)
    assert code == 0 and info["running"] and info["answering"]
    assert info["services"]["lambda"] == "served"
    assert info["services"]["events"] == "served"
    assert info["endpoint"].startswith("http://127.0.0.1:")


def test_a_port_in_use_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output, _ = run("local", "up", "--home", str(tmp_path / "other"), "--port", str(port))
    # The CLI's error boundary (inside the group) prints the LocalServerError as one line.
    assert code == 1
    assert output == f"error: port {port} on 127.0.0.1 is already in use: stop what uses it or pick --port\n"


def test_down_stops_it_and_a_second_down_says_it_is_not_running(local_home: Path) -> None:
    code, output, _ = run("local", "down", "--home", str(local_home))
    assert code == 0 and "localcloud stopped" in output
    # Stopping what is already stopped is done: it says so and exits 0.
    code, output, _ = run("local", "down", "--home", str(local_home))
    assert code == 0
    assert output == f"localcloud is not running for {local_home.resolve()}: nothing to stop\n"
    # status exits 1 when nothing runs (--json too), its hint keeping the --home given.
    code, output, _ = run("local", "status", "--home", str(local_home))
    assert code == 1
    hint = f"start it with `meterpipe local up --home {local_home.resolve()}`"
    assert output == f"localcloud is not running for {local_home.resolve()}: {hint}\n"
    code, output, _ = run("local", "status", "--home", str(local_home), "--json")
    assert code == 1 and '"running": false' in output
    with pytest.raises(LocalServerError, match=r"^localcloud is not running for "):
        server.down(local_home)
    with pytest.raises(LocalcloudNotRunning, match=re.escape(hint)):
        clients_for(Target.local(local_home))


def test_up_after_a_crash_removes_the_stale_pid_file_and_says_so(tmp_path: Path) -> None:
    home = tmp_path / "crashed"
    home.mkdir()
    dead = 2**22 + 12345  # above Linux's default pid_max: never a live process
    (home / "localcloud.json").write_text(
        json.dumps(
            {"pid": dead, "port": 1, "endpoint": "http://127.0.0.1:1", "home": str(home), "started_at": 0}
        )
    )
    try:
        code, output, error = run("local", "up", "--home", str(home), "--port", "0", "--no-deploy")
        assert error is None and code == 0
        assert f"removed a stale pid file: localcloud (pid {dead}) had stopped without cleaning up" in output
    finally:
        launcher.stop(home)


def _pid_file(home: Path, pid: int, port: int) -> None:
    home.mkdir(parents=True, exist_ok=True)
    endpoint = f"http://127.0.0.1:{port}"
    info = {"pid": pid, "port": port, "endpoint": endpoint, "home": str(home), "started_at": 0}
    (home / "localcloud.json").write_text(json.dumps(info))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_up_starts_at_once_when_the_pid_file_names_a_killed_server_not_yet_reaped(tmp_path: Path) -> None:
    """Right after a SIGKILL the server's pid can still look alive (a zombie nobody reaped yet):
    "running" is judged by an answer on the port, not by the pid."""
    zombie = subprocess.Popen(["sleep", "60"])
    os.kill(zombie.pid, signal.SIGKILL)
    home = tmp_path / "killed"
    _pid_file(home, zombie.pid, _free_port())
    try:
        assert launcher.status(home).running  # the pid alone says it runs
        code, output, error = run("local", "up", "--home", str(home), "--port", "0", "--no-deploy")
        assert error is None and code == 0, output
        assert (
            f"removed a stale pid file: localcloud (pid {zombie.pid}) had stopped without cleaning up"
            in output
        )
        assert "localcloud started at http://127.0.0.1:" in output
        running = launcher.status(home).server
        assert running is not None and running.pid != zombie.pid
    finally:
        zombie.wait()
        launcher.stop(home)


def test_status_and_commands_say_not_running_when_nothing_answers_on_the_port(tmp_path: Path) -> None:
    home = tmp_path / "gone"
    _pid_file(home, os.getpid(), _free_port())  # a live pid, but nothing listens on the port
    code, output, _ = run("local", "status", "--home", str(home))
    assert code == 1  # the README: status exits 1 when localcloud does not run
    assert output.strip() == (
        f"localcloud is not running for {home} (removed a stale pid file left by pid {os.getpid()}): "
        f"start it with `meterpipe local up --home {home}`"
    )
    assert not (home / "localcloud.json").exists()
    _pid_file(home, os.getpid(), _free_port())
    with pytest.raises(LocalcloudNotRunning, match=r"start it with `meterpipe local up --home .*gone`"):
        clients_for(Target.local(home))


def test_up_does_not_start_a_second_server_beside_one_that_is_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that accepts the connection but does not answer in time (saving a large state)
    still runs: up says so rather than start another on the same home."""
    monkeypatch.setattr(server, "ANSWER_SECONDS", 0.5)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()  # connections queue, nothing answers
        home = tmp_path / "busy"
        _pid_file(home, os.getpid(), busy.getsockname()[1])
        with pytest.raises(LocalServerError, match=r"holds .* but does not answer within 0 s"):
            server.up(home, port=0)
    assert (home / "localcloud.json").exists()


def test_the_deployed_function_runs_the_handlers_package_with_the_table_from_its_environment(
    tmp_path: Path,
) -> None:
    handlers = tmp_path / "src" / "handlers"
    handlers.mkdir(parents=True)
    (handlers / "__init__.py").write_text("")
    (handlers / "write_batch.py").write_text(
        "import os, boto3\n\n"
        "def handler(event, context):\n"
        "    table = os.environ['ROLLUP_TABLE_NAME']\n"
        "    boto3.client('dynamodb').put_item(TableName=table, Item={\n"
        "        'CustomerID': {'N': '10027610'}, 'SensorID-Period': {'S': '51246501#2022-01'},\n"
        "        'kWh-Amount': {'N': event['kwh']}})\n"
        "    return {'written': 1, 'table': table}\n"
    )
    home = tmp_path / "home"
    server.up(home, port=0)
    try:
        clients = clients_for(Target.local(home))
        spec = LocalDeployment(handlers_dir=handlers)
        steps = deploy(clients, home=home, spec=spec)
        assert [s.action for s in steps if s.resource == "Lambda write_batch"] == ["created"]
        response = clients.client("lambda").invoke(
            FunctionName=spec.function_name, Payload=b'{"kwh": "192.51"}'
        )
        assert json.loads(response["Payload"].read()) == {"written": 1, "table": ROLLUPS.name}
        item = clients.client("dynamodb").get_item(
            TableName=ROLLUPS.name,
            Key={"CustomerID": {"N": "10027610"}, "SensorID-Period": {"S": "51246501#2022-01"}},
        )["Item"]
        assert item["kWh-Amount"] == {"N": "192.51"}
    finally:
        server.down(home)


def test_a_failing_deploy_step_is_one_error_naming_the_step(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server.up(home, port=0)
    try:
        clients = clients_for(Target.local(home))
        with pytest.raises(DeployError, match=r"^local deploy failed at S3 buckets: InvalidBucketName: "):
            deploy(clients, home=home, spec=LocalDeployment(lake_bucket="No_Such_Bucket_Name"))
    finally:
        server.down(home)
