"""The work behind the CLI commands that never talk to Telegram (no aiogram import here)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.analysis import open_analysis
from bot.citation import cited_outlet
from bot.config import FeedsConfig, Settings
from bot.errors import ConfigError
from bot.fetch import Fetcher
from bot.refresh import FeedReport, Refresher
from bot.relevance import Classifier
from bot.search import QueryBuilder
from bot.status import healthy, status_lines
from bot.storage import Source, Storage, Story


async def poll_once(settings: Settings, feeds: FeedsConfig, out: TextIO) -> int:
    """Refresh every feed once; print the new relevant stories, then one line per feed.
    Alerts for subscribed chats are queued as usual; the running bot sends them."""
    classifier = Classifier.from_extension(feeds.lexicon)
    storage = await Storage.open(settings.database_path, lemmatizer=classifier.lemmatizer)
    try:
        await storage.feeds.sync(feeds.feeds, now=time.time())
        workers = settings.analysis_workers
        async with Fetcher() as fetcher, open_analysis(workers, classifier) as a:
            refresher = Refresher(storage, fetcher, a, alert_max_age=feeds.alert_max_age)
            reports = await refresher.refresh(await storage.feeds.all())
    finally:
        await storage.close()
    for report in reports:
        for story in report.new_stories:
            out.write(story_line(story) + "\n")
    for report in reports:
        out.write(report_line(report) + "\n")
    return 0


def story_line(story: Story) -> str:
    day = story.published_at.strftime("%Y-%m-%d") if story.published_at else "----------"
    countries = ",".join(story.countries) or "-"
    title = story.headline or "(no title)"
    outlet = cited_outlet(story.outlet, story.via)
    return f"{day}  {outlet}  {title}  {story.link or '-'}  [{countries}]"


def report_line(report: FeedReport) -> str:
    if report.status == "ok":
        new = len(report.new_stories)
        return f"{report.feed}: ok ({report.entries} entries, {new} new relevant)"
    if report.status == "not_modified":
        return f"{report.feed}: not modified"
    if report.status == "held":  # nothing wrong with the feed: another's answer paused its host
        return f"{report.feed}: not polled: {report.detail}"
    return f"{report.feed}: error: {report.detail}"


async def search_stories(
    settings: Settings, query_text: str, limit: int, as_json: bool, out: TextIO
) -> int:
    """Stories matching `query_text`, one line each. Days are UTC, those of `since:`/`until:`
    and those printed: the command line has no chat, so no chat's zone."""
    query = QueryBuilder().build(query_text)
    storage = await Storage.open(existing(settings.database_path), writing=False)
    try:
        stories = await storage.search.stories(query, limit=limit)
        sources = await storage.stories.sources_of([s.id for s in stories]) if as_json else {}
    finally:
        await storage.close()
    for story in stories:
        if as_json:
            line = json.dumps(story_json(story, sources.get(story.id, [])), ensure_ascii=False)
        else:
            line = story_line(story)
        out.write(line + "\n")
    if not stories and not as_json:
        out.write("nothing found\n")
    return 0


def story_json(story: Story, sources: Sequence[Source] = ()) -> dict[str, object]:
    """A story for scripts. "published" is the feed's date, null for an undated story or
    report (it is cited: the day the bot saw it is not its date); "seen" is that day.
    "outlet" is the one a report is cited by, "via" the feed it came through when that is
    not the outlet (an aggregator's, Google News's: its "link" is Google's), else null."""
    return {
        "id": story.number,  # what /story takes, and what a citation names
        "title": story.title,
        "summary": story.summary,
        "link": story.link,
        "outlet": story.outlet,
        "via": story.via,
        "published": _iso(story.published_at),
        "seen": _iso(story.seen_at),
        "countries": list(story.countries),
        "action": story.action,
        "sources": story.sources,
        "reports": [
            {
                "outlet": s.outlet,
                "via": s.via,
                "title": s.title,
                "link": s.link,
                "lang": s.lang,
                "published": _iso(s.published_at),
                "seen": _iso(s.seen_at),
            }
            for s in sources
        ],
    }


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def existing(path: Path) -> Path:
    """`path` when a database is there: the reading commands must not create an empty one
    (a mistyped DATABASE_PATH would look like a bot with nothing stored)."""
    if str(path) != ":memory:" and not path.is_file():
        raise ConfigError(
            f"DATABASE_PATH {path}: no database there (the bot creates it when it first runs)"
        )
    return path


async def show_status(settings: Settings, health_only: bool, out: TextIO) -> int:
    storage = await Storage.open(existing(settings.database_path), maintain=False)
    try:
        if health_only:
            alive = await healthy(storage)
            out.write("healthy\n" if alive else "unhealthy: no recent heartbeat\n")
            return 0 if alive else 1
        for line in await status_lines(storage):
            out.write(line + "\n")
    finally:
        await storage.close()
    return 0
