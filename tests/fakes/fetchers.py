"""Fetchers for the refresh tests: the real one, seen through (which addresses were asked
for) or with a bug planted at one address (what no test of the real one can provoke)."""

from __future__ import annotations

from bot.fetch import Fetcher
from bot.model import FetchResult


class Recording:
    """The real fetcher, noting every address asked for."""

    def __init__(self, real: Fetcher) -> None:
        self.real, self.urls = real, list[str]()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        untrusted: bool = False,
    ) -> FetchResult:
        self.urls.append(url)
        self.before(url)
        try:
            return await self.real.fetch(
                url, etag=etag, last_modified=last_modified, untrusted=untrusted
            )
        finally:
            self.after(url)

    def before(self, url: str) -> None:
        """Runs before each fetch is handed to the real fetcher."""

    def after(self, url: str) -> None:
        """Runs when each fetch has ended, however it did."""


class Boom(Recording):
    """The real fetcher, with a bug for one address."""

    def __init__(self, real: Fetcher, bad: str) -> None:
        super().__init__(real)
        self.bad = bad

    def before(self, url: str) -> None:
        if url == self.bad:
            raise ValueError("a bug that quotes the feed: hunter2")


class Counting(Recording):
    """The real fetcher, counting the fetches under way."""

    def __init__(self, real: Fetcher) -> None:
        super().__init__(real)
        self.under_way = 0

    def before(self, url: str) -> None:
        self.under_way += 1

    def after(self, url: str) -> None:
        self.under_way -= 1
