"""/search <words> and /recent. Queries are never logged or stored."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.errors import QueryError
from bot.i18n import Tr
from bot.render import plain, story_list
from bot.search import QueryBuilder
from bot.storage import Storage

PAGE_SIZE = 5


def make_router() -> Router:
    router = Router(name="search")
    for register in (router.message, router.channel_post):
        register(Command("search"))(search)
        register(Command("recent"))(recent)
    return router


async def search(
    message: Message, command: CommandObject, storage: Storage, queries: QueryBuilder, tr: Tr
) -> None:
    try:
        query = queries.build(command.args or "")
    except QueryError as exc:
        # QueryError's messages are catalog entries (bot.search marks them with N_).
        await message.answer(**plain(tr(str(exc))).as_kwargs())
        return
    stories = await storage.search.stories(query, limit=PAGE_SIZE)
    if not stories:
        await message.answer(
            tr("Nothing found. Try fewer words, another spelling, or a country: /search Казахстан")
        )
        return
    heading = tr("Best matches for: {words}", words=" ".join(query.words))
    await message.answer(**story_list(stories, heading=heading, tr=tr).as_kwargs())


async def recent(message: Message, storage: Storage, tr: Tr) -> None:
    stories = await storage.stories.recent(PAGE_SIZE)
    if not stories:
        await message.answer(tr("No stories stored yet."))
        return
    await message.answer(**story_list(stories, heading=tr("Latest stories"), tr=tr).as_kwargs())
