"""Run one conformance fixture case on localcloud's interpreter, in moto_runner's vocabulary
(:class:`moto_runner.Outcome`), through the conformance runner's ``started``.

The conformance runner lives in the ``conformance`` package under tests/, which is importable when
tests/ is on the path: this module puts it there (the differential tests may run on their own).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from moto_runner import Outcome

_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from conformance.test_conformance import started  # noqa: E402  (needs tests/ on the path)


def run_ours(case: dict[str, Any]) -> Outcome:
    with started(case) as (host, record, _services):
        return Outcome(
            status=record.status,
            output=record.output if record.status == "SUCCEEDED" else None,
            error=record.error,
            cause=record.cause,
            history_types=[event["type"] for event in host.history(record.execution_arn)],
        )
