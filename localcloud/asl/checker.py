"""Helpers the parsers share to check fields and collect every problem with its JSON Pointer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localcloud.asl.errors import Problem
from localcloud.asl.intrinsics import IntrinsicSyntaxError, is_intrinsic, parse_intrinsic
from localcloud.asl.jsonata_eval import check_syntax, is_expression
from localcloud.asl.jsonpath import InvalidPath, compile_path

JSONPATH = "JSONPath"
JSONATA = "JSONata"


def pointer(path: str, *parts: str | int) -> str:
    """Extend a JSON Pointer, escaping ``~`` and ``/`` as RFC 6901 says."""
    out = path
    for part in parts:
        out += "/" + str(part).replace("~", "~0").replace("/", "~1")
    return out


class Checker:
    """Collects problems. Every ``check_*`` method records a problem and returns False when wrong."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str, code: str = "SCHEMA_VALIDATION_FAILED") -> None:
        self.problems.append(Problem(path, message, code))

    # ---- field shapes -------------------------------------------------------------------------

    def allowed_fields(self, raw: Mapping[str, Any], allowed: set[str], path: str, what: str) -> None:
        for key in raw:
            if key not in allowed:
                self.add(pointer(path, key), f"Field '{key}' is not supported in {what}")

    def string(self, raw: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str | None:
        if key not in raw:
            if required:
                self.add(path, f"These fields are required: [{key}]")
            return None
        value = raw[key]
        if not isinstance(value, str):
            self.add(pointer(path, key), f"The value for the field '{key}' must be a STRING")
            return None
        return value

    def integer(
        self, raw: Mapping[str, Any], key: str, path: str, *, minimum: int = 0, maximum: int | None = None
    ) -> int | None:
        if key not in raw:
            return None
        value = raw[key]
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok and isinstance(value, float) and value.is_integer():
            value, ok = int(value), True
        if not ok or value < minimum or (maximum is not None and value > maximum):
            kind = "a POSITIVE_INTEGER" if minimum >= 1 else "a NON_NEGATIVE_INTEGER"
            bound = f" no greater than {maximum}" if maximum is not None else ""
            self.add(pointer(path, key), f"The value for the field '{key}' must be {kind}{bound}")
            return None
        return int(value)

    def number(
        self, raw: Mapping[str, Any], key: str, path: str, *, minimum: float | None = None
    ) -> float | None:
        if key not in raw:
            return None
        value = raw[key]
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or (minimum is not None and value < minimum)
        ):
            bound = f" >= {minimum}" if minimum is not None else ""
            self.add(pointer(path, key), f"The value for the field '{key}' must be a NUMBER{bound}")
            return None
        return float(value)

    def boolean(self, raw: Mapping[str, Any], key: str, path: str) -> bool | None:
        if key not in raw:
            return None
        value = raw[key]
        if not isinstance(value, bool):
            self.add(pointer(path, key), f"The value for the field '{key}' must be a BOOLEAN")
            return None
        return value

    def obj(self, raw: Mapping[str, Any], key: str, path: str) -> dict[str, Any] | None:
        if key not in raw:
            return None
        value = raw[key]
        if not isinstance(value, dict):
            self.add(pointer(path, key), f"The value for the field '{key}' must be an OBJECT")
            return None
        return value

    def exclusive(self, raw: Mapping[str, Any], keys: list[str], path: str) -> None:
        present = [k for k in keys if k in raw]
        if len(present) > 1:
            self.add(path, f"These fields are mutually exclusive: [{', '.join(present)}]")

    # ---- query languages ----------------------------------------------------------------------

    def path(self, raw: Mapping[str, Any], key: str, path: str, *, nullable: bool = False) -> str | None:
        """A JSONPath field (InputPath, OutputPath, ItemsPath, ...)."""
        if key not in raw:
            return None
        value = raw[key]
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.add(pointer(path, key), f"The value for the field '{key}' must be a valid JSONPath")
            return None
        self.jsonpath_text(value, pointer(path, key), key)
        return value

    def jsonpath_text(self, value: str, at: str, key: str, *, reference: bool = False) -> bool:
        try:
            compiled = compile_path(value)
        except InvalidPath:
            self.add(at, f"The value for the field '{key}' must be a valid JSONPath")
            return False
        if reference and (not compiled.definite or compiled.root != "$"):
            self.add(at, f"The value for the field '{key}' must be a valid ReferencePath")
            return False
        return True

    def payload_template(self, value: Any, at: str, *, allow_intrinsics: bool = True) -> None:
        """A JSONPath payload template (Parameters, ResultSelector, ItemSelector, Assign)."""
        if isinstance(value, dict):
            for key, item in value.items():
                where = pointer(at, key)
                if isinstance(key, str) and key.endswith(".$"):
                    self.dynamic_value(item, where, key, allow_intrinsics=allow_intrinsics)
                else:
                    self.payload_template(item, where, allow_intrinsics=allow_intrinsics)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.payload_template(item, pointer(at, i), allow_intrinsics=allow_intrinsics)

    def dynamic_value(self, value: Any, at: str, key: str, *, allow_intrinsics: bool = True) -> None:
        if not isinstance(value, str):
            self.add(at, f"The value for the field '{key}' must be a STRING that contains a JSONPath")
            return
        if is_intrinsic(value):
            if not allow_intrinsics:
                self.add(at, f"The field '{key}' does not accept intrinsic functions")
                return
            try:
                parse_intrinsic(value)
            except IntrinsicSyntaxError as exc:
                self.add(
                    at, f"The value for the field '{key}' must be a valid intrinsic function call: {exc}"
                )
            return
        try:
            compile_path(value)
        except InvalidPath:
            self.add(
                at, f"The value for the field '{key}' must be a valid JSONPath or intrinsic function call"
            )

    def jsonata_template(self, value: Any, at: str) -> None:
        """A JSONata template: any string wrapped in ``{% %}`` anywhere inside is an expression."""
        if isinstance(value, str):
            if value.startswith("{%") or value.endswith("%}"):
                if not is_expression(value):
                    self.add(at, "A JSONata expression must start with '{%' and end with '%}'")
                    return
                error = check_syntax(value)
                if error:
                    self.add(at, f"The JSONata expression is invalid: {error}")
        elif isinstance(value, dict):
            for key, item in value.items():
                self.jsonata_template(item, pointer(at, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.jsonata_template(item, pointer(at, i))

    def assign(self, raw: Mapping[str, Any], path: str, language: str) -> dict[str, Any] | None:
        value = self.obj(raw, "Assign", path)
        if value is None:
            return None
        at = pointer(path, "Assign")
        for key in value:
            name = key[:-2] if language == JSONPATH and key.endswith(".$") else key
            # Unicode identifiers (UAX #31), at most 80 characters (the guide's "Variable name syntax").
            if not name.isidentifier() or len(name) > 80:
                self.add(pointer(at, key), f"The variable name '{name}' is invalid")
            elif name == "states":
                self.add(pointer(at, key), "The variable name 'states' is reserved")
        if language == JSONATA:
            self.jsonata_template(value, at)
        else:
            self.payload_template(value, at)
        return value


def state_language(raw: dict[str, Any], at: str, check: Checker, inherited: str) -> str:
    value = raw.get("QueryLanguage", inherited)
    if value not in (JSONPATH, JSONATA):
        check.add(
            pointer(at, "QueryLanguage"),
            f"The value for the field 'QueryLanguage' must be JSONPath or JSONata, got {value!r}",
        )
        return inherited
    if inherited == JSONATA and value == JSONPATH:
        # The guide: a state may opt into JSONata, but not back out of a JSONata top level.
        check.add(
            pointer(at, "QueryLanguage"), "A state cannot use JSONPath when the state machine uses JSONata"
        )
        return JSONATA
    return str(value)
