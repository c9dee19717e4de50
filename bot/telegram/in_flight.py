"""The updates being handled, so that a stop lets them finish.

aiogram handles each update in a task of its own and does not wait for those tasks when
polling stops; Telegram was told the update arrived when it was fetched, so a command cut off
by the stop (the storage and the session close under it) is lost for good. `InFlight` is an
outer update middleware that knows those tasks; `bot.app` waits for them, within its grace,
before it closes anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class InFlight(BaseMiddleware):
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        task = asyncio.current_task()
        if task is None:  # not run as a task: nothing a stop could cut off
            return await handler(event, data)
        self._tasks.add(task)
        try:
            return await handler(event, data)
        finally:
            self._tasks.discard(task)

    async def finish(self, grace: float) -> int:
        """Wait up to `grace` seconds for the updates being handled; how many did not end."""
        if not self._tasks:
            return 0
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        return len(pending)
