"""How the sources are doing, as text for operators (admin `/feeds`, admin notices). Pure.

    /feeds     a count line, then the sources with problems first (disabled, then failing),
               then the healthy ones, one line each, cut to `limit` (UTF-16 units) with
               "... and N more sources"
    notice     one message listing every source that has newly been failing for a day or been
               disabled, so the admins hear once per event, not once per failed poll

Only names, states and error classes appear: never URLs (their query may hold a key). Labels
go through a translator (`bot.i18n.Tr`, English without one); names, error classes and the
`[telegram]` tag stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from bot.i18n import ENGLISH, N_, Tr
from bot.render import telegram_length
from bot.storage import FeedState
from bot.storage.feeds import MOVED_ONTO

TEXT_LIMIT = 3800  # under Telegram's 4096, with room for the cut-off line

# The reasons `bot.refresh` stores when it disables a source are English text in the database;
# the known ones are translated when shown, anything else is shown as stored.
_GONE: Final = N_("gone (HTTP 410)")
_FAILING_DAYS: Final = re.compile(r"failing for (\d+) days?")
_MOVED: Final = re.compile(rf"{re.escape(MOVED_ONTO)}(.+)", re.DOTALL)


def health_report(
    feeds: Sequence[FeedState], now: float, *, limit: int = TEXT_LIMIT, tr: Tr = ENGLISH
) -> str:
    disabled = [f for f in feeds if f.disabled_reason]
    failing = [f for f in feeds if not f.disabled_reason and f.error_count]
    healthy = [f for f in feeds if not f.disabled_reason and not f.error_count]
    unchecked = sum(1 for f in healthy if f.last_success_at is None)
    head = tr(
        "Sources: {n} ({healthy} healthy, {unchecked} not checked yet, {failing} failing, "
        "{disabled} disabled)",
        n=len(feeds),
        healthy=len(healthy) - unchecked,
        unchecked=unchecked,
        failing=len(failing),
        disabled=len(disabled),
    )
    lines = [feed_line(f, now, tr) for f in (*disabled, *failing, *healthy)]
    return _bounded(head, lines, limit, tr)


def notice_text(
    feeds: Sequence[FeedState], now: float, *, limit: int = TEXT_LIMIT, tr: Tr = ENGLISH
) -> str:
    """The one admin message about sources that need attention."""
    head = tr("Transit Watch: sources need attention (see /feeds)")
    return _bounded(head, [feed_line(f, now, tr) for f in feeds], limit, tr)


def feed_line(feed: FeedState, now: float, tr: Tr = ENGLISH) -> str:
    name = f"{feed.name} [telegram]" if feed.kind == "telegram" else feed.name
    if feed.disabled_reason:
        return tr(
            "⛔ {name}: disabled, {reason}; last error: {error}",
            name=name,
            reason=disabled_reason(feed.disabled_reason, tr),
            error=feed.last_error or tr("none"),
        )
    if feed.error_count:
        since = feed.failing_since if feed.failing_since is not None else now
        # Worked out before the call: a bare `tr` among `tr.plural`'s arguments makes
        # pybabel's extractor take the call for `tr(...)` and drop the plural.
        duration = ago(now - since, tr)
        return tr.plural(
            "⚠️ {name}: failing for {duration} ({n} error), last: {error}",
            "⚠️ {name}: failing for {duration} ({n} errors), last: {error}",
            feed.error_count,
            name=name,
            duration=duration,
            error=feed.last_error or "?",
        )
    every = ago(feed.current_interval, tr)
    if feed.last_success_at is None:
        return tr("✅ {name}: not checked yet, every {interval}", name=name, interval=every)
    return tr(
        "✅ {name}: ok {duration} ago, every {interval}",
        name=name,
        duration=ago(now - feed.last_success_at, tr),
        interval=every,
    )


def disabled_reason(reason: str, tr: Tr = ENGLISH) -> str:
    """A stored reason for disabling a source, in the reader's language when it is a known one."""
    if reason == _GONE:
        return tr(_GONE)
    days = _FAILING_DAYS.fullmatch(reason)
    if days:
        return tr.plural("failing for {n} day", "failing for {n} days", int(days[1]))
    moved = _MOVED.fullmatch(reason)
    if moved:
        return tr("moved to the address of {name}", name=moved[1])
    return reason


# Marked (N_) for the catalogs: `ago` translates them from here.
_UNITS: Final = ((86400, N_("{n}d"), 3600, N_("{n}h")), (3600, N_("{n}h"), 60, N_("{n}m")))


def ago(seconds: float, tr: Tr = ENGLISH) -> str:
    """A short duration, cut, never rounded up (a feed failing for 2d14h is not yet at the 3
    days that disable it; an interval of 90 minutes is not 2h): 45s, 12m, 1h30m, 2d14h."""
    whole = int(max(0.0, seconds))
    for size, unit, part, next_unit in _UNITS:
        if whole >= size:
            count, rest = divmod(whole, size)
            shown = [tr(unit, n=count)] + ([tr(next_unit, n=rest // part)] if rest >= part else [])
            # "1h30m", but "1 год 30 хв" where a unit is a word of its own
            return (" " if any(" " in p for p in shown) else "").join(shown)
    if whole >= 60:
        return tr("{n}m", n=whole // 60)
    return tr("{n}s", n=whole)


def _bounded(head: str, lines: Sequence[str], limit: int, tr: Tr) -> str:
    """`head` and as many `lines` as fit in `limit` (in Telegram's UTF-16 units), then a line
    counting the ones left out; room for that line is kept only while lines remain after."""
    out = [head]
    used = telegram_length(head)
    for shown, line in enumerate(lines):
        left = len(lines) - shown
        more = tr.plural("… and {n} more source", "… and {n} more sources", left)
        after = 1 + telegram_length(more) if left > 1 else 0
        if used + 1 + telegram_length(line) + after > limit:
            out.append(more)
            break
        out.append(line)
        used += 1 + telegram_length(line)
    return "\n".join(out)
