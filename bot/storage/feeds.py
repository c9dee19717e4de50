"""Feeds and their scheduling state (miniflux-style: the scheduler only ticks, the DB knows
what is due)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.model import FeedSpec
from bot.storage.db import Database
from bot.storage.records import FeedState

_ERROR_TEXT_MAX = 300


class Feeds:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def sync(self, specs: Sequence[FeedSpec], now: float) -> None:
        """Make the table match feeds.yaml: add new feeds (due now), update changed ones,
        disable the ones no longer listed (their entries stay, so nothing is re-alerted)."""
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE feeds SET enabled = 0")
            for spec in specs:
                await tx.execute(
                    """
                    INSERT INTO feeds (name, url, lang, interval, next_check_at)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET
                        enabled = 1,
                        lang = excluded.lang,
                        interval = excluded.interval,
                        -- a new address starts afresh: old validators mean nothing there
                        etag = CASE WHEN url = excluded.url THEN etag END,
                        last_modified = CASE WHEN url = excluded.url THEN last_modified END,
                        next_check_at = CASE WHEN url = excluded.url
                                        THEN MIN(next_check_at, ? + excluded.interval)
                                        ELSE ? END,
                        url = excluded.url
                    """,
                    (spec.name, spec.url, spec.lang, spec.interval, now, now, now),
                )

    async def due(self, now: float) -> list[FeedState]:
        rows = await self._db.fetchall(
            "SELECT * FROM feeds WHERE enabled = 1 AND next_check_at <= ? ORDER BY next_check_at",
            (now,),
        )
        return [FeedState.from_row(r) for r in rows]

    async def all(self) -> list[FeedState]:
        rows = await self._db.fetchall("SELECT * FROM feeds WHERE enabled = 1 ORDER BY name")
        return [FeedState.from_row(r) for r in rows]

    async def record_success(
        self,
        feed_id: int,
        *,
        now: float,
        next_check_at: float,
        etag: str | None,
        last_modified: str | None,
    ) -> None:
        await self._db.execute(
            """
            UPDATE feeds SET etag = ?, last_modified = ?, next_check_at = ?, error_count = 0,
                             last_error = NULL, last_success_at = ?
            WHERE id = ?
            """,
            (etag, last_modified, next_check_at, now, feed_id),
        )

    async def record_not_modified(self, feed_id: int, *, now: float, next_check_at: float) -> None:
        await self._db.execute(
            """
            UPDATE feeds SET next_check_at = ?, error_count = 0, last_error = NULL,
                             last_success_at = ?
            WHERE id = ?
            """,
            (next_check_at, now, feed_id),
        )

    async def record_error(
        self, feed_id: int, error: str, *, now: float, next_check_at: float
    ) -> None:
        await self._db.execute(
            """
            UPDATE feeds SET next_check_at = ?, error_count = error_count + 1,
                             last_error = ?, last_error_at = ?
            WHERE id = ?
            """,
            (next_check_at, error[:_ERROR_TEXT_MAX], now, feed_id),
        )
