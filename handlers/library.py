"""The game library: per-user flags and ratings of titles known by IGDB id
(``store.library`` says what a title is)."""

from __future__ import annotations

from typing import Any

from handlers import errors
from handlers.base import BaseHandler
from handlers.openapi import BOOLEAN, PAGING, STRING, operation, optional, trimmed
from handlers.request import SAFE_INTEGER
from store.library import FLAGS, Title

TAG = "library"
# The action in the path, and the flag it sets.
ACTIONS = {"log": "played", "like": "liked", "backlog": "backlog", "wishlist": "wishlist"}
NAME_MAX = 255
IGDB = {"type": "integer", "minimum": 1, "maximum": SAFE_INTEGER}


class LibraryHandler(BaseHandler):
    """Every library endpoint needs a user; the title comes by IGDB id."""

    path_schemas = {"flag": {"type": "string", "enum": list(FLAGS)},
                    "action": {"type": "string", "enum": list(ACTIONS)}}

    async def prepare(self) -> None:
        await super().prepare()
        self.require_user()

    @property
    def user_id(self) -> str:
        assert self.user is not None
        return str(self.user["_id"])

    def igdb_from_query(self, name: str = "igdb") -> int:
        return self.query.required_integer(name, minimum=1)

    def igdb_from_body(self, name: str = "igdb") -> int:
        value = self.body.integer(name, minimum=1)
        assert value is not None
        return value


class ActionsHandler(LibraryHandler):
    openapi = {"get": operation(
        "The caller's four flags for a game", tag=TAG, auth=True,
        query={"igdb": IGDB, "name": STRING}, required_query=("igdb",),
    )}

    async def get(self) -> None:
        title = await self.ctx.store.titles.by_igdb(self.igdb_from_query())
        self.send(await self.ctx.store.library.flags_of(self.user_id, title))


class FlagHandler(LibraryHandler):
    openapi = {"post": operation(
        "Toggle a flag (log: played, like: liked, backlog, wishlist), or set it with value",
        tag=TAG, auth=True,
        body={"igdb": IGDB, "name": trimmed(NAME_MAX), "value": optional(BOOLEAN)},
        required=("igdb", "name"), responses=(200, 404),
    )}

    async def post(self, action: str) -> None:
        flag = ACTIONS.get(action)
        if flag is None:
            raise errors.not_found()
        igdb = self.igdb_from_body()
        name = self.body.string("name", max_length=NAME_MAX, strip=True)
        value = self.body.boolean("value")
        store = self.ctx.store
        title = await store.titles.get_or_create(igdb, name)
        now_set, changed = await store.library.set_flag(self.user_id, title, flag, value)
        if changed:
            await store.titles.count(title, {flag: 1 if now_set else -1})
        self.send({"game": title["id"], "user": self.user_id, "action": action, "value": now_set})


class RatingsHandler(LibraryHandler):
    openapi = {
        "post": operation("Rate a game from 1 to 10 (again: replace)", tag=TAG, auth=True,
                          body={"game": IGDB, "rating": {"type": "integer", "minimum": 1,
                                                          "maximum": 10},
                                "name": optional(trimmed(NAME_MAX, blank=True))},
                          required=("game", "rating")),
        "get": operation("The caller's rating of a game", tag=TAG, auth=True,
                         query={"game": IGDB}, required_query=("game",)),
    }

    async def post(self) -> None:
        igdb = self.igdb_from_body("game")
        rating = self.body.integer("rating", minimum=1, maximum=10)
        assert rating is not None
        name = self.body.string("name", required=False, max_length=NAME_MAX, strip=True) or None
        store = self.ctx.store
        title = await store.titles.get_or_create(igdb, name)
        before = await store.library.rate(self.user_id, title, rating)
        await store.titles.count(title, {"ratings": 1 if before is None else 0,
                                       "rating_sum": rating - (before or 0)})
        self.send({"game": title["id"], "user": self.user_id, "rating": rating})

    async def get(self) -> None:
        igdb = self.igdb_from_query("game")
        title = await self.ctx.store.titles.by_igdb(igdb)
        rating = await self.ctx.store.library.rating_of(self.user_id, igdb) if title else None
        self.send({"game": title["id"] if title else None, "user": self.user_id, "rating": rating})


class ListHandler(LibraryHandler):
    openapi = {"get": operation(
        "The caller's games with a flag (played, liked, backlog, wishlist)", tag=TAG,
        auth=True, query=PAGING, responses=(200, 404),
    )}

    async def get(self, flag: str) -> None:
        if flag not in FLAGS:
            raise errors.not_found()
        limit, offset = self.query.page()
        entries, total = await self.ctx.store.library.page(self.user_id, flag, limit, offset)
        self.send_page(
            [{"game": e["game_id"], "igdb": e["igdb"], "name": e["name"]} for e in entries], total
        )


class StatsHandler(LibraryHandler):
    openapi = {"get": operation(
        "How many users flagged and rated a title, and its average rating", tag=TAG, auth=True,
        query={"igdb": IGDB}, required_query=("igdb",),
    )}

    async def get(self) -> None:
        igdb = self.igdb_from_query()
        title = await self.ctx.store.titles.by_igdb(igdb)
        self.send(stats_view(igdb, title))


def stats_view(igdb: int, title: Title | None) -> dict[str, Any]:
    if title is None:
        return {"igdb": igdb, "name": None, **dict.fromkeys(FLAGS, 0), "ratings": 0,
                "rating_avg": None}
    ratings = title.get("ratings", 0)
    return {
        "igdb": igdb,
        "name": title.get("name"),
        **{flag: title.get(flag, 0) for flag in FLAGS},
        "ratings": ratings,
        "rating_avg": round(title["rating_sum"] / ratings, 2) if ratings else None,
    }
