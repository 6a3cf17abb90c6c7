"""DynamoDB's journal on a real server: every item operation survives a SIGKILL through the journal
alone, a compaction replaces the journal with MiniStack's snapshot, and a SIGKILL while that
snapshot is being written (its child stopped midway) loses nothing."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from endpoint_support import endpoint_client

from localcloud import control, launcher

pytestmark = pytest.mark.slow

TABLE = "journaled"


def create_table(ddb: Any) -> None:
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "s"}}


def item(pk: str, kwh: str) -> dict[str, Any]:
    return {**key(pk), "kwh": {"N": kwh}}


def table_items(ddb: Any) -> dict[str, dict[str, Any]]:
    items = {}
    for page in ddb.get_paginator("scan").paginate(TableName=TABLE):
        items.update({found["pk"]["S"]: found for found in page["Items"]})
    return items


def storage(endpoint: str) -> dict[str, Any]:
    return control.health(endpoint)["ministack_storage"]  # type: ignore[no-any-return]


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    yield home
    if launcher.status(home).running:
        launcher.stop(home, kill=True)


def test_every_item_operation_survives_a_sigkill_through_the_journal_alone(home: Path) -> None:
    server = launcher.start(home, port=0)
    ddb = endpoint_client(server.endpoint, "dynamodb")
    create_table(ddb)
    control.flush_storage(server.endpoint)  # the table itself: a snapshot (not an item write)
    snapshots = storage(server.endpoint)["snapshots"]["dynamodb"]

    ddb.put_item(TableName=TABLE, Item=item("put", "1"))
    ddb.update_item(
        TableName=TABLE,
        Key=key("put"),
        UpdateExpression="SET kwh = :v",
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    ddb.put_item(TableName=TABLE, Item=item("deleted", "1"))
    ddb.delete_item(TableName=TABLE, Key=key("deleted"))
    ddb.put_item(TableName=TABLE, Item=item("batch-deleted", "1"))
    ddb.batch_write_item(
        RequestItems={
            TABLE: [
                {"PutRequest": {"Item": item("batch", "3")}},
                {"DeleteRequest": {"Key": key("batch-deleted")}},
            ]
        }
    )
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": item("transact", "4")}},
            {"Delete": {"TableName": TABLE, "Key": key("batch")}},
        ]
    )
    ddb.execute_statement(Statement=f"INSERT INTO {TABLE} VALUE {{'pk': 'partiql', 'sk': 's', 'kwh': 5}}")
    ddb.execute_statement(Statement=f"UPDATE {TABLE} SET kwh = 6 WHERE pk = 'partiql' AND sk = 's'")
    ddb.batch_execute_statement(
        Statements=[
            {"Statement": f"INSERT INTO {TABLE} VALUE {{'pk': 'batch-partiql', 'sk': 's', 'kwh': 7}}"},
            {"Statement": f"DELETE FROM {TABLE} WHERE pk = 'transact' AND sk = 's'"},
        ]
    )
    ddb.execute_transaction(
        TransactStatements=[
            {"Statement": f"INSERT INTO {TABLE} VALUE {{'pk': 'partiql-tx', 'sk': 's', 'kwh': 8}}"}
        ]
    )
    with pytest.raises(ddb.exceptions.TransactionCanceledException):  # rolled back: nothing of it stays
        ddb.execute_transaction(
            TransactStatements=[
                {"Statement": f"INSERT INTO {TABLE} VALUE {{'pk': 'rolled-back', 'sk': 's', 'kwh': 9}}"},
                {"Statement": f"INSERT INTO {TABLE} VALUE {{'pk': 'partiql', 'sk': 's', 'kwh': 9}}"},
            ]
        )
    expected = table_items(ddb)
    control.flush_storage(server.endpoint)
    assert storage(server.endpoint)["snapshots"]["dynamodb"] == snapshots  # only the journal holds them
    launcher.stop(home, kill=True)

    again = launcher.start(home, port=0)
    ddb = endpoint_client(again.endpoint, "dynamodb")

    assert sorted(expected) == ["batch-partiql", "partiql", "partiql-tx", "put"]
    assert {pk: found["kwh"] for pk, found in expected.items()} == {
        "batch-partiql": {"N": "7"},
        "partiql": {"N": "6"},
        "partiql-tx": {"N": "8"},
        "put": {"N": "2"},
    }
    assert table_items(ddb) == expected
    assert storage(again.endpoint)["journal_replayed"] > 0
    assert ddb.describe_table(TableName=TABLE)["Table"]["ItemCount"] == len(expected)


def write(ddb: Any, first: int, count: int) -> None:
    for start in range(first, first + count, 25):
        requests = [
            {"PutRequest": {"Item": item(f"k{n}", str(n))}}
            for n in range(start, min(start + 25, first + count))
        ]
        ddb.batch_write_item(RequestItems={TABLE: requests})


def test_a_compaction_replaces_the_journal_by_ministacks_snapshot(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALCLOUD_JOURNAL_COMPACT_BYTES", "20000")
    server = launcher.start(home, port=0)
    ddb = endpoint_client(server.endpoint, "dynamodb")
    create_table(ddb)
    control.flush_storage(server.endpoint)  # the table's snapshot: the first
    write(ddb, 0, 400)  # about 40 kB of journal
    deadline = time.monotonic() + 60
    while storage(server.endpoint)["snapshots"]["dynamodb"] < 2 or storage(server.endpoint)["compacting"]:
        assert time.monotonic() < deadline, storage(server.endpoint)
        time.sleep(0.1)
    control.flush_storage(server.endpoint)
    launcher.stop(home, kill=True)

    again = launcher.start(home, port=0)

    assert len(table_items(endpoint_client(again.endpoint, "dynamodb"))) == 400
    assert storage(again.endpoint)["journal_replayed"] < 400  # the snapshot holds the rest
    assert not list((home / "ministack" / "state").glob(".snapshot-*"))


def _children_like(parent: int) -> list[int]:
    """Forked children of ``parent``: same command line (a snapshot child), not a Lambda worker."""
    own = Path(f"/proc/{parent}/cmdline").read_bytes()
    found = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                if Path(f"/proc/{pid}/cmdline").read_bytes() == own:
                    found.append(int(pid))
            except FileNotFoundError:
                continue
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="finds the snapshot child through /proc")
def test_a_sigkill_while_a_snapshot_is_being_written_loses_nothing(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALCLOUD_JOURNAL_COMPACT_BYTES", "1")  # compact at every tick that wrote
    server = launcher.start(home, port=0)
    ddb = endpoint_client(server.endpoint, "dynamodb")
    create_table(ddb)
    control.flush_storage(server.endpoint)
    write(ddb, 0, 2000)
    written, stop = [2000], threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            write(ddb, written[0], 100)
            written[0] += 100

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        deadline, stopped = time.monotonic() + 120, None
        while stopped is None:
            assert time.monotonic() < deadline, "no snapshot child was caught running"
            for child in _children_like(server.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGSTOP)  # the snapshot stays half done
                if _state(child) == "T" and not _holds_the_lock(child, home):  # caught serialising
                    stopped = child
                else:  # ended already, or not yet past closing the parent's descriptors
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child, signal.SIGCONT)
    finally:
        stop.set()
        writer.join()
    control.flush_storage(server.endpoint)  # the journal: durable; the stopped snapshot: not waited for
    assert storage(server.endpoint)["snapshotting"] == ["dynamodb"]
    launcher.stop(home, kill=True)

    again = launcher.start(home, port=0)

    assert len(table_items(endpoint_client(again.endpoint, "dynamodb"))) == written[0]
    assert not list((home / "ministack" / "state").glob(".snapshot-*"))
    deadline = time.monotonic() + 30
    while _state(stopped) not in (None, "Z", "X"):  # the child died with its parent
        assert time.monotonic() < deadline, "the stopped snapshot child outlived the server"
        time.sleep(0.05)


def _holds_the_lock(pid: int, home: Path) -> bool:
    lock = str((home / "localcloud.lock").resolve())
    with contextlib.suppress(FileNotFoundError):
        return any(str(fd.readlink()) == lock for fd in Path(f"/proc/{pid}/fd").iterdir())
    return False


def _state(pid: int) -> str | None:
    """The process's state letter (T: stopped, Z: a zombie, dead whether or not reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None
