"""Every kind of source, read into the same `ParsedFeed`, so all of them go through the same
identity, relevance, story and alert path.

    kind "telegram"          a channel's t.me/s/ web preview     (telegram_preview.py)
    kind "feed", JSON body   JSON Feed 1.0/1.1                    (jsonfeed.py)
    kind "feed", otherwise   RSS 0.9x/1.0/2.0, Atom, via feedparser (bot/parse.py)

Also here: OPML 2.0 in and out (opml.py) and full article text (bot/fulltext.py).
Pure functions; `read_source_async` only moves the work to a thread. `read_source` also works
out each entry's `EntryFacts` (content hash, canonical link, the people it names: no
dictionaries needed), so that where reading runs in a worker process (`bot.analysis`), that
work leaves the bot's process too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import replace

from bot.model import Entry, EntryFacts, ParsedFeed
from bot.parse import read_feed
from bot.people import named_people
from bot.sources.jsonfeed import looks_like_json, parse_json_feed
from bot.sources.telegram_preview import parse_preview
from bot.stories import canonical_url, content_hash


def read_source(
    kind: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    base_url: str,
    lang: str | None = None,
) -> ParsedFeed:
    """Parse one fetched document, with the facts of each entry; raises NotAFeed or ParseError
    when it has no usable feed."""
    parsed = _parse(kind, body, headers, base_url=base_url, lang=lang)
    return replace(parsed, facts=_facts_of(parsed.entries, lang))


def _facts_of(entries: Iterable[Entry], lang: str | None) -> tuple[EntryFacts, ...]:
    """Each entry's `EntryFacts`, from its own title, summary and link (`lang`: the feed's,
    for an entry that does not say its own)."""
    return tuple(
        EntryFacts(
            content_hash(entry),
            canonical_url(entry.link) if entry.link else None,
            *named_people(entry.title, entry.summary),
        )
        for entry in entries
    )


def _parse(
    kind: str, body: bytes, headers: Mapping[str, str], *, base_url: str, lang: str | None
) -> ParsedFeed:
    if kind == "telegram":
        return parse_preview(body, headers, base_url=base_url, lang=lang)
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if looks_like_json(body, content_type):
        return parse_json_feed(body, headers, base_url=base_url, lang=lang)
    return read_feed(body, headers, base_url=base_url, lang=lang)


async def read_source_async(
    kind: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    base_url: str,
    lang: str | None = None,
) -> ParsedFeed:
    """`read_source` in a worker thread: a big document takes long enough to stall the loop."""
    return await asyncio.to_thread(read_source, kind, body, headers, base_url=base_url, lang=lang)
