"""The composition root of the running bot: everything is built here, once, and torn down in
reverse order. Nothing else constructs collaborators.

    classifier -> storage -> feeds synced -> fetcher, reading workers -> bot (paced session)
    -> dispatcher
    scheduler: one job ticks, asks the DB which feeds are due, refreshes them
    sender:    one task drains the outbox
    polling:   aiogram long polling until SIGINT/SIGTERM, then a graceful stop

SIGINT and SIGTERM are ours from before anything starts (aiogram would take them only once
polling starts, and until then a signal ended the process with deliveries in flight; before this
loop runs, `bot.early_stop` keeps them): either one sets the stop, whatever the bot is doing. A
stop during the start-up ends it at its next step, before anything is served. Stopping, in
order: no new updates, the updates being handled finish; no new ticks or heartbeats, those under
way finish (a feed's transaction, admin notices, a beat waiting for another process's write;
only a job still running after the grace is cancelled, which APScheduler logs as a failed job);
the sender settles what it has in flight. The sender ending on its own (a bug) stops the bot
too, with its error: a bot that polls but cannot send must not look alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.analysis import Analysis, open_analysis
from bot.config import FeedsConfig, Settings
from bot.early_stop import SIGNALS
from bot.errors import ConfigError
from bot.fetch import Fetcher
from bot.i18n import Catalogs
from bot.instance_lock import only_instance
from bot.pacing import Pacer
from bot.refresh import Refresher
from bot.relevance import Classifier
from bot.sender import Sender
from bot.storage import Storage
from bot.telegram import build_dispatcher
from bot.telegram.client import make_bot
from bot.telegram.commands import set_commands
from bot.telegram.feeds import Told, notify_admins
from bot.telegram.in_flight import InFlight, Running
from bot.wall_clock import keep_jobs_on_time

log = logging.getLogger(__name__)

MAX_TICK = 30.0
FIRST_POLL_DELAY = 2.0
SHUTDOWN_GRACE = 30.0
INTRODUCE_WAIT_MAX = 60.0


def tick_seconds(feeds: FeedsConfig) -> float:
    """Often enough that no feed waits long past its due time, at most every 30 s."""
    shortest = min((f.interval for f in feeds.feeds), default=MAX_TICK)
    return max(1.0, min(MAX_TICK, shortest / 2))


async def run(
    settings: Settings, feeds: FeedsConfig, *, asked_before: Callable[[], bool] = lambda: False
) -> None:
    """The bot until a stop. `asked_before`: whether a stop came before this loop ran
    (`bot.early_stop`); the signals are the loop's from here on, and each step of the start-up
    that may take long (importing, the classifier, opening the database) is followed by a look
    at the stop: a stopped start-up ends there, cleanly."""
    settings.require_token()
    stop = asyncio.Event()
    with _stopped_by_signals(stop):
        if asked_before():
            stop.set()
        if stopping(stop):
            return
        with only_instance(settings.database_path):
            await _run(settings, feeds, stop)


async def _run(settings: Settings, feeds: FeedsConfig, stop: asyncio.Event) -> None:
    token = settings.require_token()
    classifier = Classifier.from_extension(feeds.lexicon)
    storage = await Storage.open(settings.database_path, lemmatizer=classifier.lemmatizer)
    try:
        if stopping(stop):
            return
        await storage.feeds.sync(feeds.feeds, now=time.time())
        workers = settings.analysis_workers
        async with (
            Fetcher() as fetcher,
            open_analysis(workers, classifier) as analysis,
        ):
            pacer = Pacer(settings.send_rate)
            bot = make_bot(
                token,
                pacer,
                settings.telegram_api_url,
                remember_pause=lambda seconds: storage.outbox.pause_for(seconds, time.time()),
            )
            try:
                await _serve(bot, pacer, storage, settings, feeds, fetcher, analysis, stop)
            finally:
                await bot.session.close()
    finally:
        await storage.close()


async def _serve(  # noqa: PLR0917 -- the composition root hands each collaborator over once
    bot: Bot,
    pacer: Pacer,
    storage: Storage,
    settings: Settings,
    feeds: FeedsConfig,
    fetcher: Fetcher,
    analysis: Analysis,
    stop: asyncio.Event,
) -> None:
    catalogs = Catalogs.load()
    sender = Sender(bot, storage, pacer, catalogs=catalogs)
    refresher = Refresher(
        storage, fetcher, analysis, alert_max_age=feeds.alert_max_age, on_queued=sender.wake
    )

    tick = Tick(bot, pacer, storage, refresher, settings.admin_ids, catalogs)
    scheduler = scheduled(tick, tick_seconds(feeds))
    dp = build_dispatcher(storage, settings, catalogs=catalogs)
    in_flight = InFlight()
    dp.update.outer_middleware(in_flight)
    if stopping(stop):  # the workers started: nothing is sent, polled or scheduled yet
        return
    sender_task = asyncio.create_task(sender.run(), name="sender")
    sender_task.add_done_callback(lambda _: stop.set())
    scheduler.start()
    on_time = asyncio.create_task(keep_jobs_on_time(scheduler, tick_seconds(feeds)))
    try:
        if await unless_stopped(introduce(bot, catalogs), stop):
            log.info("started: %d feeds, tick %.0fs", len(feeds.feeds), tick_seconds(feeds))
            await poll_until(dp, bot, stop)
    finally:
        log.info("stopping")
        if unfinished := await in_flight.finish(SHUTDOWN_GRACE):
            log.warning("stopped with %d updates still being handled", unfinished)
        on_time.cancel()
        await stop_jobs(scheduler, tick.running, SHUTDOWN_GRACE)
        sender.stop()
        await stop_within(sender_task, SHUTDOWN_GRACE)


def stopping(stop: asyncio.Event) -> bool:
    """Whether a stop came during the start-up, which then ends (said in the log)."""
    if stop.is_set():
        log.info("stopping")
    return stop.is_set()


def scheduled(tick: Tick, seconds: float) -> AsyncIOScheduler:
    """The scheduler (not started) and its two jobs, every `seconds`: the heartbeat, and the
    tick. The heartbeat has its own job: a tick waits for a long refresh (a big first cycle,
    slow hosts), and with the beat in it `status --health` called a working bot unhealthy.
    In UTC: only intervals are scheduled, and a TZ the zone database does not know (TZ=UTC+3,
    a POSIX rule) made the local zone, which the scheduler asks for by default, fail start-up.
    """
    scheduler = AsyncIOScheduler(timezone=UTC)
    now = datetime.now(UTC)
    for job, first in ((tick.beat, now), (tick.run, now + timedelta(seconds=FIRST_POLL_DELAY))):
        scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            next_run_time=first,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    return scheduler


async def stop_jobs(scheduler: AsyncIOScheduler, running: Running, grace: float) -> None:
    """No new jobs; those under way (`running`) finish within `grace`; then the scheduler shuts
    down, which cancels any still running (APScheduler logs that at ERROR, with a traceback)."""
    scheduler.pause()
    # A job the scheduler started just before the pause has not taken its first step, so it is
    # not tracked yet: after one turn of the loop it is.
    await asyncio.sleep(0)
    if unfinished := await running.finish(grace):
        log.warning("stopping with %d scheduled jobs still running; they are cut off", unfinished)
    scheduler.shutdown(wait=False)


class RefreshesDue(Protocol):
    async def refresh_due(self) -> object: ...


class Tick:
    """What the scheduler runs: the heartbeat; the feeds that are due, the admins' notices."""

    def __init__(  # noqa: PLR0917 -- its collaborators, once, from the composition root
        self,
        bot: Bot,
        pacer: Pacer,
        storage: Storage,
        refresher: RefreshesDue,
        admin_ids: Iterable[int],
        catalogs: Catalogs,
    ) -> None:
        self._bot, self._pacer, self._storage = bot, pacer, storage
        self._refresher, self._admin_ids, self._catalogs = refresher, admin_ids, catalogs
        self.running = Running()  # so that a stop lets a refresh or a beat under way finish
        self._told: set[Told] = set()  # who has which admin notice, while others' sends fail
        self._beat_refused = False

    async def beat(self) -> None:
        """The heartbeat `status --health` reads: the loop and the scheduler are alive. A
        database refusing the write (a full disk) is logged once, not with a traceback every
        beat, until a beat is stored again; meanwhile the health check says unhealthy."""
        with self.running.track():  # it may wait for another process's write: a stop waits too
            try:
                await self._storage.beat(time.time())
            except sqlite3.OperationalError as exc:
                if not self._beat_refused:
                    log.error("the heartbeat is not stored: the database refuses writes (%s)", exc)
                self._beat_refused = True
                return
        if self._beat_refused:
            log.warning("the heartbeat is stored again")
        self._beat_refused = False

    async def run(self) -> None:
        # A method, not __call__: APScheduler awaits what `inspect` sees as a coroutine
        # function, and would only call (never await) an instance.
        with self.running.track():
            await self._refresher.refresh_due()
            # During a flood pause a notice would hold the tick (and every feed's polling)
            # until the pause ends: it goes on a tick after it.
            if self._pacer.paused_for == 0:
                await notify_admins(
                    self._bot, self._storage, self._admin_ids, time.time(),
                    catalogs=self._catalogs, sent=self._told,
                )  # fmt: skip


