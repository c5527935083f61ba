"""Seats, pure: their names, a document from before seats, and how the
players who went out are placed."""

from __future__ import annotations

from actors.games import seat_names
from actors.match.document import all_ready, seated, still_in, stored
from actors.match.ending import with_the_out


def test_seats_are_host_challenger_then_numbered() -> None:
    assert seat_names(2) == ("host", "challenger")
    assert seat_names(4) == ("host", "challenger", "p3", "p4")
    assert seat_names(16)[-1] == "p16" and len(seat_names(16)) == 16


def test_a_document_stored_before_seats_reads_as_a_match_of_two() -> None:
    legacy = {"_id": "m7", "id": 7, "game": "rps", "host_id": "h", "challenger_id": "c",
              "is_challenger_ready": True, "spectator_ids": [], "is_started": False}
    doc = stored(legacy)
    assert (doc["seat_ids"], doc["ready"]) == (["h", "c"], [True, True])
    assert "challenger_id" not in doc and all_ready(doc)
    waiting = stored({**legacy, "challenger_id": None, "is_challenger_ready": False})
    assert waiting["seat_ids"] == ["h", None] and not all_ready(waiting)
    assert seated(waiting) == {"host": "h"}


def test_the_players_out_place_after_those_in_the_last_out_highest() -> None:
    standings = [["p3"], ["host", "challenger"], ["p4"]]
    assert with_the_out(standings, []) == standings
    assert with_the_out(standings, ["p3", "challenger"]) == [
        ["host"], ["p4"], ["challenger"], ["p3"]]
    doc = stored({"_id": "m1", "id": 1, "host_id": "a", "seat_ids": ["a", "b", "c"],
                  "ready": [True, True, True], "out": ["challenger"], "spectator_ids": []})
    assert still_in(doc) == {"host": "a", "p3": "c"}
