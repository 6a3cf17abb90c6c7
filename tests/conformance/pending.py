"""Conformance cases that cannot pass yet, and why. Empty: every case passes (part B of the
interpreter, issue 3, emptied it). A case added here needs a reason a reviewer can check.

``PENDING`` maps a case path prefix (relative to ``cases/``) to the reason.
"""

from __future__ import annotations

from typing import Any

PENDING: dict[str, str] = {}


def pending_reason(relative_path: str, case: dict[str, Any]) -> str | None:
    for prefix, reason in PENDING.items():
        if relative_path.startswith(prefix):
            return reason
    return None
