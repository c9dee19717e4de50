"""Chats and their subscriptions. A chat is only its Telegram id and its settings."""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.db import Database, Row
from bot.storage.records import Chat


def _chat(row: Row) -> Chat:
    return Chat(
        chat_id=row["chat_id"],
        subscribed=bool(row["subscribed"]),
        countries=tuple(row["countries"].split()),
        thread_id=row["thread_id"],
        active=bool(row["active"]),
    )


class Chats:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, chat_id: int) -> Chat | None:
        row = await self._db.fetchone("SELECT * FROM chats WHERE chat_id = ?", (chat_id,))
        return None if row is None else _chat(row)

    async def subscribe(
        self, chat_id: int, countries: Sequence[str], *, thread_id: int | None, now: float
    ) -> None:
        """Subscribe (or change the country filter); empty `countries` means all of them."""
        codes = f" {' '.join(sorted(set(countries)))} " if countries else ""
        await self._db.execute(
            """
            INSERT INTO chats (chat_id, subscribed, countries, thread_id, active, created_at)
            VALUES (?, 1, ?, ?, 1, ?)
            ON CONFLICT (chat_id) DO UPDATE SET
                subscribed = 1, active = 1,
                countries = excluded.countries, thread_id = excluded.thread_id
            """,
            (chat_id, codes, thread_id, now),
        )

    async def unsubscribe(self, chat_id: int) -> bool:
        """Stop alerts and drop what is still queued; True if the chat was subscribed."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE chats SET subscribed = 0 WHERE chat_id = ? AND subscribed = 1", (chat_id,)
            )
            await tx.execute(
                "DELETE FROM deliveries WHERE chat_id = ? AND state IN ('pending', 'sending')",
                (chat_id,),
            )
        return changed > 0

    async def deactivate(self, chat_id: int) -> None:
        """The bot was blocked or removed: keep only the id, marked inactive, so the reason is
        visible to operators; everything else about the chat goes."""
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM deliveries WHERE chat_id = ?", (chat_id,))
            await tx.execute(
                """UPDATE chats SET active = 0, subscribed = 0, countries = '', thread_id = NULL
                   WHERE chat_id = ?""",
                (chat_id,),
            )

    async def migrate(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: its subscription and queue move to the new id."""
        async with self._db.transaction() as tx:
            exists = await tx.fetchone("SELECT 1 FROM chats WHERE chat_id = ?", (new_id,))
            if exists is None:
                # ON UPDATE CASCADE carries the deliveries along.
                await tx.execute(
                    "UPDATE chats SET chat_id = ?, thread_id = NULL WHERE chat_id = ?",
                    (new_id, old_id),
                )
                return
            await tx.execute(
                "UPDATE OR IGNORE deliveries SET chat_id = ? WHERE chat_id = ?", (new_id, old_id)
            )
            await tx.execute("DELETE FROM chats WHERE chat_id = ?", (old_id,))

    async def forget(self, chat_id: int) -> None:
        """Delete every row about the chat (deliveries go by cascade)."""
        await self._db.execute("DELETE FROM chats WHERE chat_id = ?", (chat_id,))

    async def count_subscribed(self) -> int:
        return int(
            await self._db.scalar("SELECT COUNT(*) FROM chats WHERE subscribed = 1 AND active = 1")
        )
