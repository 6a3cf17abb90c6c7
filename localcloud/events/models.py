"""Rules as localcloud stores them, events as EventBridge delivers them, and the names EventBridge
accepts. Only the default event bus exists."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from localcloud.events.exceptions import EventsResourceNotFound, EventsValidationException

DEFAULT_BUS = "default"
ENABLED = "ENABLED"
DISABLED = "DISABLED"
# CloudTrail management events are a bus feature localcloud has no source for: the rule matches as
# ENABLED does.
ENABLED_STATES = frozenset({ENABLED, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"})

_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")


def check_name(value: str, member: str) -> str:
    """Rule names and target ids: ``[\\.\\-_A-Za-z0-9]+``, at most 64 characters."""
    if not _NAME.match(value):
        raise EventsValidationException(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length "
            "less than or equal to 64"
        )
    return value


def check_bus(name: str | None, *, region: str, account: str) -> str:
    """The bus a request names (by name or ARN): the default bus, the only one localcloud has."""
    if name in (None, DEFAULT_BUS, bus_arn(DEFAULT_BUS, region=region, account=account)):
        return DEFAULT_BUS
    shown = name.rsplit("/", 1)[-1] if name else name
    raise EventsResourceNotFound(
        f"Event bus {shown} does not exist. (localcloud's EventBridge has the default event bus only; "
        "it does not serve CreateEventBus.)"
    )


def bus_arn(name: str, *, region: str, account: str) -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/{name}"


def event_time(when: dt.datetime) -> str:
    """An event's ``time``: ISO 8601 in UTC to the second (``2019-02-26T19:42:21Z``)."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Rule:
    name: str
    arn: str
    event_pattern: str
    state: str = ENABLED
    description: str | None = None
    role_arn: str | None = None
    created_by: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)  # PutTargets' Target shapes, as given

    @property
    def enabled(self) -> bool:
        return self.state in ENABLED_STATES

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Rule:
        return cls(**doc)

    def describe(self) -> dict[str, Any]:
        """DescribeRule's answer (ListRules' items are the same less CreatedBy)."""
        return {
            "Name": self.name,
            "Arn": self.arn,
            "EventPattern": self.event_pattern,
            "State": self.state,
            "Description": self.description,
            "RoleArn": self.role_arn,
            "EventBusName": DEFAULT_BUS,
            "CreatedBy": self.created_by,
        }


@dataclass(frozen=True)
class ServiceEvent:
    """An event a localcloud service emits onto the default bus (Step Functions' status changes), as
    an AWS service sends it: its own ``source``, which PutEvents refuses to callers."""

    source: str
    detail_type: str
    detail: dict[str, Any]
    resources: list[str]
    time: dt.datetime


def envelope(
    *,
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    resources: list[str],
    time: dt.datetime,
    region: str,
    account: str,
) -> dict[str, Any]:
    """The event as rules match it and targets receive it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": event_time(time),
        "region": region,
        "resources": list(resources),
        "detail": detail,
    }
