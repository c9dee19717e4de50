"""Watchlist, /privacy, /forget, channels and operator commands through the dispatcher and the
fake Bot API, in two languages."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator

import pytest

from bot.storage import Storage
from bot.telegram.privacy import FORGET_TTL
from bot.telegram.watchlist import watchlist_pages
from bot.watch import MAX_ENTRIES, phrase_key
from tests.conftest import add_feeds, incoming, make_entry
from tests.fakes.botapi import DEFAULT_TOKEN, FakeBotAPI
from tests.telegram_harness import Running, running_bot
from tests.test_chat_settings_tg import press, say

ADMIN = 777
BOT_ID = int(DEFAULT_TOKEN.split(":")[0])


@pytest.fixture
async def tg(storage: Storage) -> AsyncIterator[Running]:
    async with FakeBotAPI() as api, running_bot(storage, api, admin_ids=str(ADMIN)) as running:
        yield running
        api.assert_no_violations()


async def test_watch_list_unwatch_in_russian(tg: Running) -> None:
    chat = 30
    replies = [
        ("/watch Бажуков", "Отслеживается: Бажуков."),
        ("/watch Bazhukov", "Уже отслеживается: Bazhukov."),  # one person, one entry
        ("/watch Свидетели Иеговы", "Отслеживается: Свидетели Иеговы."),
        ("/watch", "Напишите имя или короткую фразу"),
        ("/watchlist", "Отслеживается (2 из 50):\n• Бажуков\n• Свидетели Иеговы"),
        ("/unwatch Бажукова", "Больше не отслеживается: Бажуков."),
        ("/unwatch Касимов", "Этого нет в списке."),
    ]
    for n, (command, expected) in enumerate(replies, 1):
        reply = await say(tg, chat, command, n, language_code="ru")
        assert expected in reply.text, (command, reply.text)


async def test_watchlist_holds_at_most_fifty(storage: Storage) -> None:
    await storage.chats.ensure(31, time.time())
    for i in range(MAX_ENTRIES):
        key = phrase_key(f"Name{i:02d}")
        assert key is not None
        assert await storage.watchlist.add(31, key, f"Name{i}", now=0, limit=MAX_ENTRIES) == (
            "added"
        )
    assert await storage.watchlist.add(31, "other", "Other", now=0, limit=MAX_ENTRIES) == "full"


async def test_watchlist_in_a_group_is_for_admins(tg: Running) -> None:
    group = -310
    tg.api.set_member_status(group, 5, "member")
    reply = await say(tg, group, "/watch Бажуков", 1, user_id=5, chat_type="group")
    assert "Only the chat's admins can change its watchlist." in reply.text
    assert await tg.storage.watchlist.of_chat(group) == []


async def test_a_long_watchlist_comes_whole_in_as_many_messages_as_needed(tg: Running) -> None:
    chat = 33
    await tg.storage.chats.ensure(chat, time.time())
    rng = random.Random(1)
    phrases: list[str] = []
    while len(phrases) < MAX_ENTRIES:  # 50 phrases of 95 characters: over 4096 in all
        phrase = " ".join("".join(rng.choices("abcdefghijklmnoprstuvz", k=15)) for _ in range(6))
        key = phrase_key(phrase)
        assert key is not None
        added = await tg.storage.watchlist.add(
            chat, key, phrase, now=len(phrases), limit=MAX_ENTRIES
        )
        if added == "added":
            phrases.append(phrase)
    tg.api.user_message(chat, "/watchlist")
    replies = await tg.api.wait_for_messages(chat, 2, timeout=15)
    lines = "\n".join(replies).splitlines()
    assert lines == ["Watched (50 of 50):", *(f"• {p}" for p in phrases)]
    # Every phrase is shown whole, so what the user copies is what /unwatch takes.
    reply = await say(tg, chat, f"/unwatch {phrases[-1]}", 3)
    assert f"No longer watching: {phrases[-1]}." in reply.text


def test_watchlist_pages_are_filled_to_the_limit_and_never_cut_a_phrase() -> None:
    heading, phrases = "H" * 7, [f"phrase{i:04d}" for i in range(5)]  # lines of 1 + 12 chars
    pages = [page.render()[0] for page in watchlist_pages(heading, phrases, limit=7 + 2 * 13)]
    assert [len(page) for page in pages] == [33, 25, 12]
    assert "\n".join(pages).splitlines() == [heading, *(f"• {p}" for p in phrases)]


def test_watchlist_pages_count_as_telegram_counts_in_utf16_units() -> None:
    heading, phrases = "H" * 7, ["𝐀" * 6] * 5  # each letter is two UTF-16 units
    pages = [page.render()[0] for page in watchlist_pages(heading, phrases, limit=7 + 2 * 15)]
    assert [len(page.encode("utf-16-le")) // 2 for page in pages] == [37, 29, 14]


async def test_privacy_states_what_is_stored_in_ukrainian(tg: Running) -> None:
    reply = await say(tg, 32, "/privacy", 1, language_code="uk")
    assert "Що зберігає Transit Watch" in reply.text
    assert "Ніколи: імена" in reply.text


async def test_forget_deletes_every_row_with_the_chat_id(tg: Running) -> None:
    chat, other = 40, 41
    storage = tg.storage
    [feed] = await add_feeds(storage, "Outlet")
    now = time.time()
    for c in (chat, other):
        await storage.chats.subscribe(c, ["KZ"], thread_id=None, now=now)
        await storage.watchlist.add(c, "bashukov", "Бажуков", now=now, limit=50)
    # Deliveries queued for tomorrow's digest, so they are still pending when /forget comes.
    digest = await storage.chats.get(chat)
    assert digest is not None
    from dataclasses import replace

    await storage.chats.save_settings(replace(digest, mode="weekly"), now=now)
    await storage.stories.save(
        feed, [incoming(make_entry(published=now - 60))], now=now, alert_max_age=86400
    )
    ask = await say(tg, chat, "/forget", 1)
    assert "cannot be undone" in ask.text
    await press(tg, chat, ask, "f1:no")
    await tg.api.wait_for(lambda: "Cancelled" in tg.api.messages_to(chat)[0])
    assert await storage.chats.get(chat) is not None
    await press(tg, chat, ask, "f1:yes")
    await tg.api.wait_for(lambda: "nothing about this chat" in tg.api.messages_to(chat)[0])
    assert await rows_mentioning(storage, chat) == {}
    assert "chats" in await rows_mentioning(storage, other)  # the other chat is untouched


async def test_forget_confirmation_expires_after_ten_minutes(storage: Storage) -> None:
    """An old "Delete everything" button must not delete: whoever scrolls up days later (or
    presses by mistake) did not just confirm."""
    chat, ahead = 42, [0.0]
    await storage.chats.subscribe(chat, ["KZ"], thread_id=None, now=time.time())
    async with (
        FakeBotAPI() as api,
        running_bot(storage, api, clock=lambda: time.time() + ahead[0]) as tg,
    ):
        ask = await say(tg, chat, "/forget", 1)
        ahead[0] = FORGET_TTL + 60
        answer = await press(tg, chat, ask, "f1:yes")
        assert answer.get("text") == "This button is out of date. Send /forget again."
        assert await storage.chats.get(chat) is not None
        assert "cannot be undone" in api.messages_to(chat)[0]  # not edited
        ahead[0] = FORGET_TTL - 60
        await press(tg, chat, ask, "f1:yes")
        await api.wait_for(lambda: "nothing about this chat" in api.messages_to(chat)[0])
        assert await storage.chats.get(chat) is None
        api.assert_no_violations()


async def rows_mentioning(storage: Storage, chat_id: int) -> dict[str, int]:
    """For every table in the database, how many rows hold `chat_id` in any column."""
    found: dict[str, int] = {}
    tables = await storage.db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    for (table,) in tables:
        columns = [r[1] for r in await storage.db.fetchall(f"PRAGMA table_info('{table}')")]
        if not columns:
            continue
        condition = " OR ".join(f'"{c}" = ?' for c in columns)
        count = await storage.db.scalar(
            f'SELECT COUNT(*) FROM "{table}" WHERE {condition}', [chat_id] * len(columns)
        )
        if count:
            found[table] = int(count)
    return found


async def test_channel_subscribed_by_its_admin_from_a_private_chat(tg: Running) -> None:
    channel, user = -1001777, 50
    tg.api.add_public_chat("@exiles_news", channel, "channel")
    tg.api.add_public_chat("@some_group", -1001778, "supergroup")
    tg.api.set_member_status(channel, user, "administrator")
    steps = [
        ("/subscribe @nobody_here", "Channel @nobody_here not found."),
        ("/subscribe @some_group", "@some_group is not a channel."),
        # Telegram does not yet tell the bot who the admins are (the fake answers 400, as it
        # does): the admin learns the step they need rather than being refused.
        ("/subscribe @exiles_news kz", "Add the bot to @exiles_news as an admin"),
    ]
    for n, (command, expected) in enumerate(steps, 1):
        assert expected in (await say(tg, user, command, n)).text
    assert await tg.storage.chats.get(channel) is None
    tg.api.set_member_status(channel, BOT_ID, "administrator")
    refused = await say(tg, user + 1, "/subscribe @exiles_news", 1)
    assert "Only an admin of @exiles_news can do this." in refused.text
    reply = await say(tg, user, "/subscribe @exiles_news kz", 4)
    assert "Subscribed @exiles_news: 🇰🇿 Kazakhstan." in reply.text
    chat = await tg.storage.chats.get(channel)
    assert chat is not None
    assert (chat.subscribed, chat.countries) == (True, ("KZ",))
    assert "Unsubscribed" in (await say(tg, user, "/unsubscribe @exiles_news", 5)).text


async def test_a_channel_admin_is_told_to_add_the_bot_even_when_telegram_hides_the_members(
    tg: Running,
) -> None:
    channel, user = -1001779, 52
    tg.api.add_public_chat("@exiles_news", channel, "channel")
    tg.api.set_member_status(channel, user, "administrator")
    tg.api.set_member_status(channel, BOT_ID, "member")  # may not post
    reply = await say(tg, user, "/subscribe @exiles_news", 1)
    assert "Add the bot to @exiles_news as an admin" in reply.text
    tg.api.fail_next("getChatMember", 400, "Bad Request: member list is inaccessible")
    reply = await say(tg, user, "/subscribe @exiles_news", 2)
    assert "Add the bot to @exiles_news as an admin" in reply.text


async def test_channel_subscribes_from_a_channel_post(tg: Running) -> None:
    reply = await say(tg, -1001999, "/subscribe", 1, chat_type="channel")
    assert "Subscribed: all transit countries" in reply.text


async def test_status_and_stats_for_operators_only(tg: Running) -> None:
    await tg.storage.chats.subscribe(60, [], thread_id=None, now=time.time(), language="ru")
    status = await say(tg, ADMIN, "/status", 1, user_id=ADMIN)
    for part in ("outbox: 0 due", "uptime: 0d 0h", "database:", "sent: 0"):
        assert part in status.text
    stats = await say(tg, ADMIN, "/stats", 2, user_id=ADMIN)
    for part in (
        "subscribed chats: 1", "delivery: Instant 1", "language: Русский 1", "watchlist entries: 0",
        "kind: private 1",
    ):  # fmt: skip
        assert part in stats.text
    tg.api.user_message(61, "/stats")
    tg.api.user_message(61, "/help")
    await tg.api.wait_for_messages(61, 1, timeout=15)
    assert len(tg.api.messages_to(61)) == 1  # /stats does not exist for others


async def test_operator_commands_answer_a_russian_speaking_admin_in_russian(tg: Running) -> None:
    from bot.model import FeedSpec

    now = time.time()
    await tg.storage.chats.subscribe(-62, [], thread_id=None, now=now)
    specs = [FeedSpec("Good", "https://good.example/rss"), FeedSpec("Bad", "https://bad.example/")]
    await tg.storage.feeds.sync(specs, now=now)
    by_name = {f.name: f for f in await tg.storage.feeds.listed()}
    await tg.storage.feeds.record_success(
        by_name["Good"].id, now=now - 300, next_check_at=now + 600, etag=None, last_modified=None
    )
    for _ in range(2):  # failing for two hours
        await tg.storage.feeds.record_error(
            by_name["Bad"].id, "HTTPStatusError: HTTP 500", now=now - 7200, next_check_at=now
        )
    status = await say(tg, ADMIN, "/status", 1, user_id=ADMIN, language_code="ru")
    for part in (
        "источники: 2 (со сбоями: 1, отключены: 0)", "подписанные чаты: 1",
        "очередь: к отправке 0 (отправляются 0)", "отправлено: 0, повторов: 0",
        "работает: 0 дн. 0 ч", "база данных:",
    ):  # fmt: skip
        assert part in status.text, (part, status.text)
    stats = await say(tg, ADMIN, "/stats", 2, user_id=ADMIN, language_code="ru")
    for part in (
        "подписанные чаты: 1", "доставка: Сразу 1", "язык: не выбран 1", "тип: группы и каналы 1",
        "отслеживаемых имён: 0",
    ):  # fmt: skip
        assert part in stats.text, (part, stats.text)
    feeds = (await say(tg, ADMIN, "/feeds", 3, user_id=ADMIN, language_code="ru")).text
    lines = feeds.splitlines()
    assert lines[0] == (
        "Источники: 2 (в порядке: 1, ещё не проверены: 0, со сбоями: 1, отключены: 0)"
    )
    assert lines[1] == "⚠️ Bad: сбои уже 2 ч (2 ошибки), последняя: HTTPStatusError: HTTP 500"
    assert lines[2] == "✅ Good: успешно 5 мин назад, опрос раз в 10 мин"
    for text in (status.text, stats.text, feeds):
        # Only identifiers stay English: names, error classes, "429", "Transit Watch".
        assert not {"pending", "failing", "healthy", "uptime", "delivery"} & set(text.split())


async def test_commands_are_set_per_language() -> None:
    from bot.i18n import Catalogs
    from bot.telegram.commands import bot_commands

    catalogs = Catalogs.load()
    en = {c.command: c.description for c in bot_commands(catalogs, "en")}
    ru = {c.command: c.description for c in bot_commands(catalogs, "ru")}
    assert en.keys() == ru.keys()
    assert {"settings", "watch", "privacy", "forget"} <= en.keys()
    assert ru["forget"] == "Удалить всё об этом чате"
