"""Public Telegram channels as sources, read from their web preview `https://t.me/s/<channel>`.

The page lists the channel's latest posts, oldest first. Each post is a
`.tgme_widget_message[data-post="<channel>/<number>"]`; its own text is the first
`.tgme_widget_message_text` inside its `.tgme_widget_message_bubble`, at any depth (a post with
media or custom emoji wraps it in `.media_supported_cont`, an album twice), but never one
inside a quoted reply (`.tgme_widget_message_reply`), a link's preview
(`.tgme_widget_message_link_preview`) or the hidden fallback for old apps
(`.media_not_supported_cont`): those are not the post's text. Its date is the `datetime`
attribute of the `time` inside `.tgme_widget_message_date`. A post becomes an `Entry`:

    title    the post's first line, bounded (channels write a headline line first)
    summary  the whole text, line breaks kept as spaces, bounded
    link     https://t.me/<channel>/<number>, also the GUID
    date     the post's time, in UTC

A line is what shows: the blank letters typed for an empty line or an indent
(`bot.html_text.BLANK_LETTERS`) are spaces, and a line of nothing but spaces is none.

Posts without text (a photo or sticker alone) and service messages ("channel photo updated")
are skipped: there is nothing to judge. A page without `.tgme_channel_history` is a channel
that has no public preview (Telegram then serves, or redirects to, the plain `t.me/<channel>`
invitation page): that is a `NotAFeed` saying so, never an empty success.

The page shows only the latest posts (about 20); `earlier_page` is the address of the ones
before them, which `bot.refresh` reads when a poll finds none of a page's posts seen before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.decoding import decode_document
from bot.errors import NotAFeed
from bot.feed_dates import plausible_date
from bot.html_text import BLANK_LETTERS, bound, without_not_text
from bot.model import Entry, ParsedFeed
from bot.parse import SUMMARY_MAX, norm_lang
from bot.words import composed

TITLE_MAX = 200
_CHANNEL = r"[A-Za-z][A-Za-z0-9_]{3,31}"  # a public channel's username
_POST = re.compile(rf"({_CHANNEL})/(\d{{1,12}})")  # a post: <channel>/<number>
# A line break, or a block's edge: Telegram writes quotes and code blocks as <blockquote> and
# <pre>, whose text would otherwise be glued to the words around it.
_BREAK = re.compile(
    r"<br\s*/?>|</?(?:blockquote|pre|p|div|ul|ol|li|h[1-6])(?:\s[^>]*)?>", re.IGNORECASE
)
# Spaces, and the blank letters typed for an empty line or an indent (a first line of them
# made the post's title an invisible link).
_BLANKS = re.compile(rf"(?:[^\S\n]|[{BLANK_LETTERS}])+")
# What holds a text block that is not the post's own (see the module's docstring).
_NOT_OWN = frozenset(
    {"tgme_widget_message_reply", "tgme_widget_message_link_preview", "media_not_supported_cont"}
)


def preview_url(channel: str) -> str:
    return f"https://t.me/s/{channel}"


def earlier_page(url: str, entries: Sequence[Entry]) -> str | None:
    """The preview page of the posts before the oldest of `entries`, which were read from
    `url`: `?before=<its number>`, as the page's own "more" link has it. None when no entry
    is a numbered post."""
    numbers = [
        int(match.group(2))
        for entry in entries
        if entry.link and (match := _POST.fullmatch(urlsplit(entry.link).path.strip("/")))
    ]
    if not numbers:
        return None
    return urlunsplit(urlsplit(url)._replace(query=f"before={min(numbers)}", fragment=""))


def channel_of(url: str) -> str | None:
    """The channel name of a `https://t.me/s/<channel>` URL, else None."""
    match = re.fullmatch(rf"https?://t\.me/s/({_CHANNEL})/?", url.strip())
    return match.group(1) if match else None


def parse_preview(
    body: bytes,
    headers: Mapping[str, str],
    *,
    base_url: str,
    lang: str | None = None,
    max_entries: int = 500,
) -> ParsedFeed:
    lower = {k.lower(): v for k, v in headers.items()}
    tree = LexborHTMLParser(decode_document(body, lower.get("content-type", "")))
    if tree.css_first(".tgme_channel_history") is None:
        raise NotAFeed("the channel has no public web preview (t.me/s/ shows no posts)")
    feed_lang = norm_lang(lang)
    entries = []
    for node in tree.css(".tgme_widget_message[data-post]"):
        entry = _post(node, feed_lang)
        if entry is not None:
            entries.append(entry)
    return ParsedFeed(tuple(entries[-max_entries:]))


def _post(node: LexborNode, lang: str | None) -> Entry | None:
    match = _POST.fullmatch((node.attributes.get("data-post") or "").strip())
    classes = (node.attributes.get("class") or "").split()
    if match is None or "service_message" in classes:
        return None
    text_node = _own_text(node)
    lines = _lines(text_node) if text_node is not None else []
    if not lines:
        return None
    link = f"https://t.me/{match.group(1)}/{match.group(2)}"
    title = bound(lines[0], TITLE_MAX)
    summary = bound(" ".join(lines), SUMMARY_MAX)
    return Entry(title, summary, link, link, _date(node), lang)


def _own_text(post: LexborNode) -> LexborNode | None:
    """The post's own text block: the first in its bubble outside `_NOT_OWN`. The search goes
    in document order, so the first found is the outermost."""
    for text in post.css(".tgme_widget_message_bubble .tgme_widget_message_text"):
        if not _within_not_own(text, post):
            return text
    return None


def _within_not_own(node: LexborNode, post: LexborNode) -> bool:
    wrapper = node.parent
    while wrapper is not None and wrapper.mem_id != post.mem_id:
        if _NOT_OWN.intersection((wrapper.attributes.get("class") or "").split()):
            return True
        wrapper = wrapper.parent
    return False


def _lines(node: LexborNode) -> list[str]:
    # Line breaks are <br> (and blocks) in the markup; keep them to find the headline line.
    html = _BREAK.sub("\n", node.html or "")
    body = LexborHTMLParser(html).body
    text = composed(without_not_text(body.text(separator="") if body is not None else ""))
    return [line for raw in text.split("\n") if (line := _BLANKS.sub(" ", raw).strip())]


def _date(node: LexborNode) -> datetime | None:
    stamp = node.css_first(".tgme_widget_message_date time[datetime]")
    value = stamp.attributes.get("datetime") if stamp is not None else None
    if not value:
        return None
    try:
        return plausible_date(datetime.fromisoformat(value.strip()))
    except ValueError:
        return None
