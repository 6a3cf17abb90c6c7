"""EventBridge event patterns, as AWS's "Event patterns" and "Content filtering" pages describe them.

Staged like the interpreter: :func:`compile_pattern` parses and checks a pattern once (PutRule,
TestEventPattern), collecting the first problem as AWS's ``InvalidEventPatternException`` reason;
:meth:`Pattern.matches` then runs many times, one event at a time.

The model is EventBridge's own: the event is read as a set of paths to leaf values. A field of the
pattern names a path; the event's values at that path are every scalar found there, arrays
flattened at any depth (an array of objects contributes each object's field). The field matches when
any of its matchers matches any of those values (``exists`` looks at whether there is any). All
fields must match, and each ``$or`` needs one of its alternatives to match.

Values keep JSON's types: a string never equals a number, ``null`` is not ``""``, and numbers
compare by their text for exact matching ("300, 300.0 and 3.0e2 are not considered equal"),
by value for ``numeric``.

Supported, as on an event bus: exact values (strings, numbers, booleans, null), ``prefix`` and
``suffix`` (each also with ``equals-ignore-case``), ``equals-ignore-case``, ``anything-but`` (a
value, a list of strings or of numbers, or ``prefix``, ``suffix``, ``equals-ignore-case`` or
``wildcard``), ``numeric`` ranges, ``exists``, ``cidr``, ``wildcard`` and ``$or``. Any other
operator is refused with AWS's reason, "Unrecognized match type <operator>".
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

NUMERIC_LIMIT = 5.0e9  # numeric matching works on values in [-5.0e9, +5.0e9]
OR = "$or"


class PatternError(ValueError):
    """The pattern is not valid; ``reason`` is what follows "Event pattern is not valid. Reason: "."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------
# JSON with numbers that keep their text
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    """A JSON number as written: exact matching compares ``text``, numeric matching ``value``."""

    text: str
    value: float


def _number(text: str) -> Number:
    return Number(text, float(text))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_json(text: str) -> Any:
    """JSON text to Python with :class:`Number` for numbers (raises ValueError when not JSON)."""
    return json.loads(text, parse_int=_number, parse_float=_number, parse_constant=_no_constant)


Scalar = str | Number | bool | None


# --------------------------------------------------------------------------------------------
# Matchers of one value
# --------------------------------------------------------------------------------------------


class Matcher:
    """One entry of a field's array: matches the field's values (all of them, for ``exists``)."""

    def matches(self, values: Sequence[Scalar]) -> bool:
        return any(self.test(value) for value in values)

    def test(self, value: Scalar) -> bool:
        raise NotImplementedError


def _same(a: Scalar, b: Scalar) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, Number) and isinstance(b, Number):
        return a.text == b.text
    return isinstance(a, str) and isinstance(b, str) and a == b


@dataclass(frozen=True)
class Exact(Matcher):
    expected: Scalar

    def test(self, value: Scalar) -> bool:
        return _same(self.expected, value)


@dataclass(frozen=True)
class Affix(Matcher):
    """``prefix`` (or, with ``at_end``, ``suffix``), optionally ignoring case: strings only."""

    text: str
    ignore_case: bool = False
    at_end: bool = False

    def test(self, value: Scalar) -> bool:
        if not isinstance(value, str):
            return False
        text = self.text
        if self.ignore_case:
            text, value = text.lower(), value.lower()
        return value.endswith(text) if self.at_end else value.startswith(text)


@dataclass(frozen=True)
class EqualsIgnoreCase(Matcher):
    text: str

    def test(self, value: Scalar) -> bool:
        return isinstance(value, str) and value.lower() == self.text.lower()


@dataclass(frozen=True)
class Wildcard(Matcher):
    text: str
    regex: re.Pattern[str]

    def test(self, value: Scalar) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None


@dataclass(frozen=True)
class Numeric(Matcher):
    lower: tuple[str, float] | None  # (">" or ">=", bound)
    upper: tuple[str, float] | None  # ("<" or "<=", bound)
    equal: float | None = None

    def test(self, value: Scalar) -> bool:
        if not isinstance(value, Number):
            return False
        number = value.value
        if self.equal is not None:
            return number == self.equal
        if self.lower is not None:
            op, bound = self.lower
            if not (number > bound if op == ">" else number >= bound):
                return False
        if self.upper is not None:
            op, bound = self.upper
            if not (number < bound if op == "<" else number <= bound):
                return False
        return True


@dataclass(frozen=True)
class Cidr(Matcher):
    network: ipaddress.IPv4Network | ipaddress.IPv6Network

    def test(self, value: Scalar) -> bool:
        if not isinstance(value, str):
            return False
        try:
            return ipaddress.ip_address(value) in self.network
        except ValueError:
            return False


