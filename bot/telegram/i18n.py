"""aiogram's I18n fed with our catalogs, and the middleware that picks each update's language.

The locale of an update is the chat's language setting if it has one, else the rule of
`bot.i18n.locale_for` on the sender's Telegram `language_code`. Handlers get `tr` (a `bot.i18n.Tr`
for that locale) as a keyword argument; aiogram's own `gettext` works inside them too. The
error handler (`bot.telegram.failures`) gets the `tr` of the update that failed.
"""

from __future__ import annotations

import contextlib
import gettext
import sqlite3
from typing import Any

from aiogram.types import CallbackQuery, ErrorEvent, Message, TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.i18n import CATALOG_DIR, DEFAULT_LOCALE, Catalogs, locale_for
from bot.storage import Chat, Storage


class CatalogI18n(I18n):
    """aiogram's I18n over catalogs compiled in memory from the `.po` files (no `.mo` files)."""

    def __init__(self, catalogs: Catalogs) -> None:
        self._catalogs = catalogs
        super().__init__(path=CATALOG_DIR, default_locale=DEFAULT_LOCALE)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        return dict(self._catalogs.translations)


class ChatI18nMiddleware(I18nMiddleware):
    def __init__(self, i18n: CatalogI18n, catalogs: Catalogs, storage: Storage) -> None:
        super().__init__(i18n)
        self._catalogs = catalogs
        self._storage = storage

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        return _locale(await self._chat(event), data)

    async def __call__(self, handler: Any, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat = await self._chat(event)
        locale = _locale(chat, data)
        tr = self._catalogs.tr(locale)
        # The days a reply shows are the chat's, in the time zone its /settings give.
        data["tr"] = tr if chat is None else tr.in_zone(chat.utc_offset)
        data["user_locale"] = locale_for(
            u.language_code if (u := data.get("event_from_user")) else None
        )
        data["i18n"] = self.i18n
        with self.i18n.context(), self.i18n.use_locale(locale):
            return await handler(event, data)

    async def _chat(self, event: TelegramObject) -> Chat | None:
        chat_id = _chat_id(event)
        if chat_id is None:
            return None
        if isinstance(event, ErrorEvent):
            # The failure may be the database's own: then the apology goes in the user's
            # language rather than not at all.
            with contextlib.suppress(sqlite3.Error):
                return await self._storage.chats.get(chat_id)
            return None
        return await self._storage.chats.get(chat_id)


def _locale(chat: Chat | None, data: dict[str, Any]) -> str:
    if chat is not None and chat.language:
        return chat.language
    user: User | None = data.get("event_from_user")
    return locale_for(user.language_code if user else None)


def _chat_id(event: TelegramObject) -> int | None:
    if isinstance(event, ErrorEvent):
        return _chat_id(event.update.event)
    if isinstance(event, Message):
        return event.chat.id
    if isinstance(event, CallbackQuery) and event.message is not None:
        return event.message.chat.id
    return None
