"""/start and /help: what the bot does and stores, in the chat's language, with one-tap buttons
to subscribe to everything, choose countries, or learn how to search."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.formatting import Bold, Text, as_list

from bot.i18n import Tr
from bot.storage import Chat, Storage
from bot.telegram.callbacks import pack, unpack
from bot.telegram.permissions import AdminCache, may_press
from bot.telegram.settings_view import settings_view


def greeting(tr: Tr) -> Text:
    return as_list(
        Bold(tr("Transit Watch")),
        tr(
            "I send an alert when news reports that someone who fled Russia, Belarus or Central "
            "Asia is detained, extradited or deported by a transit country."
        ),
        tr(
            "I store only this chat's id and its settings: no names, usernames or messages. "
            "/privacy has the details."
        ),
    )


def help_text(tr: Tr) -> Text:
    return as_list(
        greeting(tr),
        "",
        Bold(tr("Commands")),
        tr("/subscribe: alerts for all transit countries"),
        tr("/subscribe kz kg: only these countries (ISO codes)"),
        tr("/unsubscribe: stop alerts"),
        tr("/settings: countries, digests, quiet hours, language"),
        tr("/watch <name>: an alert whenever a name is in the news"),
        tr("/watchlist, /unwatch <name>: the names you follow"),
        tr(
            "/search <words>: find stored stories, e.g. /search Бажуков, or with filters: "
            "/search экстрадиция country:kg since:2025-03-01 (also until:, from:, action:)"
        ),
        tr("/story <number>: a story with every source, ready to cite"),
        tr("/case <name>: every story naming a person, oldest first"),
        tr("/export <search>: the results as a CSV file"),
        tr("/recent: the latest stories"),
        tr("/privacy, /forget: what is stored; delete it all"),
    )


def search_help(tr: Tr) -> Text:
    return as_list(
        Bold(tr("How to search")),
        tr("Send /search and a few words: a name in any spelling, a country or an action."),
        tr("Examples: /search Бажуков, /search Bazhukov, /search экстрадиция Казахстан"),
        tr("Searches are never stored or logged."),
    )


def onboarding_keyboard(tr: Tr) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=tr("🔔 Subscribe to all"), callback_data=pack("o", "all"))],
            [
                InlineKeyboardButton(
                    text=tr("🌍 Choose countries"), callback_data=pack("o", "countries")
                )
            ],
            [InlineKeyboardButton(text=tr("🔎 How to search"), callback_data=pack("o", "search"))],
        ]
    )


def make_router() -> Router:
    router = Router(name="start")
    router.message(CommandStart())(start)
    router.message(Command("help"))(help_command)
    router.channel_post(Command("help", "start"))(help_command)
    router.callback_query(F.data.startswith("o"))(onboarding_pressed)
    return router


async def start(message: Message, tr: Tr) -> None:
    await message.answer(**greeting(tr).as_kwargs(), reply_markup=onboarding_keyboard(tr))


async def help_command(message: Message, tr: Tr) -> None:
    await message.answer(**help_text(tr).as_kwargs())


async def onboarding_pressed(  # noqa: PLR0917 -- aiogram injects dependencies by parameter name
    query: CallbackQuery,
    bot: Bot,
    storage: Storage,
    admins: AdminCache,
    tr: Tr,
    clock: Callable[[], float],
) -> None:
    press = unpack(query.data)
    message = query.message
    if press is None or press.scope != "o" or message is None or not message.date:
        await query.answer(tr("This button is out of date. Send /start again."), show_alert=True)
        return
    chat = message.chat
    if press.op == "search":
        await query.answer()
        await bot.send_message(
            chat.id, **search_help(tr).as_kwargs(), message_thread_id=_thread(message)
        )
        return
    if not await may_press(chat.id, chat.type, query.from_user.id, bot, admins):
        await query.answer(tr("Only the chat's admins can change its settings."), show_alert=True)
        return
    if press.op == "all":
        await storage.chats.subscribe(
            chat.id, [], thread_id=_thread(message), now=clock(), language=tr.locale
        )
        await query.answer(tr("Subscribed to all transit countries."))
        await bot.send_message(
            chat.id,
            tr(
                "Subscribed: all transit countries. New cases will arrive here. "
                "/settings to adjust."
            ),
            message_thread_id=_thread(message),
        )
    elif press.op == "countries":
        # Choosing countries means wanting alerts: subscribe, then narrow down by tapping.
        current = await storage.chats.get(chat.id) or Chat.new(chat.id)
        if not current.subscribed:
            await storage.chats.subscribe(
                chat.id, current.countries, thread_id=_thread(message), now=clock(),
                language=tr.locale,
            )  # fmt: skip
            current = await storage.chats.get(chat.id) or current
        await query.answer()
        text, keyboard = settings_view(current, "countries", tr)
        await bot.send_message(
            chat.id, **text.as_kwargs(), reply_markup=keyboard, message_thread_id=_thread(message)
        )
    else:
        await query.answer(tr("This button is out of date. Send /start again."), show_alert=True)


def _thread(message: object) -> int | None:
    """The forum topic a message is in (an inaccessible message has none)."""
    thread = getattr(message, "message_thread_id", None)
    return thread if getattr(message, "is_topic_message", None) and thread else None
