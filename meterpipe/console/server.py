"""Serving the console: a socket on 127.0.0.1 (port 0: any free one), hypercorn, until Ctrl-C."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
import webbrowser
from collections.abc import Callable

from meterpipe.console.app import ConsoleApp
from meterpipe.console.http import Guard
from meterpipe.errors import MeterpipeError
from meterpipe.ops.pipeline import Pipeline

DEFAULT_PORT = 8001


def bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise MeterpipeError(
                f"port {port} on 127.0.0.1 is already in use: pick another with --port"
            ) from None
        raise MeterpipeError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    sock.listen(128)
    return sock


def serve(
    connect: Callable[[], Pipeline],
    *,
    port: int,
    target_label: str,
    open_browser: bool = False,
    on_ready: Callable[[str], None] = print,
) -> None:
    """Serve until SIGINT or SIGTERM."""
    sock = bind(port)
    actual = int(sock.getsockname()[1])
    app = ConsoleApp(connect, Guard(actual), target_label=target_label)
    url = f"http://127.0.0.1:{actual}/"
    on_ready(url)
    if open_browser:
        webbrowser.open(url)
    asyncio.run(_serve(app, sock))


async def _serve(app: ConsoleApp, sock: socket.socket) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve  # noqa: PLC0415 - only when serving
    from hypercorn.config import Config  # noqa: PLC0415

    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns (and closes) the listening socket
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await hypercorn_serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
