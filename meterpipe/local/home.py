"""Where local state lives: ``--home``, else ``METERPIPE_HOME``, else ``.meterpipe/``."""

from __future__ import annotations

import os
from pathlib import Path

HOME_VARIABLE = "METERPIPE_HOME"
DEFAULT_HOME = ".meterpipe"


def resolve_home(home: Path | str | None = None) -> Path:
    """An explicit argument wins over the environment, which wins over the default."""
    chosen = home if home is not None else os.environ.get(HOME_VARIABLE) or DEFAULT_HOME
    return Path(chosen).expanduser().resolve()


def local_command(words: str, home: Path) -> str:
    """``meterpipe local <words>`` as the operator should type it for ``home``: with ``--home`` unless
    it is the folder the command finds by itself (the environment's, else ``.meterpipe/``)."""
    found_anyway = resolve_home(None) == home.expanduser().resolve()
    quoted = f" --home {home}" if not found_anyway else ""
    return f"meterpipe local {words}{quoted}"


def not_running(home: Path) -> str:
    """The one line every command says when no localcloud runs for ``home``."""
    return f"localcloud is not running for {home}: start it with `{local_command('up', home)}`"
