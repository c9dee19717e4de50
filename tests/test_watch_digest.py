"""Watchlists, digests and quiet hours: pure rules, the storage hook, and the sender."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.chat_settings import is_quiet, moved_digest_at, next_digest_at
from bot.fingerprint import Fingerprinter
from bot.model import Entry
from bot.relevance.text import Lemmatizer
from bot.render import TELEGRAM_TEXT_LIMIT, digest_page
from bot.sender import Backoff
from bot.status import status_lines
from bot.storage import FeedState, Storage
from bot.watch import Watcher, WatchTerm, phrase_key
from bot.words import EntryText
from tests.conftest import IRRELEVANT, NOW, RELEVANT, add_feeds, incoming, make_entry
from tests.fakes.botapi import FakeBotAPI
from tests.telegram_harness import running_bot
from tests.test_render import story

TUESDAY_NOON = datetime(2026, 2, 3, 12, 0, tzinfo=UTC).timestamp()
MONDAY_9 = datetime(2026, 2, 9, 9, 0, tzinfo=UTC).timestamp()  # the next weekly digest at 9
H = 3600.0


@pytest.mark.parametrize(
    ("phrase", "title", "summary", "hit"),
    [
        ("Бажуков", "Казахстан выдал Бажукова", "", True),
        ("Bazhukov", "Суд над Бажуковым", "", True),
        ("Бажукова", "Court frees Baschukow", "", True),
        ("Свидетели Иеговы", "", "Дело против свидетелей Иеговы в Алматы", True),
        ("Иван Иванов", "", "Ивана Иванова задержали в Ереване", True),
        ("Иван Иванов", "", "Иванова Ивана задержали", False),  # the words in order
        # ... within one sentence: these are two people
        ("Иван Иванов", "", "Показания дал свидетель Иван. Иванов в суд не явился.", False),
        ("Иван Иванов", "Задержан Иван", "Иванов, его брат, уехал.", False),
        ("Бажуков", "Касимов выдан", "", False),
        ("Navalny", "Навального вспоминают", "", True),
        # A surname made from a first name is not that name's plural ("нет Сергеев"):
        ("Павлов", "Павла Дурова задержали", "", False),
        ("Сергей", "Сергеева выдали", "", False),
        ("Иванов", "", "Ивана отпустили", False),
        ("Павлов", "Павлова выдали", "", True),
        ("Сергей", "Сергея выдали", "", True),
        # Nor is a surname the plural of the noun it was made from ("нет романов", "волков"):
        # a watch of Романов does not meet every novel, nor a Волков every wolf.
        ("Романов", "Писатель закончил роман", "", False),
        ("Романов", "", "Роман Иванов задержан в Ереване", False),
        ("Волков", "Волки напали на стадо", "", False),
        ("Кузнецов", "", "Кузнеца отпустили", False),
        ("Романов", "Романова выдали", "", True),
        ("Романов", "", "Суд над Романовым в Бишкеке", True),
        ("Романова", "Романов задержан", "", True),
        ("Волков", "Леонида Волкова задержали", "", True),
        # Kazakh and Kyrgyz case forms (the titles' letters make them no Russian text)
        ("Бажуков", "Қазақстан Бажуковпен келісім жасады", "", True),
        ("Бажуков", "Бажукованың ісі қаралды", "", True),
        ("Ильин", "Ильиннің адвокаты шағым түсірді", "", True),
        ("Бажуков", "Бажуковдун иши боюнча сот өттү", "", True),
        ("Бажуков", "Бажуковго айып коюлду", "", True),
        # ... and those Russian spells too, met in Kazakh and Kyrgyz texts only
        ("Журавлев", "Журавлевке айып тағылды", "", True),
        ("Никитин", "Никитинге айып тағылды", "", True),
        ("Бажукова", "Қазақстан Бажукованы Ресейге экстрадициялады", "", True),
        ("Иванов", "Пожар в Ивановке", "", False),
        ("Иванов", "Ивановка: задержан активист", "", False),
        ("Алексеев", "Обыски в Алексеевке", "", False),
        ("Никитин", "Никитинка осталась без света", "", False),
        ("Митин", "Задержаны на митинге", "", False),
        ("Арестов", "Активисты арестованы", "", False),
        ("Ишин", "Кылмыш ишинде күбө сүйлөдү", "", False),  # "in the case": no Ишин
        # Latin words are names, not English stems: Roberts is not Robert, Hasanli not Hasan
        ("Roberts", "Robert was detained", "", False),
        ("Hasanli", "Hasan was detained", "", False),
        ("Hasan", "Hasanli was detained", "", False),
        ("Bazhukov", "Bazhukov's lawyer appeals", "", True),
        ("political prisoner", "Two political prisoners freed", "", True),
        # a woman's form of an adjective-like surname, in any script
        ("Politkovskaya", "Политковскую убили в Москве", "", True),
        ("Політковська", "Anna Politkovskaya", "", True),
        ("Politkovsky", "Політковська", "", True),
        ("Navalnaya", "Юлия Навальная", "", True),
        # decomposed (NFD: й as и + breve, from macOS or a PDF), and a grave stress mark
        ("Зуйков", "Казахстан выдал Зуи\u0306кова", "", True),
        ("Зуйков", "Казахстан выдал Зуйко\u0300ва", "", True),
    ],
)
def test_watch_matches_any_case_and_script(
    phrase: str, title: str, summary: str, hit: bool
) -> None:
    index = Watcher().index([WatchTerm(7, phrase)])
    assert index.chats_mentioned(EntryText.of(title, summary, None)) == (
        frozenset({7}) if hit else frozenset()
    )


class CountingLemmatizer(Lemmatizer):
    def __init__(self) -> None:
        super().__init__()
        self.name_calls = 0

    def name_forms(self, word: str, morph: str | None) -> tuple[str, ...]:
        self.name_calls += 1
        return super().name_forms(word, morph)


def test_a_chats_watches_are_indexed_again_from_the_cache() -> None:
    # Every alert drawn for a chat indexes its watches again (up to 50 of them): the
    # dictionary lookups behind each watched word are made once, not once per alert.
    lemmatizer = CountingLemmatizer()
    watcher = Watcher(lemmatizer)
    terms = [WatchTerm(7, "Романов"), WatchTerm(7, "свидетели Иеговы")]
    first = watcher.index(terms)
    assert lemmatizer.name_calls == 3
    again = watcher.index(terms)
    assert lemmatizer.name_calls == 3
    text = EntryText.of("Романова выдали", "", None)
    assert first.chats_mentioned(text) == again.chats_mentioned(text) == {7}


def test_mentioned_names_each_watch_once_in_the_order_the_text_names_them() -> None:
    terms = [WatchTerm(7, "Бажуков"), WatchTerm(7, "Касимов"), WatchTerm(8, "Bazhukov")]
    index = Watcher().index([*terms, WatchTerm(7, "Иванов")])
    found = index.mentioned(
        EntryText.of("Касимова и Бажукова выдали", "Бажуков и Касимов в Москве", None)
    )
    assert found == [WatchTerm(7, "Касимов"), WatchTerm(7, "Бажуков"), WatchTerm(8, "Bazhukov")]
    assert index.chats_mentioned(EntryText.of("Касимова и Бажукова выдали", "", None)) == {7, 8}


async def test_watches_keyed_by_the_previous_rules_are_rekeyed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite3"
    storage = await Storage.open(path, now=NOW)
    await storage.chats.ensure(1, NOW)
    # The keys of name rules version 5: -ska was no -ski, and Ивановка was Иванов's dative.
    for key, phrase in (("politkovska", "Politkovskaya"), ("ivanov", "Ивановка")):
        await storage.watchlist.add(1, key, phrase, now=NOW, limit=10)
    await storage.db.execute("UPDATE counters SET value = 5 WHERE name = 'name_keys'")
    await storage.close()
    storage = await Storage.open(path, now=NOW)
    try:
        rows = await storage.db.fetchall("SELECT keys, phrase FROM watchlist")
        assert {r["phrase"]: r["keys"] for r in rows} == {
            "Politkovskaya": phrase_key("Политковская"),
            "Ивановка": phrase_key("Ивановка"),
        }
        # /unwatch in another script finds it; the village is no longer the surname
        assert await storage.watchlist.remove(1, phrase_key("Політковська") or "")
        ivanov = phrase_key("Иванов") or ""
        assert await storage.watchlist.add(1, ivanov, "Иванов", now=NOW, limit=10) == "added"
    finally:
        await storage.close()


@pytest.mark.parametrize("phrase", ["", "a", "x" * 101, "one two three four five six seven"])
def test_unusable_watches_are_refused(phrase: str) -> None:
    assert phrase_key(phrase) is None


@pytest.mark.parametrize(
    ("mode", "hour", "offset", "due"),
    [
        ("instant", 9, 0, "2026-02-03 12:00"),
        ("daily", 9, 0, "2026-02-04 09:00"),
        ("daily", 13, 0, "2026-02-03 13:00"),
        ("daily", 12, 0, "2026-02-04 12:00"),  # strictly after now
        ("daily", 9, 5, "2026-02-04 04:00"),  # 09:00 at UTC+5
        ("weekly", 9, 0, "2026-02-09 09:00"),  # Monday
        ("weekly", 9, -3, "2026-02-09 12:00"),
    ],
)
def test_next_digest_time(mode: str, hour: int, offset: int, due: str) -> None:
    at = datetime.fromtimestamp(next_digest_at(mode, hour, offset, TUESDAY_NOON), UTC)
    assert at.strftime("%Y-%m-%d %H:%M") == due


def utc(day_time: str) -> float:
    return datetime.strptime(day_time, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp()


def utc_text(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M")


# Now is Tuesday 3 Feb 2026, 12:00 UTC.
@pytest.mark.parametrize(
    ("mode", "hour", "offset", "last", "due"),
    [
        ("daily", 13, 0, "2026-02-02 09:00", "2026-02-03 13:00"),
        ("daily", 13, 0, "2026-02-03 09:00", "2026-02-04 13:00"),  # had today's already
        ("daily", 16, -3, "2026-02-03 02:00", "2026-02-03 19:00"),  # Monday 23:00 local
        ("daily", 16, -3, "2026-02-03 04:00", "2026-02-04 19:00"),  # Tuesday 01:00 local
        ("weekly", 9, 0, "2026-02-02 09:00", "2026-02-09 09:00"),
        ("instant", 9, 0, "2026-02-03 09:00", "2026-02-03 12:00"),
    ],
)
def test_next_digest_time_after_the_last_digest(
    mode: str, hour: int, offset: int, last: str, due: str
) -> None:
    assert utc_text(next_digest_at(mode, hour, offset, TUESDAY_NOON, utc(last))) == due


@pytest.mark.parametrize(
    ("modes", "hour", "offset", "now", "last", "awaited", "due"),
    [
        # Monday's weekly digest (09:00) moved to 08:00 at 08:30: at once, not in 13 days.
        ("weekly", 8, 0, "2026-02-09 08:30", "2026-02-02 09:00", "2026-02-09 09:00",
         "2026-02-09 08:30"),
        # ... or its zone set to UTC+1 at 08:30 UTC, 09:30 local: at once too.
        ("weekly", 9, 1, "2026-02-09 08:30", "2026-02-02 09:00", "2026-02-09 09:00",
         "2026-02-09 08:30"),
        ("weekly", 10, 0, "2026-02-09 08:30", "2026-02-02 09:00", "2026-02-09 09:00",
         "2026-02-09 10:00"),
        # This week's digest already went (or is going): next week's new hour.
        ("weekly", 8, 0, "2026-02-09 08:30", "2026-02-09 08:10", "2026-02-16 09:00",
         "2026-02-16 08:00"),
        # Today's digest went at 09:00; moved to 12:00 at 09:30: tomorrow, not a second today.
        ("daily", 12, 0, "2026-02-04 09:30", "2026-02-04 09:00", "2026-02-05 09:00",
         "2026-02-05 12:00"),
        # Awaited tomorrow: an earlier hour is tomorrow's, not "at once" today.
        ("daily", 8, 0, "2026-02-03 15:00", "2026-02-02 09:00", "2026-02-04 09:00",
         "2026-02-04 08:00"),
        # Daily stories await no weekly digest of this week: next Monday, whether this week
        # had a digest or not.
        ("daily weekly", 9, 0, "2026-02-04 10:00", "2026-02-04 09:00", "2026-02-05 09:00",
         "2026-02-09 09:00"),
        ("daily weekly", 9, 0, "2026-02-03 13:00", None, "2026-02-04 09:00",
         "2026-02-09 09:00"),
        # weekly -> daily on Wednesday afternoon: tomorrow's; on Monday after the weekly one
        # went: tomorrow's too.
        ("weekly daily", 9, 0, "2026-02-04 15:00", "2026-02-02 09:00", "2026-02-09 09:00",
         "2026-02-05 09:00"),
        ("weekly daily", 12, 0, "2026-02-09 10:00", "2026-02-09 09:00", "2026-02-16 09:00",
         "2026-02-10 12:00"),
        # Nothing awaited a digest (instant -> daily): as a new story would.
        ("instant daily", 9, 0, "2026-02-03 12:00", None, None, "2026-02-04 09:00"),
        ("weekly instant", 9, 0, "2026-02-09 08:30", None, "2026-02-09 09:00",
         "2026-02-09 08:30"),
    ],
)  # fmt: skip
def test_a_moved_digest_time(  # noqa: PLR0917 -- one argument per column of the table
    modes: str, hour: int, offset: int, now: str, last: str | None, awaited: str | None, due: str
) -> None:
    old_mode, mode = (modes.split() * 2)[:2]  # "weekly": the mode stays, "a b": a -> b
    at = moved_digest_at(
        mode,
        hour,
        offset,
        utc(now),
        old_mode=old_mode,
        last_digest=None if last is None else utc(last),
        awaited=None if awaited is None else utc(awaited),
    )
    assert utc_text(at) == due


@pytest.mark.parametrize(
    ("window", "offset", "utc_hour", "quiet"),
    [
        ((22, 7), 0, 23, True), ((22, 7), 0, 3, True), ((22, 7), 0, 7, False),
        ((22, 7), 0, 12, False), ((22, 7), 5, 20, True), ((1, 6), 0, 0, False),
        ((1, 6), 0, 1, True), ((None, None), 0, 23, False),
    ],
)  # fmt: skip
def test_quiet_hours(
    window: tuple[int | None, int | None], offset: int, utc_hour: int, quiet: bool
) -> None:
    now = datetime(2026, 2, 3, utc_hour, 30, tzinfo=UTC).timestamp()
    assert is_quiet(window[0], window[1], offset, now) is quiet


def test_digest_pages_split_between_stories_within_the_limit() -> None:
    stories = [story(id=i, title=f"Story {i} " + "x" * 180) for i in range(40)]
    sent, pages = 0, []
    while sent < len(stories):
        page, count = digest_page(stories[sent:], heading="Digest")
        text = page.render()[0]
        assert len(text) <= TELEGRAM_TEXT_LIMIT
        assert count >= 1
        pages.append(text)
        sent += count
    assert len(pages) > 1
    assert "Story 0 " in pages[0]
    assert f"Story {len(stories) - 1} " in pages[-1]


async def watches_bazhukov(storage: Storage, chat: int, now: float) -> None:
    """A chat that has only its watchlist: Bazhukov."""
    await storage.chats.ensure(chat, now)
    await storage.watchlist.add(chat, "bashukov", "Bazhukov", now=now, limit=50)


async def test_watched_name_alerts_the_watcher_even_when_irrelevant(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    now = time.time()
    for chat in (1, 2):
        await storage.chats.subscribe(chat, [], thread_id=None, now=now)
    key = phrase_key("Бажуков")
    assert key is not None
    await storage.watchlist.add(2, key, "Бажуков", now=now, limit=50)
    entry = make_entry("Бажукова видели в Алматы", link="https://e.org/b", published=now - 60)
    terms = [WatchTerm(c, p) for c, p in await storage.watchlist.terms()]
    watchers = (
        Watcher().index(terms).chats_mentioned(EntryText.of(entry.title, entry.summary, None))
    )
    item = replace(incoming(entry, IRRELEVANT), watchers=watchers)
    saved = await storage.stories.save(feed, [item], now=now, alert_max_age=86400)
    assert saved.deliveries == 1
    due = await storage.outbox.due(now, limit=10)
    assert [d.chat_id for d in due] == [2]  # the watcher only, not every subscriber
    assert await storage.stories.recent(5) == []  # not public: not in /recent ...
    from bot.search import QueryBuilder

    assert await storage.search.stories(QueryBuilder().build("Бажуков"), limit=5) == []


async def watching_bashukov(storage: Storage, chat: int = 7) -> None:
    await storage.chats.ensure(chat, NOW)
    await storage.watchlist.add(chat, "bashukov", "Бажуков", now=NOW, limit=50)


async def store_watched_forecast(storage: Storage, feed: FeedState) -> Entry:
    """A weather report that only chat 7's watch of Бажуков made a (watch-only) story."""
    await watching_bashukov(storage)
    noise = make_entry("Погода в Алматы", summary="Синоптик Бажуков обещает снег.")
    watched = replace(incoming(noise, IRRELEVANT), watchers=frozenset({7}))
    await storage.stories.save(feed, [watched], now=NOW, alert_max_age=86400)
    return noise


