"""The query text: parsed in Athena's dialect, parameters bound, tables resolved, filters found.

Everything here works on sqlglot's syntax tree of the *original* text, so error positions are the
ones Athena reports (``line 1:15``) and the partition filters are read before DuckDB sees anything.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from localcloud.athena.catalog import Catalog, ColumnDefinition, TableDefinition
from localcloud.athena.errors import AthenaQueryError, not_supported, syntax_error
from localcloud.athena.partitions import normalise_value

DIALECT = "trino"
DEFAULT_CATALOG = "awsdatacatalog"
_NUMERIC_TYPES = ("tinyint", "smallint", "int", "integer", "bigint", "double", "float", "real", "decimal")
_STRING_TYPES = ("string", "varchar", "char")
_OPERATORS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_OPERATORS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass
class TableReference:
    """One occurrence of a catalog table in the query."""

    node: exp.Table
    table: TableDefinition
    filters: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class Statement:
    tree: exp.Expr
    references: list[TableReference]


def position(node: exp.Expr) -> tuple[int | None, int | None]:
    """Trino's ``line:column`` (1-based, start of the token) of a node of the original text."""
    target = node
    if isinstance(node, exp.Table):
        target = node.args.get("catalog") or node.args.get("db") or node.this
    elif isinstance(node, exp.Column):
        target = node.args.get("table") or node.this
    meta = getattr(target, "meta", None) or {}
    if "line" not in meta:
        return None, None
    text = target.name if isinstance(target, exp.Identifier | exp.Anonymous) else target.sql(dialect=DIALECT)
    quoted = isinstance(target, exp.Identifier) and target.quoted
    return int(meta["line"]), int(meta["col"]) - len(text) - (2 if quoted else 0) + 1


def parse(sql: str, parameters: Sequence[str], catalog: Catalog, database: str) -> Statement:
    parsed, order = _parsed(sql)
    tree = parsed.copy()
    _bind_parameters(tree, parameters, order)
    references = _resolve_tables(tree, catalog, database)
    for reference in references:
        reference.filters = _partition_filters(tree, reference, references)
    return Statement(tree, references)


@functools.lru_cache(maxsize=64)
def _parsed(sql: str) -> tuple[exp.Expr, tuple[int, ...]]:
    """The tree of ``sql`` and the text order of its ``?``, kept for the next query of the same text.

    A pipeline runs the same few texts over and over with other parameters (a backfill: four a day);
    parsing the validation query and ordering its placeholders cost more than its DuckDB run. Callers
    bind a copy; a text that fails to parse raises each time (exceptions are not cached).
    """
    tree = _parse_single(sql)
    return tree, _placeholder_order(tree)


def _parse_single(sql: str) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        highlight = first.get("highlight") or ""
        line, col = first.get("line"), first.get("col")
        column = int(col) - len(highlight) + 1 if col is not None else None
        detail = f"mismatched input '{highlight}'" if highlight else "mismatched input"
        description = str(first.get("description") or exc).split(". Line")[0]
        raise syntax_error(f"{detail}. {description}", line=line, column=column) from None
    except TokenError as exc:
        raise syntax_error(str(exc), line=1, column=1) from None
    if not statements:
        raise syntax_error(
            "mismatched input '<EOF>'. Expecting: 'SELECT', 'WITH', 'VALUES'", line=1, column=1
        )
    if len(statements) > 1:
        raise AthenaQueryError("INVALID_INPUT", "Only one sql statement is allowed.")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise not_supported(f"statement {type(tree).__name__.upper()}; only queries (SELECT, WITH) run here")
    return tree


