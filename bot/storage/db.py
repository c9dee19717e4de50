"""The SQLite connection: pragmas, migrations and serialised transactions.

One aiosqlite connection serves the whole process: its `sqlite3` connection lives on
aiosqlite's worker thread (every call runs there, so the event loop never blocks on disk), and
its operations are serialised with an asyncio lock, so a transaction of one task never
interleaves with a statement of another.

Two ways to write:
- `async with db.transaction() as tx: await tx.execute(...)`: each statement is one hop to the
  worker thread; fine for a few statements.
- `await db.run(fn)`: `fn(tx)` is a plain function that runs on the worker thread inside
  BEGIN IMMEDIATE ... COMMIT, in ONE hop, so a transaction of hundreds of statements (storing a
  fetched feed) does not pay a thread round trip and a lock per statement. Once started it
  runs to its end: cancelling the awaiting task does not interrupt it (it commits or rolls
  back as a whole, like any transaction).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.errors import ConfigError
from bot.storage.migrations import MIGRATIONS

log = logging.getLogger(__name__)

Row = sqlite3.Row
T = TypeVar("T")

_PRAGMAS = (
    # WAL lets `python -m bot status` and `search` read while the bot writes.
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 5000",
    # 32 MB of page cache (default 2 MB): the merge index lookups and inserts touch random
    # pages of large B-trees; see BENCHMARKS.md "Stories".
    "PRAGMA cache_size = -32768",
    # A deleted row's bytes are overwritten, not left in free pages: /forget must not leave a
    # watchlist readable in the file (some SQLite builds have this on already, not all).
    "PRAGMA secure_delete = ON",
    # Reads map the file instead of copying each page through a read() call: search walks
    # megabytes of FTS5 doclists per query (p50 -20% on 1M stories, see BENCHMARKS.md). This is
    # SQLite's default ceiling (2 GiB); larger is capped.
    "PRAGMA mmap_size = 2147418112",
)


class _Connection(aiosqlite.Connection):
    """aiosqlite's connection plus `call()`: a plain function run on its worker thread in one
    hop. aiosqlite's public methods cost a hop (or three: execute, fetch, close) per statement;
    storing a fetched feed is hundreds of statements."""

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The wrapped connection: touch it only inside functions passed to `call()`."""
        return self._conn

    async def abandon(self) -> None:
        """After a failed connect: aiosqlite has told its worker thread to stop but does not
        wait for it; wait here, or the thread may report to an event loop closed meanwhile."""
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join, 5.0)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        # aiosqlite's queue-a-call primitive; it is untyped, hence the ignore.
        result: T = await self._execute(fn, *args)  # type: ignore[no-untyped-call]
        return result