async def test_a_watch_only_story_cannot_be_looked_up_until_it_is_public(
    storage: Storage,
) -> None:
    # Story ids are sequential: /story <id> must not show what some chat watches.
    feed, other = await add_feeds(storage, "Kloop", "Meduza")
    noise = await store_watched_forecast(storage, feed)
    story_id = await storage.db.scalar("SELECT id FROM stories")
    assert await storage.stories.get(story_id) is None
    relevant = make_entry("Казахстан выдал Бажукова", link=noise.link)  # the same article
    await storage.stories.save(other, [incoming(relevant)], now=NOW, alert_max_age=86400)
    found = await storage.stories.get(story_id)
    assert found is not None
    # Its public face is the report that made it news: the watched forecast as its headline
    # would alert subscribers to the weather, and tell them that someone watches Бажуков.
    assert (found.title, found.outlet, found.link) == (relevant.title, "Meduza", relevant.link)
    assert (found.countries, found.action) == (RELEVANT.countries, RELEVANT.action)
    assert found.outlets == ("Kloop", "Meduza")  # the forecast is one source among others


async def test_a_story_made_news_by_a_report_without_a_link_links_nothing(
    storage: Storage,
) -> None:
    # Headed by Meduza, it must not link the watched blog post that Meduza did not write.
    feed, other = await add_feeds(storage, "Blog", "Meduza")
    title = "Казахстан выдал России дезертира Семёна Бажукова"
    lead = "Власти Казахстана передали российским военным дезертира Семёна Бажукова."
    fingerprint = Fingerprinter().fingerprint(title, lead, "ru")
    post = make_entry(title, summary=lead, link="https://blog.example/private-post")
    watched = replace(incoming(post, IRRELEVANT), watchers=frozenset({7}), fingerprint=fingerprint)
    await watching_bashukov(storage)
    await storage.stories.save(feed, [watched], now=NOW, alert_max_age=86400)
    bare = replace(post, link=None, published=None)
    news = replace(incoming(bare), key="guid:1", canonical_url=None, fingerprint=fingerprint)
    await storage.stories.save(other, [news], now=NOW + 60, alert_max_age=86400)
    [found] = await storage.stories.recent(5)
    assert found.outlets == ("Blog", "Meduza")  # it joined the watch-only story
    assert (found.outlet, found.link) == ("Meduza", None)
    # Nor its date: undated, the story has none, and was seen when it became news.
    assert (found.published_at, found.seen_at) == (None, datetime.fromtimestamp(NOW + 60, UTC))


