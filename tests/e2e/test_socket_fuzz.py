"""A stateful fuzzer for the match socket: random valid and invalid frames
from several sockets of several users against a live match, with the
protocol's invariants checked after every step.

Runs against a real server process (the sockets are plain synchronous
clients).  After each step every socket is read until it has the answer to
what it sent, then:

- no frame anywhere is an ``internal_error``;
- every socket's events are gap-free and in order from its snapshot;
- every socket saw the same event under the same ``seq`` (the viewer's
  ``state`` aside);
- the REST view of the match agrees with what the events said (who is the
  challenger, who watches, started, ready, score), and a match that ended
  or was cancelled released everyone in it.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.support.client import PASSWORD
from tests.support.process import ServerProcess

USERS = ("host", "alice", "bob")
READ_TIMEOUT = 2.0

VALID = st.one_of(
    st.fixed_dictionaries({"type": st.just("join"),
                           "role": st.sampled_from(["challenger", "spectator"])}),
    st.sampled_from([{"type": t} for t in ("ready", "unready", "start", "leave", "ping",
                                             "resign")]),
    st.fixed_dictionaries({"type": st.just("move"), "move": st.fixed_dictionaries(
        {"throw": st.sampled_from(["rock", "paper", "scissors"])})}),
)
JUNK_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=6)
INVALID = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["join", "move", "dance", "auth", ""]),
                           "role": JUNK_VALUES, "move": JUNK_VALUES}),
    st.dictionaries(st.text(max_size=6), JUNK_VALUES, max_size=4),
)
RAW_JUNK = st.one_of(st.text(max_size=40), st.just("[1, 2]"), st.just('"text"'),
                     st.just("{"), st.just("null"))


class Server:
    """One server process and its users for the whole module."""

    def __init__(self, data_dir: Path) -> None:
        self.process = ServerProcess(data_dir, "--rate-limit", "1000", "--rate-burst",
                                     "1000").start()
        self.tokens: dict[str, str] = {}
        for name in USERS:
            self.call("POST", "/api/users/sign_up/", {"username": name, "password": PASSWORD})
            self.tokens[name] = self.call("POST", "/api/token/",
                                          {"username": name, "password": PASSWORD})[1]["token"]

    def call(self, method: str, path: str, body: Any = None,
             user: str | None = None) -> tuple[int, Any]:
        return self.process.request(method, path, body, self.tokens.get(user or "", None))

    def socket(self, match_id: int, user: str) -> ClientConnection:
        url = self.process.url.replace("http://", "ws://") + f"/ws/matches/{match_id}"
        return connect(url, legacy=True,  # a plain connection; the machine closes it
                       additional_headers={"Authorization": f"Token {self.tokens[user]}"})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    running = Server(tmp_path_factory.mktemp("fuzz"))
    yield running
    running.process.stop()


class Peer:
    """A socket and everything it was told, checked as it arrives."""

    def __init__(self, user: str, connection: ClientConnection) -> None:
        self.user = user
        self.connection = connection
        self.closed = False
        snapshot = self.receive()
        assert snapshot is not None and snapshot["type"] == "snapshot", snapshot
        self.last_seq = snapshot["seq"]
        self.events: dict[int, dict[str, Any]] = {}

    def receive(self, timeout: float = READ_TIMEOUT) -> dict[str, Any] | None:
        if self.closed:
            return None
        try:
            frame = json.loads(self.connection.recv(timeout=timeout))
        except ConnectionClosed:
            self.closed = True
            return None
        assert not (frame["type"] == "error" and frame["code"] == "internal_error"), frame
        if frame["type"] == "event":
            assert frame["seq"] == self.last_seq + 1, (self.user, frame, self.last_seq)
            self.last_seq = frame["seq"]
            self.events[frame["seq"]] = {k: v for k, v in frame.items() if k != "state"}
        return frame

    def exchange(self, text: str, frame_id: Any) -> None:
        """Send, then read until the reply (ack, error or pong) to ``frame_id``."""
        if self.closed:
            return
        try:
            self.connection.send(text)
        except ConnectionClosed:
            self.closed = True
            return
        while (frame := self.receive()) is not None:
            if frame["type"] in ("ack", "error", "pong") and frame.get("id") == frame_id:
                return

    def drain(self) -> None:
        while not self.closed:
            try:
                if self.receive(timeout=0.05) is None:
                    return
            except TimeoutError:
                return


class MatchMachine(RuleBasedStateMachine):
    server: Server

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(1)
        self.match_id = 0
        self.peers: dict[str, Peer] = {}
        self.over = False
        #: Every event any socket saw, by seq (sockets come and go; the log stays).
        self.log: dict[int, dict[str, Any]] = {}

    @initialize()
    def open_match(self) -> None:
        for user in USERS:  # whatever an earlier example left, nobody is in a match
            _, me = self.server.call("GET", "/api/users/me/", user=user)
            if me.get("ongoing_match"):
                leaver = Peer(user, self.server.socket(me["ongoing_match"], user))
                leaver.exchange(json.dumps({"type": "leave", "id": 0}), 0)
                leaver.connection.close()
            deadline = time.monotonic() + 5
            while self.server.call("GET", "/api/users/me/", user=user)[1]["ongoing_match"]:
                assert time.monotonic() < deadline, f"{user} is never released"
                time.sleep(0.02)
        status, match = self.server.call("POST", "/api/ongoing_matches/", {}, user="host")
        assert status == 201, match
        self.match_id = match["id"]
        self.peers = {user: Peer(user, self.server.socket(self.match_id, user))
                      for user in USERS}

    def send(self, user: str, frame: dict[str, Any] | None, raw: str | None = None) -> None:
        peer = self.peers[user]
        frame_id = next(self.ids)
        text = raw if raw is not None else json.dumps({**(frame or {}), "id": frame_id})
        reply_id = frame_id if raw is None else None
        if raw is None and not isinstance((frame or {}).get("type"), str):
            reply_id = frame_id  # a bad_message error still answers the id
        peer.exchange(text, reply_id)
        for other in self.peers.values():
            other.drain()
        self.record()

    def record(self) -> None:
        """Add what the sockets saw to the log, checking they agree."""
        for peer in self.peers.values():
            for seq, event in peer.events.items():
                assert self.log.setdefault(seq, event) == event, (seq, self.log[seq], event)

    @rule(user=st.sampled_from(USERS), frame=VALID)
    def valid_frame(self, user: str, frame: dict[str, Any]) -> None:
        self.send(user, frame)

    @rule(user=st.sampled_from(USERS), frame=INVALID)
    def invalid_frame(self, user: str, frame: dict[str, Any]) -> None:
        self.send(user, frame)

    @rule(user=st.sampled_from(USERS), raw=RAW_JUNK)
    def raw_junk(self, user: str, raw: str) -> None:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return  # a dict is a frame: the other rules cover those
        self.send(user, None, raw)

    @rule(user=st.sampled_from(USERS))
    def reconnect(self, user: str) -> None:
        peer = self.peers[user]
        peer.connection.close()
        peer.drain()
        self.record()
        if self.over:
            return
        self.peers[user] = Peer(user, self.server.socket(self.match_id, user))
        for other in self.peers.values():
            other.drain()
        self.record()

    @invariant()
    def no_event_was_missed(self) -> None:
        assert sorted(self.log) == list(range(1, len(self.log) + 1))

    @invariant()
    def rest_agrees_with_the_events(self) -> None:
        kinds = {event["kind"] for event in self.log.values()}
        status, match = self.server.call("GET", f"/api/ongoing_matches/{self.match_id}/")
        if kinds & {"ended", "cancelled"}:
            self.over = True
            assert status == 404
            for user in USERS:
                _, view = self.server.call("GET", f"/api/users/{user}/")
                assert view["ongoing_match"] is None, view
            return
        assert status == 200, match
        members: dict[str, str] = {"host": "host"}
        ready = started = False
        score = {"host": 0, "challenger": 0}
        for _, event in sorted(self.log.items()):
            name = (event.get("user") or {}).get("username")
            if event["kind"] == "joined":
                members[name] = event["role"]
                ready = ready if event["role"] == "spectator" else False
            elif event["kind"] == "left":
                members.pop(name, None)
                ready = ready if event["role"] == "spectator" else False
            elif event["kind"] in ("ready", "unready"):
                ready = event["kind"] == "ready"
            elif event["kind"] == "started":
                started = True
            elif event["kind"] == "round_over":
                score = event["score"]
        challenger = match["challenger"]["username"] if match["challenger"] else None
        assert challenger == next((u for u, r in members.items() if r == "challenger"),
                                  None), (match, members)
        assert sorted(s["username"] for s in match["spectators"]) == sorted(
            u for u, r in members.items() if r == "spectator")
        assert match["is_started"] == started
        assert match["is_challenger_ready"] == ready
        assert match["score"] == score
        for user in USERS:  # each user's own view says the same
            _, view = self.server.call("GET", f"/api/users/{user}/")
            role = members.get(user)
            assert view["ongoing_match"] == (self.match_id if role else None), (user, view)

    def teardown(self) -> None:
        for peer in self.peers.values():
            peer.connection.close()


def test_random_frames_from_several_sockets_keep_the_protocol(server: Server) -> None:
    MatchMachine.server = server
    run_state_machine_as_test(MatchMachine, settings=settings(
        max_examples=10, stateful_step_count=30, deadline=None,
        suppress_health_check=list(HealthCheck)))
