"""The browser client in a real headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.process import ServerProcess

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
    page.get_by_label("Username", exact=True).fill(username)  # type: ignore[attr-defined]
    page.get_by_label("Password", exact=True).fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign up").click()  # type: ignore[attr-defined]
    playwright_api.expect(page.get_by_role("button", name="Log out")).to_be_visible()  # type: ignore[attr-defined]


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def new_match(host: object, game: str, target: str = "1",
              options: dict[str, str] | None = None) -> None:
    host.get_by_role("button", name="New match").click()  # type: ignore[attr-defined]
    host.get_by_label("Game", exact=True).select_option(game)  # type: ignore[attr-defined]
    host.get_by_label("Target score").fill(target)  # type: ignore[attr-defined]
    for name, value in (options or {}).items():  # a field per option of the game
        host.get_by_label(name, exact=True).fill(value)  # type: ignore[attr-defined]
    host.get_by_role("button", name="Create").click()  # type: ignore[attr-defined]
    playwright_api.expect(host.get_by_role("button", name="Start")).to_be_visible()  # type: ignore[attr-defined]


def enter(page: object, host_name: str, action: str) -> None:
    """From the list of ongoing matches, ``Join`` or ``Watch`` the one ``host_name`` hosts."""
    page.reload()  # type: ignore[attr-defined]
    listed = page.get_by_role("listitem").filter(has_text=host_name)  # type: ignore[attr-defined]
    listed.get_by_role("button", name=action).click()


def ready_and_start(host: object, challenger: object) -> None:
    challenger.get_by_role("button", name="Ready").click()  # type: ignore[attr-defined]
    start = host.get_by_role("button", name="Start")  # type: ignore[attr-defined]
    playwright_api.expect(start).to_be_enabled()
    start.click()


def seat_and_start(host: object, challenger: object, host_name: str) -> None:
    enter(challenger, host_name, "Join")
    ready_and_start(host, challenger)


def test_the_page_is_served_with_a_strict_content_security_policy(server: ServerProcess) -> None:
    import urllib.request

    with urllib.request.urlopen(server.url + "/") as response:
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert b'<script type="module" src="/static/app.js">' in response.read()


def test_the_names_the_page_promises_are_exact_and_unambiguous(
        browser: object, server: ServerProcess) -> None:
    page = page_for(browser, server)
    expect = playwright_api.expect
    for name in ("Username", "Password"):  # matched whole, and by no other field either
        expect(page.get_by_label(name, exact=True)).to_have_count(1)  # type: ignore[attr-defined]
        expect(page.get_by_label(name)).to_have_count(1)  # type: ignore[attr-defined]
    sign_up(page, "names_checker")
    page.get_by_role("button", name="New match", exact=True).click()  # type: ignore[attr-defined]
    for name in ("Game", "Target score"):
        expect(page.get_by_label(name, exact=True)).to_have_count(1)  # type: ignore[attr-defined]
        expect(page.get_by_label(name)).to_have_count(1)  # type: ignore[attr-defined]
    for name in ("Create", "Play ranked", "Log out"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(1)  # type: ignore[attr-defined]


def test_a_bad_sign_up_shows_the_servers_message(browser: object, server: ServerProcess) -> None:
    page = page_for(browser, server)
    page.get_by_label("Username", exact=True).fill("shorty")  # type: ignore[attr-defined]
    page.get_by_label("Password", exact=True).fill("123")  # type: ignore[attr-defined]
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
    new_match(host, "rps")
    enter(challenger, "web_host", "Join")
    enter(watcher, "web_host", "Watch")
    shot(watcher, "lobby-phone")
    playwright_api.expect(host.get_by_role("status")).to_contain_text("web_watcher joined")  # type: ignore[attr-defined]
    ready_and_start(host, challenger)
    playwright_api.expect(host.get_by_role("button", name="Rock")).to_be_enabled()  # type: ignore[attr-defined]
    clock = watcher.get_by_role("timer", name="Turn clock")  # type: ignore[attr-defined]
    playwright_api.expect(clock).to_have_text(re.compile(r"^(1:00|0:[0-5]\d)$"))  # a 60 s round
    shot(host, "match-rps")
    host.get_by_role("button", name="Rock").click()  # type: ignore[attr-defined]
    challenger.get_by_role("button", name="Scissors").click()  # type: ignore[attr-defined]
    for page in (host, challenger, watcher):
        playwright_api.expect(page.get_by_role("status")).to_have_text("web_host won")  # type: ignore[attr-defined]
    shot(watcher, "match-watched-phone")


def test_a_connect4_match_is_played_to_a_win(browser: object, server: ServerProcess) -> None:
    host, challenger = page_for(browser, server), page_for(browser, server)
    sign_up(host, "c4_host")
    sign_up(challenger, "c4_challenger")
    new_match(host, "connect4")
    seat_and_start(host, challenger, "c4_host")
    for turn in range(7):  # the host stacks column 1, the challenger column 2
        page, column = (host, "Column 1") if turn % 2 == 0 else (challenger, "Column 2")
        button = page.get_by_role("button", name=column)  # type: ignore[attr-defined]
        playwright_api.expect(button).to_be_enabled()
        playwright_api.expect(page.locator("#turn")).to_have_text("Your turn.")  # type: ignore[attr-defined]
        button.click()
    shot(challenger, "match-connect4")
    for page in (host, challenger):
        playwright_api.expect(page.get_by_role("status")).to_have_text("c4_host won")  # type: ignore[attr-defined]


def playing(browser: object, server: ServerProcess, game: str, target: str,
            host_name: str, challenger_name: str,
            options: dict[str, str] | None = None) -> tuple[object, object]:
    """Two new users' pages in a started match of ``game``: the host's, the challenger's."""
    host, challenger = page_for(browser, server), page_for(browser, server)
    sign_up(host, host_name)
    sign_up(challenger, challenger_name)
    new_match(host, game, target, options)
    seat_and_start(host, challenger, host_name)
    return host, challenger


