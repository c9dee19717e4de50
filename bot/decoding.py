"""The text of a fetched document (a feed, an OPML file, a page): what its bytes are, not only
what its labels say.

The first of these that applies decides:

1. A byte-order mark; or "<?" in UTF-16 without one.
2. Valid UTF-8, whatever the labels say: Cyrillic in windows-1251 or KOI8-R is practically
   never valid UTF-8, while a server-wide "charset=windows-1251" over a UTF-8 feed is common.
   So does UTF-8 with a stray broken byte (20 good non-ASCII characters or more per bad one).
3. A label: the XML declaration's encoding, then an HTML page's <meta> charset (in its first
   2 kB), then the HTTP charset. The document's own labels come first because they are written
   with it, while the header is often the web server's default for every file (Apache's
   iso-8859-1 over a windows-1251 feed), and a page is mostly ASCII markup and script, among
   which Cyrillic read as Latin still "reads as text" (below). A label counts when its codec
   decodes the bytes without an error and, for a single-byte codec (where every byte sequence
   decodes, so mojibake is no error), when the result reads as text (below). Unknown labels,
   those of a codec that is no text encoding (base64, zlib, rot13...), "undefined" (which
   fails on any bytes) and UTF-8 ones (tried in 2) do not count, nor do UTF-16 and UTF-32 ones
   when the bytes start with a "<" in one byte (ASCII).
4. The sniffed encoding: windows-1252 if that reads as text, else windows-1251 if that does,
   else KOI8-R.

Reads as text, judged by the letters a single-byte codec makes of the bytes (markup included):

* fewer than one non-ASCII letter per ten ASCII ones: Latin text with a few accents (French,
  German), or too few to judge: yes; unless three in four of them (20 or more) stand beside
  another: those are whole words of another script among much ASCII markup and links, as
  Cyrillic read as Latin is ("Ñóä â Áèøêåêå"), while Latin text has most of its accents alone
  among ASCII letters ("äußerte", "extradição");
* otherwise the non-ASCII letters must be mostly outside the Latin script and mostly not
  capitals. A language written in Latin letters writes most of them in ASCII, so a text of
  accented Latin letters is Cyrillic read as Latin ("Çàäåðæàí"); and running text is mostly
  lower case, while KOI8-R read as windows-1251, or the reverse, is mostly capitals ("зАДЕТЦБО").

What this cannot see: two labels that both read as text may still differ (a few Cyrillic words,
fewer than 20 letters, among much ASCII markup read as text in any single-byte codec), and then
the declaration wins; a feed written all in capitals reads as the other Cyrillic code page.
"""

from __future__ import annotations

