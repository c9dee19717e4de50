"""Fetcher against the local FeedServer: conditional GET, limits and error mapping."""

from __future__ import annotations

import asyncio
import gzip
import socket
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from ipaddress import IPv4Address, ip_address

import pytest

from bot.errors import (
    ConnectError,
    FetchError,
    FetchTimeout,
    HostPaused,
    HTTPStatusError,
    ResponseTooLarge,
    TooManyRedirects,
)
from bot.fetch import Fetcher, host_key, parse_retry_after
from bot.public_hosts import is_public
from bot.response_body import BodySink
from bot.schedule import MAX_BACKOFF
from tests.fakes.feedserver import FeedServer, RawServer, rss

FEED = rss([{"title": "Депортация", "link": "https://example.org/1", "guid": "1"}])
LAST_MODIFIED = "Tue, 05 Mar 2024 10:00:00 GMT"


@pytest.fixture
async def srv() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(timeout=5.0, max_bytes=1_000_000) as f:
        yield f


async def test_plain_get(srv: FeedServer, fetcher: Fetcher) -> None:
    srv.set_feed("/rss", FEED, etag='"v1"', last_modified=LAST_MODIFIED)
    result = await fetcher.fetch(srv.url("/rss"))
    assert not result.not_modified
    assert result.body == FEED
    assert result.url == srv.url("/rss")
    assert result.etag == '"v1"'
    assert result.last_modified == LAST_MODIFIED
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert all(name == name.lower() for name in result.headers)
    sent = srv.requests[0].headers
    assert sent["User-Agent"].startswith("TransitWatch/")
    assert "If-None-Match" not in sent
    assert "If-Modified-Since" not in sent


@pytest.mark.parametrize(
    ("etag", "last_modified"),
    [('"v1"', None), (None, LAST_MODIFIED), ('"v1"', LAST_MODIFIED)],
)
async def test_conditional_get_gets_304(
    srv: FeedServer, fetcher: Fetcher, etag: str | None, last_modified: str | None
) -> None:
    srv.set_feed("/rss", FEED, etag='"v1"', last_modified=LAST_MODIFIED)
    result = await fetcher.fetch(srv.url("/rss"), etag=etag, last_modified=last_modified)
    assert result.not_modified
    assert result.body == b""
    assert result.etag == '"v1"'
    sent = srv.requests[0].headers
    assert sent.get("If-None-Match") == etag
    assert sent.get("If-Modified-Since") == last_modified


async def test_304_without_validators_keeps_the_ones_sent(
    srv: FeedServer, fetcher: Fetcher
) -> None:
    srv.set_response("/rss", 304)
    result = await fetcher.fetch(srv.url("/rss"), etag='"old"', last_modified=LAST_MODIFIED)
    assert result.not_modified
    assert (result.etag, result.last_modified) == ('"old"', LAST_MODIFIED)


# Header bytes that are not UTF-8 (obs-text, which HTTP allows in a field value): aiohttp hands
# them over as lone surrogates, which SQLite cannot store with the feed's success.
CP1251_ETAG = b'ETag: "\xcf\xf0\xe8\xec\xe5\xf0-1"\r\n'  # "Пример-1" in windows-1251
CP1251_DATE = b"Last-Modified: \xc2\xf2, 10 \xe8\xfe\xed 2025 10:00:00 GMT\r\n"  # "Вт, 10 июн"
ASCII_DATE = b"Last-Modified: " + LAST_MODIFIED.encode() + b"\r\n"


@pytest.mark.parametrize(
    ("header", "etag", "last_modified"),
    [
        (b'ETag: "v1"\r\n' + ASCII_DATE, '"v1"', LAST_MODIFIED),
        (CP1251_ETAG, None, None),
        (CP1251_DATE, None, None),
        (CP1251_ETAG + ASCII_DATE, None, LAST_MODIFIED),
        (b'ETag: "caf\xc3\xa9"\r\n', None, None),  # UTF-8, but an ETag is ASCII (RFC 9110)
        (b'ETag: W/"v 1"\r\n', 'W/"v 1"', None),
    ],
)
async def test_only_a_printable_ascii_validator_is_kept(
    fetcher: Fetcher, header: bytes, etag: str | None, last_modified: str | None
) -> None:
    async with RawServer(b"Content-Type: application/rss+xml\r\n" + header, FEED) as raw:
        result = await fetcher.fetch(raw.url("/rss"))
    assert (result.body, result.etag, result.last_modified) == (FEED, etag, last_modified)