class Database:
    """A migrated connection; use `Database.open()` and `close()`."""

    def __init__(self, conn: _Connection, path: str = ":memory:") -> None:
        self._aconn = conn
        self._conn = conn.sqlite
        self._lock = asyncio.Lock()
        self._path = path

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        """Raises `ConfigError` (naming DATABASE_PATH) when the file cannot be opened at all:
        a directory, a read-only place, a path through a file."""
        conn = _Connection(partial(_connect, str(path)), iter_chunk_size=64)
        try:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            await conn  # starts aiosqlite's worker thread and connects on it
        except (OSError, sqlite3.Error) as exc:
            await conn.abandon()
            raise ConfigError(f"DATABASE_PATH: cannot open {path}: {exc}") from exc
        db = cls(conn, str(path))
        try:
            await db._call(_migrate, db._conn, str(path))
        except sqlite3.Error as exc:  # a read-only file or place; a disk full
            await db.close()
            raise ConfigError(f"DATABASE_PATH: cannot update {path}: {exc}") from exc
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        async with self._lock:
            await self._aconn.close()

    @asynccontextmanager
    async def upkeep_turn(self) -> AsyncIterator[None]:
        """Hold the lock that migrations take turns on (`_migration_turn`), waited for in a
        thread, for the upkeep that follows them at opening (re-keying, the search index's
        rebuild): two processes opening an old database at once each rebuilt the index, in
        write transactions, and the one that waited past the busy timeout stopped with
        "database is locked". In its turn, the second finds nothing left to do."""
        with contextlib.ExitStack() as stack:
            await asyncio.to_thread(stack.enter_context, _migration_turn(self._path))
            yield

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the connection's thread (the caller holds the lock)."""
        return await self._aconn.call(fn, *args)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        async with self._lock:
            return await self._call(SyncTransaction(self._conn).fetchall, sql, params)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        async with self._lock:
            return await self._call(SyncTransaction(self._conn).fetchone, sql, params)

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement in its own transaction; returns the number of changed rows."""
        return await self.run(lambda tx: tx.execute(sql, params))

    async def clear_journal(self) -> None:
        """Copy the write-ahead log into the database and empty it, after a wipe: the log
        holds the pages as they were before, deleted rows included. Best effort: a reader
        that holds an old snapshot (`status` running) keeps the log until the next one."""
        async with self._lock:
            try:
                await self._call(_checkpoint, self._conn)
            except sqlite3.Error as exc:
                # The wipe is committed: failing here must not read as its failure (/forget
                # would tell the chat nothing was deleted). The next checkpoint empties it.
                log.warning("the write-ahead log was not emptied: %s", type(exc).__name__)

    async def run(self, fn: Callable[[SyncTransaction], T]) -> T:
        """`fn(tx)` on the connection's thread in one transaction (BEGIN IMMEDIATE ... COMMIT,
        rolled back if it raises); one thread hop however many statements it runs."""
        async with self._lock:
            return await self._call(_in_transaction, self._conn, fn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        async with self._lock:
            await self._begin()
            try:
                yield Transaction(self, SyncTransaction(self._conn))
            except BaseException:
                await self._call(self._conn.execute, "ROLLBACK")
                raise
            await self._call(_commit, self._conn)

    async def _begin(self) -> None:
        """BEGIN IMMEDIATE. It runs on the connection's thread even when the task waiting for
        it is cancelled (it may wait up to the busy timeout for another process's lock): then
        it is waited for and rolled back before the cancellation goes on, or the connection
        would stay inside a transaction and every later BEGIN would fail."""
        begin = asyncio.ensure_future(self._call(self._conn.execute, "BEGIN IMMEDIATE"))
        try:
            await asyncio.shield(begin)
        except asyncio.CancelledError:
            with contextlib.suppress(sqlite3.Error):  # a BEGIN that failed left nothing open
                await begin
                await self._call(self._conn.execute, "ROLLBACK")
            raise


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)  # we issue BEGIN/COMMIT ourselves
    conn.row_factory = sqlite3.Row
    for pragma in _PRAGMAS:
        conn.execute(pragma)
    return conn


def _checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    if _schema_version(conn) == len(MIGRATIONS):
        return
    # Two processes may open an older database at once (the bot after an upgrade, and the
    # health check's `status`): each read the version, then ran the same migration in turn,
    # and the second failed on the first's columns. A migration cannot hold SQLite's write
    # lock from the reading of the version on (executescript commits first), so the
    # processes take turns on a lock file, and each reads the version again in its turn.
    with _migration_turn(path):
        version = _schema_version(conn)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript commits first, so the version bump goes inside the script.
            conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")


def _schema_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        # Newer code wrote it (this code was rolled back): refused, not migrated downwards.
        raise ConfigError(
            f"DATABASE_PATH: schema version {version} is newer than this code knows "
            f"({len(MIGRATIONS)}); run the newer version"
        )
    return version


@contextlib.contextmanager
def _migration_turn(path: str) -> Iterator[None]:
    """An exclusive lock on `<database>.migrating` (the kernel's: it goes with the process);
    none for an in-memory database, or where the file cannot be made (the migration's own
    write then says why)."""
    with contextlib.ExitStack() as stack:
        if path != ":memory:":
            with contextlib.suppress(OSError, RuntimeError):  # RuntimeError: a symlink loop
                # "a" never truncates: the file is only a handle to lock, and holds nothing.
                # By the real name: through a symlink it is the same database.
                turn = Path(f"{Path(path).resolve()}.migrating")
                handle = stack.enter_context(turn.open("a"))
                fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[SyncTransaction], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(SyncTransaction(conn))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    _commit(conn)
    return result


def _commit(conn: sqlite3.Connection) -> None:
    """COMMIT; one that fails (the disk full, a deferred constraint) can leave the transaction
    open, and then every later BEGIN of this one connection failed: it is rolled back here."""
    try:
        conn.execute("COMMIT")
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class SyncTransaction:
    """Statements inside one open transaction, on the connection's thread (`Database.run`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Returns the number of changed rows."""
        return self._conn.execute(sql, tuple(params)).rowcount

    def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        rowid = self._conn.execute(sql, tuple(params)).lastrowid
        if rowid is None:
            raise RuntimeError("INSERT produced no row id")
        return rowid

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        self._conn.executemany(sql, (tuple(r) for r in rows))

    def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, tuple(params)).fetchone()
        return row

    def total_changes(self) -> int:
        """Rows changed since the connection opened (to count what INSERT OR IGNORE did)."""
        return self._conn.total_changes


class Transaction:
    """Statements inside one open transaction (the lock is held by its creator); each one is
    a hop to the connection's thread."""

    def __init__(self, db: Database, tx: SyncTransaction) -> None:
        self._db = db
        self._tx = tx

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        return await self._db._call(self._tx.execute, sql, params)

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        return await self._db._call(self._tx.insert, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        await self._db._call(self._tx.executemany, sql, [tuple(r) for r in rows])

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return await self._db._call(self._tx.fetchall, sql, params)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        return await self._db._call(self._tx.fetchone, sql, params)
