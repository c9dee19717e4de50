"""/search <words> and /recent. Queries are never logged or stored."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.errors import QueryError
from bot.render import plain, story_list
from bot.search import QueryBuilder
from bot.storage import Storage

PAGE_SIZE = 5
NOTHING_FOUND = "Nothing found. Try fewer words, another spelling, or a country: /search Казахстан"


def make_router() -> Router:
    router = Router(name="search")
    for register in (router.message, router.channel_post):
        register(Command("search"))(search)
        register(Command("recent"))(recent)
    return router


async def search(
    message: Message, command: CommandObject, storage: Storage, queries: QueryBuilder
) -> None:
    try:
        query = queries.build(command.args or "")
    except QueryError as exc:
        await message.answer(**plain(str(exc)).as_kwargs())
        return
    stories = await storage.search.stories(query, limit=PAGE_SIZE)
    if not stories:
        await message.answer(NOTHING_FOUND)
        return
    heading = f"Best matches for: {' '.join(query.words)}"
    await message.answer(**story_list(stories, heading=heading).as_kwargs())


async def recent(message: Message, storage: Storage) -> None:
    stories = await storage.stories.recent(PAGE_SIZE)
    if not stories:
        await message.answer("No stories stored yet.")
        return
    await message.answer(**story_list(stories, heading="Latest stories").as_kwargs())
