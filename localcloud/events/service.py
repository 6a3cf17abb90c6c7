"""EventBridge: the API (botocore's ``events`` model, JSON 1.1, ``X-Amz-Target: AWSEvents.<Op>``) on
the default event bus, and the routing of events to rule targets.

Rules (PutRule, DescribeRule, ListRules, EnableRule, DisableRule, DeleteRule) and their targets
(PutTargets, RemoveTargets, ListTargetsByRule) live in localcloud's store (``events.rules``), so they
survive restarts. Rules match events by pattern (``patterns``); a ScheduleExpression is refused:
localcloud's EventBridge Scheduler runs schedules. Events come from PutEvents and from localcloud's
own services (:meth:`EventsService.publish`: Step Functions' execution status changes); each match
becomes a delivery per target in the outbox (``delivery``), made asynchronously.

TestEventPattern answers with the same matcher the rules use.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from typing import Any

from localcloud.events import targets
from localcloud.events.delivery import Delivery, Outbox
from localcloud.events.exceptions import (
    EventsResourceNotFound,
    EventsValidationException,
    InvalidEventPatternException,
    LimitExceededException,
)
from localcloud.events.models import (
    DEFAULT_BUS,
    DISABLED,
    ENABLED,
    ENABLED_STATES,
    Rule,
    ServiceEvent,
    check_bus,
    check_name,
    envelope,
)
from localcloud.events.patterns import Pattern, PatternError, compile_pattern, load_json
from localcloud.server.errors import NotImplementedByLocalcloud
from localcloud.server.http import Request, Response
from localcloud.server.pagination import BadToken, page
from localcloud.server.protocols import JsonProtocol, error_response
from localcloud.server.registry import ProtocolService, ServiceContext
from localcloud.server.unsupported import wire_protocol
from localcloud.state import Collection

log = logging.getLogger("localcloud.events")

RULES = "events.rules"
MAX_TARGETS_PER_RULE = 5  # EventBridge's quota
MAX_ENTRIES = 10
MAX_PUT_EVENTS_BYTES = 256 * 1024
TARGET_REFUSED = "NotImplemented"
EVENTS_TARGET_PREFIX = "AWSEvents."


class EventsService(ProtocolService):
    signing_name = "events"
    title = "EventBridge"
    blocking = True  # operations touch the store: run them off the event loop

    def __init__(self) -> None:
        self.protocol = JsonProtocol("events")
        self._context: ServiceContext | None = None
        self._rules: Collection | None = None
        self._outbox: Outbox | None = None
        # The rules with their compiled patterns, read by publish() from any thread. Never held while
        # the store is written (Step Functions publishes inside its checkpoint's transaction).
        self._matching: dict[str, tuple[Rule, Pattern]] = {}
        self._matching_lock = threading.Lock()
        self._writing = threading.RLock()  # one API change of the rules at a time

    # -- lifecycle -------------------------------------------------------------------------------
    async def recover(self, context: ServiceContext) -> None:
        """Open before the other services recover: Step Functions publishes the status changes of
        the executions a restart failed while it recovers."""
        self._open(context)

    async def start(self, context: ServiceContext) -> None:
        self._open(context)
        self.outbox.start()

    async def quiesce(self) -> None:
        """Deliver nothing more while localcloud goes down: what is left is delivered at the next start."""
        if self._outbox is not None:
            self._outbox.stop()

    async def stop(self) -> None:
        await self.quiesce()

    def _open(self, context: ServiceContext) -> None:
        if self._context is not None:
            return
        self._context = context
        self._rules = context.store.collection(RULES)
        self._outbox = Outbox(context.store, context.client)
        for doc in self._rules.values():
            rule = Rule.from_json(doc)
            self._matching[rule.name] = (rule, compile_pattern(rule.event_pattern))

    @property
    def context(self) -> ServiceContext:
        assert self._context is not None, "the EventBridge service was not started"
        return self._context

    @property
    def rules(self) -> Collection:
        assert self._rules is not None, "the EventBridge service was not started"
        return self._rules

    @property
    def outbox(self) -> Outbox:
        assert self._outbox is not None, "the EventBridge service was not started"
        return self._outbox

    async def handle(self, request: Request) -> Response:
        # EventBridge's newer API (EventBridgeV2, RPC v2 CBOR) signs as "events" too: not served.
        if not request.headers.get("x-amz-target", "").startswith(EVENTS_TARGET_PREFIX):
            error = NotImplementedByLocalcloud(
                "localcloud's EventBridge serves the EventBridge API (X-Amz-Target AWSEvents.*) only, "
                "not EventBridgeV2. See docs/localcloud.md."
            )
            return error_response(wire_protocol(request, None), error)
        return await super().handle(request)

    # -- events ------------------------------------------------------------------------------------
    def publish(self, events: list[ServiceEvent]) -> None:
        """Events a localcloud service emits (from any thread, possibly inside the caller's store
        transaction): matched now, delivered later."""
        self._route(
            [
                envelope(
                    source=event.source,
                    detail_type=event.detail_type,
                    detail=event.detail,
                    resources=event.resources,
                    time=event.time,
                    region=self.context.region,
                    account=self.context.account_id,
                )
                for event in events
            ]
        )

    def _route(self, events: list[dict[str, Any]]) -> None:
        with self._matching_lock:
            rules = [(rule, pattern) for rule, pattern in self._matching.values() if rule.enabled]
        deliveries: list[Delivery] = []
        for event in events:
            readable = load_json(json.dumps(event))
            for rule, pattern in rules:
                if pattern.matches(readable):
                    deliveries += [{"rule": rule.arn, "target": t, "event": event} for t in rule.targets]
        self.outbox.add(deliveries)

    def put_events(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = params["Entries"]
        if len(entries) > MAX_ENTRIES:
            raise EventsValidationException(
                "1 validation error detected: Value at 'entries' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_ENTRIES}"
            )
        if sum(_entry_size(entry) for entry in entries) > MAX_PUT_EVENTS_BYTES:
            raise EventsValidationException("Total size of the entries in the request is over the limit.")
        results: list[dict[str, Any]] = []
        accepted: list[dict[str, Any]] = []
        for entry in entries:
            problem = self._entry_problem(entry)
            if problem is not None:
                results.append({"ErrorCode": problem[0], "ErrorMessage": problem[1]})
                continue
            event = envelope(
                source=entry["Source"],
                detail_type=entry["DetailType"],
                detail=json.loads(entry["Detail"]),
                resources=entry.get("Resources") or [],
                time=entry.get("Time") or self.context.clock.now(),
                region=self.context.region,
                account=self.context.account_id,
            )
            accepted.append(event)
            results.append({"EventId": event["id"]})
        self._route(accepted)
        return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}

    def _entry_problem(self, entry: dict[str, Any]) -> tuple[str, str] | None:
        for member in ("Source", "DetailType", "Detail"):
            if not entry.get(member):
                return (
                    "InvalidArgument",
                    f"Parameter {member} is not valid. Reason: {member} is a required argument.",
                )
        bus = entry.get("EventBusName")
        if bus is not None:
            try:
                check_bus(bus, region=self.context.region, account=self.context.account_id)
            except EventsResourceNotFound as exc:
                return "InvalidArgument", exc.message
        if entry["Source"].startswith("aws."):
            return "NotAuthorizedForSourceException", "Not authorized for the source."
        try:
            detail = json.loads(entry["Detail"])
        except ValueError:
            return "MalformedDetail", "Detail is malformed."
        if not isinstance(detail, dict):
            return "MalformedDetail", "Detail is malformed."
        return None

    def test_event_pattern(self, params: dict[str, Any]) -> dict[str, Any]:
        pattern = _compile(params["EventPattern"])
        try:
            event = load_json(params["Event"])
        except ValueError as exc:
            raise EventsValidationException(f"Parameter Event is not valid: {exc}") from exc
        required = ("id", "account", "source", "time", "region", "detail-type")
        missing = [name for name in required if not isinstance(event, dict) or name not in event]
        if missing:
            raise EventsValidationException(
                f"Parameter Event is not valid: it lacks {', '.join(missing)} (an event has id, account, "
                "source, time, region, resources and detail-type)"
            )
        return {"Result": pattern.matches(event)}

    # -- rules ---------------------------------------------------------------------------------------
    def _bus(self, params: dict[str, Any]) -> str:
        return check_bus(
            params.get("EventBusName"), region=self.context.region, account=self.context.account_id
        )

    def _rule(self, name: str) -> Rule:
        doc = self.rules.get(name)
        if doc is None:
            raise EventsResourceNotFound(f"Rule {name} does not exist on EventBus {DEFAULT_BUS}.")
        return Rule.from_json(doc)

    def _save(self, rule: Rule) -> None:
        self.rules.put(rule.name, rule.to_json())
        pattern = compile_pattern(rule.event_pattern)
        with self._matching_lock:
            self._matching[rule.name] = (rule, pattern)

    def put_rule(self, params: dict[str, Any]) -> dict[str, Any]:
        name = check_name(params["Name"], "name")
        self._bus(params)
        if params.get("ScheduleExpression"):
            raise EventsValidationException(
                "localcloud's EventBridge does not run scheduled rules (ScheduleExpression "
                f"{params['ScheduleExpression']}): use EventBridge Scheduler (CreateSchedule), which "
                "localcloud serves with the same expressions. See docs/localcloud.md."
            )
        if not params.get("EventPattern"):
            raise EventsValidationException(
                "Parameter(s) EventPattern or ScheduleExpression must be specified."
            )
        _compile(params["EventPattern"])
        state = params.get("State") or ENABLED
        if state not in ENABLED_STATES | {DISABLED}:
            raise EventsValidationException(
                f"1 validation error detected: Value '{state}' at 'state' failed to satisfy constraint: "
                "Member must satisfy enum value set: [ENABLED, DISABLED, "
                "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"
            )
        with self._writing:
            doc = self.rules.get(name)
            existing = Rule.from_json(doc) if doc is not None else None
            # PutRule replaces the rule with what it is given; targets and tags stay.
            rule = Rule(
                name=name,
                arn=self.context.arn("events", f"rule/{name}"),
                event_pattern=params["EventPattern"],
                state=state,
                description=params.get("Description"),
                role_arn=params.get("RoleArn"),
                created_by=self.context.account_id,
                tags={
                    **(existing.tags if existing else {}),
                    **{tag["Key"]: tag["Value"] for tag in params.get("Tags") or []},
                },
                targets=existing.targets if existing else [],
            )
            self._save(rule)
        return {"RuleArn": rule.arn}

    def describe_rule(self, params: dict[str, Any]) -> dict[str, Any]:
        self._bus(params)
        return self._rule(params["Name"]).describe()

    def list_rules(self, params: dict[str, Any]) -> dict[str, Any]:
        self._bus(params)
        prefix = params.get("NamePrefix") or ""
        rules = [Rule.from_json(doc) for doc in self.rules.values(prefix)]  # in name order
        chosen, token = _page(rules, "ListRules", params)
        items = []
        for rule in chosen:
            item = rule.describe()
            item.pop("CreatedBy")
            items.append(item)
        return {"Rules": items, "NextToken": token}

    def _set_state(self, params: dict[str, Any], state: str) -> dict[str, Any]:
        self._bus(params)
        with self._writing:
            rule = self._rule(params["Name"])
            rule.state = state
            self._save(rule)
        return {}

    def enable_rule(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._set_state(params, ENABLED)

    def disable_rule(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._set_state(params, DISABLED)

    def delete_rule(self, params: dict[str, Any]) -> dict[str, Any]:
        """Deleting a rule that does not exist succeeds, as on AWS; one with targets is refused."""
        self._bus(params)
        with self._writing:
            doc = self.rules.get(params["Name"])
            if doc is None:
                return {}
            if doc["targets"]:
                raise EventsValidationException("Rule can't be deleted since it has targets.")
            self.rules.delete(params["Name"])
            with self._matching_lock:
                self._matching.pop(params["Name"], None)
        return {}

    # -- targets ---------------------------------------------------------------------------------------
    def put_targets(self, params: dict[str, Any]) -> dict[str, Any]:
        self._bus(params)
        given = params["Targets"]
        if len(given) > MAX_ENTRIES:
            raise EventsValidationException(
                "1 validation error detected: Value at 'targets' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_ENTRIES}"
            )
        for index, target in enumerate(given, start=1):
            check_name(target["Id"], f"targets.{index}.member.id")
            targets.check(target)
        failed: list[dict[str, Any]] = []
        with self._writing:
            rule = self._rule(params["Rule"])
            by_id = {target["Id"]: target for target in rule.targets}
            for target in given:
                refusal = targets.refusal(target)
                if refusal is not None:
                    log.warning("PutTargets on rule %s: %s", rule.name, refusal)
                    failed.append(
                        {"TargetId": target["Id"], "ErrorCode": TARGET_REFUSED, "ErrorMessage": refusal}
                    )
                else:
                    by_id[target["Id"]] = target
            if len(by_id) > MAX_TARGETS_PER_RULE:
                raise LimitExceededException(
                    f"The requested resource exceeds the maximum number allowed: a rule has at most "
                    f"{MAX_TARGETS_PER_RULE} targets."
                )
            rule.targets = list(by_id.values())
            self._save(rule)
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    def remove_targets(self, params: dict[str, Any]) -> dict[str, Any]:
        self._bus(params)
        with self._writing:
            rule = self._rule(params["Rule"])
            removed = set(params["Ids"])
            rule.targets = [target for target in rule.targets if target["Id"] not in removed]
            self._save(rule)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def list_targets_by_rule(self, params: dict[str, Any]) -> dict[str, Any]:
        self._bus(params)
        rule = self._rule(params["Rule"])
        chosen, token = _page(rule.targets, f"ListTargetsByRule:{rule.name}", params)
        return {"Targets": chosen, "NextToken": token}


def _compile(text: str) -> Pattern:
    try:
        return compile_pattern(text)
    except PatternError as exc:
        raise InvalidEventPatternException(exc.reason) from exc


def _page(items: list[Any], scope: str, params: dict[str, Any]) -> tuple[list[Any], str | None]:
    limit = params.get("Limit") or 100
    if not 1 <= limit <= 100:
        raise EventsValidationException("Limit must be between 1 and 100")
    try:
        return page(items, scope, params.get("NextToken"), limit)
    except BadToken as exc:
        raise EventsValidationException("The nextToken provided is invalid.") from exc


def _entry_size(entry: dict[str, Any]) -> int:
    """PutEvents' entry size as EventBridge counts it: the time, then the UTF-8 bytes of the source,
    detail type, detail and resources."""
    size = 14 if isinstance(entry.get("Time"), dt.datetime) else 0
    for member in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(member) or "").encode())
    size += sum(len(resource.encode()) for resource in entry.get("Resources") or [])
    return size
