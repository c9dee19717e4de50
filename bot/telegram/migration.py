"""A group that becomes a supergroup gets a new id. Telegram says so at once with a service
message in each chat (`migrate_to_chat_id` in the old group, `migrate_from_chat_id` in the new
supergroup), so the subscription, settings and watchlist move then: otherwise /settings in the
supergroup would show a chat that never subscribed until an alert to the old id failed (which
moves them too, in `bot.sender`). Both messages arrive; `Chats.migrate` is idempotent."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.storage import Storage


def make_router() -> Router:
    router = Router(name="migration")
    router.message(F.migrate_to_chat_id.as_("new_id"))(group_moved_away)
    router.message(F.migrate_from_chat_id.as_("old_id"))(supergroup_moved_in)
    return router


async def group_moved_away(message: Message, new_id: int, storage: Storage) -> None:
    await storage.chats.migrate(message.chat.id, new_id)


async def supergroup_moved_in(message: Message, old_id: int, storage: Storage) -> None:
    await storage.chats.migrate(old_id, message.chat.id)
