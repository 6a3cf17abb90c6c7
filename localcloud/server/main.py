"""Run localcloud in this process: ``python -m localcloud.server --home DIR --port N``.

Binds 127.0.0.1 only (no option to do otherwise), holds an exclusive lock on the home folder so
two servers never share one, writes ``<home>/localcloud.json`` (pid, port, endpoint) once it
answers and removes it on a clean stop. SIGTERM and SIGINT stop it gracefully (state saved).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import fcntl
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

# The runtime file and the exit codes are what the launcher reads: one definition, the launcher's.
from localcloud.asl.mocking import MockConfigError
from localcloud.launcher import EXIT_ALREADY_RUNNING, EXIT_PORT_IN_USE, MOCK_VARIABLE, RUNTIME_FILE
from localcloud.server import heap, ministack
from localcloud.server.app import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, LocalcloudApp, ServerConfig
from localcloud.server.gate import check_origin
from localcloud.server.keys import KEYS_FILE, KeysFileError, ensure_keys_file, read_pairs
from localcloud.server.registry import Service, ServiceRegistry
from localcloud.stepfunctions.mocks import STEP_FUNCTIONS_LOCAL_ACCOUNT, check_mock_config

log = logging.getLogger("localcloud")

LOCK_FILE = "localcloud.lock"


class StartupError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"port {port} on 127.0.0.1 is already in use", EXIT_PORT_IN_USE) from exc
        raise StartupError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}", EXIT_PORT_IN_USE) from exc
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def home_lock(home: Path) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = (home / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise StartupError(
            f"another localcloud is already running with home {home}", EXIT_ALREADY_RUNNING
        ) from exc
    try:
        yield
    finally:
        handle.close()


def write_runtime_file(config: ServerConfig) -> None:
    assert config.home is not None
    info = {
        "pid": os.getpid(),
        "port": config.port,
        "endpoint": config.endpoint_url,
        "home": str(config.home),
        "region": config.region,
        "started_at": time.time(),
        "allowed_origins": list(config.allowed_origins),
        "verify_signatures": config.verify_signatures,
        "keys_file": str(config.keys_file) if config.verify_signatures and config.keys_file else None,
    }
    target = config.home / RUNTIME_FILE
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    tmp.replace(target)


def run(
    *,
    home: Path | None,
    port: int,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT_ID,
    services: Callable[[], list[Service]] | None = None,
    allowed_origins: tuple[str, ...] = (),
    verify_signatures: bool = False,
    keys_file: Path | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT. Raises StartupError (port in use, home already in use, no keys)."""
    with contextlib.ExitStack() as stack:
        if home is not None:
            home = home.resolve()
            stack.enter_context(home_lock(home))
        keys_file = _keys_file(home, keys_file) if verify_signatures else None
        sock = bind(port)
        config = ServerConfig(
            home=home,
            port=sock.getsockname()[1],
            region=region,
            account_id=account_id,
            allowed_origins=allowed_origins,
            verify_signatures=verify_signatures,
            keys_file=keys_file,
        )
        ministack.configure(home, port=config.port, region=region, account_id=account_id)
        from localcloud.server.services import default_services  # noqa: PLC0415 - after configure()

        heap.install()
        registry = ServiceRegistry((services or default_services)())
        app = LocalcloudApp(config, registry, ministack.MiniStack(persist=home is not None))
        if home is not None:
            app.on_started.append(lambda: write_runtime_file(config))
            stack.callback(lambda: (home / RUNTIME_FILE).unlink(missing_ok=True))
        asyncio.run(_serve(app, sock))


def _keys_file(home: Path | None, given: Path | None) -> Path:
    """The keys file --verify-signatures checks against: given, else <home>/credentials, created
    with a random key pair when missing."""
    if given is None:
        if home is None:
            raise StartupError("--verify-signatures needs --home or --keys-file: the keys it accepts", 2)
        given = ensure_keys_file(home / KEYS_FILE)
    path = given.resolve()
    try:
        if not read_pairs(path):
            raise StartupError(
                f"the keys file {path} holds no aws_access_key_id/aws_secret_access_key pair", 2
            )
    except KeysFileError as exc:
        raise StartupError(str(exc), 2) from exc
    return path


async def _serve(app: LocalcloudApp, sock: socket.socket) -> None:
    from hypercorn.asyncio import serve  # noqa: PLC0415
    from hypercorn.config import Config  # noqa: PLC0415

    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns (and closes) the listening socket
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 5
    config.keep_alive_timeout = 75  # boto3 reuses connections; don't drop them between calls
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    async def quiesce_then_stop() -> None:
        # While the endpoint still answers: services save their work in flight first (Step
        # Functions' running executions), before requests start failing as the server goes down.
        try:
            await app.quiesce()
        finally:
            stop.set()

    def on_signal() -> None:
        if not stopping:
            stopping.append(loop.create_task(quiesce_then_stop()))

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
    await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]


def _mock_config() -> Path | None:
    """Step Functions Local's mock configuration, checked before anything starts."""
    try:
        path = check_mock_config()
    except MockConfigError as exc:
        raise StartupError(f"the mock configuration ({MOCK_VARIABLE}) cannot be used: {exc}", 1) from exc
    if path is not None:
        log.info("Step Functions mock configuration: %s", path)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m localcloud.server", description=__doc__)
    parser.add_argument("--home", type=Path, help="folder for all state (omit: nothing is persisted)")
    parser.add_argument("--port", type=int, default=4566, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument(
        "--account-id",
        default=os.environ.get("LOCALCLOUD_ACCOUNT_ID"),
        help=f"the account in ARNs (default {DEFAULT_ACCOUNT_ID}; {STEP_FUNCTIONS_LOCAL_ACCOUNT}, Step "
        "Functions Local's, with a mock configuration)",
    )
    parser.add_argument(
        "--sfn-mock-config",
        type=Path,
        help=f"Step Functions Local mock configuration file (sets {MOCK_VARIABLE})",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="URL",
        help="a web origin (scheme://host[:port]) whose pages may call localcloud; repeatable "
        "(default: none)",
    )
    parser.add_argument(
        "--verify-signatures",
        action="store_true",
        help="check every request's SigV4 signature against the keys of --keys-file (default: any key "
        "is accepted, only the signature's presence is checked)",
    )
    parser.add_argument(
        "--keys-file",
        type=Path,
        help="with --verify-signatures: an AWS shared credentials file whose profiles' keys are accepted "
        "(default: <home>/credentials, created with a random [localcloud] key when missing)",
    )
    parser.add_argument("--log-level", default=os.environ.get("LOCALCLOUD_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    if args.sfn_mock_config is not None:
        os.environ[MOCK_VARIABLE] = str(args.sfn_mock_config.resolve())
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s [%(name)s] %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("localcloud").setLevel(args.log_level.upper())
    try:
        origins = tuple(check_origin(origin) for origin in args.allow_origin)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        mock_config = _mock_config()
        account = args.account_id or (STEP_FUNCTIONS_LOCAL_ACCOUNT if mock_config else DEFAULT_ACCOUNT_ID)
        run(
            home=args.home,
            port=args.port,
            region=args.region,
            account_id=account,
            allowed_origins=origins,
            verify_signatures=args.verify_signatures,
            keys_file=args.keys_file,
        )
    except StartupError as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
