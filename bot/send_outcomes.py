"""What Telegram's answer to a delivery means for it, and what is written then:

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
                                         delivery fell due or was first tried, whichever is
                                         later, then given up (counted as `failed`)

A delivery falls due when it is queued, a digest item at its chat's digest time (`Delivery.
due_at`): counting a digest item's 24 h from its queuing, days earlier, gave it up at the
first failure, so a short outage at the digest hour lost the period's digest. It is first
tried when the sender first claims it (`Delivery.first_attempt_at`): a bot down for more than
a day past the due time gave up each delivery at the first 502 after the restart, no try made.

Which 400 is which (Telegram tells them apart only by their text) is `bot.bad_requests`; the
sender (`bot.sender`) maps each answer to one of `Outcomes`' methods.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram.exceptions import TelegramBadRequest

from bot.bad_requests import BadRequest, classify
from bot.pacing import Pacer
from bot.storage import Delivery, Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retries after network errors, 5xx and closed forum topics: `first` s, then times
    `factor`, at most `cap`, each with jitter (between half and all of the step); given up
    `give_up_after` s after the delivery fell due (`Delivery.due_at`) or was first tried
    (`Delivery.first_attempt_at`), whichever is later."""

    first: float = 2.0
    factor: float = 2.0
    cap: float = 600.0
    give_up_after: float = 24 * 3600.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 = the first try)."""
        step = min(self.cap, self.first * self.factor ** min(max(attempt - 1, 0), 64))
        return step * rng.uniform(0.5, 1.0)


class Outcomes:
    """The writes (and pauses) that follow Telegram's answer to a delivery."""

    def __init__(
        self,
        storage: Storage,
        pacer: Pacer,
        backoff: Backoff,
        clock: Callable[[], float],
        rng: random.Random,
    ) -> None:
        self._storage = storage
        self._pacer = pacer
        self._backoff = backoff
        self._clock = clock
        self._rng = rng

    async def bad_request(self, delivery: Delivery, exc: TelegramBadRequest) -> None:
        meaning = classify(exc.message, in_thread=delivery.thread_id is not None)
        outbox = self._storage.outbox
        if meaning is BadRequest.CHAT_GONE:
            await self.chat_gone(delivery, "chat not found")
        elif meaning is BadRequest.NO_RIGHTS:
            await self.cannot_post(delivery)
        elif meaning is BadRequest.THREAD_GONE:
            log.info("forum topic gone; the chat gets its alerts in the main thread from now on")
            await outbox.drop_thread(delivery.id, delivery.chat_id)
        elif meaning is BadRequest.TOPIC_CLOSED:
            # The chat is held by its head's backoff (`Outbox.due`), given up after the window.
            level = logging.INFO if delivery.attempts <= 1 else logging.DEBUG  # once a delivery
            log.log(level, "forum topic closed; its chat waits for it to reopen (delivery %d)",
                    delivery.id)  # fmt: skip
            await self.retry_or_give_up(delivery, "topic closed")
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

    async def chat_gone(self, delivery: Delivery, why: str) -> None:
        stop = self._storage.chats.deactivate
        await self._stop_chat(delivery, stop, f"chat deactivated ({why})", "chats_deactivated")

    async def token_refused(self, delivery: Delivery) -> None:
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

    async def cannot_post(self, delivery: Delivery) -> None:
        stop = self._storage.chats.pause
        await self._stop_chat(delivery, stop, "chat paused (no right to post)", "chats_paused")

    async def _stop_chat(
        self,
        delivery: Delivery,
        stop: Callable[[int], Awaitable[None]],
        what: str,
        counter: str,
    ) -> None:
        """The delivery's chat gets nothing more (`stop`: deactivated or paused), its queue
        dropped, and both are counted."""
        outbox = self._storage.outbox
        dropped = await outbox.pending_count(delivery.chat_id)
        log.info("%s; %d queued deliveries dropped", what, dropped)
        await stop(delivery.chat_id)
        await outbox.count(counter)
        await outbox.count("dropped", dropped)

    async def retry_or_give_up(self, delivery: Delivery, reason: str) -> None:
        now = self._clock()
        # The claim counted this attempt (`Outbox.claimed` reads the delivery after it); a
        # delivery read before its claim (an internal error) says one fewer.
        attempt = max(delivery.attempts, 1)
        # None: `delivery` was read before its first claim, which was just now.
        tried = now if delivery.first_attempt_at is None else delivery.first_attempt_at
        if now - max(delivery.due_at, tried) >= self._backoff.give_up_after:
            log.warning("delivery %d given up after %d attempts: %s", delivery.id,
                        attempt, reason)  # fmt: skip
            await self._storage.outbox.give_up(delivery.id, reason)
            return
        delay = self._backoff.delay(attempt, self._rng)
        log.debug("delivery %d retried in %.1fs: %s", delivery.id, delay, reason)
        await self._storage.outbox.retry_later(delivery.id, now + delay, reason, counter="retried")

    async def pause(self, seconds: float) -> None:
        log.warning("Telegram asked for a pause of %ss; all sending waits", seconds)
        self._pacer.pause(seconds)
        await self._storage.outbox.pause_for(seconds, self._clock())

    async def restore_pause(self) -> None:
        """A 429 pause outlives a restart: Telegram's flood ban does too."""
        until = await self._storage.outbox.paused_until()
        remaining = 0.0 if until is None else until - self._clock()
        if remaining > 0:
            log.warning("still paused by Telegram for %.0fs", remaining)
            self._pacer.pause(remaining, margin=0.0)
