"""The Telegram edge: one Router per feature, thin handlers, dependencies through the Dispatcher.

Handlers get what they need as keyword arguments from the Dispatcher's workflow data
(`storage`, `settings`, `queries`, `clock`, `countries`, `catalogs`, `admins`, `started_at`),
set once in `build_dispatcher()`, plus `tr` (the update's language, `bot.telegram.i18n`); they
never fetch feeds or send alerts themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiogram import Dispatcher, F

from bot.config import Settings
from bot.country_codes import known_country_codes
from bot.i18n import Catalogs
from bot.search import QueryBuilder
from bot.storage import Storage
from bot.telegram import (
    admin,
    failures,
    fallback,
    feeds,
    membership,
    migration,
    privacy,
    search,
    start,
    subscriptions,
    watchlist,
)
from bot.telegram import (
    settings as settings_router,
)
from bot.telegram.i18n import CatalogI18n, ChatI18nMiddleware
from bot.telegram.permissions import AdminCache


def build_dispatcher(
    storage: Storage,
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    catalogs: Catalogs | None = None,
) -> Dispatcher:
    catalogs = catalogs or Catalogs.load()
    dp = Dispatcher(storage=None)
    dp["storage"] = storage
    dp["settings"] = settings
    dp["countries"] = known_country_codes()
    dp["queries"] = QueryBuilder(dp["countries"])
    dp["clock"] = clock
    dp["catalogs"] = catalogs
    dp["admins"] = AdminCache()
    dp["started_at"] = clock()
    ChatI18nMiddleware(CatalogI18n(catalogs), catalogs, storage).setup(dp)
    # Telegram copies each channel post into the channel's discussion group: a command posted in
    # the channel was answered there already, and must not be answered (or refused) again.
    dp.message.filter(~F.is_automatic_forward)
    routers = (
        start, settings_router, subscriptions, watchlist, privacy, search, admin, feeds,
        migration, membership, fallback, failures,
    )  # fmt: skip
    dp.include_routers(*(m.make_router() for m in routers))
    return dp
