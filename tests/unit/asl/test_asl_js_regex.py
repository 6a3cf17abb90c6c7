"""JSONata regular expressions read as JavaScript reads them (localcloud/asl/js_regex.py); the
end-to-end case is conformance jsonata/regex_has_javascript_semantics."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.asl.jsonata_eval import compile_jsonata


def run(expression: str, data: Any) -> Any:
    return compile_jsonata(expression).evaluate(data)


DATE = "/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/"


@pytest.mark.parametrize(
    ("text", "matches"),
    [("2024-01-01", True), ("2024-01-01\n", False), ("\n2024-01-01", False), ("2024-01-01\r", False)],
)
def test_anchors_hold_the_whole_input_without_the_m_flag(text: str, matches: bool) -> None:
    assert run(f"$contains(d, {DATE})", {"d": text}) is matches


@pytest.mark.parametrize(("text", "matches"), [("x\n2024-01-01\ny", True), ("x\r2024-01-01\u2028y", True)])
def test_with_the_m_flag_anchors_hold_at_every_line_terminator(text: str, matches: bool) -> None:
    assert run(f"$contains(d, {DATE}m)", {"d": text}) is matches


def test_dot_stops_at_every_line_terminator() -> None:
    assert run("$contains(d, /a.b/)", {"d": "a\rb"}) is False
    assert run("$contains(d, /a.b/)", {"d": "a\u2029b"}) is False
    assert run("$contains(d, /a.b/)", {"d": "a-b"}) is True


def test_digit_word_and_boundary_classes_are_ascii() -> None:
    assert run("$contains(d, /\\d/)", {"d": "\u0663"}) is False  # ARABIC-INDIC DIGIT THREE
    assert run("$contains(d, /^\\w+$/)", {"d": "caf\u00e9"}) is False
    assert run("$contains(d, /[\\w]/)", {"d": "\u00e9"}) is False
    assert run("$contains(d, /\\bé/)", {"d": "xé"}) is True  # é is not a word character


def test_space_is_javascripts_set() -> None:
    assert run("$replace(d, /\\s+/, '_')", {"d": "a\u00a0\ufeffb"}) == "a_b"
    assert run("$contains(d, /\\s/)", {"d": "\x1c"}) is False


def test_named_groups_and_back_references_are_javascripts_syntax() -> None:
    assert run("$match(d, /(?<w>[a-z]+)-\\k<w>/).match", {"d": "ab-ab"}) == "ab-ab"


def test_an_empty_class_matches_nothing_and_a_negated_empty_class_anything() -> None:
    assert run("$contains(d, /[]/)", {"d": "x"}) is False
    assert run("$contains(d, /a[^]b/)", {"d": "a\nb"}) is True


def test_escapes_inside_classes_keep_their_meaning() -> None:
    assert run("$contains(d, /^[$.]+$/)", {"d": "$."}) is True
    assert run("$contains(d, /^[\\]]$/)", {"d": "]"}) is True
    assert run("$replace(d, /[\\d-]/, '')", {"d": "1-a\u0663"}) == "a\u0663"


def test_case_insensitive_flag() -> None:
    assert run("$contains(d, /^ABC$/i)", {"d": "abc"}) is True
