"""Full text for thin entries: fetch each chosen entry's article page and extract its text
(`bot.fulltext`), within the cycle's page budget. The edge around the pure extractor.

A page that cannot be fetched (`FeedError`) costs only that entry's full text: it keeps its
feed text. So does a bug in fetching or extracting one page, logged with its traceback; the
feed is not failed (and in the end disabled) for a page it links to. Links are the feed's, not
the operator's: they are fetched as untrusted, so they may not reach our own network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from bot import fulltext
from bot.errors import FeedError
from bot.model import Entry, FetchResult

__all__ = ["ArticlePages", "PageFetcher"]

log = logging.getLogger(__name__)


class PageFetcher(Protocol):
    async def fetch(self, url: str, *, untrusted: bool = False) -> FetchResult: ...


class ArticlePages:
    def __init__(self, fetcher: PageFetcher) -> None:
        self._fetcher = fetcher

    async def texts(
        self, entries: Sequence[Entry], wanted: Sequence[int], budget: fulltext.Budget
    ) -> dict[int, str]:
        """Article text for the `wanted` entries the budget allows, by entry index."""
        chosen = [i for i in wanted if budget.take()]
        found = await asyncio.gather(*(self._article(entries[i]) for i in chosen))
        return {i: text for i, text in zip(chosen, found, strict=True) if text}

    async def _article(self, entry: Entry) -> str | None:
        assert entry.link is not None  # is_thin() demands a link
        try:
            page = await self._fetcher.fetch(entry.link, untrusted=True)
            return await asyncio.to_thread(fulltext.extract_text, page.body, page.headers, page.url)
        except FeedError as exc:
            log.info("article page not fetched: %s: %s", type(exc).__name__, exc)
            return None
        except Exception as exc:
            log.exception("article page: unexpected %s (a bug)", type(exc).__name__)
            return None
