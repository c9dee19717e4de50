"""Ranking without FTS5's bm25(): the phrases read back from a MATCH expression, the kept
document counts, the window scoring against bm25() itself, and the choice between the two."""

from __future__ import annotations

import math

import pytest

from bot.search.match import MatchPhrase, phrases_of
from bot.storage import Storage
from bot.storage import search as search_module
from bot.storage.db import SyncTransaction
from bot.storage.search import _BM25, _TEXT, Bm25, prefer_fts_bm25
from bot.storage.search_index import TOTAL, count_terms, fts_fold, row_terms, tokens
from tests.conftest import NOW, add_feeds, incoming, make_entry
from tests.test_search_storage import BUILDER, STORIES, filled, titles

__all__ = ["filled"]  # the fixture, shared with the storage tests

TEXT = ("title", "title_terms", "body", "terms")


def test_phrases_are_read_back_with_their_columns_and_parts() -> None:
    match = BUILDER.build('Бажуков "отказал в экстрадиции" country:kz -Армения', now=NOW).match
    phrases = phrases_of(match)
    assert MatchPhrase("бажуков", TEXT, 0) in phrases
    assert MatchPhrase("отказал в экстрадиции", ("title", "body"), 1) in phrases
    assert MatchPhrase("ckz", ("tags",), 2) in phrases
    assert MatchPhrase("армения", TEXT, None) in phrases
    assert {p.group for p in phrases} == {0, 1, 2, None}


def test_tokens_follow_the_fts5_tokenizer() -> None:
    assert tokens("Café «İstanbul» ovd-info x_y й ї") == [
        "cafe", "istanbul", "ovd", "info", "x", "y", "й", "ї",
    ]  # fmt: skip
    assert fts_fold("Vučić") == "vucic"
    assert row_terms(("a b", "b c")) == {"a", "b", "c"}


async def test_kept_counts_equal_the_index_own_after_edits_and_merges(filled: Storage) -> None:
    [feed] = await add_feeds(filled, "Radio Azattyk")
    link = "https://e.org/0"  # the link of the first story: a second source joins it
    await filled.stories.save(
        feed, [incoming(make_entry("Bazhukov handed over", link=link), STORIES[0][4])],
        now=NOW, alert_max_age=0,
    )  # fmt: skip
    await filled.search_index.flush()
    await filled.db.execute(
        "CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, search_fts, 'row')"
    )
    index = {r[0]: r[1] for r in await filled.db.fetchall("SELECT term, doc FROM temp.vocab")}
    kept = {r[0]: r[1] for r in await filled.db.fetchall("SELECT term, docs FROM search_terms")}
    assert kept.pop(TOTAL) == len(STORIES)
    assert kept == index


async def test_window_scores_are_fts5_bm25(storage: Storage) -> None:
    # Rows of ten words without punctuation or outlets: the window's lengths and average are
    # then bm25()'s own, so the scores must be the same numbers.
    rows = [
        ("бажуков выдан казахстаном", "бажук", "суд отказал в убежище", "выдать", "ckz"),
        ("суд в астане", "астана", "бажуков бажуков просил убежища", "суд", "ckz"),
        ("казахстан выдал активиста", "выдать", "суд решил его судьбу", "активист", "cru"),
        ("бажуков в суде", "суд", "текст о деле суд", "дело", "ckg"),
        *[("другое дело совсем", "дело", "текст о другом деле", "текст", "ckg")] * 6,
    ]

    def fill(tx: SyncTransaction) -> None:
        for number, row in enumerate(rows, 1):
            tx.execute(
                "INSERT INTO search_fts (rowid, title, title_terms, body, outlets, terms, tags)"
                " VALUES (?, ?, ?, ?, '', ?, ?)",
                (number, *row),
            )
            count_terms(tx, row_terms(row) | {TOTAL}, +1)

    await storage.db.run(fill)
    match = BUILDER.build("Бажуков суд", now=NOW).match
    found = await storage.db.fetchall(
        f"SELECT {_BM25} AS bm25, {_TEXT} AS text FROM search_fts"
        " WHERE search_fts MATCH ? ORDER BY rowid",
        (match,),
    )
    phrases = phrases_of(match)
    frequencies = {
        r["term"]: r["docs"] for r in await storage.db.fetchall("SELECT * FROM search_terms")
    }
    mine = Bm25(phrases, frequencies).scores([r["text"] for r in found])
    assert len(mine) == 3
    for row, score in zip(found, mine, strict=True):
        assert math.isclose(score, -row["bm25"], rel_tol=1e-9)


@pytest.fixture
def window_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_module, "POSTINGS_PER_CANDIDATE", -1)


@pytest.mark.parametrize(
    "text",
    ["Бажуков", "Bazhukov", "экстрадирован", "deported Kyrgyzstan", "задержания",
     '"отказал в убежище"', "Сидоров -Ереван", "action:экстрадиция Bazhukov",
     "from:ovd-info Бажуков", "Бажуков since:2024-01-01 until:2025-12-31"],
)  # fmt: skip
async def test_window_ranking_finds_what_bm25_finds(filled: Storage, text: str) -> None:
    by_fts = await titles(filled, text)
    search_module.POSTINGS_PER_CANDIDATE, kept = -1, search_module.POSTINGS_PER_CANDIDATE
    try:
        assert await filled.search.ranking(BUILDER.build(text, now=NOW)) == "window"
        by_window = await titles(filled, text)
    finally:
        search_module.POSTINGS_PER_CANDIDATE = kept
    assert sorted(by_window) == sorted(by_fts)


@pytest.mark.usefixtures("window_only")
async def test_window_ranking_blends_relevance_and_recency(filled: Storage) -> None:
    assert await titles(filled, "Бажуков") == [STORIES[0][1], STORIES[1][1]]
    query = BUILDER.build("Сидоров", now=NOW)
    first = await filled.search.stories(query, limit=1, now=NOW)
    second = await filled.search.stories(query, limit=1, offset=1, now=NOW)
    assert {s.title for s in first + second} == {STORIES[3][1], STORIES[4][1]}


def test_the_cheaper_ranking_is_chosen() -> None:
    rare = MatchPhrase("бажуков", TEXT, 0)
    common = MatchPhrase("суд", TEXT, 1)
    counts = {TOTAL: 1_000_000, "бажуков": 400, "суд": 400_000}
    assert prefer_fts_bm25([rare], counts)  # a name: bm25() reads 400 postings
    # a name and a common word: bm25() would read 400,400 postings, the window has <= 400 rows
    assert not prefer_fts_bm25([rare, common], counts)
    # a common word alone: the window is full, its 1,000 rows cost more than 400,000 postings
    assert prefer_fts_bm25([common], counts)
    assert not prefer_fts_bm25(
        [common, MatchPhrase("россия", TEXT, 2)], counts | {"россия": 300_000}
    )
