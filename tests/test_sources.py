"""Every kind of source on saved fixtures: RSS 0.9x, <ttl>, JSON Feed, Telegram previews, OPML,
and full-text extraction. All pure: bytes in, entries out."""

from __future__ import annotations

import codecs
import json
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import NotAFeed, ParseError
from bot.fulltext import Budget, extract_text, is_thin
from bot.model import Entry, FeedSpec
from bot.sources import read_source
from bot.sources.opml import OpmlFeed, feeds_yaml_items, read_opml, write_opml
from tests.conftest import make_entry

FEEDS = Path(__file__).parent / "data" / "feeds"
BASE = "https://base.example/feed/"


def load(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "title", "summary", "link", "published", "lang"),
    [
        (
            "rss091.xml",
            "Auslieferung nach Russland: Gericht prüft den Fall",
            "Ein russischer Kriegsgegner soll ausgeliefert werden; das Gericht äußert Bedenken.",
            "https://example.de/artikel/auslieferung",
            None,
            "de",
        ),
        (
            "rss092_ttl.xml",
            "Грузия отказала в экстрадиции",
            "Суд Тбилиси отказал России в выдаче оппозиционера.",
            "https://slow.example/a",
            None,
            None,
        ),
        (
            "jsonfeed11.json",
            "В Ереване задержан россиянин по запросу Москвы",
            "Гражданина России задержали в аэропорту Звартноц по запросу об экстрадиции.",
            "https://base.example/news/1?utm_source=json",
            datetime(2024, 3, 6, 4, 15, tzinfo=UTC),
            "ru",
        ),
        (
            "jsonfeed10.json",
            "Депортация из Казахстана",
            "Коротко.",
            "https://example.kz/1",
            datetime(2024, 3, 1, 10, tzinfo=UTC),
            None,
        ),
    ],
)
def test_formats(  # noqa: PLR0917 -- one argument per column of the table
    name: str,
    title: str,
    summary: str,
    link: str,
    published: datetime | None,
    lang: str | None,
) -> None:
    first = read_source("feed", load(name), {}, base_url=BASE).entries[0]
    assert (first.title, first.summary, first.link, first.published, first.lang) == (
        title, summary, link, published, lang,
    )  # fmt: skip


def test_rss_ttl_is_read_in_seconds() -> None:
    assert read_source("feed", load("rss092_ttl.xml"), {}, base_url=BASE).ttl == 90 * 60
    assert read_source("feed", load("rss20.xml"), {}, base_url=BASE).ttl is None


def test_json_feed_items_are_normalised_and_junk_skipped() -> None:
    entries = read_source("feed", load("jsonfeed11.json"), {}, base_url=BASE).entries
    assert len(entries) == 2  # a string item and an item with only an id are skipped
    second = entries[1]
    assert (second.title, second.summary, second.guid) == ("", "Text only, no title.", "42")
    assert second.link == "https://other.example/story"
    assert second.lang == "ru"  # the feed's language
    assert "alert" not in entries[0].summary  # scripts never become text


def test_a_json_feed_s_configured_language_corrects_the_feed_s() -> None:
    # As for RSS and Atom: the operator's `lang` over the feed's, an item's own over both.
    entries = read_source("feed", load("jsonfeed11.json"), {}, base_url=BASE, lang="hy").entries
    assert [e.lang for e in entries] == ["ru", "hy"]


def _json_feed(*items: dict[str, object]) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items}).encode()


def _atom(entry: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f'<title>f</title><entry><id>1</id><link href="https://e.org/1"/>{entry}</entry></feed>'
    ).encode()


