"""Alert cards and lists: bounded, entity-based (no HTML), hostile text stays inert."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.i18n import ENGLISH, Catalogs
from bot.render import (
    TELEGRAM_TEXT_LIMIT,
    WATCHED_MAX,
    alert_card,
    country_names,
    digest_page,
    flag,
    lead_of,
    plain,
    story_list,
)
from bot.render_search import results_page, story_card, timeline
from bot.storage import Source, Story


def story(**overrides: object) -> Story:
    values: dict[str, object] = {
        "id": 1,
        "title": "Kazakhstan hands deserter Bazhukov over to Russia",
        "summary": "On 2 February the authorities handed him over. He had asked for asylum. "
        "Lawyers object. A fourth sentence.",
        "link": "https://example.org/a",
        "outlet": "OVD-Info",
        "published_at": datetime(2026, 2, 3, tzinfo=UTC),
        "countries": ("KZ", "RU"),
        "action": "extradition",
        "reasons": ("action:выдача", "place:Казахстан", "target:дезертир"),
        "sources": 1,
    }
    values.update(overrides)
    values.setdefault("number", values["id"])  # a public story, numbered as stored first
    return Story(**values)  # type: ignore[arg-type]


def test_alert_card_parts() -> None:
    text, entities = alert_card(story()).render()
    assert text.startswith("🚨 Extradition · 🇰🇿 Kazakhstan, 🇷🇺 Russia\n")
    assert "Bazhukov" in text
    assert "He had asked for asylum." in text
    assert "A fourth sentence" not in text  # at most three sentences
    assert "OVD-Info · 3 Feb 2026" in text
    assert "Why: выдача, Казахстан, дезертир" in text
    links = [e for e in entities if e.type == "text_link"]
    assert [link.url for link in links] == ["https://example.org/a"]


def test_hostile_title_is_plain_text_not_markup() -> None:
    hostile = "<b>x</b> & <script>alert(1)</script> < &amp;"
    text, entities = alert_card(story(title=hostile, summary=hostile)).render()
    assert hostile in text
    assert all(e.type in {"bold", "italic", "text_link"} for e in entities)


@pytest.mark.parametrize("size", [5000, 100_000])
def test_cards_and_lists_never_pass_telegrams_limit(size: int) -> None:
    huge = story(
        title="T" * size, summary="S " * size, outlet="O" * size, reasons=("a:" + "r" * size,) * 50
    )
    assert len(alert_card(huge).render()[0]) <= TELEGRAM_TEXT_LIMIT
    assert len(story_list([huge] * 5, heading="h" * size).render()[0]) <= TELEGRAM_TEXT_LIMIT


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_the_limit_is_counted_as_telegram_counts_it_in_utf16_units() -> None:
    # An emoji is one code point but two UTF-16 units (a flag is two and four): a message
    # measured in code points could be twice what Telegram takes.
    wide = story(title="😀" * 5000, summary="🇰🇿 " * 5000, outlet="😀" * 5000)
    assert utf16_units(alert_card(wide).render()[0]) <= TELEGRAM_TEXT_LIMIT
    assert utf16_units(story_list([wide] * 40, heading="😀" * 9000).render()[0]) <= 4096
    assert utf16_units(plain("😀" * 5000).render()[0]) <= TELEGRAM_TEXT_LIMIT
    cut = plain("😀" * 5000).render()[0]
    assert cut.endswith("…")
    assert "\ud83d" not in ascii(cut[-2:])
    titled = [story(id=n, title="🇰🇿" * 80) for n in range(40)]
    page, shown = digest_page(titled, heading="Digest")
    assert utf16_units(page.render()[0]) <= TELEGRAM_TEXT_LIMIT
    assert 1 <= shown < 40  # it splits between stories instead of being cut
    assert page.render()[0].count("Digest") == 1
    assert "…" not in page.render()[0][-5:]


@pytest.mark.parametrize(
    ("summary", "title", "lead"),
    [
        ("One. Two. Three. Four.", "", "One. Two. Three."),
        ("Title here. Body.", "Title here", "Body."),
        ("TITLE HERE: Body.", "Title here", "Body."),
        # only a whole title is left out, never the start of a word
        (
            "Kazakhstan extradites deserters to Russia, rights groups say.",
            "Kazakhstan extradites deserter",
            "Kazakhstan extradites deserters to Russia, rights groups say.",
        ),
        ("Straße gesperrt. Mehr.", "STRASSE", "Straße gesperrt. Mehr."),  # casefold grows it
        ("Dr. Smith said so. Then left.", "", "Dr. Smith said so. Then left."),
        ("word " * 200, "", ("word " * 200)[:419].rstrip() + "…"),
    ],
)
def test_lead_cuts_at_sentence_boundaries(summary: str, title: str, lead: str) -> None:
    result = lead_of(summary, title)
    assert len(result) <= 420
    if not lead.endswith("…"):
        assert result == lead
    else:
        assert result.endswith("…")
        assert " wor…" not in result  # cut at a word boundary


@pytest.mark.parametrize(
    "title",
    [
        "\u200b \u2060\ufeff",  # zero-width and format characters
        # Blank letters and symbols, which Telegram users type for an empty line (Lo, So)
        "\u3164",
        "\u2800 \u2800",
        "\u115f\u1160",
        "\uffa0",
    ],
)
def test_a_title_made_of_invisible_marks_is_no_title(title: str) -> None:
    # It would be an invisible, untappable link: the lead's first sentence stands in.
    ghost = story(title=title, summary="Bazhukov handed over. More follows.")
    for text, entities in (
        digest_page([ghost], heading="Digest")[0].render(),
        story_list([ghost], heading="Recent").render(),
        results_page([ghost], "bazhukov", 0, 5).render(),
    ):
        [link] = [e for e in entities if e.type == "text_link"]
        shown = text.encode("utf-16-le")[2 * link.offset : 2 * (link.offset + link.length)]
        assert shown.decode("utf-16-le") == "Bazhukov handed over."


def test_story_list_numbers_items_with_dates_and_sources() -> None:
    text, _ = story_list([story(), story(id=2, sources=3, link=None)], heading="Results").render()
    assert text.splitlines()[0] == "Results"
    assert "1. 3 Feb 2026 · OVD-Info · 🇰🇿 Kazakhstan, 🇷🇺 Russia" in text
    assert "(3 sources)" in text


def test_story_list_leads_to_each_story_by_its_number() -> None:
    """/recent's items open (and a lawyer cites) a story by its number, as search results do."""
    text, _ = story_list([story(number=7), story(id=2, number=12)], heading="Recent").render()
    assert "/story_7" in text
    assert "/story_12" in text
    assert "/story_" not in story_list([story(number=None)], heading="R").render()[0]


