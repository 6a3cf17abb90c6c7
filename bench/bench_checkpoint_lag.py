"""How much recent state a SIGKILL of localcloud loses: its checkpoint lag.

Each round starts localcloud in a fresh home, then one client writes in a loop: a DynamoDB
PutItem (MiniStack's tables) and a StartExecution of a long-waiting state machine (localcloud's
executions), noting when each call was acknowledged. After a few seconds localcloud is killed
(SIGKILL) and started again; the lag is the time from the last acknowledged write that survived
to the kill, and the writes lost are those acknowledged after it. Rounds are run on a small state
and with a month of a 50-customer demo in the table (about 50,000 items), since MiniStack's
snapshot interval grows with its tables.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_endpoint import _client
from localcloud import launcher

TABLE = "lag"
ROUNDS = 5
LARGE_ROUNDS = 3
LARGE_ITEMS = 50_000
WAITING = '{"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": true}}}'


def _prepare(endpoint: str, items: int) -> str:
    ddb = _client(endpoint, "dynamodb")
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for start in range(0, items, 25):
        batch = [
            {"PutRequest": {"Item": {"id": {"S": f"bulk{n}"}, "pad": {"S": "x" * 80}}}}
            for n in range(start, min(items, start + 25))
        ]
        ddb.batch_write_item(RequestItems={TABLE: batch})
    role = "arn:aws:iam::000000000000:role/bench"
    sfn = _client(endpoint, "stepfunctions")
    return str(sfn.create_state_machine(name="lag", definition=WAITING, roleArn=role)["stateMachineArn"])


def _round(items: int) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="checkpoint-lag-")) / "home"
    endpoint = launcher.start(home, port=0).endpoint
    machine = _prepare(endpoint, items)
    ddb, sfn = _client(endpoint, "dynamodb"), _client(endpoint, "stepfunctions")
    if items:
        time.sleep(5)  # past the first snapshot of the preloaded table
    acked: dict[int, float] = {}
    started: dict[int, float] = {}
    stop_at = time.monotonic() + 3 + random.random() * 3
    n = 0
    while time.monotonic() < stop_at:
        ddb.put_item(TableName=TABLE, Item={"id": {"S": f"w{n}"}})
        acked[n] = time.monotonic()
        sfn.start_execution(stateMachineArn=machine, name=f"e{n}")
        started[n] = time.monotonic()
        n += 1
    killed = time.monotonic()
    launcher.stop(home, kill=True)
    endpoint = launcher.start(home, port=0).endpoint
    try:
        ddb, sfn = _client(endpoint, "dynamodb"), _client(endpoint, "stepfunctions")
        kept_items = {
            int(item["id"]["S"][1:])
            for page in ddb.get_paginator("scan").paginate(TableName=TABLE)
            for item in page["Items"]
            if item["id"]["S"].startswith("w")
        }
        kept_runs = {
            int(e["name"][1:])
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
            for e in page["executions"]
        }
    finally:
        launcher.stop(home)
    last_item, last_run = max(kept_items, default=-1), max(kept_runs, default=-1)
    return {
        "writes": n,
        "item_lag_s": killed - acked[last_item] if last_item >= 0 else killed - acked[0],
        "items_lost": n - 1 - last_item,
        "execution_lag_s": killed - started[last_run] if last_run >= 0 else killed - started[0],
        "executions_lost": n - 1 - last_run,
    }


def _summary(rounds: list[dict[str, float]], label: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for key in ("item_lag_s", "execution_lag_s"):
        values = [r[key] for r in rounds]
        figures[f"{label}: {key} (median, max of {len(values)})"] = (
            f"{statistics.median(values):.2f}, {max(values):.2f}"
        )
    for key in ("items_lost", "executions_lost"):
        figures[f"{label}: {key} per round"] = ", ".join(str(int(r[key])) for r in rounds)
    figures[f"{label}: writes per round"] = ", ".join(str(int(r["writes"])) for r in rounds)
    return figures


def run() -> dict[str, Any]:
    small = [_round(0) for _ in range(ROUNDS)]
    large = [_round(LARGE_ITEMS) for _ in range(LARGE_ROUNDS)]
    return {**_summary(small, "small state"), **_summary(large, f"{LARGE_ITEMS:,} items")}
