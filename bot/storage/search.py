"""Full-text search over stories (SQLite FTS5 table `search_fts`, one row per story).

Ranking: bm25 (title weighted 4, lead and source titles 1, word forms 1, tags 0.2) blended with
recency: a story from today gains up to RECENCY_WEIGHT, one a month old half of it, so
relevance decides between texts and recency between equals. Each story is one row, so it shows
once however many sources it has.

Speed: the match is resolved inside FTS5 (filters are tags there too), and only the newest
RANK_WINDOW matches by story id (ids grow with time) are ranked, so a query over a word found in
half a million stories costs the same as a rare one. Queries without words are simply newest
first. `timeline()` (for /case) is the exception: oldest first over every match, for names.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.search import SearchQuery
from bot.storage.db import Database
from bot.storage.records import Story
from bot.storage.stories import STORY_COLUMNS

RECENCY_WEIGHT = 2.0
RECENCY_SCALE = 30 * 86400.0
RANK_WINDOW = 1000
TIMELINE_MAX = 200
_DAY = "COALESCE(s.published_at, s.created_at)"
# Column weights: title, body (lead and source titles), outlets, terms (forms), tags.
_BM25 = "bm25(search_fts, 4.0, 1.0, 0.0, 1.0, 0.2)"
_NO_LOW, _NO_HIGH = -1e18, 1e18


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One outlet's report of a story, as cited."""

    story_id: int
    outlet: str
    title: str | None
    link: str | None
    published_at: datetime | None


class Search:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def stories(
        self, query: SearchQuery, *, limit: int, offset: int = 0, now: float | None = None
    ) -> list[Story]:
        """One page of results, best first (or newest first when the query has no words)."""
        now = time.time() if now is None else now
        if query.ranked:
            order = f"{_BM25} - ? / (1.0 + MAX(0.0, ? - {_DAY}) / ?)"
            weights: tuple[float, ...] = (RECENCY_WEIGHT, now, RECENCY_SCALE)
        else:
            order, weights = f"-{_DAY}", ()
        rows = await self._db.fetchall(
            f"""
            WITH hits AS MATERIALIZED (
                SELECT search_fts.rowid AS id, {order} AS rank
                FROM search_fts JOIN stories s ON s.id = search_fts.rowid
                WHERE search_fts MATCH ? AND {_DAY} BETWEEN ? AND ?
                ORDER BY search_fts.rowid DESC LIMIT ?
            )
            SELECT {STORY_COLUMNS} FROM hits JOIN stories s ON s.id = hits.id
            ORDER BY hits.rank, s.id DESC LIMIT ? OFFSET ?
            """,
            (*weights, query.match, *_bounds(query), RANK_WINDOW, limit, offset),
        )
        return [Story.from_row(r) for r in rows]

    async def timeline(self, query: SearchQuery, *, limit: int = TIMELINE_MAX) -> list[Story]:
        """Every matching story, oldest first (a person's case from detention to appeal)."""
        rows = await self._db.fetchall(
            f"""
            SELECT {STORY_COLUMNS}
            FROM search_fts JOIN stories s ON s.id = search_fts.rowid
            WHERE search_fts MATCH ? AND {_DAY} BETWEEN ? AND ?
            ORDER BY {_DAY}, s.id LIMIT ?
            """,
            (query.match, *_bounds(query), limit),
        )
        return [Story.from_row(r) for r in rows]

    async def sources(self, story_ids: Sequence[int]) -> list[SourceRow]:
        """Every source of these stories, oldest first within each story."""
        if not story_ids:
            return []
        marks = ",".join("?" for _ in story_ids)
        rows = await self._db.fetchall(
            f"""
            SELECT e.story_id, f.name, e.title, e.link,
                   COALESCE(e.published_at, e.seen_at) AS day
            FROM entries e JOIN feeds f ON f.id = e.feed_id
            WHERE e.story_id IN ({marks})
            ORDER BY e.story_id, day, e.id
            """,
            list(story_ids),
        )
        return [
            SourceRow(
                r["story_id"], r["name"], r["title"], r["link"],
                None if r["day"] is None else datetime.fromtimestamp(r["day"], UTC),
            )
            for r in rows
        ]  # fmt: skip


def _bounds(query: SearchQuery) -> tuple[float, float]:
    low = _NO_LOW if query.since is None else query.since
    high = _NO_HIGH if query.until is None else query.until
    return low, high
