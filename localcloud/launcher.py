"""Start, stop and inspect a localcloud server running in the background for a home folder.

This is localcloud's public process API (meterpipe's ``meterpipe local up/down/status`` and the
tests use it): ``start(home, port=...)`` spawns ``python -m localcloud.server`` as a detached
process logging to ``<home>/logs/localcloud.log`` and returns once it answers; ``status(home)``
reads ``<home>/localcloud.json`` and checks the process is alive; ``stop(home)`` sends SIGTERM and
waits for the graceful shutdown (state saved). Errors are ``LauncherError`` subclasses whose
message is one line an operator can act on.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUNTIME_FILE = "localcloud.json"
MOCK_VARIABLE = "SFN_MOCK_CONFIG"  # Step Functions Local's variable (localcloud.stepfunctions.mocks)
LOG_FILE = Path("logs") / "localcloud.log"
EXIT_PORT_IN_USE = 3
EXIT_ALREADY_RUNNING = 4
_children: dict[int, subprocess.Popen[bytes]] = {}  # servers this process started (reaped on exit)


class LauncherError(Exception):
    """A clear, one-line reason (the CLI prints it as is)."""


class PortInUse(LauncherError):
    pass


class NotRunning(LauncherError):
    pass


class AlreadyRunning(LauncherError):
    def __init__(self, message: str, server: RunningServer) -> None:
        super().__init__(message)
        self.server = server


class StartFailed(LauncherError):
    pass


@dataclass(frozen=True)
class RunningServer:
    pid: int
    port: int
    endpoint: str
    home: Path
    region: str
    started_at: float
    allowed_origins: tuple[str, ...] = ()
    verify_signatures: bool = False
    keys_file: Path | None = None  # with verify_signatures: the keys it accepts

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "port": self.port,
            "endpoint": self.endpoint,
            "home": str(self.home),
            "region": self.region,
            "started_at": self.started_at,
            "allowed_origins": list(self.allowed_origins),
            "verify_signatures": self.verify_signatures,
            "keys_file": str(self.keys_file) if self.keys_file else None,
        }

    def signing_key(self) -> dict[str, str] | None:
        """boto3's credential arguments for a server that checks signatures: the key of the
        [localcloud] profile of its keys file (None: it accepts any key)."""
        if not self.verify_signatures or self.keys_file is None:
            return None
        from localcloud.server.keys import PROFILE, KeysFileError, read_pairs  # noqa: PLC0415

        try:
            pair = read_pairs(self.keys_file).get(PROFILE)
        except KeysFileError as exc:
            raise LauncherError(str(exc)) from exc
        if pair is None:
            raise LauncherError(
                f"localcloud checks signatures with the keys of {self.keys_file}, which has no [{PROFILE}] "
                "profile to sign with: add one (aws_access_key_id, aws_secret_access_key)"
            )
        return {"aws_access_key_id": pair.access_key, "aws_secret_access_key": pair.secret_key}


@dataclass(frozen=True)
class Status:
    server: RunningServer | None
    stale_pid: int | None = None  # a runtime file was left by a process that is gone

    @property
    def running(self) -> bool:
        return self.server is not None


def _alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status(home: Path) -> Status:
    """Is a server running for ``home``? A stale runtime file is reported and removed."""
    runtime = home / RUNTIME_FILE
    try:
        info = json.loads(runtime.read_text())
    except FileNotFoundError:
        return Status(None)
    except ValueError:
        runtime.unlink(missing_ok=True)
        return Status(None)
    pid = int(info["pid"])
    if not _alive(pid):
        runtime.unlink(missing_ok=True)
        return Status(None, stale_pid=pid)
    server = RunningServer(
        pid=pid,
        port=int(info["port"]),
        endpoint=str(info["endpoint"]),
        home=Path(info["home"]),
        region=str(info.get("region", "us-east-1")),
        started_at=float(info["started_at"]),
        allowed_origins=tuple(info.get("allowed_origins") or ()),
        verify_signatures=bool(info.get("verify_signatures")),
        keys_file=Path(info["keys_file"]) if info.get("keys_file") else None,
    )
    return Status(server)


def health(endpoint: str, timeout: float = 2.0) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{endpoint}/_localcloud/health", timeout=timeout) as response:
            data: dict[str, Any] = json.load(response)
            return data
    except (urllib.error.URLError, OSError, ValueError):
        return None


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno != errno.EADDRINUSE
    return True


def start(
    home: Path,
    *,
    port: int = 4566,
    timeout: float = 30.0,
    region: str = "us-east-1",
    allowed_origins: tuple[str, ...] = (),
    verify_signatures: bool = False,
    sfn_mock_config: Path | None = None,
) -> RunningServer:
    """Start a server for ``home`` in the background; returns once it answers. ``allowed_origins``:
    web origins whose pages may call it; ``verify_signatures``: check signatures against the keys
    of ``<home>/credentials`` (created with a random key pair when missing); ``sfn_mock_config``
    (else ``SFN_MOCK_CONFIG`` in this environment): a Step Functions Local mock configuration file
    for the server (``localcloud.stepfunctions.mocks``)."""
    home = home.resolve()
    current = status(home)
    if current.server is not None:
        raise AlreadyRunning(
            f"localcloud is already running for {home} at {current.server.endpoint} "
            f"(pid {current.server.pid})",
            current.server,
        )
    if port and not port_free(port):
        raise PortInUse(f"port {port} on 127.0.0.1 is already in use: stop what uses it or pick --port")
    log_path = home / LOG_FILE
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")}
    mock_config = sfn_mock_config or (Path(env[MOCK_VARIABLE]) if env.get(MOCK_VARIABLE) else None)
    if mock_config is not None:  # the server runs in the home folder: pass the path absolute
        env[MOCK_VARIABLE] = str(mock_config.resolve())
    command = [sys.executable, "-m", "localcloud.server", "--home", str(home), "--port", str(port)]
    command += ["--region", region]
    for origin in allowed_origins:
        command += ["--allow-origin", origin]
    if verify_signatures:
        command.append("--verify-signatures")
    with log_path.open("ab") as log:
        log.write(f"\n--- starting localcloud: {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # detached: survives the terminal that started it
            env=env,
            cwd=home,
        )
    _children[process.pid] = process
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            _children.pop(process.pid, None)
            tail = _log_tail(log_path)
            if code == EXIT_PORT_IN_USE:
                raise PortInUse(tail or f"port {port} on 127.0.0.1 is already in use")
            if code == EXIT_ALREADY_RUNNING:
                raise StartFailed(tail or f"another localcloud holds {home}")
            raise StartFailed(f"localcloud exited with code {code} while starting: {tail} (log: {log_path})")
        current = status(home)
        if (
            current.server is not None
            and current.server.pid == process.pid
            and health(current.server.endpoint)
        ):
            return current.server
        time.sleep(0.05)
    process.terminate()
    raise StartFailed(f"localcloud did not answer within {timeout:.0f} s (log: {log_path})")


# A graceful stop syncs the DynamoDB journal and snapshots what else changed: seconds, whatever the size.
STOP_TIMEOUT_SECONDS = 300.0


def stop(home: Path, *, timeout: float = STOP_TIMEOUT_SECONDS, kill: bool = False) -> RunningServer:
    """Stop the server of ``home``: SIGTERM (graceful, state saved) or, with ``kill``, SIGKILL."""
    home = home.resolve()
    current = status(home)
    if current.server is None:
        stale = f" (removed a stale pid file left by pid {current.stale_pid})" if current.stale_pid else ""
        raise NotRunning(f"localcloud is not running for {home}{stale}")
    server = current.server
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(server.pid):
            _children.pop(server.pid, None)
            return server
        time.sleep(0.05)
    raise LauncherError(f"localcloud (pid {server.pid}) did not stop within {timeout:.0f} s")


def _log_tail(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except FileNotFoundError:
        return ""
    return lines[-1].strip() if lines else ""
