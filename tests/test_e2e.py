"""End to end: the real bot process (`python -m bot run`) against a local feed server and the
fake Telegram Bot API. A user subscribes, a relevant story appears in a feed and arrives exactly
once; an irrelevant one does not; /search finds the story; SIGTERM stops the bot cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.feedserver import FeedServer, rss

USER = 4242
SEED = SHARED / "seed" / "2026-02-03-kazakhstan-extraditions.ru.txt"

pytestmark = pytest.mark.timeout(180)


def seed_item() -> dict[str, object]:
    """The real article from shared/seed/, published a minute ago."""
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    title = next(line for line in lines if line.startswith("Казахстан выдает"))
    body = " ".join(line for line in lines if line != title and not line.startswith("date"))
    return {
        "title": title,
        "link": "https://example.org/news/kazakhstan-extraditions?utm_source=telegram",
        "description": f"<p>{body}</p>",
        "guid": "seed-1",
        "pubDate": datetime.now(UTC),
    }


IRRELEVANT = {
    "title": "Казахстан упростил выдачу виз для туристов из Европы",
    "link": "https://example.org/news/visas",
    "description": "Выдача виз займёт три рабочих дня, сообщили в МИД Казахстана.",
    "guid": "visa-1",
}


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FeedServer, FakeBotAPI]]:
    async with FeedServer() as feeds, FakeBotAPI() as api:
        yield feeds, api


async def start_bot(tmp: Path, feeds: FeedServer, api: FakeBotAPI) -> asyncio.subprocess.Process:
    feeds_file = tmp / "feeds.yaml"
    feeds_file.write_text(
        "defaults:\n  interval: 1s\nfeeds:\n"
        f"  - name: Local Outlet\n    url: {feeds.url('/rss')}\n    lang: ru\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "BOT_TOKEN": api.token,
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_PATH": str(tmp / "bot.sqlite3"),
        "FEEDS_FILE": str(feeds_file),
        "LOG_LEVEL": "DEBUG",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_subscribe_alert_once_ignore_irrelevant_search(
    tmp_path: Path, servers: tuple[FeedServer, FakeBotAPI]
) -> None:
    feeds, api = servers
    feeds.set_feed("/rss", rss([]))
    bot = await start_bot(tmp_path, feeds, api)
    try:
        api.user_message(USER, "/subscribe", user_id=USER)
        [reply] = await api.wait_for_messages(USER, 1, timeout=60)
        assert "Subscribed" in reply

        feeds.set_feed("/rss", rss([seed_item()]))
        messages = await api.wait_for_messages(USER, 2, timeout=30)
        alert = messages[1]
        assert "Казахстан выдает России" in alert
        assert "Local Outlet" in alert

        feeds.set_feed("/rss", rss([seed_item(), IRRELEVANT]))
        polls = len(feeds.requests_to("/rss"))
        await api.wait_for(lambda: len(feeds.requests_to("/rss")) >= polls + 3, timeout=30)

        api.user_message(USER, "/search Бажуков", user_id=USER)
        messages = await api.wait_for_messages(USER, 3, timeout=30)
        assert "Казахстан выдает России" in messages[2]
        assert len(messages) == 3  # one reply, one alert, one search result: no repeat, no visa
        assert not any("виз" in m for m in messages)
    finally:
        if bot.returncode is None:
            bot.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(bot.communicate(), 60)
    log = stderr.decode("utf-8", "replace")
    assert bot.returncode == 0, log[-3000:]
    assert api.token not in log
    assert api.token.split(":")[1] not in log
    api.assert_no_violations()
