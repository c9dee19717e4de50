"""Keeping the scheduler's jobs on time when the wall clock is set back.

APScheduler keeps each job's next run as a wall-clock time. When the clock is set back while
the bot runs (NTP correcting a clock that ran ahead, an operator fixing it), the scheduler
waits out the difference: no feed is polled, no admin told and no heartbeat written until the
clock has caught up, which may be days. `keep_jobs_on_time` looks at the wall clock against the
monotonic one every so often and, when the wall clock went back, makes every job due now.
(A clock set forward needs nothing: the jobs are due at once, and `coalesce` runs each once.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)


async def keep_jobs_on_time(
    scheduler: BaseScheduler,
    every: float,
    *,
    wall: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Runs until cancelled; `every` s it compares the clocks. A wall clock that went back by
    more than `every` (less is the two clocks' ordinary drift) makes every job due now."""
    last_wall, last_mono = wall(), monotonic()
    while True:
        await sleep(every)
        now_wall, now_mono = wall(), monotonic()
        back = (now_mono - last_mono) - (now_wall - last_wall)
        last_wall, last_mono = now_wall, now_mono
        if back > every:
            log.warning("the wall clock went back %.0fs; the scheduled jobs run now", back)
            due = datetime.fromtimestamp(now_wall, UTC)
            for job in scheduler.get_jobs():
                job.modify(next_run_time=due)
