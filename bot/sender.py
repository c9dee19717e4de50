"""The outbox sender: the one loop that pushes deliveries to Telegram.

Each round takes the head delivery of every chat that may receive a message now (see
`bot.storage.outbox`), least recently served chat first (so a chat's next message waits for
every chat that has had none since), claims it (`sending`, committed) and hands it to a task;
newly queued deliveries end a long round early (`ROUND_REFRESH`), so they join that order
within about a second. At most `max_in_flight` tasks run, and never two for one chat. A task
waits for its turn from the pacer (`bot.pacing`, shared with the command replies), then
performs the Telegram call for the delivery's kind (`Sender.kinds`: kind -> coroutine that
makes the call and returns the message id). What Telegram answers decides the delivery's
fate: `bot.send_outcomes` (its docstring has the table of answers). Which 400 is which
(Telegram tells them apart only by their text) is `bot.bad_requests`.
What each kind (alert, edit, digest) is in Telegram, in the chat's language and with its
settings, is `bot.delivery_calls`.

When the database fails (disk full, locked past its busy timeout):
- claiming a delivery: the claim's slot is freed and the round fails; the loop tries again
  (otherwise each failed claim kept a slot, and after `max_in_flight` of them sending stopped
  for good and `stop()` hung);
- recording an outcome: the write is kept in memory (`_unrecorded`) and retried before each
  round until it sticks; meanwhile the delivery stays `sending` and its chat is held: nothing
  else goes to it, so nothing overtakes it and no second request runs. If the lost write was
  "sent", the least bad course is to keep trying to write it: the chat has the message, and
  resending it would show it twice. Only if the process stops before the write sticks does the
  next start resend it (the same single repeat a crash causes). If the lost write was a failure
  (retry, give up, plain-text fallback...), the request was not accepted, so the fallback is a
  plain retry with backoff: at worst one more request than needed.

Shutdown (`stop()`): no new delivery is claimed; a task still waiting for its turn releases its
delivery (pending again, the attempt not counted); a request already sent is let finish
(bounded by `request_timeout`) and recorded. Only a crash (or a database that fails until the
end) can leave a `sending` row behind, and the next start makes it pending again: at most one
repeated message per chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from functools import partial

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)

from bot.delivery_calls import DeliveryCalls, Sent
from bot.i18n import Catalogs
from bot.pacing import SENDER_HANDLES_RETRY, Pacer
from bot.send_outcomes import Backoff, Outcomes
from bot.storage import Delivery, Storage

__all__ = ["REQUEST_TIMEOUT", "Backoff", "SendKind", "Sender"]

log = logging.getLogger(__name__)

IDLE_WAIT = 5.0
MIN_WAIT = 0.01
REQUEST_TIMEOUT = 20  # seconds; bounds how long a shutdown waits for a request in flight
BATCH = 500  # chat heads looked at per round; more than can be ready at once (see `_round`)
# Once new deliveries are queued, a round claims for at most about this long before it looks
# again: long enough that wakes every few ms (one per feed in a busy cycle) leave claiming time.
ROUND_REFRESH = 1.0

# A kind's sender: makes the Telegram call for the delivery and returns what it did (the id of
# the message it sent or edited, None if there was nothing to do; the digest items sent with
# it). It writes nothing, so that what Telegram accepted is recorded in one place.
SendKind = Callable[[Delivery], Awaitable[Sent]]
# A write that records a delivery's outcome; retried until it sticks.
Record = Callable[[], Awaitable[None]]


class Sender:
    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        pacer: Pacer,
        *,
        backoff: Backoff | None = None,
        max_in_flight: int = 8,
        request_timeout: int = REQUEST_TIMEOUT,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        catalogs: Catalogs | None = None,
    ) -> None:
        self._bot = bot
        self._storage = storage
        self._pacer = pacer
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._outcomes = Outcomes(
            storage,
            pacer,
            self._backoff,
            clock,
            rng or random.Random(),  # noqa: S311 -- jitter, not cryptography
        )
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_flight: set[int] = set()  # chat ids with a delivery under way (or unrecorded)
        self._unrecorded: dict[int, Record] = {}  # chat id -> its outcome the database refused
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._queued = asyncio.Event()  # wake() since the round looked: its list is stale
        self._stopping = asyncio.Event()
        # The seam for other kinds of delivery: each makes its own Telegram call.
        calls = DeliveryCalls(
            bot, storage, catalogs or Catalogs.load(), request_timeout=request_timeout, clock=clock
        )
        self.kinds: dict[str, SendKind] = {
            "alert": calls.alert,
            "edit": calls.edit,
            "digest": calls.digest,
        }

    def wake(self) -> None:
        """New deliveries were queued: look now instead of at the next idle tick (and cut a
        round still claiming short, so that the new heads are not left behind it)."""
        self._queued.set()
        self._wake.set()

    def stop(self) -> None:
        """Stop taking new work; `run()` returns once the deliveries under way are settled."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        up = False
        while not self._stopping.is_set():
            self._wake.clear()  # before looking, so a wake() during the round is not lost
            try:
                if not up:  # in the loop: a database locked at start-up is waited out too
                    await self._storage.outbox.release_in_flight()
                    await self._outcomes.restore_pause()
                    up = True
                started, pacer_wait = await self._round()
                if not started and not self._stopping.is_set():
                    await self._idle(pacer_wait)
            except Exception:
                # E.g. the disk is full: the loop must outlive it, or alerts silently stop.
                log.exception("sender round failed; trying again in %.0fs", IDLE_WAIT)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), IDLE_WAIT)
        await self._drain()

    # -- the loop -------------------------------------------------------------------------------

    async def _round(self) -> tuple[int, float | None]:
        """Claim and start what may go now; return how many were ready and, if some due chat
        must wait for the pacer, in how many seconds the first of them may go.

        Only chats sent to within the last few seconds (at most rate x 3 s of them) or with a
        send under way can be due but not ready, so `BATCH` heads always include ready ones.

        Ready chats are claimed least recently served first, and once new deliveries are
        queued (`wake()`) a round stops claiming after `ROUND_REFRESH`: claiming waits for free
        slots, so one round of a burst lasts seconds, and a chat with one new alert would wait
        behind the next message of every chat in it."""
        await self._record_held()
        self._queued.clear()
        started = self._pacer.now()
        due = await self._storage.outbox.due(self._clock(), limit=BATCH)
        now = self._pacer.now()
        ready: list[Delivery] = []
        waits: list[float] = []
        for delivery in due:
            if delivery.chat_id in self._in_flight:
                continue  # its task wakes the loop when it is done
            at = self._pacer.chat_ready_at(delivery.chat_id)
            if at <= now:
                ready.append(delivery)
            else:
                waits.append(at - now)
        ready.sort(key=lambda d: self._pacer.served_at(d.chat_id))  # stable: else queue order
        for delivery in ready:
            await self._slots.acquire()
            if self._queued.is_set() and self._pacer.now() - started >= ROUND_REFRESH:
                self._slots.release()  # the caller starts the next round at once
                break
            try:
                claimed = not self._stopping.is_set() and await self._storage.outbox.mark_sending(
                    delivery.id, self._clock()
                )
            except BaseException:
                # Disk full, database locked: the slot goes back, or a few such failures would
                # leave none and stop all sending until a restart.
                self._slots.release()
                raise
            if not claimed:  # stopping, or unsubscribed or deactivated meanwhile
                self._slots.release()
                if self._stopping.is_set():
                    break
                continue
            self._in_flight.add(delivery.chat_id)
            task = asyncio.create_task(self._deliver(delivery), name=f"delivery-{delivery.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(ready), min(waits, default=None)

    async def _idle(self, pacer_wait: float | None) -> None:
        """Sleep until the pacer frees a waiting chat, a retry falls due, a send finishes or new
        work is queued (`wake()`), whichever comes first."""
        wait = IDLE_WAIT if pacer_wait is None else pacer_wait
        now = self._clock()
        next_due = await self._storage.outbox.next_due_at(now)
        if next_due is not None:
            wait = min(wait, next_due - now)
        try:
            await asyncio.wait_for(self._wake.wait(), max(wait, MIN_WAIT))
        except TimeoutError:
            return

    async def _drain(self) -> None:
        """Shutdown: wait for the tasks under way; each either finishes its request or releases
        its delivery, so none is left claimed; then a last try at the outcomes not recorded."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self._record_held()
        except Exception:
            n = len(self._unrecorded)
            log.exception("%d delivery outcomes not recorded; sent again after a restart", n)

    async def _record_held(self) -> None:
        """Write the outcomes the database refused before; each chat is free again once its
        outcome is written. Raises (and the round fails) while the database still refuses."""
        for chat_id, record in list(self._unrecorded.items()):
            await record()
            del self._unrecorded[chat_id]
            self._in_flight.discard(chat_id)
            log.info("a delayed delivery outcome was recorded; its chat is served again")

    # -- one delivery ---------------------------------------------------------------------------

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            # The turn may come a 429 pause later: the chat may have said /forget or
            # /unsubscribe, or changed its settings, meanwhile. What goes is what holds then.
            turn = await self._take_turn(delivery.chat_id)
            current = await self._storage.outbox.claimed(delivery.id) if turn else None
            if current is not None:
                await self._attempt(current)
            else:
                await self._storage.outbox.release(delivery.id)
        except Exception:
            # A bug, or the database refusing to record a failure or a release: no request was
            # accepted (an accepted one is recorded by `_attempt` itself), so a retry is safe.
            # The queue must not stall on it.
            log.exception("delivery %d failed unexpectedly", delivery.id)
            retry = partial(self._outcomes.retry_or_give_up, delivery, "internal error")
            await self._record(delivery, retry)
        finally:
            if delivery.chat_id not in self._unrecorded:
                self._in_flight.discard(delivery.chat_id)
            self._slots.release()
            self._wake.set()

    async def _record(self, delivery: Delivery, record: Record) -> None:
        """Write an outcome; if the database refuses, hold the chat and leave the write to
        `_record_held` (see the module docstring)."""
        try:
            await record()
        except Exception:
            log.exception(
                "outcome of delivery %d not recorded; its chat waits until it is", delivery.id
            )
            self._unrecorded[delivery.chat_id] = record

    async def _take_turn(self, chat_id: int) -> bool:
        """Wait for the pacer's go for this chat; False if the sender is stopped meanwhile."""
        if self._stopping.is_set():
            return False
        turn = asyncio.create_task(self._pacer.acquire(chat_id))
        stop = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait((turn, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not turn.done():
                turn.cancel()
        return turn.done() and not turn.cancelled()

    async def _attempt(self, delivery: Delivery) -> None:
        outbox = self._storage.outbox
        send = self.kinds.get(delivery.kind)
        if send is None:
            log.error("delivery %d has unknown kind %r; given up", delivery.id, delivery.kind)
            await outbox.give_up(delivery.id, f"unknown kind {delivery.kind!r}")
            return
        SENDER_HANDLES_RETRY.set(True)  # this task's context only: no pacing or retry below
        try:
            sent = await send(delivery)
        except TelegramRetryAfter as exc:
            await self._outcomes.pause(exc.retry_after)
            await outbox.count("429")
            await outbox.retry_later(
                delivery.id, self._clock() + exc.retry_after, "429", counter="retried"
            )
        except TelegramMigrateToChat as exc:
            log.info("group upgraded to a supergroup; its subscription and queue move")
            await outbox.retry_later(delivery.id, self._clock(), "migrated", counter="migrated")
            await self._storage.chats.migrate(delivery.chat_id, exc.migrate_to_chat_id)
        except TelegramUnauthorizedError:
            await self._outcomes.token_refused(delivery)
        except TelegramForbiddenError:
            await self._outcomes.chat_gone(delivery, "forbidden")
        except TelegramBadRequest as exc:
            await self._outcomes.bad_request(delivery, exc)
        except (TelegramAPIError, ClientDecodeError, OSError, TimeoutError) as exc:
            # Network errors, 5xx, and anything Telegram-side we cannot classify.
            await self._outcomes.retry_or_give_up(delivery, f"{type(exc).__name__}: {exc}")
        else:
            # Telegram has it: from here on, only ever record it as sent (never resend it).
            record = partial(
                outbox.mark_sent,
                delivery.id,
                sent.message_id,
                self._clock(),
                chat_id=delivery.chat_id,
                together=sent.together,
                dropped=sent.dropped,
                counter="skipped" if sent.message_id is None else "sent",
            )
            await self._record(delivery, record)
