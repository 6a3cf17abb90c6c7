"""EventBridge Scheduler: the API (botocore's ``scheduler`` model, REST-JSON) and the firing loop.

Schedules and groups live in localcloud's store. The firing loop waits on localcloud's clock;
when a schedule falls due it calls the target with an ordinary boto3 call to the endpoint
itself, so it does not depend on how the target is implemented:

- a Lambda function ARN: ``Invoke`` with InvocationType ``Event`` (as Scheduler does);
- a state machine ARN: ``StartExecution``;
- a universal target ``arn:aws:scheduler:::aws-sdk:<service>:<apiAction>``: that API call with
  the Input as its parameters.

The Input's context attributes ``<aws.scheduler.schedule-arn>``, ``<aws.scheduler.scheduled-time>``
(``2022-03-22T18:59:43Z``), ``<aws.scheduler.execution-id>`` (new for each attempt) and
``<aws.scheduler.attempt-number>`` are filled in. A failed call is retried (retryable errors
only) up to the RetryPolicy's MaximumRetryAttempts, capped at 3 locally, one second apart.

Every due time fires exactly once while localcloud runs, whether the real clock reached it or the
clock was set or advanced past it. When the clock is set back, every schedule's next due time is
counted again from the new time (the first due time at or after it), so the due times between
the new and the old time fire again as the clock passes them. Due times that passed while
localcloud was stopped are not caught up. A FLEXIBLE time window is accepted and recorded;
localcloud fires at the start of the window (deterministic, and within what AWS allows).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import re
import secrets
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from localcloud.scheduler import expressions
from localcloud.scheduler.exceptions import (
    ConflictException,
    ResourceNotFoundException,
    SchedulerValidationException,
)
from localcloud.server.pagination import BadToken, page
from localcloud.server.protocols import RestJsonProtocol, snake_case
from localcloud.server.registry import ProtocolService, ServiceContext
from localcloud.state import Collection, EventLog

log = logging.getLogger("localcloud.scheduler")

DEFAULT_GROUP = "default"
MAX_LOCAL_RETRIES = 3
RETRY_DELAY_SECONDS = 1.0

_LAMBDA_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9-_]+(:[\w$-]+)?$")
_STATE_MACHINE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[\w-]+$")
_UNIVERSAL_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:scheduler:::aws-sdk:([a-z0-9-]+):([a-zA-Z0-9]+)$")
_SDK_SERVICE_NAMES = {"sfn": "stepfunctions"}  # universal targets use the SDK's names
_RETRYABLE = {
    "ThrottlingException",
    "TooManyRequestsException",
    "ServiceException",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
}


def iso(when: dt.datetime | None) -> str | None:
    return None if when is None else when.astimezone(dt.UTC).isoformat()


def from_iso(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def scheduled_time_text(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def target_kind(arn: str) -> str:
    if _LAMBDA_ARN.match(arn):
        return "lambda"
    if _STATE_MACHINE_ARN.match(arn):
        return "states"
    if _UNIVERSAL_ARN.match(arn):
        return "universal"
    raise SchedulerValidationException(
        f"localcloud's Scheduler cannot invoke target {arn}: it fires Lambda functions, state machines and "
        "universal targets (arn:aws:scheduler:::aws-sdk:<service>:<apiAction>)"
    )


class SchedulerService(ProtocolService):
    signing_name = "scheduler"
    title = "Scheduler"

    def __init__(self) -> None:
        self.protocol = RestJsonProtocol("scheduler")
        self._context: ServiceContext | None = None
        self._schedules: Collection | None = None
        self._groups: Collection | None = None
        self._firings: EventLog | None = None
        self._wakeup = asyncio.Event()
        self._lock = asyncio.Lock()
        self._loop_task: asyncio.Task[None] | None = None
        self._unsubscribe: Any = None
        self._set_backs = 0  # the clock's set_backs that next due times were counted after

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, context: ServiceContext) -> None:
        self._context = context
        self._schedules = context.store.collection("scheduler.schedules")
        self._groups = context.store.collection("scheduler.groups")
        self._firings = context.store.log("scheduler.firings")
        if self._groups.get(DEFAULT_GROUP) is None:
            self._put_group(DEFAULT_GROUP, {})
        self._set_backs = context.clock.set_backs
        self._skip_missed()
        loop = asyncio.get_running_loop()

        def wake() -> None:
            loop.call_soon_threadsafe(self._wakeup.set)

        self._unsubscribe = context.clock.subscribe(wake)
        self._loop_task = asyncio.create_task(self._fire_loop(), name="scheduler-firing")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task

    @property
    def context(self) -> ServiceContext:
        assert self._context is not None, "the Scheduler service was not started"
        return self._context

    @property
    def schedules(self) -> Collection:
        assert self._schedules is not None
        return self._schedules

    @property
    def groups(self) -> Collection:
        assert self._groups is not None
        return self._groups

    def _skip_missed(self) -> None:
        """Due times that passed while localcloud was down are not caught up."""
        now = self.context.clock.now()
        for key, doc in self.schedules.items():
            due = from_iso(doc.get("NextDue"))
            if due is not None and due <= now:
                log.info("schedule %s: skipping due times missed while localcloud was stopped", key)
                doc["NextDue"] = iso(self._next_due(doc, after=now))
                self.schedules.put(key, doc)

    def _count_again_from(self, now: dt.datetime) -> None:
        """The clock was set back: each next due time is the first at or after the new time."""
        for key, doc in self.schedules.items():
            doc["NextDue"] = iso(self._next_due(doc, after=now - dt.timedelta(microseconds=1)))
            self.schedules.put(key, doc)

    # -- firing --------------------------------------------------------------------------------
    async def _fire_loop(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("the scheduler's firing loop failed; retrying")
            self._wakeup.clear()
            wait = self._seconds_to_next()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=wait)

    def _seconds_to_next(self) -> float | None:
        dues = [
            from_iso(doc["NextDue"])
            for doc in self.schedules.values()
            if doc.get("State") == "ENABLED" and doc.get("NextDue")
        ]
        upcoming = [due for due in dues if due is not None]
        if not upcoming:
            return None
        wait = self.context.clock.seconds_until(min(upcoming))
        return None if wait is None else wait + 0.01

    async def run_due(self) -> list[dict[str, Any]]:
        """Fire everything due by the clock's now, each due time once; what fired."""
        fired: list[dict[str, Any]] = []
        async with self._lock:
            clock = self.context.clock
            set_backs = clock.set_backs  # read before now: a set-back in between is seen next time
            now = clock.now()
            if set_backs != self._set_backs:
                self._set_backs = set_backs
                self._count_again_from(now)
            for key, doc in self.schedules.items():
                due = from_iso(doc.get("NextDue"))
                if doc.get("State") != "ENABLED" or due is None or due > now:
                    continue
                times = [due, *self._due_between(doc, after=due, until=now)]
                for when in times:
                    fired.append(await asyncio.to_thread(self._fire, doc, when))
                latest = self.schedules.get(key)
                if latest is None or latest.get("LastModificationDate") != doc.get("LastModificationDate"):
                    continue  # changed (or deleted by its target) while firing
                latest["NextDue"] = iso(self._next_due(latest, after=now))
                latest["LastFired"] = iso(times[-1])
                if latest["NextDue"] is None and latest.get("ActionAfterCompletion") == "DELETE":
                    self.schedules.delete(key)
                else:
                    self.schedules.put(key, latest)
        return fired

    def _expression(self, doc: dict[str, Any]) -> tuple[expressions.Expression, Any]:
        return expressions.parse(doc["ScheduleExpression"]), expressions.parse_timezone(
            doc.get("ScheduleExpressionTimezone")
        )

    def _anchor(self, doc: dict[str, Any]) -> dt.datetime:
        start = from_iso(doc.get("StartDate"))
        created = from_iso(doc["Created"])
        assert created is not None
        return start or created

    def _next_due(self, doc: dict[str, Any], *, after: dt.datetime) -> dt.datetime | None:
        expression, zone = self._expression(doc)
        start = from_iso(doc.get("StartDate"))
        if start is not None and after < start and not isinstance(expression, expressions.Rate):
            after = start - dt.timedelta(microseconds=1)
        due = expressions.next_time(expression, zone, after=after, anchor=self._anchor(doc))
        end = from_iso(doc.get("EndDate"))
        if due is not None and end is not None and due > end:
            return None
        return due

    def _due_between(
        self, doc: dict[str, Any], *, after: dt.datetime, until: dt.datetime
    ) -> list[dt.datetime]:
        expression, zone = self._expression(doc)
        end = from_iso(doc.get("EndDate"))
        if end is not None:
            until = min(until, end)
        return expressions.due_times(expression, zone, after=after, until=until, anchor=self._anchor(doc))

    def _fire(self, doc: dict[str, Any], scheduled: dt.datetime) -> dict[str, Any]:
        """Call the target (in a worker thread: the endpoint answers on the event loop)."""
        target = doc["Target"]
        retries = min(
            int((target.get("RetryPolicy") or {}).get("MaximumRetryAttempts", 185)), MAX_LOCAL_RETRIES
        )
        outcome: dict[str, Any] = {
            "schedule": doc["Arn"],
            "scheduledTime": scheduled_time_text(scheduled),
            "target": target["Arn"],
        }
        for attempt in range(1, retries + 2):
            execution_id = secrets.token_hex(8)
            payload = fill_context(target.get("Input"), doc["Arn"], scheduled, execution_id, attempt)
            outcome.update(attempt=attempt, executionId=execution_id)
            try:
                outcome["result"] = self._call_target(target, payload)
                outcome["status"] = "SUCCEEDED"
                break
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                outcome.update(
                    status="FAILED", error=f"{code}: {exc.response.get('Error', {}).get('Message', '')}"
                )
                if code not in _RETRYABLE:
                    break
            except (BotoCoreError, ValueError, TypeError) as exc:
                outcome.update(status="FAILED", error=str(exc))
                break
            time.sleep(RETRY_DELAY_SECONDS)
        level = logging.INFO if outcome["status"] == "SUCCEEDED" else logging.WARNING
        log.log(
            level,
            "schedule %s fired for %s: %s",
            doc["Name"],
            outcome["scheduledTime"],
            outcome.get("error", "ok"),
        )
        assert self._firings is not None
        self._firings.append(doc["Arn"], outcome)
        return outcome

    def _call_target(self, target: dict[str, Any], payload: str) -> Any:
        arn = target["Arn"]
        kind = target_kind(arn)
        if kind == "lambda":
            response = self.context.client("lambda").invoke(
                FunctionName=arn, InvocationType="Event", Payload=payload
            )
            return {"StatusCode": response["StatusCode"]}
        if kind == "states":
            response = self.context.client("stepfunctions").start_execution(
                stateMachineArn=arn, input=payload
            )
            return {"executionArn": response["executionArn"]}
        found = _UNIVERSAL_ARN.match(arn)
        assert found is not None
        service, action = found.groups()
        client = self.context.client(_SDK_SERVICE_NAMES.get(service, service))
        response = getattr(client, snake_case(action))(**json.loads(payload or "{}"))
        response.pop("ResponseMetadata", None)
        return json.loads(json.dumps(response, default=str))

    def firings(self, schedule_arn: str) -> list[dict[str, Any]]:
        assert self._firings is not None
        return [event for _, event in self._firings.read(schedule_arn)]

    # -- schedules -------------------------------------------------------------------------------
    def _key(self, group: str, name: str) -> str:
        return f"{group}/{name}"

    def _schedule(self, name: str, group: str | None) -> dict[str, Any]:
        group = group or DEFAULT_GROUP
        doc = self.schedules.get(self._key(group, name))
        if doc is None:
            raise ResourceNotFoundException(f"Schedule {name} does not exist.")
        return doc

    def _group(self, name: str) -> dict[str, Any]:
        doc = self.groups.get(name)
        if doc is None:
            raise ResourceNotFoundException(f"Schedule group {name} does not exist.")
        return doc

    def _schedule_doc(
        self, params: dict[str, Any], *, created: dt.datetime, arn: str, group: str, new: bool
    ) -> dict[str, Any]:
        expression_text = params["ScheduleExpression"]
        try:
            expressions.parse(expression_text)
            expressions.parse_timezone(params.get("ScheduleExpressionTimezone"))
        except expressions.ExpressionError as exc:
            raise SchedulerValidationException(str(exc)) from exc
        target = params["Target"]
        target_kind(target["Arn"])
        window = params["FlexibleTimeWindow"]
        if window.get("Mode") == "FLEXIBLE" and not window.get("MaximumWindowInMinutes"):
            raise SchedulerValidationException("MaximumWindowInMinutes is required when Mode is FLEXIBLE.")
        if window.get("Mode") == "OFF" and window.get("MaximumWindowInMinutes"):
            raise SchedulerValidationException("MaximumWindowInMinutes must not be set when Mode is OFF.")
        start, end = params.get("StartDate"), params.get("EndDate")
        if start and end and end <= start:
            raise SchedulerValidationException("The EndDate must be after the StartDate.")
        # A new schedule is judged from its creation instant (a rate without StartDate fires at
        # once, as on AWS); an updated one from now.
        now = min(created, self.context.clock.now()) if new else self.context.clock.now()
        doc: dict[str, Any] = {
            "Arn": arn,
            "Name": params["Name"],
            "GroupName": group,
            "ScheduleExpression": expression_text,
            "ScheduleExpressionTimezone": params.get("ScheduleExpressionTimezone") or "UTC",
            "Description": params.get("Description"),
            "StartDate": iso(start),
            "EndDate": iso(end),
            "State": params.get("State") or "ENABLED",
            "FlexibleTimeWindow": window,
            "Target": _json_safe(target),
            "ActionAfterCompletion": params.get("ActionAfterCompletion") or "NONE",
            "KmsKeyArn": params.get("KmsKeyArn"),
            "Created": iso(created),
            "LastModificationDate": iso(self.context.clock.now()),
        }
        # Fire times from now on (a rate without StartDate fires at once, as on AWS).
        doc["NextDue"] = iso(self._next_due(doc, after=now - dt.timedelta(microseconds=1)))
        return doc

    async def create_schedule(self, params: dict[str, Any]) -> dict[str, Any]:
        group = params.get("GroupName") or DEFAULT_GROUP
        self._group(group)
        key = self._key(group, params["Name"])
        if self.schedules.get(key) is not None:
            raise ConflictException(f"Schedule {params['Name']} already exists.")
        arn = self.context.arn("scheduler", f"schedule/{group}/{params['Name']}")
        doc = self._schedule_doc(params, created=self.context.clock.now(), arn=arn, group=group, new=True)
        self.schedules.put(key, doc)
        self._wakeup.set()
        return {"ScheduleArn": arn}

    async def update_schedule(self, params: dict[str, Any]) -> dict[str, Any]:
        group = params.get("GroupName") or DEFAULT_GROUP
        existing = self._schedule(params["Name"], group)
        created = from_iso(existing["Created"])
        assert created is not None
        doc = self._schedule_doc(params, created=created, arn=existing["Arn"], group=group, new=False)
        self.schedules.put(self._key(group, params["Name"]), doc)
        self._wakeup.set()
        return {"ScheduleArn": existing["Arn"]}

    async def get_schedule(self, params: dict[str, Any]) -> dict[str, Any]:
        return _schedule_output(self._schedule(params["Name"], params.get("GroupName")))

    async def delete_schedule(self, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._schedule(params["Name"], params.get("GroupName"))
        self.schedules.delete(self._key(doc["GroupName"], doc["Name"]))
        return {}

    async def list_schedules(self, params: dict[str, Any]) -> dict[str, Any]:
        docs = self.schedules.values(f"{params['GroupName']}/" if params.get("GroupName") else "")
        prefix, state = params.get("NamePrefix"), params.get("State")
        docs = [
            d
            for d in docs
            if (not prefix or d["Name"].startswith(prefix)) and (not state or d["State"] == state)
        ]
        chosen, token = _page(docs, "ListSchedules", params)
        summaries = [
            {
                "Arn": d["Arn"],
                "Name": d["Name"],
                "GroupName": d["GroupName"],
                "State": d["State"],
                "CreationDate": from_iso(d["Created"]),
                "LastModificationDate": from_iso(d["LastModificationDate"]),
                "Target": {"Arn": d["Target"]["Arn"]},
            }
            for d in chosen
        ]
        return {"Schedules": summaries, "NextToken": token}

    # -- groups ----------------------------------------------------------------------------------
    def _put_group(self, name: str, tags: dict[str, str]) -> dict[str, Any]:
        now = iso(self.context.clock.now())
        doc = {
            "Arn": self.context.arn("scheduler", f"schedule-group/{name}"),
            "Name": name,
            "State": "ACTIVE",
            "CreationDate": now,
            "LastModificationDate": now,
            "Tags": tags,
        }
        self.groups.put(name, doc)
        return doc

    async def create_schedule_group(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.groups.get(params["Name"]) is not None:
            raise ConflictException(f"Schedule group {params['Name']} already exists.")
        tags = {tag["Key"]: tag["Value"] for tag in params.get("Tags") or []}
        return {"ScheduleGroupArn": self._put_group(params["Name"], tags)["Arn"]}

    async def get_schedule_group(self, params: dict[str, Any]) -> dict[str, Any]:
        return _group_output(self._group(params["Name"]))

    async def delete_schedule_group(self, params: dict[str, Any]) -> dict[str, Any]:
        if params["Name"] == DEFAULT_GROUP:
            raise SchedulerValidationException("You cannot delete the default group.")
        self._group(params["Name"])
        for key, _ in self.schedules.items(f"{params['Name']}/"):
            self.schedules.delete(key)
        self.groups.delete(params["Name"])
        return {}

    async def list_schedule_groups(self, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("NamePrefix") or ""
        docs = [d for d in self.groups.values() if d["Name"].startswith(prefix)]
        chosen, token = _page(docs, "ListScheduleGroups", params)
        return {"ScheduleGroups": [_group_output(d) for d in chosen], "NextToken": token}

    def _group_by_arn(self, arn: str) -> dict[str, Any]:
        name = arn.rsplit("/", 1)[-1]
        doc = self.groups.get(name)
        if doc is None or doc["Arn"] != arn:
            raise ResourceNotFoundException(f"Resource {arn} does not exist.")
        return doc

    async def tag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._group_by_arn(params["ResourceArn"])
        doc["Tags"] = {**doc.get("Tags", {}), **{tag["Key"]: tag["Value"] for tag in params["Tags"]}}
        self.groups.put(doc["Name"], doc)
        return {}

    async def untag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._group_by_arn(params["ResourceArn"])
        doc["Tags"] = {k: v for k, v in doc.get("Tags", {}).items() if k not in set(params["TagKeys"])}
        self.groups.put(doc["Name"], doc)
        return {}

    async def list_tags_for_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._group_by_arn(params["ResourceArn"])
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(doc.get("Tags", {}).items())]}


def fill_context(
    template: str | None, arn: str, scheduled: dt.datetime, execution_id: str, attempt: int
) -> str:
    text = template if template is not None else "{}"
    return (
        text.replace("<aws.scheduler.schedule-arn>", arn)
        .replace("<aws.scheduler.scheduled-time>", scheduled_time_text(scheduled))
        .replace("<aws.scheduler.execution-id>", execution_id)
        .replace("<aws.scheduler.attempt-number>", str(attempt))
    )


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _schedule_output(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "Arn": doc["Arn"],
        "Name": doc["Name"],
        "GroupName": doc["GroupName"],
        "ScheduleExpression": doc["ScheduleExpression"],
        "ScheduleExpressionTimezone": doc["ScheduleExpressionTimezone"],
        "Description": doc.get("Description"),
        "StartDate": from_iso(doc.get("StartDate")),
        "EndDate": from_iso(doc.get("EndDate")),
        "State": doc["State"],
        "FlexibleTimeWindow": doc["FlexibleTimeWindow"],
        "Target": doc["Target"],
        "ActionAfterCompletion": doc["ActionAfterCompletion"],
        "KmsKeyArn": doc.get("KmsKeyArn"),
        "CreationDate": from_iso(doc["Created"]),
        "LastModificationDate": from_iso(doc["LastModificationDate"]),
    }


def _group_output(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "Arn": doc["Arn"],
        "Name": doc["Name"],
        "State": doc["State"],
        "CreationDate": from_iso(doc["CreationDate"]),
        "LastModificationDate": from_iso(doc["LastModificationDate"]),
    }


def _page(
    docs: list[dict[str, Any]], scope: str, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], str | None]:
    try:
        return page(docs, scope, params.get("NextToken"), params.get("MaxResults") or 100)
    except BadToken as exc:
        raise SchedulerValidationException(f"Invalid NextToken: {params.get('NextToken')}") from exc
