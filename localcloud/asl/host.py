"""The execution host: starts executions of parsed definitions, runs them (in the background or
synchronously), and answers describe / history / stop / redrive.

Everything from outside is injected: the clock, a boto3-client factory by service name, the store,
the integration factory, and a resolver from state machine ARN to a parsed definition (used to start
child executions, for ``states:startExecution`` and Distributed Map children in part B).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from typing import Any

import boto3

from localcloud.asl.clock import Clock, RealClock
from localcloud.asl.definition import StateMachine, parse_definition
from localcloud.asl.distributed.map_run import MapRun, MapRunNotFound
from localcloud.asl.engine import run_graph
from localcloud.asl.errors import STOP_REQUESTED, TIMEOUT, ExecutionStopped, StatesFailure
from localcloud.asl.history import NOT_TRUNCATED, History, view
from localcloud.asl.integrations import IntegrationFactory
from localcloud.asl.mocking import MockProvider, MockSession, UnknownTestCase, session_for
from localcloud.asl.payload import to_json
from localcloud.asl.registrations import default_factory
from localcloud.asl.runtime import CancelToken, ExecutionContext, ExecutionTimedOut, Frame, Variables
from localcloud.asl.service_errors import (
    ExecutionAlreadyExists,
    ExecutionNotFound,
    ExecutionNotRedrivable,
    StateMachineDoesNotExist,
)
from localcloud.asl.store import (
    ABORTED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    ExecutionRecord,
    ExecutionStore,
    InMemoryExecutionStore,
    copy_json,
)
from localcloud.asl.tokens import TaskTokens

REDRIVE_WINDOW = dt.timedelta(days=14)
STOP_GRACE_SECONDS = 5.0
MAX_REDRIVES = 1000


def _default_client_factory(service: str) -> Any:
    return boto3.client(service)  # type: ignore[call-overload]


class ExecutionHost:
    """Runs executions. Thread-safe; one host serves many state machines."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        client_factory: Callable[[str], Any] | None = None,
        store: ExecutionStore | None = None,
        integrations: IntegrationFactory | None = None,
        machine_resolver: Callable[[str], StateMachine] | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
        mock_config: MockProvider | None = None,
    ) -> None:
        self.clock: Clock = clock or RealClock()
        self.client_factory = client_factory or _default_client_factory
        self.store: ExecutionStore = store or InMemoryExecutionStore()
        self.integrations = integrations or default_factory()
        self.machine_resolver = machine_resolver
        self.mock_config = mock_config  # Step Functions Local's mock configuration, if any
        self.region = region
        self.account = account
        self.task_tokens = TaskTokens()
        self._live: dict[str, tuple[ExecutionContext, threading.Thread | None]] = {}
        self._done: dict[str, threading.Event] = {}
        self._map_runs: dict[str, str] = {}  # Map Run ARN -> the parent execution's ARN
        self._lock = threading.Lock()

    # ---- starting ---------------------------------------------------------------------------------

    def parse(self, definition: str | dict[str, Any], machine_type: str = "STANDARD") -> StateMachine:
        return parse_definition(definition, self.integrations, machine_type)

    def start_execution(
        self,
        machine: StateMachine | str | dict[str, Any],
        *,
        state_machine_arn: str,
        input: Any = None,
        name: str | None = None,
        execution_type: str = "STANDARD",
        role_arn: str = "",
        execution_arn: str | None = None,
        sync: bool = False,
        extra: dict[str, Any] | None = None,
        parent_token: CancelToken | None = None,
        replace: bool = False,
        mock_test_case: str | None = None,
    ) -> ExecutionRecord:
        """Start an execution. ``sync=True`` runs it to its end in the calling thread (StartSyncExecution,
        tests); otherwise it runs on a background thread and this returns at once (RUNNING).

        ``mock_test_case`` runs it with that test case of the host's mock configuration for the state
        machine's name (Step Functions Local's ``<state machine ARN>#<test case>``); raises
        :class:`~localcloud.asl.mocking.UnknownTestCase` when there is no such test case.

        ``parent_token`` ties the execution to a parent's cancellation (Distributed Map children
        are aborted with their Map Run); ``replace`` lets an EXPRESS Map Run child start again under
        its old ARN when its Map Run is redriven (Redriving Map Runs: "Express child workflow
        executions use the same execution ARN as the original execution attempt")."""
        parsed = machine if isinstance(machine, StateMachine) else self.parse(machine, execution_type)
        sm_name = state_machine_arn.rsplit(":", 1)[-1]
        extra = dict(extra or {})
        if mock_test_case is not None:
            config = self.mock_config() if self.mock_config is not None else None
            if config is None:
                raise UnknownTestCase(
                    f"No mock map found for test {mock_test_case}: no mock configuration is loaded"
                )
            extra["mock"] = MockSession.start(config.test_case(sm_name, mock_test_case)).spec
        name = name or str(uuid.uuid4())
        if execution_arn is None:
            prefix = state_machine_arn.rsplit(":", 2)[0].replace(":stateMachine", "")
            kind = "express" if execution_type == "EXPRESS" else "execution"
            suffix = f":{uuid.uuid4()}" if execution_type == "EXPRESS" else ""
            execution_arn = f"{prefix}:{kind}:{sm_name}:{name}{suffix}"
        with self._lock:
            if self.store.get(execution_arn) is not None and not replace:
                raise ExecutionAlreadyExists(f"Execution Already Exists: '{execution_arn}'")
            record = ExecutionRecord(
                execution_arn=execution_arn,
                name=name,
                state_machine_arn=state_machine_arn,
                state_machine_name=sm_name,
                definition=parsed.raw,
                input=input if input is not None else {},
                execution_type=execution_type,
                role_arn=role_arn,
                start_date=self.clock.now(),
                extra=extra,
            )
            self.store.put(record)
        self._launch(record, parsed, resume=None, sync=sync, mode="start", parent_token=parent_token)
        return record

    def start_child_execution(
        self,
        *,
        state_machine_arn: str,
        input: Any,
        name: str | None = None,
        parent: ExecutionContext | None = None,
        sync: bool = False,
    ) -> ExecutionRecord:
        """Start an execution of another state machine by ARN (``states:startExecution``), of the
        type its resolved machine has (``StateMachine.machine_type``). Raises
        :class:`StateMachineDoesNotExist` when the resolver knows no such machine (or there is no
        resolver), :class:`ExecutionAlreadyExists` for a name already used."""
        if self.machine_resolver is None:
            raise StateMachineDoesNotExist(
                f"State Machine Does Not Exist: '{state_machine_arn}' (this host has no machine_resolver)"
            )
        try:
            machine = self.machine_resolver(state_machine_arn)
        except LookupError as exc:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{state_machine_arn}'") from exc
        extra = {"parent_execution_arn": parent.execution_arn} if parent else {}
        return self.start_execution(
            machine,
            state_machine_arn=state_machine_arn,
            input=input,
            name=name,
            execution_type=machine.machine_type,
            role_arn=parent.role_arn if parent else "",
            sync=sync,
            extra=extra,
        )

    # ---- answering --------------------------------------------------------------------------------

    def describe(self, execution_arn: str) -> ExecutionRecord:
        record = self.store.get(execution_arn)
        if record is None:
            raise ExecutionNotFound(f"Execution Does Not Exist: '{execution_arn}'")
        return record

    def history(
        self, execution_arn: str, *, include_execution_data: bool = True, reverse: bool = False
    ) -> list[dict[str, Any]]:
        return view(
            self.describe(execution_arn).history,
            include_execution_data=include_execution_data,
            reverse=reverse,
        )

    def find(self, execution_arn: str) -> ExecutionRecord | None:
        return self.store.get(execution_arn)

    def save(self, execution_arn: str) -> None:
        """Put the record again, so that a persistent store saves what changed outside a transition."""
        record = self.store.get(execution_arn)
        if record is not None:
            self.store.put(record)

    def done_event(self, execution_arn: str) -> threading.Event:
        """Set when the execution stops running. A parent task waiting for a child (``.sync``)
        sleeps on the clock with ``req.sleep(seconds, wake=host.done_event(arn))``, never on the
        event directly: a thread blocked outside the clock would hold virtual time still."""
        with self._lock:
            done = self._done.get(execution_arn)
        if done is None:
            done = threading.Event()
            if self.describe(execution_arn).status != RUNNING:
                done.set()
        return done

    def wait(self, execution_arn: str, timeout: float | None = None) -> ExecutionRecord:
        """Block until the execution is no longer RUNNING (real time; for background runs)."""
        with self._lock:
            done = self._done.get(execution_arn)
        if done is not None:
            done.wait(timeout)
        return self.describe(execution_arn)

    def list_executions(
        self,
        *,
        state_machine_arn: str | None = None,
        map_run_arn: str | None = None,
        status: str | None = None,
    ) -> list[ExecutionRecord]:
        """ListExecutions: by state machine, or the child executions of one Map Run (its
        ``mapRunArn`` filter), newest first."""
        records = [
            r
            for r in self.store.list()
            if (state_machine_arn is None or r.state_machine_arn == state_machine_arn)
            and (map_run_arn is None or r.extra.get("map_run_arn") == map_run_arn)
            and (status is None or r.status == status)
        ]
        return sorted(records, key=lambda r: r.start_date, reverse=True)

    # ---- Map Runs (DescribeMapRun / ListMapRuns / UpdateMapRun) ------------------------------------

    def register_map_run(self, record: ExecutionRecord, map_run: MapRun) -> None:
        """Called by a Distributed Map when it starts a Map Run in ``record``'s execution."""
        with self._lock:
            record.map_runs[map_run.map_run_arn] = map_run
            self._map_runs[map_run.map_run_arn] = record.execution_arn

    def describe_map_run(self, map_run_arn: str) -> MapRun:
        """The live Map Run record; raises :class:`MapRunNotFound`."""
        with self._lock:
            parent = self._map_runs.get(map_run_arn)
        if parent is None:
            # A persistent store outlives this host's index: look through the saved executions.
            for saved in self.store.list():
                if map_run_arn in saved.map_runs:
                    with self._lock:
                        self._map_runs[map_run_arn] = saved.execution_arn
                    return saved.map_runs[map_run_arn]
            raise MapRunNotFound(f"Map Run Does Not Exist: '{map_run_arn}'")
        record = self.store.get(parent)
        if record is None or map_run_arn not in record.map_runs:
            raise MapRunNotFound(f"Map Run Does Not Exist: '{map_run_arn}'")
        return record.map_runs[map_run_arn]

    def list_map_runs(self, execution_arn: str) -> list[MapRun]:
        """ListMapRuns: the Map Runs one execution started, newest first."""
        runs = list(self.describe(execution_arn).map_runs.values())
        return sorted(runs, key=lambda run: run.start_date, reverse=True)

    def update_map_run(
        self,
        map_run_arn: str,
        *,
        max_concurrency: int | None = None,
        tolerated_failure_percentage: float | None = None,
        tolerated_failure_count: int | None = None,
    ) -> MapRun:
        """UpdateMapRun: a running Map Run applies the new settings at its next scheduling decision
        (more or fewer children at once; the thresholds decide at the next child that ends).
        Raises :class:`MapRunNotFound`, or ValueError for a value out of range."""
        run = self.describe_map_run(map_run_arn)
        run.update(
            max_concurrency=max_concurrency,
            tolerated_failure_percentage=tolerated_failure_percentage,
            tolerated_failure_count=tolerated_failure_count,
        )
        self.clock.notify()
        record = self.store.get(run.execution_arn)
        if record is not None:
            self.store.put(record)
        return run

    # ---- task tokens (SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat) ----------------------

    def send_task_success(self, token: str, output: Any) -> None:
        """Raises ``tokens.InvalidToken`` or ``tokens.TaskTimedOut`` as the API does."""
        self.task_tokens.succeed(token, output)
        self.clock.notify()

    def send_task_failure(self, token: str, *, error: str | None = None, cause: str | None = None) -> None:
        self.task_tokens.fail(token, error, cause)
        self.clock.notify()

    def send_task_heartbeat(self, token: str) -> None:
        self.task_tokens.heartbeat(token, self.clock.now())

    # ---- stop and redrive ---------------------------------------------------------------------------

    def stop(
        self, execution_arn: str, *, error: str | None = None, cause: str | None = None
    ) -> ExecutionRecord:
        """StopExecution: the execution ends ABORTED. Running states are cancelled and unwind
        (bounded by :data:`STOP_GRACE_SECONDS` of real time, for a state blocked in a service call)
        without recording anything, as on AWS: ``ExecutionAborted`` with the error and cause given
        closes the history after their entries, whose exit is never recorded. A state still blocked
        after the grace (a call that cannot be cancelled) is cut loose: see :meth:`_detach`."""
        record = self.describe(execution_arn)
        with self._lock:
            live = self._live.get(execution_arn)
            done = self._done.get(execution_arn)
            if record.status != RUNNING:
                return record
            record.extra["stop"] = {"error": error, "cause": cause}
            if live is not None:
                live[0].root_token.cancel(STOP_REQUESTED)
        self.clock.notify()
        if live is not None and done is not None:
            done.wait(STOP_GRACE_SECONDS)
        with self._lock:
            if record.status == RUNNING:  # not unwound yet (or no thread): close the record here
                record.status = ABORTED
                record.stop_date = self.clock.now()
                record.error, record.cause = error, cause
                history = live[0].history if live is not None else History(self.clock.now, record.history)
                history.add("ExecutionAborted", history.last_id, _error_details(error, cause))
                self._detach(record)
                if done is not None:
                    done.set()  # ended: waiters (host.wait, a parent's .sync task) go on now
        self.clock.notify()
        self.store.put(record)
        return record

    def _detach(self, record: ExecutionRecord) -> None:
        """Cut an execution closed by :meth:`stop` loose from the thread still blocked in a
        service call (called under the lock). That thread unwinds whenever its call returns,
        maybe after a redrive of the execution started another one: what it still writes (its
        states' progress, Map Runs it aborts, events) goes to the objects it holds, no longer the
        record's, and :meth:`_finish` leaves the record alone. On AWS a stopped execution's late
        results are simply dropped; without this, the stale thread put its old record back in the
        store (a persistent store reads a redriven record back as a new object) or ended the
        redriven run, and the redrive's Map Runs went missing (``Map Run Does Not Exist``)."""
        self._live.pop(record.execution_arn, None)
        record.history = list(record.history)
        record.progress = copy_json(record.progress)
        now = self.clock.now()
        runs: dict[str, MapRun] = {}
        for arn, run in record.map_runs.items():
            runs[arn] = MapRun.from_json(run.to_json())
            if run.status == RUNNING:
                runs[arn].stop(ABORTED, now)  # as the Map state's own unwinding would have
        record.map_runs = runs

    def redrive_problem(self, record: ExecutionRecord) -> str | None:
        """Why the execution cannot be redriven (AWS's redriveStatusReason), or None."""
        if record.execution_type != "STANDARD":
            return "Execution is an EXPRESS execution and cannot be redriven"
        if record.status == RUNNING:
            return "Execution is RUNNING and cannot be redriven"
        if record.status == SUCCEEDED:
            return "Execution is SUCCEEDED and cannot be redriven"
        if record.redrive_count >= MAX_REDRIVES:
            return f"Execution has been redriven {MAX_REDRIVES} times and cannot be redriven again"
        # The redrivable period (14 days) "starts from the day a state machine completes its
        # execution"; the reason is DescribeExecution's documented redriveStatusReason.
        if record.stop_date is not None and self.clock.now() - record.stop_date > REDRIVE_WINDOW:
            return "Execution redrivable period exceeded"
        return None

    def redrive(
        self, execution_arn: str, *, sync: bool = False, parent_token: CancelToken | None = None
    ) -> ExecutionRecord:
        """RedriveExecution: continue a FAILED, ABORTED or TIMED_OUT STANDARD execution from the
        unsuccessful step with the same definition and input; successful steps, branches and
        iterations are not run again."""
        record = self.describe(execution_arn)
        with self._lock:
            problem = self.redrive_problem(record)
            if problem is not None:
                raise ExecutionNotRedrivable(problem)
            machine = parse_definition(record.definition, self.integrations)
            record.redrive_count += 1
            record.redrive_date = self.clock.now()
            record.status = RUNNING
            record.stop_date = None
            record.error = None
            record.cause = None
            record.output = None
            record.extra.pop("stop", None)
            resume = record.progress
            record.progress = {}
            self.store.put(record)
        self._launch(record, machine, resume=resume, sync=sync, mode="redrive", parent_token=parent_token)
        return record

    def recover(self) -> list[str]:
        """After a restart with a persistent store: continue every RUNNING execution no thread of
        this host runs, from the progress last saved with it (no event is added: to the history it
        simply goes on). Returns the ARNs resumed."""
        resumed: list[str] = []
        for record in self.store.list():
            with self._lock:
                if record.status != RUNNING or record.execution_arn in self._live:
                    continue
            machine = parse_definition(record.definition, self.integrations)
            resume = record.progress or None
            record.progress = {}
            self._launch(record, machine, resume=resume, sync=False, mode="recover" if resume else "start")
            resumed.append(record.execution_arn)
        return resumed

    # ---- running ----------------------------------------------------------------------------------------

    def _launch(
        self,
        record: ExecutionRecord,
        machine: StateMachine,
        *,
        resume: dict[str, Any] | None,
        sync: bool,
        mode: str,
        parent_token: CancelToken | None = None,
    ) -> None:
        ctx = self._context(record, machine, parent_token)
        done = threading.Event()
        with self._lock:
            self._done[record.execution_arn] = done
        if sync:
            with self._lock:
                self._live[record.execution_arn] = (ctx, None)
            with self.clock.participant():
                self._drive(record, machine, ctx, resume=resume, done=done, mode=mode)
            return
        thread = threading.Thread(
            target=self.clock.bind_participant(
                lambda: self._drive(record, machine, ctx, resume=resume, done=done, mode=mode)
            ),
            name=f"execution-{record.name}",
            daemon=True,
        )
        with self._lock:
            self._live[record.execution_arn] = (ctx, thread)
        thread.start()

    def _context(
        self, record: ExecutionRecord, machine: StateMachine, parent_token: CancelToken | None = None
    ) -> ExecutionContext:
        started = record.redrive_date or record.start_date
        deadline = (
            started + dt.timedelta(seconds=machine.timeout_seconds) if machine.timeout_seconds else None
        )
        return ExecutionContext(
            execution_arn=record.execution_arn,
            execution_name=record.name,
            state_machine_arn=record.state_machine_arn,
            state_machine_name=record.state_machine_name,
            execution_type=record.execution_type,
            role_arn=record.role_arn,
            input=record.input,
            start_time=record.start_date,
            clock=self.clock,
            history=History(self.clock.now, record.history),
            integrations=self.integrations,
            client_factory=self.client_factory,
            region=self.region,
            account=self.account,
            host=self,
            deadline=deadline,
            redrive_count=record.redrive_count,
            redrive_time=record.redrive_date,
            root_token=CancelToken(parent_token),
            task_tokens=self.task_tokens,
            mock=session_for(record.extra["mock"], self.mock_config) if "mock" in record.extra else None,
        )

    def _drive(
        self,
        record: ExecutionRecord,
        machine: StateMachine,
        ctx: ExecutionContext,
        *,
        resume: dict[str, Any] | None,
        done: threading.Event,
        mode: str,
    ) -> None:
        history = ctx.history
        if mode == "recover":
            last = history.last_id
        elif mode == "start":
            last = history.add(
                "ExecutionStarted",
                0,
                {
                    "input": to_json(record.input),
                    "inputDetails": NOT_TRUNCATED,
                    "roleArn": record.role_arn,
                },
            )
        else:
            last = history.add("ExecutionRedriven", history.last_id, {"redriveCount": record.redrive_count})
        restored = dict(resume.get("vars") or {}) if resume else {}
        frame = Frame(
            ctx, Variables(restored), ctx.root_token, last_event=last, record=record.progress, resume=resume
        )
        status, output, error, cause = SUCCEEDED, None, None, None
        try:
            output = run_graph(machine.graph, frame, record.input)
        except StatesFailure as failure:
            status, error, cause = FAILED, failure.error or None, failure.cause
        except ExecutionStopped:
            stop = record.extra.get("stop") or {}
            status, error, cause = ABORTED, stop.get("error"), stop.get("cause")
        except ExecutionTimedOut:
            status, error, cause = TIMED_OUT, TIMEOUT, "The execution timed out."
        except Exception as exc:  # a bug of ours or an integration's: fail the execution, keep the cause
            status, error, cause = (
                FAILED,
                "States.Runtime",
                f"Internal error in localcloud's interpreter: {exc!r}",
            )
        finally:
            ctx.root_token.release()  # a Map Run's children detach from its cancellation when done
            self._finish(record, ctx, status=status, output=output, error=error, cause=cause)
            done.set()
            self.clock.notify()  # a parent sleeping on the clock with wake=done_event(...) resumes

    def _finish(
        self,
        record: ExecutionRecord,
        ctx: ExecutionContext,
        *,
        status: str,
        output: Any,
        error: str | None,
        cause: str | None,
    ) -> None:
        with self._lock:
            live = self._live.get(record.execution_arn)
            if live is None or live[0] is not ctx:
                return  # closed by stop (see _detach), maybe redriven since: no longer this run's
            del self._live[record.execution_arn]
            if record.status != RUNNING:  # stopped meanwhile: StopExecution already wrote the end
                self.store.put(record)
                return
            record.status = status
            record.stop_date = self.clock.now()
            history = ctx.history
            if status == SUCCEEDED:
                record.output = output
                history.add(
                    "ExecutionSucceeded",
                    history.last_id,
                    {"output": to_json(output), "outputDetails": NOT_TRUNCATED},
                )
            else:
                record.error = error
                record.cause = cause
                kind = {
                    FAILED: "ExecutionFailed",
                    TIMED_OUT: "ExecutionTimedOut",
                    ABORTED: "ExecutionAborted",
                }[status]
                history.add(kind, history.last_id, _error_details(error, cause))
            self.store.put(record)


def _error_details(error: str | None, cause: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if error is not None:
        details["error"] = error
    if cause is not None:
        details["cause"] = cause
    return details
