"""Feed HTML to plain text: what a summary's markup says, as a browser would show it.

Its HTML becomes text without an HTML document when it is simple (text, references and a few
simply nested tags: most summaries); otherwise Lexbor parses at most its first
`MARKUP_TAGS_MAX` tags. Either way a block's edge is a space and an inline tag none
("<b>Э</b>кстрадиция" is one word). What never belongs in stored text (`NOT_TEXT`: control
characters, noncharacters, bidi overrides) is dropped, text is composed (NFC: decomposed "й"
from macOS or a PDF is other words to a watch or a search), and texts are `bound`ed.
`BLANK_LETTERS` are the characters that show nothing though Unicode calls them letters or
symbols.
"""

from __future__ import annotations

import html as html_entities
import re

from selectolax.lexbor import LexborHTMLParser

from bot.words import composed

# The HTML parser's time grows with the square of how deeply tags nest (32,000 nested <div>s:
# 1.1 s; a 5 MB feed could hold a million). The text of a summary's first 2,000 tags is far
# more than SUMMARY_MAX, so the parser never sees more of a fragment than that.
MARKUP_TAGS_MAX = 2000
# What never belongs in stored text: control characters (C0 but tab, newline and carriage
# return, which are spaces here; DEL; C1), Unicode's noncharacters, the replacement character
# that marks bytes no encoding could read, and the bidirectional embeddings, overrides and
# isolates: no language needs them (the bidi algorithm orders Arabic or Hebrew by itself), and
# an unclosed override in a title reverses the bot's own text after it ("/story_1").
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17)
)
NOT_TEXT = re.compile(
    f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffd{_NONCHARACTERS}]"
)
# Letters and symbols by category (Lo, So) that show nothing: the Hangul fillers and the blank
# Braille pattern, which Telegram users type for an empty line or an indent. Kept in text (a
# Hangul syllable may be spelt with a filler), but never what makes a title or a line visible.
BLANK_LETTERS = "\u115f\u1160\u3164\uffa0\u2800"
# NOT_TEXT and every character past the BMP: a few ranges, where NOT_TEXT's class tries its 34
# noncharacters past the BMP one by one at each character of a text (a tenth of its time).
_MAYBE_NOT_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufdd0-\ufdef\ufffd-\U0010ffff]"
)
# The last three hold fallback markup for browsers without frames or plugins, which the
# parser keeps as raw text: "<p>Your browser does not support iframes</p>" as a summary's text.
_HIDDEN_TAGS = ("script", "style", "noscript", "template", "iframe", "noembed", "noframes")
_HIDDEN = re.compile(rf"<\s*(?:{'|'.join(_HIDDEN_TAGS)})", re.IGNORECASE)
# The few tags `_simple_text` reads without the HTML parser. Blocks only at the top level and
# phrasing tags strictly nested (never an `a` in an `a`): there the parser builds the tree the
# tags spell, so a text is exactly what lies between them. Anything else, including script,
# style, comments, tables (which move stray text) and stray end tags (which the parser drops,
# joining the text on either side), goes to the parser.
_BLOCK_TAGS = frozenset({"p", "div", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"})
_PHRASING_TAGS = frozenset(
    {"a", "abbr", "b", "cite", "code", "em", "i", "mark", "q", "s", "small", "span", "strong"}
    | {"sub", "sup", "u"}
)
_VOID_TAGS = frozenset({"br", "img", "wbr"})
# The elements a browser shows apart from the text around them: blocks, list items, table
# cells, line breaks and embedded things (an image between two words). Their edges are spaces
# in the text; any other tag is inline (b, a, span, wbr, font, an unknown one) and joins the
# text on either side as a browser does: "<b>Э</b>кстрадиция" is one word to match, not two.
_SEPARATING_TAGS = (
    _BLOCK_TAGS
    | {"br", "img", "hr", "li", "ul", "ol", "dl", "dt", "dd", "menu", "dir", "pre", "listing"}
    | {"xmp", "plaintext", "address", "article", "aside", "section", "nav", "main", "header"}
    | {"footer", "hgroup", "figure", "figcaption", "center", "details", "summary", "dialog"}
    | {"form", "fieldset", "legend", "search", "table", "caption", "thead", "tbody", "tfoot"}
    | {"tr", "td", "th", "iframe", "object", "embed", "video", "audio", "canvas", "svg", "math"}
    | {"input", "button", "select", "option", "optgroup", "textarea"}
)
_DEPTH_MAX = 16  # deeper is not a plain summary, and an `a` is looked for among the open tags
# Quoted values exclude < and >, so no match runs past the next tag: one pass, linear.
# Whitespace is HTML's (ASCII) only: to HTML, "<p\u00a0x>" is a tag named "p\u00a0x".
_WS = "[\t\n\f\r ]"
_ATTRIBUTE = (
    rf"""{_WS}+[^\t\n\f\r "'<>/=]+(?:{_WS}*={_WS}*(?:"[^"<>]*"|'[^'<>]*'|[^\t\n\f\r "'=<>`]+))?"""
)
_TAG = re.compile(rf"<(/?)([A-Za-z][A-Za-z0-9]*)(?:{_ATTRIBUTE})*{_WS}*(/?)>")


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: no scripts, styles or fallback markup (`_HIDDEN_TAGS`),
    entities resolved, a space where a browser shows text apart (`_SEPARATING_TAGS`) and none
    at other tags, spaces collapsed."""
    simple = _simple_text(html)
    return plain_text(simple if simple is not None else _parsed_text(html))


def _parsed_text(html: str) -> str:
    """The text of the fragment's tree, spaces at the edges of `_SEPARATING_TAGS` only."""
    if html.count("<") > MARKUP_TAGS_MAX:
        html = html[: _nth(html, "<", MARKUP_TAGS_MAX + 1)]
    tree = LexborHTMLParser(html)
    if _HIDDEN.search(html):  # each strip walks the whole tree; most fragments have none
        tree.strip_tags(list(_HIDDEN_TAGS))
    root = tree.body
    if root is None:
        return ""
    # Spaces in the tree, not in the markup: the parser moves text (out of tables, into
    # implied elements), so only the tree it builds says which text a block's edge lies between.
    # Collected first: inserting while traversing would walk the new nodes too.
    for node in [node for node in root.traverse() if node.tag in _SEPARATING_TAGS]:
        node.insert_before(" ")
        node.insert_after(" ")
    return root.text(separator="")


def _simple_text(html: str) -> str | None:
    """The text of a fragment of nothing but text, entities and simply nested common tags (see
    `_BLOCK_TAGS`), the same as the HTML parser finds in it (tests/test_parse.py checks that
    against the parser); None for anything else. A parser's document costs ~20 us even for
    "<p>one line</p>", the form of most summaries.
    """
    if "\x00" in html:
        return None
    pieces: list[str] = []
    open_tags: list[str] = []
    at = 0
    for tag in _TAG.finditer(html) if "<" in html else ():
        pieces.append(html[at : tag.start()])
        at = tag.end()
        name = tag.group(2).lower()
        if not _nests(open_tags, name, closing=bool(tag.group(1)), void=bool(tag.group(3))):
            return None
        if name in _SEPARATING_TAGS:
            pieces.append(" ")
    pieces.append(html[at:])
    if open_tags or any("<" in piece for piece in pieces):
        return None
    if "&" not in html:
        return "".join(pieces)
    # After the tags are found, so that "&lt;p&gt;" stays text, as in HTML; text by text, as
    # the parser reads references: "&am<b>p;" is no reference, though the text joins.
    return "".join(html_entities.unescape(piece) if "&" in piece else piece for piece in pieces)


def _nests(open_tags: list[str], name: str, *, closing: bool, void: bool) -> bool:
    """Whether the tag keeps the fragment simple; updates the open tags."""
    if name in _VOID_TAGS:
        return not closing
    if void or not (name in _BLOCK_TAGS or name in _PHRASING_TAGS):
        return False  # "<p/>" opens a p in HTML; an unknown tag may be anything
    if closing:
        if not open_tags or open_tags[-1] != name:
            return False
        open_tags.pop()
        return True
    if (
        (name in _BLOCK_TAGS and open_tags)
        or (name == "a" and "a" in open_tags)
        or len(open_tags) == _DEPTH_MAX
    ):
        return False
    open_tags.append(name)
    return True


def _nth(text: str, char: str, n: int) -> int:
    """Where the `n`th `char` is in `text` (it must have that many)."""
    at = -1
    for _ in range(n):
        at = text.index(char, at + 1)
    return at


def plain_text(text: str) -> str:
    """`text` without what never belongs in stored text (`NOT_TEXT`), composed (NFC), its
    spaces collapsed."""
    # str.split() splits where the regex \s does, in a third of the time.
    return " ".join(composed(without_not_text(text)).split())


def without_not_text(text: str) -> str:
    """`text` without what never belongs in stored text (`NOT_TEXT`)."""
    return NOT_TEXT.sub("", text) if _MAYBE_NOT_TEXT.search(text) else text


def has_not_text(text: str) -> bool:
    """Whether `text` holds anything that never belongs in stored text (`NOT_TEXT`)."""
    return _MAYBE_NOT_TEXT.search(text) is not None and NOT_TEXT.search(text) is not None


def bound(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters at a word boundary, ending with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:  # a boundary not too far back; otherwise cut the long word
        cut = cut[:space]
    return cut.rstrip() + "…"
