"""The outbox: deliveries waiting to be sent, and the sender's bookkeeping.

States: pending -> sending -> sent, or back to pending with a later `next_attempt_at`, or failed
when it is given up. A delivery is marked `sending` (committed) before the request goes out; at
start-up any `sending` row is made pending again, so a crash loses nothing and can repeat at most
the one message that was in flight.

An 'edit' delivery carries the message id of the chat's sent alert for the story (None when
that alert was never sent): the message to edit in place.

Order and fairness: `due()` takes at most one delivery per chat, the oldest pending one (so each
chat gets its alerts in story order even when one of them waits for a retry), and serves the
chats whose head has waited longest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.storage.db import Database, Row, Transaction
from bot.storage.records import Chat, Delivery, Story
from bot.storage.stories import STORY_COLUMNS

_ERROR_TEXT_MAX = 300
# The chat's settings travel with each delivery (language, quiet hours, previews, mode).
_CHAT_COLUMNS = """
    c.subscribed AS c_subscribed, c.countries AS c_countries, c.active AS c_active,
    c.language AS c_language, c.mode AS c_mode, c.digest_hour AS c_digest_hour,
    c.utc_offset AS c_utc_offset, c.quiet_from AS c_quiet_from, c.quiet_to AS c_quiet_to,
    c.previews AS c_previews
"""


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    oldest_pending_at: float | None
    counters: dict[str, int]


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def release_in_flight(self) -> int:
        """After a crash or restart: what was being sent is pending again."""
        return await self._db.execute(
            "UPDATE deliveries SET state = 'pending' WHERE state = 'sending'"
        )

    async def due(self, now: float, limit: int) -> list[Delivery]:
        rows = await self._db.fetchall(
            f"""
            SELECT d.id AS delivery_id, d.chat_id, d.kind, d.attempts, d.created_at AS queued_at,
                   CASE WHEN d.kind = 'edit' THEN
                       (SELECT a.message_id FROM deliveries a
                        WHERE a.chat_id = d.chat_id AND a.story_id = d.story_id
                          AND a.kind = 'alert' AND a.state = 'sent')
                   ELSE d.message_id END AS message_id,
                   c.thread_id, {_CHAT_COLUMNS}, {STORY_COLUMNS}
            FROM deliveries d
            JOIN chats c ON c.chat_id = d.chat_id
            JOIN stories s ON s.id = d.story_id
            WHERE d.id IN (SELECT MIN(id) FROM deliveries WHERE state = 'pending'
                           GROUP BY chat_id)
              AND d.next_attempt_at <= ? AND c.active = 1
            ORDER BY d.next_attempt_at, d.id
            LIMIT ?
            """,
            (now, limit),
        )
        return [_delivery(r) for r in rows]

    async def digest_followers(self, head: Delivery, now: float, limit: int) -> list[Delivery]:
        """The chat's other digest items due now, after `head`, in order: with the head they
        make one digest message (the sender marks the ones that fit as sent with it)."""
        rows = await self._db.fetchall(
            f"""
            SELECT d.id AS delivery_id, d.chat_id, d.kind, d.attempts, d.created_at AS queued_at,
                   d.message_id, c.thread_id, {_CHAT_COLUMNS}, {STORY_COLUMNS}
            FROM deliveries d
            JOIN chats c ON c.chat_id = d.chat_id
            JOIN stories s ON s.id = d.story_id
            WHERE d.chat_id = ? AND d.kind = 'digest' AND d.state = 'pending'
              AND d.next_attempt_at <= ? AND d.id > ?
            ORDER BY d.id
            LIMIT ?
            """,
            (head.chat_id, now, head.id, limit),
        )
        return [_delivery(r) for r in rows]

    async def mark_sent_with(
        self, delivery_ids: Sequence[int], message_id: int, now: float
    ) -> None:
        """Digest items that went out in one message together with their (claimed) head."""
        if not delivery_ids:
            return
        marks = ",".join("?" for _ in delivery_ids)
        await self._db.execute(
            f"""UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?
                WHERE id IN ({marks}) AND state = 'pending'""",
            (message_id, now, *delivery_ids),
        )

    async def next_due_at(self) -> float | None:
        value = await self._db.scalar(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 'pending'"
        )
        return None if value is None else float(value)

    async def mark_sending(self, delivery_id: int) -> bool:
        """Claim a delivery; False if it is gone or no longer pending (unsubscribed meanwhile)."""
        changed = await self._db.execute(
            """UPDATE deliveries SET state = 'sending', attempts = attempts + 1
               WHERE id = ? AND state = 'pending'""",
            (delivery_id,),
        )
        return changed == 1

    async def mark_sent(self, delivery_id: int, message_id: int, now: float) -> None:
        """Done. Only a claimed row: an edit re-armed while in flight stays pending, so the
        outlets that arrived meanwhile get their edit too."""
        async with self._db.transaction() as tx:
            await tx.execute(
                """UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?,
                          last_error = NULL WHERE id = ? AND state = 'sending'""",
                (message_id, now, delivery_id),
            )
            await _bump(tx, "sent")

    async def retry_later(self, delivery_id: int, at: float, error: str, *, counter: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                """UPDATE deliveries SET state = 'pending', next_attempt_at = ?, last_error = ?
                   WHERE id = ? AND state = 'sending'""",
                (at, error[:_ERROR_TEXT_MAX], delivery_id),
            )
            await _bump(tx, counter)

    async def give_up(self, delivery_id: int, error: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE deliveries SET state = 'failed', last_error = ? WHERE id = ?",
                (error[:_ERROR_TEXT_MAX], delivery_id),
            )
            await _bump(tx, "failed")

    async def count(self, name: str, by: int = 1) -> None:
        async with self._db.transaction() as tx:
            await _bump(tx, name, by)

    async def stats(self) -> OutboxStats:
        row = await self._db.fetchone(
            "SELECT COUNT(*), MIN(created_at) FROM deliveries WHERE state IN ('pending', 'sending')"
        )
        counters = await self._db.fetchall("SELECT name, value FROM counters ORDER BY name")
        return OutboxStats(
            pending=0 if row is None else int(row[0]),
            oldest_pending_at=None if row is None else row[1],
            counters={r["name"]: int(r["value"]) for r in counters},
        )


def _delivery(r: Row) -> Delivery:
    chat = Chat(
        chat_id=r["chat_id"],
        subscribed=bool(r["c_subscribed"]),
        countries=tuple(r["c_countries"].split()),
        thread_id=r["thread_id"],
        active=bool(r["c_active"]),
        language=r["c_language"],
        mode=r["c_mode"],
        digest_hour=r["c_digest_hour"],
        utc_offset=r["c_utc_offset"],
        quiet_from=r["c_quiet_from"],
        quiet_to=r["c_quiet_to"],
        previews=bool(r["c_previews"]),
    )
    return Delivery(
        id=r["delivery_id"],
        chat_id=r["chat_id"],
        thread_id=r["thread_id"],
        kind=r["kind"],
        attempts=r["attempts"],
        created_at=r["queued_at"],
        message_id=r["message_id"],
        story=Story.from_row(r),
        chat=chat,
    )


async def _bump(tx: Transaction, name: str, by: int = 1) -> None:
    await tx.execute(
        """INSERT INTO counters (name, value) VALUES (?, ?)
           ON CONFLICT (name) DO UPDATE SET value = value + excluded.value""",
        (name, by),
    )
