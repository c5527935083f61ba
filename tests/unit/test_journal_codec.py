"""The journal's record codec, pure: records in, batches out, the newest kept."""

from __future__ import annotations

import bson

from store.journal import encode_record, fold, pack, unpack


def match(match_id: int, seq: int, **state: object) -> dict:
    return {"_id": str(match_id), "id": match_id, "seq": seq, "state": dict(state)}


def test_a_batch_gives_back_its_records_in_order() -> None:
    records = [encode_record(match(1, n, round=n)) for n in range(1, 6)]
    batch = pack(records)
    assert isinstance(batch["z"], bytes) and len(batch["z"]) < sum(map(len, records))
    decoded = unpack(batch)
    assert [r["seq"] for r in decoded] == [1, 2, 3, 4, 5]
    assert decoded[2]["doc"] == match(1, 3, round=3) and decoded[2]["m"] == 1


def test_a_record_is_a_copy_of_the_state_at_append_time() -> None:
    doc = match(7, 1, board=["h"])
    record = encode_record(doc)
    doc["state"]["board"].append("c")
    assert unpack(pack([record]))[0]["doc"]["state"]["board"] == ["h"]


def test_batches_from_before_compression_still_read() -> None:
    records = [encode_record(match(2, 1)), encode_record(match(3, 4))]
    assert [r["m"] for r in unpack({"records": b"".join(records)})] == [2, 3]


def test_the_newest_state_wins_and_a_later_record_breaks_a_tie() -> None:
    newest: dict = {}
    fold(newest, unpack(pack([encode_record(match(1, 2, v="a")),
                              encode_record(match(2, 1, v="x")),
                              encode_record(match(1, 1, v="old"))])))
    assert newest[1]["state"] == {"v": "a"} and newest[2]["state"] == {"v": "x"}
    # the same seq again (an append whose reply was lost): the later one is what clients saw
    fold(newest, unpack(pack([encode_record(match(1, 2, v="b"))])))
    assert newest[1]["state"] == {"v": "b"}
    assert bson.decode(encode_record(match(5, 9)))["seq"] == 9
