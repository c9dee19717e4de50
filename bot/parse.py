"""Turn the bytes of a fetched feed into normalised `Entry` values.

feedparser does the format work (RSS 0.9x/1.0/2.0, Atom) but we do five things ourselves first:

* decode the bytes (bot.decoding), because feedparser falls back to windows-1252 for Cyrillic
  feeds that are mislabelled or unlabelled and hands back mojibake, and trusts a label whatever
  it makes of the bytes;
* strip the DOCTYPE and every entity declaration, so neither expat nor feedparser's loose
  fallback parser (which expands "safe" entities itself, without any amplification limit) can be
  fed a billion-laughs or quadratic-blowup payload, and nothing can point at an external DTD; a
  DOCTYPE that declares entities, or declarations that cutting one out of another would form,
  refuse the feed;
* rename Media RSS and iTunes descriptions (a photo's caption, an episode's summary), which
  feedparser takes for the item's own text when they come first (`_ASIDE_PREFIXES`): they are
  the text only of an item that has none of its own;
* hand feedparser an in-memory stream, so it never opens a URL or a file;
* keep the Content-Language header from it: an entry's language is its own (xml:lang), else
  the configured one (the operator's word corrects a template's <language>en-us</language>
  over Russian news), else the feed's <language> or xml:lang, and only then the header's,
  which is often a server's default for every file. feedparser stamps the feed's xml:lang on
  every entry's texts, so an entry's language equal to the feed's is taken for the feed's.

Then each entry becomes plain text with bounded lengths (`bot.html_text`: its HTML read as a
browser shows it), a validated link and a UTC date (`bot.feed_dates`: with the zones of the
region that feedparser gets wrong). An Atom text construct of type "text" (the default) is
plain text, not HTML: "&lt;Ivanov&gt;" in it is a name to keep. An RSS title or description is
always read as HTML, which it usually is.

An item that names its outlet (`<source url="https://meduza.io">Meduza</source>`, as every
Google News item does; Atom's `<source><title>`) is that outlet's report, which came through
the feed: the name is its `named_outlet` (read as its title is, bounded by
`NAMED_OUTLET_MAX`), or, with no name, the host of its address when that is a link we would
keep (`clean_link`). A title that ends with " - " and that name (Google's "Казахстан выдал
России дезертира - Meduza") loses that ending, and only then: the outlet is cited apart. A
description that is only the headline and that name (Google's again) is no text of the item's:
it would be the card's lead ("Meduza") and words of its fingerprint, so the summary is empty. The
item's link stays what the feed gives: Google's is a redirect through news.google.com, whose
format changes and which cannot be followed without the network.
"""

from __future__ import annotations

import asyncio
import io
import re
import xml.sax
from collections.abc import Mapping
from functools import partial
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from bot.decoding import decode_document
from bot.errors import NotAFeed, ParseError
from bot.feed_dates import utc_date
from bot.html_text import bound, has_not_text, html_to_text, plain_text, without_not_text
from bot.model import Entry, ParsedFeed
from bot.schedule import hint_number

TITLE_MAX = 300
NAMED_OUTLET_MAX = 100
SUMMARY_MAX = 2000
LINK_MAX = 2048
GUID_MAX = 1024

# A photo's caption (Media RSS <media:description>) or a podcast episode's summary
# (<itunes:summary>) before the item's own <description>: feedparser files whichever comes first
# as the summary and the item's own as content, so a caption was the entry's text. These
# elements are renamed "<prefix:aside>" first, which feedparser keeps apart as
# "media_aside"/"itunes_aside"; the entry falls back to that text when it has none of its own.
# feedparser goes by the prefix: "media:" and "itunes:" whatever they are bound to, and any
# prefix bound to these namespaces, which it maps to those two.
_ASIDE_PREFIXES = ("media", "itunes")
_ASIDE_NAMESPACE = re.compile(
    r"""xmlns:([A-Za-z_][\w.-]*)\s*=\s*["']\s*"""
    r"""(?:http://search\.yahoo\.com/mrss/?|http://www\.itunes\.com/dtds/podcast-1\.0\.dtd)\s*["']""",
    re.IGNORECASE,
)
_ASIDE_KEYS = tuple(f"{prefix}_aside" for prefix in _ASIDE_PREFIXES)
_XML_DECL_TEXT = re.compile(r"^\s*<\?xml[^>]*\?>")
# The DOCTYPE may only follow the XML declaration, comments and processing instructions.
# Most feeds have none, and a failed match of this pattern walks far into the document. The
# group before it is atomic and possessive, so n comments match one way, not 2^n ways: with no
# DOCTYPE after them (one in a CDATA section is enough to try), 24 of them took 4 s, 40 days.
_HAS_DOCTYPE = re.compile(r"<!doctype", re.IGNORECASE)
_DOCTYPE = re.compile(
    r"\A((?>\s|<\?.*?\?>|<!--.*?-->)*+)<!DOCTYPE\b[^\[>]*(?:\[.*?\]\s*)?>",
    re.DOTALL | re.IGNORECASE,
)
_ENTITY_START = re.compile(r"<!ENTITY\b", re.IGNORECASE)
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
_SPACE = re.compile(r"\s+")
_LANG = re.compile(r"[a-z]{2,3}")


