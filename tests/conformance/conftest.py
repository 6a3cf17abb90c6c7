"""Conformance fixtures: every ``cases/**/*.json`` is one test (see test_conformance.py).

``ASL_CONFORMANCE_CASES=/some/dir`` runs another folder of fixtures in the same format instead.
"""

from __future__ import annotations

import os
from pathlib import Path

CASES = Path(os.environ.get("ASL_CONFORMANCE_CASES") or Path(__file__).parent / "cases")


def case_files() -> list[Path]:
    return sorted(CASES.rglob("*.json"))
