"""The /search query builder: any text gives a valid FTS5 query or a friendly QueryError."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import QueryError
from bot.search import HOW_TO_SEARCH, MAX_TERMS, QueryBuilder
from bot.storage import Storage
from tests.conftest import NOW, add_feeds, incoming, make_entry


@pytest.fixture(scope="module")
def fts() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='unicode61 remove_diacritics 2')")
    conn.execute("INSERT INTO t VALUES ('Казахстан выдал России дезертира Бажукова')")
    return conn


@pytest.mark.parametrize(
    ("text", "finds"),
    [
        ("Бажуков", True),
        ("казахстана", True),
        ("дезертир России", True),
        ("Казахстан Армения", False),  # every word must match
        ('"Бажуков', True),
        ("Бажуков*) (", True),
        ("Бажуков OR Армения", False),  # OR is just a word here, and it is not in the text
        ("(Бажуков)^", True),
        ("'; DROP TABLE t; --", False),
        ("Бажуков -", True),
    ],
)
def test_queries(fts: sqlite3.Connection, text: str, finds: bool) -> None:
    query = QueryBuilder().build(text)
    rows = fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (query.match,)).fetchall()
    assert bool(rows) is finds


@pytest.mark.parametrize("text", ["", "   ", "*", '""', "-", "🙂🙂", "a", "() : ^"])
def test_nothing_to_search_is_a_friendly_error(text: str) -> None:
    with pytest.raises(QueryError, match="search") as info:
        QueryBuilder().build(text)
    assert str(info.value) == HOW_TO_SEARCH


def test_long_input_is_bounded() -> None:
    query = QueryBuilder().build(" ".join(f"word{i}" for i in range(2000)))
    assert len(query.words) == MAX_TERMS


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_valid_query_or_a_query_error(fts: sqlite3.Connection, text: str) -> None:
    builder = QueryBuilder()
    try:
        query = builder.build(text)
    except QueryError:
        return
    fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (query.match,)).fetchall()


async def test_search_ranks_matches_and_shows_each_story_once(storage: Storage) -> None:
    a, b = await add_feeds(storage, "A", "B")
    old = make_entry("Bazhukov extradited", link="https://e.org/1", published=NOW - 90 * 86400)
    new = make_entry("Bazhukov appeal", link="https://e.org/2", published=NOW - 3600)
    other = make_entry("Weather in Almaty", link="https://e.org/3")
    await storage.stories.save(
        a, [incoming(old), incoming(new), incoming(other)], now=NOW, alert_max_age=0
    )
    await storage.stories.save(
        b, [incoming(make_entry("Bazhukov", link="https://e.org/2"))], now=NOW, alert_max_age=0
    )
    found = await storage.search.stories(QueryBuilder().build("bazhukov"), limit=5, now=NOW)
    assert [s.title for s in found] == ["Bazhukov appeal", "Bazhukov extradited"]
    assert found[0].sources == 2
