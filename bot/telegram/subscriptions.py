"""/subscribe [country codes] and /unsubscribe; in groups only admins may change them.

A channel subscribes by posting /subscribe in it, or an admin of the channel sends
`/subscribe @channel [codes]` (or `/unsubscribe @channel`) to the bot in a private chat: the bot
checks that it may post there itself, then that the user is an admin there.
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.chat_settings import MAX_COUNTRIES
from bot.i18n import Tr
from bot.render import country_names
from bot.storage import Storage
from bot.telegram.permissions import AdminCache, bot_can_post, may_manage


def parse_countries(args: str | None, known: frozenset[str]) -> tuple[list[str], list[str]]:
    """Split `/subscribe` arguments into known ISO codes and the rest (to report back)."""
    codes: list[str] = []
    unknown: list[str] = []
    for raw in (args or "").replace(",", " ").split()[:MAX_COUNTRIES]:
        code = raw.upper()
        (codes if code in known else unknown).append(code if code in known else raw[:20])
    return codes, unknown


def split_channel(args: str | None) -> tuple[str | None, str]:
    """`@channel kz kg` -> ("@channel", "kz kg"); no leading @name -> (None, args)."""
    words = (args or "").split()
    if words and words[0].startswith("@") and 5 <= len(words[0]) <= 33:
        return words[0], " ".join(words[1:])
    return None, args or ""


def make_router() -> Router:
    router = Router(name="subscriptions")
    for register in (router.message, router.channel_post):
        register(Command("subscribe"))(subscribe)
        register(Command("unsubscribe"))(unsubscribe)
    return router


async def subscribe(  # noqa: PLR0917 -- aiogram injects dependencies by parameter name
    message: Message,
    command: CommandObject,
    bot: Bot,
    storage: Storage,
    admins: AdminCache,
    countries: frozenset[str],
    tr: Tr,
    clock: Callable[[], float],
) -> None:
    channel, args = split_channel(command.args)
    codes, unknown = parse_countries(args, countries)
    if unknown:
        await message.answer(
            tr(
                "Unknown country code(s): {codes}. "
                "Use two-letter codes, e.g. /subscribe kz kg am ge",
                codes=", ".join(unknown),
            )
        )
        return
    target = await _target(message, channel, bot, admins, tr)
    if target is None:
        return
    thread_id = message.message_thread_id if message.is_topic_message and channel is None else None
    await storage.chats.subscribe(
        target, codes, thread_id=thread_id, now=clock(), language=tr.locale
    )
    scope = country_names(codes, tr.locale) if codes else tr("all transit countries")
    if channel is not None:
        await message.answer(tr("Subscribed {channel}: {scope}.", channel=channel, scope=scope))
        return
    await message.answer(
        tr("Subscribed: {scope}. New cases will arrive here. /unsubscribe to stop.", scope=scope)
    )


async def unsubscribe(  # noqa: PLR0917 -- aiogram injects dependencies by parameter name
    message: Message, command: CommandObject, bot: Bot, storage: Storage, admins: AdminCache, tr: Tr
) -> None:
    channel, _ = split_channel(command.args)
    target = await _target(message, channel, bot, admins, tr)
    if target is None:
        return
    was = await storage.chats.unsubscribe(target)
    await message.answer(
        tr("Unsubscribed: no more alerts.") if was else tr("This chat was not subscribed.")
    )


async def _target(  # noqa: PLR0911 -- each refusal answers and returns; flat reads best
    message: Message, channel: str | None, bot: Bot, admins: AdminCache, tr: Tr
) -> int | None:
    """The chat a command manages, after the permission checks; None once refused (answered)."""
    if channel is None:
        if await may_manage(message, bot, admins):
            return message.chat.id
        await message.answer(tr("Only the chat's admins can change its subscription."))
        return None
    if message.chat.type != ChatType.PRIVATE or message.from_user is None:
        await message.answer(tr("Manage a channel from a private chat with the bot."))
        return None
    try:
        found = await bot.get_chat(channel)
    except TelegramAPIError:
        await message.answer(tr("Channel {channel} not found.", channel=channel))
        return None
    if found.type != ChatType.CHANNEL:
        await message.answer(tr("{channel} is not a channel.", channel=channel))
        return None
    # The bot's rights first: Telegram answers getChatMember in a channel only to its admins,
    # so until the bot is one, asking about the user fails and a real admin would be refused
    # without learning the one step they need.
    if not await bot_can_post(bot, found.id):
        await message.answer(
            tr(
                "Add the bot to {channel} as an admin who may post messages, then try again.",
                channel=channel,
            )
        )
        return None
    if not await admins.is_admin(bot, found.id, message.from_user.id):
        await message.answer(tr("Only an admin of {channel} can do this.", channel=channel))
        return None
    return found.id
