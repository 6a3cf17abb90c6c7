"""The ``States.*`` intrinsic functions of JSONPath states: a parser (used at validation, so bad calls
are definition errors) and an evaluator.

Semantics follow the developer guide's "Intrinsic functions for JSONPath states" and, where it is
silent, behaviour recorded on Step Functions: a function given arguments it cannot use fails with
``States.Runtime`` and a cause containing ``Invalid arguments in States.<Name>`` (not
``States.IntrinsicFailure``, which the spec reserves but the service does not raise); numeric
arguments are truncated toward zero (``States.ArrayRange(1.6, 1.4, 1)`` is ``[1]``); a path argument
that selects nothing fails like any other path.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localcloud.asl.errors import RUNTIME, StatesFailure
from localcloud.asl.jsonpath import InvalidPath, PathNotFound, compile_path, evaluate_path


class IntrinsicSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class PathArg:
    path: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Literal | PathArg | Call, ...]


Arg = Literal | PathArg | Call

_NAME = re.compile(r"States\.[A-Za-z0-9]+")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_PATH_END = re.compile(r"[,)\s]")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(f"{message} at position {self.pos} of '{self.text}'")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def call(self) -> Call:
        m = _NAME.match(self.text, self.pos)
        if not m:
            raise self.error("expected an intrinsic function name (States.X)")
        name = m.group(0)
        if name not in FUNCTIONS:
            raise IntrinsicSyntaxError(f"unknown intrinsic function '{name}'")
        self.pos = m.end()
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise self.error("expected '('")
        self.pos += 1
        args: list[Arg] = []
        self.skip_ws()
        if self.pos < len(self.text) and self.text[self.pos] == ")":
            self.pos += 1
            return Call(name, tuple(args))
        while True:
            self.skip_ws()
            args.append(self.arg())
            self.skip_ws()
            if self.pos >= len(self.text):
                raise self.error("expected ',' or ')'")
            ch = self.text[self.pos]
            self.pos += 1
            if ch == ")":
                break
            if ch != ",":
                raise self.error("expected ',' or ')'")
        arity = ARITY[name]
        if not arity[0] <= len(args) <= arity[1]:
            want = str(arity[0]) if arity[0] == arity[1] else f"{arity[0]} to {arity[1]}"
            raise IntrinsicSyntaxError(f"{name} takes {want} argument(s), got {len(args)}")
        return Call(name, tuple(args))

    def arg(self) -> Arg:
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise self.error("expected an argument")
        ch = text[pos]
        if ch == "'":
            return Literal(self.string())
        if text.startswith("States.", pos):
            return self.call()
        if ch == "$":
            end = pos
            depth = 0
            while end < len(text):
                c = text[end]
                if c in "[(":
                    depth += 1
                elif c in "])":
                    if depth == 0:
                        break
                    depth -= 1
                elif c == "," and depth == 0:
                    break
                elif c == "'":  # quoted field inside brackets
                    end = text.index("'", end + 1) if "'" in text[end + 1 :] else len(text)
                end += 1
            path = text[pos:end].strip()
            try:
                compile_path(path)
            except InvalidPath as exc:
                raise IntrinsicSyntaxError(str(exc)) from exc
            self.pos = end
            return PathArg(path)
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, pos):
                self.pos = pos + len(word)
                return Literal(value)
        m = _NUMBER.match(text, pos)
        if m:
            self.pos = m.end()
            num = m.group(0)
            return Literal(float(num) if ("." in num or "e" in num.lower()) else int(num))
        raise self.error("expected a string, number, boolean, null, path or intrinsic function")

    def string(self) -> str:
        # Inside intrinsic strings, backslash escapes ', {, } and \ (the guide's "Escape characters").
        out: list[str] = []
        self.pos += 1
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\\" and self.pos + 1 < len(text):
                out.append("\\" + text[self.pos + 1])
                self.pos += 2
                continue
            if ch == "'":
                self.pos += 1
                return "".join(out)
            out.append(ch)
            self.pos += 1
        raise self.error("unterminated string")


def _unescape(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw)


def is_intrinsic(text: Any) -> bool:
    return isinstance(text, str) and text.startswith("States.")


@functools.lru_cache(maxsize=2048)
def parse_intrinsic(text: str) -> Call:
    """Parse ``States.Fn(...)``. Raises :class:`IntrinsicSyntaxError`."""
    p = _Parser(text.strip())
    call = p.call()
    p.skip_ws()
    if p.pos != len(p.text):
        raise p.error("unexpected text after the call")
    return call


class Resolver:
    """What path arguments read: the effective input, the context object and the variables."""

    def __init__(
        self, data: Any, context: Callable[[], Any], variables: Callable[[str], Any], field: str = ""
    ) -> None:
        self.data = data
        self.context = context
        self.variables = variables
        self.field = field

    def path(self, text: str) -> Any:
        try:
            ctx = self.context() if text.startswith("$$") else None
            return evaluate_path(text, self.data, context=ctx, variables=self.variables)
        except PathNotFound as exc:
            shown = json.dumps(self.data, separators=(",", ":"), ensure_ascii=False)
            raise StatesFailure(
                RUNTIME,
                f"The JSONPath '{text}' specified for the field '{self.field}' "
                f"could not be found in the input '{shown}'",
            ) from exc


def evaluate_intrinsic(text: str, resolver: Resolver) -> Any:
    return _eval_call(parse_intrinsic(text), resolver)


def _eval_arg(arg: Arg, resolver: Resolver) -> Any:
    if isinstance(arg, Literal):
        return _unescape(arg.value) if isinstance(arg.value, str) else arg.value
    if isinstance(arg, PathArg):
        return resolver.path(arg.path)
    return _eval_call(arg, resolver)


def _eval_call(call: Call, resolver: Resolver) -> Any:
    if call.name == "States.Format":
        # The template keeps its escapes so that \{ and \} are not placeholders.
        first = call.args[0]
        if not (isinstance(first, Literal) and isinstance(first.value, str)):
            template_value = _eval_arg(first, resolver)
            if not isinstance(template_value, str):
                raise _fail(call.name, "the first argument must be a string")
            template = template_value.replace("\\", "\\\\")
        else:
            template = first.value
        return _format(template, [_eval_arg(a, resolver) for a in call.args[1:]])
    args = [_eval_arg(a, resolver) for a in call.args]
    return FUNCTIONS[call.name](*args)


def _fail(name: str, message: str) -> StatesFailure:
    return StatesFailure(RUNTIME, f"Invalid arguments in {name}: {message}")


def _list(value: Any, name: str) -> None:
    if not isinstance(value, list):
        raise _fail(name, "the array argument must be a JSON array")


def _int(value: Any, name: str, what: str) -> int:
    """A numeric argument, truncated toward zero as the service does; anything else fails."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(name, f"{what} must be a number")
    return int(value)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _format(template: str, args: list[Any]) -> str:
    out: list[str] = []
    used = 0
    i = 0
    while i < len(template):
        ch = template[i]
        if ch == "\\" and i + 1 < len(template):
            out.append(template[i + 1])
            i += 2
            continue
        if ch == "}" or (ch == "{" and not template.startswith("{}", i)):
            raise _fail("States.Format", "unescaped '{' or '}' outside a '{}' placeholder")
        if template.startswith("{}", i):
            if used >= len(args):
                raise _fail("States.Format", "the template has more placeholders than arguments")
            out.append(_format_argument(args[used]))
            used += 1
            i += 2
            continue
        out.append(ch)
        i += 1
    if used != len(args):
        raise _fail("States.Format", "the number of arguments does not match the placeholders")
    return "".join(out)


