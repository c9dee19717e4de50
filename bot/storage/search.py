"""Full-text search over stories (SQLite FTS5 table `search_fts`, one row per story).

Ranking: bm25 (title and the forms of its words weighted 4, lead and source titles and their
words' forms 1, tags 0; k1 1.2, b 0.75) blended with recency: a story from today gains up to
RECENCY_WEIGHT, one a month old half of it, so relevance decides between texts and recency
between equals. Tags do not score: a filter narrows without reordering (a rarer country or
month would otherwise outrank a newer story that passes the same filter), and a word that
names a country or action finds the stories tagged so without outranking those whose text
has it. Each story is one row, so it shows once however many sources it has.

Speed: the match is resolved inside FTS5 (filters are tags there too), and only a window of
matches is ranked (`_window`): the newest RANK_WINDOW by story id, which grows as stories are
stored, so FTS5, which yields matches in rowid order, stops there; finding them is cheap
unless the words are common and rarely together. Stored is not published: a feed's archive,
stored late (a feed added later), would fill that window and push the news out. So when it
reaches back past RECENT_SPAN, the newest RANK_WINDOW of the other matches dated within the
span join it; FTS5 reads for them only the ids between the span's oldest story and the
window's lowest, usually none.

Ranking the window with FTS5's `bm25()` is not always cheap: before scoring the first row it
counts the rows holding each phrase of the query, reading the whole doclist of Россия, суд or
a country tag (30-85 ms per query on 1M stories, issue #6). So a query is ranked one of two
ways, whichever `prefer_fts_bm25` estimates cheaper from the document counts `search_terms`
keeps (see `bot.storage.search_index`):
- "fts": `bm25()` itself, when the query's tokens have few postings (names, rare words);
- "window": the same formula computed here over the window: FTS5's `highlight()` marks each
  candidate's instances of the query's phrases (FTS5's own tokens, forms and column filters),
  and the idf comes from `search_terms` instead of a doclist scan (`Bm25`).
The two agree exactly when the window's rows are as long, relative to their average, as FTS5
counts them (a test checks it). Otherwise the window scores differ by a few per cent: lengths
are words counted by spaces (tags left out), the average length is the window's, and a quoted
phrase's idf is its rarest word's. Queries
without words are simply newest first. `timeline()` (for /case) is the exception: oldest first
over every match, for names.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from typing import NamedTuple

from bot.search import SearchQuery
from bot.search.match import MatchPhrase, phrases_of
from bot.storage.db import Database
from bot.storage.records import Story
from bot.storage.search_index import TOTAL, SearchIndex, tokens
from bot.storage.stories import STORY_COLUMNS

RECENCY_WEIGHT = 2.0
RECENCY_SCALE = 30 * 86400.0
RANK_WINDOW = 1000
RECENT_SPAN = 30 * 86400.0  # matches dated within it are candidates, wherever their ids are
# FTS5's bm25() reads every posting of the query's tokens (~35 ns each); scoring the window
# here costs ~19 us per candidate (highlight() and Python). Measured on 1M stories, one core:
# see BENCHMARKS.md. `prefer_fts_bm25` picks the cheaper.
POSTINGS_PER_CANDIDATE = 540
TIMELINE_MAX = 200

_DAY = "COALESCE(s.published_at, s.created_at)"
# bm25 as FTS5 has it, and the column weights: title and title_terms (its words' forms), body
# (lead and source titles), outlets, terms (the body's forms), tags. The window query joins the
# highlighted weighted columns (SEGMENTS) with SEPARATOR; outlets and tags weigh nothing, so
# they are not highlighted (and not counted in the window's lengths: a row has about five
# tags, whatever its text).
K1, B = 1.2, 0.75
WEIGHTS = {
    "title": 4.0, "title_terms": 4.0, "body": 1.0, "outlets": 0.0, "terms": 1.0, "tags": 0.0,
}  # fmt: skip
SEGMENTS = ("title", "title_terms", "body", "terms")
# Control characters: folded feed text does not hold them, and one that did would only shift
# that story's score, never what matches.
SEPARATOR, OPEN, CLOSE = "\x01", "\x02", "\x03"
_COLUMN = {name: number for number, name in enumerate(WEIGHTS)}  # search_fts's order
_TEXT = " || char(1) || ".join(
    f"highlight(search_fts, {_COLUMN[c]}, char(2), char(3))" for c in SEGMENTS
)
_SPAN = re.compile(f"{OPEN}([^{CLOSE}]*){CLOSE}|{SEPARATOR}")
_BM25 = f"bm25(search_fts, {', '.join(str(WEIGHTS[c]) for c in _COLUMN)})"
_NO_LOW, _NO_HIGH = -1e18, 1e18
_NO_ID = 1 << 62  # above every story id
_MIN_IDF = 1e-6  # FTS5's floor for words in more than half of the rows


class Timeline(NamedTuple):
    """A case: its newest matching stories, oldest first, and how many match in all."""

    stories: list[Story]
    total: int


class Search:
    """Queries; each first indexes what is queued (`SearchIndex.flush`), so a search never
    misses a story stored since the last refresh cycle ended."""

    def __init__(self, db: Database, index: SearchIndex) -> None:
        self._db = db
        self._index = index

    async def stories(
        self, query: SearchQuery, *, limit: int, offset: int = 0, now: float | None = None
    ) -> list[Story]:
        """One page of results, best first (or newest first when the query has no words)."""
        await self._index.flush()
        now = time.time() if now is None else now
        if not query.ranked:
            return await self._newest(query, limit=limit, offset=offset, now=now)
        phrases, frequencies, fts = await self._plan(query)
        if fts:
            return await self._by_fts_bm25(query, limit=limit, offset=offset, now=now)
        candidates = await self._db.fetchall(
            f"""
            WITH {_window(f", {_TEXT} AS text")}
            SELECT id, day, text FROM hits
            """,
            _window_params(query, now),
        )
        scores = Bm25(phrases, frequencies).scores([r["text"] for r in candidates])
        ranked = sorted(
            zip(candidates, scores, strict=True),
            key=lambda c: (-(c[1] + recency(c[0]["day"], now)), -c[0]["id"]),
        )
        return await self._by_id([c[0]["id"] for c in ranked[offset : offset + limit]])

    async def _by_fts_bm25(
        self, query: SearchQuery, *, limit: int, offset: int, now: float
    ) -> list[Story]:
        """The same ranking with FTS5's own bm25(): exact, and cheap when the words are rare."""
        rows = await self._db.fetchall(
            f"""
            WITH {_window(f", {_BM25} - ?6 / (1.0 + MAX(0.0, ?7 - {_DAY}) / ?8) AS rank")}
            SELECT {STORY_COLUMNS} FROM hits JOIN stories s ON s.id = hits.id
            ORDER BY hits.rank, s.id DESC LIMIT ?9 OFFSET ?10
            """,
            (*_window_params(query, now), RECENCY_WEIGHT, now, RECENCY_SCALE, limit, offset),
        )
        return [Story.from_row(r) for r in rows]

    async def ranking(self, query: SearchQuery) -> str:
        """How `stories()` orders this query: "newest", "fts" (bm25()) or "window"."""
        await self._index.flush()  # as `stories()` does: its plan counts every stored story
        if not query.ranked:
            return "newest"
        _, _, fts = await self._plan(query)
        return "fts" if fts else "window"

    async def _plan(
        self, query: SearchQuery
    ) -> tuple[tuple[MatchPhrase, ...], dict[str, int], bool]:
        """The query's phrases, their document counts, and whether bm25() is the cheaper."""
        phrases = phrases_of(query.match)
        frequencies = await self._frequencies(phrases)
        return phrases, frequencies, prefer_fts_bm25(phrases, frequencies)

    async def _newest(
        self, query: SearchQuery, *, limit: int, offset: int, now: float
    ) -> list[Story]:
        rows = await self._db.fetchall(
            f"""
            WITH {_window("")}
            SELECT {STORY_COLUMNS} FROM hits JOIN stories s ON s.id = hits.id
            ORDER BY hits.day DESC, s.id DESC LIMIT ?6 OFFSET ?7
            """,
            (*_window_params(query, now), limit, offset),
        )
        return [Story.from_row(r) for r in rows]

    async def _frequencies(self, phrases: Sequence[MatchPhrase]) -> dict[str, int]:
        """How many stories contain each token of the phrases; TOTAL: how many there are."""
        wanted = {TOTAL} | {t for p in phrases for t in tokens(p.text)}
        marks = ",".join("?" for _ in wanted)
        rows = await self._db.fetchall(
            f"SELECT term, docs FROM search_terms WHERE term IN ({marks})", list(wanted)
        )
        return {r["term"]: r["docs"] for r in rows}

    async def _by_id(self, ids: Sequence[int]) -> list[Story]:
        if not ids:
            return []
        marks = ",".join("?" for _ in ids)
        rows = await self._db.fetchall(
            f"SELECT {STORY_COLUMNS} FROM stories s WHERE s.id IN ({marks})", list(ids)
        )
        found = {r["id"]: Story.from_row(r) for r in rows}
        return [found[i] for i in ids if i in found]

    async def timeline(self, query: SearchQuery, *, limit: int = TIMELINE_MAX) -> Timeline:
        """The matching stories, oldest first (a person's case from detention to appeal): the
        newest `limit` of them, since a long case's latest events are the ones asked about,
        and how many match in all."""
        await self._index.flush()
        where = f"search_fts MATCH ? AND {_DAY} BETWEEN ? AND ?"
        params = (query.match, *_bounds(query))
        rows = await self._db.fetchall(
            f"""
            SELECT {STORY_COLUMNS}
            FROM search_fts JOIN stories s ON s.id = search_fts.rowid
            WHERE {where} ORDER BY {_DAY} DESC, s.id DESC LIMIT ?
            """,
            (*params, limit),
        )
        total = len(rows)
        if total == limit:
            total = await self._db.scalar(
                f"SELECT COUNT(*) FROM search_fts JOIN stories s ON s.id = search_fts.rowid"
                f" WHERE {where}",
                params,
            )
        return Timeline([Story.from_row(r) for r in reversed(rows)], total)


