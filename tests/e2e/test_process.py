"""The server as a user runs it: --help, signals, restarts, the admin command."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from config import Config
from tests.support.client import PASSWORD
from tests.support.process import ServerProcess, database_pid, run_cli, wait_until_dead


def test_help_lists_every_option() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for name in Config.__dataclass_fields__:
        assert "--" + name.replace("_", "-") in result.stdout
    assert "admin" in result.stdout


def test_sigterm_stops_the_server_and_its_database(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    db_pid = database_pid(tmp_path)
    assert server.request("GET", "/healthz") == (200, {"status": "ok", "db": "ok"})
    assert server.stop(signal.SIGTERM) == 0
    assert wait_until_dead(db_pid)
    assert not (tmp_path / "embedded-db.json").exists()


def test_sigkill_takes_the_database_along_and_a_restart_keeps_the_data(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    db_pid = database_pid(tmp_path)
    status, _ = server.request("POST", "/api/users/sign_up/",
                               {"username": "survivor", "password": PASSWORD})
    assert status == 201
    server.stop(signal.SIGKILL)
    assert wait_until_dead(db_pid)

    again = ServerProcess(tmp_path).start()
    try:
        status, user = again.request("GET", "/api/users/survivor/")
        assert status == 200 and user["username"] == "survivor"
    finally:
        again.stop()


def test_admin_grant_and_revoke_with_the_server_running_and_stopped(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        server.request("POST", "/api/users/sign_up/", {"username": "boss", "password": PASSWORD})
        _, body = server.request("POST", "/api/token/",
                                 {"username": "boss", "password": PASSWORD})
        token = body["token"]

        granted = run_cli("admin", "grant", "boss", "--data-dir", str(tmp_path))
        assert granted.returncode == 0, granted.stderr
        assert server.request("GET", "/api/users/me/", token=token)[1]["is_admin"] is True

        revoked = run_cli("--data-dir", str(tmp_path), "admin", "revoke", "boss")
        assert revoked.returncode == 0, revoked.stderr
        assert server.request("GET", "/api/users/me/", token=token)[1]["is_admin"] is False

        unknown = run_cli("admin", "grant", "nobody", "--data-dir", str(tmp_path))
        assert unknown.returncode == 1
        assert "nobody" in unknown.stderr
    finally:
        server.stop()

    offline = run_cli("admin", "grant", "boss", "--data-dir", str(tmp_path))
    assert offline.returncode == 0, offline.stderr
    restarted = ServerProcess(tmp_path).start()
    try:
        assert restarted.request("GET", "/api/users/me/", token=token)[1]["is_admin"] is True
    finally:
        restarted.stop()


def test_a_second_server_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        second = run_cli("--port", "0", "--data-dir", str(tmp_path))
        assert second.returncode == 1
        assert "Another Arena server" in second.stderr
    finally:
        server.stop()


def test_sigterm_lets_requests_in_flight_finish(tmp_path: Path) -> None:
    """Sign-ups already being answered (hashing, writing) when SIGTERM arrives get
    their 201, not a 500 from a database client closed under them."""
    server = ServerProcess(tmp_path, "--bcrypt-rounds", "12").start()
    names = [f"late{i}" for i in range(6)]
    with ThreadPoolExecutor(len(names)) as pool:
        answers = [pool.submit(server.request, "POST", "/api/users/sign_up/",
                               {"username": name, "password": PASSWORD}) for name in names]
        time.sleep(0.3)  # accepted and hashing: 6 hashes of cost 12 on 2 threads take ~1 s
        assert server.stop(signal.SIGTERM) == 0
        statuses = [answer.result()[0] for answer in answers]
    assert statuses == [201] * len(names)

    again = ServerProcess(tmp_path).start()
    try:
        assert [again.request("GET", f"/api/users/{name}/")[0] for name in names] == \
            [200] * len(names)
    finally:
        again.stop()


def test_sigterm_stops_the_server_even_with_a_request_stuck_on_the_database(
        tmp_path: Path) -> None:
    """A database that stops answering must not keep the server from stopping."""
    server = ServerProcess(tmp_path, "--shutdown-timeout", "1").start()
    db_pid = database_pid(tmp_path)
    os.kill(db_pid, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(1) as pool:
            stuck = pool.submit(server.request, "POST", "/api/users/sign_up/",
                                {"username": "frozen", "password": PASSWORD})
            time.sleep(0.5)  # the sign-up now waits on the stopped database
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            time.sleep(4)  # past the drain and the bounded close steps
            os.kill(db_pid, signal.SIGCONT)  # so the database can take its own SIGTERM
            assert server.process.wait(30) == 0
            with contextlib.suppress(Exception):
                stuck.result(5)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(db_pid, signal.SIGCONT)
        server.stop(signal.SIGKILL)
    assert wait_until_dead(db_pid)
