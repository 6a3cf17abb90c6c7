"""Object access for the engine: list and read S3 objects through a boto3 client the caller passes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from localcloud.athena.errors import AthenaQueryError


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    size: int
    # S3's LastModified (ListObjectsV2), Trino's "$file_modified_time"; None when the store has none.
    last_modified: dt.datetime | None = None
    # S3's ETag (ListObjectsV2): changes whenever the content does; None when the store has none.
    etag: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class ObjectStore(Protocol):
    def list(self, bucket: str, prefix: str) -> Iterator[StoredObject]: ...

    def read(self, obj: StoredObject) -> bytes: ...

    def confirm(self, obj: StoredObject) -> None:
        """Reach the object as a read would, without its body (raises what a read would raise)."""
        ...

    def write(self, bucket: str, key: str, body: bytes, content_type: str) -> None: ...


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ``("bucket", "a/b")``."""
    if not uri.startswith("s3://"):
        raise AthenaQueryError("INVALID_INPUT", f"Not an S3 location: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise AthenaQueryError("INVALID_INPUT", f"Not an S3 location: {uri!r}")
    return bucket, key


class S3ObjectStore:
    """:class:`ObjectStore` over a boto3 ``s3`` client; boto3 clients are safe to share between threads."""

    def __init__(self, s3_client: Any) -> None:
        self._s3 = s3_client

    def list(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        paginator = self._s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", ()):
                    yield StoredObject(
                        bucket, item["Key"], int(item["Size"]), item.get("LastModified"), item.get("ETag")
                    )
        except self._s3.exceptions.NoSuchBucket as exc:
            raise AthenaQueryError(
                "HIVE_FILESYSTEM_ERROR", f"The specified bucket does not exist: s3://{bucket}/{prefix}"
            ) from exc

    def read(self, obj: StoredObject) -> bytes:
        body: bytes = self._s3.get_object(Bucket=obj.bucket, Key=obj.key)["Body"].read()
        return body

    def confirm(self, obj: StoredObject) -> None:
        # A one-byte GetObject: Athena on AWS reads S3 at every query, so an S3 outage (a
        # localcloud fault on GetObject) must reach a query whose object texts are cached.
        self._s3.get_object(Bucket=obj.bucket, Key=obj.key, Range="bytes=0-0")["Body"].read()

    def write(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