@dataclass(frozen=True)
class AnythingBut(Matcher):
    """Matches a value none of ``excluded`` matches (the field must be present: a missing field has
    no value to be "anything but")."""

    excluded: tuple[Matcher, ...]

    def test(self, value: Scalar) -> bool:
        return not any(matcher.test(value) for matcher in self.excluded)


@dataclass(frozen=True)
class Exists(Matcher):
    present: bool

    def matches(self, values: Sequence[Scalar]) -> bool:
        return bool(values) == self.present

    def test(self, value: Scalar) -> bool:  # pragma: no cover - matches() decides
        return self.present


# --------------------------------------------------------------------------------------------
# The compiled pattern
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    path: tuple[str, ...]
    matchers: tuple[Matcher, ...]

    def matches(self, event: Any) -> bool:
        values = list(leaf_values(event, self.path))
        return any(matcher.matches(values) for matcher in self.matchers)


@dataclass(frozen=True)
class Pattern:
    """All ``fields`` match, and each group of ``alternatives`` has one that matches."""

    fields: tuple[Field, ...]
    alternatives: tuple[tuple[Pattern, ...], ...] = ()

    def matches(self, event: Any) -> bool:
        """``event``: the event as :func:`load_json` reads it (numbers as :class:`Number`)."""
        return all(f.matches(event) for f in self.fields) and all(
            any(option.matches(event) for option in group) for group in self.alternatives
        )

    def matches_json(self, text: str) -> bool:
        return self.matches(load_json(text))


def leaf_values(node: Any, path: Sequence[str]) -> Iterator[Scalar]:
    """The scalar values at ``path`` in ``node``, arrays flattened at every level."""
    if isinstance(node, list):
        for item in node:
            yield from leaf_values(item, path)
    elif not path:
        if not isinstance(node, dict):
            yield node
    elif isinstance(node, dict) and path[0] in node:
        yield from leaf_values(node[path[0]], path[1:])


# --------------------------------------------------------------------------------------------
# Compiling
# --------------------------------------------------------------------------------------------


