"""Search on a real SQLite file: forms, transliteration, filters, ranking, the index kept in step
with stories and sources, the backfill of old stories, and arbitrary input end to end."""

from __future__ import annotations

import asyncio
import sqlite3
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.country_codes import known_country_codes
from bot.errors import ConfigError, QueryError
from bot.model import FeedSpec, Verdict
from bot.names import KEYS_VERSION
from bot.search import QueryBuilder
from bot.search.document import LEADS_MAX, Document, Row, Source, index_row
from bot.search.forms import Forms
from bot.storage import FeedState, Storage, rekey
from bot.storage import search as search_module
from bot.storage.db import SyncTransaction
from bot.storage.migrations import MIGRATIONS
from bot.storage.search_index import FTS_COLUMNS, write_row
from tests.conftest import NOW, add_feeds, incoming, make_entry

DAY = 86400.0
KZ = Verdict(True, 0.9, ("KZ", "RU"), "extradition", ())
KG = Verdict(True, 0.9, ("KG", "RU"), "deportation", ())
AM = Verdict(True, 0.9, ("AM", "RU"), "detention", ())
STORIES = [
    # (feed, title, summary, published days ago, verdict)
    ("Meduza", "Казахстан выдал России дезертира Бажукова", "Его экстрадировали ночью.", 1, KZ),
    ("OVD-Info", "Kazakhstan extradites deserter Bazhukov", "Lawyers will appeal.", 400, KZ),
    ("Kloop", "Кыргызстан депортировал активиста Мовлаева", "Суд отказал в убежище.", 30, KG),
    ("Meduza", "В Ереване задержан журналист Сидоров", "По запросу России.", 10, AM),
    ("Hromadske", "Вірменія: затримано журналіста Сидорова", "Суд розгляне справу.", 9, AM),
]
BUILDER = QueryBuilder(known_country_codes())


@pytest.fixture
async def filled(storage: Storage) -> Storage:
    feeds = {
        f.name: f for f in await add_feeds(storage, "Meduza", "OVD-Info", "Kloop", "Hromadske")
    }
    for number, (feed, title, summary, days, verdict) in enumerate(STORIES):
        entry = make_entry(
            title, summary=summary, link=f"https://e.org/{number}", published=NOW - days * DAY
        )
        await storage.stories.save(
            feeds[feed], [incoming(entry, verdict)], now=NOW, alert_max_age=0
        )
    return storage


async def titles(storage: Storage, text: str, **kwargs: int) -> list[str]:
    found = await storage.search.stories(BUILDER.build(text, now=NOW), limit=10, now=NOW, **kwargs)
    return [s.title for s in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # transliteration both ways, and cases/genders of a surname
        ("Bazhukov", {0, 1}),
        ("Бажуков", {0, 1}),
        ("бажукова", {0, 1}),
        ("Movlaev", {2}),
        ("Movlayev", {2}),
        ("Sidorova", {3, 4}),
        # lemmas (ru, uk), English stems, and words that name a tagged action or country
        ("экстрадирован", {0, 1}),  # lemma of экстрадировали; action tag of the English story
        ("extradition", {0, 1}),
        ("extradited", {0, 1}),
        ("депортация", {2}),
        ("deported Kyrgyzstan", {2}),
        ("Киргизии", {2}),
        ("задержания", {3, 4}),  # lemma, and the detention tag of the Ukrainian story
        ("журналиста", {3}),  # Russian lemma; Ukrainian spells it журналіст
        ("журналістів", {4}),  # Ukrainian lemma
        # every word must match; phrases; exclusions
        ("Бажуков appeal", {1}),
        ('"отказал в убежище"', {2}),
        ('"в убежище отказал"', set()),
        ("Сидоров -Ереван", {4}),
        ('Бажуков -"lawyers will"', {0}),
        # filters
        ("country:kz", {0, 1}),
        ("country:Киргизия", {2}),
        ("country:kg,am", {2, 3, 4}),
        ("action:detention", {3, 4}),
        ("action:экстрадиция Bazhukov", {0, 1}),
        ("from:meduza", {0, 3}),
        ('from:"ovd info"', {1}),
        ("from:ovd-info Бажуков", {1}),
        ("from:meduza,ovd-info", {0, 1, 3}),  # either outlet, as country:kg,am is
        ("from:meduza from:ovd-info", {0, 1, 3}),
        ("since:2026-01-20", {0, 3, 4}),
        ("until:2025-12-31", {1}),
        ("Бажуков since:2024-01-01 until:2025-12-31", {1}),
        ("country:kz since:2026-02-01", {0}),
        # nothing of the kind
        ("Навальный", set()),
        ("country:tr", set()),
    ],
)
async def test_search_finds_exactly(filled: Storage, text: str, expected: set[int]) -> None:
    wanted = {STORIES[i][1] for i in expected}
    assert set(await titles(filled, text)) == wanted


