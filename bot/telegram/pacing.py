"""Command replies go through the same pacer as alerts (a request middleware on the session),
and a reply that meets a short 429 waits and is tried once more.

The outbox sender takes its turn from the pacer itself before it sends (so that a shutdown can
release a delivery that is still waiting for its turn) and handles 429 itself; its requests
(`SENDER_HANDLES_RETRY` set) pass through here untouched. A 429 met here is remembered as the
sender's are (`remember_pause`), since Telegram's flood ban outlives a restart too."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import EditMessageText, Response, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.pacing import SENDER_HANDLES_RETRY, Pacer

log = logging.getLogger(__name__)

PACED = (SendMessage, EditMessageText)
REPLY_RETRY_MAX_WAIT = 30


# Stores a pause of so many seconds, from now, for the next start (`Outbox.pause_for`).
RememberPause = Callable[[float], Awaitable[None]]


class PacingMiddleware(BaseRequestMiddleware):
    def __init__(self, pacer: Pacer, remember_pause: RememberPause | None = None) -> None:
        self._pacer = pacer
        self._remember_pause = remember_pause

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat_id = _chat_id(method)
        if chat_id is None or SENDER_HANDLES_RETRY.get():
            return await make_request(bot, method)
        await self._pacer.acquire(chat_id)
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            self._pacer.pause(exc.retry_after)
            await self._remember(exc.retry_after)
            if exc.retry_after > REPLY_RETRY_MAX_WAIT:
                raise
            await asyncio.sleep(0)  # the pacer now holds everything back until the pause ends
            await self._pacer.acquire(chat_id)
            return await make_request(bot, method)

    async def _remember(self, seconds: float) -> None:
        if self._remember_pause is None:
            return
        try:
            await self._remember_pause(seconds)
        except Exception:
            # The disk is full, say: the pause still holds in memory, and the reply goes on.
            log.exception("a 429 pause of %ss could not be stored for a restart", seconds)


def _chat_id(method: TelegramMethod[Any]) -> int | None:
    if not isinstance(method, PACED):
        return None
    chat_id = method.chat_id
    return chat_id if isinstance(chat_id, int) else None
