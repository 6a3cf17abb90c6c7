"""MiniStack's DynamoDB item writes, recorded in localcloud's journal and replayed from it.

Every item MiniStack's DynamoDB stores or removes passes through three functions of its module
(``ministack.services.dynamodb``, pinned): ``_set_item(table, pk, sk, item)``,
``_remove_item(table, pk, sk)`` and ``_items_replaced(table)`` (after a table's items were swapped
wholesale: a PartiQL transaction rolled back, a table restored). ``install`` wraps them in place,
so MiniStack runs unmodified and each write is also recorded; ``apply`` replays a recorded entry
through the original functions (so item counts and index membership stay MiniStack's own
business). A MiniStack without these functions fails at start, naming them.

What the journal cannot record (a table created, updated or deleted, tags, TTL settings: every
DynamoDB operation that is not an item write) makes the service dirty instead, and its next flush
takes a snapshot: see ``JOURNALED_OPERATIONS``.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from localcloud.server.journal import Entry, Journal

HOOKED = ("_set_item", "_remove_item", "_items_replaced")

# DynamoDB operations whose every effect is an item written or removed through the hooked
# functions (verified by tests/functional/localcloud/test_localcloud_journal.py for each).
JOURNALED_OPERATIONS = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)

Table = dict[str, Any]


class HooksMissing(RuntimeError):
    pass


def _table_id(table: Table) -> str | None:
    table_id = table.get("TableId")
    return table_id if isinstance(table_id, str) else None


def install(
    dynamodb: types.ModuleType, journal: Journal, unjournaled: Callable[[], None]
) -> Callable[[], None]:
    """Wrap MiniStack's item functions so every write is recorded; returns the undo.

    ``unjournaled`` is called for a write the journal cannot hold (a table without a TableId, a
    value JSON cannot carry): the service then needs a snapshot."""
    missing = [name for name in HOOKED if not callable(getattr(dynamodb, name, None))]
    if missing:
        raise HooksMissing(
            f"this MiniStack's DynamoDB has no {', '.join(missing)}: localcloud's journal records item "
            "writes through them (see localcloud/server/dynamodb_journal.py); use the pinned MiniStack"
        )
    originals = {name: getattr(dynamodb, name) for name in HOOKED}
    set_item, remove_item, items_replaced = (originals[name] for name in HOOKED)

    def record(entry: Entry) -> None:
        if entry[1] is None:
            unjournaled()
            return
        try:
            journal.record(entry)
        except (TypeError, ValueError):  # bytes or the like: MiniStack's snapshot knows how to save it
            unjournaled()

    def _set_item(table: Table, pk_val: Any, sk_val: Any, item: Any) -> Any:
        old = set_item(table, pk_val, sk_val, item)
        record(["put", _table_id(table), pk_val, sk_val, item])
        return old

    def _remove_item(table: Table, pk_val: Any, sk_val: Any) -> Any:
        old = remove_item(table, pk_val, sk_val)
        if old is not None:
            record(["delete", _table_id(table), pk_val, sk_val])
        return old

    def _items_replaced(table: Table) -> Any:
        result = items_replaced(table)
        record(["reset", _table_id(table)])
        for pk_val, by_sort_key in list(table["items"].items()):
            for sk_val, item in list(by_sort_key.items()):
                record(["put", _table_id(table), pk_val, sk_val, item])
        return result

    hooks = {"_set_item": _set_item, "_remove_item": _remove_item, "_items_replaced": _items_replaced}
    for name, hook in hooks.items():
        setattr(dynamodb, name, hook)

    def undo() -> None:
        for name, original in originals.items():
            setattr(dynamodb, name, original)

    return undo


def replayer(dynamodb: types.ModuleType) -> Callable[[Entry], bool]:
    """A function applying one journal entry to MiniStack's loaded tables (before ``install``:
    replaying records nothing); False when the entry's table no longer exists."""
    tables: dict[str, Table] = {}
    for table in dynamodb._tables.all_values():
        table_id = _table_id(table)
        if table_id is not None:
            tables[table_id] = table

    def apply(entry: Entry) -> bool:
        table = tables.get(entry[1])
        if table is None:
            return False
        kind = entry[0]
        if kind == "put":
            dynamodb._set_item(table, entry[2], entry[3], entry[4])
        elif kind == "delete":
            dynamodb._remove_item(table, entry[2], entry[3])
        elif kind == "reset":
            table["items"].clear()
            dynamodb._items_replaced(table)
        else:
            raise ValueError(f"unknown journal entry {kind!r}")
        return True

    return apply
