"""``meterpipe console``: it says where it serves, and fails in one line when it cannot."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from meterpipe.cli import app
from meterpipe.console import server


def test_console_without_a_running_localcloud_is_one_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["console", "--home", str(tmp_path), "--port", "0"])
    assert result.exit_code == 1
    hint = f"start it with `meterpipe local up --home {tmp_path}`"
    assert result.stderr.strip() == f"error: localcloud is not running for {tmp_path}: {hint}"


def test_console_on_a_port_in_use_says_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(
            Exception, match=f"port {port} on 127.0.0.1 is already in use: pick another with --port"
        ):
            server.bind(port)


def test_console_serves_on_the_loopback_port_it_found_and_says_where(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    async def fake_serve(app: Any, sock: Any) -> None:
        seen["port"], seen["guard"] = sock.getsockname()[1], app.guard.port
        sock.close()

    monkeypatch.setattr(server, "_serve", fake_serve)
    said: list[str] = []
    server.serve(lambda: None, port=0, target_label="t", on_ready=said.append)  # type: ignore[arg-type,return-value]
    assert said == [f"http://127.0.0.1:{seen['port']}/"]
    assert seen["guard"] == seen["port"] > 0
