"""How the sources are doing, as text for operators (admin `/feeds`, admin notices). Pure.

    /feeds     a count line, then the sources with problems first (disabled, then failing),
               then the healthy ones, one line each, cut to `limit` characters with
               "... and N more"
    notice     one message listing every source that has newly been failing for a day or been
               disabled, so the admins hear once per event, not once per failed poll

Only names, states and error classes appear: never URLs (their query may hold a key).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage import FeedState

TEXT_LIMIT = 3800  # under Telegram's 4096, with room for the cut-off line


def health_report(feeds: Sequence[FeedState], now: float, *, limit: int = TEXT_LIMIT) -> str:
    disabled = [f for f in feeds if f.disabled_reason]
    failing = [f for f in feeds if not f.disabled_reason and f.error_count]
    healthy = [f for f in feeds if not f.disabled_reason and not f.error_count]
    head = (
        f"Sources: {len(feeds)} ({len(healthy)} healthy, {len(failing)} failing, "
        f"{len(disabled)} disabled)"
    )
    lines = [feed_line(f, now) for f in (*disabled, *failing, *healthy)]
    return _bounded(head, lines, limit)


def notice_text(feeds: Sequence[FeedState], now: float, *, limit: int = TEXT_LIMIT) -> str:
    """The one admin message about sources that need attention."""
    head = "Transit Watch: sources need attention (see /feeds)"
    return _bounded(head, [feed_line(f, now) for f in feeds], limit)


def feed_line(feed: FeedState, now: float) -> str:
    kind = " [telegram]" if feed.kind == "telegram" else ""
    if feed.disabled_reason:
        return f"⛔ {feed.name}{kind}: disabled, {feed.disabled_reason}; last error: " + (
            feed.last_error or "none"
        )
    if feed.error_count:
        since = feed.failing_since if feed.failing_since is not None else now
        return (
            f"⚠️ {feed.name}{kind}: failing for {ago(now - since)} "
            f"({feed.error_count} errors), last: {feed.last_error or '?'}"
        )
    checked = "never" if feed.last_success_at is None else f"{ago(now - feed.last_success_at)} ago"
    return f"✅ {feed.name}{kind}: ok {checked}, every {ago(feed.current_interval)}"


def ago(seconds: float) -> str:
    """A short duration: 45s, 12m, 5h, 3d."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def _bounded(head: str, lines: Sequence[str], limit: int) -> str:
    out = [head]
    used = len(head)
    for shown, line in enumerate(lines):
        more = f"… and {len(lines) - shown} more"
        if used + 1 + len(line) + 1 + len(more) > limit:
            out.append(more)
            break
        out.append(line)
        used += 1 + len(line)
    return "\n".join(out)
