"""When the bot is removed from a chat or blocked, the chat is deactivated at once (rather than
at the next failed alert)."""

from __future__ import annotations

from aiogram import Router
from aiogram.enums import ChatMemberStatus
from aiogram.types import ChatMemberUpdated

from bot.storage import Storage

_GONE = (ChatMemberStatus.KICKED, ChatMemberStatus.LEFT)


def make_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member()(membership_changed)
    return router


async def membership_changed(update: ChatMemberUpdated, storage: Storage) -> None:
    if update.new_chat_member.status in _GONE:
        await storage.chats.deactivate(update.chat.id)
