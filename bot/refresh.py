"""The refresh path, one linear function per feed:

    due feed -> conditional GET -> read by kind, with each entry's content hash, canonical link
             and people (`bot.analysis`: a worker) -> identity
             -> full text for new thin entries (budgeted) -> relevance, watchlists and
             fingerprint of the new and edited entries (`bot.analysis`) -> store in one
             transaction; the storage returns only what is NEW and queues its alerts
             -> wake the sender -> next check: adapted interval, server hints, jitter
             (`bot.schedule`)
    end of the cycle -> the search rows of the stories it changed (`bot.analysis`), written
             once each (`bot.storage.search_index`)

A failure of one feed (`FeedError`) becomes that feed's logged error and a backoff step; the
other feeds carry on. A 410 disables the feed at once, and so does failing for
`DISABLE_AFTER`. A permanent redirect moves its stored address before anything it fetched is
judged or stored; one onto another listed feed's address disables it instead. Any other
exception from one feed is a bug: it is logged with its traceback at ERROR and then treated
like a `FeedError` of that feed (recorded without its message, which may quote the feed), so
that one feed's bug never stops the cycle, the admins' notices or its own backoff. A bug in
fetching or reading one article page (`bot.article_pages`) is logged the same way and costs
only that page (the entry keeps its feed text).

A database refusing writes (`sqlite3.OperationalError`: a full disk) fails no feed, nor can
its error be stored: the cycle logs one ERROR line for all such feeds, each held in memory for
a backoff step (`bot.unstored`). A cycle ends only when all its feeds have, whatever happened.

Limits, two of them and each in one place. Requests on the wire are the fetcher's: at most a
few per host and `Fetcher(concurrency=...)` in all, per request, so a feed's own fetch and its
up to `fulltext_pages` article pages count alike. Feeds in flight are this module's: at most
`concurrency` refreshes at once, which bounds the bodies held and the readings queued for the
workers. A feed's slot is taken before, and released after, the request slots of its fetches,
and a request waits for nothing while it holds its slots, so the two cannot deadlock. Feeds are
started interleaved by host, so one big host does not hold every feed slot while its own limit
makes them wait.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from bot import fulltext
from bot.analysis import Analysis
from bot.article_pages import ArticlePages
from bot.channel_pages import with_earlier_posts
from bot.errors import (
    ConnectError,
    FeedError,
    FetchError,
    FetchTimeout,
    HostPaused,
    HTTPStatusError,
)
from bot.fetch import interleave_by_host
from bot.model import Entry, EntryFacts, FetchResult, ParsedFeed
from bot.schedule import (
    JITTER,
    MAX_BACKOFF,
    STREAK_GAP,
    adapt,
    backoff,
    bounds,
    disable_reason,
    server_hint,
    streak_start,
    with_hint,
)
from bot.storage import FeedState, Incoming, Storage, Story
from bot.storage.feeds import MOVED_ONTO
from bot.stories import entry_keys
from bot.unstored import Unstored
from bot.watch import WatchTerm, terms_of

__all__ = ["MAX_BACKOFF", "FeedReport", "Refresher"]

log = logging.getLogger(__name__)

FULLTEXT_PAGES_PER_CYCLE = 20


class Fetches(Protocol):
    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        untrusted: bool = False,
    ) -> FetchResult: ...


@dataclass(frozen=True, slots=True)
class FeedReport:
    """How one feed's refresh went, for logs and `poll --once`."""

    feed: str
    status: Literal["ok", "not_modified", "held", "error"]  # held: not polled, its host waits
    detail: str = ""
    entries: int = 0
    new_stories: tuple[Story, ...] = ()
    alerted: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class _Cycle:
    """What the feeds of one cycle share."""

    budget: fulltext.Budget  # article pages left to fetch
    watches: tuple[WatchTerm, ...]
    refused: list[sqlite3.OperationalError] = field(default_factory=list)  # one per feed