async def test_public_stories_are_numbered_without_the_watch_only_ones(
    storage: Storage,
) -> None:
    # Ids are shared with watch-only stories; numbers are not, so /story 1, 2, 3 ... has no
    # gap that would tell that some chat's watch matched something.
    feed, other = await add_feeds(storage, "Kloop", "Meduza")
    noise = await store_watched_forecast(storage, feed)
    news = make_entry("Казахстан выдал Касымова", link="https://e.org/kasymov")
    await storage.stories.save(other, [incoming(news)], now=NOW, alert_max_age=86400)
    first = await storage.stories.get(1)
    assert first is not None
    assert (first.title, first.number) == (news.title, 1)
    assert first.id == 2  # the watch-only story took id 1
    assert await storage.stories.get(2) is None
    relevant = make_entry("Казахстан выдал Бажукова", link=noise.link)
    await storage.stories.save(other, [incoming(relevant)], now=NOW + 60, alert_max_age=86400)
    second = await storage.stories.get(2)  # made public: the next number
    assert second is not None
    assert (second.id, second.title) == (1, relevant.title)


async def test_a_watchers_alert_is_edited_when_its_story_becomes_news(storage: Storage) -> None:
    feed, other = await add_feeds(storage, "Kloop", "Meduza")
    await watches_bazhukov(storage, 7, NOW)
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    noise = await store_watched_forecast(storage, feed)
    [alert] = await storage.outbox.due(NOW, limit=10)
    assert await storage.outbox.mark_sending(alert.id, NOW)
    await storage.outbox.mark_sent(alert.id, message_id=500, now=NOW, chat_id=7)
    relevant = make_entry("Казахстан выдал Бажукова", link=noise.link)
    item = replace(incoming(relevant), watchers=frozenset({7}))
    await storage.stories.save(other, [item], now=NOW + 60, alert_max_age=86400)
    kinds = await storage.db.fetchall("SELECT chat_id, kind FROM deliveries ORDER BY chat_id, id")
    # The watcher's message now heads with the news and names both outlets; the subscriber
    # gets the story as news.
    assert [tuple(r) for r in kinds] == [(1, "alert"), (7, "alert"), (7, "edit")]


