"""parse_feed: formats, encodings, hostile documents and entry normalisation."""

from __future__ import annotations

import re
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from bot.decoding import decode_document
from bot.errors import NotAFeed, ParseError
from bot.html_text import (
    MARKUP_TAGS_MAX,
    _parsed_text,
    bound,
    has_not_text,
    html_to_text,
    plain_text,
    without_not_text,
)
from bot.parse import (
    NAMED_OUTLET_MAX,
    clean_link,
    parse_feed,
    parse_feed_async,
    read_feed,
    without_entity_declarations,
)
from tests.fakes.feedserver import FeedServer, rss

FEEDS = Path(__file__).parent / "data" / "feeds"
BASE = "https://base.example/feed/"
RSS_CT = {"Content-Type": "application/rss+xml"}
RU_TITLE = "Россиянина экстрадировали из Казахстана"
GERMAN = "Die Abschiebung wurde gestoppt, weil das Gericht Bedenken äußerte."
GREEK = "Ο ακτιβιστής συνελήφθη στην Αθήνα."
PORTUGUESE = (
    "A Justiça negou o pedido de extradição do ativista, que está detido em São Paulo. Segundo"
    " a decisão, a situação política na Rússia não garante um julgamento justo. "
)


def load(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "rss20.xml",
            (
                "Activist detained in Serbia faces extradition to Russia",
                "A Russian activist was detained in Belgrade on Monday.",
                "https://base.example/news/2024/activist-detained",
                datetime(2024, 3, 4, 9, 30, tzinfo=UTC),
                "en",
            ),
        ),
        (
            "atom.xml",
            (
                "Депортація з Грузії",
                "Громадянина Росії депортували.",
                "https://base.example/feed/articles/42",
                datetime(2024, 3, 5, 9, 0, tzinfo=UTC),
                "uk",
            ),
        ),
        (
            "rss10.rdf",
            (
                "Abschiebung nach Russland gestoppt",
                "Das Gericht hat die Abschiebung gestoppt.",
                "https://example.net/a",
                datetime(2024, 2, 29, 7, 0, tzinfo=UTC),
                "de",
            ),
        ),
    ],
)
def test_formats(name: str, expected: tuple[str, str, str, datetime, str]) -> None:
    first = parse_feed(load(name), RSS_CT, base_url=BASE)[0]
    assert (first.title, first.summary, first.link, first.published, first.lang) == expected
    assert first.published is not None
    assert first.published.tzinfo is UTC


def test_content_is_the_fallback_for_summary_and_guid_is_kept() -> None:
    entry = parse_feed(load("rss20.xml"), RSS_CT, base_url=BASE)[1]
    assert entry.summary == "Full text from content:encoded."
    assert entry.guid == "content-only-1"
    assert entry.published is None


GOOGLE_NEWS = "https://news.google.com/rss/search?q=x&hl=ru&gl=RU&ceid=RU:ru"


@pytest.mark.parametrize(
    ("index", "title", "named_outlet"),
    [
        # Google News names each item's outlet in <source> and ends its title with it.
        (0, "Казахстан выдал России дезертира", "Meduza"),
        # Only the last " - <outlet>" goes; the name's spaces are collapsed first.
        (1, "Суд в Бишкеке - Ош: отказ в экстрадиции", "Радио Азаттык"),
        # A title that does not end with the name keeps its end; the name is plain text.
        (2, "Грузия депортировала активиста - Новая газета", "Новая газета Европа"),
        # No name: the host of its address, when that is a link we would keep.
        (3, "Армения задержала уклониста", "news.example.am"),
        (4, "Сербия отказала в выдаче - Blog", None),
        # No <source>: the feed is the outlet, and the title is left alone.
        (5, "Without a source - Meduza", None),
    ],
)
def test_an_item_s_named_outlet_is_kept_and_cut_from_its_title(
    index: int, title: str, named_outlet: str | None
) -> None:
    entry = parse_feed(load("google_news.xml"), RSS_CT, base_url=GOOGLE_NEWS)[index]
    assert (entry.title, entry.named_outlet) == (title, named_outlet)


@pytest.mark.parametrize(
    ("description", "summary"),
    [
        # Google's description is the headline and the outlet: no text of the item's own, and
        # as a lead it was the outlet's name alone.
        (
            '<a href="https://g.co/a">Суд - Ош</a>&nbsp;&nbsp;<font>Радио Азаттык</font>',
            "",
        ),
        ("суд - ош   радио азаттык", ""),
        # Anything more is the item's text, kept whole.
        (
            "<a>Суд - Ош</a>&nbsp;&nbsp;<font>Радио Азаттык</font> Сегодня суд отказал.",
            "Суд - Ош Радио Азаттык Сегодня суд отказал.",
        ),
        ("<a>Суд - Ош</a>", "Суд - Ош"),
        ("Радио Азаттык", "Радио Азаттык"),
    ],
)
def test_a_description_of_only_the_headline_and_its_outlet_is_no_summary(
    description: str, summary: str
) -> None:
    body = (
        '<rss version="2.0"><channel><title>t</title><item><title>Суд - Ош - Радио Азаттык'
        f"</title><description>{escape(description)}</description>"
        '<source url="https://rus.azattyk.org">Радио Азаттык</source></item></channel></rss>'
    ).encode()
    [entry] = parse_feed(body, RSS_CT, base_url=GOOGLE_NEWS)
    assert (entry.title, " ".join(entry.summary.split())) == ("Суд - Ош", summary)


def test_google_news_items_have_no_summary_of_their_own() -> None:
    entries = parse_feed(load("google_news.xml"), RSS_CT, base_url=GOOGLE_NEWS)
    assert [e.summary for e in entries[:2]] == ["", ""]


