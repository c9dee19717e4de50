"""/start and /help: what the bot does, what it stores, how to use it."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message
from aiogram.utils.formatting import Bold, Text, as_list


def help_text() -> Text:
    return as_list(
        Bold("Transit Watch"),
        "Alerts when people who fled Russia, Belarus or Central Asian regimes are detained, "
        "extradited, deported or handed over by Kazakhstan, Kyrgyzstan, Armenia, Georgia, "
        "Turkey, Serbia, the UAE and other transit countries.",
        "",
        Bold("Commands"),
        "/subscribe: alerts for all transit countries",
        "/subscribe kz kg: only these countries (ISO codes)",
        "/unsubscribe: stop alerts",
        "/search <words>: find stored stories, e.g. /search Бажуков, or with filters: "
        "/search экстрадиция country:kg since:2025-03-01 (also until:, from:, action:)",
        "/story <number>: a story with every source, ready to cite",
        "/case <name>: every story naming a person, oldest first",
        "/export <search>: the results as a CSV file",
        "/recent: the latest stories",
        "",
        Bold("What is stored"),
        "Only this chat's id and its subscription settings. No names, usernames or messages. "
        "/unsubscribe stops alerts; searches are never stored or logged.",
    )


def make_router() -> Router:
    router = Router(name="start")
    router.message(CommandStart())(start)
    router.message(Command("help"))(start)
    router.channel_post(Command("help", "start"))(start)
    return router


async def start(message: Message) -> None:
    await message.answer(**help_text().as_kwargs())
