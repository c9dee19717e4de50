"""OPML 2.0 in and out (http://opml.org/spec2.opml), the format feed readers exchange lists in.

Reading: every `<outline>` with an `xmlUrl`, at any depth (folders are flattened), becomes an
`OpmlFeed`. Its name is the first of `title`, `text` and the URL's host and path (never its
query or user info, which may hold a key: names are shown where addresses are not) that is not
empty once cleaned (control characters dropped, spaces collapsed, at most 200 characters):
readers write `title=" "` or `title=""` beside a good `text`. `language` becomes the language
when it is a language tag. A `https://t.me/s/<channel>` URL is a Telegram source. A DOCTYPE
or an entity declaration is refused outright: no subscription list needs one, and they are how
entity-expansion attacks work. Outlines without a usable http(s) URL (one with spaces or control
characters is not usable) are skipped and counted.

Writing: one `<outline type="rss">` per source with `text`, `title` (the name, cleaned as on
reading: XML cannot carry every control character), `xmlUrl`, `htmlUrl` for Telegram channels,
`language`, and the polling intervals under their feeds.yaml names (`interval`, `min_interval`,
`max_interval`, whole seconds: OPML 2.0 allows any attribute on an outline), which reading
takes back, so a list moved between two instances keeps its schedule; names and URLs are
escaped by ElementTree. Reading applies feeds.yaml's own rules to them (`bot.config`: whole
seconds or a duration like `10m`, 1 s to 7 days, the floor not above the ceiling; blank is
not given): any other value refuses the document with a `ParseError` naming the outline,
rather than leave that source on the default interval without a word.

`feeds_yaml_items` renders new sources as feeds.yaml list items (one flow mapping each),
every string a double-quoted scalar written by PyYAML's own emitter:
read back, each is the same string, whatever it holds. Unquoted, YAML would read the language
`no` (Norwegian) as false, a name `1.0` as a number, `~` as null, and a name with ": ", " #",
"," or a leading "-", "@", "&", "*", "!", "%" or a quote as something else or an error.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

import yaml

from bot.addresses import NOT_IN_URL
from bot.config import check_bounds, parse_interval
from bot.decoding import decode_document
from bot.errors import ConfigError, ParseError
from bot.html_text import without_not_text
from bot.model import FeedSpec
from bot.parse import norm_lang
from bot.sources.telegram_preview import channel_of

_DECLARATIONS = re.compile(r"<!(?:DOCTYPE|ENTITY)\b", re.IGNORECASE)
_NAME_MAX = 200


INTERVAL_KEYS = ("interval", "min_interval", "max_interval")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    name: str
    url: str
    lang: str | None = None
    telegram: str | None = None  # the channel, when the URL is its t.me/s/ preview
    intervals: tuple[tuple[str, int], ...] = ()  # (feeds.yaml key, seconds), as exported


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
        lang = norm_lang(outline.get("language"))
        name = _name(outline, url)
        feeds.append(OpmlFeed(name, url, lang, channel_of(url), _intervals(outline, name)))
    return OpmlList(tuple(feeds), skipped)


def _intervals(outline: ET.Element, name: str) -> tuple[tuple[str, int], ...]:
    label = f"outline {name!r}"
    found: dict[str, int] = {}
    try:
        for key in INTERVAL_KEYS:
            value = (outline.get(key) or "").strip()
            if value:  # a string: whole seconds (or 10m, 2h...), so int() loses nothing
                found[key] = int(parse_interval(f"{label}: {key}", value))
        check_bounds(label, found.get("min_interval"), found.get("max_interval"))
    except ConfigError as exc:
        raise ParseError(str(exc)) from None
    return tuple(found.items())


def write_opml(feeds: Sequence[FeedSpec], *, title: str = "Transit Watch sources") -> bytes:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        name = _clean_name(feed.name) or _clean_name(feed.url)
        attributes = {"type": "rss", "text": name, "title": name, "xmlUrl": feed.url}
        channel = channel_of(feed.url) if feed.kind == "telegram" else None
        if channel:
            attributes["htmlUrl"] = f"https://t.me/{channel}"
        if feed.lang:
            attributes["language"] = feed.lang
        for key in INTERVAL_KEYS:
            if (seconds := getattr(feed, key)) is not None:
                attributes[key] = str(round(seconds))
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    document = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{document}\n'.encode()


def feeds_yaml_items(feeds: Sequence[OpmlFeed]) -> list[str]:
    """Each of `feeds` as a feeds.yaml flow mapping: `{name: "...", url: "...", ...}`."""
    items = []
    for feed in feeds:
        fields = [f"name: {_yaml_string(feed.name)}"]
        if feed.telegram:
            fields.append(f"telegram: {_yaml_string(feed.telegram)}")
        else:
            fields.append(f"url: {_yaml_string(feed.url)}")
        if feed.lang:
            fields.append(f"lang: {_yaml_string(feed.lang)}")
        fields += [f"{key}: {seconds}" for key, seconds in feed.intervals]
        items.append("{" + ", ".join(fields) + "}")
    return items


def _yaml_string(value: str) -> str:
    """`value` as a YAML double-quoted scalar on one line, which YAML reads back as `value`."""
    # PyYAML's emitter escapes what its reader would not take literally (line breaks, C1
    # controls, noncharacters); an infinite width keeps it from folding a long value.
    text = yaml.safe_dump(value, default_style='"', allow_unicode=True, width=math.inf)
    return text.rstrip("\n")


def _name(outline: ET.Element, url: str) -> str:
    for value in (outline.get("title"), outline.get("text")):
        name = _clean_name(value or "")
        if name:
            return name
    # Its host and path, never the whole address: names are shown in /feeds, admin notices and
    # logs, which keep addresses out because a query string (or user info) may hold a key.
    parts = urlsplit(url)
    return _clean_name(f"{parts.hostname}{parts.path}".rstrip("/"))  # a usable URL has a host


def _clean_name(value: str) -> str:
    # Stripped again after the cut: feeds.yaml's loader strips names, and one that ended in a
    # space would load as another name than the one checked for duplicates on import.
    return " ".join(without_not_text(value).split())[:_NAME_MAX].rstrip()


def _is_http(url: str) -> bool:
    if NOT_IN_URL.search(url):
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is no number or out of range, as the config does
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