async def test_ranking_blends_relevance_and_recency(filled: Storage) -> None:
    # Both Bazhukov stories match; the one from yesterday beats the one from last year.
    assert await titles(filled, "Бажуков") == [STORIES[0][1], STORIES[1][1]]
    # Without words: newest first.
    assert await titles(filled, "country:kz,kg,am") == [STORIES[i][1] for i in (0, 4, 3, 2, 1)]


async def test_pages_do_not_overlap(filled: Storage) -> None:
    query = BUILDER.build("country:kz,kg,am", now=NOW)
    first = await filled.search.stories(query, limit=2, now=NOW)
    second = await filled.search.stories(query, limit=2, offset=2, now=NOW)
    third = await filled.search.stories(query, limit=2, offset=4, now=NOW)
    ids = [s.id for s in first + second + third]
    assert len(ids) == len(set(ids)) == 5


async def save_one(storage: Storage, feed: FeedState, title: str) -> None:
    """A report of the same story (the same link) from `feed`."""
    entry = make_entry(title, link="https://e.org/same")
    await storage.stories.save(feed, [incoming(entry, KZ)], now=NOW, alert_max_age=0)


async def test_a_story_appears_once_with_every_source_searchable(storage: Storage) -> None:
    a, b = await add_feeds(storage, "Meduza", "Radio Azattyk")
    await save_one(storage, a, "Бажукова выдали России")
    await save_one(storage, b, "Bazhukov handed over to Moscow")
    for text in ("Бажуков", "handed over", "from:azattyk", "Moscow"):
        found = await storage.search.stories(BUILDER.build(text, now=NOW), limit=5, now=NOW)
        assert [(s.title, s.sources) for s in found] == [("Бажукова выдали России", 2)], text
    sources = await storage.stories.sources(found[0].id)
    assert [s.outlet for s in sources] == ["Meduza", "Radio Azattyk"]


async def test_a_name_only_a_later_reports_lead_gives_finds_the_story(storage: Storage) -> None:
    # First reports often name nobody; the name a later outlet's lead gives must find the case.
    a, b = await add_feeds(storage, "Meduza", "Radio Azattyk")
    first = make_entry("Казахстан выдал России дезертира", summary="Его задержали в Алматы.")
    await storage.stories.save(a, [incoming(first, KZ)], now=NOW, alert_max_age=0)
    later = make_entry(
        "Kazakhstan extradites a deserter", summary="Mikhail Bazhukov was flown to Moscow."
    )
    await storage.stories.save(b, [incoming(later, KZ)], now=NOW, alert_max_age=0)
    for text in ("Бажуков", "Bazhukov", "flown"):
        assert await titles(storage, text) == ["Казахстан выдал России дезертира"], text


