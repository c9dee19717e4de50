"""The Telegram edge: one Router per feature, thin handlers, dependencies through the Dispatcher.

Handlers get what they need as keyword arguments from the Dispatcher's workflow data
(`storage`, `settings`, `queries`, `clock`, `countries`), set once in `build_dispatcher()`; they
never fetch feeds or send alerts themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiogram import Dispatcher

from bot.config import Settings
from bot.render import known_country_codes
from bot.search import QueryBuilder
from bot.storage import Storage
from bot.telegram import admin, feeds, membership, search, start, subscriptions


def build_dispatcher(
    storage: Storage, settings: Settings, *, clock: Callable[[], float] = time.time
) -> Dispatcher:
    dp = Dispatcher(storage=None)
    dp["storage"] = storage
    dp["settings"] = settings
    dp["countries"] = known_country_codes()
    dp["queries"] = QueryBuilder(dp["countries"])
    dp["clock"] = clock
    dp.include_routers(
        *(m.make_router() for m in (start, subscriptions, search, admin, feeds, membership))
    )
    return dp
