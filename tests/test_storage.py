"""Storage on a real SQLite file: migrations, what counts as new, the outbox, subscriptions."""

from __future__ import annotations

import asyncio
import fcntl
import re
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.model import Entry, FeedSpec, Verdict
from bot.render import also_reported_by
from bot.render_search import story_card
from bot.search import QueryBuilder
from bot.storage import Delivery, FeedState, Incoming, Storage
from bot.storage import db as db_module
from bot.storage import stories as stories_module
from bot.storage.db import SyncTransaction
from bot.storage.migrations import MIGRATIONS
from tests.conftest import IRRELEVANT, NOW, RELEVANT, REPO, add_feeds, incoming, make_entry

DAY = 86400.0


async def test_migrations_set_user_version_and_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = await Storage.open(path)
    await store.close()
    store = await Storage.open(path)  # a second open migrates nothing and keeps the data
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_deliveries_queued_before_due_times_get_one_when_migrated(tmp_path: Path) -> None:
    """A database from before `due_at`: an alert or edit fell due when it was queued, a digest
    item falls due at its next attempt (its digest time; a fresh window if already failing)."""
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(";".join(MIGRATIONS[:11]) + ";PRAGMA user_version = 11;")
        conn.execute("INSERT INTO chats (chat_id, created_at) VALUES (1, 0)")
        conn.execute(
            """INSERT INTO stories (id, created_at, title, summary, outlet, score)
               VALUES (7, 0, 't', '', 'o', 1)"""
        )
        conn.executemany(
            """INSERT INTO deliveries (chat_id, story_id, kind, state, next_attempt_at, created_at)
               VALUES (1, 7, ?, ?, ?, ?)""",
            [("alert", "pending", NOW + 60, NOW), ("digest", "pending", NOW + 5 * DAY, NOW)],
        )
    store = await Storage.open(path)
    try:
        rows = await store.db.fetchall("SELECT kind, due_at FROM deliveries ORDER BY id")
        assert [tuple(r) for r in rows] == [("alert", NOW), ("digest", NOW + 5 * DAY)]
    finally:
        await store.close()


async def test_public_stories_stored_before_numbers_keep_their_ids_as_numbers(
    tmp_path: Path,
) -> None:
    """Numbers already cited (/story 3) still find their stories after migration 14; a
    watch-only story gets none, and the next public story the next free number."""
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(";".join(MIGRATIONS[:13]) + ";PRAGMA user_version = 13;")
        conn.executemany(
            """INSERT INTO stories (id, created_at, title, summary, outlet, score, broadcast)
               VALUES (?, 0, ?, '', 'o', 1, ?)""",
            [(1, "first", 1), (2, "watched", 0), (3, "third", 1)],
        )
    store = await Storage.open(path)
    try:
        found = [await store.stories.get(n) for n in (1, 2, 3)]
        assert [s and s.title for s in found] == ["first", None, "third"]
        [feed] = await add_feeds(store, "Meduza")
        saved = await store.stories.save(
            feed, [incoming(make_entry("Казахстан выдал Касымова"))], now=NOW, alert_max_age=DAY
        )
        assert [s.number for s in saved.new_stories] == [4]
    finally:
        await store.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    # A ConfigError: one line naming DATABASE_PATH (exit 2), not a traceback, after a rollback.
    with pytest.raises(ConfigError, match=r"DATABASE_PATH: .* newer"):
        await Storage.open(path)


