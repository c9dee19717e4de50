"""Keeping `search_fts` and `search_terms` in step with stories: the one place that writes them.

`index_story(tx, story_id, forms)` (re)writes a story's row from the story and every entry that
is one of its sources; call it inside the transaction that changed the story or its sources
(a new story, a source joining it, an edit, a watch-only story made public); a story kept
only for a watchlist (`broadcast = 0`) has no row. `index_pending()` indexes what migration 3 queued
(stories stored before search existed).

`search_terms` holds, for every token of the index, how many rows contain it (and, under the
empty term `TOTAL`, how many rows there are): the document frequencies `bot.storage.search`
ranks with. FTS5's own `bm25()` recounts them on every query by reading each query token's
whole doclist, tens of milliseconds for a word found in half the stories; kept here they are one
indexed lookup. `index_story` updates them by the difference between a row's old and new tokens.
`tokens()` splits text the way the `unicode61 remove_diacritics 2` tokenizer does for the
folded text we index (runs of letters and digits, Latin diacritics dropped); a rare mismatch
only nudges a weight, never what matches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.search.document import Document, Source, index_row
from bot.search.forms import Forms
from bot.storage.db import Database, SyncTransaction

PENDING_BATCH = 500
TOTAL = ""  # the `search_terms` row counting indexed stories; no token is empty
FTS_COLUMNS = "title, body, outlets, terms, tags"
_TOKEN = re.compile(r"[^\W_]+")
# Latin letters with diacritics and combining marks: what `remove_diacritics 2` folds away.
# Cyrillic (й, ї) is left alone, as the tokenizer leaves it.
_MARKED = re.compile(r"[\u00c0-\u024f\u0300-\u036f\u1e00-\u1eff]+")


def fts_fold(text: str) -> str:
    """Lower case without Latin diacritics (café -> cafe), as FTS5 compares tokens."""
    return _MARKED.sub(_strip_marks, text.lower())


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(fts_fold(text))


def row_terms(columns: Iterable[str]) -> set[str]:
    """The distinct tokens of one `search_fts` row, all columns."""
    return {t for text in columns for t in tokens(text)}


def index_story(tx: SyncTransaction, story_id: int, forms: Forms) -> None:
    doc = _document(tx, story_id)
    old = tx.fetchone(f"SELECT {FTS_COLUMNS} FROM search_fts WHERE rowid = ?", (story_id,))
    new = None if doc is None else index_row(doc, forms)
    if old is not None:
        tx.execute("DELETE FROM search_fts WHERE rowid = ?", (story_id,))
    if new is not None:
        tx.execute(
            f"INSERT INTO search_fts (rowid, {FTS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (story_id, *new),
        )
    before = set() if old is None else row_terms(tuple(old))
    after = set() if new is None else row_terms(new)
    if old is None and new is not None:
        after.add(TOTAL)
    elif old is not None and new is None:
        before.add(TOTAL)
    count_terms(tx, after - before, +1)
    count_terms(tx, before - after, -1)


def count_terms(tx: SyncTransaction, terms: Iterable[str], delta: int) -> None:
    """Add `delta` to the document count of each term (a count that reaches 0 is dropped)."""
    rows = [(t, delta) for t in terms]
    if not rows:
        return
    tx.executemany(
        """INSERT INTO search_terms (term, docs) VALUES (?, ?)
           ON CONFLICT (term) DO UPDATE SET docs = docs + excluded.docs""",
        rows,
    )
    if delta < 0:
        tx.executemany(
            "DELETE FROM search_terms WHERE term = ? AND docs <= 0", [(t,) for t, _ in rows]
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


def _strip_marks(match: re.Match[str]) -> str:
    decomposed = unicodedata.normalize("NFD", match.group())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
