"""The updates being handled, so that a stop lets them finish.

aiogram handles each update in a task of its own and does not wait for those tasks when
polling stops; Telegram was told the update arrived when it was fetched, so a command cut off
by the stop (the storage and the session close under it) is lost for good. `InFlight` is an
outer update middleware that knows those tasks; `bot.app` waits for them, within its grace,
before it closes anything. `Running` is the tracking itself, which the refresh ticks use too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Running:
    """The tasks doing some work that a stop lets finish: each runs the work in `track()`
    (the updates being handled; `bot.app`'s refresh ticks)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    @contextmanager
    def track(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is None:  # not run as a task: nothing a stop could cut off
            yield
            return
        self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)

    async def finish(self, grace: float) -> int:
        """Wait up to `grace` seconds for the tasks still running; how many did not end."""
        if not self._tasks:
            return 0
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        return len(pending)


class InFlight(Running, BaseMiddleware):
    """The outer update middleware: each update's handling is tracked."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        with self.track():
            return await handler(event, data)
