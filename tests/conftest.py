"""Shared fixtures: a real SQLite file per test (never mocks), fixed clocks, sample entries."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest

from bot.analysis import LocalAnalysis
from bot.model import Entry, FeedSpec, Verdict
from bot.public_hosts import is_public
from bot.refresh import Fetches, Refresher
from bot.relevance import Classifier
from bot.storage import FeedState, Incoming, Storage
from bot.stories import canonical_url, content_hash
from tests.fakes.feedserver import FeedServer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
NOW = datetime(2026, 2, 3, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    """The real classifier (pure, and slow to build only the first time): one per session."""
    return Classifier.from_extension()


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    """The local feed server (`tests/fakes/feedserver.py`)."""
    async with FeedServer() as srv:
        yield srv


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    store = await Storage.open(tmp_path / "test.sqlite3")
    try:
        yield store
    finally:
        await store.close()


def make_entry(
    title: str = "Kazakhstan extradites Russian deserter",
    *,
    summary: str = "A deserter was handed over to Russia.",
    link: str | None = "https://example.org/news/1",
    guid: str | None = None,
    published: float | None = NOW - 3600,
) -> Entry:
    return Entry(
        title=title,
        summary=summary,
        link=link,
        guid=guid,
        published=None if published is None else datetime.fromtimestamp(published, UTC),
    )


RELEVANT = Verdict(True, 0.9, ("KZ", "RU"), "extradition", ("action:extradite",))
IRRELEVANT = Verdict(False, 0.1)


def incoming(entry: Entry, verdict: Verdict = RELEVANT, key: str | None = None) -> Incoming:
    return Incoming(
        entry=entry,
        key=key or f"url:{canonical_url(entry.link or 'https://x.invalid/')}",
        canonical_url=canonical_url(entry.link) if entry.link else None,
        content_hash=content_hash(entry),
        verdict=verdict,
    )


async def add_feeds(storage: Storage, *names: str) -> list[FeedState]:
    """Sync feeds named `names` (URLs derived from the names); returns them in that order."""
    specs = [FeedSpec(name=n, url=f"https://{n.lower()}.example/rss") for n in names]
    await storage.feeds.sync(specs, now=NOW)
    by_name = {f.name: f for f in await storage.feeds.all()}
    return [by_name[n] for n in names]


def public_or_loopback(address: IPv4Address | IPv6Address) -> bool:
    """For `Fetcher(page_addresses=...)`: a test that serves article pages from the local feed
    server opts in to fetching them from loopback, which the bot itself refuses."""
    return address.is_loopback or is_public(address)


def make_refresher(
    storage: Storage, fetcher: Fetches, classifier: Classifier, **kw: Any
) -> Refresher:
    """The refresh path as the bot wires it with ANALYSIS_WORKERS=0, its jitter seeded."""
    kw = {"alert_max_age": 48 * 3600, "rng": random.Random(1), **kw}
    return Refresher(storage, fetcher, LocalAnalysis.of(classifier), **kw)


# An RSS item (for `tests.fakes.feedserver.rss`) that the real classifier finds relevant.
RELEVANT_ITEM = {
    "title": "Казахстан экстрадировал в Россию антивоенного активиста",
    "link": "https://example.org/a",
    "description": "Власти Казахстана выдали России активиста, который бежал от мобилизации.",
    "guid": "a",
}


def dated(item: dict[str, str], *, age: timedelta = timedelta(minutes=5)) -> dict[str, object]:
    """The item published `age` ago (fresh enough to alert by default)."""
    return {**item, "pubDate": datetime.now(UTC) - age}
