"""A local feed server for tests: well-behaved feeds and every kind of hostile server.

    async with FeedServer() as srv:
        srv.set_feed("/rss", rss([{"title": "Hi", "link": "https://example.org/1"}]), etag='"v1"')
        srv.hang("/slow")
        result = await fetcher.fetch(srv.url("/rss"))
        assert srv.requests[-1].path == "/rss"

It listens on 127.0.0.1 on a random port. Handlers that never finish on their own (hang,
trickle) end when the server closes, so leaving the `async with` never waits for them.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from types import TracebackType
from typing import Any, Self
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: CIMultiDictProxy[str]
    query: str = ""


class FeedServer:
    """An aiohttp server whose every path is scripted by the test."""

    def __init__(self) -> None:
        self._routes: dict[str, Handler] = {}
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self.requests: list[RecordedRequest] = []
        self.bytes_sent: dict[str, int] = {}  # body bytes written by streaming handlers
        self._streams_done: dict[str, asyncio.Event] = {}
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests the server was handling at once

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._port}{path}"

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    async def stream_done(self, path: str) -> int:
        """Wait until the streaming handler of `path` stopped; return the body bytes it sent."""
        await self._streams_done[path].wait()
        return self.bytes_sent[path]

    # -- scripting ------------------------------------------------------------------------

    def set_feed(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Serve `body`, answering 304 when the request's validators match."""

        async def handler(request: web.Request) -> web.StreamResponse:
            headers = {"Content-Type": content_type}
            if etag:
                headers["ETag"] = etag
            if last_modified:
                headers["Last-Modified"] = last_modified
            if _not_modified(request, etag, last_modified):
                return web.Response(status=304, headers=headers)
            return web.Response(body=body, headers=headers)

        self._routes[path] = handler

    def set_pages(
        self, path: str, pages: Mapping[str, bytes], *, key: str, content_type: str
    ) -> None:
        """Serve `pages[<the query's value of key>]` ("" without it): one address whose query
        chooses the page, as t.me/s/<channel>?before=<post> does; 404 for any other."""

        async def handler(request: web.Request) -> web.StreamResponse:
            body = pages.get(request.query.get(key, ""))
            if body is None:
                return web.Response(status=404)
            return web.Response(body=body, headers={"Content-Type": content_type})

        self._routes[path] = handler

    def set_response(
        self,
        path: str,
        status: int,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, body=body, headers=dict(headers or {}))

        self._routes[path] = handler

    def redirect(self, path: str, to_path: str, *, status: int = 302) -> None:
        self.set_response(path, status, headers={"Location": to_path})

    def slow(self, path: str, body: bytes, *, seconds: float) -> None:
        """Serve `body` after `seconds`, to see how many requests a client runs at once."""

        async def handler(request: web.Request) -> web.StreamResponse:
            await self._closed_within(seconds)
            return web.Response(body=body, headers={"Content-Type": "application/rss+xml"})

        self._routes[path] = handler

    def hang(self, path: str) -> None:
        """Accept the request and never send a byte back."""

        async def handler(request: web.Request) -> web.StreamResponse:
            await self._closing.wait()
            return web.Response(status=503)

        self._routes[path] = handler

    def trickle(self, path: str, *, interval: float = 1.0) -> None:
        """Send the headers, then one byte of body every `interval` seconds forever."""

        async def chunks() -> Any:
            while True:
                yield b"<"
                if await self._closed_within(interval):
                    return

        self._stream(path, chunks, {"Content-Type": "application/rss+xml"})

    def huge(self, path: str, n_bytes: int, *, declare_length: bool = False) -> None:
        """Stream `n_bytes` of generated body without ever holding it in memory."""

        async def chunks() -> Any:
            block = b"<!-- padding -->" * 4096
            left = n_bytes
            while left > 0:
                yield block[:left]
                left -= len(block)

        headers = {"Content-Type": "application/rss+xml"}
        if declare_length:
            headers["Content-Length"] = str(n_bytes)
        self._stream(path, chunks, headers)

    def gzip_bomb(self, path: str, n_bytes: int = 1_000_000_000) -> None:
        """Stream a gzip body that inflates to `n_bytes` of zeros, compressing as it goes."""

        async def chunks() -> Any:
            packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            zeros = bytes(1 << 20)
            for _ in range(n_bytes >> 20):
                if data := packer.compress(zeros):
                    yield data
            yield packer.flush()

        headers = {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
        self._stream(path, chunks, headers)

    # -- internals ------------------------------------------------------------------------

    def _stream(self, path: str, chunks: Callable[[], Any], headers: dict[str, str]) -> None:
        self.bytes_sent[path] = 0
        self._streams_done[path] = asyncio.Event()

        async def handler(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers=headers)
            try:
                await response.prepare(request)
                async for data in chunks():
                    await response.write(data)
                    self.bytes_sent[path] += len(data)
            except ConnectionError:
                pass  # the client gave up, which is what the tests want it to do
            finally:
                self._streams_done[path].set()
            return response

        self._routes[path] = handler

    async def _closed_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            RecordedRequest(
                request.path, CIMultiDictProxy(CIMultiDict(request.headers)), request.query_string
            )
        )
        handler = self._routes.get(request.path)
        if handler is None:
            return web.Response(status=404)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await handler(request)
        finally:
            self.in_flight -= 1


class RawServer:
    """A server whose every answer is `status_line` and `headers` written as raw bytes, then
    `body`: for header bytes aiohttp's own server will not send (it drops what is not UTF-8).
    `heads` holds the head of each request received, as bytes."""

    def __init__(self, headers: bytes, body: bytes, *, status_line: bytes = b"200 OK") -> None:
        self._answer = (
            b"HTTP/1.1 " + status_line + b"\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\n" + headers + b"Connection: close\r\n\r\n" + body
        )  # fmt: skip
        self._server: asyncio.Server | None = None
        self.heads: list[bytes] = []

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def url(self, path: str) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(self._answer)
        await writer.drain()
        writer.close()


def _not_modified(request: web.Request, etag: str | None, last_modified: str | None) -> bool:
    if etag and (sent := request.headers.get("If-None-Match")):
        return sent.strip() == "*" or etag in (t.strip() for t in sent.split(","))
    since = request.headers.get("If-Modified-Since")
    if last_modified and since:
        try:
            return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def rss(
    items: list[dict[str, Any]],
    *,
    title: str = "Test feed",
    link: str = "https://example.org/",
    encoding: str = "utf-8",
    declare_encoding: bool = True,
) -> bytes:
    """An RSS 2.0 document. Item keys: title, link, description, guid, pubDate (str/datetime)."""
    parts = [f"<title>{escape(title)}</title><link>{escape(link)}</link>"]
    for item in items:
        fields = []
        for key in ("title", "link", "description", "guid", "pubDate"):
            value = item.get(key)
            if isinstance(value, datetime):
                aware = value if value.tzinfo else value.replace(tzinfo=UTC)
                value = format_datetime(aware.astimezone(UTC), usegmt=True)
            if value is not None:
                fields.append(f"<{key}>{escape(str(value))}</{key}>")
        parts.append(f"<item>{''.join(fields)}</item>")
    declaration = f' encoding="{encoding}"' if declare_encoding else ""
    document = (
        f'<?xml version="1.0"{declaration}?>\n<rss version="2.0"><channel>'
        + "".join(parts)
        + "</channel></rss>\n"
    )
    return document.encode(encoding)
