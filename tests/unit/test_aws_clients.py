from __future__ import annotations

import boto3

from meterpipe.aws import Clients, Target


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
