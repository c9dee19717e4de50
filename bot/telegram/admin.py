"""Operator commands, only for the user ids in ADMIN_IDS: /status."""

from __future__ import annotations

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
    return router


async def status(message: Message, storage: Storage, settings: Settings) -> None:
    if message.from_user is None or message.from_user.id not in settings.admin_ids:
        return  # to anyone else the command does not exist
    lines = await status_lines(storage)
    await message.answer(**plain("\n".join(lines)).as_kwargs())
