"""Which objects a query reads: Hive partitions pruned by the query's partition filters.

With partition projection (``projection.enabled``) the partition locations are computed from
``storage.location.template`` and the projected values the filters allow, as Athena does; without
it, the keys under the table location are listed and kept when their ``key=value`` path segments
pass the filters (the layout that ``MSCK REPAIR TABLE`` registers).
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from localcloud.athena.catalog import ColumnDefinition, TableDefinition
from localcloud.athena.errors import AthenaQueryError, not_supported
from localcloud.athena.storage import ObjectStore, StoredObject, split_s3_uri

# Above this many projected locations one listing of their common prefix is cheaper than one each.
_MAX_LOCATIONS_LISTED_ONE_BY_ONE = 512
_INTEGER_TYPES = frozenset({"tinyint", "smallint", "int", "integer", "bigint"})
_TEMPLATE_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

# Allowed values per partition column; a column that is absent is not filtered.
PartitionFilter = Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class Partition:
    values: tuple[tuple[str, str], ...]  # (partition column, value) in partition-key order
    objects: tuple[StoredObject, ...]


def normalise_value(column: ColumnDefinition, value: str) -> str:
    """Compare partition values by their typed meaning: ``month=1`` equals ``1`` equals ``01`` for ints."""
    if column.type in _INTEGER_TYPES:
        try:
            return str(int(value))
        except ValueError:
            return value
    return value


def select_partitions(
    table: TableDefinition, filters: PartitionFilter, store: ObjectStore
) -> list[Partition]:
    """The partitions (with their data objects) of ``table`` that ``filters`` allow, in key order."""
    if not table.partition_keys:
        bucket, prefix = split_s3_uri(table.location)
        return [Partition((), tuple(_data_objects(store.list(bucket, prefix), prefix)))]
    if table.projection_enabled:
        return _projected_partitions(table, filters, store)
    return _listed_partitions(table, filters, store)


def _data_objects(objects: Iterable[StoredObject], prefix: str) -> list[StoredObject]:
    """Data files under ``prefix``: Hive skips names starting with ``_`` or ``.`` and folder markers."""
    kept = []
    for obj in objects:
        relative = obj.key[len(prefix) :]
        if not relative or relative.endswith("/"):
            continue
        if any(part.startswith(("_", ".")) for part in relative.split("/")):
            continue
        kept.append(obj)
    return sorted(kept, key=lambda o: o.key)


def _allows(filters: PartitionFilter, column: ColumnDefinition, value: str) -> bool:
    allowed = filters.get(column.name)
    return allowed is None or normalise_value(column, value) in allowed


def _listed_partitions(
    table: TableDefinition, filters: PartitionFilter, store: ObjectStore
) -> list[Partition]:
    bucket, prefix = split_s3_uri(table.location)
    # Leading keys with exactly one allowed value narrow the listing to their folder.
    list_prefix = prefix
    for key in table.partition_keys:
        allowed = filters.get(key.name)
        if allowed is None or len(allowed) != 1 or key.type in _INTEGER_TYPES:
            break
        list_prefix += f"{key.name}={next(iter(allowed))}/"
    groups: dict[tuple[tuple[str, str], ...], list[StoredObject]] = {}
    for obj in _data_objects(store.list(bucket, list_prefix), prefix):
        segments = obj.key[len(prefix) :].split("/")
        values = _hive_values(table.partition_keys, segments)
        if values is None or not all(
            _allows(filters, k, v) for k, (_, v) in zip(table.partition_keys, values, strict=False)
        ):
            continue
        groups.setdefault(values, []).append(obj)
    return [Partition(values, tuple(objs)) for values, objs in sorted(groups.items())]


def _hive_values(keys: Sequence[ColumnDefinition], segments: list[str]) -> tuple[tuple[str, str], ...] | None:
    if len(segments) <= len(keys):
        return None
    values = []
    for key, segment in zip(keys, segments, strict=False):
        name, sep, value = segment.partition("=")
        if not sep or name.lower() != key.name:
            return None
        values.append((key.name, unquote(value)))
    return tuple(values)


def _projected_partitions(
    table: TableDefinition, filters: PartitionFilter, store: ObjectStore
) -> list[Partition]:
    candidates = {key.name: _projected_values(table, key, filters) for key in table.partition_keys}
    template = table.parameters.get("storage.location.template") or (
        table.location + "/".join(f"{k.name}=${{{k.name}}}" for k in table.partition_keys)
    )
    for variable in _TEMPLATE_VARIABLE.findall(template):
        if variable.lower() not in candidates:
            raise AthenaQueryError(
                "HIVE_INVALID_METADATA",
                f"storage.location.template of table '{table.database}.{table.name}' "
                f"uses ${{{variable}}}, which is not a partition column",
            )
    names = [key.name for key in table.partition_keys]
    combinations = list(itertools.product(*(candidates[n] for n in names)))
    if len(combinations) <= _MAX_LOCATIONS_LISTED_ONE_BY_ONE:
        locations = {}
        for combination in combinations:
            location = _fill_template(template, dict(zip(names, combination, strict=True)))
            locations[split_s3_uri(location if location.endswith("/") else location + "/")] = tuple(
                zip(names, combination, strict=False)
            )
        return _partitions_at(locations, store)
    # Too many locations to list one by one: list the constant head of the template, match the rest.
    first = _TEMPLATE_VARIABLE.search(template)
    head = template[: first.start()] if first else template
    bucket, prefix = split_s3_uri(head)
    pattern = re.compile(
        "".join(
            f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part)
            for index, part in enumerate(_TEMPLATE_VARIABLE.split(template[len(head) :].rstrip("/")))
        )
        + "/"
    )
    groups: dict[tuple[tuple[str, str], ...], list[StoredObject]] = {}
    allowed = {name: set(values) for name, values in candidates.items()}
    for obj in _data_objects(store.list(bucket, prefix), prefix):
        match = pattern.match(obj.key[len(prefix) :])
        if not match:
            continue
        found = {k.lower(): v for k, v in match.groupdict().items()}
        if all(found.get(n, "") in allowed[n] for n in names):
            groups.setdefault(tuple((n, found[n]) for n in names), []).append(obj)
    return [Partition(values, tuple(objs)) for values, objs in sorted(groups.items())]


def _partitions_at(
    locations: Mapping[tuple[str, str], tuple[tuple[str, str], ...]], store: ObjectStore
) -> list[Partition]:
    """The partitions at these (bucket, prefix) locations that hold data, in the order given.

    Several locations in one bucket (a month of days) are listed as one listing of their common
    folder, cut into locations by key: the same objects as one listing each, in one request
    instead of one a day (a month's query paid 31 round trips before reading a byte).
    """
    buckets = {bucket for bucket, _ in locations}
    found: dict[tuple[str, str], list[StoredObject]] = {location: [] for location in locations}
    if len(locations) > 1 and len(buckets) == 1:
        (bucket,) = buckets
        common = posixpath.commonpath([prefix for _, prefix in locations])  # whole folder names
        common = common + "/" if common else ""
        lengths = sorted({len(prefix) for _, prefix in locations})
        for obj in store.list(bucket, common):
            for length in lengths:
                if (bucket, obj.key[:length]) in found:
                    found[(bucket, obj.key[:length])].append(obj)
                    break
    else:
        for bucket, prefix in locations:
            found[(bucket, prefix)] = list(store.list(bucket, prefix))
    partitions = []
    for (bucket, prefix), values in locations.items():
        objects = _data_objects(found[(bucket, prefix)], prefix)
        if objects:
            partitions.append(Partition(values, tuple(objects)))
    return partitions


def _fill_template(template: str, values: Mapping[str, str]) -> str:
    return _TEMPLATE_VARIABLE.sub(lambda m: values[m.group(1).lower()], template)


def _projected_values(table: TableDefinition, key: ColumnDefinition, filters: PartitionFilter) -> list[str]:
    """The values partition projection enumerates for ``key``, narrowed by the filters."""
    params = table.parameters
    kind = params.get(f"projection.{key.name}.type", "").lower()
    where = f"projection.{key.name}.type of table '{table.database}.{table.name}'"
    allowed = filters.get(key.name)
    if kind == "integer":
        low, high = _integer_range(params.get(f"projection.{key.name}.range", ""), table, key)
        interval = int(params.get(f"projection.{key.name}.interval", "1"))
        digits = int(params.get(f"projection.{key.name}.digits", "0"))
        values = [str(n).zfill(digits) for n in range(low, high + 1, interval)]
    elif kind == "enum":
        values = [v.strip() for v in params.get(f"projection.{key.name}.values", "").split(",") if v.strip()]
    elif kind == "injected":
        if allowed is None:
            raise AthenaQueryError(
                "CONSTRAINT_VIOLATION",
                f"For the injected projected partition column {key.name}, the WHERE clause must contain "
                "only static equality conditions, and at least one such condition must be present.",
            )
        return sorted(allowed)
    elif kind == "date":
        raise not_supported(f"date partition projection ({where})")
    else:
        raise AthenaQueryError("HIVE_INVALID_METADATA", f"Missing or unknown {where}: {kind!r}")
    if allowed is None:
        return values
    return [v for v in values if normalise_value(key, v) in allowed]


def _integer_range(text: str, table: TableDefinition, key: ColumnDefinition) -> tuple[int, int]:
    try:
        low, high = (int(part.strip()) for part in text.split(","))
    except ValueError:
        raise AthenaQueryError(
            "HIVE_INVALID_METADATA",
            f"Invalid projection.{key.name}.range of table '{table.database}.{table.name}': {text!r}",
        ) from None
    return low, high