async def test_an_edit_that_makes_a_watch_only_story_news_gives_it_its_verdict(
    storage: Storage,
) -> None:
    [feed] = await add_feeds(storage, "Kloop")
    noise = await store_watched_forecast(storage, feed)
    edited = replace(noise, title="Казахстан выдал синоптика Бажукова")
    await storage.stories.save(
        feed,
        [replace(incoming(edited), key=incoming(noise).key)],
        now=NOW + 60,
        alert_max_age=86400,
    )
    [found] = await storage.stories.recent(5)
    assert (found.title, found.countries, found.action) == (
        edited.title, RELEVANT.countries, RELEVANT.action,
    )  # fmt: skip


async def test_a_later_source_naming_a_watched_person_alerts_the_watcher_once(
    storage: Storage,
) -> None:
    first, second = await add_feeds(storage, "Meduza", "Radio Azattyk")
    now = time.time()
    await storage.chats.subscribe(1, [], thread_id=None, now=now)  # a subscriber
    await watches_bazhukov(storage, 2, now)  # not subscribed
    await storage.watchlist.add(1, "bashukov", "Bazhukov", now=now, limit=50)
    terms = [WatchTerm(c, p) for c, p in await storage.watchlist.terms()]
    link = "https://e.org/same"
    unnamed = make_entry("Казахстан выдал России дезертира", link=link, published=now - 60)
    await storage.stories.save(first, [incoming(unnamed)], now=now, alert_max_age=86400)
    assert [d.chat_id for d in await storage.outbox.due(now, limit=10)] == [1]
    named = make_entry("Kazakhstan extradites deserter Bazhukov", link=link, published=now - 30)
    watchers = (
        Watcher().index(terms).chats_mentioned(EntryText.of(named.title, named.summary, None))
    )
    assert watchers == {1, 2}
    item = replace(incoming(named), watchers=watchers)
    saved = await storage.stories.save(second, [item], now=now, alert_max_age=86400)
    assert saved.joined == 1
    kinds = await storage.db.fetchall("SELECT chat_id, kind FROM deliveries ORDER BY chat_id, id")
    # The subscriber's alert, still queued, is drawn with the new outlet when it goes (no
    # edit); the watcher gets the story once.
    assert [tuple(r) for r in kinds] == [(1, "alert"), (2, "alert")]
    again = replace(item, key="other", entry=replace(named, link="https://e.org/x"))
    third = (await add_feeds(storage, "Kloop"))[0]
    await storage.stories.save(third, [again], now=now, alert_max_age=86400)
    alerts = await storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE kind = 'alert'")
    assert alerts == 2


async def test_a_chat_that_switched_to_a_digest_is_not_told_a_story_twice(
    storage: Storage,
) -> None:
    first, second = await add_feeds(storage, "OVD", "Mediazona")
    now = time.time()
    await watches_bazhukov(storage, 7, now)
    named = make_entry("Kazakhstan extradites deserter Bazhukov", published=now - 60)
    await storage.stories.save(
        first, [replace(incoming(named), watchers=frozenset({7}))], now=now, alert_max_age=86400
    )
    [alert] = await storage.outbox.due(now, limit=10)
    assert await storage.outbox.mark_sending(alert.id, now)
    await storage.outbox.mark_sent(alert.id, message_id=500, now=now, chat_id=7)
    chat = await storage.chats.get(7)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, mode="daily", digest_hour=9), now=now + 60)
    again = make_entry("Bazhukov handed over", published=now - 30)  # the same link
    item = replace(incoming(again), watchers=frozenset({7}))
    await storage.stories.save(second, [item], now=now + 120, alert_max_age=86400)
    kinds = await storage.db.fetchall("SELECT kind FROM deliveries WHERE chat_id = 7 ORDER BY id")
    assert [r[0] for r in kinds] == ["alert", "edit"]  # its alert is edited; no digest item too


