"""When to poll a feed next: pure arithmetic on what the last poll saw, no I/O.

The spec:

* **Bounds.** Every feed polls between a floor and a ceiling (feeds.yaml `min_interval` and
  `max_interval`, per feed or in `defaults`). Without them both are the feed's `interval`, so
  it polls exactly as configured. The configured interval is always inside the bounds.
* **Adapting.** A poll that brought new entries shortens the interval: to half the median gap
  between the feed's recent publication dates (about two polls per new item) when the entries
  are dated, else to half the current interval. A poll that brought nothing new (including a
  304) lengthens it by half. The result is clamped to the bounds.
* **Server hints** only ever lengthen the wait, and never past the ceiling: `Cache-Control:
  max-age` (ignored with `no-cache`/`no-store`), `Expires` (against the server's `Date`), and
  RSS `<ttl>` (minutes). A publisher that says "not before an hour" is not asked sooner unless
  our ceiling is shorter. Numbers from a server or a feed count only when they are plain ASCII
  digits, ten at most (`hint_number`): `str.isdigit()` also takes "²", which `int()` refuses.
* **Backoff.** A failing feed waits interval x 2^errors, capped at `MAX_BACKOFF`; a
  `Retry-After` (429/503) lengthens that, also up to `MAX_BACKOFF`.
* **Giving up.** A feed failing for `DISABLE_AFTER` is disabled; a 410 Gone disables it at once.

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
        target = gap * SHORTEN if gap is not None else current * SHORTEN
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
    hints = [h for h in (_max_age(headers), _expires(headers, now), ttl) if h is not None]
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


def backoff(interval: float, errors: int, retry_after: float | None = None) -> float:
    """The wait after the `errors`-th error in a row (errors >= 1)."""
    delay: float = min(interval * 2.0 ** min(errors, 20), MAX_BACKOFF)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_BACKOFF))
    return delay


def _max_age(headers: Mapping[str, str]) -> float | None:
    value = headers.get("cache-control", "")
    if not value or _NO_CACHE.search(value):
        return None
    match = _MAX_AGE.search(value)
    return float(match.group(1)) if match else None


def _expires(headers: Mapping[str, str], now: datetime | None) -> float | None:
    expires = _http_date(headers.get("expires"))
    if expires is None or _NO_CACHE.search(headers.get("cache-control", "")):
        return None
    base = _http_date(headers.get("date")) or now or datetime.now(UTC)
    seconds = (expires - base).total_seconds()
    return seconds if seconds > 0 else None


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
