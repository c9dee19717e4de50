"""Catching up on a Telegram channel: its preview shows only the latest posts (about 20).

When none of a page's posts was stored before (a burst of posts, the bot down, a long
backoff), the page before it (`bot.sources.telegram_preview.earlier_page`) is read too, and so
on until a page reaches posts already stored, at most `CATCH_UP_PAGES`: else the posts between
were never seen. The refresh path (`bot.refresh`) does this only for a channel polled before:
a first poll alerts nothing, and a channel's history is not what a source is for. An earlier
page that fails ends the catching up with what was read; the latest page is never lost to it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import replace
from typing import Final

from bot.errors import FeedError
from bot.model import ParsedFeed
from bot.sources.telegram_preview import earlier_page
from bot.stories import entry_keys

log = logging.getLogger(__name__)

CATCH_UP_PAGES: Final = 4  # earlier pages one poll may read (about 20 posts each)


async def with_earlier_posts(
    feed_url: str,
    page_url: str,
    parsed: ParsedFeed,
    *,
    read_page: Callable[[str], Awaitable[ParsedFeed]],
    stored: Callable[[Sequence[str]], Awaitable[Collection[str]]],
) -> ParsedFeed:
    """`parsed` (the latest page, read from `page_url`) with the posts of the pages before it,
    oldest first; `read_page` fetches and reads one page, `stored` gives which of some entry
    keys the feed has stored."""
    page = parsed
    for _ in range(CATCH_UP_PAGES):
        before = earlier_page(page_url, page.entries)
        if before is None or await stored(entry_keys(page.entries, feed_url)):
            break
        try:
            page = await read_page(before)
        except FeedError as exc:
            log.info("an earlier page of a channel failed (%s)", type(exc).__name__)
            break
        seen = {entry.link for entry in parsed.entries}
        older = [i for i, entry in enumerate(page.entries) if entry.link not in seen]
        if not older:
            break
        parsed = replace(
            parsed,
            entries=(*(page.entries[i] for i in older), *parsed.entries),
            facts=(*(page.facts[i] for i in older), *parsed.facts),
        )
    return parsed
