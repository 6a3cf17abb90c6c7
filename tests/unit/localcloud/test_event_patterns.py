"""EventBridge event patterns: each kind of match from AWS's "Event patterns" and "Content filtering"
pages (the examples are theirs where they give one), the refusals, and properties over generated
events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud.events.patterns import PatternError, compile_pattern

EC2_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}


def matches(pattern: dict[str, Any] | str, event: dict[str, Any] | str) -> bool:
    text = pattern if isinstance(pattern, str) else json.dumps(pattern)
    event_text = event if isinstance(event, str) else json.dumps(event)
    return compile_pattern(text).matches_json(event_text)


def refusal(pattern: dict[str, Any] | str) -> str:
    with pytest.raises(PatternError) as error:
        compile_pattern(pattern if isinstance(pattern, str) else json.dumps(pattern))
    return error.value.reason


# -- exact values ------------------------------------------------------------------


def test_the_ec2_termination_pattern_matches_the_ec2_event_and_ignores_other_fields() -> None:
    pattern = {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
        "detail": {"state": ["terminated"]},
    }
    assert matches(pattern, EC2_EVENT)
    assert not matches(pattern, {**EC2_EVENT, "detail": {"state": "running"}})


def test_a_field_the_event_lacks_never_matches_and_nesting_must_agree() -> None:
    assert not matches({"detail": {"missing": ["x"]}}, EC2_EVENT)
    assert not matches({"state": ["terminated"]}, EC2_EVENT)  # state is under detail


def test_any_value_of_the_array_may_match() -> None:
    assert matches({"source": ["aws.fargate", "aws.ec2"]}, EC2_EVENT)


def test_an_event_array_matches_when_it_shares_a_value_with_the_pattern() -> None:
    pattern = {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f", "other"]}
    event = {
        "resources": [
            "arn:aws:autoscaling:us-east-1:1:asg",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
        ]
    }
    assert matches(pattern, event)
    assert not matches(pattern, {"resources": ["nothing", "shared"]})


def test_arrays_of_objects_are_read_field_by_field() -> None:
    event = {"detail": {"items": [{"kind": "a", "size": 1}, {"kind": "b", "size": 2}]}}
    assert matches({"detail": {"items": {"kind": ["b"]}}}, event)
    assert not matches({"detail": {"items": {"kind": ["c"]}}}, event)


def test_null_and_the_empty_string_are_different_values() -> None:
    event = {"detail": {"eventVersion": "", "responseElements": None}}
    assert matches({"detail": {"eventVersion": [""]}}, event)
    assert matches({"detail": {"responseElements": [None]}}, event)
    assert not matches({"detail": {"eventVersion": [None]}}, event)
    assert not matches({"detail": {"responseElements": [""]}}, event)


def test_numbers_match_by_their_text_and_never_a_string() -> None:
    event = '{"detail": {"risk-score": 80, "price": 300.0, "code": "80"}}'
    assert matches({"detail": {"risk-score": [80]}}, event)
    assert not matches({"detail": {"risk-score": ["80"]}}, event)
    assert not matches({"detail": {"code": [80]}}, event)
    assert matches('{"detail": {"price": [300.0]}}', event)
    assert not matches('{"detail": {"price": [300]}}', event)  # 300, 300.0 and 3.0e2 are not equal
    assert not matches('{"detail": {"price": [3.0e2]}}', event)


def test_booleans_are_not_numbers() -> None:
    assert matches({"flag": [True]}, {"flag": True})
    assert not matches({"flag": [True]}, '{"flag": 1}')
    assert not matches('{"flag": [1]}', {"flag": True})


# -- prefix, suffix, ignore case, wildcard ------------------------------------------------------------------


def test_prefix_and_suffix_with_and_without_case() -> None:
    assert matches({"time": [{"prefix": "2017-12-22"}]}, EC2_EVENT)
    assert not matches({"time": [{"prefix": "2017-10-02"}]}, EC2_EVENT)
    assert matches({"detail": {"state": [{"suffix": "nated"}]}}, EC2_EVENT)
    assert matches({"detail": {"state": [{"prefix": {"equals-ignore-case": "TERM"}}]}}, EC2_EVENT)
    assert matches({"detail": {"state": [{"suffix": {"equals-ignore-case": "NATED"}}]}}, EC2_EVENT)
    assert not matches({"detail": {"state": [{"prefix": "TERM"}]}}, EC2_EVENT)
    assert not matches({"n": [{"prefix": "1"}]}, '{"n": 12}')  # strings only


def test_equals_ignore_case() -> None:
    assert matches({"name": [{"equals-ignore-case": "alice"}]}, {"name": "ALICE"})
    assert not matches({"name": [{"equals-ignore-case": "alice"}]}, {"name": "alicia"})


def test_wildcard_with_escapes() -> None:
    assert matches({"path": [{"wildcard": "*/lib/*"}]}, {"path": "/usr/lib/x.so"})
    assert not matches({"path": [{"wildcard": "*/lib/*"}]}, {"path": "/usr/bin/x"})
    assert matches({"path": [{"wildcard": "a\\*b*"}]}, {"path": "a*bc"})
    assert not matches({"path": [{"wildcard": "a\\*b*"}]}, {"path": "axbc"})
    assert matches({"path": [{"wildcard": "dir/*.png"}]}, {"path": "dir/a\nb.png"})


# -- anything-but ----------------------------------------------------------------------------------------


def test_anything_but_a_value_a_list_and_a_prefix() -> None:
    assert matches({"detail": {"state": [{"anything-but": "initializing"}]}}, EC2_EVENT)
    assert not matches({"detail": {"state": [{"anything-but": "terminated"}]}}, EC2_EVENT)
    assert not matches({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}, EC2_EVENT)
    assert matches({"x": [{"anything-but": [100, 200, 300]}]}, '{"x": 150}')
    assert not matches({"x": [{"anything-but": [100, 200, 300]}]}, '{"x": 200}')
    assert not matches({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}, EC2_EVENT)
    assert matches({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, EC2_EVENT)
    assert not matches({"f": [{"anything-but": {"suffix": ".png"}}]}, {"f": "a.png"})
    assert not matches({"s": [{"anything-but": {"equals-ignore-case": ["A", "b"]}}]}, {"s": "B"})
    assert not matches({"p": [{"anything-but": {"wildcard": "*/lib/*"}}]}, {"p": "/x/lib/y"})


def test_anything_but_needs_the_field() -> None:
    assert not matches({"detail": {"absent": [{"anything-but": "x"}]}}, EC2_EVENT)


# -- numeric, exists, cidr ------------------------------------------------------------------


def test_numeric_ranges_from_the_content_filtering_page() -> None:
    pattern = {
        "detail": {
            "c-count": [{"numeric": [">", 0, "<=", 5]}],
            "d-count": [{"numeric": ["<", 10]}],
        }
    }
    x_limit = '{"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}'
    assert matches(pattern, '{"detail": {"c-count": 5, "d-count": 9.99}}')
    assert not matches(pattern, '{"detail": {"c-count": 0, "d-count": 1}}')
    assert not matches(pattern, '{"detail": {"c-count": 3, "d-count": 10}}')
    assert not matches(pattern, '{"detail": {"c-count": "3", "d-count": 1}}')  # JSON numbers only
    assert matches(x_limit, '{"detail": {"x-limit": 301.8}}')


def test_exists_looks_at_leaf_nodes_only() -> None:
    assert matches({"detail": {"c-count": [{"exists": False}]}}, EC2_EVENT)
    assert not matches({"detail": {"state": [{"exists": False}]}}, EC2_EVENT)
    assert matches({"detail": {"state": [{"exists": True}]}}, EC2_EVENT)
    # c-count holding an object is not a leaf: it does not "exist" for exists matching.
    assert matches({"detail": {"c-count": [{"exists": False}]}}, {"detail": {"c-count": {"c1": 100}}})
    assert matches({"detail": {"n": [{"exists": True}]}}, {"detail": {"n": None}})


def test_cidr() -> None:
    assert matches({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.0.17"})
    assert not matches({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.1.17"})
    assert matches({"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8::1"})
    assert not matches({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "not an address"})


# -- $or ------------------------------------------------------------------


def test_or_combines_with_its_sibling_fields() -> None:
    pattern = {
        "source": ["aws.states"],
        "detail": {
            "$or": [
                {"status": ["FAILED", "TIMED_OUT", "ABORTED"]},
                {"status": ["RUNNING"], "redriveCount": [{"numeric": [">", 0]}]},
            ]
        },
    }
    event = {"source": "aws.states", "detail": {"status": "RUNNING", "redriveCount": 0}}
    assert not matches(pattern, event)
    assert matches(pattern, {**event, "detail": {"status": "RUNNING", "redriveCount": 1}})
    assert matches(pattern, {**event, "detail": {"status": "ABORTED", "redriveCount": 0}})
    assert not matches(pattern, {"source": "aws.ec2", "detail": {"status": "ABORTED"}})


def test_or_at_the_top_level() -> None:
    pattern = {"$or": [{"source": ["a"]}, {"detail-type": ["b"]}]}
    assert matches(pattern, {"source": "x", "detail-type": "b"})
    assert not matches(pattern, {"source": "x", "detail-type": "c"})


# -- refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ({"source": [{"contains": "ec2"}]}, "Unrecognized match type contains"),
        ({"source": [{"regex": "a.*"}]}, "Unrecognized match type regex"),
        ({"source": "aws.ec2"}, "'source' must be an object or an array"),
        ({"detail": {"state": []}}, "Empty arrays are not allowed (field detail.state)"),
        ({"source": [["nested"]]}, "Match value must be String, number, true, false, or null"),
        ({"source": [{"prefix": "a", "suffix": "b"}]}, "A match expression has exactly one operator"),
        ({"n": [{"numeric": [">", "five"]}]}, "Value of numeric match must be a number"),
        ({"n": [{"numeric": ["<", 1, ">", 0]}]}, "Bad numeric range operator: <"),
        ({"n": [{"numeric": [">", 5, "<", 1]}]}, "Bottom must be less than top"),
        ({"n": [{"numeric": [">", 6e9]}]}, "Value must be between -5.0E9 and 5.0E9, inclusive"),
        ({"n": [{"exists": "yes"}]}, "exists match pattern must be either true or false"),
        ({"p": [{"wildcard": "a**b"}]}, "Consecutive wildcard characters at pos 2"),
        ({"p": [{"wildcard": "a\\b"}]}, "Invalid escape character at pos 1"),
        ({"ip": [{"cidr": "10.0.0.0/99"}]}, "Nonsensical CIDR IP argument: 10.0.0.0/99"),
        ({"s": [{"anything-but": ["a", 1]}]}, "An anything-but list holds only strings or only numbers"),
        ({"s": [{"anything-but": {"exists": True}}]}, "Unsupported anything-but pattern: exists"),
        ({"$or": []}, '"$or" must be an array of non-empty objects'),
        ([1, 2], "Filter is not an object"),
    ],
)
def test_patterns_aws_refuses_are_refused_with_a_reason_naming_the_problem(pattern: Any, reason: str) -> None:
    assert refusal(json.dumps(pattern)).startswith(reason)


def test_a_pattern_that_is_not_json_is_refused() -> None:
    assert refusal("{source: [x]}").startswith("Filter is not valid JSON")


# -- properties ------------------------------------------------------------------

KEYS = st.text(alphabet="abcdefg-", min_size=1, max_size=4)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10_000, 10_000),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3)),
    st.text(max_size=8),
)
EVENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=12,
).filter(lambda value: isinstance(value, dict))


def _paths(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every (path, scalar) the event holds, arrays flattened: computed here independently."""
    if isinstance(node, dict):
        return [found for key, value in node.items() for found in _paths(value, (*prefix, key))]
    if isinstance(node, list):
        return [found for item in node for found in _paths(item, prefix)]
    return [(prefix, node)] if prefix else []


