"""An in-memory object store and Glue table shapes, so engine behaviour is tested without S3."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import Any

from localcloud.athena import StoredObject


class MemoryStore:
    """The engine's ObjectStore over a dict; records what was listed and read."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.modified: dict[tuple[str, str], dt.datetime] = {}
        self.listed: list[str] = []
        self.read_keys: list[str] = []
        self.confirmed_keys: list[str] = []

    def put(self, uri: str, body: bytes | str, modified: dt.datetime | None = None) -> None:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        self.objects[(bucket, key)] = body.encode() if isinstance(body, str) else body
        if modified is not None:
            self.modified[(bucket, key)] = modified

    def list(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        self.listed.append(f"s3://{bucket}/{prefix}")
        for (b, key), body in sorted(self.objects.items()):
            if b == bucket and key.startswith(prefix):
                etag = f'"{hashlib.md5(body).hexdigest()}"'  # S3's ETag of a simple upload
                yield StoredObject(b, key, len(body), self.modified.get((b, key)), etag)

    def read(self, obj: StoredObject) -> bytes:
        self.read_keys.append(obj.key)
        return self.objects[(obj.bucket, obj.key)]

    def confirm(self, obj: StoredObject) -> None:
        self.confirmed_keys.append(obj.key)
        if (obj.bucket, obj.key) not in self.objects:
            raise KeyError(obj.key)

    def write(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self.objects[(bucket, key)] = body


def glue_table(
    name: str,
    location: str,
    columns: list[tuple[str, str]],
    partitions: list[tuple[str, str]] | None = None,
    *,
    parameters: dict[str, str] | None = None,
    serde: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Glue ``Table`` as ``get_table`` returns it."""
    return {
        "Name": name,
        "DatabaseName": "db",
        "Parameters": parameters or {},
        "PartitionKeys": [{"Name": n, "Type": t} for n, t in partitions or []],
        "StorageDescriptor": {
            "Location": location,
            "Columns": [{"Name": n, "Type": t} for n, t in columns],
            "SerdeInfo": {
                "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                "Parameters": serde if serde is not None else {"field.delim": ","},
            },
        },
    }


EVENTS_COLUMNS = [("id", "bigint"), ("name", "string"), ("amount", "double")]
PROJECTED = {
    "projection.enabled": "true",
    "projection.year.type": "integer",
    "projection.year.range": "2020,2029",
    "projection.month.type": "integer",
    "projection.month.range": "1,12",
    "projection.month.digits": "2",
    "storage.location.template": "s3://lake/projected/year=${year}/month=${month}",
    "skip.header.line.count": "1",
}
