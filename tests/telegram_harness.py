"""Wiring the real bot parts to the fake Bot API server, for the sender and router tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher

from bot.config import Settings, load_settings
from bot.pacing import Pacer
from bot.sender import Sender
from bot.storage import Storage
from bot.telegram import build_dispatcher
from bot.telegram.client import make_bot
from tests.fakes.botapi import FakeBotAPI


@dataclass
class Running:
    api: FakeBotAPI
    bot: Bot
    storage: Storage
    sender: Sender
    dp: Dispatcher


@contextlib.asynccontextmanager
async def running_bot(
    storage: Storage,
    api: FakeBotAPI,
    *,
    admin_ids: str = "",
    clock: Callable[[], float] | None = None,
    polling: bool = True,
    sender_options: dict[str, Any] | None = None,
) -> AsyncIterator[Running]:
    """The sender and (optionally) long polling, as `bot.app` runs them, against `api`.
    `sender_options` go to `Sender` (e.g. a fast `Backoff`)."""
    settings: Settings = load_settings({"BOT_TOKEN": api.token, "ADMIN_IDS": admin_ids})
    pacer = Pacer()
    bot = make_bot(  # as `bot.app` makes it
        api.token,
        pacer,
        api.base_url,
        remember_pause=lambda seconds: storage.outbox.pause_for(seconds, time.time()),
    )
    options = {**({"clock": clock} if clock else {}), **(sender_options or {})}
    sender = Sender(bot, storage, pacer, **options)
    dp = build_dispatcher(storage, settings, **({"clock": clock} if clock else {}))
    tasks = [asyncio.create_task(sender.run())]
    if polling:
        tasks.append(
            asyncio.create_task(
                dp.start_polling(bot, handle_signals=False, close_bot_session=False)
            )
        )
    try:
        yield Running(api, bot, storage, sender, dp)
    finally:
        sender.stop()
        if polling:
            with contextlib.suppress(RuntimeError):
                await dp.stop_polling()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
        await bot.session.close()
