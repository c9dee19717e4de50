"""Chats: subscriptions and settings. A chat is only its Telegram id, its settings and when its
last digest went; `forget` removes even that, with everything that refers to it (deliveries,
watchlist) by cascade, and the watch-only stories kept for its watchlist alone."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.chat_settings import moved_digest_at
from bot.storage.db import Database, Row, SyncTransaction, Transaction
from bot.storage.records import Chat
from bot.watch import MAX_ENTRIES


def _codes(countries: Sequence[str]) -> str:
    return f" {' '.join(sorted(set(countries)))} " if countries else ""


class Chats:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, chat_id: int) -> Chat | None:
        row = await self._db.fetchone("SELECT * FROM chats WHERE chat_id = ?", (chat_id,))
        return None if row is None else Chat.from_row(row)

    async def subscribe(
        self,
        chat_id: int,
        countries: Sequence[str],
        *,
        thread_id: int | None,
        now: float,
        language: str | None = None,
    ) -> None:
        """Subscribe (or change the country filter); empty `countries` means all of them.
        `language` is kept only if the chat has none yet (alerts need one; no user is there)."""
        await self._db.execute(
            """
            INSERT INTO chats (chat_id, subscribed, countries, thread_id, active, created_at,
                               language)
            VALUES (?, 1, ?, ?, 1, ?, ?)
            ON CONFLICT (chat_id) DO UPDATE SET
                subscribed = 1, active = 1,
                countries = excluded.countries, thread_id = excluded.thread_id,
                language = COALESCE(language, excluded.language)
            """,
            (chat_id, _codes(countries), thread_id, now, language),
        )

    async def ensure(self, chat_id: int, now: float, language: str | None = None) -> None:
        """A row for a chat that changes settings or a watchlist before subscribing. A chat that
        talks to the bot has it back (unblocked, re-added): an inactive row is active again."""
        await self._db.execute(
            """INSERT INTO chats (chat_id, subscribed, active, created_at, language)
               VALUES (?, 0, 1, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET active = 1""",
            (chat_id, now, language),
        )

    async def save_settings(self, chat: Chat, *, now: float) -> None:
        """Store the chat's settings (not its subscription state), creating the row if needed
        (or making it active again, as `ensure`). When the digest's mode, hour or offset
        changed, the digest items queued and not due yet move to the new digest time (or go
        now, for instant: `bot.chat_settings.moved_digest_at`); the ones already due stay due
        (a digest being sent goes on, and is this period's digest). A chat that leaves instant
        alerts for a digest (a burst overwhelmed it) gets the alerts still queued in that
        digest, not one by one."""
        async with self._db.transaction() as tx:
            before = await tx.fetchone(
                "SELECT mode, digest_hour, utc_offset, last_digest_at FROM chats WHERE chat_id = ?",
                (chat.chat_id,),
            )
            await tx.execute(
                """
                INSERT INTO chats (chat_id, subscribed, active, created_at) VALUES (?, 0, 1, ?)
                ON CONFLICT (chat_id) DO UPDATE SET active = 1
                """,
                (chat.chat_id, now),
            )
            await tx.execute(
                """
                UPDATE chats SET countries = ?, language = ?, mode = ?, digest_hour = ?,
                       utc_offset = ?, quiet_from = ?, quiet_to = ?, previews = ?
                WHERE chat_id = ?
                """,
                (
                    _codes(chat.countries), chat.language, chat.mode, chat.digest_hour,
                    chat.utc_offset, chat.quiet_from, chat.quiet_to, int(chat.previews),
                    chat.chat_id,
                ),
            )  # fmt: skip
            if before is not None and tuple(before)[:3] == (
                chat.mode,
                chat.digest_hour,
                chat.utc_offset,
            ):
                return
            # The digest items waiting move to the new digest time, which is also when they
            # fall due (the sender's give-up window starts there, `bot.storage.outbox`).
            last, awaited = await _digest_state(tx, chat.chat_id, before, now)
            digest_at = moved_digest_at(
                chat.mode, chat.digest_hour, chat.utc_offset, now,
                old_mode="instant" if before is None else before["mode"],
                last_digest=last, awaited=awaited,
            )  # fmt: skip
            await tx.execute(
                """UPDATE deliveries SET next_attempt_at = ?, due_at = ?
                   WHERE chat_id = ? AND kind = 'digest' AND state = 'pending' AND due_at > ?""",
                (digest_at, digest_at, chat.chat_id, now),
            )
            if chat.mode != "instant":
                await tx.execute(
                    """UPDATE deliveries SET kind = 'digest', next_attempt_at = ?1, due_at = ?1,
                              attempts = 0, last_error = NULL
                       WHERE chat_id = ?2 AND kind = 'alert' AND state = 'pending'
                         AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.chat_id = ?2
                             AND o.story_id = deliveries.story_id AND o.kind = 'digest')""",
                    (digest_at, chat.chat_id),
                )

    async def unsubscribe(self, chat_id: int) -> bool:
        """Stop the subscription's alerts and drop what it still has queued; True if the chat
        was subscribed. The watchlist is not the subscription: its alerts keep coming, so those
        queued for it stay too. Which watch queued what is not stored, so a chat that watches
        something keeps its queue, and the sender sends only what a watch of it names
        (`bot.delivery_calls`)."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE chats SET subscribed = 0 WHERE chat_id = ? AND subscribed = 1", (chat_id,)
            )
            await tx.execute(
                """DELETE FROM deliveries WHERE chat_id = ?1 AND state IN ('pending', 'sending')
                   AND story_id NOT IN (SELECT id FROM stories WHERE broadcast = 0)
                   AND NOT EXISTS (SELECT 1 FROM watchlist WHERE chat_id = ?1)""",
                (chat_id,),
            )
        return changed > 0

    async def deactivate(self, chat_id: int) -> None:
        """The bot was blocked or removed: keep only the id, marked inactive, so the reason is
        visible to operators; everything else about the chat goes, with the watch-only stories
        kept for it alone (see `_drop_unwatched`)."""
        await self._db.run(lambda tx: _deactivate(tx, chat_id))
        await self._db.clear_journal()

    async def pause(self, chat_id: int) -> None:
        """The bot is in the chat but may not post there (read-only group, restricted bot):
        the chat is inactive and its queue goes, but its subscription, settings, watchlist and
        the alerts it has (which later outlets edit) stay, since no one asked for them to go;
        it is active again when the bot may post (`reactivate`) or someone uses a command
        there (`ensure`)."""
        await self._db.run(lambda tx: _pause(tx, chat_id))
        await self._db.clear_journal()

    async def reactivate(self, chat_id: int) -> None:
        """The bot is back in the chat (unblocked, re-added). Only a chat already stored is
        marked: adding the bot to a chat stores nothing about it."""
        await self._db.execute("UPDATE chats SET active = 1 WHERE chat_id = ?", (chat_id,))

    async def migrate(self, old_id: int, new_id: int, *, watch_limit: int = MAX_ENTRIES) -> None:
        """A group became a supergroup: its subscription, settings, watchlist and queue move to
        the new id. Telegram tells more than once (a service message in each chat, a 400 to the
        sender), so this is idempotent: once moved, there is no old row and nothing to do.

        If the supergroup already has a row (an admin typed /watch or pressed a /settings button
        there first), the two merge: the supergroup's subscription and settings win only if it
        subscribed itself; the watchlists join, the supergroup's entries first, up to
        `watch_limit`; the queues join, one delivery per (story, kind)."""
        await self._db.run(lambda tx: _migrate(tx, old_id, new_id, watch_limit))

    async def forget(self, chat_id: int) -> None:
        """Delete every row about the chat (deliveries and watchlist go by cascade), and the
        watch-only stories that were kept for it alone (see `_drop_unwatched`)."""
        await self._db.run(lambda tx: _forget(tx, chat_id))
        await self._db.clear_journal()

    async def count_subscribed(self) -> int:
        return int(
            await self._db.scalar("SELECT COUNT(*) FROM chats WHERE subscribed = 1 AND active = 1")
        )

    async def stats(self) -> dict[str, int]:
        """Counts for operators: subscribed chats by delivery mode, language and kind."""
        rows = await self._db.fetchall(
            """SELECT 'mode:' || mode AS name, COUNT(*) AS n FROM chats
               WHERE subscribed = 1 AND active = 1 GROUP BY mode
               UNION ALL
               SELECT 'language:' || COALESCE(language, '-'), COUNT(*) FROM chats
               WHERE subscribed = 1 AND active = 1 GROUP BY language
               UNION ALL
               SELECT CASE WHEN chat_id > 0 THEN 'kind:private' ELSE 'kind:group/channel' END,
                      COUNT(*) FROM chats WHERE subscribed = 1 AND active = 1
               GROUP BY chat_id > 0
               UNION ALL
               SELECT 'inactive', COUNT(*) FROM chats WHERE active = 0
               UNION ALL
               SELECT 'quiet hours', COUNT(*) FROM chats
               WHERE subscribed = 1 AND active = 1 AND quiet_from IS NOT NULL"""
        )
        return {r[0]: int(r[1]) for r in rows}


