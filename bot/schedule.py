"""When to poll a feed next: pure arithmetic on what the last poll saw, no I/O.

The spec:

* **Bounds.** Every feed polls between a floor and a ceiling (feeds.yaml `min_interval` and
  `max_interval`, per feed or in `defaults`). Without them both are the feed's `interval`, so
  it polls exactly as configured. The configured interval is always inside the bounds.
* **Adapting.** A poll that brought new entries shortens the interval: to half the median gap
  between the feed's recent publication dates (about two polls per new item) when the entries
  are dated, else to half the current interval; never longer than it was (news after a quiet
  spell, whose dates are days apart, must not slow the polling down). A poll that brought
  nothing new (including a 304) lengthens it by half. The result is clamped to the bounds.
* **Server hints** only ever lengthen the wait, and never past the ceiling: `Cache-Control:
  max-age` (ignored with `no-cache`/`no-store`), else `Expires` (against the server's `Date`;
  max-age overrides it, as in RFC 9111), and RSS `<ttl>` (minutes; the last one a feed sent
  still counts when it answers 304). A publisher that says "not before an hour" is not asked
  sooner unless our ceiling is shorter: jitter only lengthens such a wait. Numbers from a
  server or a feed count only when they are plain ASCII digits, ten at most (`hint_number`):
  `str.isdigit()` also takes "²", which `int()` refuses.
* **Backoff.** A failing feed waits interval x 2^errors, capped at `MAX_BACKOFF`; a
  `Retry-After` (429/503) lengthens that, also up to `MAX_BACKOFF`. It is the host's word to
  this client, so the host's other feeds (and article pages) are not asked either until it
  has passed (`bot.fetch`): they wait for it, which is no error of theirs and leaves their
  error streak as it was.
* **Giving up.** A feed failing for `DISABLE_AFTER` is disabled; a 410 Gone disables it at once.
  A 429 never does: it is the host limiting this client, not the feed failing (every channel
  on t.me would be disabled one after the other); its errors still tell the admins it fails.
  The failing is counted from its streak's first error, and an error more than `STREAK_GAP`
  after the one before starts a new streak: a failing feed is retried at least every
  `MAX_BACKOFF`, so such a gap is time nobody polled it (the bot was stopped, the feed was not
  listed), which says nothing about the feed. Nor does a feed's server not answering while
  no feed's server has answered for `STREAK_GAP` (the bot's own network is down): such an
  error starts its streak again (`bot.refresh`), so an outage of the bot's own does not
  disable every feed.
* **No wait lasts longer than `longest_wait()`** (the ceiling or `MAX_BACKOFF`, jittered): a
  next check further ahead was set by a clock that was wrong, and is brought back.

Jitter (so feeds added together spread out) is the caller's, as it needs randomness.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_BACKOFF = 6 * 3600.0
STREAK_GAP = 2 * MAX_BACKOFF
JITTER = 0.1  # the callers' jitter: each wait is +-10%, so that feeds added together spread out
DISABLE_AFTER = 3 * 86400.0
TELL_ADMINS_AFTER = 24 * 3600.0
SHORTEN = 0.5
LENGTHEN = 1.5
_RECENT = 10  # publication dates used for the gap estimate
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?([0-9]{1,10})", re.IGNORECASE)
_HINT_NUMBER = re.compile(r"[0-9]{1,10}")
_NO_CACHE = re.compile(r"(?:^|,)\s*no-(?:cache|store)\b", re.IGNORECASE)


def bounds(
    interval: float, min_interval: float | None, max_interval: float | None
) -> tuple[float, float]:
    """(floor, ceiling), always containing `interval`."""
    floor = min(min_interval or interval, interval)
    ceiling = max(max_interval or interval, interval)
    return floor, ceiling


def adapt(
    current: float,
    *,
    floor: float,
    ceiling: float,
    changed: bool,
    published: Sequence[float] = (),
) -> float:
    """The next interval after a poll; `published` are the fetched entries' dates (Unix s)."""
    if changed:
        gap = median_gap(published)
        target = min(gap * SHORTEN, current) if gap is not None else current * SHORTEN
    else:
        target = current * LENGTHEN
    return min(max(target, floor), ceiling)


def median_gap(published: Sequence[float]) -> float | None:
    """The median time between the most recent publication dates, or None with fewer than 3."""
    recent = sorted(set(published), reverse=True)[:_RECENT]
    if len(recent) < 3:
        return None
    return statistics.median(a - b for a, b in itertools.pairwise(recent))


def server_hint(
    headers: Mapping[str, str], *, ttl: float | None = None, now: datetime | None = None
) -> float | None:
    """The longest "do not ask again before" the server or the feed states, in seconds."""
    cache = _max_age(headers)
    if cache is None:
        cache = _expires(headers, now)
    hints = [h for h in (cache, ttl) if h]
    return max(hints) if hints else None


def with_hint(interval: float, hint: float | None, ceiling: float) -> float:
    """A hint lengthens the wait up to the ceiling; it never shortens it."""
    if hint is None:
        return interval
    return max(interval, min(hint, ceiling))


def hint_number(text: str) -> int | None:
    """A count a server or feed states (Retry-After seconds, <ttl> minutes), or None."""
    match = _HINT_NUMBER.fullmatch(text.strip())
    return int(match.group()) if match else None


def longest_wait(ceiling: float) -> float:
    """The longest any next check may lie ahead: a hint stops at the ceiling, a backoff or a
    Retry-After at `MAX_BACKOFF`, and either is jittered."""
    return max(ceiling, MAX_BACKOFF) * (1.0 + JITTER)


def disable_reason(status: int | None, failing_since: float, now: float) -> str | None:
    """Why a feed failing since `failing_since` (its last answer's HTTP `status`, if any) is
    disabled now, or None (see "Giving up" in the spec)."""
    if status == 410:
        return "gone (HTTP 410)"
    if status == 429:
        return None  # the host limiting this client, not the feed failing
    if now - failing_since >= DISABLE_AFTER:
        return f"failing for {DISABLE_AFTER / 86400:g} days"
    return None


def streak_start(failing_since: float | None, last_error_at: float | None, now: float) -> float:
    """When the error streak that an error at `now` belongs to began (see the spec)."""
    if failing_since is None or last_error_at is None or now - last_error_at > STREAK_GAP:
        return now
    return failing_since


def backoff(interval: float, errors: int, retry_after: float | None = None) -> float:
    """The wait after the `errors`-th error in a row (errors >= 1)."""
    delay: float = min(interval * 2.0 ** min(errors, 20), MAX_BACKOFF)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_BACKOFF))
    return delay


def _max_age(headers: Mapping[str, str]) -> float | None:
    """max-age in seconds; 0 also for no-cache/no-store, which rule out Expires too."""
    value = headers.get("cache-control", "")
    if not value:
        return None
    if _NO_CACHE.search(value):
        return 0.0
    match = _MAX_AGE.search(value)
    return float(match.group(1)) if match else None


def _expires(headers: Mapping[str, str], now: datetime | None) -> float | None:
    expires = _http_date(headers.get("expires"))
    if expires is None:
        return None
    base = _http_date(headers.get("date")) or now or datetime.now(UTC)
    seconds = (expires - base).total_seconds()
    return seconds if seconds > 0 else None


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: year 10**11
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