def test_the_pong_paddle_answers_the_arrow_keys(browser: object, server: ServerProcess) -> None:
    host, challenger = playing(browser, server, "pong", "5", "pong_web_host",
                               "pong_web_challenger")
    court = host.get_by_role("img", name="Court")  # type: ignore[attr-defined]
    playwright_api.expect(court).to_have_attribute("data-host", "0.500")
    host.keyboard.down("ArrowUp")  # type: ignore[attr-defined]
    playwright_api.expect(court).to_have_attribute("data-host", "0.100")  # up to its limit
    host.keyboard.up("ArrowUp")  # type: ignore[attr-defined]
    host.keyboard.down("ArrowDown")  # type: ignore[attr-defined]
    host.wait_for_timeout(300)  # type: ignore[attr-defined]
    host.keyboard.up("ArrowDown")  # type: ignore[attr-defined]
    moved = float(court.get_attribute("data-host"))
    assert 0.1 < moved < 0.9
    watched = challenger.get_by_role("img", name="Court")  # type: ignore[attr-defined]
    playwright_api.expect(watched).not_to_have_attribute("data-tick", "0")
    shot(host, "match-pong")


def test_a_cycles_match_is_steered_with_the_arrow_keys_to_its_end(
        browser: object, server: ServerProcess) -> None:
    host, challenger = playing(browser, server, "cycles", "1", "cycles_web_host",
                               "cycles_web_rider", {"size": "16"})
    grid = host.get_by_role("img", name="Grid")  # type: ignore[attr-defined]
    playwright_api.expect(grid).to_have_attribute("data-size", "16")  # the option, as chosen
    playwright_api.expect(grid).to_have_attribute("data-riding", "host challenger")
    watched = challenger.get_by_role("img", name="Grid")  # type: ignore[attr-defined]
    playwright_api.expect(watched).not_to_have_attribute("data-tick", "0")
    # the host turns up into the top wall; the challenger rides on along the
    # row and would reach the host's trail only later: the challenger wins
    host.keyboard.press("ArrowUp")  # type: ignore[attr-defined]
    shot(host, "match-cycles")
    for page in (host, challenger):
        playwright_api.expect(page.get_by_role("status")).to_have_text(  # type: ignore[attr-defined]
            "cycles_web_rider won", timeout=15000)


