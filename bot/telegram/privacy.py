"""/privacy: exactly what is stored (the same text as the README's privacy section);
/forget: delete everything about this chat, after one confirmation button. The button expires
`FORGET_TTL` seconds after the question was sent: a press on an old message (scrolled up days
later, or by mistake) is not a confirmation. Cancel never expires: it deletes nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Final

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.formatting import Bold, Text, as_list

from bot.i18n import Tr
from bot.storage import Storage
from bot.telegram.callbacks import pack, unpack
from bot.telegram.permissions import AdminCache, may_manage, may_press


def privacy_text(tr: Tr) -> Text:
    return as_list(
        Bold(tr("What Transit Watch stores")),
        tr(
            "About this chat: its id, whether it is subscribed, its settings (countries, "
            "delivery mode and hour, time zone, quiet hours, language, link previews), the forum "
            "topic it subscribed from, its watchlist, and the alerts queued or sent to it "
            "(which story, and the message id), and when its last digest went."
        ),
        tr(
            "Never: names, usernames, phone numbers or the messages you write. Searches are "
            "neither stored nor logged."
        ),
        tr(
            "If the bot is blocked or removed, only the chat id is kept, marked inactive. "
            "/forget deletes everything about this chat at once."
        ),
    )


def make_router() -> Router:
    router = Router(name="privacy")
    for register in (router.message, router.channel_post):
        register(Command("privacy"))(privacy)
        register(Command("forget"))(forget)
    router.callback_query(F.data.startswith("f"))(forget_pressed)
    return router


async def privacy(message: Message, tr: Tr) -> None:
    await message.answer(**privacy_text(tr).as_kwargs())


FORGET_TTL: Final = 10 * 60


async def forget(message: Message, bot: Bot, admins: AdminCache, tr: Tr) -> None:
    if not await may_manage(message, bot, admins):
        await message.answer(tr("Only the chat's admins can do this."))
        return
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=tr("🗑 Delete everything"), callback_data=pack("f", "yes")
                ),
                InlineKeyboardButton(text=tr("Cancel"), callback_data=pack("f", "no")),
            ]
        ]
    )
    await message.answer(
        tr(
            "Delete this chat's subscription, settings, watchlist and queued alerts? "
            "This cannot be undone."
        ),
        reply_markup=keyboard,
    )


async def forget_pressed(  # noqa: PLR0917 -- aiogram injects dependencies by parameter name
    query: CallbackQuery,
    bot: Bot,
    storage: Storage,
    admins: AdminCache,
    clock: Callable[[], float],
    tr: Tr,
) -> None:
    press = unpack(query.data)
    message = query.message
    if (
        press is None
        or press.op not in ("yes", "no")
        or not isinstance(message, Message)  # InaccessibleMessage: too old for Telegram to show
        or (press.op == "yes" and clock() - message.date.timestamp() > FORGET_TTL)
    ):
        await query.answer(tr("This button is out of date. Send /forget again."), show_alert=True)
        return
    chat_id = message.chat.id
    if not await may_press(chat_id, message.chat.type, query.from_user.id, bot, admins):
        await query.answer(tr("Only the chat's admins can do this."), show_alert=True)
        return
    if press.op == "yes":
        await storage.chats.forget(chat_id)
        done = tr("Done: nothing about this chat is stored any more. /start to begin again.")
    else:
        done = tr("Cancelled: nothing was deleted.")
    # A press answered too late (the database was busy) is refused by Telegram: the deletion
    # is done all the same, and the message must still say so.
    with contextlib.suppress(TelegramBadRequest):
        await query.answer()
    with contextlib.suppress(TelegramBadRequest):
        await bot.edit_message_text(done, chat_id=chat_id, message_id=message.message_id)
