"""Parts of the composition root (`bot.app`): the scheduler's tick, and the health check on
its heartbeat."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfoNotFoundError

import apscheduler.schedulers.base
import apscheduler.triggers.interval
import pytest

from bot import app as app_module
from bot.app import Tick, scheduled, stop_jobs
from bot.config import load_settings, parse_feeds
from bot.errors import ConfigError
from bot.i18n import Catalogs
from bot.instance_lock import only_instance
from bot.model import FeedSpec
from bot.pacing import Pacer
from bot.schedule import TELL_ADMINS_AFTER
from bot.status import HEALTHY_HEARTBEAT_AGE, healthy
from bot.storage import Storage
from bot.telegram.client import make_bot
from bot.wall_clock import keep_jobs_on_time
from tests.conftest import REPO
from tests.fakes.botapi import FakeBotAPI
from tests.fakes.full_disk import FullDisk

ADMIN = 777


class CountingRefresher:
    def __init__(self) -> None:
        self.calls = 0

    async def refresh_due(self) -> None:
        self.calls += 1


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


async def test_a_flood_pause_does_not_hold_the_tick(storage: Storage, api: FakeBotAPI) -> None:
    # An admin notice is due while Telegram has paused the bot for an hour: the tick must not
    # wait the hour out (no feed would be polled meanwhile); the notice goes after the pause.
    start = time.time() - TELL_ADMINS_AFTER - 60
    await storage.feeds.sync([FeedSpec("Down", "https://down.example/")], now=start)
    [feed] = await storage.feeds.listed()
    await storage.feeds.record_error(feed.id, "ConnectError: refused", now=start, next_check_at=0)
    refresher = CountingRefresher()
    for paused in (3600.0, 0.0):  # the pause, then after it
        pacer = Pacer()
        if paused:
            pacer.pause(paused)
        bot = make_bot(api.token, pacer, api.base_url)
        tick = Tick(bot, pacer, storage, refresher, [ADMIN], Catalogs.load())
        try:
            await asyncio.wait_for(tick.run(), 5)
        finally:
            await bot.session.close()
        assert len(api.messages_to(ADMIN)) == (0 if paused else 1)
    assert refresher.calls == 2


@pytest.mark.parametrize(
    ("age", "alive"),
    [
        (None, False),
        (1.0, True),
        (HEALTHY_HEARTBEAT_AGE + 1, False),
        # From the future: the clock was set back, and the scheduler keeps wall time, so it
        # does not tick until the clock catches up.
        (-3600.0, False),
    ],
)
async def test_health_is_a_recent_heartbeat(
    storage: Storage, age: float | None, alive: bool
) -> None:
    now = time.time()
    if age is not None:
        await storage.beat(now - age)
    assert await healthy(storage, now) is alive


def test_one_bot_per_database(tmp_path: Path) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    with only_instance(database):
        refused = pytest.raises(ConfigError, match="another bot is running on this database")
        with refused, only_instance(database):
            pass
        with only_instance(tmp_path / "other.sqlite3"):  # another database: no conflict
            pass
    with only_instance(database):  # released with the first
        pass


def test_one_bot_per_database_under_any_of_its_names(tmp_path: Path) -> None:
    """The same file reached through a symlink, a relative path or `..` is the same database."""
    database = tmp_path / "data" / "bot.sqlite3"
    database.parent.mkdir()
    database.touch()
    (tmp_path / "link.sqlite3").symlink_to(database)
    (tmp_path / "linked").symlink_to(database.parent)
    names = [
        tmp_path / "link.sqlite3",
        tmp_path / "linked" / "bot.sqlite3",
        tmp_path / "data" / ".." / "data" / "bot.sqlite3",
    ]
    with only_instance(database):
        for name in names:
            with pytest.raises(ConfigError, match="another bot is running"), only_instance(name):
                pass


class BlockedRefresher:
    """A refresh that lasts until released: a big first cycle, slow hosts."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def refresh_due(self) -> None:
        self.started.set()
        await self.release.wait()


