"""The outbox: deliveries waiting to be sent, and the sender's bookkeeping.

States:

    pending --claim--> sending --ok--> sent
       ^                  |  \\--given up (24 h after falling due or first claimed, or rejected
       |                  |      twice)--> failed
       |                  |  \\--no longer wanted (`still_wanted`), nothing sent--> dropped
       |                  |
       +---- retry later, released at shutdown, released after a crash

A `dropped` alert or digest item is queued again (pending) when a later report brings its
story to the chat (`bot.storage.alert_queue`): the chat was never told.

A delivery is marked `sending` (committed) before its request goes out and `sent` (with the
Telegram message id) after the answer. At start-up any `sending` row is made pending again, so
a crash loses nothing and can repeat at most the one message per chat that was in flight (the
sender never has two requests in flight for one chat).

Due time: a delivery falls due when it is queued, a digest item at its chat's digest time
(`due_at`, moved by `bot.storage.chats.save_settings` when a chat's digest time moves). The sender's
give-up window counts from it (`Delivery.due_at`, never before the queue time: 0 is unknown), or
from the delivery's first claim (`first_attempt_at`, kept by `mark_sending`) if that came later:
a bot down for a day past the due time has not spent the window. A delivery queued again
(re-armed, re-queued, moved to a digest) falls due again, after any earlier claim.

Order and fairness: `due()` takes at most one delivery per chat, its oldest pending one among
those that have fallen due (so each chat gets its deliveries in queue order, which is story
order, even when one of them waits for a retry; a digest item waiting for its digest time is not
in line yet, so an edit of an alert the chat already has is not held up for days behind it),
and serves the chats whose head has waited longest first. A chat with 50 queued alerts
therefore has one delivery in each round, like every other chat. A chat with a delivery claimed
(`sending`) has none: its next one waits for the answer, even when the chat's rows moved to a
new id meanwhile (a group became a supergroup), so one request per chat and order hold there.

Counters (table `counters`, never reset): `sent`, `retried`, `failed`, `429`, `migrated`,
`chats_deactivated`, `chats_paused` (the bot may not post there), `dropped` (queued
deliveries of a deactivated or paused chat), `plain_fallback`,
`skipped` (an edit with nothing left to edit, or a delivery dropped), plus `paused_until`
(Unix time until which Telegram told us to send nothing).

An 'edit' delivery carries the message id of the chat's sent alert for the story (None when
that alert was never sent): the message to edit in place. A 'digest' head carries the chat's
other due digest items with it (`digest_followers`; `mark_sent(together=...)` marks them sent
with it): one message for all.
Each delivery carries its chat's settings (language, quiet hours, previews, mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.logs import stored_error
from bot.pacing import RETRY_MARGIN
from bot.storage.db import Database, Row, Transaction
from bot.storage.records import Chat, Delivery, Story
from bot.storage.stories import STORY_COLUMNS

PAUSED_UNTIL = "paused_until"

# Each chat's head at a time (the parameter): its oldest pending delivery among those fallen due
# by then. A digest item whose digest time is ahead is not in line yet, so an edit queued after
# it does not wait days for it; among the due ones queue order holds, retries included. (due_at
# alone is enough: it is never after now while created_at is; 0, unknown, is due.)
_HEADS = """SELECT MIN(id) FROM deliveries WHERE state = 'pending' AND due_at <= ?
            GROUP BY chat_id"""

# The chats with a delivery claimed (its request may be under way): they get no other until it
# is answered. The sender also holds such a chat by its id, but a group that becomes a
# supergroup meanwhile (`bot.storage.chats.migrate`) has its rows, the claimed one included,
# under the new id: only the row tells that the supergroup's next delivery must wait.
_BUSY_CHATS = "SELECT chat_id FROM deliveries WHERE state = 'sending'"

# The chat's settings travel with each delivery (language, quiet hours, previews, mode).
_CHAT_COLUMNS = """
    c.chat_id AS c_chat_id, c.thread_id AS c_thread_id, c.subscribed AS c_subscribed,
    c.countries AS c_countries, c.active AS c_active,
    c.language AS c_language, c.mode AS c_mode, c.digest_hour AS c_digest_hour,
    c.utc_offset AS c_utc_offset, c.quiet_from AS c_quiet_from, c.quiet_to AS c_quiet_to,
    c.previews AS c_previews