async def test_an_edit_that_names_a_watched_person_alerts_the_watcher(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Meduza")
    now = time.time()
    await watches_bazhukov(storage, 2, now)
    unnamed = make_entry(
        "Kazakhstan extradites a deserter", summary="Details later.", published=now - 60
    )
    await storage.stories.save(feed, [incoming(unnamed)], now=now, alert_max_age=86400)
    assert await storage.outbox.due(now, limit=10) == []  # nobody subscribed, nobody named
    named = replace(unnamed, summary="The deserter is Semyon Bazhukov.")
    item = replace(incoming(named), watchers=frozenset({2}))
    await storage.stories.save(feed, [item], now=now + 60, alert_max_age=86400)
    assert [(d.chat_id, d.kind) for d in await storage.outbox.due(now + 60, limit=10)] == [
        (2, "alert")
    ]


async def test_a_digest_arrives_as_one_message_quietly_in_its_topic(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    clock_now = [time.time()]
    await storage.chats.subscribe(-1007, [], thread_id=9, now=clock_now[0], language="ru")
    chat = await storage.chats.get(-1007)
    assert chat is not None
    daily = replace(chat, mode="daily", quiet_from=0, quiet_to=0)
    await storage.chats.save_settings(daily, now=clock_now[0])
    await storage.watchlist.add(-1007, "kasimov", "Касимов", now=clock_now[0], limit=50)
    titles = ["Новость 0", "Новость 1 о Касимове", "Новость 2"]
    entries = [
        incoming(make_entry(title, link=f"https://e.org/{i}", published=clock_now[0]))
        for i, title in enumerate(titles)
    ]
    await storage.stories.save(feed, entries, now=clock_now[0], alert_max_age=86400)
    stats = await storage.outbox.stats(clock_now[0])
    assert stats.pending == 3
    assert await storage.outbox.due(clock_now[0], limit=10) == []  # not before the digest hour
    clock_now[0] += 25 * H
    async with FakeBotAPI() as api:
        # Then one message with all three, in Russian, in the topic.
        quiet_all_day = replace(daily, quiet_from=0, quiet_to=23)
        await storage.chats.save_settings(quiet_all_day, now=clock_now[0] - 25 * H)
        async with running_bot(storage, api, polling=False, clock=lambda: clock_now[0]):
            [digest] = await api.wait_for_messages(-1007, 1, timeout=15)
        sent = api.sent_to(-1007)[0]
        api.assert_no_violations()
    assert digest.startswith("🗞 Дайджест за день")
    assert all(f"Новость {i}" in digest for i in range(3))
    assert digest.count("👁") == 1
    assert "• Новость 1 о Касимове\n🇰🇿 Казахстан, 🇷🇺 Россия · Outlet · 👁 Касимов\n" in digest
    assert sent.message_thread_id == 9
    hour = datetime.fromtimestamp(clock_now[0], UTC).hour
    assert sent.disable_notification is (hour < 23)
    assert (await storage.outbox.stats(time.time())).pending == 0


async def watching_chat(storage: Storage, mode: str, now: float, *, subscribed: bool) -> str:
    """Chat 5, subscribed to everything or not, in `mode`, watching Бажуков: the watch's key."""
    if subscribed:
        await storage.chats.subscribe(5, [], thread_id=None, now=now)
    else:
        await storage.chats.ensure(5, now)
    chat = await storage.chats.get(5)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, mode=mode), now=now)
    key = phrase_key("Бажуков")
    assert key is not None
    await storage.watchlist.add(5, key, "Бажуков", now=now, limit=50)
    return key


@pytest.mark.parametrize("mode", ["instant", "daily"])
async def test_a_watch_only_story_is_not_sent_once_its_watch_is_removed(
    storage: Storage, mode: str
) -> None:
    """An off-topic report queued for a watch the chat then removes (/unwatch before the alert
    or the digest went): nothing explains it any more, so it is not sent; news still is."""
    [feed] = await add_feeds(storage, "Outlet")
    clock_now = [time.time()]
    key = await watching_chat(storage, mode, clock_now[0], subscribed=True)
    concert = make_entry(
        "Бажукова видели на концерте", link="https://e.org/b", published=clock_now[0]
    )
    news = make_entry(
        "Казахстан выдал России Касимова", link="https://e.org/k", published=clock_now[0]
    )
    items = [
        replace(incoming(concert, IRRELEVANT), watchers=frozenset({5})),
        incoming(news),
    ]
    await storage.stories.save(feed, items, now=clock_now[0], alert_max_age=86400)
    assert await storage.watchlist.remove(5, key) == "Бажуков"
    clock_now[0] += 25 * H
    async with FakeBotAPI() as api:
        async with running_bot(storage, api, polling=False, clock=lambda: clock_now[0]):
            await api.wait_for_messages(5, 1, timeout=15)  # the concert's turn came first
        texts = [m.text for m in api.sent_to(5)]
    assert len(texts) == 1
    assert "Касимова" in texts[0]
    assert "Бажуков" not in texts[0]
    rows = await storage.db.fetchall("SELECT state FROM deliveries WHERE chat_id = 5")
    assert sorted(r["state"] for r in rows) == ["dropped", "sent"]  # done, none pending


async def queue_watched_news(storage: Storage, mode: str, now: float, *, subscribed: bool) -> str:
    """`watching_chat`, and news about Бажуков queued for it: the watch's key."""
    [feed] = await add_feeds(storage, "Outlet")
    key = await watching_chat(storage, mode, now, subscribed=subscribed)
    news = make_entry("Казахстан выдал России Бажукова", link="https://e.org/b", published=now)
    item = replace(incoming(news), watchers=frozenset({5}))
    await storage.stories.save(feed, [item], now=now, alert_max_age=86400)
    return key


@pytest.mark.parametrize("mode", ["instant", "daily"])
@pytest.mark.parametrize("change", ["unsubscribe", "unwatch"])
async def test_news_queued_for_a_watch_goes_while_the_chat_still_wants_it(
    storage: Storage, mode: str, change: str
) -> None:
    """News about a watched name, queued for a chat that is subscribed and watches the name:
    /unsubscribe leaves the watch, so the item still goes (with its 👁); /unwatch leaves the
    subscription, so it still goes; both gone, it does not."""
    clock_now = [time.time()]
    key = await queue_watched_news(storage, mode, clock_now[0], subscribed=True)
    if change == "unsubscribe":
        assert await storage.chats.unsubscribe(5)
    else:
        assert await storage.watchlist.remove(5, key) == "Бажуков"
    clock_now[0] += 25 * H
    async with FakeBotAPI() as api:
        async with running_bot(storage, api, polling=False, clock=lambda: clock_now[0]):
            await api.wait_for_messages(5, 1, timeout=15)
        [text] = [m.text for m in api.sent_to(5)]
    assert "Бажукова" in text
    assert ("👁" in text) == (change == "unsubscribe")


@pytest.mark.parametrize("mode", ["instant", "daily"])
async def test_news_queued_for_a_watch_is_not_sent_once_neither_wants_it(
    storage: Storage, mode: str
) -> None:
    # Not subscribed: only the watch brought the (relevant, public) story; /unwatch ends it.
    clock_now = [time.time()]
    key = await queue_watched_news(storage, mode, clock_now[0], subscribed=False)
    assert await storage.watchlist.remove(5, key) == "Бажуков"
    clock_now[0] += 25 * H
    async with FakeBotAPI() as api:
        async with running_bot(storage, api, polling=False, clock=lambda: clock_now[0]):
            for _ in range(100):
                pending = "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'"
                if not await storage.db.scalar(pending):
                    break
                await asyncio.sleep(0.1)
        assert api.sent_to(5) == []
    assert await storage.db.scalar("SELECT state FROM deliveries WHERE chat_id = 5") == "dropped"


