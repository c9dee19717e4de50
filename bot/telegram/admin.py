"""Operator commands, only for the user ids in ADMIN_IDS: /status (queue, sender counters,
uptime, database size) and /stats (counts only). To anyone else they do not exist."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.config import Settings
from bot.render import plain
from bot.status import status_lines
from bot.storage import Storage


def make_router() -> Router:
    router = Router(name="admin")
    router.message(Command("status"), F.from_user)(status)
    router.message(Command("stats"), F.from_user)(stats)
    return router


def _is_admin(message: Message, settings: Settings) -> bool:
    return message.from_user is not None and message.from_user.id in settings.admin_ids


async def status(
    message: Message,
    storage: Storage,
    settings: Settings,
    clock: Callable[[], float],
    started_at: float,
) -> None:
    if not _is_admin(message, settings):
        return
    now = clock()
    lines = await status_lines(storage, now)
    size = await storage.size_bytes()
    lines += [f"uptime: {_duration(now - started_at)}", f"database: {size / 1e6:.1f} MB"]
    await message.answer(**plain("\n".join(lines)).as_kwargs())


async def stats(message: Message, storage: Storage, settings: Settings) -> None:
    if not _is_admin(message, settings):
        return
    counts = await storage.counts()
    chats = await storage.chats.stats()
    lines = [f"{name}: {value}" for name, value in counts.items()]
    lines += [f"watchlist entries: {await storage.watchlist.count()}"]
    lines += [f"{name}: {value}" for name, value in sorted(chats.items())]
    await message.answer(**plain("\n".join(lines)).as_kwargs())


def _duration(seconds: float) -> str:
    minutes, _ = divmod(int(max(seconds, 0)), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h {minutes}m"
