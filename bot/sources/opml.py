"""OPML 2.0 in and out (http://opml.org/spec2.opml), the format feed readers exchange lists in.

Reading: every `<outline>` with an `xmlUrl`, at any depth (folders are flattened), becomes an
`OpmlFeed`: its name is `title`, else `text`, else the URL, without control characters;
`language` becomes the language when it is a language tag. A `https://t.me/s/<channel>` URL is
a Telegram source. A DOCTYPE or an entity declaration is refused outright: no subscription list
needs one, and they are how entity-expansion attacks work. Outlines without a usable http(s)
URL (one with spaces or control characters is not usable) are skipped and counted.

Writing: one `<outline type="rss">` per source with `text`, `title`, `xmlUrl`, `htmlUrl` for
Telegram channels, and `language`; names and URLs are escaped by ElementTree.

`feeds_yaml_lines` renders new sources as feeds.yaml list items, quoting every value as a JSON
string (which YAML reads as is), so a name with a colon or a quote cannot break the file.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from bot.addresses import NOT_IN_URL
from bot.decoding import decode_document
from bot.errors import ParseError
from bot.model import FeedSpec
from bot.parse import NOT_TEXT, norm_lang
from bot.sources.telegram_preview import channel_of

_DECLARATIONS = re.compile(r"<!(?:DOCTYPE|ENTITY)\b", re.IGNORECASE)
_NAME_MAX = 200


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    name: str
    url: str
    lang: str | None = None
    telegram: str | None = None  # the channel, when the URL is its t.me/s/ preview


@dataclass(frozen=True, slots=True)
class OpmlList:
    feeds: tuple[OpmlFeed, ...]
    skipped: int  # outlines with an xmlUrl that is not a usable http(s) URL


def read_opml(data: bytes) -> OpmlList:
    text = decode_document(data)
    if _DECLARATIONS.search(text):
        raise ParseError("OPML with a DOCTYPE or entity declarations is refused")
    try:
        root = ET.fromstring(text)  # noqa: S314 -- no DTD can reach it (refused above)
    except ET.ParseError as exc:
        raise ParseError(f"not well-formed XML ({exc})") from None
    if root.tag != "opml" or root.find("body") is None:
        raise ParseError("not an OPML document (no <opml><body>)")
    feeds: list[OpmlFeed] = []
    skipped = 0
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            continue  # a folder or a plain note
        if not _is_http(url):
            skipped += 1
            continue
        name = " ".join(
            NOT_TEXT.sub("", outline.get("title") or outline.get("text") or url).split()
        )
        lang = norm_lang(outline.get("language"))
        feeds.append(OpmlFeed(name[:_NAME_MAX], url, lang, channel_of(url)))
    return OpmlList(tuple(feeds), skipped)


def write_opml(feeds: Sequence[FeedSpec], *, title: str = "Transit Watch sources") -> bytes:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attributes = {"type": "rss", "text": feed.name, "title": feed.name, "xmlUrl": feed.url}
        channel = channel_of(feed.url) if feed.kind == "telegram" else None
        if channel:
            attributes["htmlUrl"] = f"https://t.me/{channel}"
        if feed.lang:
            attributes["language"] = feed.lang
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    document = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{document}\n'.encode()


def feeds_yaml_lines(feeds: Sequence[OpmlFeed]) -> list[str]:
    """feeds.yaml list items (two-space indent) for `feeds`."""
    lines = []
    for feed in feeds:
        fields = [f"name: {json.dumps(feed.name, ensure_ascii=False)}"]
        if feed.telegram:
            fields.append(f"telegram: {json.dumps(feed.telegram)}")
        else:
            fields.append(f"url: {json.dumps(feed.url, ensure_ascii=False)}")
        if feed.lang:
            fields.append(f"lang: {feed.lang}")
        lines.append("  - {" + ", ".join(fields) + "}")
    return lines


def _is_http(url: str) -> bool:
    if NOT_IN_URL.search(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
