"""Operator commands, only for the user ids in ADMIN_IDS and only in a private chat with the
bot: /status (queue, sender counters, uptime, database size) and /stats (counts only), in the
admin's language. To anyone else, and in groups, they do not exist."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.config import Settings
from bot.i18n import LANGUAGE_NAMES, Tr
from bot.render import plain
from bot.status import status_lines
from bot.storage import Storage
from bot.telegram.settings_view import MODE_NAMES


def make_router() -> Router:
    router = Router(name="admin")
    # In a private chat only: in a group every member would read the counts.
    router.message(Command("status"), F.from_user, F.chat.type == "private")(status)
    router.message(Command("stats"), F.from_user, F.chat.type == "private")(stats)
    return router


def _is_admin(message: Message, settings: Settings) -> bool:
    return message.from_user is not None and message.from_user.id in settings.admin_ids


async def status(  # noqa: PLR0917 -- aiogram injects dependencies by parameter name
    message: Message,
    storage: Storage,
    settings: Settings,
    clock: Callable[[], float],
    started_at: float,
    tr: Tr,
) -> None:
    if not _is_admin(message, settings):
        return
    now = clock()
    lines = await status_lines(storage, now, tr=tr)
    size = await storage.size_bytes()
    lines += [
        tr("uptime: {duration}", duration=_duration(now - started_at, tr)),
        tr("database: {size} MB", size=f"{size / 1e6:.1f}"),
    ]
    await message.answer(**plain("\n".join(lines)).as_kwargs())


async def stats(message: Message, storage: Storage, settings: Settings, tr: Tr) -> None:
    if not _is_admin(message, settings):
        return
    counts = await storage.counts()
    lines = stats_lines(counts, await storage.chats.stats(), await storage.watchlist.count(), tr)
    await message.answer(**plain("\n".join(lines)).as_kwargs())


def stats_lines(
    counts: Mapping[str, int], chats: Mapping[str, int], watchlist: int, tr: Tr
) -> list[str]:
    """The /stats text: row counts, then the subscribed chats by delivery, language and kind.
    `chats` is `storage.chats.stats()`; a figure this code does not know is shown as stored."""
    lines = [
        tr("feeds: {n}", n=counts.get("feeds", 0)),
        tr("stories: {n}", n=counts.get("stories", 0)),
        tr("entries seen: {n}", n=counts.get("entries", 0)),
        tr("subscribed chats: {n}", n=counts.get("subscribed_chats", 0)),
        tr("watchlist entries: {n}", n=watchlist),
    ]
    groups: dict[str, list[str]] = {"mode": [], "language": [], "kind": []}
    rest: list[str] = []
    for key, value in sorted(chats.items()):
        group, _, name = key.partition(":")
        label = _chat_label(group, name, tr)
        if group in groups and label is not None:
            groups[group].append(f"{label} {value}")
        elif key == "quiet hours":
            rest.append(tr("with quiet hours: {n}", n=value))
        elif key == "inactive":
            rest.append(tr("inactive chats: {n}", n=value))
        else:
            rest.append(f"{key}: {value}")
    headings = {
        "mode": tr("delivery: {counts}", counts=", ".join(groups["mode"])),
        "language": tr("language: {counts}", counts=", ".join(groups["language"])),
        "kind": tr("kind: {counts}", counts=", ".join(groups["kind"])),
    }
    lines += [headings[group] for group, found in groups.items() if found]
    return lines + rest


def _chat_label(group: str, name: str, tr: Tr) -> str | None:
    if group == "mode":
        return tr(MODE_NAMES[name]) if name in MODE_NAMES else name
    if group == "language":
        return LANGUAGE_NAMES.get(name, tr("not set") if name == "-" else name)
    if group == "kind":
        kinds = {"private": tr("private"), "group/channel": tr("groups and channels")}
        return kinds.get(name, name)
    return None


def _duration(seconds: float, tr: Tr) -> str:
    minutes, _ = divmod(int(max(seconds, 0)), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return tr("{days}d {hours}h {minutes}m", days=days, hours=hours, minutes=minutes)
