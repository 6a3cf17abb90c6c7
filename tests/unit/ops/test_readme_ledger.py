"""The README's billing check works as written: its boto3 snippet, run against ledger records of
every status in moto's DynamoDB."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from meterpipe.ops.pipeline import Pipeline
from tests.unit.ops.fake_sfn import FakeStepFunctions

README = Path(__file__).parents[3] / "README.md"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:meterpipe-daily-rollup:"


def billing_check() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"With boto3, `billing_check.py`:\n\n```python\n(.*?)```", text, re.S)
    assert found, "the README's billing_check.py snippet"
    return found.group(1)


def test_the_readmes_billing_check_reads_the_ledger_as_documented(
    pipeline: Pipeline,
    fake_sfn: FakeStepFunctions,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert fake_sfn.ledger is not None
    for day, status in ((9, "SUCCEEDED"), (10, "INCOMPLETE"), (11, "SUCCEEDED"), (12, "NO_DATA")):
        fake_sfn.ledger.record(dt.date(2024, 1, day), status, EXECUTION + str(day))
    fake_sfn.ledger.record(dt.date(2024, 2, 1), "FAILED", EXECUTION + "february")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    exec(compile(billing_check(), "billing_check.py", "exec"), {"__name__": "__main__"})

    assert capsys.readouterr().out.splitlines() == [
        "4 days recorded, not final: 2024-01-10, 2024-01-12",
        "2024-01-10 may be billed: False",
    ]
