"""/watch <name or phrase>, /unwatch <name or phrase>, /watchlist: the names a chat follows.

A watched name is alerted whenever a polled entry mentions it, relevant or not (`bot.watch`).
In groups only admins change the list; anyone may read it. The phrases are never logged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.formatting import Bold, Text, as_list

from bot.i18n import Tr
from bot.render import TELEGRAM_TEXT_LIMIT, fit, how_many_fit, rendered_length
from bot.storage import Storage
from bot.telegram.permissions import AdminCache, may_manage
from bot.watch import MAX_ENTRIES, MAX_PHRASE, MAX_WORDS, phrase_key


def make_router() -> Router:
    router = Router(name="watchlist")
    for register in (router.message, router.channel_post):
        register(Command("watch"))(watch)
        register(Command("unwatch"))(unwatch)
        register(Command("watchlist"))(watchlist)
    return router


async def watch(  # noqa: PLR0917 -- aiogram injects dependencies by parameter name
    message: Message,
    command: CommandObject,
    bot: Bot,
    storage: Storage,
    admins: AdminCache,
    tr: Tr,
    clock: Callable[[], float],
) -> None:
    if not await may_manage(message, bot, admins):
        await message.answer(tr("Only the chat's admins can change its watchlist."))
        return
    phrase = " ".join((command.args or "").split())
    key = phrase_key(phrase)
    if key is None:
        await message.answer(
            tr(
                "Send a name or a short phrase after the command, e.g. /watch Бажуков "
                "(1 to {words} words, at most {chars} characters).",
                words=MAX_WORDS,
                chars=MAX_PHRASE,
            )
        )
        return
    await storage.chats.ensure(message.chat.id, clock(), tr.locale)
    added = await storage.watchlist.add(
        message.chat.id, key, phrase, now=clock(), limit=MAX_ENTRIES
    )
    if added == "full":
        reply = tr(
            "The watchlist is full ({limit} entries). Remove one with /unwatch first.",
            limit=MAX_ENTRIES,
        )
    elif added == "exists":
        reply = tr("Already watched: {phrase}.", phrase=phrase)
    else:
        reply = tr(
            "Watching: {phrase}. Any news that mentions it, in any spelling, will be sent here.",
            phrase=phrase,
        )
    await message.answer(reply)


async def unwatch(  # noqa: PLR0917 -- aiogram injects dependencies by parameter name
    message: Message, command: CommandObject, bot: Bot, storage: Storage, admins: AdminCache, tr: Tr
) -> None:
    if not await may_manage(message, bot, admins):
        await message.answer(tr("Only the chat's admins can change its watchlist."))
        return
    key = phrase_key(" ".join((command.args or "").split()))
    removed = None if key is None else await storage.watchlist.remove(message.chat.id, key)
    if removed is None:
        await message.answer(tr("Not in the watchlist. /watchlist shows what is."))
        return
    await message.answer(tr("No longer watching: {phrase}.", phrase=removed))


async def watchlist(message: Message, storage: Storage, tr: Tr) -> None:
    phrases = await storage.watchlist.of_chat(message.chat.id)
    if not phrases:
        await message.answer(tr("The watchlist is empty. Add a name: /watch Бажуков"))
        return
    heading = tr("Watched ({count} of {limit}):", count=len(phrases), limit=MAX_ENTRIES)
    for page in watchlist_pages(heading, phrases):
        await message.answer(**page.as_kwargs())


def watchlist_pages(
    heading: str, phrases: Sequence[str], limit: int = TELEGRAM_TEXT_LIMIT
) -> list[Text]:
    """The heading and a line per phrase, in as many messages as Telegram's length limit needs
    (50 long phrases take two). A phrase is never cut: it is what the user copies to /unwatch,
    and at most `MAX_PHRASE` characters, so every line fits; `fit` is only the last guard."""
    lines: list[Text] = [Bold(heading), *(Text("• ", phrase) for phrase in phrases)]
    lengths = [1 + rendered_length(line) for line in lines]  # as_list puts "\n" before each
    pages: list[list[Text]] = []
    while lines:
        # A page's first line has no newline before it: one unit more room. A line that fits
        # no page alone still gets one (`fit` cuts it).
        taken = max(1, how_many_fit(lengths, limit + 1))
        pages.append(lines[:taken])
        lines, lengths = lines[taken:], lengths[taken:]
    return [fit(as_list(*page), limit) for page in pages]
