"""Keeping `search_fts` and `search_terms` in step with stories: the one place that writes them.

Saving never indexes: `queue(tx, story_ids)` marks a story whose text or sources changed (a new
story, a source joining it, an edit, a watch-only story made public) in `search_pending`, with
a version that every further change bumps. `SearchIndex.flush()` later (re)writes each queued
story's row from the story and every entry that is one of its sources (their titles, and the
leads of the reports that joined it); a story kept only for a watchlist (`broadcast = 0`) has
no row. The refresher flushes once at the end of each cycle, so a story that fifty feeds report
in one cycle is indexed once, not fifty times; a search flushes first, so it never misses what
is stored.

Two ways to flush: `flush()` reads, computes and writes a batch in one transaction on the
database's thread; `flush_with(rows_of)` reads the documents, hands them to `rows_of` (the
refresh path's `bot.analysis`, on the event loop, so the database's thread is not held while
word forms are computed) and writes the rows back, skipping any story changed in between (its
version moved on; it stays queued for the next flush).

`search_terms` holds, for every token of the index, how many rows contain it (and, under the
empty term `TOTAL`, how many rows there are): the document frequencies `bot.storage.search`
ranks with. FTS5's own `bm25()` recounts them on every query by reading each query token's
whole doclist, tens of milliseconds for a word found in half the stories; kept here they are one
indexed lookup. Writing a row updates them by the difference between its old and new tokens.
`tokens()` splits text the way the `unicode61 remove_diacritics 2` tokenizer does for the
folded text we index (runs of letters and digits, Latin diacritics dropped); a rare mismatch
only nudges a weight, never what matches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from bot.search.document import LEADS_MAX, Document, Row, Source, index_row
from bot.search.forms import Forms
from bot.storage.db import Database, SyncTransaction
from bot.storage.records import outlet_name

BATCH = 500
TOTAL = ""  # the `search_terms` row counting indexed stories; no token is empty
FTS_COLUMNS = "title, title_terms, body, outlets, terms, tags"
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


RowsOf = Callable[[Sequence[Document]], Awaitable[Sequence[Row]]]


@dataclass(frozen=True, slots=True)
class Pending:
    """A queued story: its version when read, and what to index (None: remove its row)."""

    story_id: int
    version: int
    document: Document | None


def queue(tx: SyncTransaction, story_ids: Iterable[int]) -> None:
    """Mark stories for re-indexing (inside the transaction that changed them)."""
    tx.executemany(
        """INSERT INTO search_pending (story_id) VALUES (?)
           ON CONFLICT (story_id) DO UPDATE SET version = version + 1""",
        [(story_id,) for story_id in story_ids],
    )


class SearchIndex:
    def __init__(self, db: Database, forms: Forms) -> None:
        self._db = db
        self._forms = forms

    async def flush(self) -> int:
        """Index every queued story here, a batch per transaction; returns how many."""
        done = 0
        while True:
            count = await self._db.run(partial(_index_batch, forms=self._forms))
            done += count
            if count < BATCH:
                return done

    async def flush_with(self, rows_of: RowsOf) -> int:
        """Index every queued story with rows computed by `rows_of`; returns how many."""
        done = 0
        while True:
            pending = await self._db.run(_pending_batch)
            documents = [p.document for p in pending if p.document is not None]
            rows = list(await rows_of(documents)) if documents else []
            if len(rows) != len(documents):
                raise RuntimeError("rows_of returned a row count that does not match")
            done += await self._db.run(partial(_write_batch, pending, rows))
            if len(pending) < BATCH:
                return done


def write_row(tx: SyncTransaction, story_id: int, new: Row | None) -> None:
    """Replace the story's row with `new` (None: no row) and adjust the document counts."""
    old = tx.fetchone(f"SELECT {FTS_COLUMNS} FROM search_fts WHERE rowid = ?", (story_id,))
    if old is not None:
        tx.execute("DELETE FROM search_fts WHERE rowid = ?", (story_id,))
    if new is not None:
        tx.execute(
            f"INSERT INTO search_fts (rowid, {FTS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
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


def _index_batch(tx: SyncTransaction, *, forms: Forms) -> int:
    # Read, compute and write in one transaction: nothing can change in between.
    pending = _pending_batch(tx)
    rows = [index_row(p.document, forms) for p in pending if p.document is not None]
    _write_batch(pending, rows, tx)
    return len(pending)


def _pending_batch(tx: SyncTransaction) -> list[Pending]:
    rows = tx.fetchall(
        "SELECT story_id, version FROM search_pending ORDER BY story_id LIMIT ?", (BATCH,)
    )
    return [Pending(r[0], r[1], _document(tx, r[0])) for r in rows]


def _write_batch(pending: Sequence[Pending], rows: Sequence[Row], tx: SyncTransaction) -> int:
    computed = iter(rows)
    written = 0
    for item in pending:
        row = None if item.document is None else next(computed)
        unchanged = tx.execute(
            "DELETE FROM search_pending WHERE story_id = ? AND version = ?",
            (item.story_id, item.version),
        )
        if unchanged:  # else it changed since it was read: the next flush indexes it
            write_row(tx, item.story_id, row)
            written += 1
    return written


def _document(tx: SyncTransaction, story_id: int) -> Document | None:
    story = tx.fetchone(
        """SELECT title, summary, outlet, countries, report_countries, action,
                  COALESCE(published_at, created_at) AS day
           FROM stories WHERE id = ? AND broadcast = 1""",
        (story_id,),
    )
    if story is None:  # gone, or kept only for a watchlist: not searchable
        return None
    rows = tx.fetchall(
        """SELECT f.name, e.named_outlet, e.title, e.lang FROM entries e
           JOIN feeds f ON f.id = e.feed_id WHERE e.story_id = ? ORDER BY e.id""",
        (story_id,),
    )
    cited = [Source(outlet_name(r["name"]), r["title"]) for r in rows]
    # `from:meduza` finds Meduza's report through Google News, as `from:google` still does.
    cited += [Source(r["named_outlet"], None) for r in rows if r["named_outlet"]]
    sources = cited or [Source(story["outlet"], None)]
    reported = (story["report_countries"] or "").split()
    # Only the leads the row can use: a story that hundreds of outlets rewrote has as many.
    leads = tx.fetchall(
        """SELECT summary FROM entries WHERE story_id = ? AND summary IS NOT NULL
           AND summary != ? GROUP BY summary ORDER BY MIN(id) LIMIT ?""",
        (story_id, story["summary"], LEADS_MAX),
    )
    return Document(
        title=story["title"],
        summary=story["summary"],
        # Every relevant report's countries, which the chats' filters are matched against: a
        # chat alerted to a story for Kyrgyzstan finds it with country:kg, whoever headed it.
        countries=tuple(dict.fromkeys([*story["countries"].split(), *reported])),
        action=story["action"],
        published_at=story["day"],
        lang=next((r["lang"] for r in rows if r["lang"]), None),
        sources=tuple(sources),
        leads=tuple(r["summary"] for r in leads),
    )


def _strip_marks(match: re.Match[str]) -> str:
    decomposed = unicodedata.normalize("NFD", match.group())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