async def test_a_304_with_a_validator_not_ascii_keeps_the_one_sent(fetcher: Fetcher) -> None:
    async with RawServer(CP1251_ETAG, b"", status_line=b"304 Not Modified") as raw:
        result = await fetcher.fetch(raw.url("/rss"), etag='"old"')
    assert (result.not_modified, result.etag) == (True, '"old"')


async def test_304_after_a_permanent_redirect_keeps_the_move(
    srv: FeedServer, fetcher: Fetcher
) -> None:
    srv.set_feed("/new", FEED, etag='"v1"')
    srv.redirect("/old", "/new", status=301)
    result = await fetcher.fetch(srv.url("/old"), etag='"v1"')
    assert result.not_modified
    assert result.moved_to == srv.url("/new")


@pytest.mark.parametrize(
    ("chain", "moved"),
    [
        ([("/a", "/b", 301), ("/b", "/c", 308)], "/c"),  # permanent all the way
        ([("/a", "/b", 301), ("/b", "/c", 302)], "/b"),  # the move, then a temporary hop
        ([("/a", "/b", 302), ("/b", "/c", 301)], None),  # a temporary hop first: no move
        ([("/a", "/c", 307)], None),
    ],
)
async def test_a_feed_moves_as_far_as_its_permanent_redirects_go(
    srv: FeedServer, fetcher: Fetcher, chain: list[tuple[str, str, int]], moved: str | None
) -> None:
    srv.set_feed("/c", FEED)
    for source, target, status in chain:
        srv.redirect(source, target, status=status)
    result = await fetcher.fetch(srv.url("/a"))
    assert result.body == FEED
    assert result.moved_to == (srv.url(moved) if moved else None)


async def test_changed_feed_is_fetched_again(srv: FeedServer, fetcher: Fetcher) -> None:
    srv.set_feed("/rss", FEED, etag='"v2"')
    result = await fetcher.fetch(srv.url("/rss"), etag='"v1"')
    assert not result.not_modified
    assert result.body == FEED
    assert result.etag == '"v2"'


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_body_is_inflated(
    srv: FeedServer, fetcher: Fetcher, encoding: str
) -> None:
    packed = gzip.compress(FEED) if encoding == "gzip" else zlib.compress(FEED)
    srv.set_response("/rss", 200, packed, headers={"Content-Encoding": encoding})
    result = await fetcher.fetch(srv.url("/rss"))
    assert result.body == FEED
    assert "gzip" in srv.requests[0].headers["Accept-Encoding"]


HEAD, TAIL = FEED[:150], FEED[150:]


@pytest.mark.parametrize(
    "body",
    [
        # RFC 1952: "a gzip file consists of a series of members". Only the first was read, and
        # the items in the others were lost without an error.
        gzip.compress(HEAD) + gzip.compress(TAIL),
        gzip.compress(HEAD[:100]) + gzip.compress(HEAD[100:]) + gzip.compress(TAIL),
        gzip.compress(HEAD) + gzip.compress(b"") + gzip.compress(TAIL),
        zlib.compress(HEAD) + gzip.compress(TAIL),  # zlib framing under "gzip", then a member
        gzip.compress(HEAD + TAIL) + bytes(100),  # padding after the end is not a member
    ],
)
@pytest.mark.parametrize("chunk", [1, 2, 7, 64 * 1024])
def test_every_gzip_member_is_inflated(body: bytes, chunk: int) -> None:
    assert inflated(body, chunk) == FEED  # a chunk may end inside the next magic number


