"""boto3 clients for a target: the running localcloud of a home folder, or AWS.

The CLI and library code ask for clients here and never ask "am I local?" again: locally the
clients point at localcloud's endpoint with fake credentials; on AWS they use the standard
credential chain (``--profile``, ``--region``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import boto3
from botocore.config import Config

from meterpipe.errors import MeterpipeError
from meterpipe.local.home import resolve_home

LOCAL_CREDENTIALS = {
    "aws_access_key_id": "meterpipe-local",
    "aws_secret_access_key": "meterpipe-local",
    "aws_session_token": "meterpipe-local",
}


class LocalcloudNotRunning(MeterpipeError):
    """The target is local but no localcloud runs for the home folder."""


@dataclass(frozen=True)
class Target:
    kind: Literal["local", "aws"]
    home: Path | None = None  # local
    profile: str | None = None  # aws
    region: str | None = None

    @classmethod
    def local(cls, home: Path | str | None = None) -> Target:
        return cls(kind="local", home=resolve_home(home))

    @classmethod
    def aws(cls, *, profile: str | None = None, region: str | None = None) -> Target:
        return cls(kind="aws", profile=profile, region=region)


@dataclass
class Clients:
    """boto3 clients for one target, created once per service."""

    target: Target
    endpoint_url: str | None = None
    region: str | None = None
    _session: Any = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._cache:
            config = Config(retries={"mode": "standard", "max_attempts": 5})
            self._cache[service] = self._session.client(
                service, endpoint_url=self.endpoint_url, region_name=self.region, config=config
            )
        return self._cache[service]


def clients_for(target: Target) -> Clients:
    """Clients for ``target``; raises LocalcloudNotRunning (local) with what to do about it."""
    if target.kind == "aws":
        session = boto3.session.Session(profile_name=target.profile, region_name=target.region)
        return Clients(target=target, region=session.region_name, _session=session)
    from localcloud import launcher  # noqa: PLC0415 - finding the server process of the home folder

    assert target.home is not None
    status = launcher.status(target.home)
    if status.server is None:
        raise LocalcloudNotRunning(
            f"localcloud is not running for {target.home}: start it with `meterpipe local up`"
        )
    region = target.region or status.server.region
    session = boto3.session.Session(
        region_name=region,
        aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
        aws_session_token=LOCAL_CREDENTIALS["aws_session_token"],
    )
    return Clients(target=target, endpoint_url=status.server.endpoint, region=region, _session=session)