def _bind_parameters(tree: exp.Expr, parameters: Sequence[str], order: Sequence[int]) -> None:
    """Athena binds ExecutionParameters in order, each parsed as a SQL constant (``'2022'`` is a string).

    ``order``: :func:`_placeholder_order` of the tree (or of the tree it was copied from)."""
    found = _placeholders(tree)
    placeholders = [found[i] for i in order]
    if len(placeholders) != len(parameters):
        raise AthenaQueryError(
            "INVALID_PARAMETER_USAGE",
            f"Incorrect number of parameters: expected {len(placeholders)} but found {len(parameters)}",
            line=1,
            column=1,
        )
    for placeholder, text in zip(placeholders, parameters, strict=False):
        try:
            value = sqlglot.parse_one(text, read=DIALECT, into=exp.Condition) if text.strip() else None
        except (ParseError, TokenError):
            value = None
        if value is None or value.find(exp.Column, exp.Subquery, exp.Placeholder, exp.Star) is not None:
            raise AthenaQueryError(
                "INVALID_PARAMETER_USAGE",
                f"Execution parameter {text!r} is not a constant; string values need single quotes ('2022')",
                line=1,
                column=1,
            )
        placeholder.replace(value)


def _placeholders(tree: exp.Expr) -> list[exp.Placeholder]:
    """The ``?`` nodes in tree-walk order (the same order in a copy of the tree)."""
    return [p for p in tree.find_all(exp.Placeholder) if not p.this]


def _placeholder_order(tree: exp.Expr) -> tuple[int, ...]:
    """Indexes into :func:`_placeholders` in the order the ``?`` appear in the text (a tree walk
    visits a WITH clause last).

    sqlglot keeps no position for ``?``; the SQL it generates keeps the clauses' textual order, so
    each ``?`` is tagged, the tree printed, and the tags read back in order.
    """
    count = len(_placeholders(tree))
    if count < 2:
        return tuple(range(count))
    tagged = tree.copy()
    for index, node in enumerate(_placeholders(tagged)):
        node.set("this", f"lcparam{index}")
    text = tagged.sql(dialect=DIALECT)
    return tuple(sorted(range(count), key=lambda i: _tag_at(text, i)))


def _tag_at(text: str, index: int) -> int:
    match = re.search(rf"lcparam{index}(?!\d)", text)
    return match.start() if match else len(text)


def _resolve_tables(tree: exp.Expr, catalog: Catalog, database: str) -> list[TableReference]:
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    references = []
    for node in tree.find_all(exp.Table):
        if not isinstance(node.this, exp.Identifier):
            raise not_supported(f"table function {node.this.sql(dialect=DIALECT)}")
        name = node.name.lower()
        if not node.args.get("db") and name in cte_names:
            continue
        catalog_name = (node.catalog or DEFAULT_CATALOG).lower()
        db = (node.db or database).lower()
        line, column = position(node)
        if catalog_name != DEFAULT_CATALOG:
            raise AthenaQueryError(
                "CATALOG_NOT_FOUND", f"Catalog '{catalog_name}' does not exist", line=line, column=column
            )
        if not db:
            raise AthenaQueryError(
                "SCHEMA_NOT_FOUND",
                "Schema must be specified when session schema is not set",
                line=line,
                column=column,
            )
        # A table found means its database exists: the database is asked about only to say which
        # of the two is missing (one catalog call a table instead of two).
        table = catalog.get_table(db, name)
        if table is None and not catalog.has_database(db):
            raise AthenaQueryError(
                "SCHEMA_NOT_FOUND", f"Schema '{db}' does not exist", line=line, column=column
            )
        if table is None:
            raise AthenaQueryError(
                "TABLE_NOT_FOUND",
                f"Table '{catalog_name}.{db}.{name}' does not exist",
                line=line,
                column=column,
            )
        references.append(TableReference(node, table))
    return references


def _partition_filters(
    tree: exp.Expr, reference: TableReference, references: list[TableReference]
) -> dict[str, frozenset[str]]:
    """Partition values the WHERE of the reference's own SELECT allows (ANDed ``=`` / ``IN`` constants)."""
    select = reference.node.find_ancestor(exp.Select)
    where = select.args.get("where") if select is not None else None
    if where is None or not reference.table.partition_keys:
        return {}
    others = [r for r in references if r is not reference and r.node.find_ancestor(exp.Select) is select]
    filters: dict[str, frozenset[str]] = {}
    for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        found = _constant_filter(conjunct, reference, others)
        if found is None:
            continue
        key, values = found
        filters[key.name] = filters[key.name] & values if key.name in filters else values
    return filters


