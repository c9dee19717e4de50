"""The refresh path, one linear function per feed:

    due feed -> conditional GET -> parse (worker thread)
             -> identity, relevance and fingerprint for merging (pure)
             -> store in one transaction; the storage returns only what is NEW and queues
                its alerts -> wake the sender

A failure of one feed (`FeedError`) becomes that feed's logged error and a backoff step; the
other feeds carry on. Anything else is a bug and propagates.

Scheduling state lives in the database (`next_check_at`, `error_count`): a healthy feed is next
due after its interval with +-10% jitter (so feeds added together spread out); a failing one
after interval * 2^errors, capped at `MAX_BACKOFF`, also jittered.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from bot.errors import FeedError, HTTPStatusError
from bot.fingerprint import Fingerprint, Fingerprinter
from bot.model import Entry, FetchResult, Verdict
from bot.parse import parse_feed_async
from bot.storage import FeedState, Incoming, Storage, Story
from bot.stories import canonical_url, content_hash, entry_keys

log = logging.getLogger(__name__)

MAX_BACKOFF = 6 * 3600.0
JITTER = 0.1


class Fetches(Protocol):
    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult: ...


class Classifies(Protocol):
    def classify(self, title: str, summary: str, lang: str | None = None) -> Verdict: ...


class Fingerprints(Protocol):
    def fingerprint(self, title: str, summary: str, lang: str | None = None) -> Fingerprint: ...


@dataclass(frozen=True, slots=True)
class FeedReport:
    """How one feed's refresh went, for logs and `poll --once`."""

    feed: str
    status: Literal["ok", "not_modified", "error"]
    detail: str = ""
    entries: int = 0
    new_stories: tuple[Story, ...] = ()
    alerted: frozenset[int] = field(default_factory=frozenset)


class Refresher:
    def __init__(
        self,
        storage: Storage,
        fetcher: Fetches,
        classifier: Classifies,
        *,
        alert_max_age: float,
        concurrency: int = 8,
        on_queued: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        fingerprinter: Fingerprints | None = None,
    ) -> None:
        self._storage = storage
        self._fetcher = fetcher
        self._classifier = classifier
        self._fingerprinter = fingerprinter or Fingerprinter()
        self._alert_max_age = alert_max_age
        self._limit = asyncio.Semaphore(concurrency)
        self._on_queued = on_queued
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not cryptography

    async def refresh_due(self) -> list[FeedReport]:
        return await self.refresh(await self._storage.feeds.due(self._clock()))

    async def refresh(self, feeds: Iterable[FeedState]) -> list[FeedReport]:
        return list(await asyncio.gather(*(self._guarded(feed) for feed in feeds)))

    async def _guarded(self, feed: FeedState) -> FeedReport:
        async with self._limit:
            return await self.refresh_feed(feed)

    async def refresh_feed(self, feed: FeedState) -> FeedReport:
        try:
            result = await self._fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
            if result.not_modified:
                await self._storage.feeds.record_not_modified(
                    feed.id, now=self._clock(), next_check_at=self._next_check(feed)
                )
                return FeedReport(feed.name, "not_modified")
            entries = await parse_feed_async(
                result.body, result.headers, base_url=result.url, lang=feed.lang
            )
        except FeedError as exc:
            return await self._failed(feed, exc)
        saved = await self._storage.stories.save(
            feed,
            self._classify(feed, entries),
            now=self._clock(),
            alert_max_age=self._alert_max_age,
        )
        await self._storage.feeds.record_success(
            feed.id,
            now=self._clock(),
            next_check_at=self._next_check(feed),
            etag=result.etag,
            last_modified=result.last_modified,
        )
        if saved.deliveries:
            self._on_queued()
        log.info(
            "feed %s: %d entries, %d new stories, %d deliveries queued",
            feed.name, len(entries), len(saved.new_stories), saved.deliveries,
        )  # fmt: skip
        return FeedReport(feed.name, "ok", "", len(entries), saved.new_stories, saved.alerted)

    def _classify(self, feed: FeedState, entries: Sequence[Entry]) -> list[Incoming]:
        keys = entry_keys(entries, feed.url)
        return [
            Incoming(
                entry=entry,
                key=key,
                canonical_url=canonical_url(entry.link) if entry.link else None,
                content_hash=content_hash(entry),
                verdict=self._classifier.classify(
                    entry.title, entry.summary, entry.lang or feed.lang
                ),
                fingerprint=self._fingerprinter.fingerprint(
                    entry.title, entry.summary, entry.lang or feed.lang
                ),
            )
            for entry, key in zip(entries, keys, strict=True)
        ]

    async def _failed(self, feed: FeedState, exc: FeedError) -> FeedReport:
        reason = f"{type(exc).__name__}: {exc}"
        retry_after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
        next_at = self._backoff(feed, retry_after)
        await self._storage.feeds.record_error(
            feed.id, reason, now=self._clock(), next_check_at=next_at
        )
        log.warning(
            "feed %s: %s (error %d, next try in %.0fs)",
            feed.name, reason, feed.error_count + 1, next_at - self._clock(),
        )  # fmt: skip
        return FeedReport(feed.name, "error", reason)

    def _next_check(self, feed: FeedState) -> float:
        return self._clock() + self._jittered(feed.interval)

    def _backoff(self, feed: FeedState, retry_after: float | None) -> float:
        delay = min(feed.interval * 2 ** min(feed.error_count + 1, 20), MAX_BACKOFF)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_BACKOFF))
        return self._clock() + self._jittered(delay)

    def _jittered(self, seconds: float) -> float:
        return seconds * (1.0 + self._rng.uniform(-JITTER, JITTER))
