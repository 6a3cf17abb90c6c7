"""Table definitions as the Glue Data Catalog holds them, and where the engine finds them.

A :class:`TableDefinition` is built from the ``Table`` that boto3's ``glue.get_table`` returns
(``StorageDescriptor`` with ``Location``, ``Columns`` and ``SerdeInfo``; ``PartitionKeys``; table
``Parameters`` with ``skip.header.line.count`` and partition projection).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from localcloud.athena.errors import AthenaQueryError, not_supported

LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
# Hive's LazySimpleSerDe defaults: fields split on Ctrl-A, NULL written as \N.
_DEFAULT_FIELD_DELIMITER = "\x01"
_DEFAULT_NULL_FORMAT = "\\N"
# SerDe parameters that change how text is split into values; the engine refuses what it cannot honour.
_UNSUPPORTED_SERDE_PARAMETERS = ("escape.delim", "line.delim")


@dataclass(frozen=True)
class ColumnDefinition:
    name: str
    type: str  # Hive DDL type as Glue stores it: bigint, double, string, decimal(10,2), ...


@dataclass(frozen=True)
class TableDefinition:
    """What the engine needs to read one table: where its objects are and how to parse them."""

    database: str
    name: str
    location: str  # s3://bucket/prefix/
    columns: tuple[ColumnDefinition, ...]
    partition_keys: tuple[ColumnDefinition, ...] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)
    field_delimiter: str = _DEFAULT_FIELD_DELIMITER
    null_format: str = _DEFAULT_NULL_FORMAT
    skip_header_lines: int = 0

    @property
    def all_columns(self) -> tuple[ColumnDefinition, ...]:
        """Data columns then partition columns, the order ``SELECT *`` returns them in."""
        return self.columns + self.partition_keys

    def column(self, name: str) -> ColumnDefinition | None:
        lowered = name.lower()
        return next((c for c in self.all_columns if c.name == lowered), None)

    @property
    def projection_enabled(self) -> bool:
        return self.parameters.get("projection.enabled", "").lower() == "true"

    @classmethod
    def from_glue(cls, table: Mapping[str, Any], database: str | None = None) -> TableDefinition:
        """Build from a Glue ``Table`` (``glue.get_table(...)["Table"]``) or a ``TableInput``."""
        name = str(table["Name"]).lower()
        db = str(database or table.get("DatabaseName") or "").lower()
        storage = table.get("StorageDescriptor") or {}
        location = str(storage.get("Location") or "")
        if not location.startswith("s3://"):
            raise AthenaQueryError(
                "HIVE_INVALID_METADATA", f"Table '{db}.{name}' has no S3 location (Location: {location!r})"
            )
        serde = storage.get("SerdeInfo") or {}
        library = serde.get("SerializationLibrary") or LAZY_SIMPLE_SERDE
        if library != LAZY_SIMPLE_SERDE:
            raise not_supported(f"SerDe {library} of table '{db}.{name}'")
        serde_params: Mapping[str, str] = serde.get("Parameters") or {}
        for key in _UNSUPPORTED_SERDE_PARAMETERS:
            if key in serde_params:
                raise not_supported(f"SerDe parameter {key} of table '{db}.{name}'")
        params: Mapping[str, str] = table.get("Parameters") or {}
        return cls(
            database=db,
            name=name,
            location=location if location.endswith("/") else location + "/",
            columns=tuple(_column(c) for c in storage.get("Columns") or ()),
            partition_keys=tuple(_column(c) for c in table.get("PartitionKeys") or ()),
            parameters=dict(params),
            field_delimiter=_field_delimiter(serde_params),
            null_format=serde_params.get("serialization.null.format", _DEFAULT_NULL_FORMAT),
            skip_header_lines=_header_lines(params.get("skip.header.line.count", "0"), f"{db}.{name}"),
        )


def _field_delimiter(serde_params: Mapping[str, str]) -> str:
    """LazySimpleSerDe's field delimiter: ``field.delim``, else ``serialization.format``, else Ctrl-A.

    Hive reads either as a byte: a number is that byte's value (Athena's DDL writes
    ``serialization.format = 1`` for a table without FIELDS TERMINATED BY, i.e. Ctrl-A), anything
    else its first character.
    """
    raw = serde_params.get("field.delim", serde_params.get("serialization.format"))
    if not raw:
        return _DEFAULT_FIELD_DELIMITER
    if raw.isdigit() and int(raw) < 128:
        return chr(int(raw))
    return raw[0]


def _column(column: Mapping[str, Any]) -> ColumnDefinition:
    return ColumnDefinition(name=str(column["Name"]).lower(), type=str(column["Type"]).lower())


def _header_lines(value: str, table: str) -> int:
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise AthenaQueryError(
            "HIVE_INVALID_METADATA", f"Invalid value for skip.header.line.count of table '{table}': {value!r}"
        )
    return count


class Catalog(Protocol):
    """Where the engine looks tables up. Names arrive lower-cased."""

    def has_database(self, database: str) -> bool: ...

    def get_table(self, database: str, name: str) -> TableDefinition | None: ...


class StaticCatalog:
    """A catalog held in memory: Glue ``Table`` dicts (or ``TableInput``) per database."""

    def __init__(self, tables: Mapping[str, list[Mapping[str, Any]]] | None = None) -> None:
        self._tables: dict[str, dict[str, TableDefinition]] = {}
        for database, entries in (tables or {}).items():
            self.add_database(database)
            for entry in entries:
                self.add_table(database, entry)

    def add_database(self, database: str) -> None:
        self._tables.setdefault(database.lower(), {})

    def add_table(self, database: str, table: Mapping[str, Any]) -> TableDefinition:
        definition = TableDefinition.from_glue(table, database)
        self._tables.setdefault(definition.database, {})[definition.name] = definition
        return definition

    def has_database(self, database: str) -> bool:
        return database in self._tables

    def get_table(self, database: str, name: str) -> TableDefinition | None:
        return self._tables.get(database, {}).get(name)


class GlueCatalog:
    """The Glue Data Catalog behind a boto3 ``glue`` client (AWS, MiniStack or moto)."""

    def __init__(self, glue_client: Any) -> None:
        self._glue = glue_client

    def has_database(self, database: str) -> bool:
        try:
            self._glue.get_database(Name=database)
        except self._glue.exceptions.EntityNotFoundException:
            return False
        return True

    def get_table(self, database: str, name: str) -> TableDefinition | None:
        try:
            table = self._glue.get_table(DatabaseName=database, Name=name)["Table"]
        except self._glue.exceptions.EntityNotFoundException:
            return None
        return TableDefinition.from_glue(table, database)
