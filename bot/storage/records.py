"""What the storage hands out and takes in: plain frozen dataclasses, no SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.model import Entry, Verdict
from bot.storage.db import Row


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


@dataclass(frozen=True, slots=True)
class Story:
    """A story as the renderers and the CLI see it."""

    id: int
    title: str
    summary: str
    link: str | None
    outlet: str
    published_at: datetime | None
    countries: tuple[str, ...]
    action: str | None
    reasons: tuple[str, ...]
    sources: int

    @classmethod
    def from_row(cls, row: Row) -> Story:
        published = row["published_at"]
        return cls(
            id=row["id"],
            title=row["title"],
            summary=row["summary"],
            link=row["link"],
            outlet=row["outlet"],
            published_at=None if published is None else datetime.fromtimestamp(published, UTC),
            countries=tuple(row["countries"].split()),
            action=row["action"],
            reasons=tuple(json.loads(row["reasons"])),
            sources=row["sources"],
        )


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat's subscription. `countries` empty means every country."""

    chat_id: int
    subscribed: bool
    countries: tuple[str, ...]
    thread_id: int | None
    active: bool


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
    created_at: float
    message_id: int | None
    story: Story
    plain: bool = False
