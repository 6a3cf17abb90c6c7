"""The cyclic GC kept off the data localcloud holds.

MiniStack keeps every DynamoDB item as a dict of dicts, which CPython's cyclic GC tracks for as
long as it lives (a dict holding dicts is never untracked). With 1 M items held, each full
collection walked them all: 0.3-0.9 s during which the event loop answered nothing (measured on a
2-core machine), and one ran every time the heap had grown by a quarter. Worse, one that ran while
a snapshot child was alive wrote to every object's GC header, copying the pages the child shared.

So, after every full collection, its survivors are frozen (``gc.freeze``: moved to the permanent
generation that collections skip). A full collection has just freed every unreachable cycle, so
what it leaves is live; later full collections walk only what was created since. Objects that are
frozen and later become unreachable are still freed by reference counting; only a *cycle* formed
among frozen objects after the freeze is never collected, a small leak this process accepts for
collections that stay short as the data grows. The server process installs this; nothing else.
"""

from __future__ import annotations

import gc
from typing import Any

FULL = 2


def _freeze_after_full_collection(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == FULL:
        gc.freeze()


def install() -> None:
    if _freeze_after_full_collection not in gc.callbacks:
        gc.callbacks.append(_freeze_after_full_collection)