@pytest.mark.parametrize(
    ("body", "title", "summary"),
    [
        # JSON Feed's title, content_text and summary are plain text by its specification:
        # what looks like a tag or a reference there is what the author wrote.
        (
            _json_feed({"id": "1", "title": "Дело <Ivanov>", "content_text": "a<b and c>d"}),
            "Дело <Ivanov>",
            "a<b and c>d",
        ),
        (
            _json_feed({"id": "1", "title": " Tom &amp;\u202e\nJerry", "summary": "x &lt; y"}),
            "Tom &amp; Jerry",
            "x &lt; y",
        ),
        (
            _json_feed({"id": "1", "title": "T" * 400, "summary": "s"}),
            "T" * 299 + "\u2026",
            "s",
        ),
        (  # content_html is HTML
            _json_feed({"id": "1", "title": "t", "content_html": "<p>a &amp; <b>b</b></p>"}),
            "t",
            "a & b",
        ),
        # Atom says which: type="text" (the default) is plain text, "html" and "xhtml" markup.
        (
            _atom(
                '<title type="text">Tom &amp;amp; Jerry</title>'
                '<summary type="text">a &lt;b and c&gt; d</summary>'
            ),
            "Tom &amp; Jerry",
            "a <b and c> d",
        ),
        (
            _atom("<title>Дело &lt;Ivanov&gt;</title><content>x &amp;lt; y</content>"),
            "Дело <Ivanov>",
            "x &lt; y",
        ),
        (  # not well-formed (&nbsp;): feedparser's loose parser reads it, the types the same
            _atom('<title type="text">Tom &amp;amp;&nbsp;Jerry</title><summary>a&lt;b</summary>'),
            "Tom &amp; Jerry",
            "a<b",
        ),
        (
            _atom(
                '<title type="html">Tom &amp;amp; &lt;i&gt;Jerry&lt;/i&gt;</title>'
                '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                "<p>a &amp;amp; <b>b</b></p></div></content>"
            ),
            "Tom & Jerry",
            "a &amp; b",
        ),
        # An RSS title is often escaped markup whatever feedparser guesses of it.
        (
            b'<rss version="2.0"><channel><item><title>Tom &amp;amp; &lt;b&gt;Jerry&lt;/b&gt;'
            b"</title><description>a &lt;p&gt;b&lt;/p&gt;</description></item></channel></rss>",
            "Tom & Jerry",
            "a b",
        ),
    ],
)
def test_plain_text_fields_are_read_as_text_and_markup_as_markup(
    body: bytes, title: str, summary: str
) -> None:
    [entry] = read_source("feed", body, {}, base_url=BASE).entries
    assert (entry.title, entry.summary) == (title, summary)


@pytest.mark.parametrize(
    "body",
    [
        b'<rss version="2.0"><channel><item><title>t</title><link>//[x</link></item>'
        b"</channel></rss>",
        _json_feed({"id": "1", "title": "t", "url": "//[x"}),
        _json_feed({"id": "1", "title": "t", "url": "HTTP://[::1"}),
    ],
)
def test_a_malformed_link_costs_only_that_link(body: bytes) -> None:
    [entry] = read_source("feed", body, {}, base_url=BASE).entries
    assert (entry.title, entry.link) == ("t", None)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("content_type", ["", "text/plain; charset=utf-8"])
def test_a_json_feed_after_a_byte_order_mark_is_recognised_by_its_body(
    encoding: str, content_type: str
) -> None:
    document = _json_feed({"id": "1", "title": "Суд"}).decode()
    body = document.encode(encoding)
    if encoding == "utf-16-be":
        body = codecs.BOM_UTF16_BE + body
    headers = {"Content-Type": content_type} if content_type else {}
    [entry] = read_source("feed", body, headers, base_url=BASE).entries
    assert entry.title == "Суд"


RU_TITLE = "Казахстан выдал России дезертира"
RU_RSS = (
    "<?xml version='1.0'{}?><rss version='2.0'><channel><title>x</title>"
    f"<item><title>{RU_TITLE}</title><link>https://e.org/1</link></item></channel></rss>"
)


@pytest.mark.parametrize(
    ("declaration", "content_type"),
    [
        ("", "application/rss+xml; charset=undefined"),
        ("", "application/rss+xml; charset=base64"),
        (" encoding='undefined'", ""),
        (" encoding='zlib'", "application/rss+xml; charset=hex"),
    ],
)
def test_a_label_of_a_codec_that_is_no_text_encoding_does_not_count(
    declaration: str, content_type: str
) -> None:
    # Such a label over windows-1251 bytes failed the feed as a bug (LookupError) on every poll.
    body = RU_RSS.format(declaration).encode("cp1251")
    headers = {"Content-Type": content_type} if content_type else {}
    [entry] = read_source("feed", body, headers, base_url=BASE).entries
    assert entry.title == RU_TITLE


