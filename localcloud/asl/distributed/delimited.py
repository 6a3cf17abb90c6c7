"""Text-delimited files as Step Functions reads them for a Distributed Map's ItemReader.

The rules are the developer guide's ("How Step Functions parses input CSV files"), which differ
from Python's csv module in places:

* the delimiter is the ReaderConfig's ``CSVDelimiter`` (COMMA by default);
* newlines (LF, CRLF, CR) separate records, except inside double quotes;
* every field is a string;
* double quotes need not enclose a field; a quoted part may hold delimiters and newlines;
* a doubled double quote ``""`` is a literal quote, inside quotes and out (the guide's example
  reads ``{""MyKey"":""MyValue""}`` as ``{"MyKey":"MyValue"}``);
* a backslash escapes a backslash, a double quote or the delimiter; a backslash before any other
  character is dropped;
* with a header, a row with fewer fields gets empty strings, extra fields are skipped.

Empty lines are no records (so a trailing newline adds no row).

The rules need a character-by-character reader, but most files (Athena's results: every field
quoted, no quote or backslash inside) need none of them: such lines are split with ``str.split``
(a regular expression for lines mixing quoted and bare fields), and the reader takes over from the
first line that needs it, to the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}

# Record separators: LF, CRLF or CR (split on with the separators kept, so the text after any line
# can be put back together).
_BREAK = re.compile(r"(\r\n|\r|\n)")


@cache
def _simple_field(delimiter: str) -> re.Pattern[str]:
    """A field that needs none of the rules: wholly quoted with no quote or backslash inside
    (group 1), or with no quote, backslash or delimiter at all (group 2)."""
    plain = re.escape(delimiter)
    return re.compile(rf'"([^"\\\r\n]*)"|([^"\\\r\n{plain}]*)')


def records(text: str, delimiter: str = ",") -> Iterator[list[str]]:
    """Split ``text`` into records of fields."""
    if text.startswith("\ufeff"):
        text = text[1:]  # a UTF-8 byte order mark is encoding, not data
    parts = _BREAK.split(text)  # lines at even indexes, their separators between them
    between_quoted = f'"{delimiter}"'
    field_re = _simple_field(delimiter)
    for index in range(0, len(parts), 2):
        line = parts[index]
        if not line:
            continue  # an empty line is no record
        if "\\" not in line:
            if '"' not in line:
                yield line.split(delimiter)
                continue
            # Every field quoted with no quote inside: the only quotes are the line's first and
            # last and a pair around each delimiter between fields.
            if (
                len(line) > 1
                and line[0] == '"' == line[-1]
                and line.count('"') == 2 * line.count(between_quoted) + 2
            ):
                yield line[1:-1].split(between_quoted)
                continue
            fields = _simple_fields(line, field_re, delimiter)
            if fields is not None:
                yield fields
                continue
        # A line the rules must read (a quoted field may go on past its newline): they read the
        # rest of the text.
        yield from records_by_rules("".join(parts[index:]), delimiter)
        return


def _simple_fields(line: str, field_re: re.Pattern[str], delimiter: str) -> list[str] | None:
    """The line's fields if every one is a simple field, else None."""
    fields: list[str] = []
    position, end = 0, len(line)
    while True:
        match = field_re.match(line, position)
        assert match is not None  # the plain alternative matches the empty string
        quoted = match.group(1)
        fields.append(quoted if quoted is not None else match.group(2))
        position = match.end()
        if position == end:
            return fields
        if line[position] != delimiter:
            return None
        position += 1


def records_by_rules(text: str, delimiter: str) -> Iterator[list[str]]:
    """The guide's rules, a character at a time."""
    fields: list[str] = []
    field: list[str] = []
    quoted = False
    at_field_start = True
    blank_record = True  # nothing seen since the last record separator
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            nxt = text[i + 1] if i + 1 < n else ""
            blank_record = False
            if nxt in ("\\", '"', delimiter) and nxt:
                field.append(nxt)
                at_field_start = False
                i += 2
                continue
            # A backslash before any other character is silently removed; the character stays.
            i += 1
            continue
        if c == '"':
            blank_record = False
            if quoted:
                if i + 1 < n and text[i + 1] == '"':
                    field.append('"')
                    i += 2
                    continue
                quoted = False
                i += 1
                continue
            if not at_field_start and i + 1 < n and text[i + 1] == '"':
                field.append('"')
                i += 2
                continue
            quoted = True
            at_field_start = False
            i += 1
            continue
        if quoted:
            field.append(c)
            i += 1
            continue
        if c == delimiter:
            fields.append("".join(field))
            field = []
            at_field_start = True
            blank_record = False
            i += 1
            continue
        if c in "\r\n":
            if not blank_record:
                fields.append("".join(field))
                yield fields
            fields, field = [], []
            at_field_start = True
            blank_record = True
            i += 2 if c == "\r" and i + 1 < n and text[i + 1] == "\n" else 1
            continue
        field.append(c)
        at_field_start = False
        blank_record = False
        i += 1
    if not blank_record:
        fields.append("".join(field))
        yield fields


def as_objects(rows: Iterator[list[str]], headers: list[str]) -> Iterator[dict[str, str]]:
    """Rows keyed by ``headers``: missing fields are empty strings, extra fields are skipped."""
    width = len(headers)
    for row in rows:
        padded = row + [""] * (width - len(row)) if len(row) < width else row
        yield dict(zip(headers, padded, strict=False))