def test_three_riders_take_their_seats_and_ride_cycles_to_the_standings(
        browser: object, server: ServerProcess) -> None:
    expect = playwright_api.expect
    names = ("trio_host", "trio_second", "trio_third")
    host, second, third = pages = [page_for(browser, server) for _ in names]
    for page, name in zip(pages, names, strict=True):
        sign_up(page, name)
    host.get_by_role("button", name="New match").click()  # type: ignore[attr-defined]
    host.get_by_label("Game", exact=True).select_option("cycles")  # type: ignore[attr-defined]
    form = host.locator("#create-form")  # type: ignore[attr-defined]
    form.get_by_label("Players", exact=True).fill("3")
    form.get_by_label("size", exact=True).fill("16")
    host.get_by_label("Target score").fill("1")  # type: ignore[attr-defined]
    host.get_by_role("button", name="Create").click()  # type: ignore[attr-defined]
    seats = host.get_by_role("list", name="Seats")  # type: ignore[attr-defined]
    expect(seats.get_by_role("listitem")).to_have_count(3)
    expect(seats.get_by_role("listitem").nth(2)).to_contain_text("p3")
    expect(seats.get_by_role("listitem").nth(2)).to_contain_text("free")
    enter(second, "trio_host", "Join")  # the first free seat, then the next
    expect(seats.get_by_role("listitem").nth(1)).to_contain_text("trio_second")
    enter(third, "trio_host", "Join")
    expect(seats.get_by_role("listitem").nth(2)).to_contain_text("trio_third")
    start = host.get_by_role("button", name="Start")  # type: ignore[attr-defined]
    second.get_by_role("button", name="Ready").click()  # type: ignore[attr-defined]
    expect(start).to_be_disabled()  # the third is not ready yet
    third.get_by_role("button", name="Ready").click()  # type: ignore[attr-defined]
    expect(start).to_be_enabled()
    start.click()
    grid = third.get_by_role("img", name="Grid")  # type: ignore[attr-defined]
    expect(grid).to_have_attribute("data-riding", "host challenger p3")
    # the host turns up and the third left: they meet (or reach a wall); the
    # second rides on along its row and is the last one riding
    host.keyboard.press("ArrowUp")  # type: ignore[attr-defined]
    third.keyboard.press("ArrowLeft")  # type: ignore[attr-defined]
    shot(third, "match-cycles-three")
    for page in pages:
        expect(page.get_by_role("status")).to_have_text(  # type: ignore[attr-defined]
            "trio_second won", timeout=15000)
    standings = host.get_by_role("table", name="Standings")  # type: ignore[attr-defined]
    rows = standings.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("trio_second")
    expect(rows.nth(0)).to_contain_text("+")
    shot(host, "match-cycles-standings")


def test_a_user_gets_back_into_their_own_match_from_anywhere(
        browser: object, server: ServerProcess) -> None:
    host = page_for(browser, server)
    sign_up(host, "back_host")
    new_match(host, "rps", "3")
    host.get_by_role("link", name="Matches").click()  # type: ignore[attr-defined]
    listed = host.get_by_role("listitem").filter(has_text="back_host")  # type: ignore[attr-defined]
    playwright_api.expect(listed.get_by_role("button", name="Open")).to_be_visible()
    assert listed.get_by_role("button", name="Join").count() == 0
    assert listed.get_by_role("button", name="Watch").count() == 0
    back = host.get_by_role("button", name="Back to your match")  # type: ignore[attr-defined]
    playwright_api.expect(back).to_be_visible()
    listed.get_by_role("button", name="Open").click()
    playwright_api.expect(host.get_by_role("button", name="Start")).to_be_visible()  # type: ignore[attr-defined]
    playwright_api.expect(back).to_be_hidden()  # in it: no way back needed
    host.get_by_role("link", name="Results").click()  # type: ignore[attr-defined]
    back.click()
    playwright_api.expect(host.get_by_role("button", name="Start")).to_be_visible()  # type: ignore[attr-defined]
    shot(host, "back-to-match")


def test_the_page_reconnects_by_itself_after_a_server_restart(
        browser: object, tmp_path: Path) -> None:
    import socket as sockets

    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ServerProcess(tmp_path, "--port", str(port)).start()
    try:
        host, challenger = page_for(browser, server), page_for(browser, server)
        sign_up(host, "restart_host")
        sign_up(challenger, "restart_challenger")
        new_match(host, "rps", "2")
        seat_and_start(host, challenger, "restart_host")
        host.get_by_role("button", name="Rock").click()  # type: ignore[attr-defined]
        challenger.get_by_role("button", name="Scissors").click()  # type: ignore[attr-defined]
        playwright_api.expect(host.get_by_role("status")).to_contain_text("won round 1")  # type: ignore[attr-defined]
        server.stop()
        pill = host.locator("#connection")  # type: ignore[attr-defined]
        playwright_api.expect(pill).to_have_text("reconnecting")
        shot(host, "reconnecting")
        server = ServerProcess(tmp_path, "--port", str(port)).start()
        playwright_api.expect(pill).to_have_text("connected", timeout=20000)
        playwright_api.expect(host.locator("#score")).to_have_text("1 \u2013 0")  # type: ignore[attr-defined]
        playwright_api.expect(challenger.locator("#connection")).to_have_text(  # type: ignore[attr-defined]
            "connected", timeout=20000)
        host.get_by_role("button", name="Paper").click()  # type: ignore[attr-defined]
        challenger.get_by_role("button", name="Rock").click()  # type: ignore[attr-defined]
        for page in (host, challenger):
            playwright_api.expect(page.get_by_role("status")).to_have_text("restart_host won")  # type: ignore[attr-defined]
    finally:
        server.stop()


