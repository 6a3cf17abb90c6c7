"""Helpers for the state machine tests: render the definitions once, evaluate their JSONata.

Expressions are taken from the rendered definitions (never retyped in the tests), evaluated with
jsonata-python, with ``$states`` and the workflow variables bound. ``$parse`` is one of the
functions Step Functions adds to JSONata; it is bound here as AWS documents it (JSON.parse).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonata
from jsonata.utils import Utils

from localcloud.asl.jsonata_eval import _hash
from meterpipe.definitions import REPO_ROOT, DeploymentValues, render_state_machines, walk_states

ACCOUNT = "123456789012"
REGION = "eu-west-1"
DAILY_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:meterpipe-daily-rollup"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:meterpipe-write-batch"


def sample_values(timezone: str = "Europe/London") -> DeploymentValues:
    return DeploymentValues(
        write_batch_function_arn=FUNCTION_ARN,
        daily_rollup_state_machine_arn=DAILY_ARN,
        results_bucket="meterpipe-results",
        lake_bucket="meterpipe-lake",
        athena_workgroup="meterpipe",
        timezone=timezone,
        max_items_per_batch=500,
        max_concurrency=25,
        backfill_max_concurrency=3,
        backfill_max_concurrency_limit=10,
    )


@cache
def rendered(timezone: str = "Europe/London") -> dict[str, dict[str, Any]]:
    """Both definitions rendered for ``timezone``, parsed: name -> definition."""
    return {name: json.loads(text) for name, text in render_state_machines(sample_values(timezone)).items()}


def states_of(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state of a definition, nested ones included: name -> state."""
    return dict(walk_states(definition))


@cache
def _compiled(expression: str) -> jsonata.Jsonata:
    assert expression.startswith("{% ") and expression.endswith(" %}"), expression
    compiled = jsonata.Jsonata(expression[3:-3])
    compiled.register_lambda("parse", json.loads)
    # Step Functions' $hash (localcloud's, as the interpreter runs it).
    compiled.register_lambda("hash", _hash)
    return compiled


def evaluate(
    expression: str,
    *,
    input: Any = None,
    result: Any = None,
    error_output: Any = None,
    context: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> Any:
    """Evaluate one ``{% ... %}`` expression the way a JSONata state does."""
    states: dict[str, Any] = {"input": input, "context": dict(context or {})}
    if result is not None:
        states["result"] = result
    if error_output is not None:
        states["errorOutput"] = error_output
    # jsonata-python reads a variable bound to None as *undefined*; a workflow variable holding
    # JSON null must be bound to its null marker, as Step Functions' JSONata sees it.
    bound = {name: Utils.NULL_VALUE if value is None else value for name, value in (variables or {}).items()}
    return _compiled(expression).evaluate(None, {"states": states, **bound})


REFERENCE_SCRIPT = Path(__file__).with_name("jsonata_reference.mjs")


def evaluate_with_reference(expression: str, bindings_per_case: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evaluate one expression for many bindings with the JSONata reference implementation (Node).

    Returns ``{"value": ...}`` or ``{"error": ...}`` per case. One Node process for all cases.
    """
    assert expression.startswith("{% ") and expression.endswith(" %}"), expression
    cases = [{"expression": expression[3:-3], "bindings": bindings} for bindings in bindings_per_case]
    completed = subprocess.run(
        ["node", str(REFERENCE_SCRIPT)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(completed.stdout)
    return results


def reference_available() -> bool:
    return shutil.which("node") is not None and (REPO_ROOT / "node_modules" / "jsonata").is_dir()