"""


# What `_delivery` reads of a delivery's own row (`due()`, `claimed()`, `digest_followers()`).
_DELIVERY_COLUMNS = """
    d.id AS delivery_id, d.chat_id, d.kind, d.attempts, d.created_at AS queued_at,
    MAX(d.created_at, d.due_at) AS due_since, d.first_attempt_at, d.plain"""
# A delivery with its chat's settings and its story (`_delivery`); an edit's target is the
# chat's sent alert of the story.
_DELIVERIES = f"""
    SELECT {_DELIVERY_COLUMNS},
           COALESCE(d.message_id, (
               SELECT a.message_id FROM deliveries a
               WHERE a.chat_id = d.chat_id AND a.story_id = d.story_id
                 AND a.kind = 'alert' AND a.state = 'sent'
           )) AS target_message_id,
           c.thread_id, {_CHAT_COLUMNS}, {STORY_COLUMNS}
    FROM deliveries d
    JOIN chats c ON c.chat_id = d.chat_id
    JOIN stories s ON s.id = d.story_id"""


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """The queue at one moment. Only what has fallen due is waiting: a digest item queued for
    a digest days away is scheduled, not late (counting it made a healthy bot look stuck)."""

    pending: int  # queued and not sent yet, due or not (includes `sending`)
    sending: int  # claimed by the sender, request under way
    due: int  # fallen due and not sent yet: sending, ready, or waiting for a retry or a pause
    due_since: float | None  # when the longest-waiting of those fell due
    counters: dict[str, int]

    @property
    def scheduled(self) -> int:
        """Digest items whose digest time is still ahead."""
        return self.pending - self.due

    @property
    def paused_until(self) -> float | None:
        value = self.counters.get(PAUSED_UNTIL)
        return None if value is None else float(value)


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def release_in_flight(self) -> int:
        """After a crash or restart: what was being sent is pending again (and may be repeated,
        since we cannot know whether Telegram got it)."""
        return await self._db.execute(
            "UPDATE deliveries SET state = 'pending' WHERE state = 'sending'"
        )

    async def due(self, now: float, limit: int) -> list[Delivery]:
        rows = await self._db.fetchall(
            f"""{_DELIVERIES}
            WHERE d.id IN ({_HEADS}) AND d.next_attempt_at <= ? AND c.active = 1
              AND d.chat_id NOT IN ({_BUSY_CHATS})
            ORDER BY d.next_attempt_at, d.id
            LIMIT ?
            """,
            (now, now, limit),
        )
        return [_delivery(r) for r in rows]

    async def claimed(self, delivery_id: int) -> Delivery | None:
        """A claimed delivery as it is now, with its chat's settings now; None when it is no
        longer claimed or its chat is gone or inactive. What the sender sends once its turn
        comes, which may be a 429 pause later: meanwhile the chat may have said /forget or
        /unsubscribe, or changed its settings."""
        row = await self._db.fetchone(
            f"{_DELIVERIES} WHERE d.id = ? AND d.state = 'sending' AND c.active = 1",
            (delivery_id,),
        )
        return None if row is None else _delivery(row)

    async def digest_followers(self, head: Delivery, now: float, limit: int) -> list[Delivery]:
        """The chat's other digest items due now, after `head`, in order: with the head they
        make one digest message (the sender marks the ones that fit as sent with it)."""
        rows = await self._db.fetchall(
            f"""
            SELECT {_DELIVERY_COLUMNS}, d.message_id AS target_message_id, c.thread_id,
                   {_CHAT_COLUMNS}, {STORY_COLUMNS}
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

    async def next_due_at(self, after: float) -> float | None:
        """When something may next go, after `after`: a chat head's next attempt (deliveries
        behind a retry wait with their chat, so only heads count), or a delivery falling due
        (a digest item at its digest time), whichever comes first."""
        value = await self._db.scalar(
            f"""SELECT MIN(at) FROM (
                    SELECT d.next_attempt_at AS at FROM deliveries d
                    JOIN chats c ON c.chat_id = d.chat_id
                    WHERE d.id IN ({_HEADS}) AND d.next_attempt_at > ? AND c.active = 1
                    UNION ALL
                    SELECT MAX(d.due_at, d.next_attempt_at) FROM deliveries d
                    JOIN chats c ON c.chat_id = d.chat_id
                    WHERE d.state = 'pending' AND d.due_at > ? AND c.active = 1)""",
            (after, after, after),
        )
        return None if value is None else float(value)

    async def mark_sending(self, delivery_id: int, now: float) -> bool:
        """Claim a delivery; False if it is gone or no longer pending (unsubscribed meanwhile),
        or if its chat has another one claimed (a group moved onto the supergroup's id since
        `due()` looked: see `_BUSY_CHATS`). The first claim's time is kept: the give-up window
        starts there when the bot could not try before (see the module docstring)."""
        changed = await self._db.execute(
            f"""UPDATE deliveries SET state = 'sending', attempts = attempts + 1,
                      first_attempt_at = COALESCE(first_attempt_at, ?)
               WHERE id = ? AND state = 'pending' AND chat_id NOT IN ({_BUSY_CHATS})""",
            (now, delivery_id),
        )
        return changed == 1

    async def release(self, delivery_id: int) -> None:
        """Shutdown before the request went out: pending again, the attempt not counted (nor,
        if it was the first, its time)."""
        await self._db.execute(
            """UPDATE deliveries SET state = 'pending', attempts = MAX(attempts - 1, 0),
                      first_attempt_at = CASE WHEN attempts > 1 THEN first_attempt_at END
               WHERE id = ? AND state = 'sending'""",
            (delivery_id,),
        )

    async def mark_sent(
        self,
        delivery_id: int,
        message_id: int | None,
        now: float,
        *,
        chat_id: int,
        together: Sequence[int] = (),
        dropped: Sequence[int] = (),
        counter: str = "sent",
    ) -> None:
        """Done, with the digest items that went in the same message (`together`, pending), in
        one transaction; a digest sent is the chat's last digest (`bot.chat_settings`). Only a
        claimed row: an edit re-armed while in flight stays pending, so the outlets that
        arrived meanwhile get their edit too. `chat_id` is the chat the
        message went to: when the row has moved to another chat meanwhile (a group became a
        supergroup), the message id is the old group's and is not kept, since an edit in the
        new chat would rewrite whichever message has that id there. The `dropped` ones (no
        longer wanted, `bot.delivery_calls.Sent`; this one among them, maybe) are 'dropped':
        done, nothing sent, and a later report of their story may queue them again
        (`bot.storage.alert_queue`)."""
        async with self._db.transaction() as tx:
            if dropped:
                marks = ",".join("?" for _ in dropped)
                await tx.execute(
                    f"""UPDATE deliveries SET state = 'dropped', sent_at = ?, last_error = NULL
                        WHERE id IN ({marks}) AND state IN ('pending', 'sending')""",
                    (now, *dropped),
                )
            sent = await tx.execute(
                """UPDATE deliveries SET state = 'sent', sent_at = ?, last_error = NULL,
                          message_id = CASE WHEN chat_id = ? THEN ? END
                   WHERE id = ? AND state = 'sending'""",
                (now, chat_id, message_id, delivery_id),
            )
            if together:
                marks = ",".join("?" for _ in together)
                await tx.execute(
                    f"""UPDATE deliveries SET state = 'sent', sent_at = ?,
                               message_id = CASE WHEN chat_id = ? THEN ? END
                        WHERE id IN ({marks}) AND state = 'pending'""",
                    (now, chat_id, message_id, *together),
                )
            if sent:
                await _served_digest(tx, (delivery_id, *together))
            await _bump(tx, counter)

    async def retry_later(self, delivery_id: int, at: float, error: str, *, counter: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                """UPDATE deliveries SET state = 'pending', next_attempt_at = ?, last_error = ?
                   WHERE id = ? AND state = 'sending'""",
                (at, stored_error(error), delivery_id),
            )
            await _bump(tx, counter)

    async def fall_back_to_plain(self, delivery_id: int, error: str) -> None:
        """Telegram rejected the rendered card: resend it as plain text, at once (it is still
        its chat's head, so the order holds). Only once: `plain` stays until the edit is
        re-armed (`alert_queue.queue_edits`), a new edit with its own two tries."""
        async with self._db.transaction() as tx:
            await tx.execute(
                """UPDATE deliveries SET state = 'pending', plain = 1, last_error = ?
                   WHERE id = ? AND state = 'sending'""",
                (stored_error(error), delivery_id),
            )
            await _bump(tx, "plain_fallback")

    async def drop_thread(self, delivery_id: int, chat_id: int) -> None:
        """The forum topic the chat subscribed from is gone: post to the chat's main thread
        from now on, starting with this delivery."""
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE chats SET thread_id = NULL WHERE chat_id = ?", (chat_id,))
            await tx.execute(
                "UPDATE deliveries SET state = 'pending' WHERE id = ? AND state = 'sending'",
                (delivery_id,),
            )

    async def give_up(self, delivery_id: int, error: str) -> None:
        """Failed for good. Only a claimed row: an edit re-armed while in flight (more outlets
        came) is a new edit, and keeps its chance."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                """UPDATE deliveries SET state = 'failed', last_error = ?
                   WHERE id = ? AND state = 'sending'""",
                (stored_error(error), delivery_id),
            )
            if changed:
                await _bump(tx, "failed")

    async def count(self, name: str, by: int = 1) -> None:
        async with self._db.transaction() as tx:
            await _bump(tx, name, by)

    async def pending_count(self, chat_id: int) -> int:
        return int(
            await self._db.scalar(
                """SELECT COUNT(*) FROM deliveries
                   WHERE chat_id = ? AND state IN ('pending', 'sending')""",
                (chat_id,),
            )
        )

    async def pause_until(self, until: float) -> None:
        """Telegram said 429: remember until when nothing may be sent, across restarts."""
        await self._db.execute(
            """INSERT INTO counters (name, value) VALUES (?, ?)
               ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)""",
            (PAUSED_UNTIL, int(until) + 1),
        )

    async def pause_for(self, seconds: float, now: float) -> None:
        """`pause_until` from a 429's retry_after, with the pacer's margin."""
        await self.pause_until(now + seconds + RETRY_MARGIN)

    async def paused_until(self) -> float | None:
        value = await self._db.scalar("SELECT value FROM counters WHERE name = ?", (PAUSED_UNTIL,))
        return None if value is None else float(value)

    async def stats(self, now: float) -> OutboxStats:
        row = await self._db.fetchone(
            """SELECT COUNT(*), COALESCE(SUM(state = 'sending'), 0),
                      COALESCE(SUM(due <= ?), 0), MIN(CASE WHEN due <= ? THEN due END)
               FROM (SELECT state, MAX(created_at, due_at) AS due FROM deliveries
                     WHERE state IN ('pending', 'sending'))""",
            (now, now),
        )
        assert row is not None  # an aggregate always yields a row
        counters = await self._db.fetchall("SELECT name, value FROM counters ORDER BY name")
        return OutboxStats(
            pending=int(row[0]),
            sending=int(row[1]),
            due=int(row[2]),
            due_since=row[3],
            counters={r["name"]: int(r["value"]) for r in counters},
        )


def _delivery(r: Row) -> Delivery:
    chat = Chat.from_row(r, prefix="c_")
    return Delivery(
        id=r["delivery_id"],
        chat_id=r["chat_id"],
        thread_id=r["thread_id"],
        kind=r["kind"],
        attempts=r["attempts"],
        created_at=r["queued_at"],
        due_at=r["due_since"],
        first_attempt_at=r["first_attempt_at"],
        message_id=r["target_message_id"],
        story=Story.from_row(r),
        chat=chat,
        plain=bool(r["plain"]),
    )


async def _bump(tx: Transaction, name: str, by: int = 1) -> None:
    await tx.execute(
        """INSERT INTO counters (name, value) VALUES (?, ?)
           ON CONFLICT (name) DO UPDATE SET value = value + excluded.value""",
        (name, by),
    )


async def _served_digest(tx: Transaction, sent: Sequence[int]) -> None:
    """A digest went with the `sent` items: its chat's `last_digest_at` becomes the latest time
    one of them was due, the period it served (`bot.chat_settings`). Not the time it went: a
    digest of 23:00 sent at 00:30 after a restart is the day before's, and counted as today's
    it held today's stories back a day."""
    marks = ",".join("?" for _ in sent)
    await tx.execute(
        f"""UPDATE chats SET last_digest_at = MAX(COALESCE(last_digest_at, 0), (
                SELECT MAX(due_at) FROM deliveries WHERE id IN ({marks}) AND state = 'sent'))
            WHERE chat_id = (SELECT chat_id FROM deliveries WHERE id = ? AND kind = 'digest')""",
        (*sent, sent[0]),
    )
