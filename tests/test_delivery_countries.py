"""A chat's country filter holds when an alert or digest item is sent, not only when it is
queued: the rule (`bot.delivery_calls.still_wanted`), and the sender applying it."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from bot.delivery_calls import still_wanted
from bot.model import Verdict
from bot.storage import Chat, FeedState, Storage, Story
from bot.storage.migrations import MIGRATIONS
from bot.watch import phrase_key
from tests.conftest import IRRELEVANT, NOW, RELEVANT, add_feeds, incoming, make_entry
from tests.fakes.botapi import FakeBotAPI
from tests.telegram_harness import running_bot
from tests.test_render import story

H = 3600.0
DAY = 86400.0
KZ = RELEVANT  # Kazakhstan and Russia
GE = replace(RELEVANT, countries=("GE", "RU"))
AM = replace(RELEVANT, countries=("AM",))
TR = replace(RELEVANT, countries=("TR", "RU"))
OFF_TOPIC_TR = replace(IRRELEVANT, countries=("TR",))
CHAT = 5


def chat_taking(*chosen: str, subscribed: bool = True) -> Chat:
    return replace(Chat.new(CHAT), subscribed=subscribed, countries=chosen)


def news(named: tuple[str, ...] | None, *, public: bool = True) -> Story:
    """A story whose first report named Kazakhstan and Russia, its reports `named`."""
    return story(countries=("KZ", "RU"), broadcast=public, report_countries=named)


@pytest.mark.parametrize(
    ("chat", "item", "watched", "wanted"),
    [
        # the subscription brings it: every country, or one its reports named
        (chat_taking(), news(("KZ", "RU")), False, True),
        (chat_taking("KZ"), news(("KZ", "RU")), False, True),
        (chat_taking("AM", "GE"), news(("KZ", "RU", "GE")), False, True),  # a later report's
        # ... not once the chat's countries are none of them
        (chat_taking("GE"), news(("KZ", "RU")), False, False),
        (chat_taking("GE"), news(()), False, False),  # its reports named no country
        (chat_taking("GE"), news(None), False, True),  # unknown (older stories): not narrowed
        # nor when the chat has unsubscribed, or the story is kept for a watchlist only
        (chat_taking(subscribed=False), news(("KZ",)), False, False),
        (chat_taking(), news(("KZ",), public=False), False, False),
        # a watch the chat still has brings it, whatever else holds
        (chat_taking("GE"), news(("KZ", "RU")), True, True),
        (chat_taking("GE", subscribed=False), news((), public=False), True, True),
    ],
)
def test_what_a_chat_still_wants_when_its_alert_goes(
    chat: Chat, item: Story, watched: bool, wanted: bool
) -> None:
    assert still_wanted(chat, item, watched=watched) is wanted


async def subscribed_chat(
    storage: Storage, mode: str, countries: Sequence[str], now: float
) -> None:
    await storage.chats.subscribe(CHAT, countries, thread_id=None, now=now)
    chat = await storage.chats.get(CHAT)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, mode=mode), now=now)


async def narrow(storage: Storage, countries: Sequence[str], now: float) -> None:
    """The chat picks its countries in /settings (the buttons save the settings)."""
    chat = await storage.chats.get(CHAT)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, countries=tuple(countries)), now=now)


async def store(
    storage: Storage,
    outlet: str,
    stories: Sequence[tuple[str, Verdict]],
    now: float,
    *,
    watchers: frozenset[int] = frozenset(),
    link: str | None = None,
) -> None:
    """Reports titled as given, each with its verdict, from `outlet` (each at its own address
    unless `link` is given, which makes them join the story stored there)."""
    [feed] = await add_feeds(storage, outlet)
    items = [
        replace(
            incoming(
                make_entry(title, link=link or f"https://e.org/{outlet}/{i}", published=now - 60), v
            ),
            watchers=watchers,
        )
        for i, (title, v) in enumerate(stories)
    ]
    await storage.stories.save(feed, items, now=now, alert_max_age=86400)


async def sent_once_done(storage: Storage, now: float) -> list[str]:
    """Run the sender at `now` until the chat's queue is done: the texts it got."""
    open_rows = "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'sending')"
    async with FakeBotAPI() as api:
        async with running_bot(storage, api, polling=False, clock=lambda: now):
            for _ in range(400):
                if not await storage.db.scalar(open_rows):
                    break
                await asyncio.sleep(0.05)
        api.assert_no_violations()
        texts = api.messages_to(CHAT)
    rows = await storage.db.fetchall("SELECT state FROM deliveries WHERE chat_id = ?", (CHAT,))
    # Done, none left pending: sent, or dropped (nothing sent; a later report may queue it).
    assert {r["state"] for r in rows} <= {"sent", "dropped"}
    return texts


