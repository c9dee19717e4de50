"""Crash safety and graceful shutdown of the real bot process (`python -m bot run`).

Before the bot starts, 300 chats are subscribed in its database and its feed holds a fresh
relevant story, so the first poll queues a fan-out of 300 alerts (12 s at 25/s). The bot is
stopped mid-way, by kill -9 or by SIGTERM, and started again; then the alerts are counted per
chat.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.storage import Storage
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.feedserver import FeedServer, rss
from tests.test_e2e import seed_item, start_bot, stop_bot

CHATS = range(50_001, 50_301)
MAX_IN_FLIGHT = 8  # the sender's default: at most this many requests are in flight at a crash

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FeedServer, FakeBotAPI]]:
    async with FeedServer() as feeds, FakeBotAPI() as api:
        feeds.set_feed("/rss", rss([seed_item()]))
        yield feeds, api


async def subscribe_all(db_path: Path) -> None:
    storage = await Storage.open(db_path)
    try:
        for chat in CHATS:
            await storage.chats.subscribe(chat, [], thread_id=None, now=time.time())
    finally:
        await storage.close()


def alerts_per_chat(api: FakeBotAPI) -> Counter[int]:
    return Counter(m.chat_id for m in api.sent if m.chat_id in CHATS and not m.edited)


async def db_states(db_path: Path) -> dict[str, int]:
    storage = await Storage.open(db_path)
    try:
        rows = await storage.db.fetchall("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
    finally:
        await storage.close()
    return {r[0]: r[1] for r in rows}


async def books_match_telegrams(db_path: Path, api: FakeBotAPI) -> dict[str, int]:
    """After a graceful stop: every send finished and recorded, or released (none left
    `sending`), and the alerts recorded sent are the ones Telegram has. The states' counts."""
    found = await db_states(db_path)
    assert found.get("sending", 0) == 0, found
    assert found.get("sent", 0) == len(alerts_per_chat(api)), found
    return found


class Bot:
    """The bot process; it logs to a file (`tests.test_e2e.start_bot`), so it never stalls on a
    full pipe."""

    def __init__(self, process: asyncio.subprocess.Process, tmp: Path) -> None:
        self.process = process
        self._tmp = tmp

    @classmethod
    async def start(cls, tmp: Path, feeds: FeedServer, api: FakeBotAPI) -> Bot:
        return cls(await start_bot(tmp, feeds, api), tmp)

    async def stop(self, sig: int = signal.SIGTERM) -> str:
        """Send `sig` (unless it has exited), wait for the exit, return its log."""
        if self.process.returncode is None:
            self.process.send_signal(sig)
        await asyncio.wait_for(self.process.wait(), 60)
        return (self._tmp / "bot.log").read_text("utf-8", "replace")

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @classmethod
    async def run_until(
        cls,
        tmp: Path,
        feeds: FeedServer,
        api: FakeBotAPI,
        done: Callable[[], bool],
        *,
        within: float,
        settle: float = 0.0,
    ) -> None:
        """Start the bot, wait up to `within` seconds until `done()` (then `settle` seconds
        more), stop it with SIGTERM: a graceful stop, so it must exit 0."""
        bot = await cls.start(tmp, feeds, api)
        try:
            await api.wait_for(done, timeout=within)
            await asyncio.sleep(settle)
        finally:
            log = await bot.stop()
        assert bot.returncode == 0, log[-3000:]


async def test_kill_9_mid_fan_out_loses_nothing_and_repeats_at_most_the_in_flight(
    tmp_path: Path, servers: tuple[FeedServer, FakeBotAPI]
) -> None:
    feeds, api = servers
    await subscribe_all(tmp_path / "bot.sqlite3")
    # Answers take 0.2 s: at any moment some alerts are out but not yet known to the bot.
    api.delay_answers("sendMessage", 0.2)
    bot = await Bot.start(tmp_path, feeds, api)
    try:
        await api.wait_for(lambda: len(alerts_per_chat(api)) >= 100, timeout=90)
    finally:
        await bot.stop(signal.SIGKILL)  # no chance to record or release anything
    before = len(alerts_per_chat(api))
    assert before < len(CHATS)  # really mid-way
    api.delay_answers("sendMessage", 0)

    await Bot.run_until(
        tmp_path, feeds, api, lambda: len(alerts_per_chat(api)) == len(CHATS), within=120,
        settle=1,  # anything more would be a duplicate
    )  # fmt: skip

    counts = alerts_per_chat(api)
    assert set(counts) == set(CHATS)  # nothing lost
    repeated = [chat for chat, n in counts.items() if n > 1]
    assert all(n <= 2 for n in counts.values())  # at most one duplicate per chat ...
    assert 1 <= len(repeated) <= MAX_IN_FLIGHT  # ... for the sends in flight at the kill
    found = await db_states(tmp_path / "bot.sqlite3")
    assert found == {"sent": len(CHATS)}
    api.assert_no_violations()