async def test_a_latin_name_finds_ukrainian_case_forms(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Hromadske")
    entry = make_entry(
        "Казахстан видав Росії дезертира", summary="Силовики разом із Бажуковим вилетіли."
    )
    await storage.stories.save(feed, [incoming(entry, KZ)], now=NOW, alert_max_age=0)
    for text in ("Bazhukov", "Бажуков", "бажукова"):
        assert await titles(storage, text) == ["Казахстан видав Росії дезертира"], text


async def test_a_surname_made_from_a_first_name_is_not_found_by_that_name(
    storage: Storage,
) -> None:
    # "Павлов" also reads as the plural of "Павел": a lawyer asking for Павел must not get it.
    [feed] = await add_feeds(storage, "Meduza")
    entry = make_entry(
        "Казахстан выдал России активиста", summary="Активист Павлов задержан в Астане."
    )
    await storage.stories.save(feed, [incoming(entry, KZ)], now=NOW, alert_max_age=0)
    assert await titles(storage, "Павлов") == ["Казахстан выдал России активиста"]
    assert await titles(storage, "Павел") == []


async def store_texts(storage: Storage, texts: Sequence[tuple[str, str]]) -> None:
    """Stories of one outlet from (title, lead) pairs."""
    [feed] = await add_feeds(storage, "Meduza")
    entries = [
        make_entry(title, summary=lead, link=f"https://meduza.example/{n}")
        for n, (title, lead) in enumerate(texts)
    ]
    await storage.stories.save(feed, [incoming(e, KZ) for e in entries], now=NOW, alert_max_age=0)


async def test_a_surname_made_from_a_noun_is_not_found_by_that_noun(storage: Storage) -> None:
    # "Романов" also reads as "of novels" (and Роман is a first name): a lawyer asking for
    # Романов must get Романов's case, not every Роман nor every novel.
    await store_texts(
        storage,
        [
            ("Казахстан выдал России Романова", "Его задержали в Алматы."),
            ("Армения задержала активиста", "Роман Иванов задержан в Ереване."),
            ("Писатель закончил роман в Тбилиси", "Грузия отказала в выдаче."),
        ],
    )
    for text in ("Романов", "романова", "Romanov"):
        assert await titles(storage, text) == ["Казахстан выдал России Романова"], text
    assert len(await titles(storage, "роман")) == 2  # the noun and the first name, as typed


async def test_a_name_is_found_whatever_marks_its_writers_left_in_it(storage: Storage) -> None:
    """An apostrophe (Ukrainian Лук'яненко, typed as ' or ’ or not at all), a soft hyphen or a
    zero-width space from a publishing system, a stress mark: the same name every time."""
    texts = [
        ("Грузія видала Росії Лук'яненка", "Його затримали в Тбілісі."),
        ("Казахстан выдал России Мов\xadлаева", "Его задержали в Алматы."),
    ]
    await store_texts(storage, texts)
    for text in ("Лук'яненко", "Лук’яненка", "Лукяненко", "Lukyanenko", "лук\u200bяненка"):
        assert await titles(storage, text) == [texts[0][0]], text
    for text in ("Мовлаев", "Мов\xadлаева", "Мовла\u0301ев", "Movlaev"):
        assert await titles(storage, text) == [texts[1][0]], text


async def test_a_hyphenated_name_is_found_in_every_form(storage: Storage) -> None:
    # Typed as written (Абдул-Азиз), it must find the declined name and its transliteration,
    # as the same words typed apart do; quoting it asks for that exact form.
    texts = [
        ("В Стамбуле задержан Абдул-Азиз Хаджиев", "Его могут выдать России."),
        ("Турция выдала России Абдул-Азиза Хаджиева", "Экстрадиция состоялась."),
        ("Turkey extradites Abdul-Aziz Khadzhiev", "He was handed over."),
        ("В Ереване задержан Азиз Ибрагимов", "Другое дело."),
    ]
    await store_texts(storage, texts)
    everyone = {title for title, _ in texts[:3]}
    for text in ("Абдул-Азиз", "Хаджиев Абдул-Азиз"):
        assert set(await titles(storage, text)) == everyone, text
    for text in ("Абдул-Азиза", "Abdul-Aziz"):  # as the words typed apart find
        assert await titles(storage, text) == await titles(storage, text.replace("-", " "))
    # (Азиза is also a woman's name, so a Latin key does not lead from it to Aziz, nor back.)
    assert texts[2][0] in await titles(storage, "Abdul-Aziz")
    assert await titles(storage, '"Абдул-Азиза"') == [texts[1][0]]


async def test_keys_of_older_name_rules_are_recomputed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite3"
    storage = await Storage.open(path, now=NOW)
    [feed] = await add_feeds(storage, "Hromadske")
    entry = make_entry("Казахстан видав Росії дезертира", summary="Разом із Бажуковим.")
    await storage.stories.save(feed, [incoming(entry, KZ)], now=NOW, alert_max_age=0)
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    for key, phrase in (("kovalov", "Ковальов"), ("kovalev", "Ковалёв"), ("solovov", "Соловйов")):
        await storage.watchlist.add(1, key, phrase, now=NOW, limit=10)
    await storage.search_index.flush()

    def as_written_by_version_1(tx: SyncTransaction) -> None:
        # What the old rules stored: the Ukrainian instrumental's own key everywhere.
        tx.execute("UPDATE stories SET names = ' bashukovim '")
        tx.execute("UPDATE story_names SET name = 'bashukovim'")
        row = tx.fetchone(f"SELECT {FTS_COLUMNS} FROM search_fts")
        assert row is not None
        old = (*tuple(row)[:4], row["terms"].replace("bashukov", "bashukovim"), row["tags"])
        write_row(tx, 1, old)
        tx.execute("DELETE FROM counters WHERE name = 'name_keys'")

    await storage.db.run(as_written_by_version_1)
    assert await titles(storage, "Bazhukov") == []
    await storage.close()
    storage = await Storage.open(path, now=NOW + DAY)
    try:
        assert await titles(storage, "Bazhukov") == ["Казахстан видав Росії дезертира"]
        assert await storage.db.scalar("SELECT names FROM stories") == " bashukov bashukovim "
        names = await storage.db.fetchall("SELECT name FROM story_names ORDER BY name")
        assert [r["name"] for r in names] == ["bashukov", "bashukovim"]
        watches = await storage.db.fetchall("SELECT keys, phrase FROM watchlist ORDER BY keys")
        assert [tuple(r) for r in watches] == [("kovalev", "Ковалёв"), ("solovev", "Соловйов")]
        version = "SELECT value FROM counters WHERE name = 'name_keys'"
        assert await storage.db.scalar(version) == KEYS_VERSION
        assert await storage.db.scalar("SELECT COUNT(*) FROM search_pending") == 0
    finally:
        await storage.close()


ZUIKOV = "Казахстан выдал России дезертира Андрея Зуйкова"
ZUIKOV_TEXT = "Власти Казахстана передали военным дезертира Зуйкова, бежавшего от мобилизации."


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


async def test_decomposed_text_is_found_as_typed(storage: Storage) -> None:
    # A story stored with decomposed Cyrillic (й as и + breve: before feed text was composed
    # on reading) was indexed as other words: "зуи", "кова". /search Зуйков found nothing.
    [feed] = await add_feeds(storage, "Outlet")
    entry = make_entry(_nfd(ZUIKOV), summary=_nfd(ZUIKOV_TEXT), link="https://e.org/1")
    await storage.stories.save(feed, [incoming(entry, KZ)], now=NOW, alert_max_age=0)
    assert await titles(storage, "Зуйков") == [_nfd(ZUIKOV)]
    assert await titles(storage, "Zuikov") == [_nfd(ZUIKOV)]


async def test_stories_indexed_before_text_was_composed_alone_are_indexed_again(
    storage: Storage,
) -> None:
    """Keys version 11 composes decomposed text and drops a grave stress mark (`bot.words`): a
    story whose stored text holds a combining mark is indexed again, without re-indexing every
    story (hours on a big database)."""
    feed, other = await add_feeds(storage, "Outlet", "Other")
    reports = [  # (feed, title, lead, link): the last joins the story before it by its link
        (feed, _nfd(ZUIKOV), ZUIKOV_TEXT, "https://e.org/1"),
        (
            feed,
            "Казахстан выдал России Петро\u0300ва",
            "Его экстрадировали ночью.",
            "https://e.org/2",
        ),
        (feed, "Кыргызстан депортировал активиста Мовлаева", "Суд отказал.", "https://e.org/3"),
        (feed, "Армения выдала России активиста Сидорова", "Суд отказал.", "https://e.org/4"),
        (other, "Армения выдала Сидорова", _nfd("Его жена Алёна обжалует."), "https://e.org/4"),
    ]
    for n, (source, title, text, link) in enumerate(reports):
        entry = make_entry(title, summary=text, link=link)
        await storage.stories.save(source, [incoming(entry, KZ)], now=NOW + n, alert_max_age=0)
    await storage.search_index.flush()
    await storage.db.execute("UPDATE counters SET value = 10 WHERE name = 'name_keys'")
    assert await rekey.upgrade(storage.db, now=NOW)
    queued = (
        "SELECT s.title FROM search_pending p JOIN stories s ON s.id = p.story_id ORDER BY s.id"
    )
    assert [r[0] for r in await storage.db.fetchall(queued)] == [
        _nfd(ZUIKOV), reports[1][1], reports[3][1]
    ]  # fmt: skip


def test_a_rows_body_takes_the_first_distinct_later_leads_up_to_the_limit() -> None:
    leads = ("own lead", *(f"lead{n % 25}x" for n in range(50)))
    sources = (Source("First", "Title"), Source("Second", "Title"))
    doc = Document("Title", "own lead", ("KZ",), None, NOW, "en", sources, leads)
    body = index_row(doc, Forms())[2].split()
    assert body == ["own", "lead", *(f"lead{n}x" for n in range(LEADS_MAX))]


async def test_an_edit_reindexes_the_story(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Meduza")
    first = make_entry("Задержан активист Петров", link="https://e.org/p", guid="g")
    await storage.stories.save(feed, [incoming(first, AM, key="g")], now=NOW, alert_max_age=0)
    edited = make_entry("Задержан активист Петренко", link="https://e.org/p", guid="g")
    await storage.stories.save(feed, [incoming(edited, AM, key="g")], now=NOW, alert_max_age=0)
    assert await titles(storage, "Петренко") == ["Задержан активист Петренко"]
    assert await titles(storage, "Петров") == []


async def indexed(storage: Storage) -> int:
    return int(await storage.db.scalar("SELECT COUNT(*) FROM search_fts"))


async def test_saving_queues_a_story_once_and_a_flush_indexes_it(storage: Storage) -> None:
    feeds = await add_feeds(storage, "Meduza", "Radio Azattyk", "Kloop")
    link = "https://e.org/same"
    for feed in feeds:  # three sources of one story: one queued row, re-armed twice
        entry = make_entry(f"Бажукова выдали России ({feed.name})", link=link)
        await storage.stories.save(feed, [incoming(entry, KZ)], now=NOW, alert_max_age=0)
    assert await indexed(storage) == 0
    rows = await storage.db.fetchall("SELECT story_id, version FROM search_pending")
    assert [tuple(r) for r in rows] == [(1, 2)]
    assert await storage.search_index.flush() == 1
    assert await indexed(storage) == 1
    assert await storage.db.scalar("SELECT COUNT(*) FROM search_pending") == 0
    assert await storage.search_index.flush() == 0


async def test_rows_computed_elsewhere_are_not_written_over_a_newer_change(
    storage: Storage,
) -> None:
    a, b = await add_feeds(storage, "Meduza", "Radio Azattyk")
    await save_one(storage, a, "Бажукова выдали России")
    seen: list[list[str]] = []

    async def rows_of(documents: Sequence[Document]) -> list[Row]:
        seen.append([s.outlet for d in documents for s in d.sources])
        if len(seen) == 1:  # the story gains a source while its row is being computed
            await save_one(storage, b, "Bazhukov handed over to Moscow")
        return [index_row(d, storage.forms) for d in documents]

    assert await storage.search_index.flush_with(rows_of) == 0  # stale: left queued
    assert await indexed(storage) == 0
    assert await storage.search_index.flush_with(rows_of) == 1
    assert seen == [["Meduza"], ["Meduza", "Radio Azattyk"]]
    assert await titles(storage, "from:azattyk") == ["Бажукова выдали России"]


@pytest.mark.parametrize(
    ("nominative", "oblique"),
    [
        ("экстрадиция Казахстан", "экстрадиция в Казахстане"),
        ("Бажуков country:Казахстан", "Бажуков country:Казахстані"),
    ],
)
async def test_a_country_in_another_case_finds_what_its_name_finds(
    filled: Storage, nominative: str, oblique: str
) -> None:
    expected = await titles(filled, nominative)
    assert expected
    assert await titles(filled, oblique) == expected


async def test_timeline_is_oldest_first(filled: Storage) -> None:
    found, total = await filled.search.timeline(BUILDER.build("Bazhukov", now=NOW))
    assert [s.title for s in found] == [STORIES[1][1], STORIES[0][1]]
    assert total == 2


async def test_a_long_timeline_keeps_the_newest_stories(filled: Storage) -> None:
    found, total = await filled.search.timeline(BUILDER.build("Bazhukov", now=NOW), limit=1)
    assert [s.title for s in found] == [STORIES[0][1]]
    assert total == 2


async def test_stories_stored_before_search_existed_are_indexed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.execute("INSERT INTO feeds (id, name, url, interval) VALUES (1, 'Kloop', 'u', 600)")
    conn.execute(
        "INSERT INTO stories (id, created_at, published_at, title, summary, outlet, countries,"
        " action, score) VALUES (7, ?, ?, 'Кыргызстан выдал Мовлаева', '', 'Kloop', ' KG RU ',"
        " 'extradition', 0.9)",
        (NOW, NOW),
    )
    conn.execute(
        "INSERT INTO entries (feed_id, entry_key, content_hash, story_id, title, seen_at)"
        " VALUES (1, 'k', 'h', 7, 'Кыргызстан выдал Мовлаева', ?)",
        (NOW,),
    )
    conn.commit()
    conn.close()
    storage = await Storage.open(path)
    try:
        assert await titles(storage, "Movlaev country:kg") == ["Кыргызстан выдал Мовлаева"]
        assert await storage.db.scalar("SELECT COUNT(*) FROM search_pending") == 0
    finally:
        await storage.close()


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hypo") / "db.sqlite3"

    async def fill() -> None:
        storage = await Storage.open(path)
        try:
            [feed] = await add_feeds(storage, "Meduza")
            entries = [
                incoming(make_entry(t, summary=s, link=f"https://e.org/{n}"), v)
                for n, (_, t, s, _, v) in enumerate(STORIES)
            ]
            await storage.stories.save(feed, entries, now=NOW, alert_max_age=0)
        finally:
            await storage.close()

    asyncio.run(fill())
    return path


QUERY_TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.sampled_from(
            ['"', "-", "*", "^", ":", "(", ")", "country:", "since:", "until:", "from:",
             "action:", "AND", "OR", "NOT", "NEAR", "Бажуков", "kz", "2025-03", "🙂", " ", "'",
             "\\", "\x00", "{", "}", "title", "+", "ё", "İ", "ǅ", "\u0301"]
        ),
        max_size=40,
    ).map("".join),
)  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(QUERY_TEXT)
def test_any_text_searches_or_says_how(store_path: Path, text: str) -> None:
    async def search() -> str:
        storage = await Storage.open(store_path)
        try:
            query = BUILDER.build(text, now=NOW)
            await storage.search.stories(query, limit=5, now=NOW)
            await storage.search.timeline(query)
        except QueryError as exc:
            return str(exc)
        finally:
            await storage.close()
        return ""

    refusal = asyncio.run(search())  # any other exception fails the test
    assert "\n" not in refusal
    assert "fts5" not in refusal.lower()


