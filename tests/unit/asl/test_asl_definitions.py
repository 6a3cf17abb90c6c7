from __future__ import annotations

import pytest

from localcloud.asl import DefinitionError, parse_definition, validate_definition


def test_validation_reports_every_problem_with_its_json_pointer() -> None:
    problems = validate_definition(
        {
            "StartAt": "Missing",
            "States": {
                "A": {"Type": "Pass", "Next": "Nowhere"},
                "B": {"Type": "Wait", "End": True},
                "C": {"Type": "Bogus"},
                "D": {"Type": "Task", "Resource": "arn:aws:states:::nope:doIt", "End": True, "Extra": 1},
            },
        }
    )
    found = {(p.path, p.code) for p in problems}
    assert ("/StartAt", "MISSING_TRANSITION_TARGET") in found
    assert ("/States/A/Next", "MISSING_TRANSITION_TARGET") in found
    assert ("/States/B", "SCHEMA_VALIDATION_FAILED") in found  # no Seconds/Timestamp
    assert ("/States/C/Type", "SCHEMA_VALIDATION_FAILED") in found
    assert ("/States/D/Resource", "SCHEMA_VALIDATION_FAILED") in found
    assert ("/States/D/Extra", "SCHEMA_VALIDATION_FAILED") in found


def test_parse_raises_a_definition_error_carrying_all_problems() -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definition(
            '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "X"}, "B": {"Type": "Succeed"}}}'
        )
    paths = sorted(p.path for p in info.value.problems)
    assert paths == ["/States/A/Next", "/States/B"]
    assert "UNREACHABLE_STATE" in str(info.value)


def test_invalid_json_text_is_a_definition_problem() -> None:
    problems = validate_definition("{not json")
    assert [p.code for p in problems] == ["INVALID_JSON_DESCRIPTION"]


def test_jsonpath_only_fields_are_rejected_in_jsonata_states() -> None:
    problems = validate_definition(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "InputPath": "$.x", "End": True}},
        }
    )
    assert [p.path for p in problems] == ["/States/A/InputPath"]


def test_bad_paths_intrinsics_and_jsonata_are_caught_at_validation() -> None:
    problems = validate_definition(
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Pass",
                    "Parameters": {"x.$": "States.Nope(1)", "y.$": "not a path"},
                    "ResultPath": "$.a[*]",
                    "Next": "B",
                },
                "B": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% 1 + %}", "End": True},
            },
        }
    )
    paths = {p.path for p in problems}
    assert paths == {
        "/States/A/Parameters/x.$",
        "/States/A/Parameters/y.$",
        "/States/A/ResultPath",
        "/States/B/Output",
    }


def test_distributed_map_needs_its_execution_type() -> None:
    problems = validate_definition(
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            },
        }
    )
    assert [p.path for p in problems] == ["/States/M/ItemProcessor/ProcessorConfig"]
    assert "ExecutionType" in problems[0].message


def test_inline_map_rejects_distributed_only_fields() -> None:
    problems = validate_definition(
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ToleratedFailureCount": 1,
                    "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                    "End": True,
                }
            },
        }
    )
    assert [p.path for p in problems] == ["/States/M/ToleratedFailureCount"]


def test_branch_states_cannot_jump_out_of_their_branch() -> None:
    problems = validate_definition(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Done"}}}],
                    "Next": "Done",
                },
                "Done": {"Type": "Succeed"},
            },
        }
    )
    assert [(p.path, p.code) for p in problems] == [
        ("/States/P/Branches/0/States/X/Next", "MISSING_TRANSITION_TARGET")
    ]


def test_credentials_and_activities_fail_loudly() -> None:
    problems = validate_definition(
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "f"},
                    "Credentials": {"RoleArn": "arn:aws:iam::1:role/x"},
                    "Next": "B",
                },
                "B": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:us-east-1:123456789012:activity:act",
                    "End": True,
                },
            },
        }
    )
    assert {p.path for p in problems} == {"/States/A/Credentials", "/States/B/Resource"}


def test_retry_rules_are_checked() -> None:
    problems = validate_definition(
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
                    "Retry": [
                        {"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5},
                        {"ErrorEquals": ["X"], "JitterStrategy": "SOME"},
                    ],
                    "End": True,
                }
            },
        }
    )
    assert {p.path for p in problems} == {
        "/States/A/Retry/0/BackoffRate",
        "/States/A/Retry/0/ErrorEquals",
        "/States/A/Retry/1/JitterStrategy",
    }


def test_inner_scope_cannot_reassign_an_outer_variable_name() -> None:
    problems = validate_definition(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Assign": {"total": 0}, "Next": "M"},
                "M": {
                    "Type": "Map",
                    "Items": [1],
                    "ItemProcessor": {
                        "StartAt": "In",
                        "States": {"In": {"Type": "Pass", "Assign": {"total": 1, "mine": 2}, "End": True}},
                    },
                    "End": True,
                },
            },
        }
    )
    assert [p.path for p in problems] == ["/States/M/ItemProcessor/States/In/Assign/total"]
    assert "/States/A/Assign/total" in problems[0].message


def test_variable_names_are_unicode_identifiers_and_states_is_reserved() -> None:
    problems = validate_definition(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Assign": {"größe": 1, "1bad": 2, "states": 3}, "End": True}},
        }
    )
    assert sorted(p.path for p in problems) == ["/States/A/Assign/1bad", "/States/A/Assign/states"]