RU_JSON_FEED = _json_feed({"id": "1", "title": RU_TITLE})
RU_ATOM = _atom(f"<title>{RU_TITLE}</title>")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # RSS or Atom that a misconfigured server (a CDN, an API gateway) labels JSON: it was
        # handed to the JSON Feed reader and failed as "unreadable JSON" on every poll.
        (RU_RSS.format("").encode(), "application/json; charset=utf-8"),
        (b" \r\n" + RU_RSS.format("").encode(), "application/feed+json"),
        (codecs.BOM_UTF8 + RU_RSS.format("").encode(), "application/json"),
        (RU_RSS.format("").encode("utf-16"), "application/json"),
        (RU_ATOM, "text/json"),
        # ... as a JSON Feed labelled as markup is read as JSON.
        (RU_JSON_FEED, "application/xml"),
        (RU_JSON_FEED, "application/rss+xml; charset=utf-8"),
        (codecs.BOM_UTF8 + RU_JSON_FEED, "text/html"),
        (b"\n" + RU_JSON_FEED, "application/feed+json"),
    ],
)
def test_the_first_character_of_the_body_says_json_or_markup_over_the_label(
    body: bytes, content_type: str
) -> None:
    [entry] = read_source("feed", body, {"Content-Type": content_type}, base_url=BASE).entries
    assert entry.title == RU_TITLE


def _preview(stamp: str) -> bytes:
    return (
        '<section class="tgme_channel_history"><div class="tgme_widget_message"'
        ' data-post="twtest/7"><div class="tgme_widget_message_bubble">'
        '<div class="tgme_widget_message_text">t</div><span class="tgme_widget_message_date">'
        f'<time datetime="{stamp}"></time></span></div></div></section>'
    ).encode()


# Each is a datetime that moving to UTC takes out of datetime's range: that failed the feed.
@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
@pytest.mark.parametrize(
    ("kind", "document"),
    [
        ("feed", lambda stamp: _json_feed({"id": "1", "title": "t", "date_published": stamp})),
        ("telegram", _preview),
    ],
)
def test_a_date_out_of_range_costs_only_that_date(
    kind: str, document: Callable[[str], bytes], stamp: str
) -> None:
    [entry] = read_source(kind, document(stamp), {}, base_url=BASE).entries
    assert (entry.title, entry.published) == ("t", None)


ZUIKOV = "Казахстан выдал России Андрея Зуйкова"
ZUIKOV_TEXT = "Его жена Алёна и адвокат Юлия Зуйкова обжалуют решение."


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.mark.parametrize(
    ("kind", "document", "summary"),
    [
        (
            "feed",
            lambda title, text: (
                "<rss version='2.0'><channel><title>f</title><item>"
                f"<title>{title}</title><description>&lt;p&gt;{text}&lt;/p&gt;</description>"
                f"<guid>{title}</guid></item></channel></rss>"
            ).encode(),
            ZUIKOV_TEXT,
        ),
        (
            "feed",
            lambda title, text: _json_feed({"id": title, "title": title, "content_text": text}),
            ZUIKOV_TEXT,
        ),
        (
            "feed",
            lambda title, text: _json_feed({"title": title, "content_html": f"<p>{text}</p>"}),
            ZUIKOV_TEXT,
        ),
        (
            "telegram",
            lambda title, text: (
                '<section class="tgme_channel_history"><div class="tgme_widget_message"'
                ' data-post="twtest/7"><div class="tgme_widget_message_bubble">'
                f'<div class="tgme_widget_message_text">{title}<br>{text}</div></div></div>'
                "</section>"
            ).encode(),
            f"{ZUIKOV} {ZUIKOV_TEXT}",
        ),
    ],
    ids=["rss", "json-text", "json-html", "telegram"],
)
def test_decomposed_text_is_read_composed(
    kind: str, document: Callable[[str, str], bytes], summary: str
) -> None:
    # Decomposed Cyrillic (й as и + breve, ё as е + diaeresis: text from macOS or a PDF) was
    # other words to a watch of the name and to /search, which compose what users type. An
    # identifier is not text: a GUID stays as the feed wrote it.
    body = document(_nfd(ZUIKOV), _nfd(ZUIKOV_TEXT))
    [entry] = read_source(kind, body, {}, base_url=BASE).entries
    assert (entry.title, entry.summary) == (ZUIKOV, summary)
    assert entry.guid in (None, _nfd(ZUIKOV), "https://t.me/twtest/7")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"version": "1.0", "items": []}', NotAFeed),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', ParseError),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', ParseError),
        (b"[" * 100_000 + b"]" * 100_000, ParseError),
    ],
)
def test_bad_json_feeds(body: bytes, error: type[Exception]) -> None:
    # "[": a body that starts with neither "{" nor "<" is read as its label says.
    with pytest.raises(error):
        read_source("feed", body, {"Content-Type": "application/feed+json"}, base_url=BASE)