def _nest(path: tuple[str, ...], leaf: Any) -> dict[str, Any]:
    pattern: Any = leaf
    for key in reversed(path):
        pattern = {key: pattern}
    return pattern  # type: ignore[no-any-return]


@given(EVENTS, st.data())
def test_a_pattern_naming_one_of_the_events_own_values_matches_it(event: dict[str, Any], data: Any) -> None:
    found = _paths(event)
    if not found:
        return
    path, value = data.draw(st.sampled_from(found))
    assert matches(_nest(path, [value]), event)
    assert matches(_nest(path, [{"exists": True}]), event)
    assert not matches(_nest(path, [{"exists": False}]), event)


@given(EVENTS, st.data())
def test_anything_but_a_value_is_the_complement_of_that_value_for_a_field_with_one_value(
    event: dict[str, Any], data: Any
) -> None:
    found = _paths(event)
    single = [(path, value) for path, value in found if sum(1 for p, _ in found if p == path) == 1]
    if not single:
        return
    path, value = data.draw(st.sampled_from(single))
    other = data.draw(st.one_of(st.just(value), SCALARS))
    exact = matches(_nest(path, [other]), event)
    negated = matches(_nest(path, [{"anything-but": other}]), event)
    assert exact != negated


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(-1e6, 1e6, allow_nan=False),
)
def test_a_numeric_range_matches_exactly_the_numbers_inside_it(low: float, high: float, value: float) -> None:
    if not low < high:
        return
    pattern = {"n": [{"numeric": [">", low, "<=", high]}]}
    assert matches(pattern, {"n": value}) == (low < value <= high)


@given(st.text(max_size=12), st.integers(0, 12), st.integers(0, 12))
def test_a_wildcard_made_by_starring_a_slice_of_a_string_matches_that_string(
    text: str, start: int, length: int
) -> None:
    start = min(start, len(text))
    end = min(start + length, len(text))
    escaped = [c.replace("\\", "\\\\").replace("*", "\\*") for c in text]
    wildcard = "".join(escaped[:start]) + "*" + "".join(escaped[end:])
    assert matches({"s": [{"wildcard": wildcard}]}, {"s": text})
    assert matches({"s": [{"prefix": text[:start]}]}, {"s": text})
    assert matches({"s": [{"suffix": text[end:]}]}, {"s": text})