def inflated(body: bytes, chunk: int = 64 * 1024) -> bytes:
    sink = BodySink("gzip", 1_000_000)
    for start in range(0, len(body), chunk):
        sink.feed(body[start : start + chunk])
    return sink.finish()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (gzip.compress(HEAD) + gzip.compress(TAIL)[:-20], FetchError),  # truncated member
        (gzip.compress(HEAD) + b"\x1f\x8b not a gzip member", FetchError),
        # A bomb in many members is cut at the same cap as in one.
        (gzip.compress(bytes(600_000)) * 2, ResponseTooLarge),
    ],
)
def test_a_bad_or_oversized_later_gzip_member_fails_the_body(
    body: bytes, error: type[Exception]
) -> None:
    with pytest.raises(error):
        inflated(body)


async def test_a_multi_member_gzip_body_is_fetched_whole(srv: FeedServer, fetcher: Fetcher) -> None:
    srv.set_response(
        "/rss", 200, gzip.compress(HEAD) + gzip.compress(TAIL), headers={"Content-Encoding": "gzip"}
    )
    assert (await fetcher.fetch(srv.url("/rss"))).body == FEED


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


async def test_raw_deflate_without_the_zlib_header_is_inflated_too(
    srv: FeedServer, fetcher: Fetcher
) -> None:
    # What old IIS and PHP send as "deflate".
    srv.set_response("/rss", 200, raw_deflate(FEED), headers={"Content-Encoding": "deflate"})
    assert (await fetcher.fetch(srv.url("/rss"))).body == FEED


@pytest.mark.timeout(15)
async def test_a_raw_deflate_bomb_is_cut_at_the_inflated_cap(srv: FeedServer) -> None:
    bomb = raw_deflate(bytes(50_000_000))
    srv.set_response("/bomb", 200, bomb, headers={"Content-Encoding": "deflate"})
    async with Fetcher(max_bytes=1_000_000) as f:
        with pytest.raises(ResponseTooLarge):
            await f.fetch(srv.url("/bomb"))


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (raw_deflate(FEED)[:-20], "deflate"),  # truncated raw deflate
        (b"\xff\xff\xff not deflate in any framing", "deflate"),
        (raw_deflate(FEED), "gzip"),  # only "deflate" is tried without framing
        (b"not gzip at all", "gzip"),
        (gzip.compress(FEED)[:-20], "gzip"),  # truncated stream
        (b"whatever", "br"),
    ],
)
async def test_bad_compression_is_a_fetch_error(
    srv: FeedServer, fetcher: Fetcher, body: bytes, encoding: str
) -> None:
    srv.set_response("/rss", 200, body, headers={"Content-Encoding": encoding})
    with pytest.raises(FetchError):
        await fetcher.fetch(srv.url("/rss"))


async def test_redirects_are_followed(srv: FeedServer, fetcher: Fetcher) -> None:
    srv.redirect("/old", "/middle", status=301)
    srv.redirect("/middle", srv.url("/new"), status=308)  # absolute Location works too
    srv.set_feed("/new", FEED)
    result = await fetcher.fetch(srv.url("/old"))
    assert result.body == FEED
    assert result.url == srv.url("/new")


@pytest.mark.parametrize("hops", [1, 3])
async def test_redirect_loop(srv: FeedServer, fetcher: Fetcher, hops: int) -> None:
    for i in range(hops):
        srv.redirect(f"/loop{i}", f"/loop{(i + 1) % hops}")
    with pytest.raises(TooManyRedirects):
        await fetcher.fetch(srv.url("/loop0"))
    assert len(srv.requests) == hops


async def test_redirect_chain_past_the_limit(srv: FeedServer) -> None:
    for i in range(4):
        srv.redirect(f"/r{i}", f"/r{i + 1}")
    srv.set_feed("/r4", FEED)
    async with Fetcher(max_redirects=4) as f:
        assert (await f.fetch(srv.url("/r0"))).body == FEED
    async with Fetcher(max_redirects=3) as f:
        with pytest.raises(TooManyRedirects):
            await f.fetch(srv.url("/r0"))


async def test_redirect_to_another_scheme_is_refused(srv: FeedServer, fetcher: Fetcher) -> None:
    srv.redirect("/rss", "file:///etc/passwd")
    with pytest.raises(ConnectError):
        await fetcher.fetch(srv.url("/rss"))


