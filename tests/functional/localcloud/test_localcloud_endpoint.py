"""The endpoint: MiniStack's services through it, routing, and what it listens on."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from localcloud.launcher import RunningServer
from meterpipe.tables import CUSTOMERS, GLUE_DATABASE, READINGS, ROLLUPS


def test_s3_objects_round_trip_through_the_endpoint(client) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="endpoint-lake")
    s3.put_object(Bucket="endpoint-lake", Key="a/b.csv", Body=b"x,y\n1,2\n")
    assert s3.get_object(Bucket="endpoint-lake", Key="a/b.csv")["Body"].read() == b"x,y\n1,2\n"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="endpoint-lake")["Contents"]] == ["a/b.csv"]


def test_glue_tables_from_the_table_specs_are_created_and_read_back(client) -> None:
    glue = client("glue")
    glue.create_database(DatabaseInput={"Name": GLUE_DATABASE})
    for table in (READINGS, CUSTOMERS):
        glue.create_table(DatabaseName=GLUE_DATABASE, TableInput=table.glue_table_input("endpoint-lake"))
    got = glue.get_table(DatabaseName=GLUE_DATABASE, Name=READINGS.name)["Table"]
    assert [c["Name"] for c in got["StorageDescriptor"]["Columns"]] == [c.name for c in READINGS.columns]
    assert [k["Name"] for k in got["PartitionKeys"]] == ["year", "month", "day"]
    assert got["Parameters"]["skip.header.line.count"] == "1"


def _rollup_items() -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    customers = {10027610: 51246501, 10027612: 51246503, 10027615: 51246506, 10027618: 51246509}
    for customer, sensor in customers.items():
        for day in range(1, 9):
            date = f"2022-01-{day:02d}"
            for hour in range(0, 24, 3):
                kwh = Decimal(customer % 7 + hour) / Decimal(100)
                items.append(
                    {
                        "CustomerID": customer,
                        "SensorID-Period": f"{sensor}#{date}T{hour:02d}",
                        "kWh-Amount": kwh,
                    }
                )
            items.append(
                {"CustomerID": customer, "SensorID-Period": f"{sensor}#{date}", "kWh-Amount": Decimal("5.77")}
            )
        items.append(
            {"CustomerID": customer, "SensorID-Period": f"{sensor}#2022-01", "kWh-Amount": Decimal("192.51")}
        )
    items.append(
        {"CustomerID": 10027610, "SensorID-Period": "51246501#2021-12", "kWh-Amount": Decimal("180.20")}
    )
    return items


def _key(row: dict[str, object]) -> tuple[int, str]:
    return int(str(row["CustomerID"])), str(row["SensorID-Period"])


def _plain(item: dict[str, dict[str, str]]) -> tuple[int, str, Decimal]:
    return int(item["CustomerID"]["N"]), item["SensorID-Period"]["S"], Decimal(item["kWh-Amount"]["N"])


def test_the_upstream_samples_four_partiql_queries_return_the_tables_rows(client) -> None:
    ddb = client("dynamodb")
    ddb.create_table(**ROLLUPS.create_table_params())
    items = _rollup_items()
    table = client("dynamodb")
    for item in items:
        table.put_item(
            TableName=ROLLUPS.name,
            Item={
                "CustomerID": {"N": str(item["CustomerID"])},
                "SensorID-Period": {"S": str(item["SensorID-Period"])},
                "kWh-Amount": {"N": str(item["kWh-Amount"])},
            },
        )

    def run(statement: str) -> set[tuple[int, str, Decimal]]:
        return {_plain(i) for i in ddb.execute_statement(Statement=statement)["Items"]}

    def expect(keep) -> set[tuple[int, str, Decimal]]:  # type: ignore[no-untyped-def]
        return {
            (int(str(i["CustomerID"])), str(i["SensorID-Period"]), Decimal(str(i["kWh-Amount"])))
            for i in items
            if keep(int(str(i["CustomerID"])), str(i["SensorID-Period"]))
        }

    hourly = run(
        'SELECT "CustomerID", "SensorID-Period", "kWh-Amount" FROM "ElectricityMeteredByPeriod" '
        'WHERE "CustomerID" = 10027610 '
        "AND \"SensorID-Period\" BETWEEN '51246501#2022-01-05T18' AND '51246501#2022-01-05T23'"
    )
    assert hourly == expect(
        lambda c, k: c == 10027610 and "51246501#2022-01-05T18" <= k <= "51246501#2022-01-05T23"
    )
    assert len(hourly) == 2  # hours 18 and 21 exist in the test data

    one_day = run(
        'SELECT "CustomerID", "SensorID-Period", "kWh-Amount" FROM "ElectricityMeteredByPeriod" '
        'WHERE "CustomerID" = 10027615 AND "SensorID-Period" = \'51246506#2022-01-02\''
    )
    assert one_day == {(10027615, "51246506#2022-01-02", Decimal("5.77"))}

    week = run(
        'SELECT "CustomerID", "SensorID-Period", "kWh-Amount" FROM "ElectricityMeteredByPeriod" '
        'WHERE "CustomerID" = 10027615 '
        "AND \"SensorID-Period\" BETWEEN '51246506#2022-01-02' AND '51246506#2022-01-08' "
        "AND NOT contains(\"SensorID-Period\", 'T')"
    )
    assert week == expect(
        lambda c, k: c == 10027615 and "51246506#2022-01-02" <= k <= "51246506#2022-01-08" and "T" not in k
    )
    assert len(week) == 7

    monthly = run(
        'SELECT "CustomerID", "SensorID-Period", "kWh-Amount" FROM "ElectricityMeteredByPeriod" '
        'WHERE "CustomerID" IN [10027610, 10027612, 10027614, 10027616, 10027618] '
        "AND contains(\"SensorID-Period\", '#2022-01') AND NOT contains(\"SensorID-Period\", '#2022-01-')"
    )
    assert monthly == expect(
        lambda c, k: (
            c in (10027610, 10027612, 10027614, 10027616, 10027618)
            and "#2022-01" in k
            and "#2022-01-" not in k
        )
    )
    assert {k for _, k, _ in monthly} == {"51246501#2022-01", "51246503#2022-01", "51246509#2022-01"}


def test_dynamodb_rejects_a_26_item_batch_as_aws_does(client) -> None:
    ddb = client("dynamodb")
    ddb.create_table(
        TableName="batch-limit",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    requests = [{"PutRequest": {"Item": {"pk": {"S": str(i)}}}} for i in range(26)]
    with pytest.raises(ClientError) as error:
        ddb.batch_write_item(RequestItems={"batch-limit": requests})
    assert error.value.response["Error"]["Code"] == "ValidationException"


SERVED = (
    "athena, cloudformation, dynamodb, ecr, events, glue, iam, kms, lambda, logs, monitoring, s3, scheduler, "
    "sns, ssm, states, sts"
)


@pytest.mark.parametrize(
    ("service", "operation", "title", "signed_as"),
    [
        ("elasticbeanstalk", "describe_applications", "Elastic Beanstalk", "elasticbeanstalk"),  # query
        ("sqs", "list_queues", "SQS", "sqs"),  # json (query-compatible)
        ("mturk", "get_account_balance", "'mturk-requester'", "mturk-requester"),  # json, no model's name
        ("eks", "list_clusters", "EKS", "eks"),  # rest-json
        ("sesv2", "list_contact_lists", "SES", "ses"),  # rest-json, signed as SES (a query model)
        ("route53", "list_hosted_zones", "Route 53", "route53"),  # rest-xml
        ("ec2", "describe_regions", "EC2", "ec2"),  # ec2
    ],
)
def test_services_localcloud_does_not_serve_are_refused_in_their_own_protocol(
    client, service: str, operation: str, title: str, signed_as: str
) -> None:
    with pytest.raises(ClientError) as error:
        getattr(client(service), operation)()
    response = error.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert response["Error"]["Code"] == "NotImplemented"
    assert response["Error"]["Message"] == (
        f"localcloud does not serve {title} (requests signed for '{signed_as}'); it serves {SERVED}. "
        "See docs/localcloud.md for what each of them supports."
    )


def test_eventbridgev2_signs_as_events_and_is_refused_in_cbor_by_localclouds_eventbridge(client) -> None:
    with pytest.raises(ClientError) as error:
        client("eventbridgev2").list_event_buses()
    response = error.value.response
    assert (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]) == (
        501,
        "NotImplemented",
    )
    assert response["Error"]["Message"] == (
        "localcloud's EventBridge serves the EventBridge API (X-Amz-Target AWSEvents.*) only, not "
        "EventBridgeV2. See docs/localcloud.md."
    )


def test_health_lists_who_serves_each_service(server: RunningServer) -> None:
    with urllib.request.urlopen(f"{server.endpoint}/_localcloud/health") as response:
        health = json.load(response)
    assert health["services"]["lambda"] == "served"
    assert health["services"]["scheduler"] == "served"
    assert health["services"]["events"] == "served"
    assert health["services"]["states"] == "served"
    assert health["services"]["athena"] == "served"
    assert health["services"]["dynamodb"] == "served (MiniStack)"
    assert health["pid"] == server.pid


def test_ministack_admin_routes_are_not_exposed(server: RunningServer) -> None:
    request = urllib.request.Request(f"{server.endpoint}/_ministack/reset", method="POST", data=b"")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 404


def _listening_ports(pid: int) -> list[tuple[str, int]]:
    """The TCP sockets in LISTEN state that process ``pid`` holds, read from /proc (no psutil:
    /proc/net/tcp{,6} plus the process's socket inodes say it exactly, on Linux)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with Path(table).open() as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and inode in inodes:  # 0A = LISTEN
                    address, port = local.split(":")
                    if len(address) == 8:
                        ip = ".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0))
                    else:
                        ip = address
                    found.append((ip, int(port, 16)))
    return found


def test_the_server_listens_on_its_one_port_on_127_0_0_1_and_nowhere_else(
    server: RunningServer, client
) -> None:
    client("s3").list_buckets()  # every MiniStack service loaded
    client("lambda").list_functions()
    assert _listening_ports(server.pid) == [("127.0.0.1", server.port)]