@pytest.mark.parametrize("mode", ["instant", "daily"])
async def test_a_narrowed_filter_holds_for_what_was_queued_before(
    storage: Storage, mode: str
) -> None:
    """Chat 5 took every country, then chose Kazakhstan only before its queue went: the
    stories about Georgia queued before are not sent (the first of them heads the digest,
    the last follows the one story kept); the one about Kazakhstan is."""
    now = time.time()
    await subscribed_chat(storage, mode, [], now)
    await store(
        storage, "Outlet", [("Georgia one", GE), ("Kazakhstan", KZ), ("Georgia two", GE)], now
    )
    await narrow(storage, ["KZ"], now + 60)
    [text] = await sent_once_done(storage, now + 25 * H)
    assert "Kazakhstan" in text
    assert "Georgia" not in text


@pytest.mark.parametrize("mode", ["instant", "daily"])
@pytest.mark.parametrize("unwatch", [False, True])
async def test_a_story_only_a_watch_let_past_the_filter_goes_only_while_watched(
    storage: Storage, mode: str, unwatch: bool
) -> None:
    """Chat 5 takes Kazakhstan only and watches Бажуков: news of him in Georgia is queued for
    the watch alone. It goes while the watch is there, whatever its countries; after /unwatch
    the subscription does not bring it (Georgia is not among the chat's countries)."""
    now = time.time()
    await subscribed_chat(storage, mode, ["KZ"], now)
    key = phrase_key("Бажуков")
    assert key is not None
    await storage.watchlist.add(CHAT, key, "Бажуков", now=now, limit=50)
    watched = [("Грузия выдала России Бажукова", GE)]
    await store(storage, "Outlet", watched, now, watchers=frozenset({CHAT}))
    await store(storage, "Other", [("Kazakhstan", KZ)], now)
    if unwatch:
        assert await storage.watchlist.remove(CHAT, key) == "Бажуков"
    texts = "\n".join(await sent_once_done(storage, now + 25 * H))
    assert "Kazakhstan" in texts
    assert ("Бажукова" in texts) is not unwatch


@pytest.mark.parametrize("mode", ["instant", "daily"])
@pytest.mark.parametrize(
    ("first", "then", "gets"),
    [(["GE"], None, True), ([], ["GE"], True), ([], ["AM"], False)],
)
async def test_a_story_goes_where_a_later_outlets_report_meets_the_filter(
    storage: Storage, mode: str, first: list[str], then: list[str] | None, gets: bool
) -> None:
    """A story first reported about Kazakhstan; another outlet's report of it names Georgia.
    The card shows the first report's countries, but any of its reports' countries meet the
    filter: a chat that takes Georgia only (from the start, or chosen after the story was
    queued) gets it; one that chose Armenia does not."""
    now = time.time()
    await subscribed_chat(storage, mode, first, now)
    await store(storage, "First", [("Kazakhstan", KZ)], now, link="https://e.org/same")
    await store(storage, "Second", [("Georgia", GE)], now + 1, link="https://e.org/same")
    if then is not None:
        await narrow(storage, then, now + 60)
    texts = await sent_once_done(storage, now + 25 * H)
    assert len(texts) == int(gets)


# -- the countries a story's reports named --------------------------------------------------------


async def report_countries(storage: Storage) -> tuple[str, ...] | None:
    """The one stored story's `report_countries`, as the sender reads it with its delivery."""
    rows = await storage.db.fetchall("SELECT report_countries FROM stories")
    [value] = [r[0] for r in rows]
    return None if value is None else tuple(value.split())


async def test_a_story_keeps_every_country_its_relevant_reports_named(storage: Storage) -> None:
    """Kazakhstan from its first report, Georgia from a second outlet's, Armenia from that
    report's edit; an off-topic report of it names Turkey, which does not count. The story's
    own countries (its card's) stay its first report's."""
    first, second, third = await add_feeds(storage, "First", "Second", "Third")
    link = "https://e.org/same"

    async def report(feed: FeedState, verdict: Verdict, title: str = "Report") -> None:
        item = incoming(make_entry(title, link=link), verdict)
        await storage.stories.save(feed, [item], now=NOW, alert_max_age=86400)

    await report(first, KZ)
    assert await report_countries(storage) == ("KZ", "RU")
    await report(second, GE)
    assert await report_countries(storage) == ("KZ", "RU", "GE")
    await report(third, OFF_TOPIC_TR)
    assert await report_countries(storage) == ("KZ", "RU", "GE")
    await report(second, AM, title="Report, edited")
    assert await report_countries(storage) == ("KZ", "RU", "GE", "AM")
    [story] = await storage.stories.recent(1)
    assert (story.countries, story.report_countries) == (("KZ", "RU"), ("KZ", "RU", "GE", "AM"))