async def test_redirect_to_an_address_with_control_characters_is_refused(
    srv: FeedServer, fetcher: Fetcher
) -> None:
    # Taken as it came, it would be stored as the feed's new address and printed by
    # `feeds check` and `status`: an escape sequence for the operator's terminal. (U+009B is
    # CSI; aiohttp's test server refuses to send C0 controls such as ESC at all.)
    srv.redirect("/rss", "/new\u009b2J", status=301)
    srv.set_feed("/new", FEED)
    with pytest.raises(ConnectError, match="control characters"):
        await fetcher.fetch(srv.url("/rss"))
    assert srv.requests_to("/new") == []


MALFORMED_HOSTS = [
    "http://exa_mple..com/",  # an empty label
    "http://\u2100.com/",  # "℀" falls apart under NFKC normalisation
    "http://[::1/",  # an unclosed IPv6 literal
    "http://" + "a" * 64 + ".example/",  # a label over 63 characters
]


@pytest.mark.parametrize("location", MALFORMED_HOSTS)
async def test_a_redirect_to_a_malformed_host_is_a_connect_error(
    srv: FeedServer, fetcher: Fetcher, location: str
) -> None:
    srv.redirect("/rss", location + "?key=hunter2", status=301)
    with pytest.raises(ConnectError, match="invalid URL") as caught:
        await fetcher.fetch(srv.url("/rss"))
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("url", MALFORMED_HOSTS)
async def test_a_malformed_host_is_a_connect_error(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(ConnectError, match="invalid URL"):
        await fetcher.fetch(url)


@pytest.mark.parametrize("path", ["/a b", "/a\tb", "/a\x7fb", "/a\u0085b"])
async def test_an_address_with_spaces_or_control_characters_is_not_fetched(
    srv: FeedServer, fetcher: Fetcher, path: str
) -> None:
    with pytest.raises(ConnectError, match="spaces or control characters"):
        await fetcher.fetch(srv.url(path))
    assert srv.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/feed",
        "javascript:alert(1)",
        "http://",
        "x",
    ],
)
async def test_only_http_urls(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(ConnectError):
        await fetcher.fetch(url)


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (404, {}, None),
        (410, {}, None),
        (500, {}, None),
        (429, {"Retry-After": "120"}, 120.0),
        (503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # in the past
        (503, {"Retry-After": "soon"}, None),
        (503, {"Retry-After": "\u00b2"}, None),  # "²".isdigit(), yet float() refuses it
        (300, {}, None),  # a 3xx we do not follow
    ],
)
async def test_error_status(
    srv: FeedServer,
    fetcher: Fetcher,
    status: int,
    headers: dict[str, str],
    retry_after: float | None,
) -> None:
    srv.set_response("/rss", status, b"<html>error</html>", headers=headers)
    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(srv.url("/rss"))
    assert caught.value.status == status
    assert caught.value.retry_after == retry_after


def test_parse_retry_after() -> None:
    now = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(later, now=now) == 300.0
    assert parse_retry_after(" 7 ", now=now) == 7.0
    assert parse_retry_after("-5", now=now) is None
    assert parse_retry_after("", now=now) is None
    assert parse_retry_after(None, now=now) is None
    huge_year = "Mon, 01 Jan 99999999999 00:00:00 GMT"
    for odd in ("\u00b2", "\u0663", "9" * 5000, "1" * 11, "+5", "5.5", huge_year):
        assert parse_retry_after(odd, now=now) is None, odd


@pytest.mark.timeout(15)
async def test_body_over_the_cap_is_cut_without_downloading_it(srv: FeedServer) -> None:
    srv.huge("/huge", 50_000_000)
    async with Fetcher(max_bytes=1_000_000) as f:
        with pytest.raises(ResponseTooLarge):
            await f.fetch(srv.url("/huge"))
    # What the server managed to push before the client hung up: the cap plus socket buffers.
    assert await srv.stream_done("/huge") < 20_000_000


@pytest.mark.timeout(15)
async def test_content_length_over_the_cap_is_refused_up_front(srv: FeedServer) -> None:
    srv.huge("/huge", 50_000_000, declare_length=True)
    async with Fetcher(max_bytes=1_000_000) as f:
        with pytest.raises(ResponseTooLarge, match="Content-Length"):
            await f.fetch(srv.url("/huge"))


