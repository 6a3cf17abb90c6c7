"""The input fingerprint of a day's lake objects, as daily_rollup records it in the ledger.

docs/ledger.md defines it: ListObjectsV2 of the day's prefix, in its key order; keys ending in
``/`` and keys whose last segment starts with ``_`` or ``.`` are skipped (what Athena does not
read); each data object gives the line ``<key>\\t<size>\\t<ETag without quotes>``; the lines are
chained, ``h0 = sha256_hex("")``, ``h(k+1) = sha256_hex(h(k) + "\\n" + line k)``, and the
fingerprint is ``sha256:`` + the last ``h``. daily_rollup's ListDayObjects state computes the same
with JSONata's ``$hash``, page by page (a test checks the two agree on generated listings). Chained
per object, it does not depend on how the listing is paged: it changes if and only if a data object
is added, removed or rewritten (a rewrite changes its ETag, even at the same size).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from meterpipe.tables import readings_day_prefix

PREFIX: Final = "sha256:"
# ListObjectsV2's largest page (what the state machine gets too).
PAGE_SIZE: Final = 1000


@dataclass(frozen=True)
class Fingerprint:
    """A day's input fingerprint and what it covers."""

    value: str  # "sha256:<hex>"
    objects: int
    bytes: int


def is_data_key(key: str) -> bool:
    """Whether Athena reads the object: not a folder marker, not a hidden or ``_`` file."""
    return not key.endswith("/") and not key.rsplit("/", 1)[-1].startswith(("_", "."))


def object_line(item: Mapping[str, Any]) -> str:
    """One object of a ListObjectsV2 page as its fingerprint line."""
    return f"{item['Key']}\t{int(item['Size'])}\t{str(item['ETag']).replace(chr(34), '')}"


def fingerprint_pages(pages: Iterable[Sequence[Mapping[str, Any]]]) -> Fingerprint:
    """The fingerprint of ListObjectsV2 pages (each page its ``Contents``, possibly empty)."""
    digest, objects, size = _sha256(""), 0, 0
    for page in pages:
        for item in page:
            if is_data_key(str(item["Key"])):
                digest = _sha256(digest + "\n" + object_line(item))
                objects += 1
                size += int(item["Size"])
    return Fingerprint(PREFIX + digest, objects, size)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def day_fingerprint(s3: Any, bucket: str, day: dt.date) -> Fingerprint:
    """The current fingerprint of a day's readings in the lake (``s3`` a boto3 S3 client)."""
    paginator = s3.get_paginator("list_objects_v2")
    pages = (
        page.get("Contents", [])
        for page in paginator.paginate(
            Bucket=bucket, Prefix=readings_day_prefix(day), PaginationConfig={"PageSize": PAGE_SIZE}
        )
    )
    return fingerprint_pages(pages)
