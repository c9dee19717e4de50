"""The SQLite connection: pragmas, migrations and serialised transactions.

One aiosqlite connection serves the whole process. Its operations are serialised with an
asyncio lock, so a transaction of one task never interleaves with a statement of another.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.migrations import MIGRATIONS

Row = sqlite3.Row


class Database:
    """A migrated connection; use `Database.open()` and `close()`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        # WAL lets `python -m bot status` and `search` read while the bot writes.
        for pragma in (
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = ON",
            "PRAGMA busy_timeout = 5000",
            # 32 MB of page cache (default 2 MB): the merge index lookups and inserts touch
            # random pages of large B-trees; see BENCHMARKS.md "Stories".
            "PRAGMA cache_size = -32768",
            # Reads map the file instead of copying each page through a read() call: search
            # walks megabytes of FTS5 doclists per query (p50 -20% on 1M stories, see
            # BENCHMARKS.md). This is SQLite's default ceiling (2 GiB); larger is capped.
            "PRAGMA mmap_size = 2147418112",
        ):
            await conn.execute(pragma)
        db = cls(conn)
        try:
            await db._migrate()
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    async def _migrate(self) -> None:
        async with self._lock:
            version = await self._scalar_unlocked("PRAGMA user_version")
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"database schema version {version} is newer than this code knows"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                # executescript commits first, so the version bump goes inside the script.
                await self._conn.executescript(
                    f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
                )

    async def _scalar_unlocked(self, sql: str, params: Iterable[Any] = ()) -> Any:
        async with self._conn.execute(sql, tuple(params)) as cur:
            row = await cur.fetchone()
        return None if row is None else row[0]

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        async with self._lock, self._conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        async with self._lock, self._conn.execute(sql, tuple(params)) as cur:
            row: Row | None = await cur.fetchone()
            return row

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        async with self._lock:
            return await self._scalar_unlocked(sql, params)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement in its own transaction; returns the number of changed rows."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")


class Transaction:
    """Statements inside one open transaction (the lock is held by its creator)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        async with self._conn.execute(sql, tuple(params)) as cur:
            return cur.rowcount

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        async with self._conn.execute(sql, tuple(params)) as cur:
            rowid = cur.lastrowid
        if rowid is None:
            raise RuntimeError("INSERT produced no row id")
        return rowid

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        await self._conn.executemany(sql, [tuple(r) for r in rows])

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        async with self._conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        async with self._conn.execute(sql, tuple(params)) as cur:
            row: Row | None = await cur.fetchone()
            return row