def compile_pattern(text: str) -> Pattern:
    """Parse and check ``text``; raises :class:`PatternError` with AWS's kind of reason."""
    try:
        document = load_json(text)
    except ValueError as exc:
        raise PatternError(f"Filter is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise PatternError("Filter is not an object")
    return _object(document, ())


def _object(document: dict[str, Any], prefix: tuple[str, ...]) -> Pattern:
    fields: list[Field] = []
    groups: list[tuple[Pattern, ...]] = []
    for key, value in document.items():
        path = (*prefix, key)
        if key == OR and isinstance(value, list):
            groups.append(_alternatives(value, prefix))
        elif isinstance(value, dict):
            nested = _object(value, path)
            fields.extend(nested.fields)
            groups.extend(nested.alternatives)
        elif isinstance(value, list):
            if not value:
                raise PatternError(f"Empty arrays are not allowed (field {'.'.join(path)})")
            fields.append(Field(path, tuple(_matcher(item, path) for item in value)))
        else:
            raise PatternError(f"'{'.'.join(path)}' must be an object or an array")
    return Pattern(tuple(fields), tuple(groups))


def _alternatives(options: list[Any], prefix: tuple[str, ...]) -> tuple[Pattern, ...]:
    if not options or not all(isinstance(option, dict) and option for option in options):
        raise PatternError('"$or" must be an array of non-empty objects')
    return tuple(_object(option, prefix) for option in options)


def _matcher(item: Any, path: tuple[str, ...]) -> Matcher:
    if item is None or isinstance(item, str | bool | Number):
        return Exact(item)
    if not isinstance(item, dict):
        raise PatternError("Match value must be String, number, true, false, or null")
    if len(item) != 1:
        names = ", ".join(item) or "none"
        raise PatternError(f"A match expression has exactly one operator (found: {names})")
    ((operator, value),) = item.items()
    builder = _OPERATORS.get(operator)
    if builder is None:
        raise PatternError(f"Unrecognized match type {operator}")
    return builder(value, path)


def _string(value: Any, operator: str) -> str:
    if not isinstance(value, str):
        raise PatternError(f"{operator} match pattern must be a string")
    return value


Builder = Callable[[Any, tuple[str, ...]], Matcher]


def _affix(operator: str) -> Builder:
    at_end = operator == "suffix"

    def build(value: Any, path: tuple[str, ...]) -> Matcher:
        if isinstance(value, dict) and set(value) == {"equals-ignore-case"}:
            return Affix(_string(value["equals-ignore-case"], f"{operator}/equals-ignore-case"), True, at_end)
        if isinstance(value, dict):
            raise PatternError(f"Unsupported {operator} pattern: {json.dumps(list(value))}")
        return Affix(_string(value, operator), at_end=at_end)

    return build


def _equals_ignore_case(value: Any, path: tuple[str, ...]) -> Matcher:
    return EqualsIgnoreCase(_string(value, "equals-ignore-case"))


def _wildcard(value: Any, path: tuple[str, ...]) -> Matcher:
    text = _string(value, "wildcard")
    parts: list[str] = []
    position = 0
    previous_star = False
    while position < len(text):
        char = text[position]
        if char == "\\":
            following = text[position + 1 : position + 2]
            if following not in ("*", "\\"):
                raise PatternError(f"Invalid escape character at pos {position}")
            parts.append(re.escape(following))
            position += 2
            previous_star = False
            continue
        if char == "*":
            if previous_star:
                raise PatternError(f"Consecutive wildcard characters at pos {position}")
            parts.append(".*")
            previous_star = True
        else:
            parts.append(re.escape(char))
            previous_star = False
        position += 1
    return Wildcard(text, re.compile("".join(parts), re.DOTALL))


def _bound(value: Any) -> float:
    if not isinstance(value, Number):
        raise PatternError("Value of numeric match must be a number")
    if not -NUMERIC_LIMIT <= value.value <= NUMERIC_LIMIT:
        raise PatternError("Value must be between -5.0E9 and 5.0E9, inclusive")
    return value.value


def _numeric(value: Any, path: tuple[str, ...]) -> Matcher:
    if not isinstance(value, list) or len(value) not in (2, 4):
        raise PatternError("Value of numeric must be an array of one or two comparisons: [op, number, ...]")
    first, first_bound = value[0], _bound(value[1])
    if len(value) == 2:
        if first == "=":
            return Numeric(None, None, equal=first_bound)
        if first in (">", ">="):
            return Numeric((first, first_bound), None)
        if first in ("<", "<="):
            return Numeric(None, (first, first_bound))
        raise PatternError(f"Unrecognized numeric range operator: {first}")
    second, second_bound = value[2], _bound(value[3])
    if first not in (">", ">="):
        raise PatternError(f"Bad numeric range operator: {first} (a range starts with > or >=)")
    if second not in ("<", "<="):
        raise PatternError(f"Bad numeric range operator: {second} (a range ends with < or <=)")
    if not first_bound < second_bound:
        raise PatternError("Bottom must be less than top")
    return Numeric((first, first_bound), (second, second_bound))


def _exists(value: Any, path: tuple[str, ...]) -> Matcher:
    if not isinstance(value, bool):
        raise PatternError("exists match pattern must be either true or false")
    return Exists(value)


def _cidr(value: Any, path: tuple[str, ...]) -> Matcher:
    text = _string(value, "cidr")
    try:
        return Cidr(ipaddress.ip_network(text, strict=False))
    except ValueError as exc:
        raise PatternError(f"Nonsensical CIDR IP argument: {text}") from exc


def _anything_but(value: Any, path: tuple[str, ...]) -> Matcher:
    if value is None or isinstance(value, str | Number | bool):
        return AnythingBut((Exact(value),))
    if isinstance(value, list):
        if not value:
            raise PatternError("Empty arrays are not allowed (anything-but)")
        strings = all(isinstance(item, str) for item in value)
        numbers = all(isinstance(item, Number) for item in value)
        if not (strings or numbers):
            raise PatternError("An anything-but list holds only strings or only numbers")
        return AnythingBut(tuple(Exact(item) for item in value))
    if isinstance(value, dict) and len(value) == 1:
        ((operator, inner),) = value.items()
        if operator in ("prefix", "suffix"):
            return AnythingBut(
                (Affix(_string(inner, f"anything-but/{operator}"), at_end=operator == "suffix"),)
            )
        if operator in ("equals-ignore-case", "wildcard"):
            items = inner if isinstance(inner, list) and inner else [inner]
            build: Builder = _equals_ignore_case if operator == "equals-ignore-case" else _wildcard
            return AnythingBut(tuple(build(item, path) for item in items))
        raise PatternError(f"Unsupported anything-but pattern: {operator}")
    raise PatternError("Value of anything-but must be an array or single string/number value.")


_OPERATORS: dict[str, Builder] = {
    "prefix": _affix("prefix"),
    "suffix": _affix("suffix"),
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "numeric": _numeric,
    "exists": _exists,
    "cidr": _cidr,
    "anything-but": _anything_but,
}
