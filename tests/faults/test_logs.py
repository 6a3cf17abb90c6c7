"""No log line holds a credential or an item's contents: localcloud's own log and every
CloudWatch Logs event (the Lambda functions' logs), after a day run with faults and refusals."""

from __future__ import annotations

import datetime as dt
import re

from localcloud import launcher
from tests.faults.rehearsal import Rehearsal
from tests.functional.localcloud.raw_http import send

DAY = dt.date(2024, 1, 25)


def _log_lines(rehearsal: Rehearsal) -> list[str]:
    lines = (rehearsal.home / "logs" / "localcloud.log").read_text().splitlines()
    logs = rehearsal.client("logs")
    for group in logs.describe_log_groups()["logGroups"]:
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group["logGroupName"]):
            lines.extend(event["message"] for event in page["events"])
    return lines


def test_no_log_line_holds_a_credential_or_an_items_contents(rehearsal: Rehearsal) -> None:
    rehearsal.faults("add", "dynamodb", "BatchWriteItem", "--error", "ThrottlingException", "--count", "2")
    rehearsal.faults("add", "lambda", "Invoke", "--error", "ServiceException", "--count", "1")
    assert rehearsal.cli("run", "--date", str(DAY), "--wait").exit_code == 0
    server = launcher.status(rehearsal.home).server
    assert server is not None
    keys = server.signing_key()  # the key meterpipe signs with, from the keys file
    assert keys is not None
    access_key, secret_key = keys["aws_access_key_id"], keys["aws_secret_access_key"]
    send(rehearsal.endpoint, "GET", "/", sign_as="s3", key=access_key, secret="a-wrong-secret")
    origin = {"Origin": "http://evil.example"}
    send(rehearsal.endpoint, "GET", f"/?X-Amz-Credential={access_key}", headers=origin)

    lines = _log_lines(rehearsal)
    assert any("refused" in line for line in lines)  # the refusals were logged...
    secrets = [secret_key, access_key, "a-wrong-secret"]
    assert [line for line in lines if any(secret in line for secret in secrets)] == []  # ...without them
    items = rehearsal.table()
    assert items
    # An item's contents: its sort key (sensor and period), its amount as a number on its own.
    periods = {period for _, period in items}
    amounts = re.compile(
        "|".join(
            rf"(?<![\d.]){re.escape(f'{amount:.2f}')}(?![\d.])"
            for amount, _ in items.values()
            if amount >= 10
        )
    )
    leaks = [
        line for line in lines if any(p in line for p in periods) or amounts.search(line) or "kWh" in line
    ]
    assert leaks == []