async def _digest_state(
    tx: Transaction, chat_id: int, before: Row | None, now: float
) -> tuple[float | None, float | None]:
    """The period the chat's last digest served (`Outbox.mark_sent`; one still being sent
    serves its items' own: a digest of yesterday still retrying is not today's), and when the
    digest items not due yet await their digest (`moved_digest_at`)."""
    row = await tx.fetchone(
        """SELECT MAX(CASE WHEN due_at <= ?2 THEN due_at END) AS going,
                  MIN(CASE WHEN due_at > ?2 THEN due_at END) AS awaited
           FROM deliveries WHERE chat_id = ?1 AND kind = 'digest'
             AND state IN ('pending', 'sending')""",
        (chat_id, now),
    )
    last = None if before is None else before["last_digest_at"]
    going = None if row is None else row["going"]
    served = max((t for t in (last, going) if t is not None), default=None)
    return served, (None if row is None else row["awaited"])


def _migrate(tx: SyncTransaction, old_id: int, new_id: int, watch_limit: int) -> None:
    old = tx.fetchone("SELECT active FROM chats WHERE chat_id = ?", (old_id,))
    if old is None or old_id == new_id:
        return
    # The supergroup has the group's history under new message ids: an old id there would name
    # another message, so the group's alerts are no longer edited (edit() skips a NULL id).
    tx.execute("UPDATE deliveries SET message_id = NULL WHERE chat_id = ?", (old_id,))
    new = tx.fetchone("SELECT subscribed FROM chats WHERE chat_id = ?", (new_id,))
    if new is None:
        # ON UPDATE CASCADE carries the deliveries and the watchlist along.
        tx.execute(
            "UPDATE chats SET chat_id = ?, thread_id = NULL WHERE chat_id = ?", (new_id, old_id)
        )
        return
    if not new["subscribed"] and old["active"]:
        tx.execute(
            """
            UPDATE chats SET (subscribed, countries, language, mode, digest_hour, utc_offset,
                              quiet_from, quiet_to, previews, last_digest_at, active)
                = (SELECT o.subscribed, o.countries, COALESCE(o.language, chats.language),
                          o.mode, o.digest_hour, o.utc_offset, o.quiet_from, o.quiet_to,
                          o.previews, o.last_digest_at, 1
                   FROM chats o WHERE o.chat_id = ?)
            WHERE chat_id = ?
            """,
            (old_id, new_id),
        )
    counted = tx.fetchone("SELECT COUNT(*) FROM watchlist WHERE chat_id = ?", (new_id,))
    room = watch_limit - (0 if counted is None else int(counted[0]))
    tx.execute(
        """
        INSERT INTO watchlist (chat_id, keys, phrase, created_at)
        SELECT ?, keys, phrase, created_at FROM watchlist
        WHERE chat_id = ? AND keys NOT IN (SELECT keys FROM watchlist WHERE chat_id = ?)
        ORDER BY created_at, phrase LIMIT ?
        """,
        (new_id, old_id, new_id, max(room, 0)),
    )
    # A story the group was already sent is in the supergroup's history: not again. So is one
    # on its way to the group now; should that send fail instead, its row moves over below and
    # is retried in the supergroup.
    tx.execute(
        """
        DELETE FROM deliveries
        WHERE chat_id = ? AND state = 'pending' AND EXISTS (
            SELECT 1 FROM deliveries o
            WHERE o.chat_id = ? AND o.story_id = deliveries.story_id
              AND o.kind = deliveries.kind AND o.state IN ('sent', 'sending'))
        """,
        (new_id, old_id),
    )
    # What still collides is already queued for the supergroup; it goes with the old row.
    tx.execute("UPDATE OR IGNORE deliveries SET chat_id = ? WHERE chat_id = ?", (new_id, old_id))
    tx.execute("DELETE FROM chats WHERE chat_id = ?", (old_id,))