@contextlib.contextmanager
def _stopped_by_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    for number in SIGNALS:
        loop.add_signal_handler(number, stop.set)
    try:
        yield
    finally:
        for number in SIGNALS:
            loop.remove_signal_handler(number)


async def unless_stopped(work: Awaitable[None], stop: asyncio.Event) -> bool:
    """Run `work` unless `stop` is set first (then `work` is cancelled): whether it ran."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        task.result()  # its error, if any
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


async def poll_until(dp: Dispatcher, bot: Bot, stop: asyncio.Event) -> None:
    """Long polling until `stop` is set."""
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False)
    )
    if await unless_stopped(asyncio.shield(polling), stop):
        return
    try:
        await dp.stop_polling()
    except RuntimeError:  # stopped before polling had started
        polling.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await polling


async def stop_within(task: asyncio.Task[None], grace: float) -> None:
    """Let `task` finish within `grace` seconds, then cancel it. A slow Telegram (a request may
    take 60 s) is no crash: the delivery in flight stays `sending` and is sent again after the
    restart, which is said once."""
    try:
        await asyncio.wait_for(task, grace)
    except asyncio.CancelledError:
        pass
    except TimeoutError:
        log.warning(
            "the sender did not stop within %.0fs; its delivery in flight goes after a restart",
            grace,
        )


async def introduce(bot: Bot, catalogs: Catalogs, *, first_wait: float = 1.0) -> None:
    """Long polling instead of a webhook, and the command menus. A network or Telegram outage
    at start-up (a container often starts before its network does) is waited out, the wait
    doubling up to `INTRODUCE_WAIT_MAX`; the feeds are polled meanwhile. A token Telegram
    refuses, or a server that has no such methods (a wrong TELEGRAM_API_URL), is a
    configuration error."""
    wait = first_wait
    while True:
        try:
            await bot.delete_webhook(drop_pending_updates=False)
            await set_commands(bot, catalogs)
            return
        except TelegramUnauthorizedError as exc:
            raise ConfigError("BOT_TOKEN: Telegram does not accept this token") from exc
        except TelegramNotFound as exc:  # a wrong path, so no method of it is found
            raise ConfigError(
                "TELEGRAM_API_URL: the server answers 404 Not Found: not a Bot API server's "
                "base URL"
            ) from exc
        except (
            TelegramNetworkError, TelegramServerError, TelegramRetryAfter, ClientDecodeError
        ) as exc:  # fmt: skip
            # ClientDecodeError: a proxy's HTML error page where Telegram's JSON should be.
            pause = exc.retry_after if isinstance(exc, TelegramRetryAfter) else wait
            log.warning(
                "Telegram unreachable at start-up (%s); next try in %.0fs",
                type(exc).__name__,
                pause,
            )
            await asyncio.sleep(pause)
            wait = min(wait * 2, INTRODUCE_WAIT_MAX)
