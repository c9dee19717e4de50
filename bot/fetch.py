"""Conditional GET of feed URLs with hard limits on time, size and redirects.

One `Fetcher` owns its aiohttp sessions for the life of the bot. Every limit is enforced here
rather than trusted to the server: the total time covers the whole exchange, every hop of it,
but runs only while a request runs (a server that trickles its body forever is cut; a fetch
queued behind the per-host or global limit is not), the size cap counts decompressed bytes (a
gzip bomb is cut after `max_bytes`, never inflated in full: `bot.response_body` undoes the
Content-Encoding and keeps the cap), and redirects are followed by hand so each hop is checked.
A 429 or 503 with a Retry-After is the host's word to this client, not about one URL: nothing
more is sent to that host (`host_key`) until it has passed, up to `MAX_BACKOFF` (`HostPaused`).
Errors are the `FetchError` family; their messages never contain the URL, whose query string
may hold a key. A URL that came from a feed rather than the operator (an article link) is
fetched `untrusted`: no hop of it may reach a loopback, private, link-local or reserved address
(`bot.public_hosts`), and it has a session of its own, whose resolver enforces that at connect
time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from itertools import chain, zip_longest
from types import TracebackType
from typing import Self, TypeVar
from urllib.parse import urljoin, urlsplit

import aiohttp
from yarl import URL

from bot.addresses import NOT_IN_URL
from bot.errors import (
    ConnectError,
    FetchTimeout,
    HostPaused,
    HTTPStatusError,
    ResponseTooLarge,
    TooManyRedirects,
)
from bot.model import FetchResult
from bot.public_hosts import AddressCheck, CheckedResolver, NotPublic, is_public, literal_allowed
from bot.response_body import BodySink
from bot.schedule import MAX_BACKOFF, hint_number

DEFAULT_USER_AGENT = "TransitWatch/0.1 (+https://github.com/transit-watch)"
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_HOST_WAITS = frozenset({429, 503})  # a Retry-After with these holds back the whole host
_CHUNK = 64 * 1024
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")
_NOT_PUBLIC = "refused: not a public address"


class Fetcher:
    """Fetches feeds over one shared aiohttp session; use `async with Fetcher() as f:`.

    At most `per_host` requests go to one host (`host_key`) at a time and `concurrency` in all,
    whoever asks (feeds and article pages alike), so a thousand feeds on one site never hammer
    it. A request holds its two slots for one hop only, and waits for nothing else while it
    holds them, so callers may hold slots of their own around `fetch` without deadlock.
    A host that answered a 429 or 503 with a Retry-After gets no request until it has passed
    (`clock`: monotonic seconds); each one asked for meanwhile raises `HostPaused`.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_bytes: int = 5_000_000,
        max_redirects: int = 5,
        user_agent: str = DEFAULT_USER_AGENT,
        per_host: int = 2,
        concurrency: int = 16,
        page_addresses: AddressCheck = is_public,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._user_agent = user_agent
        self._per_host = per_host
        # Per host: its slots and how many requests hold or wait for them. A host's entry goes
        # when the last one is done: article links bring ever new hosts, so a dict that only
        # grew would grow for as long as the bot runs.
        self._hosts: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}
        self._all = asyncio.Semaphore(concurrency)
        self._paused: dict[str, float] = {}  # host -> until when (`clock`) it asked to wait
        self._clock = clock
        self._page_addresses = page_addresses
        self._session: aiohttp.ClientSession | None = None
        self._untrusted: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the sessions; a no-op when they are already open."""
        if self._session is None:
            self._session = self._new_session(aiohttp.TCPConnector())
        if self._untrusted is None:
            resolver = CheckedResolver(self._page_addresses)
            self._untrusted = self._new_session(aiohttp.TCPConnector(resolver=resolver))

    def _new_session(self, connector: aiohttp.TCPConnector) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._timeout, sock_connect=self._connect_timeout),
            # We inflate ourselves so the size cap applies to the inflated bytes.
            auto_decompress=False,
            # Feeds must not share cookies with each other.
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def close(self) -> None:
        for session in (self._session, self._untrusted):
            if session is not None:
                await session.close()
        self._session = self._untrusted = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        untrusted: bool = False,
    ) -> FetchResult:
        """GET `url`, conditionally when `etag`/`last_modified` from the last answer are given.
        `untrusted`: the URL comes from a feed, not the operator, so no hop may reach an
        address `page_addresses` refuses (by default, any that is not public).

        Raises FetchTimeout, ResponseTooLarge, TooManyRedirects, HTTPStatusError, ConnectError,
        or FetchError for a body that cannot be decompressed.
        """
        if self._session is None or self._untrusted is None:
            raise RuntimeError("Fetcher.start() was not called")
        session = self._untrusted if untrusted else self._session
        allowed = self._page_addresses if untrusted else None
        try:
            result = await self._follow(
                session, url, _headers(self._user_agent, etag, last_modified), allowed
            )
        except TimeoutError:
            raise FetchTimeout(f"no complete answer within {self._timeout:g} s") from None
        except aiohttp.InvalidURL:
            raise ConnectError("invalid URL") from None
        except aiohttp.ClientError as exc:
            raise _connect_error(exc) from None
        if result.not_modified:
            # A 304 may omit the validators; the ones we sent are still the current ones. New
            # ones in it replace them (RFC 9111 4.3.4), and a move on the way still counts.
            return dataclasses.replace(
                result,
                etag=result.etag or etag,
                last_modified=result.last_modified or last_modified,
            )
        return result

    async def _follow(
        self,
        session: aiohttp.ClientSession,
        url: str,
        headers: dict[str, str],
        allowed: AddressCheck | None,
    ) -> FetchResult:
        seen: set[str] = set()
        start = moved = url  # moved: as far as the redirects from the start are permanent
        permanent = True
        clock = _Clock(self._timeout)
        for _ in range(self._max_redirects + 1):
            _check_url(url, allowed)
            seen.add(url)
            hop = await self._hop(session, url, headers, clock)
            if isinstance(hop, FetchResult):
                # The feed moves to where its permanent redirects lead; a temporary hop after
                # them may change, so the address before it is the one to keep.
                return dataclasses.replace(hop, moved_to=moved) if moved != start else hop
            status, url = hop
            permanent = permanent and status in _PERMANENT
            if permanent:
                moved = url
            if url in seen:
                raise TooManyRedirects("redirect loop")
        raise TooManyRedirects(f"more than {self._max_redirects} redirects")

    async def _hop(
        self, session: aiohttp.ClientSession, url: str, headers: dict[str, str], clock: _Clock
    ) -> FetchResult | tuple[int, str]:
        """One request: its answer, or a redirect's status and absolute target."""
        async with (
            self._slots(url),
            clock.running(),
            session.get(url, headers=headers, allow_redirects=False) as resp,
        ):
            location = resp.headers.get("Location")
            if resp.status in _REDIRECTS and location:
                return resp.status, _join(url, location)
            return await self._result(resp)

    @asynccontextmanager
    async def _slots(self, url: str) -> AsyncIterator[None]:
        host = host_key(url)
        slot, users = self._hosts.setdefault(host, (asyncio.Semaphore(self._per_host), [0]))
        users[0] += 1
        try:
            # The host's slot first: a request queued behind its busy host holds no global slot.
            async with slot, self._all:
                # Once it has a slot: requests queued while the host answered 429 are held too.
                self._check_paused(host)
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._hosts[host]

    def _check_paused(self, host: str) -> None:
        until = self._paused.get(host)
        if until is not None and (left := until - self._clock()) > 0:
            raise HostPaused(left)

    def _pause(self, host: str, seconds: float) -> None:
        now = self._clock()
        # The ones that passed go: article links bring ever new hosts.
        self._paused = {h: until for h, until in self._paused.items() if until > now}
        until = now + min(seconds, MAX_BACKOFF)
        self._paused[host] = max(until, self._paused.get(host, until))

    async def _result(self, resp: aiohttp.ClientResponse) -> FetchResult:
        headers = _lower_headers(resp)
        if resp.status == 304:
            body = b""
        elif resp.status >= 300:
            retry_after = parse_retry_after(headers.get("retry-after"))
            if resp.status in _HOST_WAITS and retry_after:
                self._pause(host_key(str(resp.url)), retry_after)
            raise HTTPStatusError(resp.status, retry_after)
        else:
            body = await self._read_body(resp, headers.get("content-encoding", ""))
        return FetchResult(
            url=str(resp.url),
            not_modified=resp.status == 304,
            body=body,
            headers=headers,
            etag=_validator(headers.get("etag")),
            last_modified=_validator(headers.get("last-modified")),
        )

    async def _read_body(self, resp: aiohttp.ClientResponse, content_encoding: str) -> bytes:
        if resp.content_length is not None and resp.content_length > self._max_bytes:
            raise ResponseTooLarge(f"Content-Length over {self._max_bytes} bytes")
        sink = BodySink(content_encoding, self._max_bytes)
        while chunk := await resp.content.read(_CHUNK):
            sink.feed(chunk)
        return sink.finish()


