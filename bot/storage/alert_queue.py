"""The deliveries that storing a report queues, in `bot.storage.stories`' transaction: an alert
(or a digest item) per chat that should get the story, an edit per chat that has its alert,
and whether a report (`fresh_news`) or its story (`recent_story`) is news to push at all.
See that module's docstring for when each is queued.
"""

from __future__ import annotations

import json

from bot.chat_settings import next_digest_at
from bot.storage import story_rows
from bot.storage.db import SyncTransaction
from bot.storage.records import FeedState, Incoming


def queue_alerts(
    tx: SyncTransaction, story_id: int, item: Incoming, now: float, *, subscribers: bool = True
) -> int:
    """One delivery per subscribed chat whose filter matches (relevant stories; not when
    `subscribers` is False) and per chat that watches a name the entry mentions: an alert due
    now, or a digest item due at the chat's next digest time (`due_at`: when the sender's give-up
    window starts, see `bot.storage.migrations` 12). A chat that has the story's
    alert already keeps the one it has; one whose alert was dropped when it was to go (not
    wanted then: its filter, its watches) is queued again: it was never told."""
    countries = item.verdict.countries
    country_match = " OR ".join("instr(countries, ?) > 0" for _ in countries) or "0"
    chats = tx.fetchall(
        f"""
        SELECT chat_id, mode, digest_hour, utc_offset, last_digest_at FROM chats
        WHERE active = 1 AND (
            (? AND subscribed = 1 AND (countries = '' OR {country_match}))
            OR chat_id IN (SELECT value FROM json_each(?)))
        """,
        (
            int(item.verdict.relevant and subscribers),
            *(f" {c} " for c in countries),
            json.dumps(sorted(item.watchers)),
        ),
    )
    before = tx.total_changes()
    # One row per (chat, story, kind) is the table's; a chat that had the story's alert and
    # has since switched to a digest (or the reverse) must not get it as the other kind too.
    tx.executemany(
        """INSERT INTO deliveries (chat_id, story_id, kind, next_attempt_at, due_at, created_at)
           SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (
               SELECT 1 FROM deliveries WHERE chat_id = ?1 AND story_id = ?2
                 AND kind IN ('alert', 'digest') AND state != 'dropped')
           ON CONFLICT (chat_id, story_id, kind) DO UPDATE SET
               state = 'pending', attempts = 0, last_error = NULL, plain = 0, sent_at = NULL,
               message_id = NULL, next_attempt_at = excluded.next_attempt_at,
               due_at = excluded.due_at, created_at = excluded.created_at
           WHERE deliveries.state = 'dropped'""",
        (
            (c["chat_id"], story_id, "alert" if c["mode"] == "instant" else "digest", due, due, now)
            for c in chats
            for due in [
                next_digest_at(
                    c["mode"], c["digest_hour"], c["utc_offset"], now, c["last_digest_at"]
                )
            ]
        ),
    )
    return tx.total_changes() - before


def queue_edits(tx: SyncTransaction, story_id: int, now: float) -> int:
    """Each chat that has the story's alert gets its alert edited to list the new outlet; an
    edit already queued or done is re-armed (one row per chat and story). Only a chat that
    still wants alerts: an active one that is subscribed or watches something (`/unsubscribe`
    keeps the sent alerts, and editing them would keep writing to a chat that said stop; which
    watch brought the alert is not stored, so any watch counts). A re-armed edit is a new
    edit: it goes as the card again, even if Telegram rejected the last one's (`plain`). An
    alert still queued needs none: it is drawn when it goes, with the new outlet in it (an
    edit of it cost each chat a request Telegram answers "message is not modified")."""
    return tx.execute(
        """
        INSERT INTO deliveries (chat_id, story_id, kind, next_attempt_at, due_at, created_at)
        SELECT d.chat_id, d.story_id, 'edit', ?, ?, ? FROM deliveries d
        JOIN chats c ON c.chat_id = d.chat_id
        WHERE d.story_id = ? AND d.kind = 'alert' AND d.state IN ('sending', 'sent')
          AND c.active = 1
          AND (c.subscribed = 1 OR EXISTS (SELECT 1 FROM watchlist w WHERE w.chat_id = c.chat_id))
        ON CONFLICT (chat_id, story_id, kind) DO UPDATE SET
            state = 'pending', attempts = 0, last_error = NULL, plain = 0,
            next_attempt_at = excluded.next_attempt_at, due_at = excluded.due_at,
            created_at = excluded.created_at
        """,
        (now, now, now, story_id),
    )


def recent_story(tx: SyncTransaction, story_id: int, now: float, alert_max_age: float) -> bool:
    """Whether the story itself (its head's date, or when it was stored) is fresh news."""
    at = tx.fetchone(
        "SELECT COALESCE(published_at, created_at) FROM stories WHERE id = ?", (story_id,)
    )
    return at is not None and now - at[0] <= alert_max_age


def fresh_news(item: Incoming, feed: FeedState, now: float, alert_max_age: float) -> bool:
    """Only fresh news is pushed; the backlog of a feed seen for the first time is only stored.
    An undated entry counts as fresh unless this is the feed's first successful poll."""
    published = story_rows.timestamp(item)
    if published is None:
        return feed.last_success_at is not None
    return now - published <= alert_max_age
