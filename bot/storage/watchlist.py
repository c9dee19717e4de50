"""Watchlists: the names and phrases each chat follows (matching is `bot.watch`, pure)."""

from __future__ import annotations

from typing import Literal

from bot.storage.db import Database

Added = Literal["added", "exists", "full"]


class Watchlist:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, chat_id: int, key: str, phrase: str, *, now: float, limit: int) -> Added:
        """Add a watch unless the chat already has it or has `limit` of them. The chat row must
        exist (`Chats.ensure`)."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT COUNT(*), SUM(keys = ?) FROM watchlist WHERE chat_id = ?", (key, chat_id)
            )
            count, same = (0, 0) if row is None else (row[0], row[1] or 0)
            if same:
                return "exists"
            if count >= limit:
                return "full"
            await tx.execute(
                "INSERT INTO watchlist (chat_id, keys, phrase, created_at) VALUES (?, ?, ?, ?)",
                (chat_id, key, phrase, now),
            )
        return "added"

    async def remove(self, chat_id: int, key: str) -> str | None:
        """Remove a watch; returns the phrase as it was stored, or None if there was none."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT phrase FROM watchlist WHERE chat_id = ? AND keys = ?", (chat_id, key)
            )
            if row is None:
                return None
            await tx.execute("DELETE FROM watchlist WHERE chat_id = ? AND keys = ?", (chat_id, key))
        return str(row["phrase"])

    async def of_chat(self, chat_id: int) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT phrase FROM watchlist WHERE chat_id = ? ORDER BY created_at, phrase",
            (chat_id,),
        )
        return [str(r["phrase"]) for r in rows]

    async def terms(self) -> list[tuple[int, str]]:
        """Every active chat's watches, for one refresh's matching."""
        rows = await self._db.fetchall(
            """SELECT w.chat_id, w.phrase FROM watchlist w
               JOIN chats c ON c.chat_id = w.chat_id WHERE c.active = 1"""
        )
        return [(int(r["chat_id"]), str(r["phrase"])) for r in rows]

    async def count(self) -> int:
        return int(await self._db.scalar("SELECT COUNT(*) FROM watchlist"))