async def test_the_heartbeat_goes_on_while_a_refresh_is_under_way(
    storage: Storage, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The beat was written when a tick began, and ticks wait for the refresh under way:
    # `status --health` called a bot unhealthy for the length of a long refresh.
    monkeypatch.setattr(app_module, "FIRST_POLL_DELAY", 0.0)
    pacer, refresher = Pacer(), BlockedRefresher()
    bot = make_bot(api.token, pacer, api.base_url)
    scheduler = scheduled(Tick(bot, pacer, storage, refresher, [], Catalogs.load()), 0.2)
    scheduler.start()
    try:
        await asyncio.wait_for(refresher.started.wait(), 5)
        blocked_since = time.time()
        # Beats go on while the refresh is under way (a loaded machine may be slow to them).
        for _ in range(200):
            await asyncio.sleep(0.05)
            if (await storage.heartbeat() or 0.0) > blocked_since + 0.5:
                break
        else:
            pytest.fail("no heartbeat while the refresh was under way")
        assert not refresher.release.is_set()
    finally:
        refresher.release.set()
        scheduler.shutdown(wait=False)
        await bot.session.close()


class CountingTick:
    def __init__(self) -> None:
        self.runs = self.beats = 0

    async def beat(self) -> None:
        self.beats += 1

    async def run(self) -> None:
        self.runs += 1


async def test_the_jobs_go_on_when_the_wall_clock_is_set_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NTP sets right a clock that ran an hour ahead: the scheduler, which keeps each job's
    next run as a wall-clock time, waited out the hour, and nothing was polled or beaten."""
    monkeypatch.setattr(app_module, "FIRST_POLL_DELAY", 0.0)
    offset = [0.0]

    class Shifted(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Shifted:
            return cls.fromtimestamp(time.time() + offset[0], tz)

    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", Shifted)
    tick = CountingTick()
    scheduler = scheduled(tick, 0.2)  # type: ignore[arg-type]  # only beat() and run()
    scheduler.start()
    on_time = asyncio.create_task(
        keep_jobs_on_time(scheduler, 0.2, wall=lambda: time.time() + offset[0])
    )
    try:
        await asyncio.sleep(1.0)
        assert tick.runs >= 2
        offset[0] = -3600.0
        runs, beats = tick.runs, tick.beats
        await asyncio.sleep(1.5)
        assert (tick.runs > runs + 1, tick.beats > beats + 1) == (True, True)
    finally:
        on_time.cancel()
        scheduler.shutdown(wait=False)


async def test_the_schedule_does_not_need_the_local_time_zone(
    storage: Storage, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TZ=UTC+3 (a POSIX rule, common in containers) is no zone tzlocal can name: start-up
    # died of ZoneInfoNotFoundError where the scheduler asked for the local zone.
    def unknown() -> None:
        raise ZoneInfoNotFoundError("UTC+3")

    for module in (apscheduler.schedulers.base, apscheduler.triggers.interval):
        monkeypatch.setattr(module, "get_localzone", unknown)
    pacer = Pacer()
    bot = make_bot(api.token, pacer, api.base_url)
    try:
        tick = Tick(bot, pacer, storage, CountingRefresher(), [], Catalogs.load())
        assert len(scheduled(tick, 30.0).get_jobs()) == 2
    finally:
        await bot.session.close()


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT"])
async def test_a_stop_while_a_heartbeat_waits_for_the_database_logs_no_error(
    tmp_path: Path,
    api: FakeBotAPI,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    stop: str,
) -> None:
    """The bot, stopped while a heartbeat waits for another process's write (`status`, a
    migration, a backup): the scheduler's shutdown cancelled the beat, and APScheduler logged
    the CancelledError at ERROR with its traceback, on a normal stop."""
    monkeypatch.setattr(app_module, "MAX_TICK", 0.2)  # a beat every second with no feeds
    database = tmp_path / "bot.sqlite3"
    env = {"BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.base_url, "ANALYSIS_WORKERS": "0"}
    settings = load_settings({**env, "DATABASE_PATH": str(database)})
    running = asyncio.create_task(app_module.run(settings, parse_feeds({"feeds": []})))
    other = sqlite3.connect(database, isolation_level=None)
    try:
        await api.wait_for(lambda: api.calls["getUpdates"] > 0, 30)  # its signal handlers are set
        other.execute("BEGIN IMMEDIATE")  # the next beat waits (busy_timeout: 5 s)
        locked_at = int(time.time())
        await asyncio.sleep(1.5)
        os.kill(os.getpid(), getattr(signal, stop))
        await asyncio.sleep(0.5)
        other.rollback()  # the other writer is done: the beat goes on
        await asyncio.wait_for(running, 30)
        [(beat,)] = other.execute("SELECT value FROM counters WHERE name = 'heartbeat'")
    finally:
        other.close()
        running.cancel()
    assert beat >= locked_at  # a beat did wait for the other writer
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_job_started_just_before_the_stop_finishes(
    storage: Storage, api: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    # The scheduler starts a job in a loop callback; a stop in the same turn of the loop found
    # it not yet tracked, and the shutdown cancelled it (an ERROR, with a traceback).
    pacer = Pacer()
    bot = make_bot(api.token, pacer, api.base_url)
    try:
        tick = Tick(bot, pacer, storage, CountingRefresher(), [], Catalogs.load())
        scheduler = scheduled(tick, 30.0)  # the beat is due at once
        scheduler.start()
        await asyncio.sleep(0)  # the scheduler's first look: it starts the beat
        await stop_jobs(scheduler, tick.running, 5.0)
        assert await storage.heartbeat() is not None  # the beat was written ...
        await asyncio.sleep(0.2)  # ... and the shutdown, done in a callback, cut nothing off
    finally:
        await bot.session.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def catches_sigterm(pid: int) -> bool:
    """Whether the process has a handler for SIGTERM (its `SigCgt` mask, from /proc)."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    [mask] = [line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")]
    return bool(int(mask, 16) >> (signal.SIGTERM - 1) & 1)


