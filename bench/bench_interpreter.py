"""Interpreter throughput: localcloud's ASL interpreter against moto's, same definitions, same run.

Two workloads (JSONPath, full history recorded by both engines):
- a Pass/Choice loop of 10,000 state transitions;
- an inline Map over 10,000 items (each iteration one Pass state).

Figures: wall seconds, transitions per second (and, for the Map, items per second) for each
engine, and the ratio.

One more, ours only (moto's parser refuses ItemBatcher): a Distributed Map reading 10,000 CSV rows
from S3 (an in-memory S3 client: the figure is the interpreter's, not a storage emulator's), in
batches of 100 through EXPRESS child workflows of one Pass state, ten at a time.
``BENCH_INTERPRETER_SCALE`` (default 1.0) scales both workloads, for a quick look.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from bench.report import Ratio, Result
from localcloud.asl import ExecutionHost, RealClock

SCALE = float(os.environ.get("BENCH_INTERPRETER_SCALE", "1.0"))
TRANSITIONS = int(10_000 * SCALE)
ITEMS = int(10_000 * SCALE)
REGION = "us-east-1"
ACCOUNT = "123456789012"
TARGET = 10.0  # the interpreter at least ten times moto's rate, full history recorded by both


def loop_definition(transitions: int) -> dict[str, Any]:
    """Init, then (Increment, Check) pairs: ``transitions`` state transitions in all."""
    rounds = max((transitions - 2) // 2, 1)
    return {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Result": {"i": 0}, "Next": "Increment"},
            "Increment": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.i", "NumericLessThan": rounds, "Next": "Increment"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def map_definition() -> dict[str, Any]:
    return {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": True}}},
                "ResultPath": None,
                "End": True,
            }
        },
    }


def count_transitions(history: list[dict[str, Any]]) -> int:
    return sum(1 for e in history if e["type"].endswith("StateEntered"))


def run_ours(definition: dict[str, Any], payload: Any) -> tuple[float, int, str]:
    host = ExecutionHost(clock=RealClock(), client_factory=lambda service: None)
    machine = host.parse(definition)
    started = time.perf_counter()
    record = host.start_execution(
        machine,
        state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Bench",
        input=payload,
        sync=True,
    )
    history = host.history(record.execution_arn)
    elapsed = time.perf_counter() - started
    return elapsed, count_transitions(history), record.status


def run_moto(definition: dict[str, Any], payload: Any) -> tuple[float, int, str]:
    import boto3
    from moto import mock_aws

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # type: ignore[arg-type]
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="Bench", definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/bench"
        )["stateMachineArn"]
        started = time.perf_counter()
        execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]
        status = "RUNNING"
        while status == "RUNNING":
            status = sfn.describe_execution(executionArn=execution)["status"]
            if status == "RUNNING":
                time.sleep(0.01)
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        elapsed = time.perf_counter() - started
    return elapsed, count_transitions(events), status


def _figures(
    name: str, unit: str, amount: int, ours: tuple[float, int, str], moto: tuple[float, int, str]
) -> dict[str, Any]:
    ours_rate = amount / ours[0]
    moto_rate = amount / moto[0]
    figures: dict[str, Any] = {
        f"{name}: {unit}": amount,
        f"{name}: localcloud status / seconds": f"{ours[2]} / {ours[0]:.2f}",
        f"{name}: moto status / seconds": f"{moto[2]} / {moto[0]:.2f}",
        f"{name}: localcloud {unit}/s": round(ours_rate),
        f"{name}: moto {unit}/s": round(moto_rate),
    }
    if unit != "transitions":
        # Transitions are the states entered, as each engine's history records them.
        figures[f"{name}: localcloud transitions/s"] = round(ours[1] / ours[0])
        figures[f"{name}: moto transitions/s"] = round(moto[1] / moto[0])
    figures[f"{name}: states entered (localcloud, moto)"] = f"{ours[1]}, {moto[1]}"
    figures[f"{name}: speed-up vs moto"] = round(ours_rate / moto_rate, 1)
    return figures


ROWS = int(10_000 * SCALE)
BATCH = 100


class _MemoryS3:
    """Just enough of a boto3 S3 client for an ItemReader: one object."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def get_object(self, **_kwargs: Any) -> dict[str, Any]:
        import io

        return {"Body": io.BytesIO(self.body)}


def distributed_definition() -> dict[str, Any]:
    return {
        "StartAt": "Rows",
        "States": {
            "Rows": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                    "Parameters": {"Bucket": "bench", "Key": "rows.csv"},
                },
                "ItemBatcher": {"MaxItemsPerBatch": BATCH, "BatchInput": {"run": "bench"}},
                "MaxConcurrency": 10,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "Batch",
                    "States": {
                        "Batch": {
                            "Type": "Pass",
                            "Parameters": {"n.$": "States.ArrayLength($.Items)"},
                            "End": True,
                        }
                    },
                },
                "ResultSelector": {"batches.$": "States.ArrayLength($)"},
                "End": True,
            }
        },
    }


def run_distributed(rows: int) -> tuple[float, str, Any]:
    lines = ["customerid,sensorid_period,total_kwh,reading_count"]
    lines += [
        f'"{1000 + i % 97}","{51246501 + i}#2024-01-05T{i % 24:02d}","{i % 7}.25","{1 + i % 4}"'
        for i in range(rows)
    ]
    s3 = _MemoryS3(("\n".join(lines) + "\n").encode())
    host = ExecutionHost(clock=RealClock(), client_factory=lambda service: s3)
    machine = host.parse(distributed_definition())
    started = time.perf_counter()
    record = host.start_execution(
        machine,
        state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Bench",
        input={},
        sync=True,
    )
    return time.perf_counter() - started, record.status, record.output


def run() -> Result:
    figures: dict[str, Any] = {}
    ratios = []
    loop = loop_definition(TRANSITIONS)
    ours = run_ours(loop, {})
    moto = run_moto(loop, {})
    figures.update(_figures("pass/choice loop", "transitions", ours[1], ours, moto))
    ratios.append(
        Ratio("pass/choice loop: transitions/s", ours[1] / ours[0], moto[1] / moto[0], "moto", TARGET)
    )
    items = {"items": list(range(ITEMS))}
    mapping = map_definition()
    ours = run_ours(mapping, items)
    moto = run_moto(mapping, items)
    figures.update(_figures("inline map", "items", ITEMS, ours, moto))
    ratios.append(Ratio("inline map: items/s", ITEMS / ours[0], ITEMS / moto[0], "moto", TARGET))
    elapsed, status, output = run_distributed(ROWS)
    figures["distributed map (CSV, batches of 100, EXPRESS): rows"] = ROWS
    figures["distributed map: localcloud status / seconds"] = f"{status} / {elapsed:.2f} ({output})"
    figures["distributed map: localcloud rows/s"] = round(ROWS / elapsed)
    return Result(figures=figures, ratios=ratios)