import codecs
import importlib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_UTF16_MARKERS = ((b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"))
# Not UTF-16 or UTF-32 (without a byte-order mark, tried first): a "<" and no NUL after it.
_ASCII_START = re.compile(rb"[\t\n\r ]*<[^\x00]")
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
# <meta charset="..."> and <meta http-equiv="Content-Type" content="text/html; charset=...">
_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_META_SCAN = 2048
_SNIFFED = ("windows-1252", "windows-1251")  # in this order; KOI8-R when neither reads as text

# What a byte is in a single-byte codec, as `bytes.translate` writes it: counting the bytes of
# each kind is then a few passes in C, even over megabytes.
_ASCII_LETTER = ord("a")
_LATIN_LOWER = ord("l")
_LATIN_UPPER = ord("L")
_OTHER_LOWER = ord("o")  # or uncased (Hebrew, Arabic): only capitals count against a text
_OTHER_UPPER = ord("O")
_NOT_A_LETTER = ord(" ")
# From a kind to "x" for a non-ASCII letter, else to " ": to find those that stand together.
_NON_ASCII_LETTERS = bytes((_LATIN_LOWER, _LATIN_UPPER, _OTHER_LOWER, _OTHER_UPPER))
_RUNS = bytes(ord("x") if kind in _NON_ASCII_LETTERS else ord(" ") for kind in range(256))
# Cyrillic read as Latin has whole words of accented letters ("Ñóä â Áèøêåêå"), where Latin
# text has most of its accents alone among ASCII letters ("äußerte", "extradição"). So many
# non-ASCII letters beside another (from this many on) are words of another script.
_WORD_LETTERS_MIN = 20


@dataclass(frozen=True, slots=True)
class _Letters:
    """The letters a single-byte codec makes of some bytes."""

    ascii: int
    other: int  # non-ASCII letters
    latin: int  # non-ASCII letters of the Latin script (accented ones)
    upper: int  # non-ASCII capitals
    paired: int  # non-ASCII letters beside another


def decode_document(body: bytes, content_type: str = "") -> str:
    """`body` as text (see the module's docstring); `content_type` is the HTTP header's value."""
    mark = byte_order_mark(body)
    if mark is not None:
        encoding, size = mark
        return body[size:].decode(encoding, "replace")
    for marker, encoding in _UTF16_MARKERS:
        if body.startswith(marker):  # "<?" in UTF-16 without a BOM: valid UTF-8 bytes, too
            return body.decode(encoding, "replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(body):
        return body.decode("utf-8", "replace")
    for label in (_xml_charset(body), _meta_charset(body), _http_charset(content_type)):
        text = _decode_as(body, label)
        if text is not None:
            return text
    return body.decode(guess_single_byte(body), "replace")


def byte_order_mark(body: bytes) -> tuple[str, int] | None:
    """The encoding `body`'s byte-order mark says and the mark's length, or None."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return encoding, len(bom)
    return None


def guess_single_byte(body: bytes) -> str:
    """windows-1252, windows-1251 or KOI8-R for non-UTF-8 bytes: the first that reads as text."""
    for encoding in _SNIFFED:
        if not _looks_like_mojibake(body, encoding):
            return encoding
    return "koi8-r"


def _mostly_utf8(body: bytes) -> bool:
    # A UTF-8 feed with a stray broken byte should not turn into a windows-1252 mess.
    text = body.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - bad
    return good >= 20 * bad


def _http_charset(content_type: str) -> str | None:
    match = _CHARSET.search(content_type)
    return match.group(1) if match else None


def _xml_charset(body: bytes) -> str | None:
    match = _XML_DECL.match(body[:200])
    return match.group(1).decode("ascii") if match else None


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:_META_SCAN])
    return match.group(1).decode("ascii") if match else None


def _decode_as(body: bytes, label: str | None) -> str | None:
    name = _text_codec(label) if label else None
    if (
        name is None
        or name.startswith("utf-8")  # already tried and it failed
        # A "<" in one byte is not UTF-16 or 32, which would make CJK of most single bytes.
        or (name.startswith(("utf-16", "utf-32")) and _ASCII_START.match(body))
        or _looks_like_mojibake(body, name)
    ):
        return None
    try:
        return body.decode(name)
    except UnicodeError:  # "undefined" raises a UnicodeError that is no UnicodeDecodeError
        return None


def _text_codec(label: str) -> str | None:
    """The name of the text encoding `label` names, or None: a codec such as base64, zlib or
    rot13 makes bytes of bytes, and `bytes.decode` refuses it with a LookupError."""
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    # Private, but the very flag by which `bytes.decode` refuses them, so it cannot disagree.
    return info.name if info._is_text_encoding else None


def _looks_like_mojibake(body: bytes, codec: str) -> bool:
    """Whether `codec` is single-byte and what it makes of `body` does not read as text."""
    kinds = _letter_kinds(codec)
    return kinds is not None and not _reads_as_text(_letters(body, kinds))


def _reads_as_text(letters: _Letters) -> bool:
    if not letters.other:
        return True  # nothing to judge
    words = letters.paired >= _WORD_LETTERS_MIN and letters.paired * 4 >= letters.other * 3
    if letters.other * 10 < letters.ascii and not words:
        return True  # Latin text with a few accents
    return letters.latin * 2 < letters.other and letters.upper * 2 <= letters.other


def _letters(body: bytes, kinds: bytes) -> _Letters:
    translated = body.translate(kinds)
    count = translated.count
    latin_lower, latin_upper = count(_LATIN_LOWER), count(_LATIN_UPPER)
    other_lower, other_upper = count(_OTHER_LOWER), count(_OTHER_UPPER)
    other = latin_lower + latin_upper + other_lower + other_upper
    # Each space doubled, so that each letter alone has spaces of its own on both sides.
    runs = b"  " + translated.translate(_RUNS).replace(b" ", b"  ") + b"  "
    return _Letters(
        ascii=count(_ASCII_LETTER),
        other=other,
        latin=latin_lower + latin_upper,
        upper=latin_upper + other_upper,
        paired=other - runs.count(b" x "),
    )


@cache
def _letter_kinds(codec: str) -> bytes | None:
    """A `bytes.translate` table from each byte to its kind in `codec` (`_ASCII_LETTER`...), or
    None when `codec` is not single-byte. Single-byte codecs are the standard library's charmap
    codecs: a module of the `encodings` package with a 256-character `decoding_table`."""
    try:
        module = importlib.import_module("encodings." + codecs.lookup(codec).name.replace("-", "_"))
    except (ImportError, LookupError):
        return None
    table = getattr(module, "decoding_table", None)
    if not isinstance(table, str) or len(table) != 256:
        return None
    return bytes(_kind(char) for char in table)


def _kind(char: str) -> int:
    if not char.isalpha():
        return _NOT_A_LETTER
    if char.isascii():
        return _ASCII_LETTER
    latin = unicodedata.name(char, "").startswith("LATIN ")
    if char.isupper():
        return _LATIN_UPPER if latin else _OTHER_UPPER
    return _LATIN_LOWER if latin else _OTHER_LOWER
