from __future__ import annotations

import boto3
import pytest

from meterpipe.aws import Clients, Target, clients_for


def _clients(endpoint_url: str | None) -> Clients:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")
    return Clients(target=Target.aws(), endpoint_url=endpoint_url, region="us-east-1", _session=session)


def test_local_clients_do_not_prefix_the_endpoint_host() -> None:
    # StartSyncExecution would otherwise go to sync-127.0.0.1, which does not resolve.
    client = _clients("http://127.0.0.1:4566").client("stepfunctions")
    assert client.meta.config.inject_host_prefix is False


def test_aws_clients_keep_host_prefixes() -> None:
    client = _clients(None).client("stepfunctions")
    assert client.meta.config.inject_host_prefix is True


def test_the_aws_target_reads_the_region_from_aws_region_and_region_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    assert clients_for(Target.aws()).region == "eu-west-2"
    assert clients_for(Target.aws(region="ap-south-1")).region == "ap-south-1"
