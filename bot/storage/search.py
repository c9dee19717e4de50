"""Full-text search over stories (SQLite FTS5), best and newest first."""

from __future__ import annotations

import time

from bot.search import SearchQuery
from bot.storage.db import Database
from bot.storage.records import Story
from bot.storage.stories import STORY_COLUMNS

# bm25 is negative (lower is better); a story from today gains up to RECENCY_WEIGHT, one from a
# month ago half of it, so relevance decides between texts and recency between equals.
RECENCY_WEIGHT = 2.0
RECENCY_SCALE = 30 * 86400.0


class Search:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def stories(
        self, query: SearchQuery, *, limit: int, offset: int = 0, now: float | None = None
    ) -> list[Story]:
        now = time.time() if now is None else now
        rows = await self._db.fetchall(
            f"""
            SELECT {STORY_COLUMNS}
            FROM stories_fts f JOIN stories s ON s.id = f.rowid
            WHERE stories_fts MATCH ?
            ORDER BY bm25(stories_fts, 3.0, 1.0, 0.5)
                     - ? / (1.0 + MAX(0.0, ? - COALESCE(s.published_at, s.created_at)) / ?),
                     s.id DESC
            LIMIT ? OFFSET ?
            """,
            (query.match, RECENCY_WEIGHT, now, RECENCY_SCALE, limit, offset),
        )
        return [Story.from_row(r) for r in rows]
