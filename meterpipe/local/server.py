"""``meterpipe local up/down/status`` as library calls: localcloud's launcher, with its errors
turned into meterpipe's one-line errors.

"Running" means answering on the port. A pid file can outlive its server: after a SIGKILL the
process may linger a few seconds as a zombie nobody has reaped yet, and its pid then still looks
alive. So a server whose port refuses connections is not running, whatever its pid says: its pid
file is removed as stale and ``up`` starts a new server at once. One that accepts connections but
does not answer (busy saving a large state) is running, and ``up`` says so instead of starting a
second one.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from localcloud import launcher
from meterpipe.errors import MeterpipeError

DEFAULT_PORT = 4566
HEALTH_PATH = "/_localcloud/health"
# How long a server that accepted the connection gets to answer its health check.
ANSWER_SECONDS = 10.0

Answer = Literal["answering", "refused", "silent"]


class LocalServerError(MeterpipeError):
    pass


@dataclass(frozen=True)
class UpResult:
    server: launcher.RunningServer
    started: bool  # False: it was already running
    stale_pid: int | None = None  # a pid file left by a localcloud that died was removed


@dataclass(frozen=True)
class Found:
    """The server of a home folder, judged by its port."""

    server: launcher.RunningServer | None
    answer: Answer | None = None
    health: dict[str, Any] | None = None
    stale_pid: int | None = None  # a pid file naming a server that is gone was removed


def check_origin(value: str) -> str:
    """A web origin as localcloud accepts it for --allow-origin (ValueError saying what is wrong)."""
    from localcloud.server.gate import check_origin as gate_check  # noqa: PLC0415 - only when given

    return gate_check(value)


def probe(endpoint: str, timeout: float = ANSWER_SECONDS) -> tuple[Answer, dict[str, Any] | None]:
    """Ask the server at ``endpoint`` for its health: it answers, refuses the connection (nothing
    listens: it is gone), or accepts it and stays silent (alive, but busy)."""
    try:
        with urllib.request.urlopen(endpoint.rstrip("/") + HEALTH_PATH, timeout=timeout) as response:
            data = json.load(response)
            return "answering", data if isinstance(data, dict) else {}
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            return "refused", None
        if isinstance(exc.reason, TimeoutError | socket.timeout):
            return "silent", None
        return "refused", None
    except ConnectionRefusedError:
        return "refused", None
    except (TimeoutError, OSError, ValueError):
        return "silent", None


def find(home: Path) -> Found:
    """The server of ``home``, judged by an answer on its port; a stale pid file is removed."""
    current = launcher.status(home)
    if current.server is None:
        return Found(None, stale_pid=current.stale_pid)
    answer, health = probe(current.server.endpoint, ANSWER_SECONDS)
    if answer == "refused":
        (home / launcher.RUNTIME_FILE).unlink(missing_ok=True)
        return Found(None, stale_pid=current.server.pid)
    return Found(current.server, answer, health)


def missing_local_extra() -> list[str]:
    """The distributions of meterpipe's ``[local]`` extra that are not installed (localcloud and the
    handlers need them; the operator's CLI for AWS does not). Empty when meterpipe's metadata
    cannot be read (run from a bare checkout)."""
    try:
        requirements = importlib.metadata.requires("meterpipe") or []
    except importlib.metadata.PackageNotFoundError:
        return []
    missing = []
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        if not re.search(r"""extra\s*==\s*["']local["']""", marker):
            continue
        name = re.match(r"[A-Za-z0-9._-]+", spec.strip())
        if name is None:
            continue
        try:
            importlib.metadata.distribution(name.group(0))
        except importlib.metadata.PackageNotFoundError:
            missing.append(name.group(0))
    return missing


def up(
    home: Path,
    *,
    port: int = DEFAULT_PORT,
    allowed_origins: tuple[str, ...] = (),
    verify_signatures: bool = False,
    sfn_mock_config: Path | None = None,
) -> UpResult:
    """``sfn_mock_config`` (else ``SFN_MOCK_CONFIG``): a Step Functions Local mock configuration."""
    missing = missing_local_extra()
    if missing:
        raise LocalServerError(
            "localcloud needs meterpipe's [local] extra, which is not installed (missing "
            f"{', '.join(missing)}): pip install 'meterpipe[local]'"
        )
    found = find(home)
    if found.server is not None:
        if found.answer == "silent":
            raise LocalServerError(
                f"localcloud (pid {found.server.pid}) holds {home} at {found.server.endpoint} but does not "
                f"answer within {ANSWER_SECONDS:.0f} s (saving a large state?): wait and try again, or "
                "stop it with `meterpipe local down`"
            )
        return UpResult(found.server, started=False)
    try:
        server = launcher.start(
            home,
            port=port,
            allowed_origins=allowed_origins,
            verify_signatures=verify_signatures,
            sfn_mock_config=sfn_mock_config,
        )
        return UpResult(server, started=True, stale_pid=found.stale_pid)
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
    found = find(home)
    if found.server is None:
        stale = f" (removed a stale pid file left by pid {found.stale_pid})" if found.stale_pid else ""
        raise LocalServerError(f"localcloud is not running for {home}{stale}")
    try:
        return launcher.stop(home)
    except launcher.LauncherError as exc:
        raise LocalServerError(str(exc)) from exc


def endpoint(home: Path) -> launcher.RunningServer | None:
    """The running server of ``home`` (None: not running), for clients."""
    return find(home).server


def status(home: Path) -> dict[str, Any]:
    """What ``meterpipe local status --json`` prints."""
    found = find(home)
    if found.server is None:
        result: dict[str, Any] = {"running": False, "home": str(home)}
        if found.stale_pid:
            result["stale_pid_removed"] = found.stale_pid
        return result
    health = found.health or {}
    return {
        "running": True,
        **found.server.to_json(),
        "answering": found.answer == "answering",
        "services": health.get("services", {}),
        "clock": health.get("clock"),
        "sfn_mock_config": health.get("sfn_mock_config"),
        "security": health.get("security", {}),
        "faults": health.get("faults", []),
    }