def test_flags_and_names() -> None:
    assert flag("KZ") == "🇰🇿"
    assert flag("k1") == ""
    assert country_names(["KG", "AM"], "ru") == "🇰🇬 Киргизия, 🇦🇲 Армения"


def test_also_reported_by_lists_other_outlets_once_linked_and_bounded() -> None:
    from bot.render import ALSO_MAX
    from bot.storage.records import Source

    def src(outlet: str) -> Source:
        return Source(outlet, "t", f"https://{outlet.lower()}.example/x", "en", None)

    outlets = ["OVD-Info", "Euronews", "Euronews", *[f"Outlet{i}" for i in range(8)]]
    text, entities = alert_card(story(sources=10), sources=[src(o) for o in outlets]).render()
    line = next(x for x in text.splitlines() if x.startswith("➕ Also reported by: "))
    assert line.count("Euronews") == 1
    assert "OVD-Info" not in line  # the first reporter is the card's own source line
    assert line.endswith(f" and {9 - ALSO_MAX} more")
    assert "more sources" not in text  # the list replaces the bare count
    links = [e.url for e in entities if e.type == "text_link"]
    assert "https://euronews.example/x" in links


def test_story_list_names_the_other_outlets() -> None:
    text, _ = story_list(
        [story(sources=3, outlets=("OVD-Info", "Euronews", "Kloop"))], heading="H"
    ).render()
    assert "(3 sources, also Euronews, Kloop)" in text


def test_the_card_and_the_digest_name_the_watches_a_story_mentions_up_to_a_bound() -> None:
    text, _ = alert_card(story(), watched=["Bazhukov"]).render()
    assert text.splitlines()[2] == "👁 On your watchlist: Bazhukov"
    many = [f"Name{n} <b>" for n in range(WATCHED_MAX + 2)]
    text, _ = alert_card(story(), watched=many).render()
    line = text.splitlines()[2]
    assert line.endswith(f"Name{WATCHED_MAX - 1} <b> …")  # as typed: entities, no HTML
    assert f"Name{WATCHED_MAX}" not in line
    page, _ = digest_page([story(), story(id=2)], heading="Digest", watched={2: ["Bazhukov"]})
    first, second = page.render()[0].split("\n\n")[1:]
    assert "👁" not in first
    assert second.endswith(" · 👁 Bazhukov")
    assert "👁" not in alert_card(story()).render()[0]