HEADLINE = "Казахстан выдал России дезертира Бажукова"
IN_PASSING = "Кыргызстан выдал России дезертира"


async def store_headline_and_passing_mention(storage: Storage) -> None:
    """Two stories of the same day: the name in one's headline (declined), in the other's lead,
    among unrelated stories so that the words' weights are those of a real index."""
    [feed] = await add_feeds(storage, "Meduza")
    texts = [(f"Новости региона номер {n}", "Суд рассмотрел дело.") for n in range(40)]
    texts += [
        (HEADLINE, "Его экстрадировали ночью из Алматы."),
        (IN_PASSING, "Среди выданных мог быть и Бажуков, пишут СМИ."),
    ]
    entries = [
        incoming(make_entry(t, summary=s, link=f"https://e.org/h{n}", published=NOW - 2 * DAY), KZ)
        for n, (t, s) in enumerate(texts)
    ]
    await storage.stories.save(feed, entries, now=NOW, alert_max_age=0)


@pytest.mark.parametrize("text", ["Бажуков", "Bazhukov", "бажукова", "Бажукову"])
async def test_a_name_in_the_headline_outranks_a_mention_in_passing(
    storage: Storage, text: str
) -> None:
    # The headline's weight must hold for every form of the name, not only the one it uses.
    await store_headline_and_passing_mention(storage)
    assert await titles(storage, text) == [HEADLINE, IN_PASSING]


