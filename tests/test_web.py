"""The browser client in a real headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.process import ServerProcess

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine "
                                "(apt-get install chromium)")
#: Flags for a sandboxed machine with a closed network (no background fetches).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(os.environ.get("ARENA_SCREENSHOTS", "test-artifacts"))
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("web")).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def page_for(browser: object, server: ServerProcess, width: int = 1100) -> object:
    context = browser.new_context(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server.url + "/")
    return page


def sign_up(page: object, username: str) -> None:
    page.get_by_label("Username").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign up").click()  # type: ignore[attr-defined]
    playwright_api.expect(page.get_by_role("button", name="Log out")).to_be_visible()  # type: ignore[attr-defined]


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_the_page_is_served_with_a_strict_content_security_policy(server: ServerProcess) -> None:
    import urllib.request

    with urllib.request.urlopen(server.url + "/") as response:
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert b'<script type="module" src="/static/app.js">' in response.read()


def test_a_bad_sign_up_shows_the_servers_message(browser: object, server: ServerProcess) -> None:
    page = page_for(browser, server)
    page.get_by_label("Username").fill("shorty")  # type: ignore[attr-defined]
    page.get_by_label("Password").fill("123")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign up").click()  # type: ignore[attr-defined]
    alert = page.get_by_role("alert")  # type: ignore[attr-defined]
    playwright_api.expect(alert).to_contain_text("password")
    shot(page, "sign-up-error")


def test_two_players_play_rps_to_the_end_while_a_third_watches(
        browser: object, server: ServerProcess) -> None:
    host, challenger, watcher = (page_for(browser, server, w) for w in (1100, 1100, 390))
    sign_up(host, "web_host")
    sign_up(challenger, "web_challenger")
    sign_up(watcher, "web_watcher")
    host.get_by_role("button", name="New match").click()  # type: ignore[attr-defined]
    host.get_by_label("Game").select_option("rps")  # type: ignore[attr-defined]
    host.get_by_label("Target score").fill("1")  # type: ignore[attr-defined]
    host.get_by_role("button", name="Create").click()  # type: ignore[attr-defined]
    playwright_api.expect(host.get_by_role("button", name="Start")).to_be_visible()  # type: ignore[attr-defined]

    for page, action in ((challenger, "Join"), (watcher, "Watch")):
        page.reload()  # type: ignore[attr-defined]
        listed = page.get_by_role("listitem").filter(has_text="web_host")  # type: ignore[attr-defined]
        listed.get_by_role("button", name=action).click()
    shot(watcher, "lobby-phone")
    playwright_api.expect(host.get_by_role("status")).to_contain_text("web_watcher joined")  # type: ignore[attr-defined]
    challenger.get_by_role("button", name="Ready").click()  # type: ignore[attr-defined]
    start = host.get_by_role("button", name="Start")  # type: ignore[attr-defined]
    playwright_api.expect(start).to_be_enabled()
    start.click()
    playwright_api.expect(host.get_by_role("button", name="Rock")).to_be_enabled()  # type: ignore[attr-defined]
    shot(host, "match-rps")
    host.get_by_role("button", name="Rock").click()  # type: ignore[attr-defined]
    challenger.get_by_role("button", name="Scissors").click()  # type: ignore[attr-defined]
    for page in (host, challenger, watcher):
        playwright_api.expect(page.get_by_role("status")).to_have_text("web_host won")  # type: ignore[attr-defined]
    shot(watcher, "match-watched-phone")