class _Clock:
    """The time limit of one fetch, spent only while one of its requests runs: the wait for a
    slot is not the server's slowness, and counting it timed out fetches queued behind a busy
    host (every Telegram channel shares t.me)."""

    def __init__(self, seconds: float) -> None:
        self._left = seconds

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            # aiohttp's own total timeout is kept as a second line; this one spans the hops.
            async with asyncio.timeout(self._left):
                yield
        finally:
            self._left -= loop.time() - started


def _headers(user_agent: str, etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {"User-Agent": user_agent, "Accept": _ACCEPT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _connect_error(exc: aiohttp.ClientError) -> ConnectError:
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, NotPublic):
        return ConnectError(_NOT_PUBLIC)
    return ConnectError(f"connection failed ({type(exc).__name__})")


def _check_url(url: str, allowed: AddressCheck | None = None) -> None:
    # yarl and the resolver find some malformed hosts only lazily, deep inside the request, as
    # ValueError or UnicodeError ("[::1", "℀.com", an empty label or one over 63 characters);
    # they are found here, where they are one feed's ConnectError. No message quotes the URL.
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
        host = URL(url).raw_host or ""
        host.encode("idna")  # what getaddrinfo will do with it
    except ValueError:
        raise ConnectError("invalid URL") from None
    if allowed is not None and not literal_allowed(host, allowed):
        raise ConnectError(_NOT_PUBLIC)
    if parts.scheme.lower() not in ("http", "https"):
        raise ConnectError("only http and https URLs can be fetched")
    if not parts.hostname:
        raise ConnectError("URL has no host")
    if NOT_IN_URL.search(url):
        raise ConnectError("URL has spaces or control characters")


def _join(base: str, location: str) -> str:
    try:
        return urljoin(base, location.strip())
    except ValueError:  # e.g. an unclosed "[" of an IPv6 host
        raise ConnectError("invalid URL in a redirect") from None


def _lower_headers(resp: aiohttp.ClientResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in resp.headers.items():
        key = name.lower()
        # Repeated headers are joined with commas, as RFC 9110 allows and feedparser expects.
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _validator(value: str | None) -> str | None:
    """An ETag or Last-Modified to send back, or None. Both are printable ASCII (RFC 9110: an
    entity-tag, an HTTP-date); bytes beyond it (obs-text, a localised date) reach us as lone
    surrogates, which can neither be stored nor sent. Without one the next request is simply
    unconditional: a full download, where keeping it failed the feed on every poll."""
    value = (value or "").strip()
    return value if _PRINTABLE_ASCII.fullmatch(value) else None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    seconds = hint_number(value)
    if seconds is not None:
        return float(seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: year 10**11
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP-dates are GMT by definition
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def host_key(url: str) -> str:
    """The host a URL's requests go to, one name however it is written: lower case, without
    the trailing dot of a fully qualified name, a Unicode name in its IDNA form (what the
    resolver is asked); the port does not count. What the per-host limit counts by, here and
    in `bot.refresh`; "" for a URL too malformed to have one (it is refused before a request)."""
    try:
        return (URL(url).raw_host or "").rstrip(".").lower()
    except ValueError:  # UnicodeError too: a label IDNA refuses
        return ""


_Item = TypeVar("_Item")


def interleave_by_host(items: Iterable[_Item], url: Callable[[_Item], str]) -> list[_Item]:
    """Round-robin over hosts (`host_key` of each item's `url`, as the per-host limit counts
    them), keeping each host's items in their order: a big host does not take every slot while
    its own limit makes them wait."""
    by_host: dict[str, list[_Item]] = defaultdict(list)
    for item in items:
        by_host[host_key(url(item))].append(item)
    rounds = zip_longest(*by_host.values())
    return [item for item in chain.from_iterable(rounds) if item is not None]