@pytest.mark.parametrize("modes", [("weekly",), ("daily", "weekly")])
async def test_a_digest_queued_days_before_its_hour_survives_a_failure_then(
    storage: Storage, modes: tuple[str, ...]
) -> None:
    """Stories queued on Tuesday for Monday's weekly digest (queued as such, or as daily items
    the chat moved to Monday by switching to weekly): one 502 at the digest hour is retried, not
    taken for 24 h of failures, and the digest has every story."""
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(1, [], thread_id=None, now=TUESDAY_NOON)
    chat = await storage.chats.get(1)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, mode=modes[0]), now=TUESDAY_NOON)
    entries = [
        incoming(make_entry(f"Story {i}", link=f"https://e.org/{i}", published=TUESDAY_NOON))
        for i in range(3)
    ]
    await storage.stories.save(feed, entries, now=TUESDAY_NOON, alert_max_age=86400)
    for mode in modes[1:]:
        await storage.chats.save_settings(replace(chat, mode=mode), now=TUESDAY_NOON + H)
    started = time.monotonic()
    fast = Backoff(first=0.1, factor=2.0, cap=1.0)  # the 24 h window stays
    async with FakeBotAPI() as api:
        api.fail_next("sendMessage", 502, "Bad Gateway")
        async with running_bot(
            storage,
            api,
            polling=False,
            clock=lambda: MONDAY_9 + (time.monotonic() - started),
            sender_options={"backoff": fast},
        ):
            [digest] = await api.wait_for_messages(1, 1, timeout=20)
    assert all(f"Story {i}" in digest for i in range(3))
    assert api.calls["sendMessage"] == 2
    rows = await storage.db.fetchall("SELECT state FROM deliveries")
    assert [r["state"] for r in rows] == ["sent"] * 3


@pytest.mark.parametrize(
    ("mode", "due", "messages"),
    [("weekly", MONDAY_9, 1), ("instant", TUESDAY_NOON, 3)],
    ids=["digest", "alerts"],
)
@pytest.mark.parametrize("failures", [1, 3])
async def test_deliveries_missed_while_the_bot_was_down_survive_a_blip_at_restart(
    storage: Storage, mode: str, due: float, messages: int, failures: int
) -> None:
    """The bot was down (a server outage) and restarts 25 h after Monday's weekly digest, or
    three alerts, fell due; Telegram answers the first requests with a 502 (a network still
    coming back). Nothing could be tried while the bot was down, so nothing is given up: the
    24 h window counts from the first attempt, and every story arrives."""
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(1, [], thread_id=None, now=TUESDAY_NOON)
    chat = await storage.chats.get(1)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, mode=mode), now=TUESDAY_NOON)
    entries = [
        incoming(make_entry(f"Story {i}", link=f"https://e.org/{i}", published=TUESDAY_NOON))
        for i in range(3)
    ]
    await storage.stories.save(feed, entries, now=TUESDAY_NOON, alert_max_age=86400)
    started = time.monotonic()
    fast = Backoff(first=0.1, factor=2.0, cap=1.0)  # the 24 h window stays
    async with FakeBotAPI() as api:
        api.fail_next("sendMessage", 502, "Bad Gateway", times=failures)
        async with running_bot(
            storage,
            api,
            polling=False,
            clock=lambda: due + 25 * H + (time.monotonic() - started),
            sender_options={"backoff": fast},
        ):
            sent = await api.wait_for_messages(1, messages, timeout=20)
    assert all(any(f"Story {i}" in text for text in sent) for i in range(3)), sent
    rows = await storage.db.fetchall("SELECT state FROM deliveries ORDER BY id")
    assert [r["state"] for r in rows] == ["sent"] * 3


@pytest.mark.parametrize("change", [{"previews": True}, {"language": "uk"}, {"digest_hour": 18}])
async def test_a_settings_change_does_not_postpone_a_digest_already_due(
    storage: Storage, change: dict[str, object]
) -> None:
    # Monday's digest is being sent (a second page, a retry, a 429 pause) when the chat
    # changes a setting: what is due stays due; only items not due yet follow a new hour, to
    # next Monday: this Monday's digest is the one going (18:00 today was a second one).
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(1, [], thread_id=None, now=TUESDAY_NOON)
    chat = await storage.chats.get(1)
    assert chat is not None
    weekly = replace(chat, mode="weekly")
    await storage.chats.save_settings(weekly, now=TUESDAY_NOON)
    entries = [
        incoming(make_entry(f"Story {i}", link=f"https://e.org/{i}", published=TUESDAY_NOON))
        for i in range(3)
    ]
    await storage.stories.save(feed, entries, now=TUESDAY_NOON, alert_max_age=86400)
    later = make_entry("Later", link="https://e.org/later", published=MONDAY_9)
    await storage.stories.save(feed, [incoming(later)], now=MONDAY_9 + 60, alert_max_age=86400)
    await storage.chats.save_settings(replace(weekly, **change), now=MONDAY_9 + 300)  # type: ignore[arg-type]
    assert len(await storage.outbox.due(MONDAY_9 + 300, limit=10)) == 1  # the digest's head
    moved = "digest_hour" in change
    rows = await storage.db.fetchall("SELECT due_at FROM deliveries ORDER BY id")
    later_due = utc("2026-02-16 18:00" if moved else "2026-02-16 09:00")
    assert [r["due_at"] for r in rows] == [MONDAY_9] * 3 + [later_due]


async def weekly_chat_with_stories(storage: Storage, mode: str = "weekly") -> list[Entry]:
    """Chat 1 takes digests (Mondays at 09:00 UTC); three stories found Tuesday noon wait."""
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(1, [], thread_id=None, now=TUESDAY_NOON)
    chat = await storage.chats.get(1)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, mode=mode), now=TUESDAY_NOON)
    entries = [
        make_entry(f"Story {i}", link=f"https://e.org/{i}", published=TUESDAY_NOON)
        for i in range(3)
    ]
    await storage.stories.save(
        feed, [incoming(e) for e in entries], now=TUESDAY_NOON, alert_max_age=86400
    )
    return entries


@pytest.mark.parametrize("change", [{"digest_hour": 8}, {"utc_offset": 1}])
async def test_moving_the_digest_before_now_on_its_day_sends_it_at_once(
    storage: Storage, change: dict[str, int]
) -> None:
    """On Monday at 08:30 UTC a weekly chat (09:00) moves its digest to 08:00, or sets its zone
    to UTC+1 (09:30 local): this week's digest, not yet sent, goes at once; it was put off to
    next Monday, the week's stories 13 days after they were found."""
    await weekly_chat_with_stories(storage)
    chat = await storage.chats.get(1)
    assert chat is not None
    now = MONDAY_9 - 0.5 * H
    await storage.chats.save_settings(replace(chat, **change), now=now)  # type: ignore[arg-type]
    rows = await storage.db.fetchall("SELECT due_at FROM deliveries ORDER BY id")
    assert [utc_text(r["due_at"]) for r in rows] == ["2026-02-09 08:30"] * 3


