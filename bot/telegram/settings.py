"""/settings: one message whose inline buttons change the chat's settings, edited in place.

Every press is checked: the data must unpack (`callbacks`) and name a choice we offer
(`bot.settings_choices`), else the user is told the button is out of date; in groups and
channels only admins may press (`permissions`). Settings are stored at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.i18n import N_, Catalogs, Tr
from bot.settings_choices import apply_choice
from bot.storage import Chat, Storage
from bot.telegram.callbacks import unpack
from bot.telegram.permissions import AdminCache, may_manage, may_press
from bot.telegram.settings_view import settings_view, summary

STALE = N_("This button is out of date. Send /settings again.")


def make_router() -> Router:
    router = Router(name="settings")
    router.message(Command("settings"))(show_settings)
    router.channel_post(Command("settings"))(show_settings)
    router.callback_query(F.data.startswith("s"))(settings_pressed)
    return router


async def show_settings(
    message: Message, bot: Bot, storage: Storage, admins: AdminCache, tr: Tr
) -> None:
    if not await may_manage(message, bot, admins):
        await message.answer(tr("Only the chat's admins can change its settings."))
        return
    chat = await storage.chats.get(message.chat.id) or Chat.new(message.chat.id)
    text, keyboard = settings_view(chat, "main", tr)
    await message.answer(**text.as_kwargs(), reply_markup=keyboard)


async def settings_pressed(  # noqa: PLR0917 -- aiogram injects dependencies by parameter name
    query: CallbackQuery,
    bot: Bot,
    storage: Storage,
    admins: AdminCache,
    catalogs: Catalogs,
    tr: Tr,
    clock: Callable[[], float],
) -> None:
    press = unpack(query.data)
    message = query.message
    if press is None or press.scope != "s" or message is None or not message.date:
        await query.answer(tr(STALE), show_alert=True)
        return
    chat_id = message.chat.id
    if not await may_press(chat_id, message.chat.type, query.from_user.id, bot, admins):
        await query.answer(tr("Only the chat's admins can change its settings."), show_alert=True)
        return
    chat = await storage.chats.get(chat_id) or Chat.new(chat_id)
    if press.op == "x":
        await query.answer()
        with contextlib.suppress(TelegramBadRequest):  # already closed
            await bot.edit_message_text(
                chat_id=chat_id, message_id=message.message_id, **summary(chat, tr).as_kwargs()
            )
        return
    if press.op == "a" and not press.arg:
        view = "main"
        await _toggle_alerts(storage, chat, message, tr, clock())
    else:
        choice = apply_choice(chat, press.op, press.arg)
        if choice is None:
            await query.answer(tr(STALE), show_alert=True)
            return
        new_chat, view = choice
        if new_chat != chat:
            await storage.chats.save_settings(new_chat, now=clock())
        if new_chat.language != chat.language:
            tr = catalogs.tr(new_chat.language)  # the new language shows at once
    await query.answer()
    fresh = await storage.chats.get(chat_id) or Chat.new(chat_id)
    text, keyboard = settings_view(fresh, view, tr)
    with contextlib.suppress(TelegramBadRequest):  # "message is not modified": nothing changed
        await bot.edit_message_text(
            chat_id=chat_id,
            message_id=message.message_id,
            reply_markup=keyboard,
            **text.as_kwargs(),
        )


async def _toggle_alerts(storage: Storage, chat: Chat, message: object, tr: Tr, now: float) -> None:
    if chat.subscribed:
        await storage.chats.unsubscribe(chat.chat_id)
        return
    thread = getattr(message, "message_thread_id", None)
    topic = thread if getattr(message, "is_topic_message", None) else None
    await storage.chats.subscribe(
        chat.chat_id, chat.countries, thread_id=topic, now=now, language=chat.language or tr.locale
    )
