"""Which network addresses an untrusted URL may reach: public ones only.

A feed's item link is input from whoever controls the feed. Fetched as an article page, it
could point at the cloud metadata service (169.254.169.254), a router, or another service on
the bot's own network, directly or through a redirect, and the extracted text would go out in
an alert. The rules:

* An address is *public* when it is globally routable unicast: not loopback, private, shared
  (100.64/10), link-local, multicast, reserved or unspecified. An IPv6 address that carries
  an IPv4 one is judged as the IPv4 address it carries: IPv4-mapped (::ffff:0:0/96),
  IPv4-translated (::ffff:0:0:0/96), NAT64 (64:ff9b::/96, whose gateway would connect to that
  IPv4 address) and 6to4 (2002::/16), all of which `ipaddress` counts as global whatever they
  carry. Local-use NAT64 (64:ff9b:1::/48) and the deprecated IPv4-compatible form (::/96) are
  never public; Teredo is not global anyway.
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
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from aiohttp import DefaultResolver
from aiohttp.abc import AbstractResolver, ResolveResult

AddressCheck = Callable[[IPv4Address | IPv6Address], bool]

# The last 32 bits are the IPv4 address: NAT64 and the old IPv4-translated form (RFC 2765).
_CARRY_LAST_32 = (ip_network("64:ff9b::/96"), ip_network("::ffff:0:0:0/96"))
_NEVER_PUBLIC = (ip_network("64:ff9b:1::/48"), ip_network("::/96"))


def is_public(address: IPv4Address | IPv6Address) -> bool:
    if isinstance(address, IPv6Address):
        if any(address in network for network in _NEVER_PUBLIC):
            return False
        carried = _carried_ipv4(address)
        if carried is not None:
            address = carried
    return address.is_global and not address.is_multicast


def _carried_ipv4(address: IPv6Address) -> IPv4Address | None:
    if any(address in network for network in _CARRY_LAST_32):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped or address.sixtofour


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