async def test_moving_the_hour_after_todays_digest_keeps_one_digest_a_day(
    storage: Storage,
) -> None:
    """A daily chat (09:00 UTC) gets Wednesday's digest; a story comes at 09:10, and at 09:30
    the digest moves to 12:00: that story, and one found later that day, wait for Thursday
    12:00; a second digest came at 12:00 the same day."""
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(1, [], thread_id=None, now=TUESDAY_NOON)
    chat = await storage.chats.get(1)
    assert chat is not None
    daily = replace(chat, mode="daily")
    await storage.chats.save_settings(daily, now=TUESDAY_NOON)
    first = make_entry("Before", link="https://e.org/b", published=TUESDAY_NOON)
    await storage.stories.save(feed, [incoming(first)], now=TUESDAY_NOON, alert_max_age=86400)
    wed_9 = utc("2026-02-04 09:00")
    clock = [wed_9]
    async with FakeBotAPI() as api:
        async with running_bot(storage, api, polling=False, clock=lambda: clock[0]) as tg:
            await api.wait_for_messages(1, 1, timeout=15)
            later = make_entry("After", link="https://e.org/a", published=wed_9 + 600)
            await storage.stories.save(
                feed, [incoming(later)], now=wed_9 + 600, alert_max_age=86400
            )
            await storage.chats.save_settings(replace(daily, digest_hour=12), now=wed_9 + 1800)
            latest = make_entry("Latest", link="https://e.org/l", published=wed_9 + 3600)
            await storage.stories.save(
                feed, [incoming(latest)], now=wed_9 + 3600, alert_max_age=86400
            )
            clock[0] = wed_9 + 3 * H  # 12:00
            tg.sender.wake()
            await asyncio.sleep(1.5)  # the sender's rounds at 12:00 find nothing due
        assert len(api.messages_to(1)) == 1, api.messages_to(1)
    rows = await storage.db.fetchall(
        "SELECT due_at FROM deliveries WHERE state = 'pending' ORDER BY id"
    )
    assert [utc_text(r["due_at"]) for r in rows] == ["2026-02-05 12:00"] * 2


async def test_status_counts_digest_items_as_waiting_only_from_their_digest_time(
    storage: Storage,
) -> None:
    """A story queued on Tuesday noon for a weekly chat (Monday's digest) and a daily one
    (Wednesday 9:00); at 9:10 on Wednesday the daily item has waited 10 minutes, and the weekly
    one is not late at all, whatever their queue time says."""
    [feed] = await add_feeds(storage, "Outlet")
    for chat_id, mode in ((1, "weekly"), (2, "daily")):
        await storage.chats.subscribe(chat_id, [], thread_id=None, now=TUESDAY_NOON)
        chat = await storage.chats.get(chat_id)
        assert chat is not None
        await storage.chats.save_settings(replace(chat, mode=mode), now=TUESDAY_NOON)
    entry = make_entry("Story", link="https://e.org/0", published=TUESDAY_NOON)
    await storage.stories.save(feed, [incoming(entry)], now=TUESDAY_NOON, alert_max_age=86400)
    wednesday = next_digest_at("daily", 9, 0, TUESDAY_NOON) + 600
    lines = await status_lines(storage, now=wednesday)
    assert "outbox: 1 due (0 sending), oldest waiting 600s; 1 scheduled for digests" in lines


async def test_the_alert_says_which_watched_name_it_mentions(storage: Storage) -> None:
    # Chat 1 subscribed and watches two names, one of them in this story; chat 2 only
    # subscribed; chat 3 watches the name and reads Russian. Nothing about which watch fired is
    # stored with the delivery: the card matches the chat's watchlist again when it is drawn.
    [feed] = await add_feeds(storage, "Outlet")
    now = time.time()
    await storage.chats.subscribe(1, [], thread_id=None, now=now)
    await storage.chats.subscribe(2, [], thread_id=None, now=now)
    await storage.chats.subscribe(3, [], thread_id=None, now=now, language="ru")
    for chat, phrase in ((1, "Касимов"), (1, "Bazhukov"), (3, "Бажуков")):
        key = phrase_key(phrase)
        assert key is not None
        await storage.watchlist.add(chat, key, phrase, now=now, limit=50)
    entry = make_entry(
        "Казахстан выдал России дезертира Бажукова", link="https://e.org/b", published=now - 60
    )
    await storage.stories.save(feed, [incoming(entry)], now=now, alert_max_age=86400)
    async with FakeBotAPI() as api, running_bot(storage, api, polling=False):
        [watcher] = await api.wait_for_messages(1, 1, timeout=15)
        [subscriber] = await api.wait_for_messages(2, 1, timeout=15)
        [russian] = await api.wait_for_messages(3, 1, timeout=15)
        api.assert_no_violations()
    assert "👁 On your watchlist: Bazhukov\n" in watcher
    assert "Касимов" not in watcher
    assert "👁" not in subscriber
    assert "👁 Из вашего списка отслеживания: Бажуков\n" in russian


async def test_the_card_names_a_watched_person_only_a_later_outlets_lead_named(
    storage: Storage,
) -> None:
    # The first report names nobody; a second outlet's report joins the story, and only its
    # lead (not its title) names the person chat 2 watches: chat 2 is alerted, and its card
    # must say why, matched again from what the storage kept of that report.
    first, second = await add_feeds(storage, "Meduza", "Radio Azattyk")
    now = time.time()
    await watches_bazhukov(storage, 2, now)
    link = "https://e.org/same"
    unnamed = make_entry(
        "Казахстан выдал России дезертира", summary="Его задержали в Алматы.", link=link,
        published=now - 60,
    )  # fmt: skip
    await storage.stories.save(first, [incoming(unnamed)], now=now, alert_max_age=86400)
    named = make_entry(
        "Kazakhstan extradites a Russian deserter",
        summary="Mikhail Bazhukov was flown to Moscow on Tuesday.",
        link=link,
        published=now - 30,
    )
    terms = [WatchTerm(c, p) for c, p in await storage.watchlist.terms()]
    watchers = (
        Watcher().index(terms).chats_mentioned(EntryText.of(named.title, named.summary, "en"))
    )
    assert watchers == {2}
    item = replace(incoming(named, key="second"), watchers=watchers)
    assert (await storage.stories.save(second, [item], now=now, alert_max_age=86400)).joined == 1
    async with FakeBotAPI() as api, running_bot(storage, api, polling=False):
        [card] = await api.wait_for_messages(2, 1, timeout=15)
        api.assert_no_violations()
    assert "👁 On your watchlist: Bazhukov\n" in card


