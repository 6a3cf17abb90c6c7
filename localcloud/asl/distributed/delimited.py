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
"""

from __future__ import annotations

from collections.abc import Iterator

DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}


def records(text: str, delimiter: str = ",") -> Iterator[list[str]]:
    """Split ``text`` into records of fields."""
    if text.startswith("\ufeff"):
        text = text[1:]  # a UTF-8 byte order mark is encoding, not data
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
