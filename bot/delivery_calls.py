"""What each kind of delivery is in Telegram: the call that makes it, in the chat's language and
with its settings (quiet hours -> `disable_notification`, link previews, forum topic).

    alert   the story's card (with "also reported by" once more outlets carry it, and the
            chat's watched names or phrases its reports mention, matched again against each
            stored report's title and lead: no delivery records which watch fired, so an
            /unwatch leaves nothing behind). Not sent (done, with nothing sent) when the chat
            does not want it any more, judged by its settings now (`still_wanted`): no watch
            names it, and its subscription does not bring it (it is watch-only, the chat has
            unsubscribed, or none of its countries is among the chat's any more).
    edit    that alert rewritten in place when outlets join; never a second message:
            "not modified" counts as done, a deleted or too old alert is skipped (None)
    digest  the chat's digest items due now, as many as fit in one message, each judged as an
            alert is; those that went or were dropped are marked done with it, the rest
            follow as the next message

Each call writes nothing: it returns what it did (`Sent`: the id of the message it sent or
edited, or None when there was nothing to do, and the digest items that went with it), and the
sender records that in one transaction; Telegram's errors propagate to the sender, which decides
the delivery's fate. (Marking a digest's items sent here, before the head, meant that a failure
to write it had the sender resend the whole digest.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import LinkPreviewOptions, Message
from aiogram.utils.formatting import Text

from bot.bad_requests import not_modified
from bot.chat_settings import is_quiet
from bot.i18n import Catalogs, Tr
from bot.render import (
    DIGEST_ITEMS_MAX,
    alert_card,
    digest_page,
    format_day,
    without_entities,
)
from bot.storage import Chat, Delivery, ReportText, Storage, Story
from bot.watch import Watcher, WatchIndex, WatchTerm
from bot.words import EntryText

_EDIT_GONE = ("message to edit not found", "message can't be edited")


@dataclass(frozen=True, slots=True)
class Sent:
    """What a call did: the message it sent or edited (None: nothing to do), the ids of the
    other digest items that went in the same message, and those of the deliveries it dropped
    as no longer wanted (`still_wanted`; the call's own too): not sent, and not taken for a
    story the chat was told, so a later report that brings the story to it is news to it."""

    message_id: int | None
    together: tuple[int, ...] = ()
    dropped: tuple[int, ...] = ()


class DeliveryCalls:
    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        catalogs: Catalogs,
        *,
        request_timeout: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._bot = bot
        self._outbox = storage.outbox
        self._stories = storage.stories
        self._watchlist = storage.watchlist
        self._watcher = Watcher(storage.lemmatizer)
        self._catalogs = catalogs
        self._request_timeout = request_timeout
        self._clock = clock

    def content(self, delivery: Delivery, card: Text) -> Text:
        """What to send for `card`: the card itself, or its plain text after a rejection."""
        return without_entities(card) if delivery.plain else card

    async def alert(self, delivery: Delivery) -> Sent:
        watched = await self._watched(delivery.chat_id, [delivery.story])
        if _unwanted(delivery, delivery.story, watched):
            return Sent(None, dropped=(delivery.id,))
        card = await self._card(delivery, watched)
        return Sent(await self._send(delivery, self.content(delivery, card)))

    async def edit(self, delivery: Delivery) -> Sent:
        """Rewrite the chat's alert for the story as it is now (e.g. with more sources)."""
        return Sent(await self._edit(delivery))

    async def _edit(self, delivery: Delivery) -> int | None:
        if delivery.message_id is None:
            return None  # the alert never went out (or was given up): nothing to edit
        watched = await self._watched(delivery.chat_id, [delivery.story])
        text = self.content(delivery, await self._card(delivery, watched))
        chat = _chat_of(delivery)
        try:
            result = await self._bot.edit_message_text(
                chat_id=delivery.chat_id,
                message_id=delivery.message_id,
                link_preview_options=LinkPreviewOptions(is_disabled=not chat.previews),
                request_timeout=self._request_timeout,
                **text.as_kwargs(),
            )
        except TelegramBadRequest as exc:
            if not_modified(exc.message):
                return delivery.message_id
            reason = exc.message.lower()
            if any(marker in reason for marker in _EDIT_GONE):
                return None  # deleted in the chat, or too old: done
            raise
        return result.message_id if isinstance(result, Message) else delivery.message_id

    async def digest(self, delivery: Delivery) -> Sent:
        """The head and the chat's other due digest items, as many as fit in one message; the
        ones that went with it are returned, the rest follow as the next message."""
        chat = _chat_of(delivery)
        tr = self._catalogs.tr(chat.language).in_zone(chat.utc_offset)
        now = self._clock()
        followers = await self._outbox.digest_followers(delivery, now, limit=DIGEST_ITEMS_MAX - 1)
        stories = [delivery.story, *(f.story for f in followers)]
        watched = await self._watched(delivery.chat_id, stories)
        kept = [i for i, story in enumerate(stories) if not _unwanted(delivery, story, watched)]
        ids = [delivery.id, *(f.id for f in followers)]
        if not kept:
            return Sent(None, dropped=tuple(ids))
        page, count = digest_page(
            [stories[i] for i in kept],
            heading=_digest_heading(chat, tr, now),
            tr=tr,
            watched=watched,
        )
        message_id = await self._send(delivery, self.content(delivery, page))
        # Done with each item up to the last one on the page: sent, or dropped.
        last = kept[count - 1]
        went = set(kept[:count])
        together = tuple(ids[i] for i in range(1, last + 1) if i in went)
        dropped = tuple(ids[i] for i in range(last + 1) if i not in went)
        return Sent(message_id, together, dropped)

    async def _card(self, delivery: Delivery, watched: dict[int, list[str]] | None) -> Text:
        chat = _chat_of(delivery)
        tr = self._catalogs.tr(chat.language).in_zone(chat.utc_offset)
        story = delivery.story
        sources = await self._stories.sources(story.id)
        return alert_card(story, tr, sources=sources, watched=(watched or {}).get(story.id, []))

    async def _watched(self, chat_id: int, stories: Sequence[Story]) -> dict[int, list[str]] | None:
        """By story id, the chat's watched phrases that the story's reports mention; None when
        the chat watches nothing."""
        phrases = await self._watchlist.of_chat(chat_id)
        if not phrases:
            return None
        watches = self._watcher.index(WatchTerm(chat_id, p) for p in phrases)
        texts = await self._stories.texts_of([s.id for s in stories])
        return {s.id: _mentioned(watches, texts.get(s.id, ())) for s in stories}

    async def _send(self, delivery: Delivery, text: Text) -> int:
        chat = _chat_of(delivery)
        quiet = is_quiet(chat.quiet_from, chat.quiet_to, chat.utc_offset, self._clock())
        message = await self._bot.send_message(
            chat_id=delivery.chat_id,
            message_thread_id=delivery.thread_id,
            link_preview_options=LinkPreviewOptions(is_disabled=not chat.previews),
            disable_notification=quiet or None,
            request_timeout=self._request_timeout,
            **text.as_kwargs(),
        )
        return message.message_id


def _mentioned(watches: WatchIndex, reports: Iterable[ReportText]) -> list[str]:
    """The watched phrases the story's reports (`Stories.texts_of`: its own text first)
    mention, each once, in the order they are found. Each is matched on its own and in its own
    language, as it was when it was stored."""
    found: dict[str, None] = {}
    for title, lead, lang in reports:
        terms = watches.mentioned(EntryText.of(title, lead, lang))
        found.update(dict.fromkeys(term.phrase for term in terms))
    return list(found)


def still_wanted(chat: Chat, story: Story, *, watched: bool) -> bool:
    """Whether a queued alert or digest item still goes to the chat. Judged when it is sent,
    by the chat's settings then: what it changed since the item was queued holds for it.

    - A story that a watch the chat still has names (`watched`) goes, whatever its countries
      and whether the chat is subscribed. Which watch queued an item is not stored, so one
      queued for a watch removed since (/unwatch), or kept by /unsubscribe because the chat
      watches something (`bot.storage.chats`), is judged by the rule below.
    - Any other goes only if the subscription brings it: the chat is subscribed, the story is
      public (not kept for watchlists only), and the chat takes every country or one of those
      the story's relevant reports named (`Story.report_countries`: each report was matched by
      its own when the story was queued, so one that a later outlet's report brought still
      goes; unknown for some stories stored before migration 16, which are not narrowed).

    An item not wanted is dropped: done, with nothing sent."""
    if watched:
        return True
    if not (chat.subscribed and story.broadcast):
        return False
    named = story.report_countries
    return not chat.countries or named is None or not set(chat.countries).isdisjoint(named)


def _unwanted(delivery: Delivery, story: Story, watched: dict[int, list[str]] | None) -> bool:
    # A delivery whose chat was not read (none from the outbox) counts as subscribed to all.
    chat = delivery.chat or replace(Chat.new(delivery.chat_id), subscribed=True)
    return not still_wanted(chat, story, watched=bool((watched or {}).get(story.id)))


def _chat_of(delivery: Delivery) -> Chat:
    return delivery.chat or Chat.new(delivery.chat_id)


def _digest_heading(chat: Chat, tr: Tr, now: float) -> str:
    day = format_day(datetime.fromtimestamp(now, UTC), tr.in_zone(chat.utc_offset))
    if chat.mode == "weekly":
        return tr("🗞 Weekly digest · {day}", day=day)
    if chat.mode == "daily":
        return tr("🗞 Daily digest · {day}", day=day)
    return tr("🗞 Digest · {day}", day=day)