def test_an_atom_entry_s_source_names_its_outlet() -> None:
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>Planet</title><entry><title>Суд'
        ' - OVD-Info</title><source><title type="text">OVD-Info &amp; Co</title>'
        '<link href="https://ovd.info/"/></source></entry></feed>'
    ).encode()
    [entry] = parse_feed(body, RSS_CT, base_url=BASE)
    assert (entry.title, entry.named_outlet) == ("Суд - OVD-Info", "OVD-Info & Co")


def test_a_named_outlet_is_bounded() -> None:
    name = "Outlet " * 100
    body = (
        '<rss version="2.0"><channel><title>t</title><item><title>t</title>'
        f'<source url="https://e.org">{name}</source></item></channel></rss>'
    ).encode()
    [entry] = parse_feed(body, RSS_CT, base_url=BASE)
    assert entry.named_outlet is not None
    assert entry.named_outlet.startswith("Outlet Outlet")
    assert len(entry.named_outlet) <= NAMED_OUTLET_MAX


MRSS = 'xmlns:media="http://search.yahoo.com/mrss/"'
ITUNES = 'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
CAPTION = (
    '<media:content url="https://cdn.example/p.jpg"><media:description type="plain">'
    "Фото: пресс-служба</media:description></media:content>"
)
OWN_TEXT = "Суд отказал России в экстрадиции активиста."


@pytest.mark.parametrize(
    ("namespaces", "item", "summary"),
    [
        # feedparser files the first description-like element as the summary, and the item's
        # own <description> after a photo's caption or an episode's summary as content: the
        # caption was the entry's text, and the news text was dropped.
        (MRSS, f"{CAPTION}<description>{OWN_TEXT}</description>", OWN_TEXT),
        (MRSS, f"<description>{OWN_TEXT}</description>{CAPTION}", OWN_TEXT),
        (MRSS, f"{CAPTION}<content:encoded>{OWN_TEXT}</content:encoded>", OWN_TEXT),
        (ITUNES, f"<itunes:summary>Выпуск 12</itunes:summary><description>{OWN_TEXT}</description>",
         OWN_TEXT),
        (MRSS.replace("media", "m"),
         f"<m:content url='u'><m:description>Фото</m:description></m:content>"
         f"<description>{OWN_TEXT}</description>", OWN_TEXT),
        # Without a text of its own, the item's media or episode text is still its text.
        (MRSS, CAPTION, "Фото: пресс-служба"),
        (ITUNES, "<itunes:summary>Выпуск 12</itunes:summary>", "Выпуск 12"),
        (MRSS, f"<media:description/><description>{OWN_TEXT}</description>", OWN_TEXT),
    ],
)  # fmt: skip
def test_the_item_s_own_text_comes_before_a_media_or_episode_one(
    namespaces: str, item: str, summary: str
) -> None:
    body = (
        f'<rss version="2.0" {namespaces} xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>t</title><item><title>Суд</title>{item}</item></channel></rss>"
    ).encode()
    [entry] = parse_feed(body, RSS_CT, base_url=BASE)
    assert entry.summary == summary


@pytest.mark.timeout(20)
def test_many_unclosed_media_descriptions_are_read_at_once() -> None:
    body = f'<rss version="2.0" {MRSS}><channel>{"<media:description " * 100_000}'.encode()
    with pytest.raises(ParseError):
        parse_feed(body, RSS_CT, base_url=BASE)


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("cp1251_declared.xml", "application/rss+xml"),
        ("cp1251_declared.xml", "text/xml"),  # RFC 3023 would say us-ascii
        ("cp1251_mislabelled.xml", "application/rss+xml; charset=utf-8"),
        ("cp1251_undeclared.xml", "application/rss+xml"),
        ("cp1251_undeclared.xml", ""),
        ("koi8r_declared.xml", "application/xml"),
        ("koi8r_declared.xml", "application/xml; charset=koi8-r"),
        ("koi8r_undeclared.xml", "application/xml"),
        ("koi8r_undeclared.xml", "text/xml; charset=utf-8"),
        ("utf8_broken_byte.xml", "application/xml; charset=utf-8"),
        # A server's default charset over a declaration that is right: the declaration wins.
        ("cp1251_declared.xml", "application/rss+xml; charset=iso-8859-1"),
        ("cp1251_declared.xml", "application/rss+xml; charset=windows-1252"),
        ("koi8r_declared.xml", "application/xml; charset=windows-1251"),
        # Every label wrong: the other Cyrillic code page reads as capitals, so it is sniffed.
        ("koi8r_labelled_cp1251.xml", "application/xml"),
        ("koi8r_labelled_cp1251.xml", "application/xml; charset=windows-1251"),
        ("cp1251_labelled_koi8r.xml", "application/xml"),
        ("cp1251_labelled_koi8r.xml", "application/xml; charset=koi8-r"),
        # Ten ASCII letters of markup and links to each Cyrillic one: Cyrillic read as Latin
        # looked like Latin text with a few accents.
        ("cp1251_undeclared_markup.xml", ""),
        ("cp1251_undeclared_markup.xml", "application/rss+xml; charset=iso-8859-1"),
        # A UTF-16 declaration over bytes that spell it in ASCII is wrong: it was believed, and
        # CJK characters came out.
        ("cp1251_labelled_utf16.xml", "application/xml"),
    ],
)
def test_cyrillic_comes_out_right_whatever_the_label(name: str, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    [entry] = parse_feed(load(name), headers, base_url=BASE)
    assert entry.title == RU_TITLE
    assert entry.summary.startswith("Суд в Астане одобрил выдачу")
    assert entry.lang == "ru"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/rss+xml; charset=iso-8859-1",  # both labels right: as before
        "application/rss+xml",
        "application/rss+xml; charset=windows-1251",  # a Russian host's default charset
        "application/rss+xml; charset=koi8-r",
    ],
)
def test_a_declared_latin1_feed_stays_latin1(content_type: str) -> None:
    [entry] = parse_feed(load("latin1_declared.xml"), {"Content-Type": content_type}, base_url=BASE)
    assert entry.title == "Expulsion vers la Russie suspendue à Marseille"
    assert (
        entry.summary == "Le tribunal a jugé que l'opposant risquait d'être arrêté à son arrivée."
    )
    assert entry.lang == "fr"


