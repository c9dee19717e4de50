"""Command replies go through the same pacer as alerts (a request middleware on the session),
and a reply that meets a short 429 waits and is tried once more.

The outbox sender takes its turn from the pacer itself before it sends (so that a shutdown can
release a delivery that is still waiting for its turn) and handles 429 itself; its requests
(`SENDER_HANDLES_RETRY` set) pass through here untouched."""

from __future__ import annotations

import asyncio
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

PACED = (SendMessage, EditMessageText)
REPLY_RETRY_MAX_WAIT = 30


class PacingMiddleware(BaseRequestMiddleware):
    def __init__(self, pacer: Pacer) -> None:
        self._pacer = pacer

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
            if exc.retry_after > REPLY_RETRY_MAX_WAIT:
                raise
            await asyncio.sleep(0)  # the pacer now holds everything back until the pause ends
            await self._pacer.acquire(chat_id)
            return await make_request(bot, method)


def _chat_id(method: TelegramMethod[Any]) -> int | None:
    if not isinstance(method, PACED):
        return None
    chat_id = method.chat_id
    return chat_id if isinstance(chat_id, int) else None