async def test_a_watch_only_story_takes_countries_from_the_report_that_makes_it_news(
    storage: Storage,
) -> None:
    first, second = await add_feeds(storage, "First", "Second")
    await storage.chats.ensure(7, NOW)
    link = "https://e.org/same"
    watched = replace(
        incoming(make_entry("Noise", link=link), OFF_TOPIC_TR), watchers=frozenset({7})
    )
    await storage.stories.save(first, [watched], now=NOW, alert_max_age=86400)
    assert await report_countries(storage) == ()
    news = incoming(make_entry("News", link=link), KZ)
    await storage.stories.save(second, [news], now=NOW, alert_max_age=86400)
    assert await report_countries(storage) == ("KZ", "RU")


async def test_stories_stored_before_get_their_countries_where_they_are_known(
    tmp_path: Path,
) -> None:
    """Migration 16: a public story with one report has its (head's) countries; one with more
    is unknown (reports kept no countries), so its filter is not checked, as before; a
    watch-only story has none (only an off-topic report can have left it so)."""
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(";".join(MIGRATIONS[:15]) + ";PRAGMA user_version = 15;")
        conn.execute("INSERT INTO feeds (id, name, url, interval) VALUES (1, 'f', 'u', 60)")
        conn.executemany(
            """INSERT INTO stories (id, created_at, title, summary, outlet, countries, score,
                                    broadcast, number) VALUES (?, 0, 't', '', 'o', ?, 1, ?, ?)""",
            [(1, " KZ RU ", 1, 1), (2, " KZ ", 1, 2), (3, " TR ", 0, None)],
        )
        conn.executemany(
            """INSERT INTO entries (feed_id, entry_key, content_hash, story_id, seen_at)
               VALUES (1, ?, 'h', ?, 0)""",
            [("a", 1), ("b", 2), ("c", 2), ("d", 3), ("e", 3)],
        )
    store = await Storage.open(path)
    try:
        rows = await store.db.fetchall("SELECT report_countries FROM stories ORDER BY id")
        assert [r[0] for r in rows] == [" KZ RU ", None, ""]
    finally:
        await store.close()


async def test_a_story_dropped_at_send_time_is_still_news_when_a_later_report_brings_it(
    storage: Storage,
) -> None:
    """A weekly chat narrows its filter to Turkey before Monday: the Kazakh story queued for
    it is dropped on Monday, with nothing sent. An outlet's later report of the case names
    Turkey: news for the chats that take Turkey, this one too. A drop marked as sent had it
    taken for a story the chat had been told."""
    now = time.time()
    first, second = await add_feeds(storage, "OVD", "Mediazona")
    narrowed, turkey = 1, 2
    await storage.chats.subscribe(narrowed, [], thread_id=None, now=now)
    await storage.chats.subscribe(turkey, ["TR"], thread_id=None, now=now)
    chat = await storage.chats.get(narrowed)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, mode="weekly"), now=now)
    held = make_entry("Deserter held", link="https://e.org/s", published=now - 60)
    await storage.stories.save(first, [incoming(held, KZ)], now=now, alert_max_age=DAY)
    await storage.chats.save_settings(replace(chat, mode="weekly", countries=("TR",)), now=now)
    monday = (await storage.db.scalar("SELECT due_at FROM deliveries")) + 1
    async with FakeBotAPI() as api, running_bot(storage, api, polling=False, clock=lambda: monday):
        for _ in range(200):
            if (await storage.outbox.stats(monday)).counters.get("skipped"):
                break
            await asyncio.sleep(0.05)
    assert api.messages_to(narrowed) == []
    turkish = make_entry("Deserter held", link="https://e.org/s", published=monday - 30)
    await storage.stories.save(second, [incoming(turkish, TR)], now=monday, alert_max_age=DAY)
    rows = await storage.db.fetchall("SELECT chat_id FROM deliveries WHERE state = 'pending'")
    assert {row[0] for row in rows} == {narrowed, turkey}