def test_the_library_keeps_a_flag_and_a_rating(browser: object, server: ServerProcess) -> None:
    page = page_for(browser, server)
    sign_up(page, "librarian")
    page.get_by_role("link", name="Library").click()  # type: ignore[attr-defined]
    page.get_by_label("IGDB id").fill("1942")  # type: ignore[attr-defined]
    page.get_by_label("Title", exact=True).fill("The Witcher 3")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Look up").click()  # type: ignore[attr-defined]
    liked = page.get_by_role("button", name="Liked")  # type: ignore[attr-defined]
    playwright_api.expect(liked).to_have_attribute("aria-pressed", "false")
    liked.click()
    playwright_api.expect(liked).to_have_attribute("aria-pressed", "true")
    playwright_api.expect(page.get_by_role("list", name="Liked")).to_contain_text(  # type: ignore[attr-defined]
        "The Witcher 3 (IGDB 1942)")
    page.get_by_label("Rating").select_option("9")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Rate").click()  # type: ignore[attr-defined]
    playwright_api.expect(page.locator("#library-stats")).to_contain_text("average 9")  # type: ignore[attr-defined]
    shot(page, "library")


def test_a_lobby_is_created_with_an_invitee_who_sees_it(
        browser: object, server: ServerProcess) -> None:
    host, guest = page_for(browser, server), page_for(browser, server)
    sign_up(guest, "lobby_guest")
    sign_up(host, "lobby_host")
    host.get_by_role("link", name="Lobbies").click()  # type: ignore[attr-defined]
    host.get_by_label("Lobby name").fill("Friday night")  # type: ignore[attr-defined]
    host.get_by_label("Invitees (comma-separated)").fill("lobby_guest")  # type: ignore[attr-defined]
    host.get_by_role("button", name="Create lobby").click()  # type: ignore[attr-defined]
    lobby = host.get_by_role("listitem").filter(has_text="Friday night")  # type: ignore[attr-defined]
    playwright_api.expect(lobby).to_contain_text("lobby_guest")
    guest.get_by_role("link", name="Lobbies").click()  # type: ignore[attr-defined]
    playwright_api.expect(guest.get_by_role("listitem").filter(  # type: ignore[attr-defined]
        has_text="Friday night")).to_contain_text("lobby_host")
    lobby.get_by_role("button", name="Remove lobby_guest").click()
    playwright_api.expect(lobby).not_to_contain_text("lobby_guest")
    shot(host, "lobbies")


def test_two_players_queue_for_ranked_and_are_taken_into_their_match(
        browser: object, server: ServerProcess) -> None:
    first, second = page_for(browser, server), page_for(browser, server, 390)
    sign_up(first, "ranked_first")
    sign_up(second, "ranked_second")
    first.get_by_label("Queue").select_option("rps")  # type: ignore[attr-defined]
    first.get_by_role("button", name="Play ranked").click()  # type: ignore[attr-defined]
    cancel = first.get_by_role("button", name="Cancel search")  # type: ignore[attr-defined]
    playwright_api.expect(cancel).to_be_visible()
    playwright_api.expect(first.locator("#search-text")).to_contain_text(  # type: ignore[attr-defined]
        "Searching: rps, an opponent near 1000 elo")
    shot(first, "ranked-searching")
    cancel.click()
    playwright_api.expect(first.get_by_role("button", name="Play ranked")).to_be_visible()  # type: ignore[attr-defined]
    first.get_by_role("button", name="Play ranked").click()  # type: ignore[attr-defined]
    playwright_api.expect(cancel).to_be_visible()
    second.get_by_label("Queue").select_option("rps")  # type: ignore[attr-defined]
    second.get_by_role("button", name="Play ranked").click()  # type: ignore[attr-defined]
    for page in (first, second):  # paired, taken into the match, started without a click
        playwright_api.expect(page.get_by_role("button", name="Rock")).to_be_enabled(  # type: ignore[attr-defined]
            timeout=10000)
    playwright_api.expect(first.locator("#host-name")).to_have_text("ranked_first")  # type: ignore[attr-defined]
    shot(second, "ranked-match-phone")
    second.get_by_role("button", name="Resign").click()  # type: ignore[attr-defined]
    for page in (first, second):
        playwright_api.expect(page.get_by_role("status")).to_have_text("ranked_first won")  # type: ignore[attr-defined]


def test_results_and_the_leaderboard_show_a_finished_match(
        browser: object, server: ServerProcess) -> None:
    page = page_for(browser, server)
    sign_up(page, "reader")
    page.get_by_role("link", name="Results").click()  # type: ignore[attr-defined]
    page.get_by_label("Player", exact=True).fill("web_host")  # type: ignore[attr-defined]
    loser = page.get_by_role("cell", name="web_challenger", exact=True)  # type: ignore[attr-defined]
    row = page.get_by_role("row").filter(has=loser)  # type: ignore[attr-defined]
    playwright_api.expect(row).to_contain_text("1000→1050")
    shot(page, "results")
    page.get_by_role("link", name="Leaderboard").click()  # type: ignore[attr-defined]
    first = page.get_by_role("row").nth(1)  # type: ignore[attr-defined]
    playwright_api.expect(first).to_contain_text("1050")
    shot(page, "leaderboard")