async def test_sigterm_mid_fan_out_then_restart_delivers_exactly_once(
    tmp_path: Path, servers: tuple[FeedServer, FakeBotAPI]
) -> None:
    feeds, api = servers
    db_path = tmp_path / "bot.sqlite3"
    await subscribe_all(db_path)
    await Bot.run_until(tmp_path, feeds, api, lambda: len(alerts_per_chat(api)) >= 100, within=90)
    found = await books_match_telegrams(db_path, api)
    assert found.get("pending", 0) == len(CHATS) - found["sent"] > 0

    await Bot.run_until(
        tmp_path, feeds, api, lambda: len(alerts_per_chat(api)) == len(CHATS), within=120,
        settle=1,
    )  # fmt: skip
    counts = alerts_per_chat(api)
    assert set(counts.values()) == {1}  # a graceful stop repeats nothing
    assert await db_states(db_path) == {"sent": len(CHATS)}


async def test_sigterm_while_start_up_waits_out_a_429_is_a_graceful_stop(
    tmp_path: Path, servers: tuple[FeedServer, FakeBotAPI]
) -> None:
    # A restart loop earns a flood wait on setMyCommands; start-up waits it out while the
    # feeds are polled and the sender sends. A SIGTERM then ended the process where it stood,
    # with sends in flight, which went again after the restart.
    feeds, api = servers
    db_path = tmp_path / "bot.sqlite3"
    await subscribe_all(db_path)
    api.fail_next("setMyCommands", 429, "Too Many Requests: retry after 120", {"retry_after": 120})
    api.delay_answers("sendMessage", 0.2)
    await Bot.run_until(tmp_path, feeds, api, lambda: len(alerts_per_chat(api)) >= 30, within=90)
    await books_match_telegrams(db_path, api)


async def test_sigterm_lets_the_refresh_under_way_finish(
    tmp_path: Path, servers: tuple[FeedServer, FakeBotAPI]
) -> None:
    feeds, api = servers
    feeds.slow("/slow", rss([seed_item()]), seconds=4)  # healthy, a little slow
    bot = await start_bot(tmp_path, feeds, api, sources=(("Slow", "/slow", "ru"),))
    try:
        await api.wait_for(lambda: bool(feeds.requests_to("/slow")), timeout=60)
        await asyncio.sleep(0.5)
    finally:
        log = await stop_bot(bot, tmp_path)  # 3.5 s before the answer; the grace is 30 s
    assert bot.returncode == 0, log[-3000:]
    assert "CancelledError" not in log, log[-3000:]
    storage = await Storage.open(tmp_path / "bot.sqlite3")
    try:
        [feed] = await storage.feeds.all()
    finally:
        await storage.close()
    assert feed.last_success_at is not None  # the cycle under way was finished and recorded


async def test_a_second_bot_on_the_same_database_stops_at_once(
    tmp_path: Path, servers: tuple[FeedServer, FakeBotAPI]
) -> None:
    # Started by mistake, it would release the first one's sends in flight and send them again.
    feeds, api = servers
    await subscribe_all(tmp_path / "bot.sqlite3")
    first = await Bot.start(tmp_path, feeds, api)
    try:
        await api.wait_for(lambda: len(alerts_per_chat(api)) >= 10, timeout=90)
        second_dir = tmp_path / "second"
        second_dir.mkdir()
        second = await start_bot(second_dir, feeds, api, database=tmp_path / "bot.sqlite3")
        await asyncio.wait_for(second.wait(), 60)
        log = (second_dir / "bot.log").read_text("utf-8", "replace")
        assert second.returncode == 2, log[-2000:]
        assert "another bot is running on this database" in log
        await api.wait_for(lambda: len(alerts_per_chat(api)) == len(CHATS), timeout=120)
    finally:
        log = await first.stop()
    assert first.returncode == 0, log[-3000:]
    assert set(alerts_per_chat(api).values()) == {1}
