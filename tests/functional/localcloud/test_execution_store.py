"""The durable execution store in-process (an in-memory SQLite): write-behind checkpoints that
flush the data first, interrupted executions marked FAILED, nothing written after a close, and
status changes published with the checkpoint that saves them."""

from __future__ import annotations

import contextlib
import datetime as dt

from localcloud.asl.store import FAILED, RUNNING, SUCCEEDED, ExecutionRecord, FrozenList, copy_json
from localcloud.state import Store
from localcloud.stepfunctions.executions import SqliteExecutionStore

ARN = "arn:aws:states:us-east-1:000000000000:execution:m:e1"
NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def record(status: str = RUNNING) -> ExecutionRecord:
    return ExecutionRecord(
        execution_arn=ARN,
        name="e1",
        state_machine_arn="arn:aws:states:us-east-1:000000000000:stateMachine:m",
        state_machine_name="m",
        definition={"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        input={"n": 1},
        status=status,
        start_date=NOW,
        history=[{"timestamp": NOW, "type": "ExecutionStarted", "id": 1, "previousEventId": 0}],
    )


def reopened(store: Store) -> SqliteExecutionStore:
    return SqliteExecutionStore(store)  # what a restart sees: only what was written


def test_a_checkpoint_flushes_the_data_before_it_writes_the_executions() -> None:
    store = Store(None)
    executions = SqliteExecutionStore(store)
    live = record()
    executions.put(live)
    assert reopened(store).summaries() == []  # not written until a checkpoint
    live.status, live.stop_date = SUCCEEDED, NOW
    executions.put(live)  # the host puts a record whenever it changes its status
    seen_at_flush: list[int] = []
    executions.checkpoint(lambda: seen_at_flush.append(len(reopened(store).summaries())))
    assert seen_at_flush == [0]  # the flush came first
    again = reopened(store).get(ARN)
    assert again is not None and again.status == SUCCEEDED and len(again.history) == 1
    assert executions.checkpoint() == 0  # nothing changed since


def test_executions_left_running_are_failed_with_the_cause_and_an_event() -> None:
    store = Store(None)
    executions = SqliteExecutionStore(store)
    executions.put(record())
    executions.checkpoint()
    after_restart = reopened(store)
    assert after_restart.fail_interrupted(NOW, "localcloud restarted") == [ARN]
    failed = reopened(store).get(ARN)
    assert failed is not None and (failed.status, failed.error, failed.cause) == (
        FAILED,
        "States.Runtime",
        "localcloud restarted",
    )
    assert [e["type"] for e in failed.history] == ["ExecutionStarted", "ExecutionFailed"]
    assert reopened(store).summaries()[0]["status"] == FAILED


def test_after_a_close_nothing_more_is_written() -> None:
    store = Store(None)
    executions = SqliteExecutionStore(store)
    live = record()
    executions.put(live)
    executions.close()
    live.status = FAILED  # what an execution does while the server goes down
    executions.put(live)
    executions.checkpoint()
    saved = reopened(store).get(ARN)
    assert saved is not None and saved.status == RUNNING


def test_an_express_executions_history_is_saved_without_its_payloads_and_its_record_with_them() -> None:
    store = Store(None)
    executions = SqliteExecutionStore(store)
    started = {
        "timestamp": NOW,
        "type": "ExecutionStarted",
        "id": 1,
        "previousEventId": 0,
        "executionStartedEventDetails": {"input": '{"Items": ["a batch"]}', "roleArn": "arn:role"},
    }
    for arn, kind in ((ARN, "EXPRESS"), (ARN + "-standard", "STANDARD")):
        live = record(SUCCEEDED)
        live.execution_arn, live.execution_type, live.history = arn, kind, [dict(started)]
        executions.put(live)
    executions.checkpoint()

    express, standard = reopened(store).get(ARN), reopened(store).get(ARN + "-standard")
    assert express is not None and standard is not None
    assert express.history[0]["executionStartedEventDetails"] == {"roleArn": "arn:role"}
    assert express.input == {"n": 1}  # the record keeps its input (a Map Run redrive restarts it)
    assert standard.history[0]["executionStartedEventDetails"]["input"] == '{"Items": ["a batch"]}'


def test_an_express_executions_progress_is_not_saved_since_it_is_never_redriven() -> None:
    store = Store(None)
    executions = SqliteExecutionStore(store)
    progress = {"frames": [{"state": "Write", "input": {"Items": ["a batch"]}}]}
    for arn, kind in ((ARN, "EXPRESS"), (ARN + "-standard", "STANDARD")):
        live = record()
        live.execution_arn, live.execution_type, live.progress = arn, kind, progress
        executions.put(live)
    executions.checkpoint()

    express, standard = reopened(store).get(ARN), reopened(store).get(ARN + "-standard")
    assert express is not None and standard is not None
    assert (express.status, express.progress, express.input) == (RUNNING, {}, {"n": 1})
    assert standard.progress == progress  # what RedriveExecution resumes from


def test_a_map_runs_inputs_are_written_once_and_read_back_whole() -> None:
    store = Store(None)
    executions = SqliteExecutionStore(store)
    inputs = FrozenList([{"Items": [{"customer": f"C{n}", "kwh": "1.5"}]} for n in range(3)])
    live = record()
    live.progress = {"frames": {"Write": {"map_run": {"arn": "mr", "inputs": inputs, "items": [1, 1, 1]}}}}
    executions.put(live)
    executions.checkpoint()
    first = _written(store)
    live.progress["frames"]["Write"]["children"] = {"0": {"status": SUCCEEDED}}  # progress moves on
    executions.put(live)
    executions.checkpoint()
    second = _written(store)
    assert len(first["states.frozen"]) == 1 and second["states.frozen"] == first["states.frozen"]
    assert second["states.execution_records"] != first["states.execution_records"]  # written again

    again = reopened(store).get(ARN)
    assert again is not None
    saved = again.progress["frames"]["Write"]
    assert saved["children"] == {"0": {"status": SUCCEEDED}}
    assert saved["map_run"]["inputs"] == list(inputs)
    assert isinstance(saved["map_run"]["inputs"], FrozenList)  # a redrive saves it once again
    assert saved["map_run"]["inputs"].key == inputs.key


def _written(store: Store) -> dict[str, list[tuple[str, float, str]]]:
    """Each document of the two collections: its key, when it was last written, its text."""
    rows = store.execute("SELECT collection, key, updated_at, doc FROM documents ORDER BY key")
    return {
        name: [(key, at, doc) for collection, key, at, doc in rows if collection == name]
        for name in ("states.frozen", "states.execution_records")
    }


def test_a_map_runs_inputs_are_shared_not_copied_when_progress_is_copied() -> None:
    inputs = FrozenList([{"Items": [1, 2]}])
    copied = copy_json({"map_run": {"inputs": inputs}})
    assert copied["map_run"]["inputs"] is inputs
    assert inputs.json_text() == '[{"Items":[1,2]}]'


class Published:
    """What the store hands to EventBridge, and what SQLite held when it did."""

    def __init__(self, store: Store, executions: SqliteExecutionStore) -> None:
        self.batches: list[list[tuple[str, str | None]]] = []
        executions.on_status_change = lambda rec: (rec.status, rec.redrive_count)
        executions.publish = lambda events: self.batches.append(
            [(f"{status}/{count}", _saved_status(store)) for status, count in events]
        )


def _saved_status(store: Store) -> str | None:
    saved = reopened(store).summary(ARN)
    return None if saved is None else str(saved["status"])


def test_status_changes_are_published_in_order_with_the_checkpoint_that_saves_them() -> None:
    store = Store(None)
    executions = SqliteExecutionStore(store)
    published = Published(store, executions)
    live = record()
    executions.put(live)
    executions.put(live)  # progress, no status change
    live.status, live.stop_date = FAILED, NOW
    executions.put(live)
    assert published.batches == []  # nothing before a checkpoint
    executions.checkpoint()
    # Both changes, in order, published in the transaction that wrote FAILED.
    assert published.batches == [[("RUNNING/0", "FAILED"), ("FAILED/0", "FAILED")]]
    live.status, live.redrive_count, live.stop_date = RUNNING, 1, None
    executions.put(live)
    executions.checkpoint()
    assert published.batches[1:] == [[("RUNNING/1", "RUNNING")]]


def test_a_record_whose_status_moved_since_its_last_put_waits_for_the_next_checkpoint() -> None:
    store = Store(None)
    executions = SqliteExecutionStore(store)
    published = Published(store, executions)
    live = record()
    executions.put(live)
    live.status, live.stop_date = SUCCEEDED, NOW  # the host has set the end, not yet put it
    executions.checkpoint()
    assert published.batches == [] and _saved_status(store) is None  # no event ahead of its state
    executions.put(live)
    executions.checkpoint()
    assert published.batches == [[("RUNNING/0", "SUCCEEDED"), ("SUCCEEDED/0", "SUCCEEDED")]]


def test_executions_a_restart_failed_publish_failed() -> None:
    store = Store(None)
    executions = SqliteExecutionStore(store)
    executions.put(record())
    executions.checkpoint()
    after_restart = reopened(store)
    published = Published(store, after_restart)
    after_restart.fail_interrupted(NOW, "localcloud restarted")
    assert published.batches == [[("FAILED/0", "FAILED")]]


def test_a_failed_publication_is_retried_with_the_next_checkpoint() -> None:
    store = Store(None)
    executions = SqliteExecutionStore(store)
    batches: list[list[str]] = []

    def flaky(events: list[str]) -> None:
        if not batches:
            batches.append([])
            raise RuntimeError("EventBridge's outbox could not be written")
        batches.append(events)

    executions.on_status_change = lambda rec: rec.status
    executions.publish = flaky
    executions.put(record())
    with contextlib.suppress(RuntimeError):
        executions.checkpoint()
    assert _saved_status(store) is None  # the transaction was rolled back whole
    executions.checkpoint()
    assert batches == [[], ["RUNNING"]] and _saved_status(store) == RUNNING
