"""``meterpipe local up/down/status`` as library calls: localcloud's launcher, with its errors
turned into meterpipe's one-line errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud import launcher
from meterpipe.errors import MeterpipeError

DEFAULT_PORT = 4566


class LocalServerError(MeterpipeError):
    pass


@dataclass(frozen=True)
class UpResult:
    server: launcher.RunningServer
    started: bool  # False: it was already running
    stale_pid: int | None = None  # a pid file left by a localcloud that died was removed


def up(
    home: Path,
    *,
    port: int = DEFAULT_PORT,
    allowed_origins: tuple[str, ...] = (),
    verify_signatures: bool = False,
    sfn_mock_config: Path | None = None,
) -> UpResult:
    """``sfn_mock_config`` (else ``SFN_MOCK_CONFIG``): a Step Functions Local mock configuration."""
    stale = launcher.status(home).stale_pid
    try:
        server = launcher.start(
            home,
            port=port,
            allowed_origins=allowed_origins,
            verify_signatures=verify_signatures,
            sfn_mock_config=sfn_mock_config,
        )
        return UpResult(server, started=True, stale_pid=stale)
    except launcher.AlreadyRunning as running:
        return UpResult(running.server, started=False)
    except launcher.LauncherError as exc:
        raise LocalServerError(str(exc)) from exc


def credentials(server: launcher.RunningServer) -> dict[str, str] | None:
    """The key meterpipe signs with when the server checks signatures (None: it accepts any key)."""
    try:
        return server.signing_key()
    except launcher.LauncherError as exc:
        raise LocalServerError(str(exc)) from exc


def down(home: Path) -> launcher.RunningServer:
    try:
        return launcher.stop(home)
    except launcher.LauncherError as exc:
        raise LocalServerError(str(exc)) from exc


def status(home: Path) -> dict[str, Any]:
    """What ``meterpipe local status --json`` prints."""
    current = launcher.status(home)
    if current.server is None:
        result: dict[str, Any] = {"running": False, "home": str(home)}
        if current.stale_pid:
            result["stale_pid_removed"] = current.stale_pid
        return result
    health = launcher.health(current.server.endpoint) or {}
    return {
        "running": True,
        **current.server.to_json(),
        "answering": bool(health),
        "services": health.get("services", {}),
        "clock": health.get("clock"),
        "sfn_mock_config": health.get("sfn_mock_config"),
        "security": health.get("security", {}),
        "faults": health.get("faults", []),
    }
