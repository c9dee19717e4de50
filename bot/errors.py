"""The one error tree of Transit Watch.

Every error the bot raises on purpose derives from `TransitWatchError`; anything else is a bug.

    TransitWatchError
    ├── ConfigError            bad setting or feeds.yaml; start-up stops with its one-line message
    ├── FeedError              one feed failed this cycle; only that feed logs it and backs off
    │   ├── FetchError         the network part
    │   │   ├── FetchTimeout       no (complete) answer within the time limit
    │   │   ├── ResponseTooLarge   the body passed the size cap
    │   │   ├── TooManyRedirects   a redirect loop or chain
    │   │   ├── HTTPStatusError    a 4xx/5xx answer (`.status`, optional `.retry_after`)
    │   │   ├── HostPaused         not asked: its host said to wait (`.retry_after`, seconds left)
    │   │   └── ConnectError       DNS, refused, reset, TLS
    │   └── ParseError         the bytes are not a usable feed
    │       ├── NotAFeed           e.g. an HTML page where RSS was expected
    │       ├── AnalysisCrashed    the worker process reading it died (bot.analysis)
    │       └── ReadTooLong        reading it passed the time limit; its worker was stopped
    └── QueryError             a /search query we cannot run; `str()` is safe to show the user

Messages never contain tokens, chat ids of other chats or user input beyond what the user typed
themselves, so they can be logged and shown.
"""

from __future__ import annotations


class TransitWatchError(Exception):
    """Base of every deliberate error."""


class ConfigError(TransitWatchError):
    """A setting or feeds.yaml entry is missing or malformed."""


class FeedError(TransitWatchError):
    """One feed failed; the others carry on."""


class FetchError(FeedError):
    """Getting the feed's bytes failed."""


class FetchTimeout(FetchError):
    """The server did not answer completely in time."""


class ResponseTooLarge(FetchError):
    """The body is larger than the configured cap."""


class TooManyRedirects(FetchError):
    """Redirects loop or chain past the limit."""


class ConnectError(FetchError):
    """The connection could not be made or broke."""


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class HostPaused(FetchError):
    """Not sent: the host answered a 429 or 503 with a Retry-After that has not passed yet
    (`bot.fetch`). Nothing about this URL itself."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"its host asked to wait {retry_after:.0f} s more")
        self.retry_after = retry_after


class ParseError(FeedError):
    """The bytes could not be read as a feed."""


class NotAFeed(ParseError):
    """The document is something else (an HTML page, JSON error, empty body)."""


class AnalysisCrashed(ParseError):
    """The worker process reading the document died (killed, out of memory)."""


class ReadTooLong(ParseError):
    """Reading the document took longer than the limit (`bot.analysis.READ_TIMEOUT`): some
    input that the parsers take ages over. Its worker is stopped, so it costs no more."""


class QueryError(TransitWatchError):
    """A search query that cannot be run; the message is a friendly hint.

    `message` is an English catalog msgid (marked with `N_` where it is raised) and `values`
    fill its `{placeholders}`: `str()` is the English text (the command line), and a chat gets
    `tr(exc.message, **exc.values)`, its own language with the same values.
    """

    def __init__(self, message: str, /, **values: object) -> None:
        self.message = message
        self.values = values
        super().__init__(message.format(**values) if values else message)