# Codecs that make bytes of bytes, and "undefined" (as a JavaScript server writes
# `charset=${enc}` with `enc` unset), which fails with a UnicodeError of its own.
NOT_TEXT_CODECS = ("undefined", "base64", "hex", "rot13", "zlib", "bz2", "uu", "quopri")
XML_DECLARED = "<?xml version='1.0' encoding='{}'?><a>Привет мир</a>"
META_LABELLED = "<html><head><meta charset='{}'></head><body>Привет мир</body></html>"
PAGE = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
    + "<style>"
    + "p { margin: 0 auto; }" * 100
    + "</style></head><body>Суд в Бишкеке</body>"
)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("Привет".encode(), "text/xml; charset=windows-1251", "Привет"),  # valid UTF-8 wins
        # A single-byte label that makes mojibake of the bytes gives way to the sniffed encoding.
        ("Привет мир".encode("cp1251"), "text/xml; charset=iso-8859-1", "Привет мир"),
        ("Привет мир".encode("koi8_r"), "text/xml; charset=windows-1251", "Привет мир"),
        ("Привет мир".encode("cp1251"), "text/xml; charset=koi8-r", "Привет мир"),
        # ... while one that reads as text is kept, in any alphabet.
        (GERMAN.encode("latin-1"), "text/xml; charset=iso-8859-1", GERMAN),
        (GREEK.encode("iso8859_7"), "text/xml; charset=iso-8859-7", GREEK),
        ("Ұстап берді".encode("kz1048"), "text/xml; charset=kz1048", "Ұстап берді"),
        ("Привет мир".encode("cp1251"), "", "Привет мир"),
        ("Привет мир".encode("koi8_r"), "", "Привет мир"),
        ("Привет мир".encode("cp1251"), "text/xml; charset=bogus-charset", "Привет мир"),
        (GERMAN.encode("latin-1"), "", GERMAN),  # a few accents: Latin, not Cyrillic
        # ... also where some stand together ("ção"), if most are alone among ASCII letters.
        (PORTUGUESE.encode("cp1252") * 20, "", PORTUGUESE * 20),
        ("Ünïcode".encode("utf-16"), "", "Ünïcode"),
        ('<?xml version="1.0"?><a>Я</a>'.encode("utf-16-be"), "", '<?xml version="1.0"?><a>Я</a>'),
        ("ok".encode("utf-8-sig"), "", "ok"),
        # A UTF-16 label over bytes starting with "<" in ASCII is no more believed.
        ("<a>Привет, мир</a>".encode("cp1251"), "text/xml; charset=utf-16", "<a>Привет, мир</a>"),
        (" <a>Привет</a>".encode("cp1251"), "text/xml; charset=utf-16le", " <a>Привет</a>"),
        # ... while a UTF-16 label is believed over UTF-16 without a byte-order mark.
        ("<a>café</a>".encode("utf-16-le"), "text/xml; charset=utf-16", "<a>café</a>"),
        ("<a>café</a>".encode("utf-16-be"), "text/xml; charset=utf-16-be", "<a>café</a>"),
        # A page's own label beats the server's, also when ASCII markup swamps its letters.
        (PAGE.encode("cp1251"), "text/html; charset=iso-8859-1", PAGE),
        (
            PAGE.replace("windows-1251", "koi8-r").encode("koi8_r"),
            "",
            PAGE.replace("windows-1251", "koi8-r"),
        ),
        # A label of a codec that is no text encoding does not count: the bytes are sniffed.
        *(
            ("Привет мир".encode("cp1251"), f"text/xml; charset={label}", "Привет мир")
            for label in NOT_TEXT_CODECS
        ),
        (XML_DECLARED.format("base64").encode("cp1251"), "", XML_DECLARED.format("base64")),
        (XML_DECLARED.format("undefined").encode("cp1251"), "", XML_DECLARED.format("undefined")),
        (META_LABELLED.format("rot13").encode("cp1251"), "", META_LABELLED.format("rot13")),
        (META_LABELLED.format("zlib").encode("cp1251"), "", META_LABELLED.format("zlib")),
    ],
)
def test_decode_document(body: bytes, content_type: str, expected: str) -> None:
    assert decode_document(body, content_type) == expected


def test_malformed_but_recoverable_feed_returns_its_entries() -> None:
    entries = parse_feed(load("malformed_recoverable.xml"), RSS_CT, base_url=BASE)
    assert [e.title for e in entries] == ["Bare ampersand & unclosed break", "Second item"]
    assert entries[1].link == "https://example.org/broken/2"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (load("page.html"), "text/html; charset=utf-8"),
        (load("page.html"), "application/rss+xml"),  # a lying content type changes nothing
        (b'{"error": "rate limited"}', "application/json"),
        (b"", "application/rss+xml"),
        (b"   \n", "application/rss+xml"),
        (b'<?xml version="1.0"?><config><key>v</key></config>', "application/xml"),
    ],
)
def test_not_a_feed(body: bytes, content_type: str) -> None:
    with pytest.raises(NotAFeed):
        parse_feed(body, {"Content-Type": content_type}, base_url=BASE)


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>a</ti',
        b'<?xml version="1.0"?><rss version="2.0"><channel><item></item></ch',
        # feedparser raised on these instead of calling them broken, and the operator was told
        # of "an internal error" on every poll. (Minimised from a mutation fuzz of tests/data.)
        b"<channel<item<link</item</link>",  # KeyError
        b"<item<category</item>n</category>",  # KeyError
        b'<?m?><rdf:F xmlns:rdf="\xed\xa0\x80" x="">',  # ValueError
    ],
)
def test_unreadable_feed_xml_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, RSS_CT, base_url=BASE)
    assert not isinstance(caught.value, NotAFeed)


