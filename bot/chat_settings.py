"""What a chat's settings mean, as pure functions (no I/O, no aiogram): the choices `/settings`
offers, when a digest is due and whether an alert arrives silently.

The rules (this docstring is the spec):
- Delivery modes: `instant` (each story as it is found), `daily` (one digest a day at the chosen
  hour), `weekly` (one digest on Mondays at the chosen hour). Hours are the chat's local hours:
  the chat's UTC offset (whole hours, -12..+14) is a setting too.
- A digest collects every story queued for the chat since the last one. A chat gets one digest
  a period (a local day; a local week from Monday): a story waits for the first moment at the
  chosen local hour (and weekday) strictly after "now", in a period that has not had the chat's
  digest yet (`last_digest`: when the last one sent was due, so a digest sent late, past
  midnight after a restart, serves its own day and not the next).
- A change of hour or zone moves the stories waiting for a digest (`awaited`, the time they
  waited for; None when none waits): if they awaited this period's digest, not sent yet, and
  the new hour of this period has passed, they go at once (moving 09:00 to 08:00 at 08:30 must
  not skip a week); else, and after a change of mode (daily stories then await no weekly
  digest of this week), they wait as a story found now would (moving the hour after today's
  digest went does not send a second one today).
- Quiet hours are a local window `[from, to)` that may wrap midnight (22 -> 7). During it alerts
  are still sent at once, only silently (`disable_notification`); they are never delayed.
"""

from __future__ import annotations

import math
from typing import Final, Literal

Mode = Literal["instant", "daily", "weekly"]

MODES: Final[tuple[Mode, ...]] = ("instant", "daily", "weekly")
DIGEST_HOURS: Final = (6, 8, 9, 12, 18, 21)
DEFAULT_DIGEST_HOUR: Final = 9
QUIET_PRESETS: Final = ((22, 7), (23, 8), (0, 9), (21, 6))
MIN_OFFSET: Final = -12
MAX_OFFSET: Final = 14
# Offered as toggles in /settings: the transit countries the relevance lexicon knows, roughly by
# how often they appear in the news. Any ISO code still works with `/subscribe kz mn`.
COUNTRY_CHOICES: Final = ("KZ", "KG", "UZ", "TJ", "AM", "GE", "AZ", "TR", "RS", "ME", "AE", "TH")
MAX_COUNTRIES: Final = 30

_HOUR: Final = 3600.0
_DAY: Final = 86400.0
_WEEK: Final = 7 * _DAY
_EPOCH_MONDAY_OFFSET: Final = 4 * _DAY  # 1970-01-01 was a Thursday; 5 January a Monday


def next_digest_at(
    mode: str, hour: int, utc_offset: int, now: float, last_digest: float | None = None
) -> float:
    """When the chat's next digest is due; `now` itself for instant delivery."""
    if mode not in ("daily", "weekly"):
        return now
    shift = utc_offset * _HOUR
    start, period = _period(mode, now + shift)
    due = start + hour * _HOUR
    if due <= now + shift or _had(last_digest, start, shift):
        due += period
    return due - shift


def moved_digest_at(
    mode: str,
    hour: int,
    utc_offset: int,
    now: float,
    *,
    old_mode: str,
    last_digest: float | None,
    awaited: float | None,
) -> float:
    """Where a change of mode, hour or zone moves the stories waiting for a digest."""
    if mode in ("daily", "weekly") and mode == old_mode and awaited is not None:
        shift = utc_offset * _HOUR
        start, period = _period(mode, now + shift)
        passed = start + hour * _HOUR <= now + shift
        if passed and awaited + shift < start + period and not _had(last_digest, start, shift):
            return now
    return next_digest_at(mode, hour, utc_offset, now, last_digest)


def _period(mode: str, local: float) -> tuple[float, float]:
    """The start (local seconds) and length of the day or the week from Monday holding `local`."""
    if mode == "daily":
        return math.floor(local / _DAY) * _DAY, _DAY
    monday = local - _EPOCH_MONDAY_OFFSET
    return math.floor(monday / _WEEK) * _WEEK + _EPOCH_MONDAY_OFFSET, _WEEK


def _had(last_digest: float | None, start: float, shift: float) -> bool:
    """Whether the period starting at `start` (local) has had the chat's digest."""
    return last_digest is not None and last_digest + shift >= start


def is_quiet(quiet_from: int | None, quiet_to: int | None, utc_offset: int, now: float) -> bool:
    """Whether `now` falls in the chat's quiet hours (local time)."""
    if quiet_from is None or quiet_to is None or quiet_from == quiet_to:
        return False
    hour = int(((now + utc_offset * _HOUR) % _DAY) // _HOUR)
    if quiet_from < quiet_to:
        return quiet_from <= hour < quiet_to
    return hour >= quiet_from or hour < quiet_to


def clamp_offset(offset: int) -> int:
    return max(MIN_OFFSET, min(MAX_OFFSET, offset))


def format_offset(offset: float) -> str:
    """UTC, UTC+5, UTC-3 (UTC+5.5 for a zone no chat setting offers, which a caller may pass)."""
    return "UTC" if offset == 0 else f"UTC{offset:+g}"
