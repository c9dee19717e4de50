"""What a chat's settings mean, as pure functions (no I/O, no aiogram): the choices `/settings`
offers, when a digest is due and whether an alert arrives silently.

The rules (this docstring is the spec):
- Delivery modes: `instant` (each story as it is found), `daily` (one digest a day at the chosen
  hour), `weekly` (one digest on Mondays at the chosen hour). Hours are the chat's local hours:
  the chat's UTC offset (whole hours, -12..+14) is a setting too.
- A digest collects every story queued for the chat since the last one; the next digest time is
  the first moment at the chosen local hour (and weekday) strictly after "now".
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


def next_digest_at(mode: str, hour: int, utc_offset: int, now: float) -> float:
    """When the chat's next digest is due; `now` itself for instant delivery."""
    if mode not in ("daily", "weekly"):
        return now
    local = now + utc_offset * _HOUR
    if mode == "daily":
        period, start = _DAY, math.floor(local / _DAY) * _DAY
    else:
        monday = local - _EPOCH_MONDAY_OFFSET
        period, start = _WEEK, math.floor(monday / _WEEK) * _WEEK + _EPOCH_MONDAY_OFFSET
    due = start + hour * _HOUR
    if due <= local:
        due += period
    return due - utc_offset * _HOUR


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


def format_offset(offset: int) -> str:
    return "UTC" if offset == 0 else f"UTC{offset:+d}"