def test_valid_empty_feed_is_no_error() -> None:
    assert parse_feed(rss([]), RSS_CT, base_url=BASE) == []
    # A harmless content-type complaint from feedparser is not a broken document either.
    assert parse_feed(rss([]), {"Content-Type": "text/plain"}, base_url=BASE) == []


@pytest.mark.parametrize(
    ("ttl", "seconds"),
    [
        ("30", 1800.0),
        (" 60 ", 3600.0),
        ("0", None),
        ("20000", None),  # over a week: absurd
        ("\u00b2", None),  # "²".isdigit() is True, but int() refuses it
        ("\u0663\u0660", None),  # Arabic-Indic "30": not what RSS means by a number
        ("9" * 5000, None),  # int() refuses more than 4,300 digits
    ],
)
def test_ttl_is_plain_ascii_digits_or_nothing(ttl: str, seconds: float | None) -> None:
    doc = f"<rss version='2.0'><channel><title>x</title><ttl>{ttl}</ttl><item><title>a</title>"
    doc += "<link>https://e.org/1</link></item></channel></rss>"
    assert read_feed(doc.encode(), RSS_CT, base_url=BASE).ttl == seconds


def test_hostile_entry() -> None:
    hostile, data_link, credentials = parse_feed(load("hostile.xml"), RSS_CT, base_url=BASE)
    assert hostile.title == "x & <"
    assert hostile.summary == "Hello & world"
    assert hostile.link is None  # javascript:
    assert hostile.published is None  # 1973
    assert data_link.link is None
    assert data_link.published is None  # 2100
    assert credentials.link is None


@pytest.mark.parametrize(
    "reference", ["&#55357;", "&#xDC00;", "&#1114112;", "&#x110000;", "&#99999999999;"]
)
def test_a_reference_to_no_character_costs_only_that_character(reference: str) -> None:
    # feedparser raised on these, so one such title failed its whole feed on every poll.
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>A {reference} b</title><link>https://e.org/1</link></item>"
        "<item><title>B &#8212; &#x1F600;</title><link>https://e.org/2</link></item>"
        "</channel></rss>"
    ).encode()
    first, second = parse_feed(body, RSS_CT, base_url=BASE)
    assert first.title == "A b"
    assert second.title == "B \u2014 \U0001f600"


def refused_within(body: bytes) -> int:
    """The peak memory (bytes) of refusing `body` for its entity declarations."""
    tracemalloc.start()
    try:
        with pytest.raises(ParseError, match="entities"):
            parse_feed(body, RSS_CT, base_url=BASE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def test_billion_laughs_is_refused_without_expanding_it() -> None:
    assert refused_within(load("billion_laughs.xml")) < 20_000_000


def test_deeply_nested_markup_is_read_no_further_than_its_first_tags() -> None:
    # The HTML parser's time grows with the square of the nesting depth: these 600,000 nested
    # <div>s (3 MB, under the fetch limit) would hold it for minutes.
    assert html_to_text("<div>" * 600_000 + "x") == ""
    # Not simple (the <li>s are for the parser), so read up to its 2,000th tag.
    assert html_to_text("<li>w" * 3000) == " ".join(["w"] * MARKUP_TAGS_MAX)


def test_deep_nesting_leaves_the_simple_reading_at_once() -> None:
    # Each <a> is looked for among the open tags: with 150,000 of them open, that would be
    # minutes of work. Deeper than 16 is not a plain summary: the parser reads it.
    assert html_to_text("<b>" * 150_000 + "<a>x</a>" * 150_000) == ""
    assert html_to_text("<b>" * 20 + "deep" + "</b>" * 20) == "deep"


def test_quadratic_blowup_is_not_expanded_by_the_loose_parser() -> None:
    # expat refuses this (amplification limit), and feedparser's loose fallback would then
    # expand the "safe" entity itself: 200 MB from a 60 kB document.
    body = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + "A" * 10_000 + '">\n]>\n'
        '<rss version="2.0"><channel><title>q</title><item><title>t</title>'
        "<link>https://example.org/q</link><description>" + "&a;" * 20_000 + "</description>"
        "</item></channel></rss>"
    ).encode()
    assert refused_within(body) < 50_000_000


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "head",
    [
        # Cutting the inner declaration out of "<!ENT<!ENTITY z>ITY" used to form "<!ENTITY a"
        # after a DOCTYPE that text before it hid from the DOCTYPE pattern.
        'x\n<!DOCTYPE rss [\n<!ENT<!ENTITY z>ITY a "{a}">]>\n',
        '<!DOCTYPE rss [\n<!ENT<!ENTITY z>ITY a "{a}">]>\n',
        'x\n<!DOCTYPE rss [\n<!EN<!ENT<!ENTITY z>ITY y>TITY a "{a}">]>\n',
    ],
)
def test_an_entity_declaration_formed_by_cutting_another_is_refused(head: str) -> None:
    body = (
        head.format(a="A" * 20_000) + '<rss version="2.0"><channel><item><title>t</title>'
        "<description>" + "&a;" * 20_000 + "</description></item></channel></rss>"
    ).encode()
    assert refused_within(body) < 20_000_000


def test_entity_declarations_on_one_line_are_refused_too() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "EXPANDED"><!ENTITY y "]>">]>'
        b'<rss version="2.0"><channel><item><title>&x;</title>'
        b"<link>https://example.org/x</link></item></channel></rss>"
    )
    with pytest.raises(ParseError, match="entities"):
        parse_feed(body, RSS_CT, base_url=BASE)


