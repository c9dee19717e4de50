"""A response body read within a size cap, with its Content-Encoding undone as it arrives.

`BodySink(content_encoding, max_bytes)` is fed the body's bytes as they come off the wire and
`finish()` returns the decoded body. The encodings, matched case-insensitively:

* none, "" or "identity": the bytes as they are;
* "gzip" or "x-gzip": gzip, or zlib framing, which some servers send under this name;
* "deflate": zlib framing (RFC 9110) or gzip, or raw deflate without framing, as old IIS and
  PHP send. Raw deflate is tried only when the stream's header fails as zlib and gzip.

A stream may be followed by gzip members (RFC 1952 2.2: a gzip file is a series of them, as
streaming servers and concatenated files send): each is inflated in turn, into the same body
under the same cap. Bytes after a stream that do not start a member (padding) are ignored.

Any other encoding (br, zstd, compress, a list of several) is refused at once; the fetcher
asks for gzip and deflate only. The cap counts decompressed bytes, and for a compressed body
also the bytes on the wire: the body is cut as soon as either passes `max_bytes`, and inflating
runs in steps bounded by the room left, so a gzip bomb is never inflated in full. An empty
body is empty whatever its encoding.

Raises, from `bot.errors`: `ResponseTooLarge` past the cap; `FetchError` for an unsupported
encoding, a corrupt compressed body, or one that ends before its stream does. No message quotes
the body or the URL.
"""

from __future__ import annotations

import zlib

from bot.errors import FetchError, ResponseTooLarge

_GZIP_MAGIC = b"\x1f\x8b"


class BodySink:
    """Collects the body, inflating gzip/deflate, and stops as soon as it passes the cap."""

    def __init__(self, content_encoding: str, max_bytes: int) -> None:
        encoding = content_encoding.strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            # 32 + MAX_WBITS: accept both gzip and zlib framing, as servers mix them up.
            self._inflater: zlib._Decompress | None = zlib.decompressobj(32 + zlib.MAX_WBITS)
        elif encoding in ("", "identity"):
            self._inflater = None
        else:
            raise FetchError("unsupported Content-Encoding")
        # "deflate" is zlib framing (RFC 9110), but old IIS and PHP send raw deflate: the bytes
        # before the framing is settled are kept to inflate them again that way.
        self._replay: bytearray | None = bytearray() if encoding == "deflate" else None
        self._max_bytes = max_bytes
        self._raw = 0
        self._body = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._raw += len(chunk)
        if self._inflater is None:
            self._append(chunk)
            return
        if self._raw > self._max_bytes:
            raise ResponseTooLarge(f"body over {self._max_bytes} bytes")
        if self._replay is not None:
            self._replay += chunk
        try:
            self._inflate(chunk)
        except zlib.error:
            if self._replay is None or self._body:
                raise FetchError("corrupt compressed body") from None
            self._inflate_raw_deflate()
        if self._raw >= 2:  # the two header bytes passed zlib's check: the framing is settled
            self._replay = None

    def finish(self) -> bytes:
        if self._inflater is not None and self._raw:
            self._append(self._inflater.flush())
            if not self._inflater.eof:
                raise FetchError("truncated compressed body")
        return bytes(self._body)

    def _inflate(self, data: bytes) -> None:
        assert self._inflater is not None
        pending = data
        while pending:
            # Bounded output per call: a small chunk of a bomb never inflates past the cap.
            room = self._max_bytes - len(self._body) + 1
            self._append(self._inflater.decompress(pending, room))
            pending = self._inflater.unconsumed_tail or self._next_member()

    def _next_member(self) -> bytes:
        """The start of the body's next gzip member, to inflate with a new inflater; b"" while
        the stream goes on, or when what follows its end is no member (yet)."""
        assert self._inflater is not None
        rest = self._inflater.unused_data
        if not (self._inflater.eof and rest.startswith(_GZIP_MAGIC)):
            # Other bytes after the end are ignored, as gzip readers do with padding. An ended
            # stream keeps whatever it is fed after its end: a magic number cut between two
            # chunks is whole at the next one.
            return b""
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return rest

    def _inflate_raw_deflate(self) -> None:
        assert self._replay is not None
        replay, self._replay = bytes(self._replay), None
        self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            self._inflate(replay)
        except zlib.error:
            raise FetchError("corrupt compressed body") from None

    def _append(self, data: bytes) -> None:
        self._body += data
        if len(self._body) > self._max_bytes:
            raise ResponseTooLarge(f"body over {self._max_bytes} bytes")