class Refresher:
    def __init__(
        self,
        storage: Storage,
        fetcher: Fetches,
        analysis: Analysis,
        *,
        alert_max_age: float,
        concurrency: int = 16,
        fulltext_pages: int = FULLTEXT_PAGES_PER_CYCLE,
        on_queued: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._storage = storage
        self._fetcher = fetcher
        self._pages = ArticlePages(fetcher)
        self._analysis = analysis
        self._alert_max_age = alert_max_age
        self._limit = asyncio.Semaphore(concurrency)
        self._fulltext_pages = fulltext_pages
        self._on_queued = on_queued
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not cryptography
        self._answered_at: float | None = None  # when some feed's server last answered
        self._unstored = Unstored()

    async def refresh_due(self) -> list[FeedReport]:
        now = self._clock()
        due = await self._storage.feeds.due(now)
        return await self.refresh(f for f in due if not self._unstored.waiting(f.id, now))

    async def refresh(self, feeds: Iterable[FeedState]) -> list[FeedReport]:
        """One cycle over `feeds`; the reports come back in the order the feeds went in."""
        # Read once a cycle: a watch added meanwhile counts from the next cycle on.
        watches = tuple(terms_of(await self._storage.watchlist.terms()))
        cycle = _Cycle(fulltext.Budget(self._fulltext_pages), watches)
        listed = list(feeds)
        started = interleave_by_host(listed, lambda feed: feed.url)
        # Every feed's refresh ends before the cycle does, even when one raises: else it ran
        # on untracked, and the next tick (or a stop closing the database) came upon it.
        results = await asyncio.gather(
            *(self._guarded(f, cycle) for f in started), return_exceptions=True
        )
        await self._flush(cycle)
        if raised := [r for r in results if isinstance(r, BaseException)]:
            raise raised[0]
        reports = [r for r in results if isinstance(r, FeedReport)]  # all of them, by now
        by_id = {feed.id: report for feed, report in zip(started, reports, strict=True)}
        return [by_id[feed.id] for feed in listed]

    async def _flush(self, cycle: _Cycle) -> None:
        """Once a cycle, however many feeds reported a story (`bot.storage.search_index`);
        then the cycle's one line for the writes the database refused."""
        refused, index = cycle.refused, ""
        try:
            await self._storage.search_index.flush_with(self._analysis.search_rows)
        except sqlite3.OperationalError as exc:  # the queue stays stored, for a later cycle
            refused, index = [*refused, exc], ", nor the search index"
        if refused:
            log.error(
                "the database refuses writes (%s): feeds not recorded: %d%s",
                refused[0], len(cycle.refused), index,
            )  # fmt: skip

    async def _guarded(self, feed: FeedState, cycle: _Cycle) -> FeedReport:
        async with self._limit:
            try:
                report = await self._recorded(feed, cycle)
            except sqlite3.OperationalError as exc:
                cycle.refused.append(exc)  # logged once for the cycle, by `_flush`
                self._unstored.hold(feed, self._clock(), self._jittered)
                return FeedReport(feed.name, "error", "not recorded: the database refuses writes")
        self._unstored.stored(feed.id)
        return report

    async def _recorded(self, feed: FeedState, cycle: _Cycle) -> FeedReport:
        try:
            return await self.refresh_feed(feed, cycle)
        except sqlite3.OperationalError:
            raise  # the database's, not this feed's: see `_guarded`
        except Exception as exc:
            # A bug, but one feed's: the other feeds, the admins' notices and this feed's
            # backoff must not depend on every feed being free of it.
            log.exception("feed %s: unexpected %s (a bug)", feed.name, type(exc).__name__)
            return await self._failed(feed, exc)

    async def refresh_feed(self, feed: FeedState, cycle: _Cycle) -> FeedReport:
        try:
            result = await self._fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
            self._answered_at = self._clock()
            # Before anything it fetched is judged or stored: a feed moved onto another's
            # address would add that outlet's entries a second time, under its own name.
            if result.moved_to and (stopped := await self._move(feed, result.moved_to)):
                return stopped
            if result.not_modified:
                return await self._not_modified(feed, result)
            parsed = await self._analysis.read(
                feed.kind, result.body, result.headers, result.url, feed.lang
            )
        except HostPaused as exc:
            return await self._held(feed, exc)
        except FeedError as exc:
            return await self._failed(feed, exc)
        if feed.kind == "telegram" and feed.last_success_at is not None:
            parsed = await self._with_earlier_posts(feed, result.url, parsed)
        entries = list(parsed.entries)
        facts = parsed.facts
        keys = entry_keys(entries, feed.url)
        stored = await self._storage.feeds.stored_entries(feed.id, keys)
        unseen = set(keys) - stored.keys()
        # A channel's post is its whole text: its page (t.me/<channel>/<n>) has nothing more.
        thin = [] if feed.kind == "telegram" else fulltext.thin(entries, keys, unseen)
        texts = await self._pages.texts(entries, thin, cycle.budget)
        # An entry stored with the same text (a story's report: at the same address too) is
        # nothing to the storage: not classified, fingerprinted nor sent.
        fresh = [i for i, k in enumerate(keys) if k not in stored or stored[k].changed(facts[i])]
        items = await self._judge(
            feed, entries, facts, keys, texts, only=fresh, watches=cycle.watches
        )
        saved = await self._storage.stories.save(
            feed, items, now=self._clock(), alert_max_age=self._alert_max_age
        )
        await self._succeeded(feed, result, parsed, changed=bool(unseen))
        if saved.deliveries:
            self._on_queued()
        log.info(
            "feed %s: %d entries, %d new, %d full texts, %d new stories, %d deliveries queued",
            feed.name, len(entries), len(unseen), len(texts), len(saved.new_stories),
            saved.deliveries,
        )  # fmt: skip
        return FeedReport(feed.name, "ok", "", len(entries), saved.new_stories, saved.alerted)

    async def _with_earlier_posts(
        self, feed: FeedState, url: str, parsed: ParsedFeed
    ) -> ParsedFeed:
        async def read_page(page_url: str) -> ParsedFeed:
            result = await self._fetcher.fetch(page_url)
            return await self._analysis.read(
                feed.kind, result.body, result.headers, result.url, feed.lang
            )

        async def stored(keys: Sequence[str]) -> Collection[str]:
            return (await self._storage.feeds.stored_entries(feed.id, keys)).keys()

        return await with_earlier_posts(feed.url, url, parsed, read_page=read_page, stored=stored)

    async def _judge(
        self,
        feed: FeedState,
        entries: Sequence[Entry],
        facts: Sequence[EntryFacts],
        keys: Sequence[str],
        texts: dict[int, str],
        *,
        only: Sequence[int],
        watches: tuple[WatchTerm, ...],
    ) -> list[Incoming]:
        # The article text, where one was fetched, is what gets judged; the content hash
        # stays the feed's own text: the next poll sees the thin entry again, and that must
        # not count as an edit that undoes the article text. The people the reading found
        # are the feed text's, so an article's are worked out again (None).
        full = [replace(entries[i], summary=texts[i]) if i in texts else entries[i] for i in only]
        if not full:
            return []
        known = [None if i in texts else facts[i] for i in only]
        judged = await self._analysis.judge(full, feed.lang, watches, known)
        return [
            Incoming(
                entry=entry,
                key=keys[i],
                canonical_url=facts[i].canonical_url,
                content_hash=facts[i].content_hash,
                verdict=j.verdict,
                watchers=j.watchers,
                fingerprint=j.fingerprint,
            )
            for i, entry, j in zip(only, full, judged, strict=True)
        ]

    async def _succeeded(
        self, feed: FeedState, result: FetchResult, parsed: ParsedFeed, *, changed: bool
    ) -> None:
        floor, ceiling = bounds(feed.interval, feed.min_interval, feed.max_interval)
        published = [e.published.timestamp() for e in parsed.entries if e.published]
        interval = adapt(
            feed.current_interval, floor=floor, ceiling=ceiling, changed=changed,
            published=published,
        )  # fmt: skip
        hint = server_hint(result.headers, ttl=parsed.ttl)
        await self._storage.feeds.record_success(
            feed.id,
            now=self._clock(),
            next_check_at=self._clock() + self._wait(interval, hint, ceiling),
            etag=result.etag,
            last_modified=result.last_modified,
            poll_interval=interval,
            changed=changed,
            ttl=parsed.ttl,
        )

    async def _not_modified(self, feed: FeedState, result: FetchResult) -> FeedReport:
        floor, ceiling = bounds(feed.interval, feed.min_interval, feed.max_interval)
        interval = adapt(feed.current_interval, floor=floor, ceiling=ceiling, changed=False)
        hint = server_hint(result.headers, ttl=feed.ttl)  # a 304 has no body, so no <ttl>
        await self._storage.feeds.record_success(
            feed.id,
            now=self._clock(),
            next_check_at=self._clock() + self._wait(interval, hint, ceiling),
            etag=result.etag,
            last_modified=result.last_modified,
            poll_interval=interval,
            ttl=feed.ttl,
        )
        return FeedReport(feed.name, "not_modified")

    async def _failed(self, feed: FeedState, exc: Exception) -> FeedReport:
        now = self._clock()
        # A bug's message may quote the feed's bytes; the traceback in the log has it.
        detail = exc if isinstance(exc, FeedError) else "internal error"
        reason = f"{type(exc).__name__}: {detail}"
        retry_after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
        since = streak_start(feed.failing_since, feed.last_error_at, now)
        errors = feed.error_count + 1 if since == feed.failing_since else 1
        unanswered = isinstance(exc, ConnectError | FetchTimeout)
        if isinstance(exc, FetchError) and not unanswered:
            self._answered_at = now  # an error status, a redirect loop: its server answered
        elif unanswered and (self._answered_at is None or now - self._answered_at > STREAK_GAP):
            # No server has answered lately: the bot's own network is down (DNS, a cable),
            # which says nothing about this feed. Its failing counts from when others answer
            # again; else three days of it disabled every feed, for good.
            since = now
        delay = backoff(feed.interval, errors, retry_after)
        asked = min(retry_after, MAX_BACKOFF) if retry_after is not None else 0.0
        await self._storage.feeds.record_error(
            feed.id, reason, now=now, next_check_at=now + self._jittered(delay, at_least=asked),
            failing_since=since, errors=errors,
        )  # fmt: skip
        status = exc.status if isinstance(exc, HTTPStatusError) else None
        disabled = disable_reason(status, since, now)
        if disabled:
            await self._storage.feeds.disable(feed.id, disabled, now=now)
            log.warning("feed %s: %s; disabled: %s", feed.name, reason, disabled)
            return FeedReport(feed.name, "error", f"{reason} (disabled: {disabled})")
        log.warning("feed %s: %s (error %d, next try in %.0fs)", feed.name, reason, errors, delay)
        return FeedReport(feed.name, "error", reason)

    async def _held(self, feed: FeedState, exc: HostPaused) -> FeedReport:
        """Not polled: its host asked this client to wait (another feed's 429 or 503, or an
        article page's). It is due when the wait is over; the host said nothing about this
        feed, so its error streak neither grows nor ends."""
        wait = self._jittered(exc.retry_after, at_least=exc.retry_after)
        await self._storage.feeds.postpone(feed.id, next_check_at=self._clock() + wait)
        log.info("feed %s: not polled, %s", feed.name, exc)
        return FeedReport(feed.name, "held", f"{type(exc).__name__}: {exc}")

    async def _move(self, feed: FeedState, url: str) -> FeedReport | None:
        """Store the address the feed moved to for good on the way. When another feed is
        polled there, this one is disabled instead and its report returned, and nothing it
        fetched is kept: polled twice, that address's outlet would count twice in every story;
        the admins are told (`bot.telegram.feeds`) and feeds.yaml keeps the other. It is
        disabled at the address it moved onto, which is what a restart compares
        (`bot.storage.feeds`): at the old one, each start found nobody polled there and
        resumed it, and its next poll disabled it again, telling the admins again."""
        other = await self._storage.feeds.move(feed.id, url, now=self._clock())
        if other is None:
            log.warning("feed %s moved permanently; its stored address is updated", feed.name)
            return None
        reason = f"{MOVED_ONTO}{other}"
        log.warning("feed %s: %s; disabled", feed.name, reason)
        return FeedReport(feed.name, "error", f"disabled: {reason}")

    def _wait(self, interval: float, hint: float | None, ceiling: float) -> float:
        """Until the next poll: the interval, lengthened by the server's hint up to the
        ceiling, jittered; never shorter than the hint asked (up to the ceiling)."""
        asked = min(hint, ceiling) if hint is not None else 0.0
        return self._jittered(with_hint(interval, hint, ceiling), at_least=asked)

    def _jittered(self, seconds: float, *, at_least: float = 0.0) -> float:
        """`seconds`, give or take `JITTER`, but never less than a server asked for."""
        return max(seconds * (1.0 + self._rng.uniform(-JITTER, JITTER)), at_least)