def posts(page: bytes) -> dict[str | None, Entry]:
    """The entries of a t.me/s/twtest preview page, by link."""
    parsed = read_source(
        "telegram", page, {"Content-Type": "text/html; charset=utf-8"},
        base_url="https://t.me/s/twtest", lang="ru",
    )  # fmt: skip
    return {e.link: e for e in parsed.entries}


def test_telegram_preview_posts_become_entries() -> None:
    by_link = posts(load("telegram_preview.html"))
    # 1203 is a photo without text and 1204 a service message: nothing to judge.
    assert list(by_link) == [
        "https://t.me/twtest/1201",
        "https://t.me/twtest/1202",
        "https://t.me/twtest/1205",
    ]
    first = by_link["https://t.me/twtest/1201"]
    assert first.title == "В Алматы задержан россиянин по запросу об экстрадиции"
    assert "бежавшего от мобилизации" in first.summary
    assert first.published == datetime(2024, 3, 6, 10, 21, 8, tzinfo=UTC)
    assert first.guid == first.link
    assert first.lang == "ru"
    reply = by_link["https://t.me/twtest/1202"]
    # The quoted post and the link preview are not the reply's own text.
    assert reply.summary == "Обновление: суд отправил его под экстрадиционный арест на 40 суток."


def test_telegram_quotes_and_code_blocks_are_lines_of_their_own() -> None:
    # Posts quote statements (<blockquote>) and case numbers (<pre>): glued to the words
    # around them, "рискпреследования" and "Решение" + "суда" made words no one wrote.
    page = load("telegram_preview.html").replace(
        "Грузия депортировала гражданина Беларуси, несмотря на риск преследования.".encode(),
        "Грузия депортировала гражданина Беларуси<blockquote>Есть риск преследования"
        "</blockquote>Решение<pre>дело 2-117/24</pre>суда окончательное".encode(),
    )
    post = posts(page)["https://t.me/twtest/1205"]
    assert post.title == "Грузия депортировала гражданина Беларуси"
    assert post.summary.endswith(
        "Беларуси Есть риск преследования Решение дело 2-117/24 суда окончательное"
    )


def test_telegram_posts_with_media_or_custom_emoji_become_entries() -> None:
    # Such a post's text sits in div.media_supported_cont, not directly in the bubble (an
    # album's twice over): every photo with a caption, album and forward was skipped.
    by_link = posts(load("telegram_preview_media.html"))
    # 4658 is a photo without a caption: nothing to judge.
    assert list(by_link) == [
        "https://t.me/twtest/4656",
        "https://t.me/twtest/4659",
        "https://t.me/twtest/4660",
    ]
    album = by_link["https://t.me/twtest/4656"]
    assert album.title == "🚓 Грузия депортировала гражданина Беларуси"
    assert album.summary.endswith("несмотря на риск преследования.")
    photo = by_link["https://t.me/twtest/4659"]
    assert photo.summary == (
        "🚓 В Бишкеке задержан россиянин по запросу об экстрадиции"
        " Суд решит вопрос об аресте до конца недели."
    )
    assert photo.published == datetime(2024, 12, 5, 13, 56, 25, tzinfo=UTC)
    forwarded = by_link["https://t.me/twtest/4660"]
    assert forwarded.title == "🚓 Казахстан отказал России в экстрадиции активиста"


