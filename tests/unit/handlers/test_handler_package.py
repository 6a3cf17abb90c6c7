"""The Lambda asset is the handlers/ package plus the Powertools layer: nothing else may be imported."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from handlers import errors

HANDLERS = Path(__file__).resolve().parents[3] / "handlers"
# What the Lambda runtime (boto3, botocore) and the Powertools layer provide; mypy_boto3_* only for typing.
ALLOWED = {"handlers", "aws_lambda_powertools", "boto3", "botocore", "mypy_boto3_dynamodb"}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_handler_package_imports_only_the_stdlib_powertools_and_boto3() -> None:
    found = {
        path.name: sorted(
            root for root in _imported_roots(path) if root not in ALLOWED | sys.stdlib_module_names
        )
        for path in sorted(HANDLERS.glob("*.py"))
    }
    assert {name: roots for name, roots in found.items() if roots} == {}
    assert "write_batch.py" in found


def test_the_state_machine_error_names_are_the_exception_class_names() -> None:
    assert errors.INVALID_BATCH == "InvalidBatchError"
    assert errors.TIME_BUDGET_EXHAUSTED == "TimeBudgetExhaustedError"


def test_the_lambda_entry_point_imports_with_meterpipe_and_localcloud_absent() -> None:
    # None in sys.modules makes any import of those packages fail, as it would in the Lambda asset.
    code = (
        "import sys\n"
        "sys.modules.update(meterpipe=None, localcloud=None, moto=None)\n"
        "import handlers.write_batch as m\n"
        "print(callable(m.handler))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=HANDLERS.parent,
        env={**os.environ, "ROLLUP_TABLE_NAME": "t"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "True", "")
