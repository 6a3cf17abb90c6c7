from __future__ import annotations

from pathlib import Path

import pytest

from meterpipe.local.home import resolve_home


def test_an_explicit_home_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("METERPIPE_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "explicit") == (tmp_path / "explicit").resolve()
    assert resolve_home() == (tmp_path / "env").resolve()


def test_the_default_home_is_dot_meterpipe_in_the_working_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("METERPIPE_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_home() == (tmp_path / ".meterpipe").resolve()