def test_a_doctype_without_entities_is_fine() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">'
        b'<rss version="0.91"><channel><title>t</title><item><title>Hello</title>'
        b"<link>https://example.org/x</link></item></channel></rss>"
    )
    [entry] = parse_feed(body, RSS_CT, base_url=BASE)
    assert entry.title == "Hello"


async def test_external_entities_and_dtds_are_never_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    async with FeedServer() as srv:
        srv.set_response("/dtd", 200, b'<!ENTITY remote "REMOTE">')
        srv.set_response("/ent", 200, b"REMOTE")
        body = (
            f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "{srv.url("/dtd")}" [\n'
            f'<!ENTITY file SYSTEM "{secret.as_uri()}">\n'
            f'<!ENTITY http SYSTEM "{srv.url("/ent")}">\n]>\n'
            '<rss version="2.0"><channel><item><title>a &file; b &http; &remote;</title>'
            "<link>https://example.org/x</link></item></channel></rss>"
        ).encode()
        with pytest.raises(ParseError, match="entities"):
            await parse_feed_async(body, RSS_CT, base_url=BASE)
        no_entities = body.replace(b"&file;", b"").replace(b"&http;", b"").replace(b"&remote;", b"")
        no_entities = no_entities.split(b"[", 1)[0] + b">" + no_entities.split(b"]>", 1)[1]
        [entry] = await parse_feed_async(no_entities, RSS_CT, base_url=BASE)  # external DTD only
        assert srv.requests == []
    assert "TOPSECRET" not in entry.title
    assert "REMOTE" not in entry.title


def test_lang_falls_back_to_the_argument_and_is_normalised() -> None:
    body = rss([{"title": "t", "link": "https://example.org/1"}])
    assert parse_feed(body, RSS_CT, base_url=BASE, lang="ru-RU")[0].lang == "ru"
    assert parse_feed(body, RSS_CT, base_url=BASE)[0].lang is None


@pytest.mark.parametrize(
    ("element", "feed_lang", "lang", "header", "expected"),
    [
        # A server's Content-Language is often its default for every file: the feed's own
        # <language> and the configured language come first (an "en" header over a Russian
        # feed switched Russian morphology off, and a relevant story was missed).
        ("", "ru", "ru", "en", "ru"),
        ("", "ru", None, "en", "ru"),
        ("", None, "ru", "kk", "ru"),
        ("", None, None, "kk-KZ", "kk"),  # ... and it is the last resort
        ("", None, None, "not a tag", None),
        (' xml:lang="uk"', "ru", "ru", "en", "uk"),  # the entry's own language
    ],
)
def test_content_language_header_says_the_language_only_when_nothing_else_does(
    element: str, feed_lang: str | None, lang: str | None, header: str, expected: str | None
) -> None:
    language = f"<language>{feed_lang}</language>" if feed_lang else ""
    body = (
        f'<rss version="2.0"><channel>{language}<item><title{element}>Казахстан выдал России'
        " беглого мобилизованного</title></item></channel></rss>"
    ).encode()
    headers = {**RSS_CT, "Content-Language": header}
    [entry] = parse_feed(body, headers, base_url=BASE, lang=lang)
    assert entry.lang == expected


@pytest.mark.parametrize(
    ("root", "language", "element", "lang", "expected"),
    [
        # A CMS's template says <language>en-us</language> over Russian news: the operator's
        # `lang: ru` could not correct it, no Russian morphology was used, and relevant reports
        # were missed.
        ("rss", "en-us", "", "ru", "ru"),
        ("rss", "en-us", "", None, "en"),
        # Atom's xml:lang on the feed is stamped on each entry's texts, as if each said it.
        ('feed xml:lang="en-US"', None, "", "ru", "ru"),
        ('feed xml:lang="en-US"', None, "", None, "en"),
        # An entry's own language still says it best.
        ("rss", "en-us", ' xml:lang="kk"', "ru", "kk"),
        ('feed xml:lang="en-US"', None, ' xml:lang="kk"', "ru", "kk"),
    ],
)
def test_the_configured_language_corrects_the_feed_s(
    root: str, language: str | None, element: str, lang: str | None, expected: str
) -> None:
    title = f"<title{element}>Вьетнам выдал России мобилизованного</title>"
    if root == "rss":
        said = f"<language>{language}</language>" if language else ""
        body = f'<rss version="2.0"><channel>{said}<item>{title}</item></channel></rss>'
    else:
        entry = f"<entry><id>1</id>{title}<updated>2024-03-06T10:00:00Z</updated></entry>"
        body = f'<{root} xmlns="http://www.w3.org/2005/Atom"><title>t</title>{entry}</feed>'
    [entry] = parse_feed(body.encode(), {}, base_url=BASE, lang=lang)
    assert entry.lang == expected


def test_max_entries_and_debris_entries() -> None:
    items: list[dict[str, Any]] = [
        {"title": f"n{i}", "link": f"https://example.org/{i}"} for i in range(10)
    ]
    entries = parse_feed(rss([*items, {}]), RSS_CT, base_url=BASE, max_entries=3)
    assert [e.title for e in entries] == ["n0", "n1", "n2"]
    # An item with nothing in it is dropped rather than stored as an empty story.
    assert len(parse_feed(rss([{}, *items]), RSS_CT, base_url=BASE)) == 10


def test_dates() -> None:
    soon = datetime.now(UTC) + timedelta(days=1)
    later = datetime.now(UTC) + timedelta(days=5)
    items: list[dict[str, Any]] = [
        {"title": "soon", "pubDate": soon},
        {"title": "later", "pubDate": later},
        {"title": "old", "pubDate": "Sun, 31 Dec 1989 23:59:59 GMT"},
        {"title": "junk", "pubDate": "not a date"},
        {"title": "no such day", "pubDate": "Mon, 31 Jun 2025 10:00:00"},
    ]
    entries = parse_feed(rss(items), RSS_CT, base_url=BASE)
    assert entries[0].published == soon.replace(microsecond=0)
    assert [e.published for e in entries[1:]] == [None, None, None, None]


@pytest.mark.parametrize(
    ("stamp", "hour"),
    [
        # feedparser reads a zone name it does not know as UTC: Moscow time was 3 hours late.
        ("Wed, 06 Mar 2024 10:00:00 MSK", 7),
        ("06 Mar 2024 10:00 msk", 7),
        ("Wed, 06 Mar 2024 10:00:00 EET", 8),
        ("Wed, 06 Mar 2024 10:00:00 CEST", 8),
        ("Wed, 06 Mar 2024 10:00:00 +0300", 7),
        ("Wed, 06 Mar 2024 10:00:00 GMT", 10),
        ("Wed, 06 Mar 2024 10:00:00 EST", 15),
        # an offset and the zone's name: feedparser applies the offset, once is enough
        ("Wed, 06 Mar 2024 10:00:00 +0300 MSK", 7),
        ("Wed, 06 Mar 2024 10:00:00 +03:00 MSK", 7),
        # no zone, with the weekday: feedparser gives no date at all (without the weekday, or
        # with a zone it does not know, it gives UTC); read as UTC too
        ("Wed, 06 Mar 2024 10:00:00", 10),
        ("Wed, 06 Mar 2024 10:00", 10),
        ("Wed, 06 Mar 24 10:00:00", 10),
    ],
)
def test_zone_names_of_the_region_are_read(stamp: str, hour: int) -> None:
    [entry] = parse_feed(rss([{"title": "t", "pubDate": stamp}]), RSS_CT, base_url=BASE)
    assert entry.published == datetime(2024, 3, 6, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        # A numeric offset after GMT or UTC, as CMSs of the region print local time: feedparser
        # read most of these as UTC and some as no date (then read as UTC): hours late or early.
        ("Wed, 06 Mar 2024 10:00:00 GMT+3", (7, 0)),
        ("Wed, 06 Mar 2024 10:00:00 UTC+3", (7, 0)),
        ("Wed, 06 Mar 2024 10:00:00 UTC+03:00", (7, 0)),
        ("Wed, 06 Mar 2024 10:00:00 GMT+06", (4, 0)),
        ("06 Mar 2024 10:00 utc+5", (5, 0)),
        ("Wed, 06 Mar 2024 10:00:00 GMT +3", (7, 0)),
        ("Wed, 06 Mar 2024 10:00:00 UTC+5:30", (4, 30)),
        ("Wed, 06 Mar 2024 10:00:00 GMT-0500", (15, 0)),  # feedparser applied these two:
        ("Wed, 06 Mar 2024 10:00:00 GMT+0300", (7, 0)),  # once is enough
        ("Wed, 06 Mar 2024 23:00:00 UTC+14", (9, 0)),  # Kiribati, the farthest zone...
        # ... and past it no zone: the clock time is taken as UTC, as for a zone name no one
        # knows, not as no date (an undated entry would be fresh news on every later poll).
        ("Wed, 06 Mar 2024 10:00:00 GMT+15", (10, 0)),
        ("Wed, 06 Mar 2024 10:00:00 UTC-1500", (10, 0)),
        ("Wed, 06 Mar 2024 10:00:00 UTC+03:75", (10, 0)),
    ],
)
def test_an_offset_after_gmt_or_utc_is_applied(stamp: str, expected: tuple[int, int]) -> None:
    [entry] = parse_feed(rss([{"title": "t", "pubDate": stamp}]), RSS_CT, base_url=BASE)
    assert entry.published == datetime(2024, 3, 6, *expected, tzinfo=UTC)


