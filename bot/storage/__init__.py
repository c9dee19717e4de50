"""All SQL of Transit Watch lives in this package (lemon24/reader style: raw SQL, a schema
version, an append-only migration list).

`Storage` is the facade the rest of the bot holds: one migrated connection and one small
repository per table family.

    storage = await Storage.open(path)
    storage.feeds     feeds and their scheduling state          (feeds.py)
    storage.stories   entries, stories, sources, queueing alerts and edits  (stories.py,
                      with the merge index in story_index.py)
    storage.chats     subscriptions and chat settings           (chats.py)
    storage.watchlist names and phrases chats follow            (watchlist.py)
    storage.outbox    pending deliveries and sender counters    (outbox.py)
    storage.search    FTS5 queries                              (search.py)
    storage.search_index  the index, written once a cycle   (search_index.py)
    stored name keys follow the name rules' version           (rekey.py, on open)
    await storage.close()
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bot.errors import ConfigError
from bot.relevance.text import Lemmatizer
from bot.search.forms import Forms
from bot.storage import rekey
from bot.storage.chats import Chats
from bot.storage.db import Database, SyncTransaction
from bot.storage.feeds import Feeds
from bot.storage.outbox import Outbox, OutboxStats
from bot.storage.records import Chat, Delivery, FeedState, Incoming, ReportText, Source, Story
from bot.storage.search import Search
from bot.storage.search_index import SearchIndex
from bot.storage.stories import SaveResult, Stories
from bot.storage.watchlist import Watchlist

__all__ = [
    "Chat",
    "Delivery",
    "FeedState",
    "Incoming",
    "OutboxStats",
    "ReportText",
    "SaveResult",
    "Source",
    "Storage",
    "Story",
]


class Storage:
    def __init__(self, db: Database, lemmatizer: Lemmatizer | None = None) -> None:
        self.db = db
        # Dictionaries load on the first story indexed; pass the classifier's lemmatizer to
        # share them (and its cache) with the refresh path.
        self.lemmatizer = lemmatizer or Lemmatizer()
        self.forms = Forms(self.lemmatizer)
        self.feeds = Feeds(db)
        self.stories = Stories(db)
        self.search_index = SearchIndex(db, self.forms)
        self.chats = Chats(db)
        self.outbox = Outbox(db)
        self.search = Search(db, self.search_index)
        self.watchlist = Watchlist(db)

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        lemmatizer: Lemmatizer | None = None,
        now: float | None = None,
        maintain: bool = True,
        writing: bool = True,
    ) -> Storage:
        """The migrated database. With `maintain` (the bot, poll, search) the stored keys are
        brought up to date and the queued search rows written; `status` (the Docker health
        check, every minute beside the running bot) skips both: that work is the bot's, and
        it would load the dictionaries (0.7 s, 70 MB) for a yes or no. `writing` (the bot,
        poll; `search` only reads) refuses now a file SQLite could open only for reading."""
        storage = cls(await Database.open(path), lemmatizer)
        if not maintain:
            return storage
        try:
            if writing:
                # An up-to-date database needs no write to open, and the first came later,
                # as a traceback (a file restored as root, opened by the image's user).
                await storage.db.run(_rewrite_version)
            async with storage.db.upkeep_turn():
                # Keys written by older name rules are recomputed; the search rows they queue
                # are rewritten by the flush below.
                await rekey.upgrade(storage.db, now=time.time() if now is None else now)
                await storage.search_index.flush()  # what a stop left queued, or stored before
            # A wipe (/forget, a block) commits, then empties the write-ahead log, which still
            # holds the deleted rows: a bot killed in between left them there.
            await storage.db.clear_journal()
        except sqlite3.Error as exc:  # the first writes: a read-only file (restored as root)
            await storage.close()
            raise ConfigError(f"DATABASE_PATH: cannot update {path}: {exc}") from exc
        except BaseException:
            await storage.close()
            raise
        return storage

    async def close(self) -> None:
        await self.db.close()

    async def counts(self) -> dict[str, int]:
        """Row counts for operators; no content."""
        row = await self.db.fetchone(
            """SELECT (SELECT COUNT(*) FROM feeds WHERE enabled = 1),
                      (SELECT COUNT(*) FROM stories),
                      (SELECT COUNT(*) FROM entries),
                      (SELECT COUNT(*) FROM chats WHERE subscribed = 1 AND active = 1)"""
        )
        assert row is not None  # an aggregate always yields a row
        return {"feeds": row[0], "stories": row[1], "entries": row[2], "subscribed_chats": row[3]}

    async def beat(self, now: float) -> None:
        """The running bot says it is alive (read by the Docker HEALTHCHECK)."""
        await self.db.execute(
            """INSERT INTO counters (name, value) VALUES ('heartbeat', ?)
               ON CONFLICT (name) DO UPDATE SET value = excluded.value""",
            (int(now),),
        )

    async def size_bytes(self) -> int:
        """The database's size (pages in use and free), without the WAL."""
        pages = await self.db.scalar("PRAGMA page_count")
        page_size = await self.db.scalar("PRAGMA page_size")
        return int(pages) * int(page_size)

    async def heartbeat(self) -> float | None:
        value = await self.db.scalar("SELECT value FROM counters WHERE name = 'heartbeat'")
        return None if value is None else float(value)


def _rewrite_version(tx: SyncTransaction) -> None:
    """A write that changes nothing, refused as any other by a read-only file. The version is
    read inside the write transaction: a newer process may have migrated since ours."""
    row = tx.fetchone("PRAGMA user_version")
    assert row is not None  # a pragma's value is always a row
    tx.execute(f"PRAGMA user_version = {int(row[0])}")  # a pragma takes no parameters