def _pause(tx: SyncTransaction, chat_id: int) -> None:
    own = _watch_only_stories(tx, chat_id)
    # Only the queue: the alerts it has are what later reports of their stories edit, and what
    # tells that it has them (else a story it has would be alerted again when it is back).
    tx.execute(
        "DELETE FROM deliveries WHERE chat_id = ? AND state IN ('pending', 'sending')", (chat_id,)
    )
    tx.execute("UPDATE chats SET active = 0 WHERE chat_id = ?", (chat_id,))
    _drop_unwatched(tx, own)


def _deactivate(tx: SyncTransaction, chat_id: int) -> None:
    own = _watch_only_stories(tx, chat_id)
    tx.execute("DELETE FROM deliveries WHERE chat_id = ?", (chat_id,))
    tx.execute("DELETE FROM watchlist WHERE chat_id = ?", (chat_id,))
    tx.execute(
        """UPDATE chats SET active = 0, subscribed = 0, countries = '', thread_id = NULL,
                  language = NULL, mode = 'instant', digest_hour = 9, quiet_from = NULL,
                  quiet_to = NULL, previews = 0, utc_offset = 0, created_at = 0,
                  last_digest_at = NULL
           WHERE chat_id = ?""",
        (chat_id,),
    )
    _drop_unwatched(tx, own)


