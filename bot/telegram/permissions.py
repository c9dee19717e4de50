"""Who may change a chat's subscription and settings: anyone in a private chat, the admins of a
group (asked with getChatMember; a "yes" is remembered for `TTL` seconds so a burst of button
presses costs one request, a "no" is not, so a member just promoted can act at once), and in a
channel whoever can post there (only its admins can).

A channel can also be managed from a private chat (`/subscribe @channel`): then the bot must be
an admin allowed to post (checked first: only then does Telegram tell it who the channel's admins
are) and the user must be an admin of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ChatMemberAdministrator, ChatMemberOwner, Message

_ADMINS = (ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR)
TTL = 60.0
_MAX_ENTRIES = 10_000


class AdminCache:
    """(chat, user) pairs found to be admins, for `TTL` seconds. Holds ids and times only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, ttl: float = TTL) -> None:
        self._clock = clock
        self._ttl = ttl
        self._seen: dict[tuple[int, int], float] = {}

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        now = self._clock()
        seen = self._seen.get((chat_id, user_id))
        if seen is not None and now - seen < self._ttl:
            return True
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError:
            return False  # not cached: a transient error must not lock an admin out for long
        if len(self._seen) >= _MAX_ENTRIES:
            self._seen = {k: t for k, t in self._seen.items() if now - t < self._ttl}
        if member.status not in _ADMINS:
            return False
        self._seen[(chat_id, user_id)] = now
        return True


async def may_manage(message: Message, bot: Bot, admins: AdminCache) -> bool:
    chat = message.chat
    if chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
        return True
    if message.sender_chat is not None:
        # An anonymous admin posts as the group itself.
        return message.sender_chat.id == chat.id
    if message.from_user is None:
        return False
    return await admins.is_admin(bot, chat.id, message.from_user.id)


async def may_press(
    chat_id: int, chat_type: str, user_id: int, bot: Bot, admins: AdminCache
) -> bool:
    """A button under a message in `chat_id`, pressed by `user_id`."""
    if chat_type == ChatType.PRIVATE:
        return True
    return await admins.is_admin(bot, chat_id, user_id)


async def bot_can_post(bot: Bot, channel_id: int) -> bool:
    """Whether the bot is an admin of the channel that may post messages."""
    try:
        member = await bot.get_chat_member(channel_id, bot.id)
    except TelegramAPIError:
        return False
    if isinstance(member, ChatMemberOwner):
        return True
    return isinstance(member, ChatMemberAdministrator) and bool(member.can_post_messages)
