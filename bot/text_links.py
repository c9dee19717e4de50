"""Which feed links Telegram takes as a text link: one rule for every renderer.

Telegram refuses the whole message ("Bad Request: entity URL '…' is invalid: …") when one
text link is an address it does not accept, so a feed whose CMS writes `http://localhost/…`
would cost a chat its /search reply or every link of a digest. `linked` makes a text link only
of an address Telegram accepts; any other is shown as plain text, never sent as an entity.

The rule is tdlib's (`parse_url` in td/utils/HttpUrl.cpp, then `LinkManager::check_link`),
which the Bot API applies to every text link:

    scheme       http or https (any case), then "://"
    port         what follows the host's last ":", if any: digits only, 1..65535
                 (leading zeros allowed: ":0080" is 80; ":", ":0" and ":-1" are refused)
    host         after any "userinfo@"; not empty, not "."; ASCII letters, digits and
                 . - _ ! $ , ~ * ' ( ) ; & + =, %XX escapes and any non-ASCII character
    host, named  needs a dot: "localhost" and "intranet" are refused, "127.0.0.1" is fine
    host, [IPv6] a valid IPv6 address in brackets, dot or not

Where tdlib's reading and ours could differ (an IPv6 zone, a host full of escapes), the link
is refused: an address shown as text costs a click; an entity Telegram refuses costs the reply.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from aiogram.utils.formatting import Text, TextLink

_URL: Final = re.compile(r"(?i)https?://([^/?#]*)")
_PORT: Final = re.compile(r"[0-9]+")
_HOST_CHARACTERS: Final = re.compile(r"(?:[a-z0-9.\-_!$,~*'();&+=]|%[0-9a-f]{2}|[^\x00-\x7f])+")
_IPV6: Final = re.compile(r"\[[0-9a-f:.]+\]")


def linked(text: str, url: str | None) -> Text | str:
    """`text` linked to `url` when Telegram accepts it as a text link, else `text` alone."""
    return TextLink(text, url=url) if url and telegram_accepts(url) else text


def telegram_accepts(url: str) -> bool:
    """Whether Telegram takes `url` as a text link (the module's rule)."""
    match = _URL.match(url)
    if match is None:
        return False
    host = match[1].rpartition("@")[2].lower()
    colon = host.rfind(":")
    if colon >= 0 and not host.endswith("]"):
        host, port = host[:colon], host[colon + 1 :]
        if not _PORT.fullmatch(port) or not 0 < int(port) <= 65535:
            return False
    if host.startswith("["):
        return _is_ipv6(host)
    return bool(_HOST_CHARACTERS.fullmatch(host)) and host != "." and "." in host


def _is_ipv6(host: str) -> bool:
    if not _IPV6.fullmatch(host):
        return False
    try:
        ipaddress.IPv6Address(host[1:-1])
    except ValueError:
        return False
    return True
