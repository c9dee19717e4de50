"""Plain data passed between the stages of the refresh path.

Frozen dataclasses with no behaviour beyond trivial helpers, so every stage can be tested with
values written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NamedTuple

SourceKind = Literal["feed", "telegram"]


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One source from feeds.yaml."""

    name: str
    url: str
    lang: str | None = None
    interval: float = 600.0  # seconds between polls when healthy, where adapting starts
    kind: SourceKind = "feed"  # "telegram": `url` is the channel's t.me/s/ web preview
    min_interval: float | None = None  # adaptive polling stays between these (None: interval)
    max_interval: float | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a conditional GET brought back."""

    url: str  # the final URL after redirects
    not_modified: bool
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # the new address when every redirect hop was permanent


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item, normalised: plain text, bounded lengths, a validated link, a UTC date."""

    title: str
    summary: str
    link: str | None  # absolute http(s) URL or None
    guid: str | None
    published: datetime | None  # timezone-aware, UTC
    lang: str | None = None
    # The outlet the item names as its own (RSS/Atom <source>: an aggregator's item, such as
    # Google News's), cited before the feed it came through; None: the feed is the outlet.
    named_outlet: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a source's document said: its entries and how long it asks to be left alone."""

    entries: tuple[Entry, ...]
    ttl: float | None = None  # seconds, from RSS <ttl> (given in minutes there)
    # One per entry, or () when not worked out: `bot.sources.read_source` does.
    facts: tuple[EntryFacts, ...] = ()


class EntryFacts(NamedTuple):
    """What needs no dictionaries to know about one entry's own feed text, worked out with the
    reading so that a reading worker process does it rather than the bot's busy one. (A tuple:
    one crosses over from the worker for every entry, and a tuple unpickles fastest.)"""

    content_hash: str  # bot.stories.content_hash
    canonical_url: str | None  # bot.stories.canonical_url of its link
    people: frozenset[str]  # bot.people.person_keys of its title and lead
    first_names: frozenset[str] = frozenset()  # bot.people.NamedPeople.first_names of them


@dataclass(frozen=True, slots=True)
class Verdict:
    """The relevance module's answer for one entry."""

    relevant: bool
    score: float
    countries: tuple[str, ...] = ()  # ISO 3166 alpha-2, upper-case
    action: str | None = None  # extradition, deportation, detention, abduction, asylum, ...
    reasons: tuple[str, ...] = ()  # the matched terms, "concept:term"
