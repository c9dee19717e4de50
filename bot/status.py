"""Health figures for operators (`/status`, `python -m bot status`): counts only, no content."""

from __future__ import annotations

import time

from bot.storage import Storage

HEALTHY_HEARTBEAT_AGE = 180.0


async def status_lines(storage: Storage, now: float | None = None) -> list[str]:
    now = time.time() if now is None else now
    counts = await storage.counts()
    outbox = await storage.outbox.stats()
    feeds = await storage.feeds.all()
    failing = sum(1 for f in feeds if f.error_count)
    oldest = (
        "none" if outbox.oldest_pending_at is None else f"{now - outbox.oldest_pending_at:.0f}s"
    )
    c = outbox.counters
    beat = await storage.heartbeat()
    lines = [
        f"feeds: {counts['feeds']} ({failing} failing)",
        f"stories: {counts['stories']}, entries seen: {counts['entries']}",
        f"subscribed chats: {counts['subscribed_chats']}",
        f"outbox: {outbox.pending} pending ({outbox.sending} sending), oldest waiting {oldest}",
        f"sent: {c.get('sent', 0)}, retried: {c.get('retried', 0)}, failed: {c.get('failed', 0)}, "
        f"429s: {c.get('429', 0)}, chats deactivated: {c.get('chats_deactivated', 0)}",
        f"dropped with their chat: {c.get('dropped', 0)}, migrated: {c.get('migrated', 0)}, "
        f"plain-text fallbacks: {c.get('plain_fallback', 0)}, edits skipped: {c.get('skipped', 0)}",
    ]
    paused = outbox.paused_until
    if paused is not None and paused > now:
        lines.append(f"sending paused by Telegram (429) for another {paused - now:.0f}s")
    lines.append(
        "bot heartbeat: never" if beat is None else f"bot heartbeat: {now - beat:.0f}s ago"
    )
    return lines


async def healthy(storage: Storage, now: float | None = None) -> bool:
    """The running bot ticks a heartbeat; a stale one means the scheduler or loop is stuck."""
    now = time.time() if now is None else now
    beat = await storage.heartbeat()
    return beat is not None and now - beat <= HEALTHY_HEARTBEAT_AGE