def test_long_text_is_bounded_at_a_word_boundary() -> None:
    words = " ".join(["слово"] * 1000)
    [entry] = parse_feed(rss([{"title": words, "description": words}]), RSS_CT, base_url=BASE)
    assert len(entry.title) <= 300
    assert len(entry.summary) <= 2000
    assert entry.title.endswith("слово…")
    assert entry.summary.endswith("слово…")


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://example.org/a?b=c#d", "https://example.org/a?b=c#d"),
        ("/news/1", "https://base.example/news/1"),
        ("story", "https://base.example/feed/story"),
        ("//cdn.example/x", "https://cdn.example/x"),
        ("  https://example.org/trim  ", "https://example.org/trim"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("ftp://example.org/file", None),
        ("mailto:a@example.org", None),
        ("https://user:pass@example.org/", None),
        ("https://user@example.org/", None),
        ("https://example.org:99999/", None),
        # urljoin raises on a malformed host, which failed the whole feed.
        ("//[x", None),
        ("HTTP://[::1", None),
        ("//[::1]:99999/", None),
        ("https://exa mple.org/", None),
        ("https://example.org/\x00", None),
        ("https://example.org/" + "a" * 2048, None),
        ("", None),
        (None, None),
    ],
)
def test_clean_link(link: str | None, expected: str | None) -> None:
    assert clean_link(link, BASE) == expected


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<b>x</b> &amp; <script>alert(1)</script> &lt;", "x & <"),
        ("<p>a</p><p>b</p>", "a b"),
        ("<style>p{}</style>  tabs\tand\nnewlines\u00a0here ", "tabs and newlines here"),
        ("AT&amp;T &quot;q&quot; &#1055;", 'AT&T "q" П'),
        ("plain a < b", "plain a < b"),
        ("bell\x07 and null\x00", "bell and null"),
        ("", ""),
        # The summary's usual form, read without the parser:
        (
            "<p>one</p><p>Two &laquo;q&raquo; <a href='/x?a=1&amp;b=2'>link</a></p>",
            "one Two «q» link",
        ),
        # The parser's own ways, which the shortcut must leave to it: a stray end tag is
        # dropped (the text around it joins), an `a` in an `a` or a heading in a heading
        # closes the outer one (its end tag is then stray).
        ("x</b>y", "xy"),
        ("<a>1<a>2</a>3</a>4", "1234"),
        ("<h2>1<h3>2</h3>3</h2>4", "1 2 34"),
        # What these hold is raw text to the parser (fallback markup), never shown as text.
        (
            '<p>Суд</p><iframe src="https://v.example/1"><p>Your browser does not support'
            " iframes</p></iframe>",
            "Суд",
        ),
        ("<p>Суд</p><noembed><b>No embeds</b></noembed> <NOFRAMES><i>x</i></NOFRAMES>", "Суд"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        # Inline elements join what is on either side of them, as a browser shows it: a
        # keyword (экстрадиция) split by a tag must still be one word.
        ("<p><b>Э</b>кстрадиция</p>", "Экстрадиция"),
        ("<p>экстра<wbr>диция</p>", "экстрадиция"),
        ("<p>экс<span>тра</span><a href='/x'>ди</a><em>ци</em>я</p>", "экстрадиция"),
        ("x<sup>2</sup> H<sub>2</sub>O <abbr>ФСБ</abbr>ru", "x2 H2O ФСБru"),
        ("<font color=red>Э</font>кстрадиция<mark>!</mark>", "Экстрадиция!"),
        ("<ul><li><strong>Э</strong>кстрадиция</li></ul>", "Экстрадиция"),  # the parser's path
        ("<b>one</b> <i>two</i>\n<u>three</u>", "one two three"),  # the source's spaces stay
        # Blocks, line breaks and cells separate.
        ("<p>a</p>b<div>c</div>d", "a b c d"),
        ("a<br>b<BR/>c<hr>d", "a b c d"),
        ("<h1>T</h1>x<h6>y</h6>", "T x y"),
        ("<ul><li>a</li><li>b</li></ul><ol><li>c</li></ol>", "a b c"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><th>c</th></tr></table>d", "a b c d"),
        ("<blockquote>a</blockquote><section>b</section><article>c</article>", "a b c"),
        (
            "<header>a</header><footer>b</footer><figure>c<figcaption>d</figcaption></figure>",
            "a b c d",
        ),
        ("<dl><dt>a</dt><dd>b</dd></dl><pre>c</pre>", "a b c"),
        ("<b>a<p>b</p>c</b>", "a b c"),
        # A reference is whole within one text: parts of one on either side of a tag are text.
        ("&am<b>p;</b> &l<wbr>t; <p>&amp<b>;</b> &#105<i>5;</i></p>", "&amp; &lt; &; i5;"),
    ],
)
def test_inline_tags_join_and_blocks_separate(html: str, text: str) -> None:
    assert html_to_text(html) == text


