"""Evaluating the data fields of states: JSONPath payload templates (``.$`` keys, paths,
intrinsics) and JSONata templates (``{% %}`` strings anywhere in a value)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from localcloud.asl.errors import QUERY_EVALUATION_ERROR, RUNTIME, StatesFailure
from localcloud.asl.intrinsics import Resolver, evaluate_intrinsic, is_intrinsic
from localcloud.asl.jsonata_eval import (
    Undefined,
    UnsupportedResult,
    evaluate_jsonata,
    expression_body,
    is_expression,
)
from localcloud.asl.jsonpath import PathNotFound, bracket_notation, evaluate_path


def to_json(value: Any) -> str:
    """Compact JSON, as Step Functions writes input and output into history and API answers."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def select_path(
    text: str,
    data: Any,
    *,
    field: str,
    context: Callable[[], Any],
    variables: Callable[[str], Any],
) -> Any:
    """Evaluate a path field (InputPath, OutputPath, ItemsPath, SecondsPath, ...) or fail as AWS does."""
    try:
        return evaluate_path(
            text, data, context=context() if text.startswith("$$") else None, variables=variables
        )
    except PathNotFound as exc:
        # The service's wording, Jayway JsonPath's (the field is not named in it).
        found = (
            f"Missing property in path {bracket_notation(text, exc.missing)}"
            if exc.missing is not None
            else f"No results for path: {bracket_notation(text)}"
        )
        raise StatesFailure(RUNTIME, f"Invalid path '{text}' : {found}") from exc


def eval_jsonpath_template(
    template: Any,
    data: Any,
    *,
    context: Callable[[], Any],
    variables: Callable[[str], Any],
) -> Any:
    """A JSONPath payload template: keys ending ``.$`` take a path or intrinsic's value."""
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _dynamic(key, value, data, context, variables)
            else:
                out[key] = eval_jsonpath_template(value, data, context=context, variables=variables)
        return out
    if isinstance(template, list):
        return [eval_jsonpath_template(v, data, context=context, variables=variables) for v in template]
    return template


def _dynamic(
    key: str, value: str, data: Any, context: Callable[[], Any], variables: Callable[[str], Any]
) -> Any:
    if is_intrinsic(value):
        return evaluate_intrinsic(value, Resolver(data, context, variables, key))
    try:
        return evaluate_path(
            value, data, context=context() if value.startswith("$$") else None, variables=variables
        )
    except PathNotFound as exc:
        source = "the context object" if value.startswith("$$") else "the input"
        shown = "" if value.startswith("$$") else f" '{_short(data)}'"
        raise StatesFailure(
            RUNTIME,
            f"The JSONPath '{value}' specified for the field '{key}' could not be found in {source}{shown}",
        ) from exc


def _short(data: Any) -> str:
    text = to_json(data)
    return text if len(text) <= 1000 else text[:1000] + "..."


def eval_jsonata_template(template: Any, bindings: Mapping[str, Any], *, field: str) -> Any:
    """A JSONata template: every ``{% %}`` string inside ``template`` is replaced by its value."""
    if isinstance(template, str):
        if is_expression(template):
            body = expression_body(template)
            try:
                return evaluate_jsonata(body, bindings)
            except Undefined as exc:
                raise _at(
                    field,
                    f"The JSONata expression '{body}' specified for the field '{field}' "
                    "returned nothing (undefined).",
                ) from exc
            except UnsupportedResult as exc:
                # Worded as LocalStack's emulation words it for Items, and as AWS words undefined.
                raise _at(
                    field,
                    f"The JSONata expression '{body}' specified for the field '{field}' "
                    "returned an unsupported result type.",
                ) from exc
            except StatesFailure as exc:
                if exc.error == QUERY_EVALUATION_ERROR and exc.location is None:
                    raise _at(
                        field,
                        f"An error occurred while evaluating the JSONata expression '{body}' "
                        f"specified for the field '{field}': {exc.cause}",
                    ) from exc
                raise
        return template
    if isinstance(template, dict):
        return {
            k: eval_jsonata_template(v, bindings, field=f"{field}/{k}" if field else k)
            for k, v in template.items()
        }
    if isinstance(template, list):
        return [eval_jsonata_template(v, bindings, field=f"{field}[{i}]") for i, v in enumerate(template)]
    return template


def _at(field: str, cause: str) -> StatesFailure:
    failure = StatesFailure(QUERY_EVALUATION_ERROR, cause)
    failure.location = field
    return failure


def has_expression(template: Any) -> bool:
    if isinstance(template, str):
        return is_expression(template)
    if isinstance(template, dict):
        return any(has_expression(v) for v in template.values())
    if isinstance(template, list):
        return any(has_expression(v) for v in template)
    return False