OWN = '<div class="tgme_widget_message_text">Суд отказал в экстрадиции</div>'
OTHER = '<div class="tgme_widget_message_text">Не текст поста</div>'


@pytest.mark.parametrize(
    ("bubble", "summary"),
    [
        (OWN, "Суд отказал в экстрадиции"),
        (f'<div class="media_supported_cont">{OWN}</div>', "Суд отказал в экстрадиции"),
        # A quoted post, a link's preview and the hidden fallback for old apps are not the
        # post's own text, wherever they come.
        (f'<a class="tgme_widget_message_reply">{OTHER}</a>{OWN}', "Суд отказал в экстрадиции"),
        (f'<a class="tgme_widget_message_reply">{OTHER}</a>', None),
        (f'<a class="tgme_widget_message_link_preview"><div>{OTHER}</div></a>', None),
        (f'<div class="media_not_supported_cont">{OTHER}</div>{OWN}', "Суд отказал в экстрадиции"),
        (f'<div class="media_not_supported_cont"><div>{OTHER}</div></div>', None),
    ],
)
def test_a_telegram_post_s_text_is_its_own(bubble: str, summary: str | None) -> None:
    page = (
        '<section class="tgme_channel_history"><div class="tgme_widget_message"'
        f' data-post="twtest/7"><div class="tgme_widget_message_bubble">{bubble}</div></div>'
        "</section>"
    ).encode()
    entries = read_source("telegram", page, {}, base_url="https://t.me/s/twtest").entries
    assert [e.summary for e in entries] == ([summary] if summary else [])


BLANKS = ["\u3164", "\u2800", "\u115f", "\u1160", "\uffa0", "\u3164 \u2800"]


@pytest.mark.parametrize("blank", BLANKS)
def test_a_telegram_post_s_blank_first_line_is_not_its_title(blank: str) -> None:
    # Telegram users type a Hangul filler or the blank Braille pattern for an empty line or an
    # indent: letters and symbols to Unicode, nothing to see. As the title, an invisible link.
    text = f"{blank}<br>{blank}Казахстан выдал России дезертира.{blank}<br>Подробности позже."
    bubble = f'<div class="tgme_widget_message_text">{text}</div>'
    page = (
        '<section class="tgme_channel_history"><div class="tgme_widget_message"'
        f' data-post="twtest/7"><div class="tgme_widget_message_bubble">{bubble}</div></div>'
        "</section>"
    ).encode()
    [entry] = read_source("telegram", page, {}, base_url="https://t.me/s/twtest").entries
    assert (entry.title, entry.summary) == (
        "Казахстан выдал России дезертира.",
        "Казахстан выдал России дезертира. Подробности позже.",
    )


def test_telegram_channel_without_public_preview_says_so() -> None:
    with pytest.raises(NotAFeed, match="no public web preview"):
        read_source(
            "telegram", load("telegram_no_preview.html"), {}, base_url="https://t.me/closedchan"
        )


# Pages are mostly ASCII (markup, scripts), among which Cyrillic read as Latin letters still
# looks like text: the page's own <meta charset> must count (it was not read at all).
SCRIPT = b"<script>" + b"window.dataLayer=window.dataLayer||[];" * 800 + b"</script></head>"


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=iso-8859-1"])
@pytest.mark.parametrize("script", [b"", SCRIPT])
def test_full_text_is_extracted_from_a_mislabelled_windows_1251_page(
    content_type: str, script: bytes
) -> None:
    page = load("article.html").replace(b"</head>", script or b"</head>", 1)
    text = extract_text(page, {"Content-Type": content_type}, "https://kg.example/")
    assert text is not None
    assert "Первомайский районный суд Бишкека одобрил экстрадицию" in text
    assert "cookies" not in text
    assert "Погода" not in text  # the sidebar is boilerplate
    assert extract_text(b"<html><body><p>Hi</p></body></html>", {}, "https://x.example/") is None


