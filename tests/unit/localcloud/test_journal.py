"""The DynamoDB journal: lines written in order into numbered segments, a snapshot's rotation and
the removal of the segments it covers, replay that skips a torn last line, and the hooks that
record MiniStack's item writes (checked against the pinned MiniStack itself)."""

from __future__ import annotations

import ast
import importlib.util
import types
from pathlib import Path
from typing import Any

import pytest

from localcloud.server import dynamodb_journal
from localcloud.server.journal import Journal


def item(n: int) -> dict[str, Any]:
    return {"pk": {"S": f"k{n}"}, "kwh": {"N": str(n)}}


def flush(journal: Journal) -> None:
    journal.write(*journal.take_pending())


def test_lines_are_replayed_in_the_order_recorded_across_segments(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.record(["put", "t1", "k1", "__no_sort__", item(1)])
    flush(journal)
    covered = journal.rotate()
    journal.record(["put", "t1", "k1", "__no_sort__", item(2)])
    journal.record(["delete", "t1", "k1", "__no_sort__"])
    flush(journal)

    assert journal.segments() == [covered, covered + 1]
    assert [entry[0] for entry in journal.entries()] == ["put", "put", "delete"]
    assert [entry[4]["kwh"] for entry in journal.entries() if entry[0] == "put"] == [{"N": "1"}, {"N": "2"}]


def test_dropping_the_segments_a_snapshot_covers_keeps_the_later_ones_and_the_size(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.record(["put", "t1", "a", "s", item(1)])
    flush(journal)
    covered, dropped = journal.rotate(), journal.size
    journal.record(["put", "t1", "b", "s", item(2)])
    held = journal.size
    journal.drop_through(covered)
    flush(journal)

    assert journal.segments() == [covered + 1]
    assert journal.size == held - dropped == (tmp_path / f"{covered + 1:010d}.jsonl").stat().st_size
    assert [entry[2] for entry in journal.entries()] == ["b"]


def test_a_new_journal_on_the_same_folder_writes_a_segment_of_its_own(tmp_path: Path) -> None:
    first = Journal(tmp_path)
    first.record(["put", "t1", "a", "s", item(1)])
    flush(first)
    second = Journal(tmp_path)

    assert second.current == first.current + 1
    assert second.size == first.size


def test_a_torn_last_line_is_ignored_and_the_next_segment_still_replayed(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.record(["put", "t1", "a", "s", item(1)])
    flush(journal)
    with (tmp_path / f"{journal.current:010d}.jsonl").open("a") as handle:
        handle.write('["put","t1","b","s",{"pk":')  # a crash in the middle of a write
    later = Journal(tmp_path)
    later.record(["put", "t1", "c", "s", item(3)])
    flush(later)

    assert [entry[2] for entry in later.entries()] == ["a", "c"]


def test_compaction_is_due_once_the_journal_is_as_large_as_the_snapshot(tmp_path: Path) -> None:
    journal = Journal(tmp_path, compact_min_bytes=100)
    journal.record(["put", "t1", "a", "s", {"v": {"S": "x" * 200}}])
    size = journal.size

    assert journal.needs_compaction(snapshot_bytes=size)
    assert not journal.needs_compaction(snapshot_bytes=size + 1)
    assert not Journal(tmp_path / "empty", compact_min_bytes=100).needs_compaction(snapshot_bytes=0)


class FakeDynamoDB(types.ModuleType):
    """The three functions the journal hooks, with MiniStack's signatures, over plain dicts."""

    def __init__(self) -> None:
        super().__init__("fake_dynamodb")
        self.table: dict[str, Any] = {"TableId": "id-1", "items": {}}

    def _set_item(self, table: dict[str, Any], pk: str, sk: str, value: Any) -> Any:
        old = table["items"].get(pk, {}).get(sk)
        table["items"].setdefault(pk, {})[sk] = value
        return old

    def _remove_item(self, table: dict[str, Any], pk: str, sk: str) -> Any:
        return table["items"].get(pk, {}).pop(sk, None)

    def _items_replaced(self, table: dict[str, Any]) -> None:
        pass


def test_the_hooks_record_puts_real_deletes_and_whole_table_replacements(tmp_path: Path) -> None:
    journal, module, unjournaled = Journal(tmp_path), FakeDynamoDB(), []
    undo = dynamodb_journal.install(module, journal, lambda: unjournaled.append(1))
    module._set_item(module.table, "a", "s", item(1))
    module._remove_item(module.table, "a", "s")
    module._remove_item(module.table, "missing", "s")  # removed nothing: nothing to record
    module.table["items"] = {"b": {"s": item(2)}}
    module._items_replaced(module.table)
    module._set_item({"items": {}}, "c", "s", item(3))  # no TableId: only a snapshot can save it
    module._set_item(module.table, "d", "s", {"v": {"B": b"\x00"}})  # not JSON: likewise
    undo()
    module._set_item(module.table, "e", "s", item(5))  # unhooked: not recorded
    flush(journal)

    assert [entry[:3] for entry in journal.entries()] == [
        ["put", "id-1", "a"],
        ["delete", "id-1", "a"],
        ["reset", "id-1"],
        ["put", "id-1", "b"],
    ]
    assert len(unjournaled) == 2


def test_replay_applies_each_entry_to_its_table_and_skips_tables_that_are_gone(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    for entry in (
        ["put", "id-1", "a", "s", item(1)],
        ["put", "id-1", "b", "s", item(2)],
        ["put", "gone", "x", "s", item(9)],
        ["delete", "id-1", "a", "s"],
        ["reset", "id-1"],
        ["put", "id-1", "c", "s", item(3)],
    ):
        journal.record(entry)
    flush(journal)
    module = FakeDynamoDB()
    module.table["items"] = {"old": {"s": item(0)}}
    module._tables = types.SimpleNamespace(all_values=lambda: [module.table])

    assert journal.replay(dynamodb_journal.replayer(module)) == (5, 1)
    assert module.table["items"] == {"c": {"s": item(3)}}


def test_a_ministack_without_the_hooked_functions_is_refused_naming_them(tmp_path: Path) -> None:
    module = types.ModuleType("fake")
    module._set_item = lambda *args: None  # type: ignore[attr-defined]

    with pytest.raises(dynamodb_journal.HooksMissing, match="no _remove_item, _items_replaced"):
        dynamodb_journal.install(module, Journal(tmp_path), lambda: None)


def test_the_pinned_ministack_has_the_functions_the_journal_hooks() -> None:
    spec = importlib.util.find_spec("ministack")  # read, not imported: MiniStack is configured first
    assert spec is not None and spec.submodule_search_locations
    source = Path(next(iter(spec.submodule_search_locations))) / "services" / "dynamodb.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    defined = {
        node.name: [a.arg for a in node.args.args] for node in tree.body if isinstance(node, ast.FunctionDef)
    }

    assert {name: defined.get(name) for name in dynamodb_journal.HOOKED} == {
        "_set_item": ["table", "pk_val", "sk_val", "item"],
        "_remove_item": ["table", "pk_val", "sk_val"],
        "_items_replaced": ["table"],
    }
