"""What the storage hands out and takes in: plain frozen dataclasses, no SQL."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from bot.fingerprint import Fingerprint
from bot.html_text import BLANK_LETTERS
from bot.model import Entry, EntryFacts, Verdict
from bot.storage.db import Row
from bot.stories import BLANK_CONTENT


def outlet_name(feed_name: str) -> str:
    """The outlet a feed's reports cite. A feed no longer listed whose name went to another is
    stored as its name, a NUL and its id (`bot.storage.feeds`): its reports are still that
    outlet's, and the rest is no name for users to read."""
    return feed_name.partition("\0")[0]


def outlet_and_via(feed_name: str, named_outlet: str | None) -> tuple[str, str | None]:
    """(outlet, via) that a report is cited by: the outlet its item names (RSS <source>, an
    aggregator's item: Google News's) and the feed it came through, else the feed and None."""
    feed = outlet_name(feed_name)
    if named_outlet and named_outlet != feed:
        return named_outlet, feed
    return feed, None


@dataclass(frozen=True, slots=True)
class FeedState:
    """A feed with its scheduling state."""

    id: int
    name: str
    url: str
    lang: str | None
    interval: float
    etag: str | None
    last_modified: str | None
    next_check_at: float
    error_count: int
    last_error: str | None
    last_error_at: float | None
    last_success_at: float | None
    kind: str = "feed"
    source_url: str | None = None
    min_interval: float | None = None
    max_interval: float | None = None
    poll_interval: float | None = None
    last_new_at: float | None = None
    failing_since: float | None = None
    disabled_reason: str | None = None
    disabled_at: float | None = None
    told_failing_at: float | None = None
    told_disabled_at: float | None = None
    ttl: float | None = None  # the last RSS <ttl> the feed sent, in seconds

    @property
    def current_interval(self) -> float:
        """The adapted interval, or the configured one before any adapting."""
        return self.poll_interval or self.interval

    @classmethod
    def from_row(cls, row: Row) -> FeedState:
        return cls(**{name: row[name] for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class Incoming:
    """One parsed, classified entry on its way into the store."""

    entry: Entry
    key: str
    canonical_url: str | None
    content_hash: str
    verdict: Verdict
    watchers: frozenset[int] = frozenset()  # chats whose watchlist the entry mentions
    fingerprint: Fingerprint | None = None  # None: joins stories by canonical URL only


@dataclass(frozen=True, slots=True)
class Story:
    """A story as the renderers and the CLI see it."""

    id: int
    title: str
    summary: str
    link: str | None
    outlet: str  # the outlet its head report is cited by (`outlet_and_via`)
    published_at: datetime | None
    countries: tuple[str, ...]
    action: str | None
    reasons: tuple[str, ...]
    sources: int  # how many outlets reported it
    outlets: tuple[str, ...] = ()  # their names, the first reporter first
    broadcast: bool = True  # False: kept only for the watchlists it mentions (bot.storage.stories)
    # What users see and cite (/story 12): numbers count public stories only; None for a
    # watch-only one (migration 14).
    number: int | None = None
    # Every country a relevant report of it named (the chats' country filters meet these when
    # its alert is sent); None: unknown, for some stories stored before (migration 16).
    report_countries: tuple[str, ...] | None = None
    # When the bot stored it. `published_at` is its feed's date only (None: the feed gave
    # none): a lawyer cites it, so the day the bot saw the story never stands in for it.
    seen_at: datetime | None = None
    # The feed its head report came through when that report names another outlet as its own
    # (`outlet_and_via`: "Meduza (via Google News - ...)"); None: the feed is the outlet.
    via: str | None = None

    @classmethod
    def from_row(cls, row: Row) -> Story:
        reported = row["report_countries"]
        outlets = row["outlets"].split(_SEPARATOR) if row["outlets"] else ()
        outlet, via = outlet_and_via(row["outlet"], row["named_outlet"])
        return cls(
            id=row["id"],
            title=row["title"],
            summary=row["summary"],
            link=row["link"],
            outlet=outlet,
            published_at=_time(row["published_at"]),
            countries=tuple(row["countries"].split()),
            action=row["action"],
            reasons=tuple(json.loads(row["reasons"])),
            sources=row["sources"],
            outlets=tuple(map(outlet_name, outlets)),
            broadcast=bool(row["broadcast"]),
            number=row["number"],
            report_countries=None if reported is None else tuple(reported.split()),
            seen_at=_time(row["seen_at"]),
            via=via,
        )

    @property
    def headline(self) -> str:
        """The title; a story whose first report had none (RSS allows an item with only a
        description) goes by its summary's first sentence, so that it still reads; "" when
        it has neither. Uncut: each caller cuts it to its own bound (`bot.render.lead_of`,
        given this headline, does not repeat it, which a cut one with its "…" would break).
        A title of nothing visible (zero-width or format characters, `BLANK_LETTERS` only) is
        none: it would make an invisible link."""
        if any(unicodedata.category(c)[0] in "LNPS" and c not in BLANK_LETTERS for c in self.title):
            return self.title
        return SENTENCE_END.split(" ".join(self.summary.split()), maxsplit=1)[0]


# A sentence ends at . ! ? … before a capital or a digit (an abbreviation's dot rarely is).
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"«“(\[]?[A-ZА-ЯЁІЇЄҐ0-9])")
# What STORY_COLUMNS joins outlet names with: never in a feed's name, nor in one an item gives
# (bot.parse reads it as text, which has no control characters).
_SEPARATOR = "\x1f"


@dataclass(frozen=True, slots=True)
class Source:
    """One report of a story: who published it, under which title and link, when."""

    outlet: str  # the outlet it is cited by (`outlet_and_via`)
    title: str | None
    link: str | None
    lang: str | None
    published_at: datetime | None  # its feed's date; None: undated (see `Story.seen_at`)
    seen_at: datetime | None = None  # when the bot first stored it
    via: str | None = None  # the feed it came through, when that is not the outlet

    @classmethod
    def from_row(cls, row: Row) -> Source:
        outlet, via = outlet_and_via(row["outlet"], row["named_outlet"])
        return cls(
            outlet=outlet,
            title=row["title"],
            link=row["link"],
            lang=row["lang"],
            published_at=_time(row["published_at"]),
            seen_at=_time(row["seen_at"]),
            via=via,
        )


def _time(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class ReportText(NamedTuple):
    """What one report of a story said, as stored: its title, its lead and its language. The
    lead is "" for a story's first report until it is edited (its lead is the story's, which
    `Stories.texts_of` gives first, in that report's language) and for reports stored before
    migration 11; an edit stores the report's new lead, since the story itself takes the edit
    only while the report is its only source."""

    title: str
    lead: str
    lang: str | None


class StoredEntry(NamedTuple):
    """What a refresh needs of an entry its feed stored, to pass on only the entries the
    storage has something to do with: its content hash, and for a report of a story the
    address it is cited at ("" for none; None: no story, nothing to cite)."""

    content_hash: str
    cited_url: str | None

    def changed(self, facts: EntryFacts) -> bool:
        """Whether the feed's entry now is an edit, or a story's report at a new address
        (`bot.storage.edits.moved`, the same rule). An entry with no text now is neither
        (`bot.storage.edits.blank`, the same rule)."""
        if facts.content_hash == BLANK_CONTENT:
            return False
        if facts.content_hash != self.content_hash:
            return True
        return moved_address(self.cited_url, facts.canonical_url)


def moved_address(cited_url: str | None, canonical_url: str | None) -> bool:
    """Whether a report cited at `cited_url` (None: no story's report, nothing cited; "" or a
    stored NULL: none yet) is now at `canonical_url`, another address: a slug changed alone."""
    return cited_url is not None and canonical_url not in (None, cited_url)


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat's subscription and settings. `countries` empty means every country; the meaning
    of the settings is `bot.chat_settings`."""

    chat_id: int
    subscribed: bool
    countries: tuple[str, ...]
    thread_id: int | None
    active: bool
    language: str | None = None
    mode: str = "instant"
    digest_hour: int = 9
    utc_offset: int = 0
    quiet_from: int | None = None
    quiet_to: int | None = None
    previews: bool = False

    @classmethod
    def new(cls, chat_id: int) -> Chat:
        """The settings of a chat the bot has not stored yet."""
        return cls(chat_id, subscribed=False, countries=(), thread_id=None, active=True)

    @classmethod
    def from_row(cls, row: Row, prefix: str = "") -> Chat:
        """From a `chats` row, or from its columns selected with `prefix` in a join."""
        return cls(
            chat_id=row[f"{prefix}chat_id"],
            subscribed=bool(row[f"{prefix}subscribed"]),
            countries=tuple(row[f"{prefix}countries"].split()),
            thread_id=row[f"{prefix}thread_id"],
            active=bool(row[f"{prefix}active"]),
            language=row[f"{prefix}language"],
            mode=row[f"{prefix}mode"],
            digest_hour=row[f"{prefix}digest_hour"],
            utc_offset=row[f"{prefix}utc_offset"],
            quiet_from=row[f"{prefix}quiet_from"],
            quiet_to=row[f"{prefix}quiet_to"],
            previews=bool(row[f"{prefix}previews"]),
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row, with the story it carries.

    `message_id` is the Telegram message this delivery concerns: for an alert, the one it became
    once sent; for an edit, the sent alert of the same chat and story it rewrites. `plain` means
    Telegram rejected the rendered form once, so it goes as plain text."""

    id: int
    chat_id: int
    thread_id: int | None
    kind: str
    attempts: int
    created_at: float  # queued
    due_at: float  # fell due (a digest item: its digest time)
    message_id: int | None
    story: Story
    chat: Chat | None = None  # the chat's settings at the time `due()` read them
    plain: bool = False
    # first claimed by the sender (None: not yet); the give-up window starts at the later of
    # this and `due_at` (`bot.send_outcomes`)
    first_attempt_at: float | None = None