async def test_body_exactly_at_the_cap_is_fine(srv: FeedServer) -> None:
    srv.huge("/exact", 100_000)
    async with Fetcher(max_bytes=100_000) as f:
        assert len((await f.fetch(srv.url("/exact"))).body) == 100_000
    async with Fetcher(max_bytes=99_999) as f:
        with pytest.raises(ResponseTooLarge):
            await f.fetch(srv.url("/exact"))


@pytest.mark.timeout(15)
async def test_gzip_bomb_is_cut_at_the_inflated_cap(srv: FeedServer) -> None:
    srv.gzip_bomb("/bomb")  # 1 GB of zeros once inflated, about 1 MB on the wire
    async with Fetcher(max_bytes=1_000_000) as f:
        with pytest.raises(ResponseTooLarge):
            await f.fetch(srv.url("/bomb"))


@pytest.mark.timeout(15)
async def test_gzip_bomb_is_never_inflated_in_memory(srv: FeedServer) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    bomb = b"".join(packer.compress(zeros) for _ in range(200)) + packer.flush()
    srv.set_response("/bomb", 200, bomb, headers={"Content-Encoding": "gzip"})
    assert len(bomb) < 1_000_000  # under the cap on the wire; 200 MB once inflated
    tracemalloc.start()
    try:
        async with Fetcher(max_bytes=1_000_000) as f:
            with pytest.raises(ResponseTooLarge):
                await f.fetch(srv.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One 64 kB chunk of this bomb inflates to 64 MB; bounded inflation stays near the cap.
    assert peak < 16_000_000


@pytest.mark.timeout(10)
async def test_server_that_never_answers_is_cut(srv: FeedServer) -> None:
    srv.hang("/hang")
    async with Fetcher(timeout=1.0) as f:
        with pytest.raises(FetchTimeout):
            await f.fetch(srv.url("/hang"))


@pytest.mark.timeout(10)
async def test_trickling_body_is_cut_by_the_total_timeout(srv: FeedServer) -> None:
    srv.trickle("/trickle", interval=0.2)
    async with Fetcher(timeout=1.5) as f:
        with pytest.raises(FetchTimeout):
            await f.fetch(srv.url("/trickle"))
    assert await srv.stream_done("/trickle") >= 2  # it did get the headers and some bytes


@pytest.mark.timeout(15)
async def test_waiting_for_a_host_slot_does_not_count_against_the_timeout(
    srv: FeedServer,
) -> None:
    # Eight answers of 0.6 s each, two at a time: the last start after 1.8 s in the queue, past
    # the 1.5 s timeout, while each answer leaves 0.9 s of it for a loaded test machine.
    for n in range(8):
        srv.slow(f"/f{n}", FEED, seconds=0.6)
    async with Fetcher(timeout=1.5, per_host=2) as f:
        results = await asyncio.gather(*(f.fetch(srv.url(f"/f{n}")) for n in range(8)))
    assert [r.body for r in results] == [FEED] * 8
    assert srv.max_in_flight == 2


async def test_at_most_concurrency_requests_at_once_in_all(srv: FeedServer) -> None:
    for n in range(6):
        srv.slow(f"/f{n}", FEED, seconds=0.2)
    async with Fetcher(per_host=6, concurrency=2) as f:
        await asyncio.gather(*(f.fetch(srv.url(f"/f{n}")) for n in range(6)))
    assert srv.max_in_flight == 2


async def test_a_host_is_forgotten_once_its_requests_are_done(srv: FeedServer) -> None:
    # Article links bring new hosts all the time: the per-host slots must not pile up.
    for n in range(4):
        srv.slow(f"/f{n}", FEED, seconds=0.2)
    port = srv.url("/").split(":")[2].split("/")[0]
    urls = [f"http://{host}:{port}/f{n}" for n, host in enumerate(["127.0.0.1", "localhost"] * 2)]
    async with Fetcher(per_host=1) as f:
        await asyncio.gather(*(f.fetch(url) for url in urls))
        assert srv.max_in_flight == 2  # one per host, while both hosts were known
        assert f._hosts == {}  # the state under test has no public view


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://feeds.example/rss", "feeds.example"),
        ("https://Feeds.EXAMPLE./rss", "feeds.example"),  # the same DNS name, fully qualified
        ("https://feeds.example:443/rss", "feeds.example"),
        ("https://user@feeds.example:8443/rss", "feeds.example"),
        ("https://пример.рф/rss", "xn--e1afmkfd.xn--p1ai"),  # what the resolver is asked
        ("https://ПРИМЕР.РФ./rss", "xn--e1afmkfd.xn--p1ai"),
        ("https://xn--e1afmkfd.xn--p1ai/rss", "xn--e1afmkfd.xn--p1ai"),
        ("http://[::1]:8080/", "::1"),
        ("http://127.0.0.1/", "127.0.0.1"),
        ("http://[::1/", ""),  # malformed: one key for all of them, and no exception
    ],
)
def test_host_key_is_one_name_however_the_host_is_written(url: str, key: str) -> None:
    assert host_key(url) == key


