"""Who may change a chat's subscription: anyone in a private chat, admins in groups, and the
channel itself (only its admins can post there)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message

_ADMINS = (ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR)


async def may_manage(message: Message, bot: Bot) -> bool:
    chat = message.chat
    if chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
        return True
    if message.sender_chat is not None:
        # An anonymous admin posts as the group itself.
        return message.sender_chat.id == chat.id
    if message.from_user is None:
        return False
    try:
        member = await bot.get_chat_member(chat.id, message.from_user.id)
    except TelegramAPIError:
        return False
    return member.status in _ADMINS
