"""Entries and stories: the one transaction that stores a fetch and queues its alerts.

`save()` is where "only what is new" is decided, by the database: an entry key already stored
for the feed is not new (an edit updates it); a canonical URL already stored through another
feed joins that story as one more source; so does a report that `bot.merge` matches to a
story found through the merge index (`story_index`: same text, or the same people, action and
country across outlets and languages). Anything else that is relevant becomes a story, and its
alert deliveries are queued in the same transaction, one per subscribed chat whose country
filter matches, unique per (chat, story).

When a story gains an outlet, every chat that has (or is about to get) its alert gets an
'edit' delivery, unique per (chat, story, kind): re-armed to pending when yet more outlets
report it, so the alert is edited in place to list them, never sent twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.merge import choose
from bot.storage import story_index
from bot.storage.db import Database, Row, Transaction
from bot.storage.records import FeedState, Incoming, Source, Story

STORY_COLUMNS = """
    s.id, s.title, s.summary, s.link, s.outlet, s.countries, s.action, s.reasons,
    COALESCE(s.published_at, s.created_at) AS published_at,
    (SELECT COUNT(DISTINCT e.feed_id) FROM entries e WHERE e.story_id = s.id) AS sources,
    (SELECT group_concat(o.name, char(31)) FROM
        (SELECT f.name FROM entries e JOIN feeds f ON f.id = e.feed_id
         WHERE e.story_id = s.id GROUP BY f.id ORDER BY MIN(e.id)) o) AS outlets
"""


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What one `save()` did: the new stories, and which of them were queued as alerts."""

    new_stories: tuple[Story, ...]
    alerted: frozenset[int]
    deliveries: int  # alerts and edits queued
    seen: int
    joined: int = 0  # entries that joined an existing story as a new outlet


class Stories:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(
        self, feed: FeedState, items: Sequence[Incoming], *, now: float, alert_max_age: float
    ) -> SaveResult:
        new_ids: list[int] = []
        alerted: set[int] = set()
        queued = joined = 0
        async with self._db.transaction() as tx:
            for item in items:
                stored = await _store_entry(tx, feed, item, now)
                if stored is None:
                    continue
                story_id, is_new = stored
                if not is_new:
                    joined += 1
                    queued += await _queue_edits(tx, story_id, now)
                    continue
                new_ids.append(story_id)
                if _alertable(item, feed, now, alert_max_age):
                    count = await _queue_alerts(tx, story_id, item.verdict.countries, now)
                    alerted.add(story_id)
                    queued += count
            rows = await _stories_by_id(tx, new_ids)
        return SaveResult(tuple(rows), frozenset(alerted), queued, len(items), joined)

    async def get(self, story_id: int) -> Story | None:
        row = await self._db.fetchone(
            f"SELECT {STORY_COLUMNS} FROM stories s WHERE s.id = ?", (story_id,)
        )
        return None if row is None else Story.from_row(row)

    async def recent(self, limit: int) -> list[Story]:
        rows = await self._db.fetchall(
            f"""SELECT {STORY_COLUMNS} FROM stories s
                ORDER BY COALESCE(s.published_at, s.created_at) DESC, s.id DESC LIMIT ?""",
            (limit,),
        )
        return [Story.from_row(r) for r in rows]

    async def sources(self, story_id: int) -> list[Source]:
        """Every report of the story, the first one first."""
        rows = await self._db.fetchall(
            """SELECT f.name AS outlet, e.title, e.link, e.lang, e.published_at
               FROM entries e JOIN feeds f ON f.id = e.feed_id
               WHERE e.story_id = ? ORDER BY e.id""",
            (story_id,),
        )
        return [Source.from_row(r) for r in rows]


