"""JSONata regular expressions with JavaScript's semantics, on Python's ``re``.

JSONata runs on JavaScript on AWS, so ``/.../`` in a JSONata expression is an ECMAScript regular
expression. Python's ``re`` reads the same text differently in ways that change results:

* ``$`` (without the ``m`` flag) matches only at the very end in JavaScript; Python's also matches
  before a final newline, so ``/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/`` would accept ``"2024-01-01\\n"``,
  which AWS refuses. Translated to ``\\Z``.
* With ``m``, JavaScript's ``^``/``$`` work at any line terminator (``\\n``, ``\\r``, U+2028,
  U+2029); Python's at ``\\n`` only.
* ``.`` does not match any line terminator in JavaScript; Python's ``.`` only stops at ``\\n``.
* ``\\d``, ``\\w`` and ``\\b`` are ASCII in JavaScript (without the ``u`` flag, which JSONata has
  not); Python's are Unicode on text. ``\\s`` is Unicode in both but the sets differ (JavaScript
  adds U+FEFF and leaves out U+001C..U+001F).
* Named groups are ``(?<name>...)`` and ``\\k<name>`` in JavaScript; ``[^]`` matches any
  character.

:func:`js_regex_engine` is handed to jsonata-python, which calls it for every regex literal.
Sources: ECMAScript Language Specification, "RegExp (Regular Expression) Objects"
(https://tc39.es/ecma262/#sec-regexp-regular-expression-objects); JSONata "Regular expressions"
(https://docs.jsonata.org/regex).
"""

from __future__ import annotations

import re

from jsonata.regex_engine import RegexFlags

_LINE_TERMINATORS = "\\n\\r\\u2028\\u2029"
_WORD = "A-Za-z0-9_"
_DIGIT = "0-9"
_SPACE = "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
# Escapes whose JavaScript meaning differs from Python's, outside and inside a character class.
_OUTSIDE = {
    "d": f"[{_DIGIT}]",
    "D": f"[^{_DIGIT}]",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
    "b": f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))",
    "B": f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))",
}
_INSIDE = {"d": _DIGIT, "w": _WORD, "s": _SPACE}


def translate(pattern: str, *, multiline: bool) -> str:
    """The Python pattern that matches what ``pattern`` matches in JavaScript."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if in_class and nxt in _INSIDE:
                out.append(_INSIDE[nxt])
            elif not in_class and nxt in _OUTSIDE:
                out.append(_OUTSIDE[nxt])
            elif not in_class and nxt == "k" and pattern.startswith("<", i + 2):
                end = pattern.find(">", i + 3)
                if end < 0:
                    out.append(pattern[i : i + 2])
                else:
                    out.append(f"(?P={pattern[i + 3 : end]})")
                    i = end + 1
                    continue
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            if pattern.startswith("[^]", i):
                out.append("[\\s\\S]")
                i += 3
                continue
            in_class = True
            out.append(ch)
            # A ']' first in the class is literal in Python but closes an empty class in
            # JavaScript; an empty class matches nothing.
            if pattern.startswith("[]", i):
                out[-1] = "(?!)"
                in_class = False
                i += 2
                continue
            if pattern.startswith("[^", i):
                out.append("^")
                i += 2
                continue
            i += 1
            continue
        if ch == "(" and pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        if ch == ".":
            out.append(f"[^{_LINE_TERMINATORS}]")
        elif ch == "$":
            out.append(f"(?=[{_LINE_TERMINATORS}]|\\Z)" if multiline else "\\Z")
        elif ch == "^":
            out.append(f"(?:(?<=[{_LINE_TERMINATORS}])|\\A)" if multiline else "\\A")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def js_regex_engine(pattern: str, flags: RegexFlags) -> re.Pattern[str]:
    """jsonata-python's regex engine hook: compile ``pattern`` with JavaScript's semantics."""
    python_flags = re.IGNORECASE if flags.case_insensitive else 0
    return re.compile(translate(pattern, multiline=flags.multiline), python_flags)