def _forget(tx: SyncTransaction, chat_id: int) -> None:
    own = _watch_only_stories(tx, chat_id)
    tx.execute("DELETE FROM chats WHERE chat_id = ?", (chat_id,))
    _drop_unwatched(tx, own)


def _watch_only_stories(tx: SyncTransaction, chat_id: int) -> list[int]:
    """The watch-only stories the chat has a delivery of (found before its deliveries go)."""
    rows = tx.fetchall(
        """SELECT DISTINCT d.story_id FROM deliveries d JOIN stories s ON s.id = d.story_id
           WHERE d.chat_id = ? AND s.broadcast = 0""",
        (chat_id,),
    )
    return [row[0] for row in rows]


def _drop_unwatched(tx: SyncTransaction, own: list[int]) -> None:
    """A watch-only story (`broadcast = 0`) is kept because some chat watches a name it
    mentions: its text says what that chat watched. Such a story goes with its chat (`own`,
    when the chat is forgotten or blocks the bot) when no other chat has a delivery of it,
    and every one no delivery points to goes when no chat watches anything any more. What
    goes: the story, its merge-index rows, and the text, link and signature of its reports;
    the reports' keys and content hashes stay, like those of any irrelevant entry, so the
    same entries are not taken for new ones. (/unsubscribe keeps a chat's watch alerts, so
    it never leaves such a story without its delivery.)"""
    orphans = (
        "SELECT id FROM stories WHERE broadcast = 0 AND id NOT IN (SELECT story_id FROM deliveries)"
    )
    if tx.fetchone("SELECT 1 FROM watchlist LIMIT 1") is None:
        rows = tx.fetchall(orphans)  # nobody watches anything: every undelivered one
    else:
        own_ones = f"{orphans} AND id IN (SELECT value FROM json_each(?))"
        rows = tx.fetchall(own_ones, (json.dumps(own),))
    ids = [row[0] for row in rows]
    if not ids:
        return
    marks = json.dumps(ids)
    tx.execute(
        """UPDATE entries SET title = NULL, summary = NULL, link = NULL, minhash = NULL
           WHERE story_id IN (SELECT value FROM json_each(?))""",
        (marks,),
    )
    tx.execute(
        "DELETE FROM search_pending WHERE story_id IN (SELECT value FROM json_each(?))", (marks,)
    )
    tx.execute("DELETE FROM stories WHERE id IN (SELECT value FROM json_each(?))", (marks,))
