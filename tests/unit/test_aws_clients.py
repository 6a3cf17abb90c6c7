from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from meterpipe.aws import AwsSetupError, Clients, Target, clients_for


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


@pytest.fixture
def regions(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No region anywhere but what the test sets."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    return monkeypatch


def _table_regions(clients: Clients) -> set[str]:
    """The regions (of two) where moto holds the table the clients created."""
    clients.client("dynamodb").create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return {
        region
        for region in ("eu-west-3", "us-east-1")
        if "t" in boto3.client("dynamodb", region_name=region).list_tables()["TableNames"]
    }


@mock_aws
def test_aws_region_picks_the_region_of_the_aws_target(regions: pytest.MonkeyPatch) -> None:
    # botocore itself reads only AWS_DEFAULT_REGION; AWS_REGION is the name our errors give.
    regions.setenv("AWS_REGION", "eu-west-3")
    regions.setenv("AWS_DEFAULT_REGION", "us-east-1")  # AWS_REGION wins, as in the AWS CLI v2
    clients = clients_for(Target.aws())
    assert clients.region == "eu-west-3"
    assert _table_regions(clients) == {"eu-west-3"}


@mock_aws
def test_the_region_option_wins_over_aws_region_and_default_region_is_still_read(
    regions: pytest.MonkeyPatch,
) -> None:
    regions.setenv("AWS_REGION", "eu-west-3")
    assert clients_for(Target.aws(region="us-east-1")).region == "us-east-1"
    regions.delenv("AWS_REGION")
    regions.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert _table_regions(clients_for(Target.aws())) == {"eu-west-3"}


def test_no_region_at_all_says_to_set_aws_region(regions: pytest.MonkeyPatch) -> None:
    with pytest.raises(AwsSetupError, match="pass --region or set AWS_REGION"):
        clients_for(Target.aws())
