"""ItemBatcher: groups a Distributed Map's items so each child workflow gets a batch
(the guide's "ItemBatcher (Map)").

A child's input is ``{"Items": [...]}``, plus ``"BatchInput"`` when the definition gives one.
``MaxItemsPerBatch`` caps the items of a batch; ``MaxInputBytesPerBatch`` caps its size in bytes,
up to 256 KiB (the default when only a count is given). "If you specify both a batch number and
size, the interpreter reduces the number of items in a batch to avoid exceeding the specified batch
size limit." The size counted is the child's whole input, serialised as Step Functions writes
JSON (compact, UTF-8): the guide does not say more, and the input is what the 256 KiB state payload
quota applies to. An item too large for any batch goes alone into its own (the child then fails on
the payload quota if it exceeds it, as AWS would).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localcloud.asl.checker import Checker, pointer
from localcloud.asl.distributed.settings import NumberSetting
from localcloud.asl.payload import to_json

if TYPE_CHECKING:
    from localcloud.asl.states.base import StateRun

MAX_BATCH_BYTES = 256 * 1024


@dataclass(frozen=True)
class ItemBatcherSpec:
    max_items: NumberSetting | None
    max_bytes: NumberSetting | None
    batch_input: Any
    has_batch_input: bool

    @classmethod
    def parse(cls, raw: Any, at: str, check: Checker, *, jsonata: bool) -> ItemBatcherSpec | None:
        if not isinstance(raw, dict):
            check.add(at, "The value for the field 'ItemBatcher' must be an OBJECT")
            return None
        allowed = {"MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"}
        if not jsonata:
            allowed |= {"MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"}
        check.allowed_fields(raw, allowed, at, "ItemBatcher")
        max_items = NumberSetting.parse(raw, at, check, jsonata=jsonata, field="MaxItemsPerBatch", minimum=1)
        max_bytes = NumberSetting.parse(
            raw, at, check, jsonata=jsonata, field="MaxInputBytesPerBatch", minimum=1, maximum=MAX_BATCH_BYTES
        )
        if not any(key in raw for key in allowed - {"BatchInput"}):
            check.add(
                at,
                "ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch "
                '("You must specify one of these values to batch items")',
            )
        if "BatchInput" in raw:
            value = raw["BatchInput"]
            if jsonata:
                check.jsonata_template(value, pointer(at, "BatchInput"))
            elif not isinstance(value, dict):
                check.add(pointer(at, "BatchInput"), "The value for the field 'BatchInput' must be an OBJECT")
            else:
                check.payload_template(value, pointer(at, "BatchInput"))
        return cls(max_items, max_bytes, raw.get("BatchInput"), "BatchInput" in raw)

    def batches(self, run: StateRun, effective_input: Any, items: list[Any]) -> list[tuple[Any, int]]:
        """Each child's input with the number of items it holds."""
        max_items = int(self.max_items.resolve(run, effective_input)) if self.max_items else None
        max_bytes = int(self.max_bytes.resolve(run, effective_input)) if self.max_bytes else MAX_BATCH_BYTES
        batch_input: Any = None
        if self.has_batch_input:
            batch_input = (
                run.jsonata(self.batch_input, "ItemBatcher/BatchInput")
                if run.state.jsonata
                else run.template(self.batch_input, effective_input)
            )
        return make_batches(items, max_items, max_bytes, batch_input, self.has_batch_input)


def make_batches(
    items: list[Any], max_items: int | None, max_bytes: int, batch_input: Any, has_batch_input: bool
) -> list[tuple[Any, int]]:
    # Bytes of {"BatchInput":...,"Items":[]} around the items, then each item plus its comma.
    frame = {"Items": []} if not has_batch_input else {"BatchInput": batch_input, "Items": []}
    overhead = len(to_json(frame).encode("utf-8"))
    out: list[tuple[Any, int]] = []
    current: list[Any] = []
    size = overhead
    start = 0
    if max_items is not None and max_items > 0:
        # Whole batches that fit under max_bytes are measured in one encoding each (a list's
        # compact JSON is its items' JSON joined by commas, between brackets): one call instead of
        # one per item, a thousand times fewer for a query result of a few hundred thousand rows.
        while start + max_items <= len(items):
            chunk = items[start : start + max_items]
            if overhead + len(to_json(chunk).encode("utf-8")) - 2 > max_bytes:
                break
            out.append(_batch(chunk, batch_input, has_batch_input))
            start += max_items
    for item in items[start:]:
        item_bytes = len(to_json(item).encode("utf-8"))
        separator = 1 if current else 0
        full = (max_items is not None and len(current) >= max_items) or (
            current and size + separator + item_bytes > max_bytes
        )
        if full:
            out.append(_batch(current, batch_input, has_batch_input))
            current, size, separator = [], overhead, 0
        current.append(item)
        size += separator + item_bytes
    if current:
        out.append(_batch(current, batch_input, has_batch_input))
    return out


def _batch(items: list[Any], batch_input: Any, has_batch_input: bool) -> tuple[Any, int]:
    value: dict[str, Any] = (
        {"BatchInput": batch_input, "Items": items} if has_batch_input else {"Items": items}
    )
    return value, len(items)