# Text never keeps control characters, noncharacters or U+FFFD.
NONCHARACTERS = "".join(chr(plane << 16 | low) for plane in range(17) for low in (0xFFFE, 0xFFFF))
# Nor bidirectional overrides, embeddings and isolates: an unclosed one reverses what follows.
CONTROL = re.compile(
    f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffd\ufdd0-\ufdef"
    f"{NONCHARACTERS}]"
)


def test_every_character_that_never_belongs_in_text_is_found_and_no_other() -> None:
    # The text rules look for such characters with a cheaper, wider pattern first: it must
    # miss none of them, and what it also finds (emoji, any character past the BMP) is kept.
    code_points = (c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    never = [chr(c) for c in code_points if CONTROL.match(chr(c))]
    assert len(never) == 62 + 9 + 1 + 32 + 34  # controls, bidi, U+FFFD, noncharacters
    for char in never:
        assert has_not_text(f"ab{char}c"), hex(ord(char))
        assert without_not_text(f"ab{char}c") == "abc"
        assert plain_text(f"a {char}b") == "a b"
    for kept in ["\t", "\x7e", "\xa0", "\u202f", "\ufdcf", "\ufffc", "\U0001f600", "\U0010fffd"]:
        assert not has_not_text(f"a{kept}b")
        assert without_not_text(f"a{kept}b") == f"a{kept}b"


_TAG_NAMES = ["p", "br", "b", "a", "img", "li", "ul", "div", "h2", "em", "span", "sup", "hr"]
_TAG_NAMES += ["wbr", "td", "font"]
_ENTITIES = ["&amp;", "&lt;", "&gt;", "&laquo;", "&nbsp;", "&#1055;", "&#x41;", "&copy", "&notit;"]
_ENTITIES += ["&#0;", "&#128;", "&#x110000;", "&bogus;", "&", "&&", "&#", "&amp", "&#13;", "&#12;"]
_ENTITIES += ["&#x81;", "&#xb;", "&#xFFFF;", "&#xFDD0;", "&#x1FFFE;", "&#xD800;"]
_ENTITIES += ["&#x202E;", "&#x2067;", "\u202e", "\u2066"]
_ENTITIES += ["&am", "&#10", "p;", "55;", ";"]  # halves of references, a tag between them
_attribute_value = st.one_of(
    st.just(""),
    st.from_regex(r"=[a-z0-9&;#:/.?]{1,6}", fullmatch=True),
    st.from_regex(r'=\s?"[a-z &;\'/=]{0,6}"', fullmatch=True),
    st.from_regex(r"=\s?'[a-z &;\"/=]{0,6}'", fullmatch=True),
)
_attribute = st.builds(
    lambda space, name, value: f"{space}{name}{value}",
    st.sampled_from([" ", " ", "\n", "\t", "\f", "\u00a0", "\u2028"]),
    st.from_regex(r"[a-z][a-z-]{0,5}", fullmatch=True),
    _attribute_value,
)
_tag = st.one_of(
    st.builds(
        lambda name, attributes, close: f"<{name}{''.join(attributes)}{close}>",
        st.sampled_from(_TAG_NAMES + [n.upper() for n in _TAG_NAMES]),
        st.lists(_attribute, max_size=3),
        st.sampled_from(["", "/", " /", " "]),
    ),
    st.builds(lambda name: f"</{name}>", st.sampled_from([*_TAG_NAMES, "P", "Li"])),
)
_words = st.text(st.sampled_from("abz ЖЁя\t\n\r\u00a0>.,;:!?'\"=/"), max_size=8)
_soup = st.lists(st.one_of(_words, _tag, st.sampled_from(_ENTITIES)), max_size=12).map("".join)


def _element(names: list[str], inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda name, attributes, children: (
            f"<{name}{''.join(attributes)}>{''.join(children)}</{name.lower()}>"
        ),
        st.sampled_from(names),
        st.lists(_attribute, max_size=2),
        st.lists(inner, max_size=3),
    )


_leaf = st.one_of(
    _words, st.sampled_from(_ENTITIES), st.sampled_from(["<br>", "<BR/>", "<img src=x alt='a b'>"])
)
# Trees of these tags, blocks among them, in any order: some only the parser can read
# (a block in a block, an `a` in an `a`), some simple enough for bot.html_text._simple_text.
_tree = st.recursive(
    _leaf,
    lambda inner: _element(
        ["a", "A", "b", "EM", "span", "sup", "font", "p", "div", "H2", "h3", "li"], inner
    ),
    max_leaves=10,
)
_fragment = st.one_of(_soup, st.lists(_tree, max_size=4).map("".join))


@settings(max_examples=1000)
@given(_fragment)
def test_html_to_text_finds_the_parsers_text_in_text_entities_and_plain_tags(html: str) -> None:
    # Most fragments skip the parser (bot.html_text._simple_text); the text must be the same,
    # spaces and all,
    text = html_to_text(html)
    assert text == plain_text(_parsed_text(html))
    # and it is the parser's text, only spaced differently (at blocks, not at every tag).
    root = LexborHTMLParser(html).body
    parsed = CONTROL.sub("", root.text(separator="") if root is not None else "")
    assert "".join(text.split()) == "".join(parsed.split())


@given(st.text(), st.integers(min_value=2, max_value=400))
def test_bound_never_exceeds_the_limit(text: str, limit: int) -> None:
    out = bound(text, limit)
    assert len(out) <= limit
    if len(text) <= limit:
        assert out == text
    else:
        assert out.endswith("…")
        assert text.startswith(out[:-1])


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_entries_or_a_parse_error(body: bytes) -> None:
    try:
        entries = parse_feed(body, RSS_CT, base_url=BASE)
    except ParseError:
        return
    assert all(len(e.title) <= 300 and len(e.summary) <= 2000 for e in entries)


@given(st.integers(min_value=0, max_value=len(load("rss20.xml"))))
def test_truncated_feed_gives_entries_or_a_parse_error(cut: int) -> None:
    try:
        entries = parse_feed(load("rss20.xml")[:cut], RSS_CT, base_url=BASE)
    except ParseError:
        return
    assert all(e.link is None or e.link.startswith("https://") for e in entries)


# A hang guard, not a stopwatch: before, each of these took from minutes to days.
@pytest.mark.timeout(20)
def test_many_comments_before_no_doctype_are_read_at_once() -> None:
    """A DOCTYPE in a CDATA section makes the parser look for one before the root: 40
    comments there were tried 2^40 ways."""
    body = (
        b'<?xml version="1.0"?>' + b"<!--c-->" * 40 + b'<rss version="2.0"><channel><title>t'
        b"</title><item><title>Hello</title><link>https://example.org/x</link>"
        b"<description><![CDATA[<!DOCTYPE x>]]></description></item></channel></rss>"
    )
    [entry] = parse_feed(body, RSS_CT, base_url=BASE)
    assert entry.title == "Hello"


@pytest.mark.timeout(20)
def test_many_unclosed_entity_declarations_are_read_at_once() -> None:
    feed = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>Hello'
        b"</title><link>https://example.org/x</link></item></channel></rss>"
    )
    [entry] = parse_feed(feed + b"<!ENTITY" * 200_000, RSS_CT, base_url=BASE)  # 1.6 MB
    assert entry.title == "Hello"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a<!ENTITY x 'y'>b", "ab"),
        ("a<!entity x>b<!ENTITY y>c", "abc"),
        ("a<!ENTITY x <!ENTITY y>b", "ab"),  # one cut up to the first ">"
        ("a<!ENTITY x>b<!ENTITY y", "ab<!ENTITY y"),  # no ">" after it: left
        ("a<!ENTITYx>b", "a<!ENTITYx>b"),  # not the keyword
        ("plain", "plain"),
    ],
)
def test_entity_declarations_are_cut_out_wherever_they_are(text: str, expected: str) -> None:
    assert without_entity_declarations(text) == expected


def test_direction_overrides_in_feed_text_are_dropped() -> None:
    # An unclosed right-to-left override in a title would reverse the bot's own text after it
    # (the /story_1 command beside it, the source counts).
    body = rss(
        [{"title": "\u202eKazakhstan extradites Bazhukov", "description": "A\u2067 B\u202c."}]
    )
    [entry] = parse_feed(body, RSS_CT, base_url=BASE)
    assert (entry.title, entry.summary) == ("Kazakhstan extradites Bazhukov", "A B.")