async def test_an_index_of_older_code_is_rebuilt_on_open(tmp_path: Path) -> None:
    """A database whose rows kept the headline's forms with the lead's (before migration 15)
    ranks as a new one does once opened; a watch-only story still gets no row."""
    path = tmp_path / "v14.sqlite3"
    storage = await Storage.open(path, now=NOW)
    await store_headline_and_passing_mention(storage)
    [feed] = await add_feeds(storage, "OVD-Info")
    hidden = make_entry("Бажуков задержан", link="https://e.org/hidden")
    await storage.stories.save(feed, [incoming(hidden, KZ)], now=NOW, alert_max_age=0)
    await storage.search_index.flush()
    await storage.db.execute("UPDATE stories SET broadcast = 0 WHERE title = 'Бажуков задержан'")
    await storage.close()

    conn = sqlite3.connect(path)  # the schema and rows of version 14, as older code wrote them
    conn.executescript(
        """
        DROP TABLE search_fts;
        CREATE VIRTUAL TABLE search_fts USING fts5 (
            title, body, outlets, terms, tags, tokenize = 'unicode61 remove_diacritics 2'
        );
        DELETE FROM search_terms;
        DELETE FROM search_pending;
        ALTER TABLE stories DROP COLUMN report_countries;  -- migration 16's
        DROP INDEX entries_story_copy;  -- migration 17's
        ALTER TABLE stories DROP COLUMN first_names;  -- migration 18's
        ALTER TABLE deliveries DROP COLUMN first_attempt_at;  -- migration 19's
        ALTER TABLE chats DROP COLUMN last_digest_at;  -- migration 20's
        ALTER TABLE stories DROP COLUMN head_feed_id;  -- migration 26's
        DROP INDEX entries_story_outlet;  -- migration 25's
        ALTER TABLE entries DROP COLUMN named_outlet;  -- migration 24's
        ALTER TABLE stories DROP COLUMN named_outlet;
        PRAGMA user_version = 14;
        """
    )
    forms = Forms()
    for story_id, title, summary, countries, day in conn.execute(
        "SELECT id, title, summary, countries, COALESCE(published_at, created_at) FROM stories"
    ).fetchall():
        doc = Document(title, summary, tuple(countries.split()), "extradition", day, "ru",
                       (Source("Meduza", title),))  # fmt: skip
        new = index_row(doc, forms)
        old = (new[0], new[2], new[3], forms.document_terms([title, summary], "ru"), new[-1])
        conn.execute(
            "INSERT INTO search_fts (rowid, title, body, outlets, terms, tags)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (story_id, *old),
        )  # a watch-only story's row too: the rebuild must not keep it
    conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, search_fts, 'row')")
    conn.execute("INSERT INTO search_terms SELECT term, doc FROM temp.vocab")
    conn.execute("INSERT INTO search_terms SELECT '', COUNT(*) FROM search_fts")
    conn.commit()
    conn.close()

    storage = await Storage.open(path, now=NOW)
    try:
        for text in ("Бажуков", "Bazhukov"):
            assert await titles(storage, text) == [HEADLINE, IN_PASSING], text
        assert await storage.db.scalar("SELECT COUNT(*) FROM search_pending") == 0
        public = await storage.db.scalar("SELECT COUNT(*) FROM stories WHERE broadcast = 1")
        assert await indexed(storage) == public == 42
        await storage.db.execute(
            "CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, search_fts, 'row')"
        )
        rows = await storage.db.fetchall("SELECT term, doc FROM temp.vocab")
        kept = {r[0]: r[1] for r in await storage.db.fetchall("SELECT * FROM search_terms")}
        assert kept.pop("") == public
        assert kept == {r[0]: r[1] for r in rows}
    finally:
        await storage.close()