def test_a_story_without_a_title_is_known_by_its_first_sentence() -> None:
    # RSS lets an item have a description and no title; its story must still read and link.
    untitled = story(title="", summary="Armenia detained a Russian deserter. He asked for asylum.")
    card, entities = alert_card(untitled).render()
    assert card.splitlines()[1] == "Armenia detained a Russian deserter."
    assert card.splitlines()[2] == "He asked for asylum."  # the lead does not repeat it
    assert all(e.length > 0 for e in entities or [])
    for text in (story_list([untitled], heading="Recent"), digest_page([untitled], heading="D")[0]):
        rendered, entities = text.render()
        assert "Armenia detained a Russian deserter." in rendered
        links = [e for e in entities or [] if e.type == "text_link"]
        assert links
        assert all(e.length > 0 for e in links)
    bare = story(title=" ", summary="")
    assert alert_card(bare).render()[0].splitlines()[1] == "(no title)"
    # A first sentence too long for a headline is cut there, and not repeated as the lead.
    long = story(title="", summary="Police detained a citizen " + "who lived there " * 40 + ".")
    card = alert_card(long).render()[0]
    assert card.count("Police detained a citizen") == 1
    assert card.splitlines()[1].endswith("…")


@pytest.mark.parametrize(
    "link",
    ["http://localhost/news/1", "https://intranet/x", "http://e.org:0/a", "http://e{x}.org/a"],
)
def test_a_link_telegram_refuses_is_shown_as_text_in_every_card_and_list(link: str) -> None:
    # Telegram answers 400 to a whole message with one such text link: the alert, the digest
    # or the list would lose every link, or never arrive.
    from bot.storage.records import Source

    refused = story(link=link, sources=2)
    also = [
        Source("Kloop", "t", link, "en", None),
        Source("Meduza", "t", "https://m.org/1", "en", None),
    ]
    rendered = [
        alert_card(refused, sources=also),
        story_list([refused, story(id=2)], heading="Recent"),
        digest_page([refused, story(id=2)], heading="Digest")[0],
    ]
    for text in rendered:
        shown, entities = text.render()
        assert "Bazhukov" in shown
        links = [e.url for e in entities or [] if e.type == "text_link"]
        assert link not in links
        assert links  # the other links stay


def test_the_days_shown_are_the_readers() -> None:
    """Published at 20:00 UTC on 3 February: the 4th for a chat at UTC+5 (Almaty), whose
    digest heading already says the 4th; the 3rd for one at UTC-5. Every card and list tells
    the day in the chat's time zone (its /settings), which `Tr` carries."""
    late = story(published_at=datetime(2026, 2, 3, 20, 0, tzinfo=UTC))
    almaty, new_york = ENGLISH.in_zone(5), ENGLISH.in_zone(-5)
    sources = [Source("Kloop", "t", "https://e.org/1", None, late.published_at)]
    for render in (
        lambda tr: alert_card(late, tr),
        lambda tr: story_list([late], heading="h", tr=tr),
        lambda tr: results_page([late], "q", 0, 5, tr=tr),
        lambda tr: story_card(late, sources, tr=tr),
        lambda tr: timeline([late], "Bazhukov", tr=tr),
    ):
        assert "4 Feb 2026" in render(almaty).as_kwargs()["text"]
        assert "3 Feb 2026" in render(new_york).as_kwargs()["text"]
        assert "4 Feb 2026" not in render(new_york).as_kwargs()["text"]


SEEN = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "undated", "seen"),
    [
        ("en", "undated (seen 3 Feb 2026)", "undated"),
        ("ru", "без даты (найдено 3 февр. 2026)", "без даты"),
        ("uk", "без дати (знайдено 3 лют. 2026)", "без дати"),
    ],
)
def test_an_undated_report_says_so_with_the_day_it_was_seen(
    locale: str, undated: str, seen: str
) -> None:
    """A report its feed gave no date is cited by lawyers: every card and list says it is
    undated, with the day the bot first saw it, never that day as its date; one that was
    dated shows its date alone. Without even a seen day (never stored) it is just undated."""
    tr = Catalogs.load().tr(locale)
    bare = story(published_at=None, seen_at=SEEN)
    sources = [Source("Kloop", "t", "https://e.org/1", None, None, SEEN)]
    for render in (
        lambda s, found: alert_card(s, tr, sources=found),
        lambda s, found: story_list([s], heading="h", tr=tr),
        lambda s, found: results_page([s], "q", 0, 5, tr=tr),
        lambda s, found: story_card(s, found, tr=tr),
        lambda s, found: timeline([s], "Bazhukov", tr=tr),
    ):
        assert undated in render(bare, sources).as_kwargs()["text"]
        dated = render(replace(bare, published_at=SEEN), [replace(sources[0], published_at=SEEN)])
        assert seen not in dated.as_kwargs()["text"]
        unseen = render(replace(bare, seen_at=None), [replace(sources[0], seen_at=None)])
        assert seen in unseen.as_kwargs()["text"]
        assert undated not in unseen.as_kwargs()["text"]
