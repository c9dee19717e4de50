"""Sources for operators: the admin `/feeds` command, and the notices about failing sources.

Notices are once-only and durable through the database (`storage.feeds.notices_due()` /
`mark_told()`): each tick, every source newly failing for `TELL_ADMINS_AFTER` or newly disabled
goes into one message per admin, through the paced bot session. They are marked as told once
the message went out to every admin who can receive it (an admin who never started the bot is
skipped and logged); a network error or a 429 leaves them unmarked, for the next tick.
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
from bot.render import plain
from bot.schedule import TELL_ADMINS_AFTER
from bot.storage import Storage

log = logging.getLogger(__name__)


def make_router() -> Router:
    router = Router(name="feeds")
    router.message(Command("feeds"), F.from_user)(feeds)
    return router


async def feeds(
    message: Message, storage: Storage, settings: Settings, clock: Callable[[], float]
) -> None:
    if message.from_user is None or message.from_user.id not in settings.admin_ids:
        return  # to anyone else the command does not exist
    report = health_report(await storage.feeds.listed(), clock())
    await message.answer(**plain(report).as_kwargs())


async def notify_admins(bot: Bot, storage: Storage, admin_ids: Iterable[int], now: float) -> int:
    """Tell the admins, once, about sources that need attention; returns how many."""
    admins = sorted(admin_ids)
    if not admins:
        return 0
    due = await storage.feeds.notices_due(now, failing_for=TELL_ADMINS_AFTER)
    if not due:
        return 0
    text = plain(notice_text(due, now))
    for admin in admins:
        try:
            await bot.send_message(admin, **text.as_kwargs())
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            # Nothing to retry: this admin never started the bot or blocked it.
            log.warning("feed notice not delivered to an admin: %s", type(exc).__name__)
        except TelegramAPIError as exc:
            # 429, 5xx, network: try the whole notice again on the next tick.
            log.warning("feed notice postponed: %s", type(exc).__name__)
            return 0
    await storage.feeds.mark_told(due, now=now)
    return len(due)
