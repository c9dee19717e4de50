"""The command menu, set per language at start-up (`setMyCommands` with `language_code`)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand

from bot.i18n import DEFAULT_LOCALE, LOCALES, N_, Catalogs

COMMANDS = (
    ("start", N_("What this bot does, and buttons to begin")),
    ("subscribe", N_("Alerts for all or some countries")),
    ("unsubscribe", N_("Stop alerts")),
    ("settings", N_("Countries, digests, quiet hours, language")),
    ("watch", N_("Alert me when a name is in the news")),
    ("watchlist", N_("The names this chat follows")),
    ("search", N_("Find stored stories")),
    ("case", N_("A person's case, oldest first")),
    ("export", N_("Search results as a CSV file")),
    ("recent", N_("The latest stories")),
    ("privacy", N_("What is stored about this chat")),
    ("forget", N_("Delete everything about this chat")),
    ("help", N_("All commands")),
)


def bot_commands(catalogs: Catalogs, locale: str) -> list[BotCommand]:
    tr = catalogs.tr(locale)
    return [BotCommand(command=name, description=tr(text)) for name, text in COMMANDS]


async def set_commands(bot: Bot, catalogs: Catalogs) -> None:
    """English for everyone, then Russian and Ukrainian for users whose Telegram speaks them
    (Telegram picks by the user's app language; kk, ky... users get the default here)."""
    await bot.set_my_commands(bot_commands(catalogs, DEFAULT_LOCALE))
    for locale in LOCALES:
        if locale != DEFAULT_LOCALE:
            await bot.set_my_commands(bot_commands(catalogs, locale), language_code=locale)
