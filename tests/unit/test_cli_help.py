from __future__ import annotations

import click
from click.testing import CliRunner

from meterpipe.cli import app


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        found.append((" ".join(path), command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
    return found


def test_every_command_has_help_text() -> None:
    missing = [path for path, command in _commands(app) if not (command.help or "").strip()]
    assert missing == []


def test_version_option_prints_the_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("meterpipe ")
