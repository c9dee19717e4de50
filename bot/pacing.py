"""Telegram's speed limits as one shared pacer.

Telegram allows about 30 messages/s per bot, about 1 message/s per chat and 20 messages/min per
group or channel, and answers more with 429 "retry after N". The pacer keeps the bot under
those limits with margin:

- a global token bucket (default 25/s) that keeps its schedule: a send that wakes a little late
  does not push every later one back (so the rate achieved is the rate configured), and an idle
  bucket lets at most two messages go back to back; its slots go first come, first served;
- one message per second per private chat, one per three seconds per group or channel
  (negative chat ids);
- a global pause when Telegram asked for one (`retry_after` plus a margin).

Both the outbox sender and the command replies (through a request middleware) ask it before
each message, so there is one place that decides when a message may go.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

DEFAULT_RATE = 25.0
PRIVATE_INTERVAL = 1.0
GROUP_INTERVAL = 3.0  # 20 per minute
RETRY_MARGIN = 1.0
_FORGET_AFTER = 60.0  # per-chat state older than this is dropped, so memory stays bounded
_FORGET_CHECK = 10_000

# Set by the outbox sender in the task that sends: the sender took its turn from the pacer
# itself and handles 429 itself (the delivery waits in the database), so the request middleware
# must neither pace nor retry that request.
SENDER_HANDLES_RETRY: ContextVar[bool] = ContextVar("sender_handles_retry", default=False)


class Pacer:
    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._spacing = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next_global = 0.0
        self._paused_until = 0.0
        self._chat_next: dict[int, float] = {}
        self._served: dict[int, float] = {}  # chat -> its last slot; pruned with `_chat_next`

    def now(self) -> float:
        """The pacer's clock (monotonic), against which `chat_ready_at` is measured."""
        return self._clock()

    def chat_ready_at(self, chat_id: int) -> float:
        """The monotonic time at which this chat may receive its next message."""
        return max(self._chat_next.get(chat_id, 0.0), self._paused_until)

    def served_at(self, chat_id: int) -> float:
        """When the chat last had a message (its slot), or -inf: pauses and the chat's own
        interval aside, so chats compare by how long they have waited."""
        return self._served.get(chat_id, -math.inf)

    def pause(self, seconds: float, *, margin: float = RETRY_MARGIN) -> None:
        """Telegram said 429: nothing is sent until `seconds` (+ margin) have passed."""
        self._paused_until = max(self._paused_until, self._clock() + seconds + margin)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to `chat_id` is allowed, and reserve that slot.

        First the chat's own interval (and any pause) passes, outside any queue, so a chat that
        must wait never holds up the others; then the message takes the next slot of the global
        rate at once and sleeps until it. Slots go in the order messages asked for them:
        retrying for the slot after each sleep let one waiter lose it again and again (in a
        burst, a new chat's alert waited 3.6 s behind 90 messages to other chats). Nothing
        awaits between reading and reserving, so no lock is needed."""
        while True:
            now = self._clock()
            ready = self.chat_ready_at(chat_id)
            if ready > now:
                await self._sleep(ready - now)
                continue
            before = self._chat_next.get(chat_id), self._served.get(chat_id)
            slot = self._reserve(chat_id, now)
            try:
                if slot > now:
                    await self._sleep(slot - now)
            except asyncio.CancelledError:  # not sent (a shutdown): the chat keeps its turn
                self._give_back(chat_id, before)
                raise
            if self._paused_until <= slot:
                return
            # A 429 paused everything while this waited: not sent either; wait out the pause
            # and queue again.
            self._give_back(chat_id, before)

    def _reserve(self, chat_id: int, now: float) -> float:
        """Take the next global slot for a chat that may receive now; return its time."""
        # Keep the schedule (no drift from late wake-ups), but bank at most one slot.
        slot = max(self._next_global, now - self._spacing)
        if self._paused_until > slot:  # after a pause, start afresh
            slot = now
        self._next_global = slot + self._spacing
        interval = GROUP_INTERVAL if chat_id < 0 else PRIVATE_INTERVAL
        self._chat_next[chat_id] = max(slot, now) + interval
        self._served[chat_id] = slot
        self._forget_old(now)
        return slot

    def _give_back(self, chat_id: int, before: tuple[float | None, float | None]) -> None:
        """Undo a reservation's hold on the chat (the global slot is simply left unused)."""
        for state, value in zip((self._chat_next, self._served), before, strict=True):
            if value is None:
                state.pop(chat_id, None)
            else:
                state[chat_id] = value

    def _forget_old(self, now: float) -> None:
        if len(self._chat_next) > _FORGET_CHECK:
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now - _FORGET_AFTER}
            self._served = {c: t for c, t in self._served.items() if c in self._chat_next}
