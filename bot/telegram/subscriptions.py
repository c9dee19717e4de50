"""/subscribe [country codes] and /unsubscribe; in groups only admins may change them."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.render import country_names
from bot.storage import Storage
from bot.telegram.permissions import may_manage

MAX_COUNTRIES = 30
ADMINS_ONLY = "Only the chat's admins can change its subscription."


def parse_countries(args: str | None, known: frozenset[str]) -> tuple[list[str], list[str]]:
    """Split `/subscribe` arguments into known ISO codes and the rest (to report back)."""
    codes: list[str] = []
    unknown: list[str] = []
    for raw in (args or "").replace(",", " ").split()[:MAX_COUNTRIES]:
        code = raw.upper()
        (codes if code in known else unknown).append(code if code in known else raw[:20])
    return codes, unknown


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
    countries: frozenset[str],
    clock: Callable[[], float],
) -> None:
    if not await may_manage(message, bot):
        await message.answer(ADMINS_ONLY)
        return
    codes, unknown = parse_countries(command.args, countries)
    if unknown:
        await message.answer(
            f"Unknown country code(s): {', '.join(unknown)}. "
            "Use two-letter codes, e.g. /subscribe kz kg am ge"
        )
        return
    thread_id = message.message_thread_id if message.is_topic_message else None
    await storage.chats.subscribe(message.chat.id, codes, thread_id=thread_id, now=clock())
    scope = country_names(codes) if codes else "all transit countries"
    await message.answer(f"Subscribed: {scope}. New cases will arrive here. /unsubscribe to stop.")


async def unsubscribe(message: Message, bot: Bot, storage: Storage) -> None:
    if not await may_manage(message, bot):
        await message.answer(ADMINS_ONLY)
        return
    was = await storage.chats.unsubscribe(message.chat.id)
    await message.answer(
        "Unsubscribed: no more alerts." if was else "This chat was not subscribed."
    )
