"""End to end: the real bot process (`python -m bot run`) against a local feed server and the
fake Telegram Bot API. A user subscribes, a relevant story appears in a feed and arrives exactly
once; an irrelevant one does not; /search finds the story; SIGTERM stops the bot cleanly.
One event reported by three feeds in two languages (one link with tracking parameters, one
re-publication under new GUIDs) is one alert, edited in place to list every outlet."""

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


async def start_bot(
    tmp: Path,
    feeds: FeedServer,
    api: FakeBotAPI,
    sources: tuple[tuple[str, str, str], ...] = (("Local Outlet", "/rss", "ru"),),
    *,
    workers: int = 0,
    database: Path | None = None,
) -> asyncio.subprocess.Process:
    feeds_file = tmp / "feeds.yaml"
    listed = "".join(
        f"  - name: {name}\n    url: {feeds.url(path)}\n    lang: {lang}\n"
        for name, path, lang in sources
    )
    feeds_file.write_text(f"defaults:\n  interval: 1s\nfeeds:\n{listed}", encoding="utf-8")
    env = {
        **os.environ,
        "BOT_TOKEN": api.token,
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_PATH": str(database or tmp / "bot.sqlite3"),
        "FEEDS_FILE": str(feeds_file),
        "LOG_LEVEL": "DEBUG",
        "ANALYSIS_WORKERS": str(workers),
    }
    # A file, not a pipe: nobody reads a pipe while the test runs, and a bot blocked on a full
    # pipe stops polling.
    with (tmp / "bot.log").open("wb") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=REPO, env=env, stdout=log, stderr=log,
        )  # fmt: skip


async def stop_bot(bot: asyncio.subprocess.Process, tmp: Path) -> str:
    """SIGTERM (if still running), wait, and return what the bot logged."""
    if bot.returncode is None:
        bot.send_signal(signal.SIGTERM)
    await asyncio.wait_for(bot.wait(), 60)
    return (tmp / "bot.log").read_text("utf-8", "replace")


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
        log = await stop_bot(bot, tmp_path)
    assert bot.returncode == 0, log[-3000:]
    assert api.token not in log
    assert "Бажуков" not in log  # what users search for is never logged, even at DEBUG
    assert api.token.split(":")[1] not in log
    api.assert_no_violations()


THREE_FEEDS = (
    ("OVD-Info", "/ovd", "ru"),
    ("Euronews", "/euronews", "en"),
    ("Vot Tak", "/vt", "ru"),
)
RU_TITLE = "Казахстан выдал России дезертира Семёна Бажукова"
RU_TEXT = (
    "Власти Казахстана передали российским военным дезертира Семёна Бажукова, который просил "
    "убежища. Правозащитники называют выдачу нарушением международного права."
)


def report(guid: str, link: str, title: str = RU_TITLE, text: str = RU_TEXT) -> dict[str, object]:
    return {
        "title": title, "link": link, "description": text, "guid": guid,
        "pubDate": datetime.now(UTC),
    }  # fmt: skip


async def test_one_event_three_feeds_two_languages_one_alert_edited(
    tmp_path: Path, servers: tuple[FeedServer, FakeBotAPI]
) -> None:
    feeds, api = servers
    for _, path, _ in THREE_FEEDS:
        feeds.set_feed(path, rss([]))
    # Through a reading worker process, as ANALYSIS_WORKERS=1 runs it.
    bot = await start_bot(tmp_path, feeds, api, THREE_FEEDS, workers=1)
    try:
        api.user_message(USER, "/subscribe", user_id=USER)
        await api.wait_for_messages(USER, 1, timeout=60)

        feeds.set_feed("/ovd", rss([report("ovd-1", "https://ovd.example/news/bazhukov")]))
        messages = await api.wait_for_messages(USER, 2, timeout=30)
        assert "Бажукова" in messages[1]
        assert "Also reported by" not in messages[1]

        english = report(
            "en-1",
            "https://www.euronews.example/2026/02/bazhukov?utm_source=rss&utm_medium=feed&fbclid=1",
            "Kazakhstan hands Russian army deserter over to Moscow",
            "Kazakh authorities handed over Semyon Bazhukov, a Russian soldier who deserted and "
            "sought asylum, to Russian military police, rights groups said on Monday.",
        )
        feeds.set_feed("/euronews", rss([english]))
        feeds.set_feed("/vt", rss([report("vt-77", "https://vot-tak.example/news/77")]))
        await api.wait_for(
            lambda: (
                "Also reported by: Euronews, Vot Tak" in api.messages_to(USER)[1]
                or "Also reported by: Vot Tak, Euronews" in api.messages_to(USER)[1]
            ),
            timeout=60,
        )

        # Vot Tak re-publishes with a new GUID and an edited title: still nothing new to send.
        feeds.set_feed(
            "/vt", rss([report("vt-77-v2", "https://vot-tak.example/news/77", RU_TITLE + "!")])
        )
        polls = len(feeds.requests_to("/vt"))
        await api.wait_for(lambda: len(feeds.requests_to("/vt")) >= polls + 3, timeout=30)
        assert len(api.messages_to(USER)) == 2  # the reply and one alert, edited
        assert api.calls["sendMessage"] == 2
        [_, alert] = api.sent_to(USER)
        assert alert.edited
        assert "https://www.euronews.example/2026/02/bazhukov?utm_source=rss" in str(alert.entities)
    finally:
        log = await stop_bot(bot, tmp_path)
    assert bot.returncode == 0, log[-3000:]
    api.assert_no_violations()
