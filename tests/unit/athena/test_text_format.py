from __future__ import annotations

import pytest

from localcloud.athena.textfile import normalise


def _norm(data: bytes, header: int = 1) -> bytes:
    return normalise(data, skip_header_lines=header, null_marker=b"\\N")


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_reads_the_same(end: bytes) -> None:
    data = end.join([b"h1,h2", b"1,a", b"2,b"]) + end
    assert _norm(data) == b"1,a\n2,b\n"


def test_header_with_a_byte_order_mark_is_skipped_whole() -> None:
    assert _norm(b"\xef\xbb\xbfSensorID,kWh\r\n1,0.5\r\n") == b"1,0.5\n"


def test_a_missing_final_line_end_is_added_so_objects_concatenate() -> None:
    assert _norm(b"h\n1,a") == b"1,a\n"


def test_blank_lines_become_rows_of_nulls() -> None:
    assert _norm(b"h\n1,a\n\n") == b"1,a\n\\N\n"
    assert _norm(b"h\n\n\n1,a\n", header=1) == b"\\N\n\\N\n1,a\n"


def test_header_count_skips_that_many_lines_and_zero_skips_none() -> None:
    assert _norm(b"a\nb\nc\n", header=2) == b"c\n"
    assert _norm(b"a\nb\n", header=0) == b"a\nb\n"
    assert _norm(b"only a header\n", header=1) == b""
    assert _norm(b"", header=1) == b""
