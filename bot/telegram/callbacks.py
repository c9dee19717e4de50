"""Callback data of every inline button: compact, versioned, validated.

    <scope><version>:<op>[:<arg>]     e.g. "s1:c:KZ", "s1:m:daily", "f1:yes"

Scopes: `s` settings, `o` onboarding (/start), `f` /forget. The version changes whenever the
meaning of a button changes, so a button from an older message is recognised as stale rather than
misread. `unpack` accepts only this shape (at most 64 bytes, ASCII letters, digits, + and -);
anything else, stale or forged, is None and gets a polite "send the command again".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

VERSION: Final = 1
_SHAPE: Final = re.compile(r"([sof])(\d{1,2}):([a-z]{1,12})(?::([A-Za-z0-9+-]{1,12}))?")


@dataclass(frozen=True, slots=True)
class Press:
    scope: str
    op: str
    arg: str = ""


def pack(scope: str, op: str, arg: str | int = "") -> str:
    data = f"{scope}{VERSION}:{op}" + (f":{arg}" if arg != "" else "")
    if unpack(data) is None:
        raise ValueError(f"bad callback data {data!r}")  # a bug in a keyboard builder
    return data


def unpack(data: str | None) -> Press | None:
    """The press, or None for anything not made by this version of `pack`."""
    if not data or len(data) > 64:
        return None
    match = _SHAPE.fullmatch(data)
    if match is None or int(match.group(2)) != VERSION:
        return None
    return Press(match.group(1), match.group(3), match.group(4) or "")
