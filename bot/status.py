"""Health figures for operators (`/status`, `python -m bot status`): counts only, no content.

The outbox line counts what has fallen due (and how long the longest-waiting of it has waited
since then); digest items whose digest time is ahead are counted apart, as scheduled: they are
not late, and counting them as waiting made a healthy bot look days behind.

The lines go through a translator: `/status` speaks the admin's language, the CLI (no aiogram,
no chat) keeps the English msgids.
"""

from __future__ import annotations

import time

from bot.i18n import ENGLISH, Tr
from bot.storage import Storage

HEALTHY_HEARTBEAT_AGE = 180.0


async def status_lines(
    storage: Storage, now: float | None = None, *, tr: Tr = ENGLISH
) -> list[str]:
    now = time.time() if now is None else now
    counts = await storage.counts()
    outbox = await storage.outbox.stats(now)
    feeds = await storage.feeds.listed()
    disabled = sum(1 for f in feeds if f.disabled_reason)
    failing = sum(1 for f in feeds if f.error_count and not f.disabled_reason)
    oldest = tr("none") if outbox.due_since is None else seconds(now - outbox.due_since, tr)
    c = outbox.counters
    beat = await storage.heartbeat()
    lines = [
        tr(
            "feeds: {n} ({failing} failing, {disabled} disabled)",
            n=counts["feeds"],
            failing=failing,
            disabled=disabled,
        ),
        tr(
            "stories: {stories}, entries seen: {entries}",
            stories=counts["stories"],
            entries=counts["entries"],
        ),
        tr("subscribed chats: {n}", n=counts["subscribed_chats"]),
        tr(
            "outbox: {due} due ({sending} sending), oldest waiting {oldest}; "
            "{scheduled} scheduled for digests",
            due=outbox.due,
            sending=outbox.sending,
            oldest=oldest,
            scheduled=outbox.scheduled,
        ),
        tr(
            "sent: {sent}, retried: {retried}, failed: {failed}, 429s: {limited}, "
            "chats deactivated: {deactivated}, paused (no right to post): {paused}",
            sent=c.get("sent", 0),
            retried=c.get("retried", 0),
            failed=c.get("failed", 0),
            limited=c.get("429", 0),
            deactivated=c.get("chats_deactivated", 0),
            paused=c.get("chats_paused", 0),
        ),
        tr(
            "dropped with their chat: {dropped}, migrated: {migrated}, "
            "plain-text fallbacks: {plain}, edits skipped: {skipped}",
            dropped=c.get("dropped", 0),
            migrated=c.get("migrated", 0),
            plain=c.get("plain_fallback", 0),
            skipped=c.get("skipped", 0),
        ),
    ]
    paused = outbox.paused_until
    if paused is not None and paused > now:
        lines.append(
            tr(
                "sending paused by Telegram (429) for another {wait}",
                wait=seconds(paused - now, tr),
            )
        )
    lines.append(
        tr("bot heartbeat: never")
        if beat is None
        else tr("bot heartbeat: {age} ago", age=seconds(now - beat, tr))
    )
    return lines


def seconds(value: float, tr: Tr = ENGLISH) -> str:
    """A whole number of seconds with the unit: "90s" in English."""
    return tr("{n}s", n=f"{value:.0f}")


async def healthy(storage: Storage, now: float | None = None) -> bool:
    """The running bot ticks a heartbeat; a stale one means the scheduler or loop is stuck.
    So does one from the future: the clock was set back, and the scheduler (which keeps wall
    time) will not tick until it catches up."""
    now = time.time() if now is None else now
    beat = await storage.heartbeat()
    return beat is not None and abs(now - beat) <= HEALTHY_HEARTBEAT_AGE
