"""A chat's life as Telegram reports it, through the dispatcher and the fake Bot API: a group
upgraded to a supergroup, the bot blocked and unblocked, removed and re-added."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Literal

import pytest

from bot.storage import Storage
from tests.fakes.botapi import FakeBotAPI
from tests.telegram_harness import Running, running_bot
from tests.test_chat_settings_tg import say
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