def _format_argument(value: Any) -> str:
    """How States.Format writes an argument, as recorded on AWS (LocalStack's snapshot tests
    test_generic.py::test_format_2 and test_context_json_path, aws.validated): a string as it is,
    an object as ``{Arg1=1, Arg2=[]}``, an array as ``[a, b]`` (their members written the same
    way, so strings inside are not quoted either), anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_format_argument(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_format_argument(v)}" for k, v in value.items()) + "}"
    return _json(value)


def _string_to_json(value: Any) -> Any:
    if not isinstance(value, str):
        raise _fail("States.StringToJson", "the argument must be a string")
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise _fail("States.StringToJson", f"the string is not valid JSON ({exc})") from exc


def _json_to_string(value: Any) -> Any:
    return _json(value)


def _array(*values: Any) -> Any:
    return list(values)


def _array_partition(array: Any, size: Any) -> Any:
    _list(array, "States.ArrayPartition")
    n = _int(size, "States.ArrayPartition", "the chunk size")
    if n < 1:
        raise _fail("States.ArrayPartition", "the chunk size must be a positive integer")
    return [array[i : i + n] for i in range(0, len(array), n)]


def _array_contains(array: Any, value: Any) -> Any:
    _list(array, "States.ArrayContains")
    return any(_json_equal(item, value) for item in array)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _array_range(start: Any, end: Any, step: Any) -> Any:
    name = "States.ArrayRange"
    first, last, by = _int(start, name, "start"), _int(end, name, "end"), _int(step, name, "step")
    if by == 0:
        raise _fail(name, "the step must not be 0")
    values = list(range(first, last + (1 if by > 0 else -1), by))
    if len(values) > 1000:
        raise _fail("States.ArrayRange", "the result would have more than 1000 items")
    return values


def _array_get_item(array: Any, index: Any) -> Any:
    _list(array, "States.ArrayGetItem")
    position = _int(index, "States.ArrayGetItem", "the index")
    if position < 0:
        raise _fail("States.ArrayGetItem", "the index must be a non-negative integer")
    if not array:
        return None  # recorded on the service: any index into an empty array gives null
    if position >= len(array):
        raise _fail("States.ArrayGetItem", f"the index {position} is out of bounds ({len(array)} items)")
    return array[position]


def _array_length(array: Any) -> Any:
    _list(array, "States.ArrayLength")
    return len(array)


def _array_unique(array: Any) -> Any:
    _list(array, "States.ArrayUnique")
    out: list[Any] = []
    seen: set[str] = set()
    for item in array:
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _base64_encode(value: Any) -> Any:
    if not isinstance(value, str):
        raise _fail("States.Base64Encode", "the argument must be a string")
    if len(value) > 10000:
        raise _fail("States.Base64Encode", "the input exceeds 10,000 characters")
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def _base64_decode(value: Any) -> Any:
    if not isinstance(value, str):
        raise _fail("States.Base64Decode", "the argument must be a string")
    if len(value) > 10000:
        raise _fail("States.Base64Decode", "the input exceeds 10,000 characters")
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _fail("States.Base64Decode", f"the argument is not valid base64 ({exc})") from exc


_HASH_ALGORITHMS = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(data: Any, algorithm: Any) -> Any:
    if algorithm not in _HASH_ALGORITHMS:
        raise _fail("States.Hash", f"the algorithm must be one of {', '.join(_HASH_ALGORITHMS)}")
    text = data if isinstance(data, str) else _json(data)
    if len(text) > 10000:
        raise _fail("States.Hash", "the input exceeds 10,000 characters")
    return hashlib.new(_HASH_ALGORITHMS[algorithm], text.encode("utf-8")).hexdigest()


def _json_merge(a: Any, b: Any, deep: Any) -> Any:
    if not isinstance(a, dict) or not isinstance(b, dict):
        raise _fail("States.JsonMerge", "both objects to merge must be JSON objects")
    if deep is not False:
        raise _fail("States.JsonMerge", "only a shallow merge is supported: the third argument must be false")
    return {**a, **b}


_NO_SEED = object()


def _math_random(start: Any, end: Any, seed: Any = _NO_SEED) -> Any:
    name = "States.MathRandom"
    low, high = _int(start, name, "start"), _int(end, name, "end")
    if low >= high:
        raise _fail(name, "start must be less than end")
    if seed is _NO_SEED:
        return random.randrange(low, high)
    return random.Random(_int(seed, name, "the seed")).randrange(low, high)


def _math_add(a: Any, b: Any) -> Any:
    return _int(a, "States.MathAdd", "the first value") + _int(b, "States.MathAdd", "the second value")


def _string_split(value: Any, delimiters: Any) -> Any:
    if not isinstance(value, str) or not isinstance(delimiters, str):
        raise _fail("States.StringSplit", "both arguments must be strings")
    if not delimiters:
        return [value]
    pattern = "[" + re.escape(delimiters) + "]"
    return [part for part in re.split(pattern, value) if part != ""]


def _uuid() -> Any:
    return str(uuid.uuid4())


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "States.Format": _format,
    "States.StringToJson": _string_to_json,
    "States.JsonToString": _json_to_string,
    "States.Array": _array,
    "States.ArrayPartition": _array_partition,
    "States.ArrayContains": _array_contains,
    "States.ArrayRange": _array_range,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": _array_length,
    "States.ArrayUnique": _array_unique,
    "States.Base64Encode": _base64_encode,
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.MathRandom": _math_random,
    "States.MathAdd": _math_add,
    "States.StringSplit": _string_split,
    "States.UUID": _uuid,
}

ARITY: dict[str, tuple[int, int]] = {
    "States.Format": (1, 10_000),
    "States.StringToJson": (1, 1),
    "States.JsonToString": (1, 1),
    "States.Array": (0, 10_000),
    "States.ArrayPartition": (2, 2),
    "States.ArrayContains": (2, 2),
    "States.ArrayRange": (3, 3),
    "States.ArrayGetItem": (2, 2),
    "States.ArrayLength": (1, 1),
    "States.ArrayUnique": (1, 1),
    "States.Base64Encode": (1, 1),
    "States.Base64Decode": (1, 1),
    "States.Hash": (2, 2),
    "States.JsonMerge": (3, 3),
    "States.MathRandom": (2, 3),
    "States.MathAdd": (2, 2),
    "States.StringSplit": (2, 2),
    "States.UUID": (0, 0),
}
