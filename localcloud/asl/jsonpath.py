"""JSONPath, the way Step Functions reads it: one evaluate function (:func:`evaluate_path`) and the
reference-path writer that ResultPath uses (:func:`set_reference_path`).

Simple paths (``$.a.b[0]['c d']``) are compiled into a list of steps and walked directly, which is
most of what definitions use and many times faster; anything else (wildcards, filters, slices,
unions, recursive descent) goes to jsonpath-ng's extended parser.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from jsonpath_ng.ext.parser import parse as _ng_parse


class PathNotFound(LookupError):
    """The path selected nothing in the data. ``missing`` is how many of its steps lead to the
    object that lacks the next property, when that property is not the path's last step (Jayway
    JsonPath, which AWS runs, reports a missing intermediate property as "Missing property in path
    $['a']" and a missing last one as "No results for path: $['a']['b']")."""

    def __init__(self, text: str, missing: int | None = None) -> None:
        super().__init__(text)
        self.missing = missing


class InvalidPath(ValueError):
    """The path is not a JSONPath Step Functions accepts."""


_STEP = re.compile(
    r"""\.(?P<field>[^.\[\]'"*@?:,()\s$]+)      # .field
    |\[(?P<index>-?\d+)\]                        # [3]
    |\['(?P<qfield>(?:[^'\\]|\\.)*)'\]            # ['any field']
    |\["(?P<dqfield>(?:[^"\\]|\\.)*)"\]           # ["any field"]
    """,
    re.VERBOSE,
)

Step = str | int


def _simple_steps(path: str, start: int) -> list[Step] | None:
    """The steps of a definite path after its root, or None when the path needs jsonpath-ng."""
    steps: list[Step] = []
    pos = start
    while pos < len(path):
        m = _STEP.match(path, pos)
        if not m:
            return None
        if m.group("field") is not None:
            steps.append(m.group("field"))
        elif m.group("index") is not None:
            steps.append(int(m.group("index")))
        elif m.group("qfield") is not None:
            steps.append(m.group("qfield").replace("\\'", "'"))
        else:
            steps.append(m.group("dqfield").replace('\\"', '"'))
        pos = m.end()
    return steps


class CompiledPath:
    """A parsed JSONPath. ``definite`` paths yield one value; the others yield a list."""

    __slots__ = ("_getter", "definite", "root", "steps", "text")

    def __init__(self, text: str, root: str, steps: list[Step] | None, getter: Callable[[Any], Any]) -> None:
        self.text = text
        self.root = root  # "$" (the data), "$$" (context object) or "$name" (a variable)
        self.steps = steps
        self.definite = steps is not None
        self._getter = getter

    def get(self, data: Any) -> Any:
        return self._getter(data)


def _walk(steps: list[Step], text: str) -> Callable[[Any], Any]:
    def getter(data: Any) -> Any:
        cur = data
        last = len(steps) - 1
        for i, step in enumerate(steps):
            if isinstance(step, int):
                if not isinstance(cur, list) or not -len(cur) <= step < len(cur):
                    raise PathNotFound(text)
                cur = cur[step]
            else:
                if not isinstance(cur, dict) or step not in cur:
                    intermediate = isinstance(cur, dict) and i < last
                    raise PathNotFound(text, missing=i + 1 if intermediate else None)
                cur = cur[step]
        return cur

    return getter


def _ng(expr_text: str, text: str) -> Callable[[Any], Any]:
    try:
        expr = _ng_parse(expr_text)
    except Exception as exc:  # jsonpath-ng raises bare Exceptions for syntax errors
        raise InvalidPath(f"invalid JSONPath '{text}': {exc}") from exc

    def getter(data: Any) -> Any:
        return [m.value for m in expr.find(data)]

    return getter


_ROOT = re.compile(r"^(\$\$|\$[A-Za-z_][A-Za-z0-9_]*|\$)")


@functools.lru_cache(maxsize=4096)
def compile_path(text: str) -> CompiledPath:
    """Parse ``text`` once (cached). Raises :class:`InvalidPath`."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise InvalidPath(f"invalid JSONPath '{text}': a path starts with '$'")
    m = _ROOT.match(text)
    assert m is not None
    root = m.group(1)
    steps = _simple_steps(text, m.end())
    if steps is not None:
        return CompiledPath(text, root, steps, _walk(steps, text))
    # jsonpath-ng evaluates relative to "$": rewrite the root away and keep the rest.
    rest = text[m.end() :]
    getter = _ng("$" + rest, text)
    return CompiledPath(text, root, None, getter)


def bracket_notation(text: str, steps: int | None = None) -> str:
    """``$.a.b[0]`` as ``$['a']['b'][0]``: how the service's path errors spell a path (its first
    ``steps`` steps only, when given)."""
    try:
        path = compile_path(text)
    except InvalidPath:
        return text
    if path.steps is None:
        return text
    chosen = path.steps if steps is None else path.steps[:steps]
    parts = "".join(f"[{s}]" if isinstance(s, int) else f"['{s}']" for s in chosen)
    return path.root + parts


def evaluate_path(
    text: str,
    data: Any,
    *,
    context: Any = None,
    variables: Callable[[str], Any] | None = None,
) -> Any:
    """Evaluate a JSONPath against ``data`` (``$``), the context object (``$$``) or a variable.

    Raises :class:`PathNotFound` when a definite path selects nothing, :class:`InvalidPath` when the
    text is not a path. An indefinite path (wildcard, filter) returns a list, possibly empty.
    """
    path = compile_path(text)
    if path.root == "$":
        target = data
    elif path.root == "$$":
        target = context
    else:
        if variables is None:
            raise PathNotFound(text)
        try:
            target = variables(path.root[1:])
        except KeyError as exc:
            raise PathNotFound(text) from exc
    return path.get(target)


def set_reference_path(data: Any, text: str, value: Any) -> Any:
    """Return ``data`` with ``value`` placed at the reference path ``text`` (ResultPath's rule).

    Objects along the way are copied (never mutated) and missing ones created. Raises
    :class:`PathNotFound` when the path crosses something that is not an object.
    """
    path = compile_path(text)
    if path.steps is None or path.root != "$":
        raise InvalidPath(f"'{text}' is not a reference path")
    if not path.steps:
        return value
    return _set(data, path.steps, value, text)


def _set(node: Any, steps: list[Step], value: Any, text: str) -> Any:
    head, rest = steps[0], steps[1:]
    if isinstance(head, int):
        if not isinstance(node, list) or not -len(node) <= head < len(node):
            raise PathNotFound(text)
        copy_list = list(node)
        copy_list[head] = _set(copy_list[head], rest, value, text) if rest else value
        return copy_list
    if not isinstance(node, dict):
        raise PathNotFound(text)
    copy = dict(node)
    copy[head] = _set(copy.get(head, {}), rest, value, text) if rest else value
    return copy
