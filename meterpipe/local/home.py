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
