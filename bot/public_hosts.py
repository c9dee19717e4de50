"""Which network addresses an untrusted URL may reach: public ones only.

A feed's item link is input from whoever controls the feed. Fetched as an article page, it
could point at the cloud metadata service (169.254.169.254), a router, or another service on
the bot's own network, directly or through a redirect, and the extracted text would go out in
an alert. The rules:

* An address is *public* when it is globally routable unicast: not loopback, private, shared
  (100.64/10), link-local, multicast, reserved or unspecified; an IPv4-mapped IPv6 address is
  judged as the IPv4 address it carries.
* A host name is refused when ANY of its addresses is not public, and the check is made by the
  resolver of the session that connects (`CheckedResolver`), so the addresses checked are the
  ones connected to: a name that answers differently on a second lookup cannot slip past an
  earlier check.
* An address written in the URL never reaches a resolver; `literal_allowed` checks it, on
  every hop (aiohttp refuses the legacy forms such as 127.1 or 2130706433 by itself).

Feeds themselves are the operator's choice and may be anywhere; only the caller knows which
URLs are untrusted (`bot.fetch`).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address

from aiohttp import DefaultResolver
from aiohttp.abc import AbstractResolver, ResolveResult

AddressCheck = Callable[[IPv4Address | IPv6Address], bool]


def is_public(address: IPv4Address | IPv6Address) -> bool:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class NotPublic(OSError):
    """A host's address is not one an untrusted URL may reach."""


def literal_allowed(host: str, allowed: AddressCheck) -> bool:
    """False for an address literal that `allowed` refuses; a host name is the resolver's."""
    try:
        address = ip_address(host)
    except ValueError:
        return True
    return allowed(address)


class CheckedResolver(AbstractResolver):
    """The default resolver, refusing a name when any of its addresses is not `allowed`.

    Build it inside the running event loop (aiohttp's resolver binds to it).
    """

    def __init__(self, allowed: AddressCheck) -> None:
        self._inner = DefaultResolver()
        self._allowed = allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if not all(self._fits(result["host"]) for result in found):
            raise NotPublic("the host has an address that is not public")
        return found

    async def close(self) -> None:
        await self._inner.close()

    def _fits(self, host: str) -> bool:
        try:
            return self._allowed(ip_address(host))
        except ValueError:
            return False  # not an address we can judge: not one to connect to
