"""Where the mock configuration comes from: ``meterpipe local up --sfn-mock-config FILE`` (or
``SFN_MOCK_CONFIG`` in its environment). A broken file stops the start with every problem named;
a good one is shown by ``local status`` and gives localcloud Step Functions Local's account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from localcloud import launcher
from meterpipe.cli import app


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "home"
    yield folder
    if launcher.status(folder).running:
        launcher.stop(folder)


def up(home: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    args = ["local", "up", "--no-deploy", "--port", "0", "--home", str(home), *extra]
    result = CliRunner().invoke(app, args, env=env)
    return result.exit_code, result.output


def test_a_broken_mock_configuration_stops_the_start_naming_each_problem(home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "MockConfigFile.json"
    broken.write_text(json.dumps({"MockedResponses": {"R": {"first": {"Return": 1}, "1": {"Throw": {}}}}}))
    code, output = up(home, "--sfn-mock-config", str(broken))
    assert code != 0
    assert "the mock configuration (SFN_MOCK_CONFIG) cannot be used" in output
    assert '/MockedResponses/R/first: not an invocation number or range ("0", "1-2")' in output
    assert "/MockedResponses/R/1/Throw: must be an object with a string Error" in output
    assert not launcher.status(home).running


def test_sfn_mock_config_in_the_environment_is_used_and_shown(home: Path, tmp_path: Path) -> None:
    config = tmp_path / "mocks.json"
    config.write_text(json.dumps({"StateMachines": {}, "MockedResponses": {}}))
    code, output = up(home, env={"SFN_MOCK_CONFIG": str(config)})
    assert code == 0, output
    status = json.loads(CliRunner().invoke(app, ["local", "status", "--json", "--home", str(home)]).output)
    assert status["sfn_mock_config"] == str(config.resolve())
    health = launcher.health(status["endpoint"]) or {}
    assert health["account_id"] == "123456789012"  # Step Functions Local's account
    code, output = up(home, "--sfn-mock-config", str(config))
    assert "note: localcloud was already running, with mock configuration" in output