def _constant_filter(
    conjunct: exp.Expr, reference: TableReference, others: list[TableReference]
) -> tuple[ColumnDefinition, frozenset[str]] | None:
    if isinstance(conjunct, exp.EQ):
        column, constants = _column_and_constants(conjunct.this, [conjunct.expression])
        if column is None:
            column, constants = _column_and_constants(conjunct.expression, [conjunct.this])
    elif isinstance(conjunct, exp.In) and not conjunct.args.get("query"):
        column, constants = _column_and_constants(conjunct.this, conjunct.expressions)
    else:
        return None
    if column is None or constants is None:
        return None
    key = _partition_key(column, reference, others)
    if key is None:
        return None
    return key, frozenset(normalise_value(key, c) for c in constants)


def _column_and_constants(
    side: exp.Expr, constants: list[exp.Expr]
) -> tuple[exp.Column | None, list[str] | None]:
    if not isinstance(side, exp.Column) or not all(isinstance(c, exp.Literal) for c in constants):
        return None, None
    return side, [c.name for c in constants]


def _partition_key(
    column: exp.Column, reference: TableReference, others: list[TableReference]
) -> ColumnDefinition | None:
    key = next((k for k in reference.table.partition_keys if k.name == column.name.lower()), None)
    if key is None:
        return None
    qualifier = column.table.lower()
    if qualifier:
        return key if qualifier == reference.node.alias_or_name.lower() else None
    # Unqualified: only if no other table of the same SELECT has a column of that name.
    return None if any(o.table.column(key.name) for o in others) else key


def check_comparison_types(statement: Statement) -> None:
    """Trino refuses to compare a string column with a number (``year = 2022``) where DuckDB would cast."""
    by_alias = {r.node.alias_or_name.lower(): r.table for r in statement.references}
    for comparison in statement.tree.find_all(exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In):
        left = comparison.this
        rights = comparison.expressions if isinstance(comparison, exp.In) else [comparison.expression]
        for column, literal in [(left, r) for r in rights] + [(r, left) for r in rights]:
            if not (isinstance(column, exp.Column) and isinstance(literal, exp.Literal)):
                continue
            definition = _column_definition(column, by_alias)
            if definition is None:
                continue
            column_kind = _kind(definition.type)
            literal_kind = "varchar" if literal.is_string else "number"
            if column_kind and column_kind != literal_kind:
                operator = "IN" if isinstance(comparison, exp.In) else comparison.key
                symbol = _OPERATORS.get(operator, operator)
                literal_type = _literal_type(literal)
                line, col = position(column)
                raise AthenaQueryError(
                    "TYPE_MISMATCH",
                    f"Cannot apply operator: {_trino_type(definition.type)} {symbol} {literal_type}",
                    line=line,
                    column=col,
                )


def _column_definition(column: exp.Column, by_alias: dict[str, TableDefinition]) -> ColumnDefinition | None:
    qualifier = column.table.lower()
    if qualifier:
        table = by_alias.get(qualifier)
        return table.column(column.name) if table else None
    found = [d for t in by_alias.values() if (d := t.column(column.name)) is not None]
    return found[0] if len(found) == 1 else None


def _kind(hive_type: str) -> str | None:
    if hive_type.startswith(_STRING_TYPES):
        return "varchar"
    if hive_type.startswith(_NUMERIC_TYPES):
        return "number"
    return None


def _trino_type(hive_type: str) -> str:
    return "varchar" if hive_type == "string" else "integer" if hive_type == "int" else hive_type


def _literal_type(literal: exp.Literal) -> str:
    """Trino's type of a literal: ``'2022'`` is varchar(4), ``2022`` integer, ``1.5`` decimal(2,1)."""
    text = literal.name
    if literal.is_string:
        return f"varchar({len(text)})"
    if "e" in text.lower():
        return "double"
    if "." in text:
        whole, fraction = text.lstrip("-").split(".", 1)
        return f"decimal({len(whole + fraction)},{len(fraction)})"
    return "integer" if abs(int(text)) < 2**31 else "bigint"
