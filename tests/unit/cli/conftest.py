"""CliRunner tests: the commands against the library's test pipeline (moto + the fake Step
Functions), with ``connect`` patched to return it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from meterpipe.cli import app
from meterpipe.ops.pipeline import Pipeline
from tests.unit.ops.conftest import aws, fake_sfn, make_pipeline  # noqa: F401 - shared fixtures
from tests.unit.ops.fake_sfn import FakeStepFunctions

Invoke = Callable[..., Result]


@pytest.fixture
def pipeline(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    request.getfixturevalue("aws")
    fake: FakeStepFunctions = request.getfixturevalue("fake_sfn")
    made = make_pipeline(tmp_path, fake)
    monkeypatch.setattr("meterpipe.cli.options.connect", lambda target: made)
    return made


@pytest.fixture
def invoke() -> Invoke:
    def run(*args: str) -> Result:
        # Wide enough that rich tables do not wrap the cells the tests look for.
        return CliRunner(env={"COLUMNS": "200"}).invoke(app, list(args), catch_exceptions=False)

    return run


def one_error_line(result: Result) -> str:
    """The single ``error: ...`` line a failing command printed last on stderr (progress notes
    may come before it)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    assert "Traceback" not in result.output
    return errors[0]
