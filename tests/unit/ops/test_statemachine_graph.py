"""A definition as a graph: states in flow order, transitions, nesting, the functions a Task calls."""

from __future__ import annotations

import json
from pathlib import Path

from meterpipe.ops.statemachine import function_name, group_by_branch, parse_definition

DAILY_ROLLUP = Path(__file__).parents[3] / "state_machines" / "daily_rollup.asl.json"


def test_states_read_top_to_bottom_along_next_and_default_with_detours_after() -> None:
    graph = parse_definition(
        {
            "StartAt": "A",
            "States": {
                "Detour": {"Type": "Fail", "Error": "E"},
                "A": {"Type": "Choice", "Choices": [{"Next": "Detour"}], "Default": "B"},
                "B": {
                    "Type": "Task",
                    "Resource": "r",
                    "Next": "C",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Detour"}],
                },
                "C": {"Type": "Succeed"},
                "Orphan": {"Type": "Pass", "End": True},
            },
        }
    )
    assert [s.name for s in graph.states] == ["A", "B", "C", "Detour", "Orphan"]
    b = graph.find("B")
    assert b is not None
    assert [(t.label, t.target) for t in b.transitions] == [("Next", "C"), ("Catch States.ALL", "Detour")]


def test_parallel_branches_and_map_processors_are_nested_in_their_state() -> None:
    graph = parse_definition(json.loads(DAILY_ROLLUP.read_text()))
    # Issue 10's daily_rollup: every query runs (one Parallel) before any write (a second one).
    queries, writes = graph.find("RunRollupQueries"), graph.find("WriteRollups")
    assert queries is not None and queries.type == "Parallel"
    assert writes is not None and writes.type == "Parallel"
    assert [branch.states[0].name for branch in queries.branches] == [
        "RunHourlyQuery",
        "RunDailyQuery",
        "RunMonthlyQuery",
    ]
    assert [branch.states[0].name for branch in writes.branches] == [
        "WriteHourlyRollups",
        "WriteDailyRollups",
        "WriteMonthlyRollups",
    ]
    top = [s.name for s in graph.states]
    assert top.index("RunRollupQueries") < top.index("MarkWritesStarted") < top.index("WriteRollups")
    paths = {state.name: path for state, path in graph.walk()}
    assert paths["RunDailyQuery"] == ("RunRollupQueries", "branch 2")
    assert paths["DescribeDailyMapRun"] == ("WriteRollups", "branch 2")
    assert paths["WriteDailyBatch"] == ("WriteRollups", "branch 2", "WriteDailyRollups", "processor")
    write = graph.find("WriteHourlyRollups")
    assert write is not None and write.processor_mode == "DISTRIBUTED"
    assert [s.name for s in write.processor.states] == [  # type: ignore[union-attr]
        "WriteHourlyBatch",
        "CheckHourlyBatchWritten",
        "HourlyBatchNotWritten",  # the Default first, then the Choice's other target
        "HourlyBatchWritten",
    ]


def test_a_lambda_task_names_the_function_it_invokes() -> None:
    graph = parse_definition(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {
                        "FunctionName": "arn:aws:lambda:us-east-1:1:function:meterpipe-write-batch:$LATEST"
                    },
                    "Next": "U",
                },
                "U": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:direct", "Next": "V"},
                "V": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"FunctionName": "{% $f %}"},
                    "End": True,
                },
            },
        }
    )
    assert [s.functions for s in graph.states] == [["meterpipe-write-batch"], ["direct"], []]
    assert function_name("plain-name") == "plain-name"


def test_a_timeline_groups_each_parallels_branches_after_it_one_branch_at_a_time() -> None:
    graph = parse_definition(json.loads(DAILY_ROLLUP.read_text()))
    # Entries in order of entry: the branches interleave, as they ran.
    names = [
        "ResolveDate",
        "CheckInput",
        "ClaimDay",
        "RunRollupQueries",
        "RunHourlyQuery",
        "RunDailyQuery",
        "RunMonthlyQuery",
        "MarkWritesStarted",
        "WriteRollups",
        "WriteDailyRollups",
        "WriteHourlyRollups",
        "DescribeDailyMapRun",
        "WriteMonthlyRollups",
        "DescribeHourlyMapRun",
        "Reconcile",
        "Done",
    ]
    grouped = [(names[i], path) for i, path in group_by_branch(graph, names)]
    queries, writes = ("RunRollupQueries",), ("WriteRollups",)
    assert grouped == [
        ("ResolveDate", ()),
        ("CheckInput", ()),
        ("ClaimDay", ()),
        ("RunRollupQueries", ()),
        ("RunHourlyQuery", (*queries, "branch 1")),
        ("RunDailyQuery", (*queries, "branch 2")),
        ("RunMonthlyQuery", (*queries, "branch 3")),
        ("MarkWritesStarted", ()),
        ("WriteRollups", ()),
        ("WriteHourlyRollups", (*writes, "branch 1")),
        ("DescribeHourlyMapRun", (*writes, "branch 1")),
        ("WriteDailyRollups", (*writes, "branch 2")),
        ("DescribeDailyMapRun", (*writes, "branch 2")),
        ("WriteMonthlyRollups", (*writes, "branch 3")),
        ("Reconcile", ()),
        ("Done", ()),
    ]


def test_a_redriven_parallel_keeps_each_attempts_branches_with_it() -> None:
    graph = parse_definition(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
                    ],
                    "End": True,
                }
            },
        }
    )
    names = ["P", "B", "A", "P", "B", "Unknown"]
    assert group_by_branch(graph, names) == [
        (0, ()),
        (2, ("P", "branch 1")),
        (1, ("P", "branch 2")),
        (3, ()),
        (4, ("P", "branch 2")),
        (5, ()),
    ]
