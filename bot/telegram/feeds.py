"""Sources for operators: the admin `/feeds` command, and the notices about failing sources.

Notices are once-only and durable through the database (`storage.feeds.notices_due()` /
`mark_told()`): each tick, every source newly failing for `TELL_ADMINS_AFTER` or newly disabled
goes into one message per admin, through the paced bot session. They are marked as told once
the message went out to every admin who can receive it (an admin who never started the bot is
skipped and logged); a network error or a 429 leaves them unmarked, for the next tick.

A notice answers no update, so there is no sender's `language_code` to go by. Its language is
the admin's own private chat's language setting (an admin's private chat with the bot has the
admin's user id as its chat id, and `/settings` there or subscribing from there stores it), and
English for an admin who never set one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command
from aiogram.types import Message

from bot.config import Settings
from bot.feed_health import health_report, notice_text
from bot.i18n import DEFAULT_LOCALE, Catalogs, Tr
from bot.render import plain
from bot.schedule import TELL_ADMINS_AFTER
from bot.storage import Storage

# An admin, a feed, the state told of (failing or disabled) and since when (so that a new
# failing streak is a new notice).
Told = tuple[int, int, str, float | None]
log = logging.getLogger(__name__)


def make_router() -> Router:
    router = Router(name="feeds")
    # In a private chat only, like /status: a group's members would read every source's health.
    router.message(Command("feeds"), F.from_user, F.chat.type == "private")(feeds)
    return router


async def feeds(
    message: Message, storage: Storage, settings: Settings, clock: Callable[[], float], tr: Tr
) -> None:
    if message.from_user is None or message.from_user.id not in settings.admin_ids:
        return  # to anyone else the command does not exist
    report = health_report(await storage.feeds.listed(), clock(), tr=tr)
    await message.answer(**plain(report).as_kwargs())


async def notify_admins(
    bot: Bot,
    storage: Storage,
    admin_ids: Iterable[int],
    now: float,
    *,
    catalogs: Catalogs,
    sent: set[Told] | None = None,
) -> int:
    """Tell the admins, once, about sources that need attention; returns how many. Each admin
    reads the notice in their own language (see the module docstring for the rule).

    A 429, 5xx or network error postpones the notice to the next call, for the admins who did
    not get it: `sent` (kept by the caller from call to call) remembers who did, so that one
    admin's failing send does not repeat the notice to the others on every tick. The feeds are
    marked told once every admin has it (or cannot be reached at all)."""
    admins = sorted(admin_ids)
    if not admins:
        return 0
    due = await storage.feeds.notices_due(now, failing_for=TELL_ADMINS_AFTER)
    sent = set() if sent is None else sent
    states = [
        (feed.id, "disabled", feed.disabled_at)
        if feed.disabled_reason
        else (feed.id, "failing", feed.failing_since)
        for feed in due
    ]
    # What is no longer due (the feed recovered meanwhile) is forgotten.
    sent.intersection_update({(admin, *state) for admin in admins for state in states})
    if not due:
        return 0
    texts: dict[str, str] = {}
    for admin in admins:
        told = {(admin, *state) for state in states}
        if told <= sent:
            continue
        locale = await admin_locale(storage, admin)
        if locale not in texts:
            texts[locale] = notice_text(due, now, tr=catalogs.tr(locale))
        try:
            await bot.send_message(admin, **plain(texts[locale]).as_kwargs())
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            # Nothing to retry: this admin never started the bot or blocked it.
            log.warning("feed notice not delivered to an admin: %s", type(exc).__name__)
        except TelegramAPIError as exc:
            # 429, 5xx, network: the admins who have not got it yet get it on the next tick.
            log.warning("feed notice postponed: %s", type(exc).__name__)
            return 0
        sent |= told
    await storage.feeds.mark_told(due, now=now)
    sent.difference_update({(admin, *state) for admin in admins for state in states})
    return len(due)


async def admin_locale(storage: Storage, admin_id: int) -> str:
    """The language of a message to an admin that answers no update: their private chat's
    setting, else English."""
    chat = await storage.chats.get(admin_id)
    return chat.language if chat is not None and chat.language else DEFAULT_LOCALE