async def test_the_per_host_limit_counts_a_host_written_two_ways_as_one(
    srv: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    def resolve(host: object, *args: object, **kwargs: object) -> object:
        if isinstance(host, str) and host.rstrip(".") == "feeds.example":
            host = "127.0.0.1"
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    srv.slow("/a", FEED, seconds=0.4)
    srv.slow("/b", FEED, seconds=0.4)
    a = srv.url("/a").replace("127.0.0.1", "feeds.example")
    b = srv.url("/b").replace("127.0.0.1", "Feeds.Example.")
    async with Fetcher(timeout=5.0, per_host=1) as f:
        await asyncio.gather(f.fetch(a), f.fetch(b))
    assert sorted(r.path for r in srv.requests) == ["/a", "/b"]
    assert srv.max_in_flight == 1


@pytest.mark.parametrize(
    ("status", "retry_after", "paused"),
    [
        (429, "120", 120.0),
        (503, "120", 120.0),
        (429, str(30 * 86400), MAX_BACKOFF),  # as long as a feed's own Retry-After, at most
        (429, None, None),
        (429, "0", None),
        (503, "soon", None),
        (500, "120", None),  # a Retry-After means something with 429 and 503 only
    ],
)
async def test_a_retry_after_pauses_the_whole_host(
    srv: FeedServer, status: int, retry_after: str | None, paused: float | None
) -> None:
    # Every public Telegram channel is on t.me: a 429 is the host's word to this client, and
    # each channel that asked again within it got its own 429.
    now = [1000.0]
    srv.set_response("/busy", status, headers={"Retry-After": retry_after} if retry_after else {})
    srv.set_feed("/rss", FEED)
    async with Fetcher(timeout=5.0, clock=lambda: now[0]) as f:
        with pytest.raises(HTTPStatusError):
            await f.fetch(srv.url("/busy"))
        now[0] += 1
        if paused is not None:
            with pytest.raises(HostPaused) as caught:
                await f.fetch(srv.url("/rss"))
            assert caught.value.retry_after == paused - 1
            assert srv.requests_to("/rss") == []
            now[0] += paused - 1
        assert (await f.fetch(srv.url("/rss"))).body == FEED


async def test_a_paused_host_holds_article_pages_and_redirects_but_no_other_host(
    srv: FeedServer,
) -> None:
    now = [1000.0]
    srv.set_response("/busy", 429, headers={"Retry-After": "60"})
    srv.set_feed("/rss", FEED)
    other = srv.url("/rss").replace("127.0.0.1", "localhost")
    srv.redirect("/away", srv.url("/rss"))  # to the paused host, from itself
    loopback = srv.url("/rss").replace("127.0.0.1", "127.0.0.1.")  # the same host
    async with Fetcher(timeout=5.0, clock=lambda: now[0], page_addresses=lambda _: True) as f:
        with pytest.raises(HTTPStatusError):
            await f.fetch(srv.url("/busy"))
        for url, untrusted in [(srv.url("/rss"), True), (loopback, False)]:
            with pytest.raises(HostPaused):
                await f.fetch(url, untrusted=untrusted)
        assert (await f.fetch(other)).body == FEED
        with pytest.raises(HostPaused):
            await f.fetch(other.replace("/rss", "/away"))
    assert [r.path for r in srv.requests] == ["/busy", "/rss", "/away"]


async def test_refused_connection_is_a_connect_error(fetcher: Fetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now.
    with pytest.raises(ConnectError):
        await fetcher.fetch(f"http://127.0.0.1:{port}/rss")


async def test_error_messages_keep_the_url_out(srv: FeedServer) -> None:
    srv.redirect("/loop", "/loop")
    srv.set_response("/gone", 410)
    srv.hang("/hang")
    secret = "?key=hunter2"
    errors = []
    async with Fetcher(timeout=1.0) as f:
        for path in ("/loop", "/gone", "/hang"):
            with pytest.raises(FetchError) as caught:
                await f.fetch(srv.url(path) + secret)
            errors.append(caught.value)
        with pytest.raises(FetchError) as refused:
            await f.fetch("http://127.0.0.1:1/" + secret)
        errors.append(refused.value)
    for error in errors:
        assert "hunter2" not in str(error)
        assert "127.0.0.1" not in str(error)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("169.254.169.254", False),  # cloud metadata
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:169.254.169.254", False),  # IPv4-mapped
        ("ff02::1", False),
        # IPv6 forms that carry an IPv4 address are judged by the address they carry.
        ("64:ff9b::7f00:1", False),  # NAT64 to 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 to the metadata service
        ("64:ff9b::5db8:d70e", True),  # NAT64 to a public address
        ("64:ff9b:1::a00:1", False),  # local-use NAT64 (RFC 8215)
        ("::ffff:0:a9fe:a9fe", False),  # IPv4-translated (RFC 2765) metadata service
        ("::ffff:0:5db8:d70e", True),
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2002:a00:1::", False),  # 6to4 of 10.0.0.1
        ("2002:5db8:d70e::1", True),  # 6to4 of a public address
        ("::127.0.0.1", False),  # IPv4-compatible (deprecated)
        ("::5db8:d70e", False),  # IPv4-compatible, whatever it carries
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ip_address(address)) is public


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}/page",
        "http://localhost:{port}/page",  # a name: its resolver refuses it
        "http://[::ffff:127.0.0.1]:{port}/page",
        "http://127.1:{port}/page",  # legacy forms aiohttp refuses by itself
        "http://2130706433:{port}/page",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]/",
    ],
)
async def test_an_untrusted_url_may_not_reach_our_own_network(
    srv: FeedServer, fetcher: Fetcher, template: str
) -> None:
    srv.set_feed("/page", FEED)
    url = template.format(port=srv.url("/").rsplit(":", 1)[1].rstrip("/"))
    with pytest.raises(ConnectError, match=r"not a public address|invalid URL"):
        await fetcher.fetch(url, untrusted=True)
    assert srv.requests == []
    assert (await fetcher.fetch(srv.url("/page"))).body == FEED  # a feed may be anywhere


async def test_every_hop_of_an_untrusted_url_is_checked(srv: FeedServer) -> None:
    port = srv.url("/").rsplit(":", 1)[1].rstrip("/")
    srv.set_feed("/page", FEED)
    srv.redirect("/hop", f"http://127.0.0.2:{port}/page")
    only_this = IPv4Address("127.0.0.1")  # stands in for a public address
    async with Fetcher(page_addresses=lambda address: address == only_this) as f:
        assert (await f.fetch(srv.url("/page"), untrusted=True)).body == FEED
        with pytest.raises(ConnectError, match="not a public address"):
            await f.fetch(srv.url("/hop"), untrusted=True)
    assert [r.path for r in srv.requests] == ["/page", "/hop"]


async def test_fetch_before_start_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        await Fetcher().fetch("http://127.0.0.1/")


async def test_close_is_idempotent_and_start_reopens(srv: FeedServer) -> None:
    srv.set_feed("/rss", FEED)
    fetcher = Fetcher()
    await fetcher.start()
    await fetcher.close()
    await fetcher.close()
    await fetcher.start()
    try:
        assert (await fetcher.fetch(srv.url("/rss"))).body == FEED
    finally:
        await fetcher.close()
