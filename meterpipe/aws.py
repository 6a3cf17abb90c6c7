"""boto3 clients for a target: the running localcloud of a home folder, or AWS.

The CLI and library code ask for clients here and never ask "am I local?" again: locally the
clients point at localcloud's endpoint with fake credentials; on AWS they use the standard
credential chain (``--profile``, ``--region``). :func:`explain` turns what boto3 raises into one
line an operator can act on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.parsers import ResponseParserError

from meterpipe.errors import MeterpipeError
from meterpipe.local.home import not_running, resolve_home

LOCAL_CREDENTIALS = {
    "aws_access_key_id": "meterpipe-local",
    "aws_secret_access_key": "meterpipe-local",
    "aws_session_token": "meterpipe-local",
}


class LocalcloudNotRunning(MeterpipeError):
    """The target is local but no localcloud runs for the home folder."""


class AwsSetupError(MeterpipeError):
    """The AWS target cannot be used: no credentials, unknown profile, no region."""


@dataclass(frozen=True)
class Target:
    kind: Literal["local", "aws"]
    home: Path | None = None  # local
    profile: str | None = None  # aws
    region: str | None = None
    stack: str | None = None  # aws: the CloudFormation stack (default: cdk.json's meterpipe:stackName)

    @classmethod
    def local(cls, home: Path | str | None = None) -> Target:
        return cls(kind="local", home=resolve_home(home))

    @classmethod
    def aws(
        cls, *, profile: str | None = None, region: str | None = None, stack: str | None = None
    ) -> Target:
        return cls(kind="aws", profile=profile, region=region, stack=stack)

    def describe(self) -> str:
        if self.kind == "local":
            return f"localcloud of {self.home}"
        profile = f", profile {self.profile}" if self.profile else ""
        return f"AWS ({self.region or 'default region'}{profile})"


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
            # A local endpoint is one host: botocore's host prefixes (StartSyncExecution's `sync-`)
            # would send requests to a name that does not resolve.
            config = Config(
                retries={"mode": "standard", "max_attempts": 5},
                inject_host_prefix=self.endpoint_url is None,
            )
            self._cache[service] = self._session.client(
                service, endpoint_url=self.endpoint_url, region_name=self.region, config=config
            )
        return self._cache[service]


def clients_for(target: Target) -> Clients:
    """Clients for ``target``; raises LocalcloudNotRunning (local) or AwsSetupError (aws) with
    what to do about it."""
    if target.kind == "aws":
        # botocore reads AWS_DEFAULT_REGION only; AWS_REGION (the AWS CLI v2's and the other SDKs'
        # name, and what our messages tell people to set) comes after --region and before it.
        region = target.region or os.environ.get("AWS_REGION") or None
        try:
            session = boto3.session.Session(profile_name=target.profile, region_name=region)
        except ProfileNotFound:
            raise AwsSetupError(
                f"AWS profile {target.profile!r} is not configured (see `aws configure list-profiles`)"
            ) from None
        if not session.region_name:
            raise AwsSetupError("no AWS region: pass --region or set AWS_REGION (or the profile's region)")
        return Clients(target=target, region=session.region_name, _session=session)
    from meterpipe.local import server  # noqa: PLC0415 - the server of the home folder, by its port

    assert target.home is not None
    running = server.endpoint(target.home)
    if running is None:
        raise LocalcloudNotRunning(
            not_running(target.home),  # the hint keeps the --home given
        )
    from meterpipe.local.server import credentials  # noqa: PLC0415 - the keys of a verifying server

    region = target.region or running.region
    keys = credentials(running) or LOCAL_CREDENTIALS
    session = boto3.session.Session(
        region_name=region,
        aws_access_key_id=keys["aws_access_key_id"],
        aws_secret_access_key=keys["aws_secret_access_key"],
        aws_session_token=keys.get("aws_session_token"),
    )
    return Clients(target=target, endpoint_url=running.endpoint, region=region, _session=session)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def explain(error: BaseException) -> str:
    """One line an operator can act on, for an exception raised by boto3."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code, message = details.get("Code", "Error"), str(details.get("Message", "")).strip()
        operation = getattr(error, "operation_name", "") or "the call"
        if code == "ServiceNotYetServed":
            return f"{message} (while calling {operation})"
        if code in ("ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException"):
            return f"AWS refused the credentials ({code}: {message}); refresh them or pick --profile"
        if code in ("AccessDenied", "AccessDeniedException"):
            return f"AWS denied {operation}: {message}"
        return f"{operation} failed: {code}: {message}" if message else f"{operation} failed: {code}"
    if isinstance(error, EndpointConnectionError):
        return (
            f"cannot reach {error.kwargs.get('endpoint_url', 'the endpoint')}: is it running and reachable?"
        )
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return "no AWS credentials found: configure them (`aws configure`) or pass --profile"
    if isinstance(error, NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(error, ProfileNotFound):
        return f"AWS profile not found: {error.kwargs.get('profile', '')}"
    if isinstance(error, ResponseParserError):
        return f"the endpoint answered something that is not the AWS API boto3 expects: {error}"
    if isinstance(error, BotoCoreError):
        return str(error)
    return f"{type(error).__name__}: {error}"
