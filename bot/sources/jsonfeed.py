"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1), which feedparser does not read.

The document must be an object whose `version` starts with "https://jsonfeed.org/version/"
and whose `items` is a list. Each item becomes an `Entry` as an RSS item would: `title` (else
nothing), text from `content_html`, else `content_text`, else `summary`, link from `url` (else
`external_url`), `id` as the GUID (1.0 allowed numbers), date from
`date_published` (else `date_modified`, RFC 3339), language from the item's `language` (1.1),
else the configured one, else the feed's `language`. Items that are not objects, or carry
nothing readable, are skipped.
Only `content_html` is HTML: `title`, `content_text` and `summary` are plain text by the
specification, so "<Ivanov>" or "&amp;" in them is text to keep as it stands.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.decoding import byte_order_mark, decode_document
from bot.errors import NotAFeed, ParseError
from bot.feed_dates import plausible_date
from bot.html_text import bound, html_to_text, plain_text, without_not_text
from bot.model import Entry, ParsedFeed
from bot.parse import (
    GUID_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    clean_link,
    norm_lang,
)

_VERSION_PREFIX = "https://jsonfeed.org/version/"
_SURROGATE = re.compile("[\ud800-\udfff]")


def looks_like_json(body: bytes, content_type: str) -> bool:
    """A JSON body. Its first character after any space (and a byte-order mark, which Windows
    tools write before UTF-8 too) decides, whatever the label says: "{" is JSON and "<" markup
    (an RSS file a misconfigured CDN serves as application/json). Only a body that starts with
    neither goes by its label."""
    first = _first_character(body)
    if first in ("{", "<"):
        return first == "{"
    mime = content_type.split(";", maxsplit=1)[0].strip().lower()
    return mime.endswith(("/json", "+json"))


def _first_character(body: bytes) -> str:
    mark = byte_order_mark(body)
    if mark is None:
        return body.lstrip()[:1].decode("latin-1")
    encoding, size = mark
    return body[size:].decode(encoding, "replace").lstrip()[:1]


def parse_json_feed(
    body: bytes,
    headers: Mapping[str, str],
    *,
    base_url: str,
    lang: str | None = None,
    max_entries: int = 500,
) -> ParsedFeed:
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        data = json.loads(decode_document(body, lower.get("content-type", "")))
    except (ValueError, RecursionError):
        raise ParseError("unreadable JSON") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(_VERSION_PREFIX):
        raise NotAFeed("JSON document is not a JSON Feed")
    items = data.get("items")
    if not isinstance(items, list):
        raise ParseError("JSON Feed has no 'items' list")
    feed_lang = norm_lang(lang) or norm_lang(data.get("language"))
    entries = []
    for raw in items[:max_entries]:
        entry = _entry(raw, base_url=base_url, lang=feed_lang) if isinstance(raw, dict) else None
        if entry is not None:
            entries.append(entry)
    return ParsedFeed(tuple(entries))


def _entry(raw: dict[str, Any], *, base_url: str, lang: str | None) -> Entry | None:
    title = bound(plain_text(_text(raw.get("title"))), TITLE_MAX)
    html = _text(raw.get("content_html"))
    body = html_to_text(html) if html else plain_text(_text(raw.get("content_text")))
    summary = bound(body or plain_text(_text(raw.get("summary"))), SUMMARY_MAX)
    link = clean_link(_text(raw.get("url")) or _text(raw.get("external_url")) or None, base_url)
    if not (title or summary or link):
        return None
    guid_value = raw.get("id")
    guid = (
        without_not_text(_text(str(guid_value))).strip()[:GUID_MAX]
        if isinstance(guid_value, str | int)
        else None
    )
    published = _date(raw.get("date_published")) or _date(raw.get("date_modified"))
    entry_lang = norm_lang(raw.get("language")) or lang
    return Entry(title, summary, link, guid or None, published, entry_lang)


def _text(value: object) -> str:
    # JSON's \\u escapes can spell half of a UTF-16 pair, which no UTF-8 encoder (the hashes,
    # the HTML parser, SQLite) takes: one such item would fail its whole feed on every poll.
    return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else ""


def _date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return plausible_date(datetime.fromisoformat(value.strip()))
    except ValueError:
        return None