def parse_feed(
    body: bytes,
    headers: Mapping[str, str],
    *,
    base_url: str,
    lang: str | None = None,
    max_entries: int = 500,
) -> list[Entry]:
    """Parse a feed document; raise NotAFeed or ParseError when there is no usable feed.

    `headers` are the HTTP response headers (any case); `base_url` resolves relative links;
    `lang` is the configured language, each entry's unless the entry says its own (over what
    the feed says), and a Content-Language header the fallback when neither does.
    """
    return list(
        read_feed(body, headers, base_url=base_url, lang=lang, max_entries=max_entries).entries
    )


def read_feed(
    body: bytes,
    headers: Mapping[str, str],
    *,
    base_url: str,
    lang: str | None = None,
    max_entries: int = 500,
) -> ParsedFeed:
    """`parse_feed`, plus the feed's `<ttl>` (in seconds)."""
    lower = {k.lower(): v for k, v in headers.items()}
    text = _possible_references(_without_dtd(decode_document(body, lower.get("content-type", ""))))
    text = _media_texts_aside(text)
    mime = lower.get("content-type", "").split(";")[0].strip() or "application/xml"
    # Everything is UTF-8 from here on; say so consistently in the header and the declaration.
    lower["content-type"] = f"{mime}; charset=utf-8"
    # No Content-Location: given a base, feedparser re-joins xml:base at every element (a
    # sixth of its time); we resolve the few links we keep ourselves (`clean_link`).
    lower.pop("content-location", None)
    # Nor Content-Language: feedparser stamps it on every text as the text's own language, over
    # the feed's <language> and our configured one, and it is often a server's default for
    # every file. It only says the language when nothing else does.
    header_lang = norm_lang(lower.pop("content-language", None))
    data = _XML_DECL_TEXT.sub("", text, count=1)
    data = '<?xml version="1.0" encoding="utf-8"?>\n' + data.lstrip()
    try:
        result = feedparser.parse(
            io.BytesIO(data.encode("utf-8")),
            response_headers=lower,
            # Both walk every HTML fragment again with feedparser's slow SGML parser, and we
            # keep only text: html_to_text drops scripts and styles, and links are resolved
            # by us.
            resolve_relative_uris=False,
            sanitize_html=False,
        )
    except (KeyError, ValueError, IndexError) as exc:
        # Some broken markup makes feedparser raise instead of reporting the document as
        # broken: its handlers take an end tag's element for opened ("</link>" after
        # "<item<link" finds no "links" to close), and its namespace handling splits a URI
        # that holds the separator expat puts between URI and name. That is the document's
        # fault, not a bug here: it must not be reported as an internal error on every poll.
        raise ParseError(f"unreadable feed XML ({type(exc).__name__})") from None
    entries = _entries_or_raise(
        result,
        base_url=base_url,
        lang=norm_lang(lang),
        header_lang=header_lang,
        max_entries=max_entries,
    )
    return ParsedFeed(tuple(entries), _ttl(result.get("feed", {}).get("ttl")))


async def parse_feed_async(
    body: bytes,
    headers: Mapping[str, str],
    *,
    base_url: str,
    lang: str | None = None,
    max_entries: int = 500,
) -> list[Entry]:
    """`parse_feed` in a worker thread: a big feed takes long enough to stall the event loop."""
    return await asyncio.to_thread(
        parse_feed, body, headers, base_url=base_url, lang=lang, max_entries=max_entries
    )


