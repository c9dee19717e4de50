"""A real database file whose writes can be made to fail as SQLite's do on a full disk
(SQLITE_FULL, raised as `sqlite3.OperationalError`), while reads still work: what a full or
read-only volume does to the running bot, without mounting one."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from bot.storage.db import Database, SyncTransaction, Transaction

T = TypeVar("T")


class FullDisk(Database):
    """`FullDisk.open(path)`; set `full` to refuse every write from then on."""

    full = False

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        self._refuse()
        return await super().execute(sql, params)

    async def run(self, fn: Callable[[SyncTransaction], T]) -> T:
        self._refuse()
        return await super().run(fn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        self._refuse()
        async with super().transaction() as tx:
            yield tx

    def _refuse(self) -> None:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
