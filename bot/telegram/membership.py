"""When the bot is removed from a chat or blocked, the chat is deactivated at once (rather than
at the next failed alert); when it is added back or unblocked, a chat already stored is active
again, so what it sets up from then on (a watchlist, a subscription) is delivered."""

from __future__ import annotations

from aiogram import Router
from aiogram.enums import ChatMemberStatus
from aiogram.types import ChatMemberUpdated

from bot.storage import Storage

_GONE = (ChatMemberStatus.KICKED, ChatMemberStatus.LEFT)
_BACK = (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR)


def make_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member()(membership_changed)
    return router


async def membership_changed(update: ChatMemberUpdated, storage: Storage) -> None:
    status = update.new_chat_member.status
    if status in _GONE:
        await storage.chats.deactivate(update.chat.id)
    elif status in _BACK:
        await storage.chats.reactivate(update.chat.id)
