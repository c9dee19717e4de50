"""The outbox sender: the one loop that pushes alerts to Telegram, and edits them in place
when more outlets report their story (deliveries of kind 'edit', see `edit_alert`).

Each round takes the head delivery of every chat that may receive a message now (see
`bot.storage.outbox`), claims it (`sending`, committed) and sends it, with a bounded number of
requests in flight; the bot's session paces every request (`bot.telegram.pacing`). What
Telegram answers decides the delivery's fate:

    ok                              -> sent (message id kept, for later edits)
    edit: not modified / not found  -> done (the alert already says it, or is gone)
    edit: other 400                 -> given up (an edit never becomes a second message)
    429 retry after N               -> everything pauses N s (+margin); the delivery waits N s
    403 / 400 chat not found        -> the chat is deactivated, its queue dropped
    400 migrated to a supergroup    -> the chat moves to the new id, the delivery is resent there
    400 other (too long, entities)  -> logged with the story id, resent once as plain text,
                                       then given up; never a loop
    network error, 5xx, other       -> retried with capped exponential backoff and jitter for
                                       `GIVE_UP_AFTER`, then given up (counted as failed)

What is sent follows the chat's settings, which `due()` reads with each delivery: the chat's
language, `disable_notification` during its quiet hours, link previews on or off, its forum
topic. A 'digest' delivery is the head of the chat's digest items due now: it goes out as one
message (`render.digest_page`) holding as many of them as fit, and those are marked sent with
it; the rest follow as the next message, so a long digest splits between stories.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import LinkPreviewOptions
from aiogram.utils.formatting import Text

from bot.chat_settings import is_quiet
from bot.i18n import Catalogs, Tr
from bot.pacing import SENDER_HANDLES_RETRY, Pacer
from bot.render import DIGEST_ITEMS_MAX, alert_card, digest_page, format_day, plain
from bot.storage import Chat, Delivery, Storage

log = logging.getLogger(__name__)

BACKOFF_BASE = 2.0
BACKOFF_CAP = 600.0
GIVE_UP_AFTER = 24 * 3600.0
IDLE_WAIT = 5.0
_CHAT_GONE = ("chat not found", "user is deactivated", "bot was kicked", "have no rights")


class Sender:
    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        pacer: Pacer,
        *,
        max_in_flight: int = 8,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        catalogs: Catalogs | None = None,
    ) -> None:
        self._bot = bot
        self._catalogs = catalogs or Catalogs.load()
        self._storage = storage
        self._pacer = pacer
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not cryptography
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_flight: set[int] = set()  # chat ids with a send under way
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        """New deliveries were queued: look now instead of at the next idle tick."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        await self._storage.outbox.release_in_flight()
        while not self._stopping.is_set():
            started, soonest = await self._round()
            if not started:
                await self._idle(soonest)
        await self._drain()

    async def _round(self) -> tuple[int, float | None]:
        """Start what may go now; return how many started and, if some due chat must wait for
        the pacer, in how many seconds the first of them may go."""
        due = await self._storage.outbox.due(self._clock(), limit=200)
        loop_now = time.monotonic()
        waiting = [d for d in due if d.chat_id not in self._in_flight]
        ready = [d for d in waiting if self._pacer.chat_ready_at(d.chat_id) <= loop_now]
        later = [self._pacer.chat_ready_at(d.chat_id) - loop_now for d in waiting if d not in ready]
        for delivery in ready:
            if self._stopping.is_set():
                break
            await self._slots.acquire()
            if not await self._storage.outbox.mark_sending(delivery.id):
                self._slots.release()
                continue
            self._in_flight.add(delivery.chat_id)
            task = asyncio.create_task(self._deliver(delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(ready), min(later, default=None)

    async def _idle(self, soonest: float | None) -> None:
        """Sleep until the pacer frees a waiting chat, a retry falls due, a send finishes or new
        work is queued (`wake()`), whichever comes first."""
        wait = IDLE_WAIT if soonest is None else soonest
        next_due = await self._storage.outbox.next_due_at()
        if next_due is not None and next_due > self._clock():
            wait = min(wait, next_due - self._clock())
        wait = max(wait, 0.01)
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), wait)

    async def _drain(self) -> None:
        """Shutdown: let the sends in flight finish (they are short), so none is left claimed."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            # The bot's session paces this request (bot.telegram.pacing): one place decides.
            await self._send_and_record(delivery)
        except Exception:
            # A bug must not stall the queue: log it and treat it like a transient failure.
            log.exception("delivery %d failed unexpectedly", delivery.id)
            await self._retry_or_give_up(delivery, "internal error")
        finally:
            self._in_flight.discard(delivery.chat_id)
            self._slots.release()
            self._wake.set()

    async def _send_and_record(self, delivery: Delivery) -> None:
        outbox = self._storage.outbox
        card, together = await self._compose(delivery)
        try:
            if delivery.kind == "edit":
                message_id = await edit_alert(self._bot, delivery, card)
            else:
                message_id = await self._send(delivery, card)
        except TelegramRetryAfter as exc:
            self._pacer.pause(exc.retry_after)
            await outbox.count("429")
            await outbox.retry_later(
                delivery.id, self._clock() + exc.retry_after, "429", counter="retried"
            )
        except TelegramMigrateToChat as exc:
            await outbox.retry_later(delivery.id, self._clock(), "migrated", counter="migrated")
            await self._storage.chats.migrate(delivery.chat_id, exc.migrate_to_chat_id)
        except TelegramForbiddenError:
            await self._chat_gone(delivery, "forbidden")
        except TelegramBadRequest as exc:
            if any(marker in exc.message.lower() for marker in _CHAT_GONE):
                await self._chat_gone(delivery, "chat not found")
            elif delivery.kind == "edit":
                log.error("story %d: edit rejected (%s); giving up", delivery.story.id, exc)
                await outbox.give_up(delivery.id, f"bad request: {exc}")
            else:
                await self._fallback_plain(delivery, card, together, exc)
        except (TelegramNetworkError, TelegramAPIError, OSError, TimeoutError) as exc:
            await self._retry_or_give_up(delivery, type(exc).__name__)
        else:
            await self._sent(delivery, together, message_id)

    async def _compose(self, delivery: Delivery) -> tuple[Text, list[int]]:
        """The message for a delivery, and the ids of the other digest items it carries."""
        chat = delivery.chat or Chat.new(delivery.chat_id)
        tr = self._catalogs.tr(chat.language)
        if delivery.kind != "digest":  # an alert, or the edit of one when outlets joined
            sources = await self._storage.stories.sources(delivery.story.id)
            return alert_card(delivery.story, tr, sources=sources), []
        now = self._clock()
        followers = await self._storage.outbox.digest_followers(
            delivery, now, limit=DIGEST_ITEMS_MAX - 1
        )
        page, count = digest_page(
            [delivery.story, *(f.story for f in followers)],
            heading=_digest_heading(chat, tr, now),
            tr=tr,
        )
        return page, [f.id for f in followers[: count - 1]]

    async def _sent(self, delivery: Delivery, together: list[int], message_id: int) -> None:
        await self._storage.outbox.mark_sent(delivery.id, message_id, self._clock())
        await self._storage.outbox.mark_sent_with(together, message_id, self._clock())

    async def _send(self, delivery: Delivery, card: Text) -> int:
        SENDER_HANDLES_RETRY.set(True)  # this task's context only
        chat = delivery.chat or Chat.new(delivery.chat_id)
        quiet = is_quiet(chat.quiet_from, chat.quiet_to, chat.utc_offset, self._clock())
        message = await self._bot.send_message(
            chat_id=delivery.chat_id,
            message_thread_id=delivery.thread_id,
            link_preview_options=LinkPreviewOptions(is_disabled=not chat.previews),
            disable_notification=quiet or None,
            **card.as_kwargs(),
        )
        return message.message_id

    async def _chat_gone(self, delivery: Delivery, why: str) -> None:
        log.info("chat deactivated (%s); its queue is dropped", why)
        await self._storage.chats.deactivate(delivery.chat_id)
        await self._storage.outbox.count("chats_deactivated")

    async def _fallback_plain(
        self, delivery: Delivery, card: Text, together: list[int], exc: TelegramBadRequest
    ) -> None:
        """Rendering is bounded, so this is a bug: say which story, try plain text once."""
        log.error("story %d rejected by Telegram (%s); sending plain text", delivery.story.id, exc)
        rendered, _ = card.render()
        try:
            message_id = await self._send(delivery, plain(rendered))
        except TelegramAPIError as again:
            log.error("story %d plain text rejected too (%s); giving up", delivery.story.id, again)
            await self._storage.outbox.give_up(delivery.id, f"bad request: {again}")
        else:
            await self._sent(delivery, together, message_id)

    async def _retry_or_give_up(self, delivery: Delivery, reason: str) -> None:
        now = self._clock()
        if now - delivery.created_at >= GIVE_UP_AFTER:
            log.warning("delivery %d given up after 24 h: %s", delivery.id, reason)
            await self._storage.outbox.give_up(delivery.id, reason)
            return
        delay = min(BACKOFF_CAP, BACKOFF_BASE ** min(delivery.attempts + 1, 20))
        delay *= self._rng.uniform(0.5, 1.0)
        await self._storage.outbox.retry_later(delivery.id, now + delay, reason, counter="retried")


def _digest_heading(chat: Chat, tr: Tr, now: float) -> str:
    day = format_day(datetime.fromtimestamp(now + chat.utc_offset * 3600, UTC), tr.locale)
    if chat.mode == "weekly":
        return tr("🗞 Weekly digest · {day}", day=day)
    if chat.mode == "daily":
        return tr("🗞 Daily digest · {day}", day=day)
    return tr("🗞 Digest · {day}", day=day)


_EDIT_DONE = ("message is not modified", "message to edit not found", "message can't be edited")


async def edit_alert(bot: Bot, delivery: Delivery, card: Text) -> int:
    """Edit the chat's alert to `card` (paced by the session like any send); returns the alert's
    message id. An alert never sent, one already showing this, or one deleted, is done."""
    if delivery.message_id is None:
        return 0
    SENDER_HANDLES_RETRY.set(True)  # this task's context only
    try:
        await bot.edit_message_text(
            chat_id=delivery.chat_id,
            message_id=delivery.message_id,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            **card.as_kwargs(),
        )
    except TelegramBadRequest as exc:
        if not any(marker in exc.message.lower() for marker in _EDIT_DONE):
            raise
    return delivery.message_id
