"""What a press of a `/settings` button does to a chat's settings. Pure: (chat, op, arg) in,
(new chat, view to show) out, or None when the op or its argument is not one we offer (a forged
or stale button). The ops:

    v:<view>        show a view: main, countries, delivery, quiet, language
    c:<CC>|all      toggle one offered country / clear the filter (= all countries)
    m:<mode>        instant, daily, weekly
    h:<hour>        the digest hour, one of DIGEST_HOURS
    z:+|-           UTC offset one hour east / west, within -12..+14
    q:<i>|off       quiet hours preset i of QUIET_PRESETS, or none
    l:<locale>      ru, uk, en
    p               link previews on/off
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from bot.chat_settings import (
    COUNTRY_CHOICES,
    DIGEST_HOURS,
    MODES,
    QUIET_PRESETS,
    clamp_offset,
)
from bot.i18n import LOCALES
from bot.storage.records import Chat

VIEWS: Final = ("main", "countries", "delivery", "quiet", "language")


def apply_choice(chat: Chat, op: str, arg: str) -> tuple[Chat, str] | None:  # noqa: PLR0911 -- one return per op reads best
    if op == "v":
        return (chat, arg) if arg in VIEWS else None
    if op == "c":
        return _toggle_country(chat, arg)
    if op == "m" and arg in MODES:
        return replace(chat, mode=arg), "delivery"
    if op == "h" and arg.isdigit() and int(arg) in DIGEST_HOURS:
        return replace(chat, digest_hour=int(arg)), "delivery"
    if op == "z" and arg in ("+", "-"):
        step = 1 if arg == "+" else -1
        return replace(chat, utc_offset=clamp_offset(chat.utc_offset + step)), "delivery"
    if op == "q":
        return _quiet(chat, arg)
    if op == "l" and arg in LOCALES:
        return replace(chat, language=arg), "main"
    if op == "p" and not arg:
        return replace(chat, previews=not chat.previews), "main"
    return None


def _toggle_country(chat: Chat, arg: str) -> tuple[Chat, str] | None:
    if arg == "all":
        return replace(chat, countries=()), "countries"
    if arg not in COUNTRY_CHOICES:
        return None
    chosen = set(chat.countries)
    chosen.symmetric_difference_update({arg})
    return replace(chat, countries=tuple(sorted(chosen))), "countries"


def _quiet(chat: Chat, arg: str) -> tuple[Chat, str] | None:
    if arg == "off":
        return replace(chat, quiet_from=None, quiet_to=None), "quiet"
    if not arg.isdigit() or int(arg) >= len(QUIET_PRESETS):
        return None
    start, end = QUIET_PRESETS[int(arg)]
    return replace(chat, quiet_from=start, quiet_to=end), "quiet"