def _entries_or_raise(
    result: Any, *, base_url: str, lang: str | None, header_lang: str | None, max_entries: int
) -> list[Entry]:
    if not result.get("version"):
        raise NotAFeed("document is not RSS or Atom")
    said = norm_lang(result.get("feed", {}).get("language"))
    feed_lang = lang or said or header_lang
    # Atom says whether a text is plain or markup. For RSS, feedparser's "text/plain" is only
    # its guess that the text does not look like HTML, and RSS titles are in practice escaped
    # markup ("&lt;b&gt;..." without an end tag, "AT&amp;amp;T"): those stay HTML.
    typed = str(result.get("version")).startswith("atom")
    entries = []
    for raw in result.get("entries", [])[:max_entries]:
        entry = _entry(raw, base_url=base_url, lang=feed_lang, said=said, typed=typed)
        if entry is not None:
            entries.append(entry)
    # Only a real XML error counts; feedparser also flags harmless things like the content type.
    broken = isinstance(result.get("bozo_exception"), xml.sax.SAXException)
    if not entries and broken:
        exc = result["bozo_exception"]
        raise ParseError(f"unreadable feed XML ({type(exc).__name__})")
    return entries


def _entry(
    raw: Any, *, base_url: str, lang: str | None, said: str | None, typed: bool
) -> Entry | None:
    # dict.get throughout: FeedParserDict.get goes through its key aliases on every call (a
    # tenth of the parse), and maps "updated_parsed" to published_parsed with a warning.
    get = partial(dict.get, raw)
    named_outlet = _named_outlet(get("source"), base_url, typed=typed)
    title = _text(get("title") or "", get("title_detail"), typed=typed)
    if named_outlet and title.endswith(f" - {named_outlet}"):
        title = title[: -len(named_outlet) - 3]
    title = bound(title, TITLE_MAX)
    summary = get("summary") or ""
    detail = get("summary_detail")
    content = get("content")
    # feedparser copies a lone <content> to "summary" without its detail, which has the type.
    if content and (not summary or detail is None):
        detail = content[0]
        summary = summary or dict.get(detail, "value") or ""
    if not summary:
        summary = next((v for k in _ASIDE_KEYS if isinstance(v := get(k), str) and v), "")
    summary = bound(_text(summary, detail, typed=typed), SUMMARY_MAX)
    if named_outlet and _only_headline(summary, title, named_outlet):
        summary = ""
    link = clean_link(get("link"), base_url)
    if not (title or summary or link):
        return None  # the loose parser's debris from a broken document
    guid = without_not_text(get("id") or "").strip()[:GUID_MAX] or None
    published = utc_date(get("published_parsed"), get("published")) or utc_date(
        get("updated_parsed"), get("updated")
    )
    own = _detail_lang(raw)
    # The feed's language stamped on each text (`said`) is not the entry's own word.
    entry_lang = own if own is not None and own != said else lang
    return Entry(title, summary, link, guid, published, entry_lang, named_outlet)


def _only_headline(summary: str, title: str, outlet: str) -> bool:
    """Whether an aggregator's description is its headline and outlet and nothing else (Google
    News's `<a>headline</a>&nbsp;&nbsp;<font>Meduza</font>`), compared with spaces collapsed."""
    return " ".join(summary.split()).casefold() == " ".join(f"{title} {outlet}".split()).casefold()


def _named_outlet(source: Any, base_url: str, *, typed: bool) -> str | None:
    """The outlet an item names as its own (see the module's docstring), or None."""
    if not isinstance(source, dict):
        return None
    name = _text(dict.get(source, "title") or "", dict.get(source, "title_detail"), typed=typed)
    if name:
        return bound(name, NAMED_OUTLET_MAX)
    # RSS gives its address as url= (feedparser's "href"), Atom as a <link> ("link").
    link = clean_link(dict.get(source, "href") or dict.get(source, "link"), base_url)
    host = urlsplit(link).hostname if link else None
    return bound(host, NAMED_OUTLET_MAX) if host else None


def _text(value: str, detail: Any, *, typed: bool) -> str:
    """The text of a feed's text: plain where the feed says it is plain (`typed`), else HTML's."""
    if typed and detail is not None and dict.get(detail, "type") == "text/plain":
        return plain_text(value)
    return html_to_text(value)


def _ttl(value: object) -> float | None:
    """RSS <ttl> is in minutes; nonsense and absurd values are ignored."""
    minutes = hint_number(value) if isinstance(value, str) else None
    return minutes * 60.0 if minutes is not None and 0 < minutes <= 7 * 24 * 60 else None


