"""/search, /recent, /story, /case and /export. Queries are never logged or stored.

Pagination keeps no state on the server: a result page starts with the canonical query
(`render_search.QUERY_MARK`), and its buttons carry `p1:<page>:<tag>`, where `tag` is a short
hash of that query. A press re-reads the query from the message the button is attached to
(Telegram delivers the press with that message, from the chat where it was pressed, so no
other chat's query can be reached), checks the tag and the page, and edits the message. Forged,
stale or unknown data, or a message Telegram no longer shows us, gets a polite answer.

A reply Telegram refuses for its own content (a bug: the renderers keep to its rules) is sent
again as plain text (`_send`), as the sender does for alerts, so a command is never unanswered.

Every reply is in the chat's language and zone (`tr`, from `bot.telegram.i18n`): `since:` and
`until:` name days of the chat's zone, as the results show them. The query line of a
result page is not translated, so a list pages the same whatever language it was rendered in,
and whoever presses the button.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Final

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)
from aiogram.utils.formatting import Text

from bot.bad_requests import BadRequest, classify, not_modified
from bot.errors import QueryError
from bot.i18n import N_, Tr
from bot.render import TELEGRAM_CAPTION_LIMIT, plain, story_list, without_entities
from bot.render_search import query_of_page, results_page, story_card, timeline
from bot.search import QueryBuilder, SearchQuery
from bot.search.export import cited, file_name, to_csv
from bot.storage import Storage
from bot.storage.search import RANK_WINDOW

log = logging.getLogger(__name__)

PAGE_SIZE: Final = 5
LAST_PAGE: Final = RANK_WINDOW // PAGE_SIZE - 1
EXPORT_MAX: Final = 200
CALLBACK: Final = re.compile(r"p1:(\d{1,4}):([0-9a-f]{8})")
NO_PREVIEW: Final = LinkPreviewOptions(is_disabled=True)
# English msgids, translated when the handler answers (`_say`).
TEXTS: Final = {
    "nothing": N_(
        "Nothing found. Try fewer words, another spelling, or a country: /search Казахстан"
    ),
    "recent_empty": N_("No stories stored yet."),
    "stale": N_("This list is too old to page. Please search again."),
    "forged": N_("This button does not work any more. Please search again."),
    "no_more": N_("No more results on that page."),
    "story_usage": N_("Send /story and a story number from the results, e.g. /story 12"),
    "no_story": N_("There is no story with that number."),
    "case_usage": N_("Send /case and a person's name, e.g. /case Бажуков"),
    "case_empty": N_("No stories name {name}. Try another spelling, or /search {name}"),
    "export_usage": N_("Send /export and a search, e.g. /export country:kg since:2025-03-01"),
}


def make_router() -> Router:
    router = Router(name="search")
    for register in (router.message, router.channel_post):
        register(Command("search"))(search)
        register(Command("recent"))(recent)
        # aiogram tries a pattern with `.match`: a prefix would do, so `/story_12abc` would
        # open story 12. The pattern takes the whole rest of the name; `story` checks it.
        register(Command("story", re.compile(r"story_(.*)")))(story)
        register(Command("case"))(case)
        register(Command("export"))(export)
    # Every press in the "p" scope lands here, forged or stale ones too, so each gets an
    # answer; other scopes belong to their features, and `fallback` answers the rest.
    router.callback_query(F.data.startswith("p"))(page)
    return router


async def search(
    message: Message, command: CommandObject, storage: Storage, queries: QueryBuilder, tr: Tr
) -> None:
    try:
        query = queries.build(command.args or "", utc_offset=tr.utc_offset)
    except QueryError as exc:
        await message.answer(**plain(_explain(exc, tr)).as_kwargs())
        return
    reply = await _page(storage, query, 0, tr)
    if reply is None:
        await message.answer(_say(tr, "nothing"))
        return
    text, markup = reply
    await _send(message, text, markup)


async def page(callback: CallbackQuery, storage: Storage, queries: QueryBuilder, tr: Tr) -> None:
    match = CALLBACK.fullmatch(callback.data or "")
    message = callback.message
    if match is None:
        await callback.answer(_say(tr, "forged"))
        return
    if not isinstance(message, Message):  # InaccessibleMessage: Telegram no longer shows it
        await callback.answer(_say(tr, "stale"))
        return
    text = query_of_page(message.text)
    number = int(match[1])
    if text is None or _tag(text) != match[2] or number > LAST_PAGE:
        await callback.answer(_say(tr, "forged"))
        return
    try:
        query = queries.build(text, utc_offset=tr.utc_offset)
    except QueryError:
        await callback.answer(_say(tr, "forged"))
        return
    reply = await _page(storage, query, number, tr)
    if reply is None:
        await callback.answer(_say(tr, "no_more"))
        return
    await callback.answer()
    content, markup = reply
    try:
        await _send(message, content, markup, edit=True)
    except TelegramBadRequest as exc:
        if not not_modified(exc.message):  # a double tap asks for the page already shown
            raise


async def _page(
    storage: Storage, query: SearchQuery, number: int, tr: Tr
) -> tuple[Text, InlineKeyboardMarkup | None] | None:
    found = await storage.search.stories(query, limit=PAGE_SIZE + 1, offset=number * PAGE_SIZE)
    if not found:
        return None
    more = len(found) > PAGE_SIZE and number < LAST_PAGE
    text = results_page(found[:PAGE_SIZE], query.text, number, PAGE_SIZE, tr=tr)
    return text, _buttons(query.text, number, more, tr)


async def _send(
    message: Message, text: Text, markup: InlineKeyboardMarkup | None = None, *, edit: bool = False
) -> None:
    """Answer `message` with `text`, or edit it to `text`. Should Telegram refuse the message
    itself (its entities, its length: the renderers keep to Telegram's rules, so a bug), its
    words go again without entities, as the sender does for alerts: whoever asked gets a
    reply. An edit to what is already shown is no refusal: it is raised to the caller."""
    send = message.edit_text if edit else message.answer
    try:
        await send(**text.as_kwargs(), reply_markup=markup, link_preview_options=NO_PREVIEW)
    except TelegramBadRequest as exc:
        meaning = classify(exc.message, in_thread=bool(message.is_topic_message))
        if meaning is not BadRequest.MESSAGE or not_modified(exc.message):
            raise
        # Telegram's description names an entity or a limit, never the text: no query is logged.
        log.error("a search reply rejected by Telegram: %s; resent as plain text", exc.message)
        words = without_entities(text).as_kwargs()
        await send(**words, reply_markup=markup, link_preview_options=NO_PREVIEW)


def _buttons(query_text: str, number: int, more: bool, tr: Tr) -> InlineKeyboardMarkup | None:
    tag = _tag(query_text)
    row = []
    if number > 0:
        previous = tr("◀ Previous")
        row.append(InlineKeyboardButton(text=previous, callback_data=f"p1:{number - 1}:{tag}"))
    if more:
        row.append(InlineKeyboardButton(text=tr("Next ▶"), callback_data=f"p1:{number + 1}:{tag}"))
    return InlineKeyboardMarkup(inline_keyboard=[row]) if row else None


def _say(tr: Tr, key: str, **values: object) -> str:
    # Not `tr(TEXTS[key])` written out: pybabel would take the key for a msgid.
    return tr(TEXTS[key], **values)


def _explain(exc: QueryError, tr: Tr) -> str:
    # A QueryError's message is a catalog msgid (bot.search marks them with N_), its values
    # are what the person typed: the reply is in the chat's language with the same values.
    return tr(exc.message, **exc.values)


def _tag(query_text: str) -> str:
    # Not a secret: it only tells a button that belongs to this list from one that does not.
    return hashlib.blake2b(query_text.encode(), digest_size=4).hexdigest()


async def recent(message: Message, storage: Storage, tr: Tr) -> None:
    stories = await storage.stories.recent(PAGE_SIZE)
    if not stories:
        await message.answer(_say(tr, "recent_empty"))
        return
    text = story_list(stories, heading=tr("Latest stories"), tr=tr)
    await _send(message, text)


async def story(message: Message, command: CommandObject, storage: Storage, tr: Tr) -> None:
    raw = command.regexp_match[1] if command.regexp_match else (command.args or "").strip()
    if not raw.isdecimal() or len(raw) > 12:
        await message.answer(_say(tr, "story_usage"))
        return
    found = await storage.stories.get(int(raw))
    if found is None:
        await message.answer(_say(tr, "no_story"))
        return
    sources = await storage.stories.sources(found.id)
    card = story_card(found, sources, tr=tr)
    await _send(message, card)


async def case(
    message: Message, command: CommandObject, storage: Storage, queries: QueryBuilder, tr: Tr
) -> None:
    try:
        parsed = queries.parse(command.args or "", utc_offset=tr.utc_offset)
    except QueryError as exc:
        if not (command.args or "").strip():
            await message.answer(_say(tr, "case_usage"))
        else:
            await message.answer(**plain(_explain(exc, tr)).as_kwargs())
        return
    if not parsed.has_text:
        await message.answer(_say(tr, "case_usage"))
        return
    query = queries.compile(parsed)
    stories, total = await storage.search.timeline(query)
    if not stories:
        name = query.text[:60]
        await message.answer(**plain(_say(tr, "case_empty", name=name)).as_kwargs())
        return
    text = timeline(stories, query.text, total=total, tr=tr)
    await _send(message, text)


async def export(
    message: Message, command: CommandObject, storage: Storage, queries: QueryBuilder, tr: Tr
) -> None:
    if not (command.args or "").strip():
        await message.answer(_say(tr, "export_usage"))
        return
    try:
        query = queries.build(command.args or "", utc_offset=tr.utc_offset)
    except QueryError as exc:
        await message.answer(**plain(_explain(exc, tr)).as_kwargs())
        return
    # One more than the file holds tells a cut result from one of exactly EXPORT_MAX.
    matched = await storage.search.stories(query, limit=EXPORT_MAX + 1)
    if not matched:
        await message.answer(_say(tr, "nothing"))
        return
    stories = matched[:EXPORT_MAX]
    reports = await storage.stories.sources_of([s.id for s in stories])
    csv_file = to_csv(
        stories, {sid: cited(found) for sid, found in reports.items()}, utc_offset=tr.utc_offset
    )
    document = BufferedInputFile(csv_file, filename=file_name(tr.utc_offset))
    caption = plain(
        _export_caption(tr, len(stories), query.text, cut=len(matched) > EXPORT_MAX),
        TELEGRAM_CAPTION_LIMIT,
    )
    await message.answer_document(document, **caption.as_kwargs(text_key="caption"))


def _export_caption(tr: Tr, n: int, query_text: str, *, cut: bool) -> str:
    # The cut comes before the query: a long query is what `plain` cuts at the caption limit.
    if cut:
        return tr.plural(
            "Only the first {n} story: more match, narrow the search to export them all. "
            "Search: {query}",
            "Only the first {n} stories: more match, narrow the search to export them all. "
            "Search: {query}",
            n,
            query=query_text,
        )
    return tr.plural("{n} story for: {query}", "{n} stories for: {query}", n, query=query_text)