NEWER, OLDER = "Дезертир Бажуков выдан России", "Дезертир Бажуков выдан Москве"


@pytest.mark.parametrize(
    "text",
    ["Бажуков", "Бажуков country:kz,kg", "Бажуков since:2025-12-15",
     "Бажуков country:kz,kg since:2025-12-15 until:2026-02-28", "Бажуков action:extradition"],
)  # fmt: skip
async def test_filters_narrow_without_reordering(storage: Storage, text: str) -> None:
    # Two stories alike but for their date: the newer is in the common country and year, the
    # older in rare ones (KG, December 2025). A filter both pass must not let the rarer tag
    # outrank the date.
    [feed] = await add_feeds(storage, "Meduza")
    rows = [(f"Новости Казахстана {n}", 2, KZ) for n in range(300)]
    rows += [(f"Новости Кыргызстана {n}", 45, KG) for n in range(2)]
    rows += [(NEWER, 1, KZ), (OLDER, 41, Verdict(True, 0.9, ("KG", "RU"), "extradition", ()))]
    entries = [
        incoming(make_entry(t, link=f"https://e.org/f{n}", published=NOW - days * DAY), verdict)
        for n, (t, days, verdict) in enumerate(rows)
    ]
    await storage.stories.save(feed, entries, now=NOW, alert_max_age=0)
    assert await titles(storage, text) == [NEWER, OLDER]


