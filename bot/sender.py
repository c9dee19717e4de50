"""The outbox sender: the one loop that pushes deliveries to Telegram.

Each round takes the head delivery of every chat that may receive a message now (see
`bot.storage.outbox`), least recently served chat first (so a chat's next message waits for
every chat that has had none since), claims it (`sending`, committed) and hands it to a task;
newly queued deliveries end a long round early (`ROUND_REFRESH`), so they join that order
within about a second. At most `max_in_flight` tasks run, and never two for one chat. A task
waits for its turn from the pacer (`bot.pacing`, shared with the command replies), then
performs the Telegram call for the delivery's kind (`Sender.kinds`: kind -> coroutine that
makes the call and returns the message id). What Telegram answers decides the delivery's fate:

    ok                                -> sent (message id kept, for later edits)
    429 retry after N                 -> everything pauses N s (+margin), also across a restart;
                                         the delivery waits N s; nothing is dropped
    401 (the token revoked)           -> logged at ERROR; everything pauses the longest backoff
                                         step and tries again; nothing is given up
    403, 400 chat not found           -> the chat is deactivated, its queue dropped
    400 no rights to post             -> the chat is paused: its queue dropped, its set-up
                                         kept until the bot may post again
    400 migrated to a supergroup      -> the chat and its queue move to the new id; resent there
    400 forum topic not found         -> the chat posts to its main thread from now on; resent
    400 forum topic closed            -> not the message's fault, and its admins may reopen it:
                                         retried with the backoff below (never as plain text),
                                         its chat's queue waiting behind it; the chat keeps its
                                         topic
    400 other (too long, entities)    -> logged with the story id, resent once as plain text,
                                         and given up if that is rejected too: never a loop
    network error, 5xx, other         -> retried with capped exponential backoff and jitter,
                                         for `Backoff.give_up_after` (24 h) from when the
                                         delivery fell due, then given up (counted as `failed`)

A delivery falls due when it is queued, a digest item at its chat's digest time (`Delivery.
due_at`): counting a digest item's 24 h from its queuing, days earlier, gave it up at the
first failure, so a short outage at the digest hour lost the period's digest.

Which 400 is which (Telegram tells them apart only by their text) is `bot.bad_requests`.
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
from dataclasses import dataclass
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

from bot.bad_requests import BadRequest, classify
from bot.delivery_calls import DeliveryCalls, Sent
from bot.i18n import Catalogs
from bot.pacing import SENDER_HANDLES_RETRY, Pacer
from bot.storage import Delivery, Storage

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


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retries after network errors, 5xx and closed forum topics: `first` s, then times
    `factor`, at most `cap`, each with jitter (between half and all of the step); given up
    `give_up_after` s after the delivery fell due (`Delivery.due_at`)."""

    first: float = 2.0
    factor: float = 2.0
    cap: float = 600.0
    give_up_after: float = 24 * 3600.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 = the first try)."""
        step = min(self.cap, self.first * self.factor ** min(max(attempt - 1, 0), 64))
        return step * rng.uniform(0.5, 1.0)


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
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not cryptography
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
                    await self._restore_pause()
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
                    delivery.id
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
            retry = partial(self._retry_or_give_up, delivery, "internal error")
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
            await self._pause(exc.retry_after)
            await outbox.count("429")
            await outbox.retry_later(
                delivery.id, self._clock() + exc.retry_after, "429", counter="retried"
            )
        except TelegramMigrateToChat as exc:
            log.info("group upgraded to a supergroup; its subscription and queue move")
            await outbox.retry_later(delivery.id, self._clock(), "migrated", counter="migrated")
            await self._storage.chats.migrate(delivery.chat_id, exc.migrate_to_chat_id)
        except TelegramUnauthorizedError:
            await self._token_refused(delivery)
        except TelegramForbiddenError:
            await self._chat_gone(delivery, "forbidden")
        except TelegramBadRequest as exc:
            await self._bad_request(delivery, exc)
        except (TelegramAPIError, ClientDecodeError, OSError, TimeoutError) as exc:
            # Network errors, 5xx, and anything Telegram-side we cannot classify.
            await self._retry_or_give_up(delivery, f"{type(exc).__name__}: {exc}")
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

    # -- outcomes -------------------------------------------------------------------------------

    async def _bad_request(self, delivery: Delivery, exc: TelegramBadRequest) -> None:
        meaning = classify(exc.message, in_thread=delivery.thread_id is not None)
        outbox = self._storage.outbox
        if meaning is BadRequest.CHAT_GONE:
            await self._chat_gone(delivery, "chat not found")
        elif meaning is BadRequest.NO_RIGHTS:
            await self._cannot_post(delivery)
        elif meaning is BadRequest.THREAD_GONE:
            log.info("forum topic gone; the chat gets its alerts in the main thread from now on")
            await outbox.drop_thread(delivery.id, delivery.chat_id)
        elif meaning is BadRequest.TOPIC_CLOSED:
            # The chat is held by its head's backoff (`Outbox.due`), given up after the window.
            level = logging.INFO if delivery.attempts == 0 else logging.DEBUG  # once a delivery
            log.log(level, "forum topic closed; its chat waits for it to reopen (delivery %d)",
                    delivery.id)  # fmt: skip
            await self._retry_or_give_up(delivery, "topic closed")
        elif not delivery.plain:
            # Rendering is bounded, so this is a bug: say which story, try plain text once.
            log.error(
                "story %d (%s, delivery %d) rejected by Telegram: %s; resending as plain text",
                delivery.story.id, delivery.kind, delivery.id, exc.message,
            )  # fmt: skip
            await outbox.fall_back_to_plain(delivery.id, f"bad request: {exc.message}")
        else:
            log.error(
                "story %d (%s, delivery %d) rejected as plain text too: %s; given up",
                delivery.story.id, delivery.kind, delivery.id, exc.message,
            )  # fmt: skip
            await outbox.give_up(delivery.id, f"bad request: {exc.message}")

    async def _chat_gone(self, delivery: Delivery, why: str) -> None:
        outbox = self._storage.outbox
        dropped = await outbox.pending_count(delivery.chat_id)
        log.info("chat deactivated (%s); %d queued deliveries dropped", why, dropped)
        await self._storage.chats.deactivate(delivery.chat_id)
        await outbox.count("chats_deactivated")
        await outbox.count("dropped", dropped)

    async def _token_refused(self, delivery: Delivery) -> None:
        # Every call fails alike until the operator acts: no delivery's fault, so none is
        # given up (24 h of a revoked token lost a day of alerts), and sending waits the
        # longest backoff step between tries. In memory only: a restart (with the new token)
        # starts at once.
        wait = self._backoff.cap
        log.error(
            "Telegram refuses the bot's token (401 Unauthorized): revoked or replaced? Set "
            "BOT_TOKEN and restart. Sending tries again in %.0fs; nothing is given up",
            wait,
        )
        self._pacer.pause(wait)
        await self._storage.outbox.retry_later(
            delivery.id, self._clock() + wait, "401 unauthorized", counter="retried"
        )

    async def _cannot_post(self, delivery: Delivery) -> None:
        outbox = self._storage.outbox
        dropped = await outbox.pending_count(delivery.chat_id)
        log.info("chat paused (no right to post); %d queued deliveries dropped", dropped)
        await self._storage.chats.pause(delivery.chat_id)
        await outbox.count("chats_paused")
        await outbox.count("dropped", dropped)

    async def _retry_or_give_up(self, delivery: Delivery, reason: str) -> None:
        now = self._clock()
        if now - delivery.due_at >= self._backoff.give_up_after:
            log.warning("delivery %d given up after %d attempts: %s", delivery.id,
                        delivery.attempts + 1, reason)  # fmt: skip
            await self._storage.outbox.give_up(delivery.id, reason)
            return
        delay = self._backoff.delay(delivery.attempts + 1, self._rng)
        log.debug("delivery %d retried in %.1fs: %s", delivery.id, delay, reason)
        await self._storage.outbox.retry_later(delivery.id, now + delay, reason, counter="retried")

    async def _pause(self, seconds: float) -> None:
        log.warning("Telegram asked for a pause of %ss; all sending waits", seconds)
        self._pacer.pause(seconds)
        await self._storage.outbox.pause_for(seconds, self._clock())

    async def _restore_pause(self) -> None:
        """A 429 pause outlives a restart: Telegram's flood ban does too."""
        until = await self._storage.outbox.paused_until()
        remaining = 0.0 if until is None else until - self._clock()
        if remaining > 0:
            log.warning("still paused by Telegram for %.0fs", remaining)
            self._pacer.pause(remaining, margin=0.0)
