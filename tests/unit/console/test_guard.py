"""The console answers only its own browser: the loopback Host with its port, its own origin, and
its CSRF token on every action. Checked through the ASGI app, before any page touches AWS."""

from __future__ import annotations

from typing import Any

import pytest

from meterpipe.console.app import ConsoleApp
from meterpipe.console.http import Guard
from tests.unit.console.asgi import call

PORT = 8123
OWN = f"127.0.0.1:{PORT}"


def _no_aws() -> Any:
    raise AssertionError("a refused request must not reach AWS")


@pytest.fixture
def app() -> ConsoleApp:
    return ConsoleApp(_no_aws, Guard(PORT, csrf_token="the-token"), target_label="test")


@pytest.mark.parametrize(
    "host", [None, "evil.example", f"evil.example:{PORT}", "127.0.0.1", "127.0.0.1:9999", f"0.0.0.0:{PORT}"]
)
def test_a_host_other_than_the_consoles_loopback_name_and_port_is_refused(
    app: ConsoleApp, host: str | None
) -> None:
    answer = call(app, "GET", "/customers", host=host)
    assert answer.status == 403
    assert "is not this console" in answer.shown


@pytest.mark.parametrize("host", [OWN, f"localhost:{PORT}"])
def test_the_loopback_name_and_address_with_the_port_are_served(app: ConsoleApp, host: str) -> None:
    answer = call(app, "GET", "/customers", host=host)
    assert answer.status == 200
    assert "Customer ID" in answer.shown


def test_an_action_with_an_opaque_null_origin_is_refused(app: ConsoleApp) -> None:
    answer = call(
        app,
        "POST",
        "/executions/arn:aws:states:us-east-1:1:execution:m:x/stop",
        host=OWN,
        headers={"origin": "null"},
        form={"csrf_token": "the-token"},
    )
    assert (answer.status, "cross-origin request from 'null'" in answer.shown) == (403, True)
    # The console's own pages send their real origin: no referrer policy that makes it "null".
    assert call(app, "GET", "/customers", host=OWN).headers["referrer-policy"] == "same-origin"


def test_a_request_from_another_origin_is_refused(app: ConsoleApp) -> None:
    answer = call(app, "GET", "/customers", host=OWN, headers={"origin": "http://evil.example"})
    assert (answer.status, "cross-origin request from 'http://evil.example'" in answer.shown) == (403, True)
    fetched = call(
        app, "GET", "/customers", host=OWN, headers={"sec-fetch-site": "cross-site", "sec-fetch-mode": "cors"}
    )
    assert fetched.status == 403


def test_a_link_followed_from_another_site_opens_a_page_but_never_acts(app: ConsoleApp) -> None:
    navigation = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"}
    assert call(app, "GET", "/customers", host=OWN, headers=navigation).status == 200
    posted = call(
        app,
        "POST",
        "/executions/arn:aws:states:us-east-1:1:execution:m:x/stop",
        host=OWN,
        headers={**navigation, "origin": "http://evil.example"},
        form={"csrf_token": "the-token"},
    )
    assert posted.status == 403


@pytest.mark.parametrize(
    ("form", "reason"),
    [({}, "missing or wrong CSRF token"), ({"csrf_token": "guess"}, "missing or wrong CSRF token")],
)
def test_an_action_without_the_consoles_csrf_token_is_refused(
    app: ConsoleApp, form: dict[str, str], reason: str
) -> None:
    answer = call(
        app,
        "POST",
        "/executions/arn:aws:states:us-east-1:1:execution:m:x/stop",
        host=OWN,
        headers={"origin": f"http://{OWN}"},
        form=form,
    )
    assert answer.status == 403
    assert reason in answer.shown


def test_a_refusal_of_a_json_twin_is_json(app: ConsoleApp) -> None:
    answer = call(app, "GET", "/executions.json", host="evil.example:1")
    assert answer.status == 403
    assert answer.json()["error"].startswith("refused: Host 'evil.example:1'")


def test_every_answer_forbids_other_origins_scripts_and_framing(app: ConsoleApp) -> None:
    answer = call(app, "GET", "/customers", host=OWN)
    policy = answer.headers["content-security-policy"]
    assert (
        "default-src 'none'" in policy
        and "script-src 'self'" in policy
        and "frame-ancestors 'none'" in policy
    )
    assert answer.headers["x-frame-options"] == "DENY"
    assert "access-control-allow-origin" not in answer.headers


def test_pages_load_their_script_and_style_from_the_console_itself(app: ConsoleApp) -> None:
    page = call(app, "GET", "/customers", host=OWN).text
    assert '<link rel="stylesheet" href="/static/console.css">' in page
    assert '<script src="/static/console.js" defer></script>' in page
    assert "http://" not in page.replace(f"http://{OWN}", "") and "https://" not in page
    style = call(app, "GET", "/static/console.css", host=OWN)
    assert (style.status, style.headers["content-type"]) == (200, "text/css; charset=utf-8")
    assert "url(" not in style.text and "@import" not in style.text
    assert call(app, "GET", "/static/../app.py", host=OWN).status == 404


def test_a_get_route_refuses_a_post_and_an_unknown_path_is_404(app: ConsoleApp) -> None:
    assert call(app, "POST", "/customers", host=OWN, form={"csrf_token": "the-token"}).status == 405
    assert call(app, "GET", "/nowhere", host=OWN).status == 404
