"""Athena's query engine offline: Athena (Trino) SQL over CSV tables in S3, run by DuckDB.

General-purpose: tables come from a Glue-shaped catalog and objects from an S3 client; nothing
here knows what the tables hold. localcloud's Athena service serves it behind the Athena API.
"""

from __future__ import annotations

from localcloud.athena.catalog import Catalog, ColumnDefinition, GlueCatalog, StaticCatalog, TableDefinition
from localcloud.athena.engine import AthenaEngine
from localcloud.athena.errors import AthenaQueryError, ErrorCategory
from localcloud.athena.results import QueryResult, ResultColumn, format_value, java_double
from localcloud.athena.storage import ObjectStore, S3ObjectStore, StoredObject, split_s3_uri

__all__ = [
    "AthenaEngine",
    "AthenaQueryError",
    "Catalog",
    "ColumnDefinition",
    "ErrorCategory",
    "GlueCatalog",
    "ObjectStore",
    "QueryResult",
    "ResultColumn",
    "S3ObjectStore",
    "StaticCatalog",
    "StoredObject",
    "TableDefinition",
    "format_value",
    "java_double",
    "split_s3_uri",
]