async def test_save_returns_only_new_relevant_stories(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    items = [
        incoming(make_entry()),
        incoming(make_entry("Weather", link="https://e.org/w"), IRRELEVANT),
    ]
    first = await storage.stories.save(feed, items, now=NOW, alert_max_age=2 * DAY)
    assert [s.title for s in first.new_stories] == ["Kazakhstan extradites Russian deserter"]
    again = await storage.stories.save(feed, items, now=NOW + 60, alert_max_age=2 * DAY)
    assert again.new_stories == ()
    assert (await storage.counts())["entries"] == 2


async def test_same_article_through_two_feeds_is_one_story_with_two_sources(
    storage: Storage,
) -> None:
    a, b = await add_feeds(storage, "A", "B")
    await storage.stories.save(
        a, [incoming(make_entry(link="https://www.example.org/news/1?utm_source=x"))],
        now=NOW, alert_max_age=DAY,
    )  # fmt: skip
    second = await storage.stories.save(
        b, [incoming(make_entry(link="http://example.org/news/1/#top"))], now=NOW, alert_max_age=DAY
    )
    assert second.new_stories == ()
    [story] = await storage.stories.recent(10)
    assert story.sources == 2


async def test_edited_entry_updates_story_instead_of_a_new_one(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    await storage.stories.save(
        feed, [incoming(make_entry(), key="guid:1")], now=NOW, alert_max_age=DAY
    )
    edited = make_entry("Kazakhstan extradites deserter Bazhukov")
    result = await storage.stories.save(
        feed, [incoming(edited, key="guid:1")], now=NOW, alert_max_age=DAY
    )
    assert result.new_stories == ()
    [story] = await storage.stories.recent(10)
    assert story.title == "Kazakhstan extradites deserter Bazhukov"


WATCHER = 7
THIN = make_entry("В Бишкеке задержан гражданин России", summary="Подробности позже.")
FULL = make_entry(
    "В Бишкеке задержан гражданин России",
    summary="Задержанный — дезертир Иванов, Россия требует его выдачи.",
)


@pytest.mark.parametrize(
    ("first", "edit", "age", "expected"),  # expected: (public, alerted chats)
    [
        # "details later", then the details: a new story, alerted to subscribers
        ((IRRELEVANT, False), (RELEVANT, False), 0.0, (True, {1})),
        # ... but an old item's update is stored and searchable, not pushed
        ((IRRELEVANT, False), (RELEVANT, False), 2 * DAY, (True, set())),
        # the update names a watched person: a watch-only story for the watcher
        ((IRRELEVANT, False), (IRRELEVANT, True), 0.0, (False, {WATCHER})),
        # a watch-only story whose only report becomes relevant is made public
        ((IRRELEVANT, True), (RELEVANT, False), 0.0, (True, {1, WATCHER})),
    ],
)
async def test_an_entry_edited_into_relevance_becomes_news(
    storage: Storage,
    first: tuple[Verdict, bool],
    edit: tuple[Verdict, bool],
    age: float,
    expected: tuple[bool, set[int]],
) -> None:
    public, alerted = expected
    [feed] = await add_feeds(storage, "Kloop")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    await storage.chats.subscribe(WATCHER, ["AM"], thread_id=None, now=NOW)

    def item(entry: Entry, verdict: Verdict, watched: bool) -> Incoming:
        dated = replace(entry, published=datetime.fromtimestamp(NOW - age - 60, UTC))
        watchers = frozenset({WATCHER}) if watched else frozenset()
        return replace(incoming(dated, verdict, key="guid:1"), watchers=watchers)

    await storage.stories.save(feed, [item(THIN, *first)], now=NOW - 30, alert_max_age=DAY)
    await storage.stories.save(feed, [item(FULL, *edit)], now=NOW, alert_max_age=DAY)
    entries = await storage.db.fetchall("SELECT story_id, summary FROM entries")
    assert len(entries) == 1  # the edit updated its row
    [story_id] = [r["story_id"] for r in entries]
    assert story_id is not None
    query = QueryBuilder().build("Иванов", now=NOW)
    found = [s.id for s in await storage.search.stories(query, limit=5, now=NOW)]
    recent = [s.id for s in await storage.stories.recent(5)]
    assert (found, recent) == (([story_id], [story_id]) if public else ([], []))
    due = await storage.outbox.due(NOW, limit=10)
    assert {d.chat_id for d in due} == alerted


async def test_a_storys_reports_keep_their_leads_through_edits_and_no_other_entry_does(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every report that joins a story keeps its lead, watched or not (which leads were kept
    # must not tell what anyone watches); the first report's lead is the story's own.
    [feed, other] = await add_feeds(storage, "Outlet", "Other")
    first = make_entry(summary="Mikhail Bazhukov was handed over.", link="https://o.example/1")
    noise = make_entry("Weather in Almaty", summary="Sunny.", link="https://o.example/2")
    items = [
        replace(incoming(first, key="guid:1"), watchers=frozenset({7})),
        incoming(noise, IRRELEVANT, key="guid:2"),
    ]
    await storage.stories.save(feed, items, now=NOW, alert_max_age=DAY)
    [story] = await storage.stories.recent(10)
    assert story.summary == "Mikhail Bazhukov was handed over."
    # The story's own text comes first; the first report's row holds only its title.
    own = (first.title, "Mikhail Bazhukov was handed over.", None)
    assert await storage.stories.texts_of([story.id]) == {story.id: [own]}
    edited = replace(first, summary="A deserter was handed over.")
    await storage.stories.save(feed, [incoming(edited, key="guid:1")], now=NOW, alert_max_age=DAY)
    again = make_entry("Deserter handed over", summary="The same case.", link=first.link)
    await storage.stories.save(other, [incoming(again)], now=NOW, alert_max_age=DAY)
    texts = await storage.stories.texts_of([story.id, story.id + 1])
    assert list(texts) == [story.id]
    assert texts[story.id] == [  # the story's own (edited) text, then the others, newest first
        (first.title, "A deserter was handed over.", None),
        ("Deserter handed over", "The same case.", None),
    ]
    rows = await storage.db.fetchall("SELECT summary FROM entries WHERE story_id IS NULL")
    assert [r[0] for r in rows] == [None]  # the irrelevant entry keeps no text
    monkeypatch.setattr(stories_module, "TEXTS_MAX", 0)  # bounds the others, not its own
    assert await storage.stories.texts_of([story.id]) == {story.id: texts[story.id][:1]}


@pytest.mark.parametrize(
    ("age", "first_contact_undated", "alerted"),
    [
        (3600.0, False, True),  # fresh
        (3 * DAY, False, False),  # backlog: stored, searchable, not pushed
    ],
)
async def test_only_fresh_stories_are_queued(
    storage: Storage, age: float, first_contact_undated: bool, alerted: bool
) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    result = await storage.stories.save(
        feed, [incoming(make_entry(published=NOW - age))], now=NOW, alert_max_age=2 * DAY
    )
    assert len(result.new_stories) == 1
    assert (result.deliveries == 1) is alerted


async def test_undated_entries_of_a_feed_seen_first_time_are_not_pushed(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    result = await storage.stories.save(
        feed, [incoming(make_entry(published=None))], now=NOW, alert_max_age=DAY
    )
    assert result.deliveries == 0
    await storage.feeds.record_success(
        feed.id, now=NOW, next_check_at=NOW, etag=None, last_modified=None
    )
    [feed] = await storage.feeds.all()
    later = await storage.stories.save(
        feed,
        [incoming(make_entry(published=None, link="https://e.org/2"))],
        now=NOW,
        alert_max_age=DAY,
    )
    assert later.deliveries == 1


async def test_only_chats_that_still_want_alerts_get_their_alert_edited(storage: Storage) -> None:
    # Chats 1-3 got the alert; 2 and 3 unsubscribed, but 3 still watches a name.
    first, second = await add_feeds(storage, "First", "Second")
    for chat in (1, 2, 3):
        await storage.chats.subscribe(chat, [], thread_id=None, now=NOW)
    await storage.watchlist.add(3, "kasimov", "Касимов", now=NOW, limit=50)
    entry = make_entry(link="https://e.org/s")
    await storage.stories.save(first, [incoming(entry)], now=NOW, alert_max_age=DAY)
    await storage.db.execute("UPDATE deliveries SET state = 'sent', message_id = 5")
    for chat in (2, 3):
        await storage.chats.unsubscribe(chat)
    joining = make_entry(link="https://e.org/s?utm_source=x")
    await storage.stories.save(second, [incoming(joining)], now=NOW, alert_max_age=DAY)
    edits = await storage.db.fetchall("SELECT chat_id FROM deliveries WHERE kind = 'edit'")
    assert sorted(r["chat_id"] for r in edits) == [1, 3]


async def test_an_edit_does_not_wait_behind_a_digest_item_not_due_yet(storage: Storage) -> None:
    # An instant chat got story S, then switched to weekly; story T waits for Monday's digest,
    # and another outlet's report of S must edit the alert now, not after Monday.
    first, second = await add_feeds(storage, "First", "Second")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    s_entry = make_entry("S", link="https://e.org/s")
    await storage.stories.save(first, [incoming(s_entry)], now=NOW, alert_max_age=DAY)
    await storage.db.execute("UPDATE deliveries SET state = 'sent', message_id = 5")
    chat = await storage.chats.get(1)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, mode="weekly"), now=NOW)
    t_entry = make_entry("T", link="https://e.org/t")
    await storage.stories.save(first, [incoming(t_entry)], now=NOW, alert_max_age=DAY)
    joining = make_entry("S", link="https://e.org/s?utm_source=x")
    await storage.stories.save(second, [incoming(joining)], now=NOW, alert_max_age=DAY)
    [edit] = await storage.outbox.due(NOW, limit=10)
    assert (edit.kind, edit.story.title, edit.message_id) == ("edit", "S", 5)
    assert await storage.outbox.mark_sending(edit.id, NOW)
    await storage.outbox.mark_sent(edit.id, 5, NOW, chat_id=edit.chat_id)
    monday = NOW + 5 * DAY + 21 * 3600  # 9:00 after Tuesday noon
    assert await storage.outbox.due(NOW, limit=10) == []  # the digest item keeps its time
    assert await storage.outbox.next_due_at(NOW) == monday
    [digest] = await storage.outbox.due(monday, limit=10)
    assert (digest.kind, digest.story.title) == ("digest", "T")


async def test_country_filter_decides_who_gets_the_alert(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)  # everything
    await storage.chats.subscribe(2, ["KZ"], thread_id=None, now=NOW)
    await storage.chats.subscribe(3, ["GE", "AM"], thread_id=None, now=NOW)
    await storage.chats.subscribe(4, ["KG"], thread_id=None, now=NOW)
    await storage.chats.unsubscribe(4)
    await storage.stories.save(feed, [incoming(make_entry())], now=NOW, alert_max_age=DAY)
    due = await storage.outbox.due(NOW, limit=10)
    assert sorted(d.chat_id for d in due) == [1, 2]


async def test_outbox_gives_each_chat_its_head_in_story_order(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    for chat in (1, 2):
        await storage.chats.subscribe(chat, [], thread_id=None, now=NOW)
    entries = [incoming(make_entry(f"Story {i}", link=f"https://e.org/{i}")) for i in range(3)]
    await storage.stories.save(feed, entries, now=NOW, alert_max_age=DAY)
    sent: dict[int, list[str]] = {1: [], 2: []}
    for round_ in range(3):
        due = await storage.outbox.due(NOW + round_, limit=10)
        assert sorted(d.chat_id for d in due) == [1, 2]
        for d in due:
            assert await storage.outbox.mark_sending(d.id, NOW + round_)
            await storage.outbox.mark_sent(
                d.id, message_id=100 + round_, now=NOW, chat_id=d.chat_id
            )
            sent[d.chat_id].append(d.story.title)
    assert sent[1] == sent[2] == ["Story 0", "Story 1", "Story 2"]
    assert await storage.outbox.due(NOW + 10, limit=10) == []
    assert (await storage.outbox.stats(NOW)).counters["sent"] == 6


async def test_a_retried_head_blocks_its_chat_only(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    for chat in (1, 2):
        await storage.chats.subscribe(chat, [], thread_id=None, now=NOW)
    entries = [incoming(make_entry(f"Story {i}", link=f"https://e.org/{i}")) for i in range(2)]
    await storage.stories.save(feed, entries, now=NOW, alert_max_age=DAY)
    due = {d.chat_id: d for d in await storage.outbox.due(NOW, limit=10)}
    await storage.outbox.mark_sending(due[1].id, NOW)
    await storage.outbox.retry_later(due[1].id, NOW + 100, "5xx", counter="retried")
    later = await storage.outbox.due(NOW + 1, limit=10)
    assert [d.chat_id for d in later] == [2]  # chat 1 waits; its story 1 does not overtake


async def test_in_flight_deliveries_are_released_after_a_crash(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    await storage.stories.save(feed, [incoming(make_entry())], now=NOW, alert_max_age=DAY)
    [d] = await storage.outbox.due(NOW, limit=10)
    await storage.outbox.mark_sending(d.id, NOW)
    assert await storage.outbox.due(NOW, limit=10) == []
    assert await storage.outbox.release_in_flight() == 1
    assert [x.id for x in await storage.outbox.due(NOW, limit=10)] == [d.id]


async def test_deactivated_chat_loses_its_queue_and_settings(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(7, ["KZ"], thread_id=3, now=NOW)
    await storage.stories.save(feed, [incoming(make_entry())], now=NOW, alert_max_age=DAY)
    await storage.chats.deactivate(7)
    chat = await storage.chats.get(7)
    assert chat is not None
    assert (chat.active, chat.subscribed, chat.countries, chat.thread_id) == (
        False,
        False,
        (),
        None,
    )
    assert await storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE chat_id = 7") == 0


async def test_a_blocked_chat_keeps_no_time_of_its_last_digest(storage: Storage) -> None:
    # When a digest went is data about the chat: a block (and /forget, which deletes the row)
    # takes it with the rest.
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(7, [], thread_id=None, now=NOW)
    chat = await storage.chats.get(7)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, mode="daily"), now=NOW)
    await storage.stories.save(feed, [incoming(make_entry())], now=NOW, alert_max_age=DAY)
    [d] = await storage.outbox.due(NOW + DAY, limit=10)
    assert await storage.outbox.mark_sending(d.id, NOW + DAY)
    await storage.outbox.mark_sent(d.id, 99, NOW + DAY, chat_id=7)
    query = "SELECT last_digest_at FROM chats WHERE chat_id = 7"
    assert await storage.db.scalar(query) == d.due_at  # the digest time it served
    await storage.chats.deactivate(7)
    assert await storage.db.scalar(query) is None


@pytest.mark.parametrize("new_exists", [False, True])
async def test_migrated_group_keeps_subscription_and_queue(
    storage: Storage, new_exists: bool
) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(-5, ["KZ"], thread_id=None, now=NOW)
    if new_exists:
        await storage.chats.subscribe(-1005, [], thread_id=None, now=NOW)
    await storage.stories.save(feed, [incoming(make_entry())], now=NOW, alert_max_age=DAY)
    await storage.chats.migrate(-5, -1005)
    assert await storage.chats.get(-5) is None
    due = await storage.outbox.due(NOW, limit=10)
    assert [d.chat_id for d in due] == [-1005]


async def test_an_alert_sent_while_its_group_migrates_keeps_no_old_message_id(
    storage: Storage,
) -> None:
    # The alert went to the old group; the service message moved the chat meanwhile. Its
    # message id is the old group's: stored on the moved row, a later edit would rewrite
    # whichever message has that id in the supergroup.
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(-5, [], thread_id=None, now=NOW)
    await storage.chats.subscribe(-6, [], thread_id=None, now=NOW)
    await storage.stories.save(feed, [incoming(make_entry())], now=NOW, alert_max_age=DAY)
    moving, staying = sorted(await storage.outbox.due(NOW, limit=10), key=lambda d: d.chat_id)
    for delivery in (moving, staying):
        assert await storage.outbox.mark_sending(delivery.id, NOW)
    await storage.chats.migrate(-6, -1006)
    await storage.outbox.mark_sent(moving.id, 41, NOW, chat_id=-6)
    await storage.outbox.mark_sent(staying.id, 42, NOW, chat_id=-5)
    rows = await storage.db.fetchall("SELECT chat_id, state, message_id FROM deliveries")
    assert sorted(tuple(r) for r in rows) == [(-1006, "sent", None), (-5, "sent", 42)]


async def _sending_to_a_group_as_it_migrates(storage: Storage) -> Delivery:
    """Group -5's alert, on its way to it when the service message moves the group to -1005,
    a supergroup that had subscribed itself (and so has its own copy of the alert queued)."""
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(-5, [], thread_id=None, now=NOW)
    await storage.chats.subscribe(-1005, [], thread_id=None, now=NOW)
    await storage.stories.save(feed, [incoming(make_entry())], now=NOW, alert_max_age=DAY)
    old = next(d for d in await storage.outbox.due(NOW, limit=10) if d.chat_id == -5)
    assert await storage.outbox.mark_sending(old.id, NOW)
    await storage.chats.migrate(-5, -1005)
    return old


async def test_an_alert_in_flight_to_a_group_that_migrates_is_not_sent_again(
    storage: Storage,
) -> None:
    old = await _sending_to_a_group_as_it_migrates(storage)
    await storage.outbox.mark_sent(old.id, 41, NOW, chat_id=-5)  # Telegram took it
    assert await storage.outbox.due(NOW, limit=10) == []  # not the supergroup's copy too
    rows = await storage.db.fetchall("SELECT chat_id, state, message_id FROM deliveries")
    assert [tuple(r) for r in rows] == [(-1005, "sent", None)]


async def test_an_alert_in_flight_to_a_group_that_migrates_is_retried_there_if_refused(
    storage: Storage,
) -> None:
    old = await _sending_to_a_group_as_it_migrates(storage)
    await storage.outbox.retry_later(old.id, NOW, "migrated", counter="migrated")
    assert [d.chat_id for d in await storage.outbox.due(NOW, limit=10)] == [-1005]


@pytest.mark.parametrize(("answer", "next_one"), [("migrated", "Story 0"), ("ok", "Story 1")])
async def test_a_group_moved_while_its_alert_is_in_flight_gets_nothing_else_until_answered(
    storage: Storage, answer: str, next_one: str
) -> None:
    # The service message moves the group while Story 0's request is under way: the claim
    # moves with it, and the supergroup's next delivery waits for the answer, as the group's
    # did (one request per chat, in order).
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(-5, [], thread_id=None, now=NOW)
    entries = [incoming(make_entry(f"Story {i}", link=f"https://e.org/{i}")) for i in range(2)]
    await storage.stories.save(feed, entries, now=NOW, alert_max_age=DAY)
    [first] = await storage.outbox.due(NOW, limit=10)
    assert await storage.outbox.mark_sending(first.id, NOW)
    await storage.chats.migrate(-5, -1005)
    second = await storage.db.scalar("SELECT id FROM deliveries WHERE id != ?", (first.id,))
    assert await storage.outbox.due(NOW, limit=10) == []
    assert not await storage.outbox.mark_sending(int(second), NOW)
    if answer == "migrated":
        await storage.outbox.retry_later(first.id, NOW, "migrated", counter="migrated")
    else:
        await storage.outbox.mark_sent(first.id, 41, NOW, chat_id=-5)
    due = await storage.outbox.due(NOW, limit=10)
    assert [(d.chat_id, d.story.title) for d in due] == [(-1005, next_one)]


async def _group_with_settings_and_watchlist(storage: Storage, chat_id: int) -> None:
    await storage.chats.subscribe(chat_id, ["KZ"], thread_id=None, now=NOW, language="ru")
    chat = await storage.chats.get(chat_id)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, mode="daily", quiet_from=23), now=NOW)
    await storage.watchlist.add(chat_id, "bashukov", "Бажуков", now=NOW, limit=50)


async def test_migrating_into_a_default_row_keeps_the_groups_settings_and_watchlist(
    storage: Storage,
) -> None:
    await _group_with_settings_and_watchlist(storage, -5)
    # An admin typed /watch in the supergroup before the migration was noticed: a default row.
    await storage.chats.ensure(-1005, NOW + 1, "en")
    await storage.watchlist.add(-1005, "kasimov", "Касимов", now=NOW + 1, limit=50)
    for _ in range(2):  # told by both service messages: the second call changes nothing
        await storage.chats.migrate(-5, -1005)
    chat = await storage.chats.get(-1005)
    assert chat is not None
    assert (chat.subscribed, chat.countries, chat.language, chat.mode, chat.quiet_from) == (
        True, ("KZ",), "ru", "daily", 23,
    )  # fmt: skip
    assert await storage.watchlist.of_chat(-1005) == ["Бажуков", "Касимов"]
    assert await storage.chats.get(-5) is None


async def test_a_supergroup_that_subscribed_itself_keeps_its_settings_and_gains_the_watchlist(
    storage: Storage,
) -> None:
    await _group_with_settings_and_watchlist(storage, -5)
    await storage.chats.subscribe(-1005, [], thread_id=None, now=NOW, language="en")
    await storage.chats.migrate(-5, -1005)
    chat = await storage.chats.get(-1005)
    assert chat is not None
    assert (chat.subscribed, chat.countries, chat.language, chat.mode) == (
        True, (), "en", "instant",
    )  # fmt: skip
    assert await storage.watchlist.of_chat(-1005) == ["Бажуков"]


async def test_merged_watchlists_stay_within_the_limit_keeping_the_supergroups_own(
    storage: Storage,
) -> None:
    for chat_id, names in ((-5, ["Old0", "Old1", "Old2"]), (-1005, ["New0", "New1"])):
        await storage.chats.ensure(chat_id, NOW)
        for i, name in enumerate(names):
            await storage.watchlist.add(chat_id, name.lower(), name, now=NOW + i, limit=50)
    await storage.chats.migrate(-5, -1005, watch_limit=3)
    assert sorted(await storage.watchlist.of_chat(-1005)) == ["New0", "New1", "Old0"]


@pytest.mark.parametrize("new_exists", [False, True])
async def test_alerts_sent_to_the_old_group_are_not_edited_in_the_supergroup(
    storage: Storage, new_exists: bool
) -> None:
    a, b = await add_feeds(storage, "A", "B")
    await storage.chats.subscribe(-5, [], thread_id=None, now=NOW)
    if new_exists:
        await storage.chats.ensure(-1005, NOW)
    await storage.stories.save(a, [incoming(make_entry())], now=NOW, alert_max_age=DAY)
    await storage.db.execute("UPDATE deliveries SET state = 'sent', message_id = 5")
    await storage.chats.migrate(-5, -1005)
    # Another outlet reports the story: the alert would be edited in place to list it. Message 5
    # of the old group is not message 5 of the supergroup.
    other = make_entry(link="https://example.org/news/1?utm_source=x")
    await storage.stories.save(b, [incoming(other)], now=NOW, alert_max_age=DAY)
    [edit] = await storage.outbox.due(NOW + 1, limit=10)
    assert (edit.chat_id, edit.kind, edit.message_id) == (-1005, "edit", None)


async def test_a_story_the_group_was_sent_is_not_sent_again_to_the_supergroup(
    storage: Storage,
) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    for chat_id in (-5, -1005):  # both ids subscribed: each got an alert queued
        await storage.chats.subscribe(chat_id, [], thread_id=None, now=NOW)
    await storage.stories.save(feed, [incoming(make_entry())], now=NOW, alert_max_age=DAY)
    await storage.db.execute("UPDATE deliveries SET state = 'sent' WHERE chat_id = -5")
    await storage.chats.migrate(-5, -1005)
    # The group's copy is in the supergroup's history already.
    rows = await storage.db.fetchall("SELECT chat_id, state FROM deliveries")
    assert [tuple(r) for r in rows] == [(-1005, "sent")]


async def test_forget_leaves_no_row_with_the_chat_id(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(42, [], thread_id=None, now=NOW)
    await storage.stories.save(feed, [incoming(make_entry())], now=NOW, alert_max_age=DAY)
    await storage.chats.forget(42)
    for table in ("chats", "deliveries"):
        assert await storage.db.scalar(f"SELECT COUNT(*) FROM {table} WHERE chat_id = 42") == 0


@pytest.mark.parametrize("before", ["", "unsubscribe", "block"])
@pytest.mark.parametrize("other_had_it", [False, True])
async def test_forget_takes_the_watch_only_stories_kept_for_the_chat(
    storage: Storage, other_had_it: bool, before: str
) -> None:
    # A chess report kept only because chat 42 watches its winner: its text says whom 42
    # watched, so it goes with 42, unless another chat was alerted to it too. Also when the
    # chat unsubscribed first (its watch alerts stay queued: the watchlist is not the
    # subscription) or blocked the bot (which wipes its watchlist: the story goes then).
    [feed] = await add_feeds(storage, "Outlet")
    watchers = {42, 43} if other_had_it else {42}
    for chat in watchers:
        await storage.chats.subscribe(chat, [], thread_id=None, now=NOW)
        await storage.watchlist.add(chat, "varfolomev", "Варфоломеев", now=NOW, limit=50)
    chess = make_entry("Варфоломеев выиграл турнир", summary="Шахматы.", link="https://o.example/9")
    item = replace(incoming(chess, IRRELEVANT), watchers=frozenset(watchers))
    await storage.stories.save(feed, [item], now=NOW, alert_max_age=DAY)
    assert await storage.db.scalar("SELECT COUNT(*) FROM stories WHERE broadcast = 0") == 1
    if before == "unsubscribe":
        await storage.chats.unsubscribe(42)
        assert await storage.outbox.pending_count(42) == 1
    elif before == "block":
        await storage.chats.deactivate(42)
        gone = await storage.db.scalar("SELECT COUNT(*) FROM stories") == 0
        assert gone is not other_had_it
        await storage.chats.reactivate(42)
    await storage.chats.forget(42)
    left = await storage.db.fetchall("SELECT title, summary, link, story_id FROM entries")
    stories = await storage.db.scalar("SELECT COUNT(*) FROM stories")
    names = await storage.db.scalar("SELECT COUNT(*) FROM story_names")
    if other_had_it:
        assert (stories, left[0]["title"]) == (1, chess.title)
    else:
        assert (stories, names) == (0, 0)
        assert [tuple(r) for r in left] == [(None, None, None, None)]  # seen, and nothing more


async def test_feed_sync_disables_removed_and_resets_validators_on_new_url(
    storage: Storage,
) -> None:
    [feed] = await add_feeds(storage, "A")
    await storage.feeds.record_success(
        feed.id, now=NOW, next_check_at=NOW + 600, etag='"x"', last_modified=None
    )
    await add_feeds(storage, "B")
    assert [f.name for f in await storage.feeds.all()] == ["B"]
    assert [f.name for f in await storage.feeds.due(NOW + 10)] == ["B"]


async def next_check_after_restart(storage: Storage, spec: FeedSpec, *, at: float) -> float:
    await storage.feeds.sync([spec], now=at)
    [feed] = await storage.feeds.all()
    return feed.next_check_at


async def test_a_restart_keeps_a_server_asked_wait_unless_the_interval_is_shortened(
    storage: Storage,
) -> None:
    spec = FeedSpec(name="A", url="https://a.example/rss", interval=600)
    [feed] = await add_feeds(storage, "A")
    # A Cache-Control: max-age of 2 h on the last answer.
    await storage.feeds.record_success(
        feed.id, now=NOW, next_check_at=NOW + 7200, etag=None, last_modified=None
    )
    assert await next_check_after_restart(storage, spec, at=NOW + 10) == NOW + 7200
    shorter = replace(spec, interval=60)
    assert await next_check_after_restart(storage, shorter, at=NOW + 20) == NOW + 80


async def test_a_restart_keeps_an_error_backoff_and_a_retry_after(storage: Storage) -> None:
    spec = FeedSpec(name="A", url="https://a.example/rss", interval=600)
    [feed] = await add_feeds(storage, "A")
    await storage.feeds.record_error(
        feed.id, "HTTPStatusError: HTTP 429", now=NOW, next_check_at=NOW + 3600
    )
    assert await next_check_after_restart(storage, spec, at=NOW + 10) == NOW + 3600
    # Even a shorter interval does not override the server: the backoff ends first.
    shorter = replace(spec, interval=60)
    assert await next_check_after_restart(storage, shorter, at=NOW + 20) == NOW + 3600
    # A new address is a new feed: due at once.
    moved = replace(spec, url="https://b.example/rss")
    assert await next_check_after_restart(storage, moved, at=NOW + 30) == NOW + 30


async def test_a_new_address_forgets_the_old_ones_health(storage: Storage) -> None:
    # Fixing a dead feed's address in feeds.yaml: /feeds said "ok 5d ago" of an address never
    # fetched, from the old one's last success.
    [feed] = await add_feeds(storage, "A")
    await storage.feeds.record_success(
        feed.id, now=NOW, next_check_at=NOW + 600, etag=None, last_modified=None
    )
    await storage.feeds.record_error(feed.id, "HTTP 410", now=NOW + 60, next_check_at=NOW + 600)
    await storage.feeds.disable(feed.id, "gone (HTTP 410)", now=NOW + 60)
    moved = FeedSpec(name="A", url="https://a.example/new-rss")
    await storage.feeds.sync([moved], now=NOW + 120)
    [feed] = await storage.feeds.listed()
    assert (feed.disabled_reason, feed.error_count, feed.last_error) == (None, 0, None)
    assert (feed.last_success_at, feed.last_error_at, feed.disabled_at) == (None, None, None)


async def moved_by_a_301_then_listed(storage: Storage) -> tuple[FeedSpec, FeedSpec]:
    """Feed A, which a 301 moved to C, and then feeds.yaml listing A and, at C, B."""
    [feed] = await add_feeds(storage, "A")
    moved = "https://c.example/rss"
    assert await storage.feeds.move(feed.id, moved, now=NOW) is None
    a, b = FeedSpec(name="A", url="https://a.example/rss"), FeedSpec(name="B", url=moved)
    await storage.feeds.sync([a, b], now=NOW + 60)
    return a, b


async def test_a_feed_listed_where_another_moved_keeps_it_and_the_moved_one_stops(
    storage: Storage,
) -> None:
    # A moved to C by a 301; feeds.yaml then lists B at C. Both polled C, counting the outlet
    # twice in every story; the one listed there is kept.
    specs = list(await moved_by_a_301_then_listed(storage))
    by_name = {f.name: f for f in await storage.feeds.listed()}
    assert by_name["A"].disabled_reason == "moved to the address of B"
    assert [f.name for f in await storage.feeds.all()] == ["B"]
    await storage.feeds.sync(specs, now=NOW + 120)  # the next start: still one of them
    assert [f.name for f in await storage.feeds.all()] == ["B"]


async def polled(storage: Storage) -> list[tuple[str, str]]:
    return [(f.name, f.url) for f in await storage.feeds.all()]


async def test_two_feeds_moved_to_one_address_at_once_are_not_both_polled_there(
    storage: Storage,
) -> None:
    # Feeds are refreshed at once: both found nobody polled at C before either stored it.
    a, b = await add_feeds(storage, "A", "B")
    there = "https://c.example/rss"
    moves = [storage.feeds.move(f.id, there, now=NOW) for f in (a, b)]
    assert await asyncio.gather(*moves) == [None, "A"]
    assert await polled(storage) == [("A", there)]
    stopped = {f.name: f for f in await storage.feeds.listed()}["B"]
    assert (stopped.url, stopped.disabled_reason) == (there, "moved to the address of A")
    assert stopped.told_disabled_at is None  # the admins are to be told


async def test_a_start_polls_an_address_two_moved_feeds_share_once(storage: Storage) -> None:
    # Two feeds that a 301 moved to one address before the move was guarded (a database of
    # an older version): the outlet counted twice until a start stopped one of them.
    specs = [FeedSpec(name=n, url=f"https://{n.lower()}.example/rss") for n in ("A", "B", "C")]
    await storage.feeds.sync(specs, now=NOW)
    there = "https://d.example/rss"
    await storage.db.execute("UPDATE feeds SET url = ? WHERE name != 'A'", (there,))
    await storage.feeds.sync(specs, now=NOW + 60)
    assert await polled(storage) == [("A", "https://a.example/rss"), ("B", there)]
    reasons = {f.name: f.disabled_reason for f in await storage.feeds.listed()}
    assert reasons["C"] == "moved to the address of B"


async def test_of_two_feeds_stopped_for_a_feed_that_goes_one_comes_back(
    storage: Storage,
) -> None:
    # KZ and KG moved to the address feeds.yaml lists Outlet at; then Outlet is removed.
    # Both came back, both polling that address.
    there = "https://outlet.example/all"
    specs = [FeedSpec(name=n, url=f"https://{n[-2:].lower()}.outlet.example/rss") for n in (
        "Outlet KZ", "Outlet KG"
    )]  # fmt: skip
    await storage.feeds.sync([FeedSpec(name="Outlet", url=there), *specs], now=NOW)
    for feed in await storage.feeds.all():
        if feed.name != "Outlet":
            assert await storage.feeds.move(feed.id, there, now=NOW) == "Outlet"
    await storage.feeds.sync(specs, now=NOW + 60)
    assert await polled(storage) == [("Outlet KZ", there)]
    await storage.feeds.sync(specs, now=NOW + 120)
    assert await polled(storage) == [("Outlet KZ", there)]


async def test_feed_error_bookkeeping(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "A")
    await storage.feeds.record_error(
        feed.id, "FetchTimeout: x" * 100, now=NOW, next_check_at=NOW + 60
    )
    [feed] = await storage.feeds.all()
    assert feed.error_count == 1
    assert feed.last_error is not None
    assert len(feed.last_error) <= 300
    await storage.feeds.record_success(  # a 304, as the refresher records it
        feed.id, now=NOW + 60, next_check_at=NOW + 660, etag='"v2"', last_modified=None
    )
    [feed] = await storage.feeds.all()
    assert (feed.error_count, feed.last_error, feed.last_success_at) == (0, None, NOW + 60)
    assert feed.etag == '"v2"'


async def test_a_304_can_move_the_feed_and_bring_new_validators(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "A")
    await storage.feeds.record_success(
        feed.id, now=NOW, next_check_at=NOW + 600, etag='"v1"', last_modified="Mon"
    )
    # The 301 on the way, then the 304, as the refresher records them.
    assert await storage.feeds.move(feed.id, "https://new.example/rss", now=NOW + 600) is None
    await storage.feeds.record_success(
        feed.id, now=NOW + 600, next_check_at=NOW + 1200, etag='"v2"', last_modified="Tue"
    )
    [feed] = await storage.feeds.all()
    assert (feed.url, feed.etag, feed.last_modified) == ("https://new.example/rss", '"v2"', "Tue")


async def test_run_is_one_transaction_rolled_back_as_a_whole(storage: Storage) -> None:
    def half_then_fail(tx: SyncTransaction) -> None:
        tx.execute("INSERT INTO counters (name, value) VALUES ('a', 1)")
        raise RuntimeError("fails after the first statement")

    with pytest.raises(RuntimeError):
        await storage.db.run(half_then_fail)
    assert await storage.db.scalar("SELECT COUNT(*) FROM counters WHERE name = 'a'") == 0

    def two(tx: SyncTransaction) -> int:
        tx.execute("INSERT INTO counters (name, value) VALUES ('a', 1)")
        return tx.execute("UPDATE counters SET value = 2 WHERE name = 'a'")

    assert await storage.db.run(two) == 1
    assert await storage.db.scalar("SELECT value FROM counters WHERE name = 'a'") == 2


async def test_a_watched_backlog_item_keeps_no_watch_only_story(storage: Storage) -> None:
    # An old entry alerts nobody; a story kept for it had no delivery tying it to the chat
    # that watched, so /forget left it behind, telling whom the chat had watched.
    [feed] = await add_feeds(storage, "Outlet")
    for chat, key, phrase in ((42, "varfolomev", "Варфоломеев"), (43, "ivanov", "Иванов")):
        await storage.chats.subscribe(chat, [], thread_id=None, now=NOW)
        await storage.watchlist.add(chat, key, phrase, now=NOW, limit=50)
    chess = make_entry(
        "Варфоломеев выиграл турнир", summary="Шахматы.", link="https://o.example/9",
        published=NOW - 10 * DAY,
    )  # fmt: skip
    item = replace(incoming(chess, IRRELEVANT), watchers=frozenset({42}))
    await storage.stories.save(feed, [item], now=NOW, alert_max_age=DAY)
    assert await storage.db.scalar("SELECT COUNT(*) FROM stories") == 0
    assert await storage.db.scalar("SELECT title FROM entries") is None


def files_holding(directory: Path, data: bytes) -> list[str]:
    return [path.name for path in directory.iterdir() if data in path.read_bytes()]


async def test_a_wiped_chat_leaves_nothing_readable_in_the_files(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "db.sqlite3")
    phrase = "Qzxvbnmlkjhg Ppoiuytrewq"
    try:
        for chat in (42, 43):
            await storage.chats.subscribe(chat, [], thread_id=None, now=NOW)
            await storage.watchlist.add(chat, f"key{chat}", f"{phrase} {chat}", now=NOW, limit=50)
        await storage.chats.forget(42)
        chat = await storage.chats.get(43)
        assert chat is not None
        await storage.chats.save_settings(replace(chat, digest_hour=21), now=NOW)
        await storage.chats.deactivate(43)
        row = await storage.db.fetchone("SELECT * FROM chats WHERE chat_id = 43")
        assert row is not None
        assert (row["digest_hour"], row["created_at"], row["active"]) == (9, 0, 0)
        assert files_holding(tmp_path, phrase.encode()) == []  # the database, its log, ...
    finally:
        await storage.close()


async def test_a_transaction_cancelled_while_it_begins_leaves_none_open(tmp_path: Path) -> None:
    # BEGIN runs on the connection's thread whatever happens to the task that asked for it:
    # one cancelled while BEGIN waited for another process's lock left the connection inside
    # a transaction, and every later write failed until a restart.
    path = tmp_path / "db.sqlite3"
    storage = await Storage.open(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")

        async def write() -> None:
            async with storage.db.transaction() as tx:
                await tx.execute("INSERT INTO counters (name, value) VALUES ('a', 1)")

        task = asyncio.create_task(write())
        await asyncio.sleep(0.3)  # BEGIN IMMEDIATE is waiting for the other's lock
        task.cancel()
        other.execute("COMMIT")
        with pytest.raises(asyncio.CancelledError):
            await task
        async with storage.db.transaction() as tx:
            await tx.execute("INSERT INTO counters (name, value) VALUES ('b', 1)")
        names = await storage.db.fetchall("SELECT name FROM counters WHERE name IN ('a', 'b')")
        assert [r["name"] for r in names] == ["b"]
    finally:
        other.close()
        await storage.close()


async def test_a_failing_save_stores_nothing(storage: Storage) -> None:
    feed = (await add_feeds(storage, "Outlet"))[0]
    good = incoming(make_entry("Казахстан выдал России дезертира", link="https://o.example/1"))
    # A story without a title breaks a NOT NULL constraint after `good` has been stored.
    untitled = replace(good.entry, link="https://o.example/2", title=None)
    broken = replace(good, key="other", canonical_url="https://o.example/2", entry=untitled)
    with pytest.raises(sqlite3.IntegrityError):
        await storage.stories.save(feed, [good, broken], now=NOW, alert_max_age=3600)
    assert (await storage.counts())["entries"] == 0
    assert await storage.stories.recent(5) == []


async def test_a_database_path_that_cannot_be_opened_names_the_setting(tmp_path: Path) -> None:
    # One line for the operator, not a sqlite3 traceback that names no setting.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for path in (tmp_path, blocker / "bot.sqlite3"):
        with pytest.raises(ConfigError, match="DATABASE_PATH"):
            await Storage.open(path)


async def test_stored_errors_hold_no_bot_token(storage: Storage) -> None:
    # Some network errors quote the request URL, and Telegram's holds the token.
    token = "123456789:" + "A" * 35
    error = (
        f"TelegramNetworkError: TooManyRedirects, url='http://127.0.0.1:1/bot{token}/sendMessage'"
    )
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    await storage.stories.save(feed, [incoming(make_entry())], now=NOW, alert_max_age=DAY)
    [delivery] = await storage.outbox.due(NOW, limit=1)
    assert await storage.outbox.mark_sending(delivery.id, NOW)
    await storage.outbox.give_up(delivery.id, error)
    await storage.feeds.record_error(feed.id, error, now=NOW, next_check_at=NOW)
    stored = await storage.db.fetchall(
        "SELECT last_error FROM deliveries UNION ALL SELECT last_error FROM feeds"
    )
    assert [r[0] for r in stored] == [error.replace(token, "<redacted>")] * 2


@pytest.mark.parametrize("gone", ["forget", "block"])
async def test_no_watch_only_story_is_kept_for_a_chat_gone_since_the_cycle_began(
    storage: Storage, gone: str
) -> None:
    """The refresher reads the watchlists when its cycle begins and fetches for seconds: a
    chat that says /forget (or blocks the bot) meanwhile must not get a watch-only story kept
    for nobody, whose text tells whom it watched and which no later /forget finds."""
    [feed] = await add_feeds(storage, "Outlet")
    for chat, key, phrase in ((42, "bashukov", "Бажуков"), (43, "kasimov", "Касимов")):
        await storage.chats.ensure(chat, NOW)
        await storage.watchlist.add(chat, key, phrase, now=NOW, limit=50)
    watchers = frozenset(chat for chat, _ in await storage.watchlist.terms())
    assert watchers == {42, 43}
    await (storage.chats.forget(42) if gone == "forget" else storage.chats.deactivate(42))
    arrest = make_entry("Бажуков задержан в Ереване", published=NOW - 60)
    kasimov = make_entry("Касимов выиграл турнир", link="https://e.org/k", published=NOW - 60)
    items = [
        replace(incoming(arrest, IRRELEVANT), watchers=frozenset({42})),
        replace(incoming(kasimov, IRRELEVANT), watchers=watchers),
    ]
    await storage.stories.save(feed, items, now=NOW, alert_max_age=DAY)
    kept = await storage.db.fetchall("SELECT title FROM stories WHERE broadcast = 0")
    assert [r["title"] for r in kept] == ["Касимов выиграл турнир"]  # chat 43 still watches
    assert await storage.outbox.pending_count(43) == 1
    assert await storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE chat_id = 42") == 0


@pytest.mark.parametrize("dated", [True, False])
async def test_an_item_under_a_new_key_is_the_same_entry_not_a_new_one(
    storage: Storage, dated: bool
) -> None:
    """The site moves its permalink GUIDs to https (or a duplicate listing keyed the item by
    its link for a while): the same link and text under another key is the entry the feed
    stored, not a second source of its story, nor, undated and polled past the merge window,
    a new story alerted again."""
    [feed] = await add_feeds(storage, "OVD")
    # Polled before: an undated item is news, not the backlog of a feed seen for the first time.
    await storage.feeds.record_success(
        feed.id, now=NOW - 3600, next_check_at=NOW, etag=None, last_modified=None
    )
    [feed] = await storage.feeds.all()
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    entry = make_entry(
        "Казахстан выдал России дезертира Бажукова",
        link="https://ovd.example/1",
        published=NOW - 60 if dated else None,
    )
    first = await storage.stories.save(
        feed, [incoming(entry, key="guid:http://ovd.example/1")], now=NOW, alert_max_age=DAY
    )
    assert len(first.alerted) == 1
    moved = incoming(entry, key="guid:https://ovd.example/1")
    again = await storage.stories.save(feed, [moved], now=NOW + 8 * DAY, alert_max_age=DAY)
    assert (again.new_stories, again.deliveries) == ((), 0)
    rows = await storage.db.fetchall("SELECT entry_key FROM entries")
    assert [r["entry_key"] for r in rows] == ["guid:https://ovd.example/1"]
    [story] = await storage.stories.recent(5)
    assert len(await storage.stories.sources(story.id)) == story.sources == 1


async def _sent_alert(storage: Storage, feed: FeedState, entry: Entry) -> None:
    await storage.stories.save(feed, [incoming(entry)], now=NOW, alert_max_age=DAY)
    [delivery] = await storage.outbox.due(NOW, limit=5)
    assert await storage.outbox.mark_sending(delivery.id, NOW)
    await storage.outbox.mark_sent(delivery.id, 777, NOW, chat_id=1)


@pytest.mark.parametrize("change", ["rename", "swap"])
async def test_a_feed_renamed_or_two_swapping_addresses_keep_their_entries(
    storage: Storage, change: str
) -> None:
    """A feed is its address: renamed in feeds.yaml (or two feeds' addresses swapped, the
    labels having been the wrong way round), it keeps its entries. Matched by name, the next
    poll's items each joined their own story as another outlet's: counted twice, and an edit
    to every chat that had the alert."""
    a_url, b_url = "https://a.example/rss", "https://b.example/rss"
    await storage.feeds.sync([FeedSpec("A", a_url), FeedSpec("B", b_url)], now=NOW)
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    [a, _] = await storage.feeds.all()
    entry = make_entry("Казахстан выдал России дезертира", link="https://a.example/n/1")
    await _sent_alert(storage, a, entry)
    if change == "rename":
        listed = [FeedSpec("А-медиа", a_url), FeedSpec("B", b_url)]
    else:
        listed = [FeedSpec("A", b_url), FeedSpec("B", a_url)]
    await storage.feeds.sync(listed, now=NOW + 60)
    [polls_a] = [f for f in await storage.feeds.all() if f.url == a_url]
    assert polls_a.id == a.id
    await storage.stories.save(polls_a, [incoming(entry)], now=NOW + 120, alert_max_age=DAY)
    [story] = await storage.stories.recent(5)
    assert (story.sources, story.outlets) == (1, (polls_a.name,))
    assert await storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE kind = 'edit'") == 0
    # The story it heads shows it by its name now too: under the old one, the card cited
    # its own report as another outlet's ("Also reported by" itself).
    assert story.outlet == polls_a.name
    assert also_reported_by(story, await storage.stories.sources(story.id)) is None


async def test_a_channel_renamed_while_its_usernames_case_is_fixed_keeps_its_entries(
    storage: Storage,
) -> None:
    # A channel is the same source in any case of its username (`bot.config.source_address`:
    # feeds.yaml refuses both cases as a duplicate). Matched exactly, "OVD" at OvdInfo listed
    # as "OVD-Info" at ovdinfo was a new feed, and every post joined its story a second time.
    old = FeedSpec("OVD", "https://t.me/s/OvdInfo", kind="telegram")
    new = FeedSpec("OVD-Info", "https://t.me/s/ovdinfo", kind="telegram")
    await storage.feeds.sync([old], now=NOW)
    [before] = await storage.feeds.all()
    entry = make_entry("Казахстан выдал России дезертира", link="https://t.me/OvdInfo/1")
    await storage.stories.save(before, [incoming(entry)], now=NOW, alert_max_age=DAY)
    await storage.feeds.sync([new], now=NOW + 60)
    [after] = await storage.feeds.all()
    assert (after.id, after.name, after.url) == (before.id, "OVD-Info", new.url)
    await storage.stories.save(after, [incoming(entry)], now=NOW + 120, alert_max_age=DAY)
    [story] = await storage.stories.recent(5)
    assert (story.sources, story.outlets) == (1, ("OVD-Info",))


async def test_two_feeds_trading_names_each_keep_heading_their_stories(storage: Storage) -> None:
    # Each heads a story that the other reports too: each story takes its head's new name.
    a_url, b_url = "https://a.example/rss", "https://b.example/rss"
    await storage.feeds.sync([FeedSpec("A", a_url), FeedSpec("B", b_url)], now=NOW)
    a, b = sorted(await storage.feeds.all(), key=lambda f: f.name)
    one = make_entry("Казахстан выдал России дезертира", link="https://a.example/n/1")
    two = make_entry("Грузия выдала России активиста", link="https://b.example/n/2")
    for first, second, entry in ((a, b, one), (b, a, two)):
        await storage.stories.save(first, [incoming(entry)], now=NOW, alert_max_age=DAY)
        await storage.stories.save(second, [incoming(entry)], now=NOW, alert_max_age=DAY)
    await storage.feeds.sync([FeedSpec("A", b_url), FeedSpec("B", a_url)], now=NOW + 60)
    heads = {s.link: s.outlet for s in await storage.stories.recent(5)}
    assert heads == {one.link: "B", two.link: "A"}


async def test_a_name_given_to_another_feed_moves_with_its_address(storage: Storage) -> None:
    """feeds.yaml drops a feed and gives its name to another (the outlet's plain name): the
    feed at the kept address keeps its entries under that name. Matched by name, the dropped
    feed's row was re-pointed there, and its next poll stored every item again as another
    outlet's ("Sources (2)" citing one article twice, an edit to every chat with the alert)."""
    old = FeedSpec(name="Azattyq", url="https://azattyq.example/old.rss")
    kz = FeedSpec(name="Azattyq KZ", url="https://azattyq.example/kz.rss")
    await storage.feeds.sync([old, kz], now=NOW)
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    before = {f.name: f for f in await storage.feeds.all()}
    item = make_entry("Казахстан выдал России активиста", link="https://azattyq.example/a/1")
    await _sent_alert(storage, before["Azattyq KZ"], item)
    await storage.feeds.sync([FeedSpec(name="Azattyq", url=kz.url)], now=NOW + 60)
    [feed] = await storage.feeds.all()
    assert (feed.id, feed.name, feed.url) == (before["Azattyq KZ"].id, "Azattyq", kz.url)
    await storage.stories.save(feed, [incoming(item)], now=NOW + 120, alert_max_age=DAY)
    assert await storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE kind = 'edit'") == 0
    [story] = await storage.stories.recent(5)
    sources = await storage.stories.sources(story.id)
    assert [(s.outlet, s.link) for s in sources] == [("Azattyq", item.link)]
    assert (story.sources, story.outlets, story.outlet) == (1, ("Azattyq",), "Azattyq")
    # the dropped feed stays unlisted, under a name no feeds.yaml can list
    assert [f.name for f in await storage.feeds.listed()] == ["Azattyq"]
    await storage.feeds.sync([FeedSpec(name="Azattyq", url=kz.url)], now=NOW + 180)
    assert [f.id for f in await storage.feeds.listed()] == [feed.id]


async def test_a_feed_whose_name_went_to_another_still_cites_its_reports_by_it(
    storage: Storage,
) -> None:
    # The dropped feed's row is kept under another name (its name went to the other feed),
    # which must not reach users: its reports are still that outlet's, in cards and search.
    old = FeedSpec(name="Azattyq", url="https://azattyq.example/old.rss")
    kz = FeedSpec(name="Azattyq KZ", url="https://azattyq.example/kz.rss")
    await storage.feeds.sync([old, kz], now=NOW)
    before = {f.name: f for f in await storage.feeds.all()}
    item = make_entry("Казахстан выдал России активиста Петренко", link="https://x.example/1")
    await storage.stories.save(before["Azattyq"], [incoming(item)], now=NOW, alert_max_age=0)
    await storage.stories.save(before["Azattyq KZ"], [incoming(item)], now=NOW, alert_max_age=0)
    await storage.feeds.sync([FeedSpec(name="Azattyq", url=kz.url)], now=NOW + 60)
    [story] = await storage.stories.recent(5)
    sources = await storage.stories.sources(story.id)
    # ... one outlet, whose article at one address is cited once
    assert [s.outlet for s in sources] == ["Azattyq"]
    assert (story.outlet, story.outlets, story.sources) == ("Azattyq", ("Azattyq",), 1)
    await storage.db.execute(
        """INSERT INTO search_pending (story_id) VALUES (?)
           ON CONFLICT (story_id) DO UPDATE SET version = version + 1""",
        (story.id,),
    )
    await storage.search_index.flush()
    outlets = await storage.db.scalar("SELECT outlets FROM search_fts WHERE rowid = ?", (story.id,))
    assert outlets == "azattyq"


PHRASE = "Qzxvbnmlkjhg Ppoiuytrewq"  # found in the files by its bytes


def _forget_then_killed(path: Path) -> None:
    """A bot process that commits /forget of chat 42 and is killed before its checkpoint."""
    child = textwrap.dedent(f"""
        import asyncio, os
        from bot.storage import Storage
        from bot.storage.chats import _forget
        async def main():
            s = await Storage.open({str(path)!r})
            await s.chats.subscribe(42, [], thread_id=None, now={NOW})
            await s.watchlist.add(42, "k", {PHRASE!r}, now={NOW}, limit=50)
            await s.db.run(lambda tx: _forget(tx, 42))  # committed ...
            os._exit(137)  # ... and killed before clear_journal()
        asyncio.run(main())
    """)
    subprocess.run([sys.executable, "-c", child], cwd=REPO, check=False, timeout=120)


def _files_holding(directory: Path, text: str) -> list[str]:
    return [p.name for p in directory.iterdir() if text.encode() in p.read_bytes()]


async def test_a_crash_after_forget_commits_leaves_no_watchlist_in_the_log(tmp_path: Path) -> None:
    """Killed between /forget's commit and its checkpoint, the bot left the chat's rows in
    the write-ahead log; the restart empties it."""
    path = tmp_path / "db.sqlite3"
    await asyncio.to_thread(_forget_then_killed, path)
    storage = await Storage.open(path)  # the restart
    try:
        assert await storage.chats.get(42) is None
        await storage.beat(NOW)
        assert await asyncio.to_thread(_files_holding, tmp_path, PHRASE) == []
    finally:
        await storage.close()


@pytest.mark.parametrize("where", ["migrating", "maintaining"])
async def test_a_database_the_bot_cannot_write_is_one_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    # A file restored as root and opened by the image's own user: SQLite refuses the first
    # write, which was a traceback (exit 1), not a line naming DATABASE_PATH (exit 2).
    path = tmp_path / "db.sqlite3"
    if where == "migrating":
        with sqlite3.connect(path) as conn:
            conn.executescript(";".join(MIGRATIONS[:13]) + ";PRAGMA user_version = 13;")
        target = "bot.storage.db.Database._call"
    else:
        await (await Storage.open(path)).close()
        target = "bot.storage.rekey.upgrade"

    async def refused(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(target, refused)
    with pytest.raises(ConfigError, match=r"DATABASE_PATH: cannot update .*readonly"):
        await Storage.open(path)


def _opened_read_only(path: str) -> sqlite3.Connection:
    """The connection SQLite falls back to for a file the process may not write (restored
    as root, opened by the image's user 10001): reads work, the first write is refused."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    conn.isolation_level = None
    conn.row_factory = sqlite3.Row
    for pragma in db_module._PRAGMAS:
        conn.execute(pragma)
    return conn


async def _opening(path: Path, **opened_as: bool) -> str:
    """Whether the file opens (then closed again), or the configuration error refusing it."""
    try:
        storage = await Storage.open(path, **opened_as)
    except ConfigError as exc:
        return str(exc)
    try:
        await storage.counts()  # and it reads
    finally:
        await storage.close()
    return "opened"


@pytest.mark.parametrize(
    ("opened_as", "outcome"),
    [
        # the bot, `poll --once`: they write from the start
        ({}, r"DATABASE_PATH: cannot update .*: attempt to write a readonly database"),
        ({"writing": False}, "opened"),  # `search`: a read-only copy will do
        ({"maintain": False}, "opened"),  # `status`, the health check
    ],
    ids=["bot", "search", "status"],
)
async def test_an_up_to_date_database_the_bot_cannot_write_is_refused_when_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened_as: dict[str, bool], outcome: str
) -> None:
    # Up to date, the database needed no write to open, and the bot met the refusal at its
    # first one (feeds.sync): a traceback (exit 1), not the line naming DATABASE_PATH (exit 2).
    path = tmp_path / "db.sqlite3"
    await (await Storage.open(path)).close()
    monkeypatch.setattr(db_module, "_connect", _opened_read_only)
    assert re.fullmatch(outcome, await _opening(path, **opened_as))


async def test_a_feed_stopped_for_another_listed_feed_comes_back_when_that_one_goes(
    storage: Storage,
) -> None:
    # A moved to C by a 301; feeds.yaml then lists B at C, so A was stopped ("moved to the
    # address of B"). Once B is removed, nobody polled C, and A stayed stopped.
    a, b = await moved_by_a_301_then_listed(storage)
    assert [f.name for f in await storage.feeds.all()] == ["B"]
    await storage.feeds.sync([a], now=NOW + 120)
    [polled] = await storage.feeds.all()
    assert (polled.name, polled.url, polled.disabled_reason) == ("A", b.url, None)


async def test_two_processes_opening_an_older_database_at_once_both_open_it(
    tmp_path: Path,
) -> None:
    # The bot starting after an upgrade while the health check's `status` opens the database
    # too: both read version 12 and waited for the write lock (held here by a third writer);
    # the second then ran the migration again and failed on the first one's columns.
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(";".join(MIGRATIONS[:12]) + ";PRAGMA user_version = 12;")
        conn.execute("PRAGMA journal_mode = WAL")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    opening = [asyncio.create_task(Storage.open(path, maintain=False)) for _ in range(2)]
    await asyncio.sleep(0.5)
    writer.execute("ROLLBACK")
    writer.close()
    opened = await asyncio.gather(*opening, return_exceptions=True)
    for each in opened:
        if isinstance(each, Storage):
            await each.close()
    assert [type(each).__name__ for each in opened] == ["Storage", "Storage"]


async def test_a_paused_chat_is_not_alerted_again_about_a_story_it_already_has(
    storage: Storage,
) -> None:
    group = -1005
    now = time.time()
    first, second = await add_feeds(storage, "OVD", "Mediazona")
    await storage.chats.subscribe(group, [], thread_id=None, now=now)
    story = make_entry(
        "Kazakhstan extradites deserter Bazhukov", link="https://e.org/s", published=now - 60
    )
    await storage.stories.save(first, [incoming(story)], now=now, alert_max_age=DAY)
    [alert] = await storage.outbox.due(now, limit=10)
    assert await storage.outbox.mark_sending(alert.id, now)
    await storage.outbox.mark_sent(alert.id, message_id=500, now=now, chat_id=group)
    # The next alert meets "not enough rights" (the group made read-only a moment): the
    # sender pauses the chat; the right comes back and Telegram says so (reactivate).
    await storage.chats.pause(group)
    await storage.chats.reactivate(group)
    # Another outlet reports the same story (same link: it joins it).
    again = make_entry("Bazhukov handed over to Russia", link="https://e.org/s", published=now - 30)
    await storage.stories.save(second, [incoming(again)], now=now + 120, alert_max_age=DAY)
    rows = await storage.db.fetchall(
        "SELECT kind, state FROM deliveries WHERE chat_id = ? ORDER BY id", (group,)
    )
    # The group has the alert (message 500): at most an edit of it, never a second alert.
    # Pausing deleted the chat's sent alerts with its queue.
    assert ("alert", "pending") not in [(r[0], r[1]) for r in rows], [tuple(r) for r in rows]


async def test_a_paused_watchers_watch_only_story_is_kept(storage: Storage) -> None:
    """A pause keeps the watchlist, and so the watch-only story the chat was alerted about
    (and its alert): a later report of the case joins it, not a new story alerted again."""
    chat = -1007
    now = time.time()
    [first] = await add_feeds(storage, "Kloop")
    await storage.chats.ensure(chat, now)
    await storage.watchlist.add(chat, "bashukov", "Бажуков", now=now, limit=50)
    entry = make_entry(
        "Бажукова задержали в Алматы",
        summary="Бажуков задержан.",
        link="https://e.org/b",
        published=now - 60,
    )
    await storage.stories.save(
        first,
        [replace(incoming(entry, IRRELEVANT), watchers=frozenset({chat}))],
        now=now,
        alert_max_age=DAY,
    )
    [alert] = await storage.outbox.due(now, limit=10)
    assert await storage.outbox.mark_sending(alert.id, now)
    await storage.outbox.mark_sent(alert.id, message_id=9, now=now, chat_id=chat)
    await storage.chats.pause(chat)
    await storage.chats.reactivate(chat)
    story = await storage.db.fetchone("SELECT id FROM stories WHERE id = ?", (alert.story.id,))
    assert story is not None, "the story the paused chat was alerted about was deleted"


@pytest.mark.parametrize("way", ["run", "transaction"])
async def test_a_commit_that_fails_leaves_no_transaction_open(storage: Storage, way: str) -> None:
    """SQLite can leave a transaction open when its COMMIT fails (a full disk, a deferred
    constraint): every later write of the one connection then failed with "cannot start a
    transaction within a transaction", the bot writing nothing until restarted."""
    db = storage.db
    await db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    await db.execute(
        """CREATE TABLE child (parent INTEGER REFERENCES parent (id)
           DEFERRABLE INITIALLY DEFERRED)"""
    )

    async def orphan() -> None:
        if way == "run":
            await db.run(lambda tx: tx.execute("INSERT INTO child VALUES (1)"))
        else:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO child VALUES (1)")

    with pytest.raises(sqlite3.IntegrityError):
        await orphan()
    await db.run(lambda tx: tx.execute("INSERT INTO parent VALUES (1)"))
    assert await db.scalar("SELECT COUNT(*) FROM child") == 0
    assert await db.scalar("SELECT COUNT(*) FROM parent") == 1


async def test_forget_is_done_when_only_emptying_the_log_fails(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wipe is committed before the write-ahead log is emptied: that last step failing
    (the disk full) must not make /forget fail, or the chat is told nothing was deleted."""

    def refuse(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    await storage.chats.subscribe(7, ["KZ"], thread_id=None, now=NOW)
    monkeypatch.setattr("bot.storage.db._checkpoint", refuse)
    await storage.chats.forget(7)
    assert await storage.chats.get(7) is None


H = 3600.0
D = 1795651200.0  # 2026-11-25 00:00 UTC


async def test_a_digest_sent_before_the_upgrade_still_counts_as_the_days_digest(
    tmp_path: Path,
) -> None:
    """Schema 19 kept no chat's last digest: a daily chat whose digest went at 09:00 under the
    old code, moving its hour to 12:00 after the upgrade, must get the next one tomorrow."""
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(";".join(MIGRATIONS[:19]) + ";PRAGMA user_version = 19;")
        conn.execute(
            """INSERT INTO chats (chat_id, subscribed, active, created_at, mode, digest_hour)
               VALUES (222, 1, 1, ?, 'daily', 9)""",
            (D - 10 * DAY,),
        )
        conn.executemany(
            """INSERT INTO stories (id, created_at, title, summary, outlet, score, number)
               VALUES (?, ?, 't', 's', 'o', 1, ?)""",
            [(1, D - DAY, 1), (2, D - DAY, 2)],
        )
        conn.executemany(
            """INSERT INTO deliveries (chat_id, story_id, kind, state, next_attempt_at,
                                       created_at, due_at)
               VALUES (222, ?, 'digest', ?, ?, ?, ?)""",
            [
                (1, "sent", D + 9 * H, D - 20 * H, D + 9 * H),  # today's, sent at 09:00
                (2, "pending", D + DAY + 9 * H, D + 10 * H, D + DAY + 9 * H),  # tomorrow's
            ],
        )
    now = D + 10 * H
    store = await Storage.open(path, now=now)
    try:
        chat = await store.chats.get(222)
        assert chat is not None
        await store.chats.save_settings(replace(chat, digest_hour=12), now=now)
        due = await store.db.scalar("SELECT due_at FROM deliveries WHERE story_id = 2")
        assert due == D + DAY + 12 * H
    finally:
        await store.close()


async def test_errors_that_quote_a_bot_token_are_dropped_on_upgrade(tmp_path: Path) -> None:
    """Versions before `bot.logs.stored_error` stored a delivery's error as it came, and a
    network error can quote the Bot API address with the token in it."""
    token = "123456789:AAF1bcdefghijklmnopqrstuvwxyz0123456"
    quoted = f"TelegramNetworkError: https://api.telegram.org/bot{token}/sendMessage"
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(";".join(MIGRATIONS[:21]) + ";PRAGMA user_version = 21;")
        conn.execute("INSERT INTO chats (chat_id, created_at) VALUES (1, 0)")
        conn.executemany(
            """INSERT INTO stories (id, created_at, title, summary, outlet, score)
               VALUES (?, 0, 't', '', 'o', 1)""",
            [(1,), (2,)],
        )
        conn.executemany(
            """INSERT INTO deliveries (chat_id, story_id, next_attempt_at, created_at, last_error)
               VALUES (1, ?, 0, 0, ?)""",
            [(1, quoted), (2, "TelegramRetryAfter")],
        )
    store = await Storage.open(path)
    try:
        rows = await store.db.fetchall("SELECT last_error FROM deliveries ORDER BY story_id")
        assert [r[0] for r in rows] == [None, "TelegramRetryAfter"]
    finally:
        await store.close()
    assert token.encode() not in path.read_bytes()


async def test_opening_waits_for_another_process_upkeep_turn(tmp_path: Path) -> None:
    """Re-keying and rebuilding the search index at opening take turns with another process
    doing the same (the bot and `poll --once` upgrading one database): each rebuild is write
    transactions, and the one that waited past the busy timeout stopped 'database is locked'."""
    path = tmp_path / "db.sqlite3"
    await (await Storage.open(path)).close()
    turn = Path(f"{path.resolve()}.migrating")
    with turn.open("a") as other:  # noqa: ASYNC230 -- another process's turn, held; a local file
        fcntl.flock(other, fcntl.LOCK_EX)
        opening = asyncio.create_task(Storage.open(path))
        await asyncio.sleep(0.5)
        waited = not opening.done()
    store = await asyncio.wait_for(opening, 10)
    await store.close()
    assert waited


async def test_an_undated_report_is_not_cited_with_the_day_it_was_seen(storage: Storage) -> None:
    """A feed added today gives its backlog without dates: the day the bot saw a report is not
    the day it was published, which a lawyer cites. Stories and sources keep the feed's date
    (None) apart from when they were seen; that day still orders them and answers since:/until:
    (a search by day must not lose what has no date). (Moved in from a review.)"""
    [feed] = await add_feeds(storage, "Vlast.kz")
    item = make_entry(
        "Казахстан выдал России активиста Петренко", link="https://vlast.example/1", published=None
    )
    await storage.stories.save(feed, [incoming(item)], now=NOW, alert_max_age=0)
    story = await storage.stories.get(1)
    assert story is not None
    [source] = await storage.stories.sources(story.id)
    seen = datetime.fromtimestamp(NOW, UTC)
    assert (story.published_at, story.seen_at) == (None, seen)
    assert (source.published_at, source.seen_at) == (None, seen)
    card, _ = story_card(story, [source]).render()
    assert "undated (seen 3 Feb 2026)" in card
    query = QueryBuilder().build("Петренко since:2026-02-03 until:2026-02-03", now=NOW)
    [found] = await storage.search.stories(query, limit=5, now=NOW)
    assert (found.published_at, found.seen_at) == (None, seen)