async def test_a_watch_only_story_is_matched_in_its_first_reports_language(
    storage: Storage,
) -> None:
    # The feed says Russian; the lead has a Kazakh letter, so a guess would take it for a text
    # with no Russian forms, and "свидетелей" would not meet the watched "свидетели". The
    # story was stored for chat 2's watch, and the chat must get it, saying why.
    [feed] = await add_feeds(storage, "Orda")
    now = time.time()
    await storage.chats.ensure(2, now)
    phrase = "свидетели Иеговы"
    await storage.watchlist.add(2, phrase_key(phrase) or "", phrase, now=now, limit=50)
    entry = replace(
        make_entry(
            "Обыски в Костанае", summary="Дело против свидетелей Иеговы в Қостанае.",
            published=now - 60,
        ),
        lang="ru",
    )  # fmt: skip
    terms = [WatchTerm(c, p) for c, p in await storage.watchlist.terms()]
    watchers = (
        Watcher().index(terms).chats_mentioned(EntryText.of(entry.title, entry.summary, "ru"))
    )
    assert watchers == {2}
    item = replace(incoming(entry, IRRELEVANT), watchers=watchers)
    await storage.stories.save(feed, [item], now=now, alert_max_age=86400)
    async with FakeBotAPI() as api, running_bot(storage, api, polling=False):
        [card] = await api.wait_for_messages(2, 1, timeout=15)
        api.assert_no_violations()
    assert f"👁 On your watchlist: {phrase}\n" in card


async def test_the_watchers_alert_survives_its_story_becoming_news(storage: Storage) -> None:
    """The forecast's lead names Бажуков, whom chat 7 watches: a watch-only story, and an
    alert queued for 7. Before it goes, another outlet's relevant report of the same article,
    which does not name him, makes the story public. The alert is matched again when drawn:
    the lead that named him must still be among the story's reports, or it is dropped."""
    feed, other = await add_feeds(storage, "Kloop", "Meduza")
    noise = await store_watched_forecast(storage, feed)
    relevant = make_entry("Казахстан выдал России дезертира", link=noise.link)
    await storage.stories.save(other, [incoming(relevant)], now=NOW + 30, alert_max_age=86400)
    async with FakeBotAPI() as api:
        async with running_bot(storage, api, polling=False, clock=lambda: NOW + 60):
            await api.wait_for_messages(7, 1, timeout=15)
        [text] = [m.text for m in api.sent_to(7)]
    assert "Бажуков" in text  # 👁 On your watchlist: Бажуков


async def test_alerts_still_queued_join_the_digest_the_chat_switched_to(storage: Storage) -> None:
    """A burst of 20 alerts overwhelms a group, whose admin picks the daily digest a few
    seconds later: the alerts not sent yet go in that digest, not one by one for minutes."""
    now = time.time()
    [feed] = await add_feeds(storage, "Outlet")
    group = -1005
    await storage.chats.subscribe(group, [], thread_id=None, now=now)
    entries = [
        incoming(make_entry(f"Story {i}", link=f"https://e.org/{i}", published=now - 60))
        for i in range(20)
    ]
    await storage.stories.save(feed, entries, now=now, alert_max_age=86400)
    [first] = await storage.outbox.due(now, limit=1)
    assert await storage.outbox.mark_sending(first.id, now)
    await storage.outbox.mark_sent(first.id, message_id=1, now=now, chat_id=group)
    chat = await storage.chats.get(group)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, mode="daily"), now=now + 5)
    assert await storage.outbox.due(now + 5, limit=10) == []
    rows = await storage.db.fetchall(
        "SELECT kind, state, COUNT(*) FROM deliveries WHERE chat_id = ? GROUP BY kind, state",
        (group,),
    )
    assert sorted(tuple(r) for r in rows) == [("alert", "sent", 1), ("digest", "pending", 19)]


async def _daily_chat(storage: Storage, hour: int, now: float) -> FeedState:
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(1, [], thread_id=None, now=now)
    chat = await storage.chats.get(1)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, mode="daily", digest_hour=hour), now=now)
    return feed


async def _found(storage: Storage, feed: FeedState, n: int, at: float) -> None:
    entry = make_entry(f"Story {n}", link=f"https://e.org/{n}", published=at)
    await storage.stories.save(feed, [incoming(entry)], now=at, alert_max_age=24 * H)


async def test_a_digest_sent_late_past_midnight_serves_its_own_day(storage: Storage) -> None:
    """Tuesday's 23:00 digest goes at 00:30 on Wednesday (a restart, 502s retried past
    midnight): it was Tuesday's. Counted as Wednesday's, Wednesday's stories waited for
    Thursday 23:00, nearly two days."""
    feed = await _daily_chat(storage, 23, utc("2026-02-03 12:00"))
    await _found(storage, feed, 1, utc("2026-02-03 12:00"))
    [row] = await storage.db.fetchall("SELECT id, due_at FROM deliveries")
    assert utc_text(row["due_at"]) == "2026-02-03 23:00"
    late = utc("2026-02-04 00:30")
    assert await storage.outbox.mark_sending(row["id"], late)
    await storage.outbox.mark_sent(row["id"], 10, late, chat_id=1)
    await _found(storage, feed, 2, utc("2026-02-04 09:00"))
    rows = await storage.db.fetchall("SELECT due_at FROM deliveries WHERE state = 'pending'")
    assert [utc_text(r["due_at"]) for r in rows] == ["2026-02-04 23:00"]


async def test_yesterdays_digest_still_retried_is_not_todays(storage: Storage) -> None:
    """Tuesday's digest keeps failing (502s, inside its retry window) and the chat moves its
    hour to one already past on Wednesday morning: Wednesday has had no digest, so the stories
    awaiting it go at once. The retried digest was taken for Wednesday's being sent, and they
    waited for Thursday."""
    feed = await _daily_chat(storage, 9, utc("2026-02-02 12:00"))
    await _found(storage, feed, 1, utc("2026-02-02 12:00"))
    [row] = await storage.db.fetchall("SELECT id, due_at FROM deliveries")
    assert utc_text(row["due_at"]) == "2026-02-03 09:00"
    assert await storage.outbox.mark_sending(row["id"], utc("2026-02-03 09:00"))
    await storage.outbox.retry_later(row["id"], utc("2026-02-04 09:00"), "502", counter="retried")
    await _found(storage, feed, 2, utc("2026-02-03 10:00"))
    chat = await storage.chats.get(1)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, digest_hour=8), now=utc("2026-02-04 08:30"))
    rows = await storage.db.fetchall(
        "SELECT due_at FROM deliveries WHERE id != ? ORDER BY id", (row["id"],)
    )
    assert [utc_text(r["due_at"]) for r in rows] == ["2026-02-04 08:30"]