def _media_texts_aside(text: str) -> str:
    """Media RSS and iTunes descriptions renamed out of feedparser's way (see `_ASIDE_PREFIXES`);
    their attributes go too, since feedparser keeps only those of an element it does not know."""
    if ":description" not in text and ":summary" not in text:
        return text
    prefixes = {*_ASIDE_PREFIXES, *_ASIDE_NAMESPACE.findall(text)}
    names = "|".join(re.escape(prefix) for prefix in sorted(prefixes))
    # Each try stops at the next "<" or ">", so unclosed tags cost one pass, not one each. (A ">"
    # in an attribute value ends the tag early: only the caption's text takes the rest.)
    element = re.compile(rf"<(/?)({names}):(?:description|summary)(?=[\s/>])[^<>]*?(/?)>")
    return element.sub(r"<\1\2:aside\3>", text)


def _without_dtd(text: str) -> str:
    """Drop the DOCTYPE; a feed whose DOCTYPE declares entities is refused outright, since no
    honest feed needs them and they are how entity-expansion attacks (billion laughs) work."""
    doctype = _DOCTYPE.match(text) if _HAS_DOCTYPE.search(text) else None
    if doctype is not None:
        if _ENTITY_START.search(doctype.group(0)):  # a DOCTYPE ends with ">"
            raise ParseError("the feed declares XML entities (refused: entity expansion risk)")
        text = doctype.group(1) + text[doctype.end() :]
    # Leftovers of a DOCTYPE the pattern could not delimit must not define anything either.
    cut = without_entity_declarations(text)
    # Cutting "<!ENTITY z>" out of "<!ENT<!ENTITY z>ITY a ...>" forms a declaration. Cutting
    # again would take a pass per level of such nesting (quadratic); no honest feed has one.
    if len(without_entity_declarations(cut)) != len(cut):
        raise ParseError("the feed hides declarations of XML entities (refused: expansion risk)")
    return cut


def without_entity_declarations(text: str) -> str:
    """Every `<!ENTITY ...>` cut out, in one pass: a regex substitution looked for the `>`
    from each of them, so many of them with none after (a 320 kB feed) took seconds, and its
    time grows with the square of the size."""
    parts = []
    done = 0
    found = _ENTITY_START.search(text)
    while found is not None:
        end = text.find(">", found.end())
        if end < 0:
            break  # none ends, so no later one does either: they stay, as with the pattern
        parts.append(text[done : found.start()])
        done = end + 1
        found = _ENTITY_START.search(text, done)
    parts.append(text[done:])
    return "".join(parts)


def _possible_references(text: str) -> str:
    """A character reference to no character (half of a UTF-16 pair, past U+10FFFF) makes
    feedparser raise instead of reporting the document as broken, failing the whole feed on
    every poll: it becomes U+FFFD's, which the text rules then drop (`NOT_TEXT`)."""
    return _CHAR_REF.sub(_possible_reference, text) if "&#" in text else text


def _possible_reference(match: re.Match[str]) -> str:
    hex_digits, digits = match.groups()
    number = hex_digits or digits
    if len(number) <= 8:  # longer is out of range anyway, and int() of it costs
        value = int(number, 16 if hex_digits else 10)
        if value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
            return match.group()
    return "&#65533;"


def clean_link(link: str | None, base_url: str) -> str | None:
    """An absolute http(s) URL without credentials, or None."""
    link = (link or "").strip()
    if not link or has_not_text(link) or _SPACE.search(link):
        return None
    try:  # urljoin, too, raises on a malformed host ("//[x")
        absolute = link if link.startswith(("https://", "http://")) else urljoin(base_url, link)
        if len(absolute) > LINK_MAX:
            return None
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or "@" in parts.netloc:  # "@": credentials
            return None
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return None
    return absolute if parts.hostname else None


def _detail_lang(raw: Any) -> str | None:
    for key in ("title_detail", "summary_detail"):
        detail = dict.get(raw, key)
        if detail is not None and (lang := norm_lang(dict.get(detail, "language"))):
            return lang
    return None


def norm_lang(value: object) -> str | None:
    """ "ru-RU" -> "ru"; anything that is not a language tag -> None."""
    if not isinstance(value, str):
        return None
    primary = value.strip().lower().replace("_", "-").split("-")[0]
    return primary if _LANG.fullmatch(primary) else None