async def test_ranking_plans_with_the_stories_stored_since_the_last_flush(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ranking()` tells how `stories()` ranks: from the same document counts, which count a
    story stored since the last flush (before, it planned with none: always "fts")."""
    monkeypatch.setattr(search_module, "POSTINGS_PER_CANDIDATE", 0)  # any posting: "window"
    [feed] = await add_feeds(storage, "Meduza")
    entry = make_entry("Задержан дезертир Иванов")
    await storage.stories.save(feed, [incoming(entry, KZ)], now=NOW, alert_max_age=0)
    assert await storage.search.ranking(BUILDER.build("дезертир", now=NOW)) == "window"


@pytest.mark.parametrize("ranking", ["fts", "window", "newest"])
async def test_a_late_backlog_of_older_stories_does_not_hide_newer_ones(
    storage: Storage, monkeypatch: pytest.MonkeyPatch, ranking: str
) -> None:
    """Ranking looks at the newest RANK_WINDOW matches only; newest by date, not by when they
    were stored: a feed added later brings its archive of older stories, stored after the
    news (higher ids), and those must not push the news out of the window."""
    monkeypatch.setattr(search_module, "RANK_WINDOW", 4)
    # "fts" when the words are rare, as here; "window" when scoring here is the cheaper.
    monkeypatch.setattr(
        search_module, "POSTINGS_PER_CANDIDATE", 0 if ranking == "window" else 10**9
    )
    news, archive = await add_feeds(storage, "Meduza", "Archive")
    people = iter(["Иванов", "Петров", "Сидоров", "Смирнов", "Кузнецов", "Попов", "Соколов",
                   "Морозов", "Волков"])  # fmt: skip
    for feed, days in ((news, (1, 2, 3)), (archive, (40, 41, 42, 43, 44, 45))):
        for day in days:
            entry = make_entry(
                f"Задержан дезертир {next(people)}",
                summary=f"Выпуск {day}.",
                link=f"https://e.org/{day}",
                published=NOW - day * DAY,
            )
            await storage.stories.save(feed, [incoming(entry, KZ)], now=NOW, alert_max_age=0)
    text = "country:kz" if ranking == "newest" else "дезертир"
    query = BUILDER.build(text, now=NOW)
    assert await storage.search.ranking(query) == ranking
    pages = [await storage.search.stories(query, limit=3, offset=n, now=NOW) for n in (0, 3, 6)]
    shown = [s.id for page in pages for s in page]
    assert len(shown) == len(set(shown)) > 3  # the window's two parts: pages do not overlap
    found = pages[0]
    assert [s.title for s in found] == [
        f"Задержан дезертир {name}" for name in ("Иванов", "Петров", "Сидоров")
    ]


async def test_a_renamed_feed_is_found_by_its_new_name(storage: Storage) -> None:
    """A lawyer searching `from:` the outlet's name as the bot now shows it: the stories its
    feed reported before the rename are re-indexed under the new name, not left findable only
    by the old one until some later report touches them."""
    [ovd] = await add_feeds(storage, "OVD")
    entry = make_entry("Казахстан выдал России дезертира Бажукова", link="https://ovd.example/1")
    await storage.stories.save(ovd, [incoming(entry)], now=NOW, alert_max_age=0)
    await storage.search_index.flush()
    await storage.feeds.sync([FeedSpec("Mediazona", ovd.url)], now=NOW + 60)
    await storage.search_index.flush()
    assert await titles(storage, "from:mediazona") == [entry.title]
    assert await titles(storage, "from:ovd") == []


KG_REPORT = Verdict(True, 0.9, ("KG", "RU"), "extradition", ())


async def _story_headed_in_kz_joined_in_kg(storage: Storage) -> int:
    meduza, kloop = await add_feeds(storage, "Meduza", "Kloop")
    head = make_entry("Казахстан выдал России активиста Петренко", link="https://e.org/p")
    await storage.stories.save(meduza, [incoming(head, KZ)], now=NOW, alert_max_age=86400)
    joined = make_entry("Петренко вывезли из Бишкека в Россию", link="https://e.org/p")
    await storage.stories.save(kloop, [incoming(joined, KG_REPORT)], now=NOW + 60, alert_max_age=0)
    story = await storage.stories.get(1)
    assert story is not None
    assert "KG" in (story.report_countries or ())
    return story.id


async def test_country_filter_finds_a_story_by_any_relevant_reports_country(
    storage: Storage,
) -> None:
    """A chat filtering on Kyrgyzstan is alerted to a story that a KG report joined (its
    `report_countries`); /search country:kg must find it too, not only the head's KZ."""
    story_id = await _story_headed_in_kz_joined_in_kg(storage)
    await storage.search_index.flush()
    for query in ("country:kg", "country:kz", "Петренко country:kg"):
        found = await storage.search.stories(BUILDER.build(query, now=NOW), limit=5, now=NOW)
        assert [s.id for s in found] == [story_id], query


async def test_stories_indexed_with_their_heads_countries_only_are_indexed_again(
    tmp_path: Path,
) -> None:
    """Migration 23: rows written before report countries were tagged are rewritten."""
    path = tmp_path / "db.sqlite3"
    storage = await Storage.open(path, now=NOW)
    story_id = await _story_headed_in_kz_joined_in_kg(storage)
    await storage.search_index.flush()
    await storage.db.execute(  # the row as older code wrote it: the head's tags only
        "UPDATE search_fts SET tags = replace(tags, 'ckg', '') WHERE rowid = ?", (story_id,)
    )
    await storage.close()
    with sqlite3.connect(path) as conn:
        conn.executescript(  # without what later migrations add
            """ALTER TABLE stories DROP COLUMN head_feed_id;  -- migration 26's
               DROP INDEX entries_story_outlet;  -- migration 25's
               ALTER TABLE entries DROP COLUMN named_outlet;  -- migration 24's
               ALTER TABLE stories DROP COLUMN named_outlet;
               PRAGMA user_version = 22;"""
        )
    storage = await Storage.open(path, now=NOW)
    try:
        found = await storage.search.stories(BUILDER.build("country:kg", now=NOW), limit=5, now=NOW)
        assert [s.id for s in found] == [story_id]
    finally:
        await storage.close()


def test_migration_23_indexes_again_only_the_stories_whose_report_countries_differ() -> None:
    """Both columns are stored padded (' KZ RU '): a story whose reports name its head's
    countries only keeps its row (re-indexing every story held the upkeep lock for minutes)."""
    stories = [  # (countries, report_countries, broadcast, queued)
        (" KZ RU ", " KZ RU ", 1, False),  # one report, or all of them the head's countries
        (" KZ RU ", " KZ RU KG ", 1, True),  # a KG report joined
        ("", "", 1, False),  # no country named
        (" KZ RU ", None, 1, False),  # unknown (migration 16): its filter is not checked
        (" KZ RU ", " KZ RU KG ", 0, False),  # watch-only: not searchable
    ]
    conn = sqlite3.connect(":memory:")
    conn.executescript(";".join(MIGRATIONS[:22]) + ";PRAGMA user_version = 22;")
    conn.executemany(
        """INSERT INTO stories (id, created_at, title, summary, outlet, score, number,
                                countries, report_countries, broadcast)
           VALUES (?1, 0, 't', 's', 'o', 1, ?1, ?2, ?3, ?4)""",
        [(n, *row[:3]) for n, row in enumerate(stories, start=1)],
    )
    conn.execute("DELETE FROM search_pending")
    conn.executescript(MIGRATIONS[22])
    queued = [r[0] for r in conn.execute("SELECT story_id FROM search_pending ORDER BY 1")]
    assert queued == [n for n, row in enumerate(stories, start=1) if row[3]]


async def test_name_keys_of_newer_code_are_refused_and_left_as_they_are(tmp_path: Path) -> None:
    """A rollback past a KEYS_VERSION bump: this code must not store older keys in a database
    that newer code will not re-key again."""
    path = tmp_path / "db.sqlite3"
    storage = await Storage.open(path, now=NOW)
    await storage.db.execute(
        "UPDATE counters SET value = ? WHERE name = 'name_keys'", (KEYS_VERSION + 1,)
    )
    await storage.close()
    with pytest.raises(ConfigError, match=r"name keys version \d+ is newer"):
        await Storage.open(path, now=NOW)
    with sqlite3.connect(path) as conn:
        [version] = conn.execute("SELECT value FROM counters WHERE name = 'name_keys'").fetchone()
    assert version == KEYS_VERSION + 1