def prefer_fts_bm25(phrases: Sequence[MatchPhrase], frequencies: dict[str, int]) -> bool:
    """Whether FTS5's bm25() costs less than scoring the window here.

    bm25() reads the postings of every token of every phrase (NOT ones too); the window holds
    at most RANK_WINDOW matches, and at most as many as the rarest ANDed part has rows."""
    postings = sum(frequencies.get(t, 0) for p in phrases for t in tokens(p.text))
    parts: dict[int, int] = {}
    for phrase in phrases:
        if phrase.group is not None:
            docs = min((frequencies.get(t, 0) for t in tokens(phrase.text)), default=0)
            parts[phrase.group] = parts.get(phrase.group, 0) + docs
    window = min([RANK_WINDOW, *parts.values()])
    return postings <= POSTINGS_PER_CANDIDATE * window


def recency(day: float, now: float) -> float:
    """Up to RECENCY_WEIGHT for a story from today, half of it for one RECENCY_SCALE old."""
    return RECENCY_WEIGHT / (1.0 + max(0.0, now - day) / RECENCY_SCALE)


class Bm25:
    """FTS5's bm25 over a window of candidate rows, from kept document frequencies.

    A row is its SEGMENTS joined by SEPARATOR, each as FTS5's `highlight()` returns it: the
    instances of the query's phrases (FTS5's own tokens, forms and column filters) between
    OPEN and CLOSE. Each phrase counts its instances per segment times the column's weight;
    the score is the sum over the phrases of idf * f * (k1 + 1) / (f + k1 * (1 - b + b *
    length / average length))."""

    def __init__(self, phrases: Sequence[MatchPhrase], frequencies: dict[str, int]) -> None:
        total = frequencies.get(TOTAL, 0)
        self._phrases: list[tuple[tuple[str, ...], float, tuple[float, ...]]] = []
        for phrase in phrases:
            words = tuple(tokens(phrase.text))
            weights = tuple(WEIGHTS[c] if c in phrase.columns else 0.0 for c in SEGMENTS)
            if phrase.group is None or not words or not any(weights):
                continue  # outlets (weight 0) never change a score
            docs = min(frequencies.get(w, 0) for w in words)
            idf = math.log((total - docs + 0.5) / (docs + 0.5)) if total else 0.0
            self._phrases.append((words, max(idf, _MIN_IDF), weights))
        # (highlighted text, segment) -> (phrase, weighted instances): a query meets few.
        self._spans: dict[tuple[str, int], list[tuple[int, float]]] = {}

    def scores(self, rows: Sequence[str]) -> list[float]:
        lengths = [row.count(" ") + len(SEGMENTS) for row in rows]
        average = sum(lengths) / len(lengths) if rows else 1.0
        return [
            self._score(row, length / average) for row, length in zip(rows, lengths, strict=True)
        ]

    def _score(self, row: str, relative_length: float) -> float:
        freq: dict[int, float] = {}
        segment = 0
        for span in _SPAN.findall(row):
            if not span:  # the SEPARATOR: next segment
                segment += 1
                continue
            found = self._spans.get((span, segment))
            if found is None:
                found = self._spans[span, segment] = [
                    (index, self._phrases[index][2][segment] * count)
                    for index, count in self._instances(span)
                    if self._phrases[index][2][segment]
                ]
            for index, weighted in found:
                freq[index] = freq.get(index, 0.0) + weighted
        norm = K1 * (1.0 - B + B * relative_length)
        return sum(self._phrases[i][1] * f * (K1 + 1.0) / (f + norm) for i, f in freq.items())

    def _instances(self, span: str) -> list[tuple[int, int]]:
        """The phrases in one highlighted text (several when instances overlap)."""
        words = tokens(span)
        found = []
        for index, (phrase, _, _) in enumerate(self._phrases):
            size = len(phrase)
            count = sum(
                1 for at in range(len(words) - size + 1) if tuple(words[at : at + size]) == phrase
            )
            if count:
                found.append((index, count))
        return found