async def _store_entry(
    tx: Transaction, feed: FeedState, item: Incoming, now: float
) -> tuple[int, bool] | None:
    """Store one entry. Returns (story id, True) for a new story, (story id, False) when the
    entry brought an existing story a new outlet, None when nothing is new."""
    old = await tx.fetchone(
        "SELECT id, content_hash, story_id FROM entries WHERE feed_id = ? AND entry_key = ?",
        (feed.id, item.key),
    )
    if old is not None:
        if old["content_hash"] != item.content_hash:
            await _apply_edit(tx, old, item)
        return None
    joined = await _story_of_url(tx, item.canonical_url)
    if joined is None:
        joined = await _matching_story(tx, item, now)
    story_id = joined
    if story_id is None and item.verdict.relevant:
        story_id = await _insert_story(tx, feed, item, now)
    new_outlet = joined is not None and not await _feed_in_story(tx, feed.id, joined)
    if story_id is not None and item.fingerprint is not None:
        await story_index.add(tx, story_id, item.fingerprint, new_story=joined is None)
    await tx.execute(
        """
        INSERT INTO entries (feed_id, entry_key, canonical_url, content_hash, story_id,
                             title, link, lang, published_at, seen_at, minhash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            feed.id,
            item.key,
            item.canonical_url,
            item.content_hash,
            story_id,
            item.entry.title if story_id is not None else None,
            item.entry.link if story_id is not None else None,
            item.entry.lang or feed.lang,
            _timestamp(item),
            now,
            item.fingerprint.pack() if story_id is not None and item.fingerprint else None,
        ),
    )
    if story_id is None or (joined is not None and not new_outlet):
        return None
    return story_id, joined is None


async def _matching_story(tx: Transaction, item: Incoming, now: float) -> int | None:
    """A stored story this report is another account of (see `bot.merge`), if any."""
    fingerprint = item.fingerprint
    if fingerprint is None:
        return None
    when = _timestamp(item) or now
    found = await story_index.candidates(tx, fingerprint, when)
    report = story_index.features_of(
        when, " ".join(fingerprint.names), " ".join(item.verdict.countries), item.verdict.action
    )
    match = choose(report, fingerprint.signature, found)
    return None if match is None else match.story_id


async def _feed_in_story(tx: Transaction, feed_id: int, story_id: int) -> bool:
    row = await tx.fetchone(
        "SELECT 1 FROM entries WHERE feed_id = ? AND story_id = ? LIMIT 1", (feed_id, story_id)
    )
    return row is not None


async def _apply_edit(tx: Transaction, old: Row, item: Incoming) -> None:
    """An edited entry updates its row and, when it is the story's only source, the story."""
    story_id = old["story_id"]
    fingerprint = item.fingerprint
    await tx.execute(
        "UPDATE entries SET content_hash = ?, title = CASE WHEN story_id IS NULL THEN NULL"
        " ELSE ? END, minhash = CASE WHEN story_id IS NULL THEN NULL ELSE ? END WHERE id = ?",
        (item.content_hash, item.entry.title, fingerprint and fingerprint.pack(), old["id"]),
    )
    if story_id is None:
        return
    if fingerprint is not None:
        await story_index.add(tx, story_id, fingerprint)
    sources = await tx.fetchone("SELECT COUNT(*) FROM entries WHERE story_id = ?", (story_id,))
    if sources is not None and sources[0] == 1:
        await tx.execute(
            "UPDATE stories SET title = ?, summary = ? WHERE id = ?",
            (item.entry.title, item.entry.summary, story_id),
        )
        await tx.execute(
            "UPDATE stories_fts SET title = ?, summary = ? WHERE rowid = ?",
            (item.entry.title, item.entry.summary, story_id),
        )


async def _story_of_url(tx: Transaction, canonical_url: str | None) -> int | None:
    if canonical_url is None:
        return None
    row = await tx.fetchone(
        "SELECT story_id FROM entries WHERE canonical_url = ? AND story_id IS NOT NULL LIMIT 1",
        (canonical_url,),
    )
    return None if row is None else int(row["story_id"])


async def _insert_story(tx: Transaction, feed: FeedState, item: Incoming, now: float) -> int:
    entry, verdict = item.entry, item.verdict
    countries = f" {' '.join(verdict.countries)} " if verdict.countries else ""
    story_id = await tx.insert(
        """
        INSERT INTO stories (created_at, published_at, title, summary, link, outlet,
                             countries, action, score, reasons, names)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            now,
            _timestamp(item),
            entry.title,
            entry.summary,
            entry.link,
            feed.name,
            countries,
            verdict.action,
            verdict.score,
            json.dumps(list(verdict.reasons), ensure_ascii=False),
            story_index.names_column(item.fingerprint.names if item.fingerprint else frozenset()),
        ),
    )
    await tx.execute(
        "INSERT INTO stories_fts (rowid, title, summary, outlet) VALUES (?, ?, ?, ?)",
        (story_id, entry.title, entry.summary, feed.name),
    )
    return story_id


def _alertable(item: Incoming, feed: FeedState, now: float, alert_max_age: float) -> bool:
    """Only fresh news is pushed; the backlog of a feed seen for the first time is only stored.
    An undated entry counts as fresh unless this is the feed's first successful poll."""
    published = _timestamp(item)
    if published is None:
        return feed.last_success_at is not None
    return now - published <= alert_max_age


async def _queue_alerts(
    tx: Transaction, story_id: int, countries: Sequence[str], now: float
) -> int:
    country_match = " OR ".join("instr(countries, ?) > 0" for _ in countries) or "0"
    return await tx.execute(
        f"""
        INSERT OR IGNORE INTO deliveries (chat_id, story_id, kind, next_attempt_at, created_at)
        SELECT chat_id, ?, 'alert', ?, ? FROM chats
        WHERE subscribed = 1 AND active = 1 AND (countries = '' OR {country_match})
        """,
        (story_id, now, now, *(f" {c} " for c in countries)),
    )


async def _queue_edits(tx: Transaction, story_id: int, now: float) -> int:
    """Each chat that has the story's alert gets its alert edited to list the new outlet; an
    edit already queued or done is re-armed (one row per chat and story)."""
    return await tx.execute(
        """
        INSERT INTO deliveries (chat_id, story_id, kind, next_attempt_at, created_at)
        SELECT chat_id, story_id, 'edit', ?, ? FROM deliveries
        WHERE story_id = ? AND kind = 'alert' AND state IN ('pending', 'sending', 'sent')
        ON CONFLICT (chat_id, story_id, kind) DO UPDATE SET
            state = 'pending', attempts = 0, last_error = NULL,
            next_attempt_at = excluded.next_attempt_at, created_at = excluded.created_at
        """,
        (now, now, story_id),
    )


async def _stories_by_id(tx: Transaction, ids: Sequence[int]) -> list[Story]:
    if not ids:
        return []
    marks = ",".join("?" for _ in ids)
    rows = await tx.fetchall(
        f"SELECT {STORY_COLUMNS} FROM stories s WHERE s.id IN ({marks}) ORDER BY s.id",
        ids,
    )
    return [Story.from_row(r) for r in rows]


def _timestamp(item: Incoming) -> float | None:
    published = item.entry.published
    return None if published is None else published.timestamp()
