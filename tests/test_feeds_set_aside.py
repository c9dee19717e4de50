"""A story keeps the feed its head report came through across feeds.yaml renames that set a
feed aside (`bot.storage.feeds`): its card names that feed and its publisher's edits reach it.

Azattyq (X) and Azattyq KZ (Y) report one case, one first. feeds.yaml then drops X and gives its
name to Y (X is set aside, showing the same outlet name as Y), and later lists X again: the old
way round (a revert) or under a new name. By name alone the story could not tell X from Y."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.model import FeedSpec
from bot.storage import FeedState, Storage
from tests.conftest import NOW, incoming, make_entry

DAY = 86400.0
X = "https://azattyq.example/old.rss"
Y = "https://azattyq.example/kz.rss"
Z = "https://other.example/rss"
FIRST = [FeedSpec("Azattyq", X), FeedSpec("Azattyq KZ", Y)]
SET_ASIDE = [FeedSpec("Azattyq", Y)]  # X dropped, its name given to Y
LATER = {
    "reverted": FIRST,
    "relisted under a new name": [FeedSpec("Azattyq", Y), FeedSpec("Azattyq (2)", X)],
}
ITEM = make_entry("Казахстан выдал России активиста", link="https://azattyq.example/a/1")
TITLES = ("Грузия", "Киргизия", "Армения", "Сербия")  # four cases, four stories
FIXED = make_entry("Казахстан выдал России активиста Петренко (исправлено)", link=ITEM.link)


async def _by_url(storage: Storage) -> dict[str, FeedState]:
    return {f.url: f for f in await storage.feeds.all()}


async def _story_through_a_set_aside(storage: Storage, head: str, later: list[FeedSpec]) -> None:
    """The feed at `head` reports the case first, the other joins; then X is set aside and
    feeds.yaml lists `later`."""
    await storage.feeds.sync(FIRST, now=NOW)
    feeds = await _by_url(storage)
    other = X if head == Y else Y
    for url in (head, other):
        item = incoming(ITEM, key=f"guid:{url}")
        await storage.stories.save(feeds[url], [item], now=NOW, alert_max_age=DAY)
    await storage.feeds.sync(SET_ASIDE, now=NOW + 60)
    await storage.feeds.sync(later, now=NOW + 120)


@pytest.mark.parametrize("later", LATER, ids=str)
@pytest.mark.parametrize("head", [X, Y], ids=["X heads", "Y heads"])
async def test_a_story_names_the_feed_that_reported_it_first(
    storage: Storage, head: str, later: str
) -> None:
    await _story_through_a_set_aside(storage, head, LATER[later])
    name = {spec.url: spec.name for spec in LATER[later]}
    other = X if head == Y else Y
    [story] = await storage.stories.recent(5)
    assert (story.outlet, story.outlets) == (name[head], (name[head], name[other]))


@pytest.mark.parametrize("later", LATER, ids=str)
@pytest.mark.parametrize("head", [X, Y], ids=["X heads", "Y heads"])
async def test_the_first_reporter_s_edit_reaches_its_story(
    storage: Storage, head: str, later: str
) -> None:
    await _story_through_a_set_aside(storage, head, LATER[later])
    feed = (await _by_url(storage))[head]
    edit = incoming(FIXED, key=f"guid:{head}")
    await storage.stories.save(feed, [edit], now=NOW + 180, alert_max_age=DAY)
    [story] = await storage.stories.recent(5)
    assert story.title == FIXED.title


async def test_a_story_stored_before_its_head_feed_was_kept_is_renamed_by_name(
    storage: Storage,
) -> None:
    # A story stored before migration 26 whose head the migration could not find: its head
    # is the feed by the story's name, as before.
    await storage.feeds.sync([FeedSpec("A", X), FeedSpec("B", Y)], now=NOW)
    feeds = await _by_url(storage)
    for url in (X, Y):
        await storage.stories.save(feeds[url], [incoming(ITEM)], now=NOW, alert_max_age=DAY)
    await storage.db.execute("UPDATE stories SET head_feed_id = NULL")
    await storage.feeds.sync([FeedSpec("A2", X), FeedSpec("B", Y)], now=NOW + 60)
    feed = (await _by_url(storage))[X]
    await storage.stories.save(feed, [incoming(FIXED)], now=NOW + 120, alert_max_age=DAY)
    [story] = await storage.stories.recent(5)
    assert (story.outlet, story.title) == ("A2", FIXED.title)


async def _reopened_at_25(path: Path) -> dict[int, int | None]:
    """The database as version 25 left it (no head feeds), migrated again: story -> head."""
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "ALTER TABLE stories DROP COLUMN head_feed_id; PRAGMA user_version = 25;"
        )
    storage = await Storage.open(path, now=NOW)
    try:
        rows = await storage.db.fetchall("SELECT id, head_feed_id FROM stories ORDER BY id")
    finally:
        await storage.close()
    return {r["id"]: r["head_feed_id"] for r in rows}


async def test_migration_26_finds_the_head_feed_of_stories_stored_before(tmp_path: Path) -> None:
    """Each story's head is the feed of the report whose outlet, address and title it shows
    (a set-aside feed's outlet is its name before the NUL); where reports of two feeds show
    them alike (one set aside under the other's outlet name), it is unknown: NULL, and the
    story goes by its name, as before."""
    path = tmp_path / "db.sqlite3"
    storage = await Storage.open(path, now=NOW)
    try:
        await storage.feeds.sync([*FIRST, FeedSpec("Other", Z)], now=NOW)
        feeds = await _by_url(storage)
        cases = {  # link: (its head, the feed that joins)
            ITEM.link: (Y, X),
            "https://azattyq.example/a/2": (X, Y),
            "https://azattyq.example/a/3": (X, Z),
            "https://azattyq.example/a/4": (Z, Y),
        }
        for n, (link, urls) in enumerate(cases.items()):
            entry = make_entry(f"{TITLES[n]} выдала России активиста", link=link)
            for url in urls:
                await storage.stories.save(
                    feeds[url], [incoming(entry)], now=NOW, alert_max_age=DAY
                )
        await storage.feeds.sync([*SET_ASIDE, FeedSpec("Other", Z)], now=NOW + 60)
        stored = await storage.db.fetchall("SELECT id, link FROM stories")
    finally:
        await storage.close()
    assert len(stored) == len(cases)
    alike = {ITEM.link, "https://azattyq.example/a/2"}  # X and Y both read "Azattyq" now
    expected = {
        r["id"]: None if r["link"] in alike else feeds[cases[r["link"]][0]].id for r in stored
    }
    assert await _reopened_at_25(path) == expected


async def test_a_set_aside_feed_and_the_feed_that_took_its_name_are_one_source(
    storage: Storage,
) -> None:
    """Both are cited by the name: another report through the new feed is no new outlet (no
    "+1 more source", no edit of the alert)."""
    old_url, new_url = "https://azattyq.example/old.rss", "https://azattyq.example/kz.rss"
    item = make_entry("Казахстан выдал России активиста", link="https://azattyq.example/a/1")
    await storage.feeds.sync(
        [FeedSpec("Azattyq", old_url), FeedSpec("Azattyq KZ", new_url)], now=NOW
    )
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    feeds = {f.url: f for f in await storage.feeds.all()}
    await storage.stories.save(
        feeds[old_url], [incoming(item, key="guid:x")], now=NOW, alert_max_age=DAY
    )
    await storage.db.execute("UPDATE deliveries SET state = 'sent', message_id = 900")
    await storage.feeds.sync([FeedSpec("Azattyq", new_url)], now=NOW + 60)
    feeds = {f.url: f for f in await storage.feeds.all()}
    saved = await storage.stories.save(
        feeds[new_url], [incoming(item, key="guid:y")], now=NOW + 120, alert_max_age=DAY
    )
    [story] = await storage.stories.recent(5)
    edits = await storage.db.fetchall("SELECT 1 FROM deliveries WHERE kind = 'edit'")
    assert (story.sources, story.outlets, saved.joined, len(edits)) == (1, ("Azattyq",), 0, 0)
