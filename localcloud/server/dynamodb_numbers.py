"""MiniStack's DynamoDB number checks, remembered per text.

MiniStack reads every Number attribute of every item written several times: whether DynamoDB would
refuse it (``_number_error``), its canonical form (``_ddb_canonicalize_number``) and its size in
bytes (``_number_size_bytes``). On a raw BatchWriteItem of rollup-shaped items those three took
about a seventh of the server's samples, and the texts repeat: a customer's id, an hour's reading count,
a kWh amount to three decimals. Each is a pure function of the text it is given, so ``install``
wraps them in place in MiniStack's module (``ministack.services.dynamodb``, pinned) with a bounded
cache keyed by that text: MiniStack runs unmodified and answers exactly as before. Anything but a
``str`` (MiniStack also passes other values, to refuse them) goes to the original uncached. A
MiniStack without these functions fails at start, naming them.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

CACHED = ("_number_error", "_ddb_canonicalize_number", "_number_size_bytes")
# Distinct number texts remembered per function: far more than one table's repeated values, and a
# bound on the memory (tens of bytes a text) whatever a client sends.
CACHE_SIZE = 65_536
_MARK = "__localcloud_cached__"


class NumberChecksMissing(RuntimeError):
    pass


def install(dynamodb: types.ModuleType) -> None:
    """Wrap MiniStack's number functions with a cache (once per process: a second call keeps the
    first wrapping)."""
    missing = [name for name in CACHED if not callable(getattr(dynamodb, name, None))]
    if missing:
        raise NumberChecksMissing(
            f"this MiniStack's DynamoDB has no {', '.join(missing)}: localcloud caches its number "
            "checks through them (see localcloud/server/dynamodb_numbers.py); use the pinned MiniStack"
        )
    for name in CACHED:
        function = getattr(dynamodb, name)
        if not getattr(function, _MARK, False):
            setattr(dynamodb, name, cached(function))


def cached(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``function`` answering from a bounded cache for ``str`` arguments."""
    remembered = functools.lru_cache(maxsize=CACHE_SIZE)(function)

    @functools.wraps(function)
    def wrapper(text: Any) -> Any:
        return remembered(text) if type(text) is str else function(text)

    setattr(wrapper, _MARK, True)
    return wrapper
