"""Keeping `search_fts` in step with stories: the one place that writes it.

`index_story(tx, story_id, forms)` (re)writes a story's row from the story and every entry that
is one of its sources; call it inside the transaction that changed the story or its sources
(a new story, a source joining it, an edit, a watch-only story made public); a story kept
only for a watchlist (`broadcast = 0`) has no row. `index_pending()` indexes what migration 2 queued
(stories stored before search existed).
"""

from __future__ import annotations

from bot.search.document import Document, Source, index_row
from bot.search.forms import Forms
from bot.storage.db import Database, SyncTransaction

PENDING_BATCH = 500


def index_story(tx: SyncTransaction, story_id: int, forms: Forms) -> None:
    doc = _document(tx, story_id)
    tx.execute("DELETE FROM search_fts WHERE rowid = ?", (story_id,))
    if doc is not None:
        tx.execute(
            "INSERT INTO search_fts (rowid, title, body, outlets, terms, tags)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (story_id, *index_row(doc, forms)),
        )


async def index_pending(db: Database, forms: Forms) -> int:
    """Index every queued story, a batch per transaction; returns how many."""
    done = 0
    while True:
        count = await db.run(lambda tx: _index_pending_batch(tx, forms))
        done += count
        if count < PENDING_BATCH:
            return done


def _index_pending_batch(tx: SyncTransaction, forms: Forms) -> int:
    rows = tx.fetchall(
        "SELECT story_id FROM search_pending ORDER BY story_id LIMIT ?", (PENDING_BATCH,)
    )
    for row in rows:
        index_story(tx, row[0], forms)
    tx.executemany("DELETE FROM search_pending WHERE story_id = ?", [(row[0],) for row in rows])
    return len(rows)


def _document(tx: SyncTransaction, story_id: int) -> Document | None:
    story = tx.fetchone(
        """SELECT title, summary, outlet, countries, action,
                  COALESCE(published_at, created_at) AS day
           FROM stories WHERE id = ? AND broadcast = 1""",
        (story_id,),
    )
    if story is None:  # gone, or kept only for a watchlist: not searchable
        return None
    rows = tx.fetchall(
        """SELECT f.name, e.title, e.lang FROM entries e JOIN feeds f ON f.id = e.feed_id
           WHERE e.story_id = ? ORDER BY e.id""",
        (story_id,),
    )
    sources = [Source(r["name"], r["title"]) for r in rows] or [Source(story["outlet"], None)]
    return Document(
        title=story["title"],
        summary=story["summary"],
        countries=tuple(story["countries"].split()),
        action=story["action"],
        published_at=story["day"],
        lang=next((r["lang"] for r in rows if r["lang"]), None),
        sources=tuple(sources),
    )
