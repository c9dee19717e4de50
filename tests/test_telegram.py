"""Commands through long polling against the fake Bot API: /start, /subscribe, /search, ..."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message, Update

from bot.i18n import Catalogs
from bot.storage import FeedState, Storage
from bot.telegram.in_flight import InFlight
from tests.conftest import add_feeds, incoming, make_entry
from tests.fakes.botapi import FakeBotAPI
from tests.telegram_harness import Running, running_bot

ADMIN = 777


@pytest.fixture
async def tg(storage: Storage) -> AsyncIterator[Running]:
    async with FakeBotAPI() as api, running_bot(storage, api, admin_ids=str(ADMIN)) as running:
        yield running
        api.assert_no_violations()


async def say(tg: Running, chat: int, text: str, n: int, **kwargs: object) -> str:
    """Send `text` as a user and return the reply (the chat's n-th bot message)."""
    tg.api.user_message(chat, text, **kwargs)  # type: ignore[arg-type]
    replies = await tg.api.wait_for_messages(chat, n, timeout=15)
    return replies[n - 1]


async def test_start_explains_what_is_stored(tg: Running) -> None:
    reply = await say(tg, 10, "/start", 1)
    assert "I store only this chat's id" in reply
    assert "/subscribe" in await say(tg, 10, "/help", 2)


async def test_subscribe_all_then_some_then_unsubscribe(tg: Running) -> None:
    assert "all transit countries" in await say(tg, 10, "/subscribe", 1)
    chat = await tg.storage.chats.get(10)
    assert chat is not None
    assert (chat.subscribed, chat.countries) == (True, ())
    assert "Kazakhstan" in await say(tg, 10, "/subscribe kz KG", 2)
    chat = await tg.storage.chats.get(10)
    assert chat is not None
    assert chat.countries == ("KG", "KZ")
    assert "Unknown country" in await say(tg, 10, "/subscribe narnia", 3)
    assert "Unsubscribed" in await say(tg, 10, "/unsubscribe", 4)
    chat = await tg.storage.chats.get(10)
    assert chat is not None
    assert not chat.subscribed


async def test_group_non_admin_is_refused_admin_allowed(tg: Running) -> None:
    group = -200
    tg.api.set_member_status(group, 5, "member")
    tg.api.set_member_status(group, 6, "administrator")
    reply = await say(tg, group, "/subscribe", 1, user_id=5, chat_type="group")
    assert "Only the chat's admins" in reply
    assert await tg.storage.chats.get(group) is None
    reply = await say(tg, group, "/subscribe", 2, user_id=6, chat_type="group")
    assert "Subscribed" in reply


@pytest.mark.parametrize("command", ["/subscribe", "/search Бажуков"])
async def test_a_channel_post_copied_into_its_discussion_group_is_answered_once(
    tg: Running, command: str
) -> None:
    channel, group = -1002000, -1002001
    tg.api.channel_post_with_discussion(channel, group, command)
    await tg.api.wait_for_messages(channel, 1, timeout=15)
    # Answered after the copy (same update batch, earlier update), so a reply to the copy
    # would be there first.
    assert "Transit Watch" in await say(tg, group, "/privacy", 1, chat_type="supergroup")
    assert len(tg.api.messages_to(group)) == 1, tg.api.messages_to(group)
    assert len(tg.api.messages_to(channel)) == 1


async def test_forum_topic_is_remembered(tg: Running) -> None:
    forum = -1001234
    tg.api.set_member_status(forum, 6, "creator")
    await say(
        tg, forum, "/subscribe", 1, user_id=6, chat_type="supergroup",
        message_thread_id=42, is_topic_message=True,
    )  # fmt: skip
    chat = await tg.storage.chats.get(forum)
    assert chat is not None
    assert chat.thread_id == 42


async def test_search_and_recent(tg: Running) -> None:
    [feed] = await add_feeds(tg.storage, "Outlet")
    now = time.time()
    entry = make_entry("Казахстан выдал России дезертира Бажукова", published=now - 60)
    await tg.storage.stories.save(feed, [incoming(entry)], now=now, alert_max_age=0)
    found = await say(tg, 11, "/search бажуков", 1)
    assert "Бажукова" in found
    assert "Outlet" in found
    assert "Nothing found" in await say(tg, 11, "/search Movlaev", 2)
    assert "Type a few words" in await say(tg, 11, '/search "*"', 3)
    assert "Бажукова" in await say(tg, 11, "/recent", 4)


async def test_status_only_for_admins(tg: Running) -> None:
    reply = await say(tg, ADMIN, "/status", 1, user_id=ADMIN)
    assert "outbox: 0 due" in reply
    tg.api.user_message(12, "/status", user_id=12)
    tg.api.user_message(12, "/help", user_id=12)
    replies = await tg.api.wait_for_messages(12, 1, timeout=15)
    assert "Transit Watch" in replies[0]  # /status was silently ignored, /help answered
    assert len(tg.api.messages_to(12)) == 1


async def test_operator_commands_are_answered_in_private_chats_only(tg: Running) -> None:
    # In a group every member would read the sources' health and the subscriber counts.
    group = -100555
    for command in ("/feeds", "/status", "/stats", "/help"):
        tg.api.user_message(group, command, user_id=ADMIN, chat_type="supergroup")
    [reply] = await tg.api.wait_for_messages(group, 1, timeout=15)
    assert "Transit Watch" in reply  # /help; the operator commands were ignored
    await asyncio.sleep(4)  # a group gets one message in 3 s (bot.telegram.pacing)
    assert len(tg.api.messages_to(group)) == 1


async def test_feeds_shows_health_only_to_admins(tg: Running) -> None:
    from bot.model import FeedSpec

    now = time.time()
    specs = [FeedSpec("Good", "https://good.example/rss"), FeedSpec("Bad", "https://bad.example/")]
    await tg.storage.feeds.sync(specs, now=now)
    by_name = {f.name: f for f in await tg.storage.feeds.listed()}
    await tg.storage.feeds.record_success(
        by_name["Good"].id, now=now, next_check_at=now + 600, etag=None, last_modified=None
    )
    await tg.storage.feeds.record_error(
        by_name["Bad"].id, "HTTPStatusError: HTTP 500", now=now, next_check_at=now + 60
    )
    reply = await say(tg, ADMIN, "/feeds", 1, user_id=ADMIN)
    lines = reply.splitlines()
    assert lines[0] == "Sources: 2 (1 healthy, 0 not checked yet, 1 failing, 0 disabled)"
    assert lines[1].startswith("⚠️ Bad: failing for")
    assert "HTTP 500" in lines[1]
    assert lines[2].startswith("✅ Good: ok")
    tg.api.user_message(12, "/feeds", user_id=12)
    tg.api.user_message(12, "/help", user_id=12)
    replies = await tg.api.wait_for_messages(12, 1, timeout=15)
    assert "Transit Watch" in replies[0]
    assert len(tg.api.messages_to(12)) == 1


async def test_failing_feed_notice_reaches_each_admin_once(storage: Storage) -> None:
    from bot.model import FeedSpec
    from bot.schedule import TELL_ADMINS_AFTER
    from bot.telegram.feeds import notify_admins

    now = time.time()
    await storage.feeds.sync([FeedSpec("Down", "https://down.example/")], now=now)
    [feed] = await storage.feeds.listed()
    for _ in range(5):  # many failures, one notice
        await storage.feeds.record_error(feed.id, "ConnectError: refused", now=now,
                                         next_check_at=now)  # fmt: skip
    later = now + TELL_ADMINS_AFTER + 1
    catalogs = Catalogs.load()
    async with FakeBotAPI() as api, running_bot(storage, api, polling=False) as running:
        assert (
            await notify_admins(running.bot, storage, [ADMIN, 778], later, catalogs=catalogs) == 1
        )
        assert (
            await notify_admins(running.bot, storage, [ADMIN, 778], later + 60, catalogs=catalogs)
            == 0
        )
        for admin in (ADMIN, 778):
            [text] = api.messages_to(admin)
            assert "sources need attention" in text
            assert "Down: failing for 1d (5 errors)" in text
        await storage.feeds.disable(feed.id, "failing for 3 days", now=later)
        assert (
            await notify_admins(running.bot, storage, [ADMIN], later + 120, catalogs=catalogs) == 1
        )
        assert "Down: disabled, failing for 3 days" in api.messages_to(ADMIN)[1]
        assert (
            await notify_admins(running.bot, storage, [ADMIN], later + 180, catalogs=catalogs) == 0
        )
        api.assert_no_violations()


async def failing_since(storage: Storage, now: float) -> FeedState:
    """A source "Down" with one error at `now`."""
    from bot.model import FeedSpec

    await storage.feeds.sync([FeedSpec("Down", "https://down.example/")], now=now)
    [feed] = await storage.feeds.listed()
    await storage.feeds.record_error(feed.id, "ConnectError: refused", now=now, next_check_at=now)
    return feed


async def test_a_notice_one_admin_missed_is_not_repeated_to_the_others(storage: Storage) -> None:
    from bot.schedule import TELL_ADMINS_AFTER
    from bot.telegram.feeds import Told, notify_admins

    now = time.time()
    await failing_since(storage, now)
    later = now + TELL_ADMINS_AFTER + 1
    catalogs, sent = Catalogs.load(), set[Told]()
    async with FakeBotAPI() as api, running_bot(storage, api, polling=False) as running:
        # The first admin gets it; the second admin's send fails twice (a 502), then works.
        api.fail_next("sendMessage", 502, "Bad Gateway", times=2, after=1)
        for tick in range(4):
            told = await notify_admins(
                running.bot, storage, [ADMIN, 778], later + 30 * tick, catalogs=catalogs, sent=sent
            )
        assert told == 0  # the last tick: told already
        assert (len(api.messages_to(ADMIN)), len(api.messages_to(778))) == (1, 1)
        assert sent == set()  # nothing kept once the feed is marked told


async def test_a_new_streak_reaches_an_admin_who_had_the_previous_one(storage: Storage) -> None:
    from bot.schedule import TELL_ADMINS_AFTER
    from bot.telegram.feeds import Told, notify_admins

    now = time.time()
    feed = await failing_since(storage, now)
    later = now + TELL_ADMINS_AFTER + 1
    catalogs, sent = Catalogs.load(), set[Told]()
    async with FakeBotAPI() as api, running_bot(storage, api, polling=False) as running:
        api.fail_next("sendMessage", 502, "Bad Gateway", times=1, after=1)  # 778's send fails
        await notify_admins(running.bot, storage, [ADMIN, 778], later, catalogs=catalogs, sent=sent)
        assert len(api.messages_to(ADMIN)) == 1
        # The feed recovers before the next tick, and fails again a week later.
        await storage.feeds.record_success(
            feed.id, now=later + 10, next_check_at=later + 600, etag=None, last_modified=None
        )
        again = later + 7 * 86400
        await storage.feeds.record_error(feed.id, "HTTP 500", now=again, next_check_at=again)
        await notify_admins(
            running.bot, storage, [ADMIN, 778], again + TELL_ADMINS_AFTER + 1,
            catalogs=catalogs, sent=sent,
        )  # fmt: skip
        assert (len(api.messages_to(ADMIN)), len(api.messages_to(778))) == (2, 1)


async def test_feed_notice_speaks_each_admins_chat_language(storage: Storage) -> None:
    """A notice answers no update: an admin whose private chat has a language reads it in that
    language, an admin without one (779 never set it, 780 never wrote) reads English."""
    from bot.model import FeedSpec
    from bot.schedule import TELL_ADMINS_AFTER
    from bot.telegram.feeds import notify_admins

    now = time.time()
    await storage.chats.subscribe(ADMIN, [], thread_id=None, now=now, language="ru")
    await storage.chats.subscribe(778, [], thread_id=None, now=now, language="uk")
    await storage.chats.subscribe(779, [], thread_id=None, now=now)
    await storage.feeds.sync([FeedSpec("Down", "https://down.example/")], now=now)
    [feed] = await storage.feeds.listed()
    for _ in range(5):
        await storage.feeds.record_error(feed.id, "ConnectError: refused", now=now,
                                         next_check_at=now)  # fmt: skip
    later = now + TELL_ADMINS_AFTER + 1
    admins = [ADMIN, 778, 779, 780]
    async with FakeBotAPI() as api, running_bot(storage, api, polling=False) as running:
        assert await notify_admins(running.bot, storage, admins, later, catalogs=Catalogs.load())
        [ru] = api.messages_to(ADMIN)
        assert ru.splitlines() == [
            "Transit Watch: проблемы с источниками (подробнее — /feeds)",
            "⚠️ Down: сбои уже 1 дн. (5 ошибок), последняя: ConnectError: refused",
        ]
        [uk] = api.messages_to(778)
        assert "⚠️ Down: збої вже 1 дн. (5 помилок), остання: ConnectError: refused" in uk
        for admin in (779, 780):
            [en] = api.messages_to(admin)
            assert "sources need attention" in en
            assert "Down: failing for 1d (5 errors)" in en
        api.assert_no_violations()


async def test_a_stop_waits_for_the_updates_being_handled() -> None:
    # Telegram counts an update as delivered once fetched: one cut off by the stop is lost.
    dp, in_flight, router = Dispatcher(), InFlight(), Router()
    dp.update.outer_middleware(in_flight)
    release, done = asyncio.Event(), list[str]()

    @router.message()
    async def slow(message: Message) -> None:
        await release.wait()
        done.append(message.text or "")

    dp.include_router(router)
    bot = Bot("123456:" + "A" * 35)
    message = {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "/help"}
    update = {"update_id": 1, "message": message}
    handling = asyncio.create_task(dp.feed_update(bot, Update.model_validate(update)))
    await asyncio.sleep(0.05)
    assert await in_flight.finish(0.05) == 1  # still running: said, not waited for forever
    asyncio.get_running_loop().call_later(0.1, release.set)
    assert await in_flight.finish(5) == 0
    assert done == ["/help"]
    await handling
    await bot.session.close()
