"""JSONata, the way Step Functions runs it: one evaluate function (:func:`evaluate_jsonata`).

jsonata-python does the language; this module adds what Step Functions adds: the ``$states``
binding, workflow variables, the functions ``$partition``, ``$range``, ``$hash``, ``$random``,
``$uuid``, ``$parse``, a ``$now``/``$millis`` on the execution's clock, and ``$eval`` removed.
Every failure becomes ``States.QueryEvaluationError``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from jsonata import Jsonata
from jsonata.jexception import JException
from jsonata.utils import Utils

from localcloud.asl.errors import QUERY_EVALUATION_ERROR, StatesFailure
from localcloud.asl.js_regex import js_regex_engine

_NULL = Utils.NULL_VALUE
_JSONATA_LOCK = threading.Lock()


class JsonataSyntaxError(ValueError):
    pass


class Undefined(LookupError):
    """The expression evaluated to nothing (JSONata's undefined)."""


class UnsupportedResult(TypeError):
    """The expression evaluated to something that is not JSON: a function or a regular expression."""


def is_expression(value: Any) -> bool:
    """A JSONata field value: a string wrapped in ``{%`` and ``%}``."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}") and len(value) >= 4


def expression_body(value: str) -> str:
    return value[2:-2].strip()


@functools.lru_cache(maxsize=4096)
def compile_jsonata(body: str) -> Jsonata:
    """Parse once (cached). Raises :class:`JsonataSyntaxError`."""
    try:
        with _JSONATA_LOCK:  # the parser is per-thread but construction touches shared statics
            expr = Jsonata(body, js_regex_engine)
    except JException as exc:
        raise JsonataSyntaxError(str(exc)) from exc
    except Exception as exc:  # the parser raises plain exceptions on some malformed inputs
        raise JsonataSyntaxError(str(exc)) from exc
    if expr.get_errors():
        raise JsonataSyntaxError("; ".join(str(e) for e in expr.get_errors() or []))
    expr.set_output_convert_nulls(False)
    return expr


def check_syntax(value: str) -> str | None:
    """The syntax error of a ``{% %}`` string, or None."""
    try:
        compile_jsonata(expression_body(value))
    except JsonataSyntaxError as exc:
        return str(exc)
    return None


# ---- Step Functions' own functions -------------------------------------------------------------


def _fail(message: str) -> StatesFailure:
    return StatesFailure(QUERY_EVALUATION_ERROR, message)


def _partition(array: Any, size: Any) -> Any:
    if not isinstance(array, list):
        array = [array]
    if not isinstance(size, int | float) or isinstance(size, bool) or size < 1 or int(size) != size:
        raise _fail("$partition: the chunk size must be a positive integer")
    n = int(size)
    return [array[i : i + n] for i in range(0, len(array), n)]


def _range(start: Any, end: Any, step: Any = None) -> Any:
    step = 1 if step is None else step
    for name, v in (("start", start), ("end", end), ("step", step)):
        if not isinstance(v, int | float) or isinstance(v, bool) or int(v) != v:
            raise _fail(f"$range: the {name} must be an integer")
    if step == 0:
        raise _fail("$range: the step must not be 0")
    out: list[int] = []
    i = int(start)
    # Inclusive of end, as States.ArrayRange; the same 1000-item cap.
    while (step > 0 and i <= end) or (step < 0 and i >= end):
        out.append(i)
        if len(out) > 1000:
            raise _fail("$range: the result has more than 1000 items")
        i += int(step)
    return out


_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _hash(data: Any, algorithm: Any = "SHA-256") -> Any:
    if not isinstance(data, str):
        raise _fail("$hash: the data to hash must be a string")
    if algorithm not in _HASHES:
        raise _fail(f"$hash: the algorithm must be one of {', '.join(_HASHES)}")
    return hashlib.new(_HASHES[algorithm], data.encode("utf-8")).hexdigest()


def _random(seed: Any = None) -> Any:
    if seed is None:
        return random.random()
    return random.Random(seed).random()


def _uuid() -> Any:
    return str(uuid.uuid4())


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise _fail("$parse: the argument must be a JSON string")
    try:
        return to_jsonata(json.loads(text))
    except json.JSONDecodeError as exc:
        raise _fail(f"$parse: the string is not valid JSON: {exc}") from exc


def _no_eval(*_args: Any) -> Any:
    raise _fail("$eval is not supported in Step Functions; use $parse")


_SFN_FUNCTIONS: dict[str, Any] = {
    "partition": Jsonata.JLambda(_partition),
    "range": Jsonata.JLambda(_range),
    "hash": Jsonata.JLambda(_hash),
    "random": Jsonata.JLambda(_random),
    "uuid": Jsonata.JLambda(_uuid),
    "parse": Jsonata.JLambda(_parse),
    "eval": Jsonata.JLambda(_no_eval),
}


def clock_functions(now_iso: Callable[[], str], now_millis: Callable[[], int]) -> dict[str, Any]:
    """``$now()`` and ``$millis()`` reading the execution's clock (a virtual one in tests)."""
    return {
        "now": Jsonata.JLambda(lambda *_a: now_iso()),
        "millis": Jsonata.JLambda(lambda *_a: now_millis()),
    }


# ---- value conversion ----------------------------------------------------------------------------


def to_jsonata(value: Any) -> Any:
    """A JSON value as a binding: JSON null must be JSONata null, not undefined (Python None)."""
    return _NULL if value is None else value


def from_jsonata(value: Any) -> Any:
    """A JSONata result as JSON: nulls back to None, whole floats to ints (JSON has one number type)."""
    if value is _NULL:
        return None
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        if not math.isfinite(value):
            raise _fail("the expression produced a number that is not finite")
        return value
    # Inside a result, None is JSON null taken from the input data (jsonata-python leaves undefined
    # out of the objects and arrays it builds, and marks a null it computes as NULL_VALUE).
    if isinstance(value, dict):
        return {k: from_jsonata(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_jsonata(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    # A function ($sum, a lambda, a partial application) or a regular expression.
    raise UnsupportedResult(type(value).__name__)


def evaluate_jsonata(body: str, bindings: Mapping[str, Any]) -> Any:
    """Evaluate a JSONata expression (without the ``{% %}``) with variable ``bindings``.

    Returns a JSON value. Raises :class:`Undefined` when the result is undefined,
    :class:`UnsupportedResult` when it is not JSON (a function, a regular expression) and
    ``StatesFailure(States.QueryEvaluationError)`` when evaluation fails.
    """
    try:
        expr = compile_jsonata(body)
    except JsonataSyntaxError as exc:
        raise _fail(f"the JSONata expression '{body}' is invalid: {exc}") from exc
    env: dict[str, Any] = dict(_SFN_FUNCTIONS)
    for name, value in bindings.items():
        env[name] = to_jsonata(value)
    # Higher-order built-ins ($map, $filter, ...) reach the evaluator through a per-thread slot that
    # only construction fills; set it to this expression for worker threads that never parsed one.
    Jsonata.CURRENT.jsonata = expr
    try:
        result = expr.evaluate(None, env)
    except StatesFailure:
        raise
    except RecursionError as exc:
        raise _fail(f"the JSONata expression '{body}' recursed too deeply") from exc
    except Exception as exc:
        cause = exc.__cause__
        if isinstance(cause, StatesFailure):
            raise cause from exc
        raise _fail(f"{exc}") from exc
    if result is None:
        raise Undefined(body)
    return from_jsonata(result)
