"""A chat's country filter holds when an alert or digest item is sent, not only when it is
queued: the countries a story's reports named, which the filter is checked against."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from bot.model import Verdict
from bot.storage import FeedState, Storage
from bot.storage.migrations import MIGRATIONS
from tests.conftest import IRRELEVANT, NOW, RELEVANT, add_feeds, incoming, make_entry

KZ = RELEVANT  # Kazakhstan and Russia
GE = replace(RELEVANT, countries=("GE", "RU"))
AM = replace(RELEVANT, countries=("AM",))
OFF_TOPIC_TR = replace(IRRELEVANT, countries=("TR",))


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