def test_the_same_article_text_is_extracted_every_time() -> None:
    """A wire story re-posted by many outlets, or a page fetched again: each is read whole."""
    page = load("article.html").replace("Бишкек".encode("cp1251"), "Оше".encode("cp1251"))
    texts = [extract_text(page, {}, "https://kg.example/") for _ in range(6)]
    assert texts[0] is not None
    assert texts == [texts[0]] * 6


@pytest.mark.parametrize(
    ("title", "summary", "link", "thin"),
    [
        ("Title only", "", "https://x.example/1", True),
        ("Title", "Title and a short lead.", "https://x.example/1", True),
        ("Title", "x" * 250, "https://x.example/1", False),
        ("Title only", "", None, False),  # nothing to fetch
        # Google's redirect needs a browser (or its consent page first): no article in it.
        ("Title only", "", "https://news.google.com/rss/articles/CBMiVGh0?oc=5", False),
        ("Title only", "", "https://NEWS.google.com/rss/articles/CBMiVGh0", False),
        ("Title only", "", "https://news.google.com.evil.example/a", True),
    ],
)
def test_is_thin(title: str, summary: str, link: str | None, thin: bool) -> None:
    assert is_thin(make_entry(title, summary=summary, link=link)) is thin


def test_budget() -> None:
    budget = Budget(2)
    assert [budget.take() for _ in range(3)] == [True, True, False]


OPML = b"""<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0"><head><title>Mine</title></head><body>
  <outline text="Central Asia">
    <outline type="rss" text="Azattyq" title="Azattyq &amp; Co"
             xmlUrl="https://www.azattyq.org/api/" language="ru-KZ"/>
    <outline type="rss" text="Channel" xmlUrl="https://t.me/s/twtest"/>
  </outline>
  <outline type="rss" text="Bad" xmlUrl="ftp://example.org/feed"/>
  <outline text="a note, no feed"/>
</body></opml>"""


def test_opml_import_reads_nested_outlines() -> None:
    listed = read_opml(OPML)
    assert listed.feeds == (
        OpmlFeed("Azattyq & Co", "https://www.azattyq.org/api/", "ru", None),
        OpmlFeed("Channel", "https://t.me/s/twtest", None, "twtest"),
    )
    assert listed.skipped == 1


@pytest.mark.parametrize(
    "data",
    [
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>',
        b"<opml><body>",
        b"<rss><channel/></rss>",
    ],
)
def test_opml_refuses_declarations_and_non_opml(data: bytes) -> None:
    with pytest.raises(ParseError):
        read_opml(data)


def test_opml_export_round_trips() -> None:
    specs = [
        FeedSpec('A <&> "B"', "https://a.example/rss?x=1&y=2", lang="ru"),
        FeedSpec("Chan", "https://t.me/s/twtest", kind="telegram"),
    ]
    document = write_opml(specs)
    assert document.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<opml version="2.0">')
    every = (("interval", 600),)  # FeedSpec's default
    assert read_opml(document).feeds == (
        OpmlFeed('A <&> "B"', "https://a.example/rss?x=1&y=2", "ru", None, every),
        OpmlFeed("Chan", "https://t.me/s/twtest", None, "twtest", every),
    )


def test_opml_names_lose_control_characters_and_such_urls_are_skipped() -> None:
    # XML refuses C0 controls itself; C1 (here CSI, U+009B) gets through it.
    listed = read_opml(
        '<opml version="2.0"><body>'
        '<outline text="Azattyq\u009b2J" xmlUrl="https://www.azattyq.org/api/"/>'
        '<outline text="Bad" xmlUrl="https://x.example/\u009b2J"/>'
        '<outline text="Spaced" xmlUrl="https://x.example/a b"/>'
        '<outline text="Port" xmlUrl="https://x.example:99999/rss"/>'  # one of these made the
        '<outline text="Word" xmlUrl="https://x.example:rss/"/>'  # whole import invalid
        "</body></opml>".encode()
    )
    assert listed.feeds == (OpmlFeed("Azattyq2J", "https://www.azattyq.org/api/", None, None),)
    assert listed.skipped == 4


def test_json_feed_text_loses_c1_control_characters() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "items": [{"id": "1", "title": "Deported\u009b2J", "content_text": "a\u0085b"}],
        }
    ).encode()
    (entry,) = read_source("feed", body, {}, base_url=BASE).entries
    assert (entry.title, entry.summary) == ("Deported2J", "ab")


