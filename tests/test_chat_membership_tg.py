"""A chat's life as Telegram reports it, through the dispatcher and the fake Bot API: a group
upgraded to a supergroup, the bot blocked and unblocked, removed and re-added."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Literal

import pytest

from bot.storage import Storage
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.botapi_world import ChatType
from tests.telegram_harness import Running, running_bot
from tests.test_chat_settings_tg import press, say
from tests.test_delivery import eventually


@pytest.fixture
async def tg(storage: Storage) -> AsyncIterator[Running]:
    async with FakeBotAPI() as api, running_bot(storage, api) as running:
        yield running
        api.assert_no_violations()


@pytest.mark.parametrize("service_messages", [("old",), ("new",), ("old", "new"), ("new", "old")])
async def test_an_upgraded_group_keeps_its_subscription_and_watchlist_at_once(
    tg: Running, service_messages: tuple[Literal["old", "new"], ...]
) -> None:
    old, new, admin = -5, -1005, 6
    storage = tg.storage
    await storage.chats.subscribe(old, ["KZ"], thread_id=None, now=time.time(), language="ru")
    await storage.watchlist.add(old, "bashukov", "Бажуков", now=time.time(), limit=50)
    tg.api.upgrade_group(old, new, user_id=admin, service_messages=service_messages)

    async def moved() -> bool:
        return await storage.chats.get(old) is None and await storage.chats.get(new) is not None

    await eventually(moved, timeout=15)  # no alert was sent: Telegram's word alone moved it
    tg.api.set_member_status(new, admin, "administrator")
    settings = await say(tg, new, "/settings", 1, user_id=admin, chat_type="supergroup")
    assert "Оповещения: вкл" in settings.text, settings.text
    assert "🇰🇿" in settings.text
    watchlist = await say(tg, new, "/watchlist", 2, user_id=admin, chat_type="supergroup")
    assert "• Бажуков" in watchlist.text


async def _active(storage: Storage, chat_id: int) -> bool:
    chat = await storage.chats.get(chat_id)
    return chat is not None and chat.active


async def test_a_chat_that_writes_after_unblocking_the_bot_is_active_again(tg: Running) -> None:
    user = 70
    await tg.storage.chats.subscribe(user, [], thread_id=None, now=time.time())
    # Blocked once; the sender's 403 deactivated it (the unblocking was never seen).
    await tg.storage.chats.deactivate(user)
    reply = await say(tg, user, "/watch Бажуков", 1)
    assert "Watching: Бажуков" in reply.text
    assert (user, "Бажуков") in await tg.storage.watchlist.terms()  # matched from now on


async def test_a_settings_button_makes_an_inactive_chat_active_again(tg: Running) -> None:
    user = 71
    await tg.storage.chats.subscribe(user, [], thread_id=None, now=time.time())
    await tg.storage.chats.deactivate(user)
    menu = await say(tg, user, "/settings", 1)
    await press(tg, user, menu, "s1:p")
    assert await _active(tg.storage, user)


@pytest.mark.parametrize(
    ("chat_id", "chat_type", "gone", "back"),
    [(72, "private", "kicked", "member"), (-720, "group", "left", "administrator")],
)
async def test_the_bot_unblocked_or_added_back_makes_the_chat_active_again(
    tg: Running, chat_id: int, chat_type: ChatType, gone: str, back: str
) -> None:
    storage = tg.storage
    stranger = chat_id + 1 if chat_id > 0 else chat_id - 1
    tg.api.change_bot_status(stranger, back, chat_type=chat_type)  # a chat never stored
    await storage.chats.subscribe(chat_id, [], thread_id=None, now=time.time())
    tg.api.change_bot_status(chat_id, gone, chat_type=chat_type)
    await eventually(lambda: _inactive(storage, chat_id), timeout=15)
    tg.api.change_bot_status(chat_id, back, chat_type=chat_type)
    await eventually(lambda: _active(storage, chat_id), timeout=15)
    assert await storage.chats.count_subscribed() == 0  # back, but not subscribed by itself
    assert await storage.chats.get(stranger) is None  # adding the bot stores nothing


async def _inactive(storage: Storage, chat_id: int) -> bool:
    chat = await storage.chats.get(chat_id)
    return chat is not None and not chat.active