async def until(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("during", ["imports", "database"])
async def test_a_stop_during_start_up_ends_the_bot_cleanly(
    tmp_path: Path, api: FakeBotAPI, during: str
) -> None:
    """`docker stop` sends SIGTERM to PID 1, which has no default action for it: a signal
    that came before the bot's handlers (importing aiogram takes 3 s, opening the database
    may wait for another writer) was dropped, and the bot SIGKILLed when the stop timeout ran
    out. Outside a container it was killed (-15) mid-start. Now it stops, exits 0, says so."""
    database = tmp_path / "bot.sqlite3"
    await (await Storage.open(database)).close()
    other = sqlite3.connect(database, isolation_level=None)
    if during == "database":
        other.execute("BEGIN IMMEDIATE")  # the bot's open waits for this writer
    (tmp_path / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    env = {
        **os.environ, "BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.base_url,
        "DATABASE_PATH": str(database), "FEEDS_FILE": str(tmp_path / "feeds.yaml"),
        "ANALYSIS_WORKERS": "0",
    }  # fmt: skip
    log, lock = tmp_path / "bot.log", Path(f"{database}.lock")
    with log.open("wb") as out:
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=REPO, env=env, stdout=out, stderr=out
        )
    try:
        if during == "database":
            await until(lock.exists)  # it has the instance lock: it is opening the database
        else:
            await until(lambda: catches_sigterm(bot.pid))
            assert not await asyncio.to_thread(
                lock.exists
            )  # the handler comes before the start-up's steps
        bot.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        if other.in_transaction:
            other.rollback()
        await asyncio.wait_for(bot.wait(), 20)
    finally:
        other.close()
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    assert bot.returncode == 0, log.read_text("utf-8", "replace")
    assert "stopping" in log.read_text("utf-8")
    assert api.calls["getUpdates"] == 0  # it never served


async def test_a_heartbeat_the_database_refuses_is_logged_once_until_one_is_stored(
    tmp_path: Path, api: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """A full disk refuses every beat: one ERROR line, not a traceback every few seconds (and
    the job must not raise, which APScheduler logs with its own traceback each time)."""
    db = await FullDisk.open(tmp_path / "test.sqlite3")
    storage = Storage(db)
    pacer = Pacer()
    bot = make_bot(api.token, pacer, api.base_url)
    try:
        tick = Tick(bot, pacer, storage, CountingRefresher(), [], Catalogs.load())
        db.full = True
        for _ in range(3):
            await tick.beat()
        db.full = False
        await tick.beat()
        assert await storage.heartbeat() is not None
    finally:
        await bot.session.close()
        await storage.close()
    logged = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bot.app"]
    assert logged == [
        ("ERROR", "the heartbeat is not stored: the database refuses writes "
                  "(database or disk is full)"),
        ("WARNING", "the heartbeat is stored again"),
    ]  # fmt: skip