def test_a_json_escape_for_half_a_surrogate_pair_costs_only_that_character() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": ['
        b'{"id": "1\\udc00", "url": "https://e.org/1", "title": "A \\ud83d b",'
        b' "content_text": "x \\udc00 y"},'
        b'{"id": "2", "url": "https://e.org/2", "title": "Fine \\ud83d\\ude00"}]}'
    )
    first, second = read_source("feed", body, {}, base_url=BASE).entries
    assert (first.title, first.summary, first.guid) == ("A b", "x y", "1")
    assert second.title == "Fine \U0001f600"  # a whole pair is one character


def test_yaml_lines_quote_everything() -> None:
    items = feeds_yaml_items([OpmlFeed('a: "b" #c', "https://x.example/?a=1#f", "no")])
    assert items == ['{name: "a: \\"b\\" #c", url: "https://x.example/?a=1#f", lang: "no"}']


@pytest.mark.parametrize(
    ("attributes", "name"),
    [
        ('title=" " text="Real name"', "Real name"),  # a blank title beside a good text
        ('title="" text="Real name"', "Real name"),
        ('title="\u009b" text="Real name"', "Real name"),  # nothing left once cleaned
        ('text=" "', "c.example/rss"),  # never the whole address: see opml._name
        ('title="\t" text="\u0085"', "c.example/rss"),
        ('title=" Spaced   out " text="Other"', "Spaced out"),
        (f'text="{"x" * 199}  y"', "x" * 199),  # no trailing space after the cut
    ],
)
def test_opml_name_is_the_first_of_title_text_and_url_not_empty_once_cleaned(
    attributes: str, name: str
) -> None:
    document = f'<opml version="2.0"><body><outline {attributes} xmlUrl="https://c.example/rss"/>'
    [feed] = read_opml(f"{document}</body></opml>".encode()).feeds
    assert feed.name == name


@pytest.mark.parametrize(
    ("attributes", "intervals"),
    [
        ('interval="600"', (("interval", 600),)),
        ('interval=" 1 "', (("interval", 1),)),  # feeds.yaml's floor (tests poll every second)
        ('interval="10m" max_interval="7d"', (("interval", 600), ("max_interval", 604800))),
        ('min_interval="300" max_interval="300"', (("min_interval", 300), ("max_interval", 300))),
        ('interval=""', ()),  # blank: not given
    ],
)
def test_opml_intervals_are_read_as_feeds_yaml_reads_them(
    attributes: str, intervals: tuple[tuple[str, int], ...]
) -> None:
    outline = f'<outline text="A" xmlUrl="https://a.example/" {attributes}/>'
    [feed] = read_opml(f'<opml version="2.0"><body>{outline}</body></opml>'.encode()).feeds
    assert feed.intervals == intervals


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ('interval="0"', "outline 'A': interval: '0' is out of range (1s to 365d)"),
        ('interval="-5"', "outline 'A': interval: expected seconds or a duration like 10m"),
        ('min_interval="abc"', "outline 'A': min_interval: expected seconds or a duration"),
        ('interval="90.5"', "outline 'A': interval: expected seconds or a duration like 10m"),
        ('max_interval="604801"', "outline 'A': max_interval is longer than 7 days"),
        ('interval="99999999"', "outline 'A': interval: '99999999' is out of range"),
        ('min_interval="2h" max_interval="1h"', "outline 'A': min_interval is longer than max"),
    ],
)
def test_opml_refuses_an_interval_feeds_yaml_would_refuse(attributes: str, message: str) -> None:
    """Dropped without a word, a bad value left the source on the default interval; feeds.yaml
    refuses it, so the import does too, naming the outline."""
    document = (
        '<opml version="2.0"><body><outline text="Fine" xmlUrl="https://f.example/"/>'
        f'<outline text="A" xmlUrl="https://a.example/" {attributes}/></body></opml>'
    )
    with pytest.raises(ParseError) as caught:
        read_opml(document.encode())
    assert str(caught.value).startswith(message)