def _window(columns: str) -> str:
    """The candidates as the CTE `hits`, each row a story's `id`, `day` and `columns`
    (computed in the FTS5 query: its auxiliary functions work nowhere else): `by_id`, the
    newest RANK_WINDOW matches by story id, and `recent`, when `by_id` is full and reaches back
    past RECENT_SPAN, the newest RANK_WINDOW of the other matches dated within RECENT_SPAN
    (see the module docstring). Parameters: `_window_params`."""
    return f"""
    by_id AS MATERIALIZED (
        SELECT s.id AS id, {_DAY} AS day{columns}
        FROM search_fts JOIN stories s ON s.id = search_fts.rowid
        WHERE search_fts MATCH ?1 AND {_DAY} BETWEEN ?2 AND ?3
        ORDER BY search_fts.rowid DESC LIMIT ?4
    ),
    recent AS MATERIALIZED (
        SELECT s.id AS id, {_DAY} AS day{columns}
        FROM search_fts JOIN stories s ON s.id = search_fts.rowid
        WHERE (SELECT COUNT(*) FROM by_id) = ?4 AND (SELECT MIN(day) FROM by_id) < ?5
          AND search_fts MATCH ?1 AND {_DAY} BETWEEN MAX(?2, ?5) AND ?3
          -- FTS5 reads only the ids in between: from the lowest of the stories dated within
          -- the span (none: nothing to read; without the index, SQLite looks for it by
          -- walking the stories in id order) up to by_id's lowest (a match above it that
          -- passes the filters is in by_id)
          AND search_fts.rowid >= COALESCE(
              (SELECT MIN(id) FROM stories INDEXED BY stories_day
               WHERE COALESCE(published_at, created_at) >= MAX(?2, ?5)), {_NO_ID})
          AND search_fts.rowid < (SELECT MIN(id) FROM by_id)
        ORDER BY search_fts.rowid DESC LIMIT ?4
    ),
    hits AS (SELECT * FROM by_id UNION ALL SELECT * FROM recent)"""


def _window_params(query: SearchQuery, now: float) -> tuple[object, ...]:
    return (query.match, *_bounds(query), RANK_WINDOW, now - RECENT_SPAN)


def _bounds(query: SearchQuery) -> tuple[float, float]:
    low = _NO_LOW if query.since is None else query.since
    high = _NO_HIGH if query.until is None else query.until
    return low, high
