"""Search replies and exports are bounded and inert: huge or hostile feed text cannot break them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from bot.i18n import Catalogs
from bot.render import TELEGRAM_TEXT_LIMIT
from bot.render_search import query_of_page, results_page, story_card, timeline
from bot.search.export import COLUMNS, cited, file_name, to_csv
from bot.search.people import people
from bot.storage import Source, Story

WHEN = datetime(2026, 2, 3, tzinfo=UTC)


def story(n: int = 1, title: str = "Kazakhstan hands Bazhukov over", **kw: object) -> Story:
    values: dict[str, object] = {
        "id": n, "title": title, "summary": "Lawyers appeal.", "link": f"https://e.org/{n}",
        "outlet": "OVD-Info", "published_at": WHEN, "countries": ("KZ", "RU"),
        "action": "extradition", "reasons": (), "sources": 2, "number": n,
    }  # fmt: skip
    values.update(kw)
    return Story(**values)  # type: ignore[arg-type]


def test_a_page_keeps_its_query_on_the_first_line_and_fits() -> None:
    huge = [story(n, "<b>" + "Бажуков " * 2000, outlet="x" * 5000) for n in range(5)]
    text, _ = results_page(huge, "бажуков country:kz", 3, 5).render()
    assert len(text) <= TELEGRAM_TEXT_LIMIT
    assert query_of_page(text) == "бажуков country:kz"
    assert "16. " in text  # page 4 starts at result 16
    assert query_of_page("Latest stories\n…") is None
    assert query_of_page(None) is None


@pytest.mark.parametrize(
    ("locale", "page", "tags"),
    [
        ("ru", "Страница 4", "Экстрадиция · 🇰🇿 Казахстан, 🇷🇺 Россия"),
        ("uk", "Сторінка 4", "Екстрадиція · 🇰🇿 Казахстан, 🇷🇺 Росія"),
    ],
)
def test_a_translated_page_keeps_its_query_line(locale: str, page: str, tags: str) -> None:
    tr = Catalogs.load().tr(locale)
    text, _ = results_page([story(16)], "бажуков country:kz", 3, 5, tr=tr).render()
    assert text.startswith(f"🔎 бажуков country:kz\n\n{page}\n\n16. ")
    assert query_of_page(text) == "бажуков country:kz"
    assert tags in text


def test_counts_take_the_right_plural_form() -> None:
    ru = Catalogs.load().tr("ru")
    headings = [
        timeline([story()] * n, "бажуков", tr=ru).render()[0].split("\n")[0] for n in (1, 3, 5, 21)
    ]
    assert [h.split(" — ")[1] for h in headings] == [
        "1 новость, сначала старые",
        "3 новости, сначала старые",
        "5 новостей, сначала старые",
        "21 новость, сначала старые",
    ]
    sources = [Source(f"Outlet {n}", None, None, None, None) for n in range(27)]
    card, _ = story_card(story(), sources, tr=ru).render()
    assert "Источники (27)" in card
    assert "(без заголовка)\nбез ссылки" in card
    assert card.endswith("… и ещё 2 источника (все — в /export)\n")


def test_story_card_and_timeline_fit_with_many_sources() -> None:
    sources = [
        Source(f"Outlet {n}", "t" * 3000, f"https://e.org/{n}", None, WHEN) for n in range(100)
    ]
    card, _ = story_card(story(), sources).render()
    assert len(card) <= TELEGRAM_TEXT_LIMIT
    assert "Sources (100)" in card
    # Russian outlets' links are percent-encoded Cyrillic: 8 of them were over the limit, and
    # the card became cut plain text, its links and the "more" line gone.
    slug = quote("суд-в-бишкеке-одобрил-экстрадицию-российского-дезертира-" * 3)
    long_links = [
        Source(f"Outlet {n}", "Суд одобрил экстрадицию", f"https://e.org/{slug}{n}", None, WHEN)
        for n in range(12)
    ]
    for many in (long_links, long_links * 4):
        card, entities = story_card(story(), many).render()
        assert len(card.encode("utf-16-le")) // 2 <= TELEGRAM_TEXT_LIMIT
        cited = [e.url for e in entities if e.type == "text_link" and "e.org" in (e.url or "")]
        assert cited == [source.link for source in many[: len(cited)]]  # each with its link
        assert "суд-в-бишкеке" in card  # readable, not %D1%81%D1%83%D0%B4...
        if len(cited) < len(many):
            assert card.endswith(f"… and {len(many) - len(cited)} more sources (/export has all)\n")
    assert len(cited) >= 8
    # Decoded, a link must not bring out a direction override, a line break or broken bytes.
    for hostile in ("https://e.org/a%E2%80%AEgpj.exe", "https://e.org/a%0Ab", "https://e.org/%FF"):
        card, _ = story_card(story(), [Source("O", "t", hostile, None, WHEN)]).render()
        assert hostile in card
    lines, _ = timeline([story(n) for n in range(300)], "bazhukov").render()
    assert len(lines) <= TELEGRAM_TEXT_LIMIT


def test_a_case_of_emoji_titles_fits_as_telegram_counts_it() -> None:
    stories = [story(n, "😀" * 60) for n in range(200)]
    rendered, entities = timeline(stories, "bazhukov").render()
    assert len(rendered.encode("utf-16-le")) // 2 <= TELEGRAM_TEXT_LIMIT
    assert rendered.splitlines()[-1].endswith("/story_199")  # not cut to plain text
    assert entities


def test_a_long_case_shows_its_latest_stories_with_their_links() -> None:
    # 300 match; the storage hands over the newest 200, oldest first.
    stories = [story(n, f"Hearing {n} in the Bazhukov case " + "x" * 80) for n in range(100, 300)]
    text = timeline(stories, "bazhukov", total=300)
    rendered, entities = text.render()
    lines = rendered.splitlines()
    shown = [line for line in lines if "/story_" in line]
    assert len(rendered) <= TELEGRAM_TEXT_LIMIT
    assert lines[0] == "Case: bazhukov — 300 stories, oldest first"
    assert lines[1] == f"({300 - len(shown)} earlier stories not shown)"
    assert shown[-1].endswith("/story_299")  # the newest is there, and last
    assert [int(line.rsplit("_", 1)[1]) for line in shown] == list(range(300 - len(shown), 300))
    assert len(entities or []) == len(shown) + 1  # every title still links (and the bold head)
    ru = Catalogs.load().tr("ru")
    short, _ = timeline(stories[-3:], "бажуков", total=24, tr=ru).render()
    assert short.splitlines()[1] == "(21 более ранняя новость не показана)"
    whole, _ = timeline(stories[-3:], "бажуков", tr=ru).render()
    assert "не показан" not in whole


def test_csv_defuses_formulas_and_keeps_every_source() -> None:
    stories = [story(1, '=HYPERLINK("http://evil")'), story(2, "Суд отказал Мовлаеву")]
    cited = {1: [("A", "https://a.org/1"), ("B", "https://b.org/1")], 2: [("C", None)]}
    rows = list(csv.reader(io.StringIO(to_csv(stories, cited).decode("utf-8-sig"))))
    assert rows[1][4] == '\'=HYPERLINK("http://evil")'
    assert rows[1][5:] == ["A; B", "https://a.org/1; https://b.org/1"]
    assert rows[2][0] == "2026-02-03"
    assert rows[2][3] == "Мовлаеву"
    assert rows[2][6] == ""
    # The two columns line up source by source: a lawyer cites each link with its outlet.
    mixed = {1: [("OVD", "https://ovd.org/1"), ("Agg", None), ("OVD", "https://ovd.org/2")]}
    [_, row] = csv.reader(io.StringIO(to_csv(stories[:1], mixed).decode("utf-8-sig")))
    assert row[5:] == ["OVD; Agg; OVD", "https://ovd.org/1; ; https://ovd.org/2"]


def test_csv_outlets_and_links_stay_in_step_when_a_name_holds_a_semicolon() -> None:
    """A Google News item names its outlet (<source>Kloop; Azattyk</source>) and feeds.yaml
    names may hold ";": the cells are "; "-joined, so the n-th link must stay the n-th outlet's."""
    reports = [
        Source("Kloop; Azattyk", "t", "https://news.google.com/a", "ru", None, via="GN; ru"),
        Source("Meduza;Riga", "t", "https://meduza.io/news/a", "ru", None),
    ]
    [_, row] = csv.reader(io.StringIO(to_csv([story()], {1: cited(reports)}).decode("utf-8-sig")))
    outlets, links = row[5].split("; "), row[6].split("; ")
    assert outlets == ["Kloop, Azattyk (via GN, ru)", "Meduza,Riga"]
    assert links == ["https://news.google.com/a", "https://meduza.io/news/a"]


@pytest.mark.parametrize(
    ("offset", "name", "day"),
    [
        (0, "transit-watch-search-UTC.csv", "2026-02-03"),
        (5, "transit-watch-search-UTC+5.csv", "2026-02-03"),
        (-3, "transit-watch-search-UTC-3.csv", "2026-02-02"),  # 3 Feb 00:00 UTC: the 2nd there
        (5.5, "transit-watch-search-UTC+5.5.csv", "2026-02-03"),
    ],
)
def test_csv_dates_are_the_chats_days_and_the_file_name_says_the_zone(
    offset: float, name: str, day: str
) -> None:
    """The dates agree with the search typed and the cards shown in the chat; the file is
    filed alone, so its name says which zone they are days of. The headers stay the fixed
    column names."""
    [head, row] = csv.reader(
        io.StringIO(to_csv([story()], {}, utc_offset=offset).decode("utf-8-sig"))
    )
    assert (head, row[0], file_name(offset)) == (list(COLUMNS), day, name)


def test_csv_leaves_the_date_of_an_undated_story_empty() -> None:
    """The date cell is what a lawyer cites as the publication day: a story its feed gave no
    date has none there, not the day the bot saw it. The columns stay as issue #6 fixed them."""
    undated = story(2, published_at=None, seen_at=WHEN)
    exported = to_csv([story(), undated], {}).decode("utf-8-sig")
    [head, dated, bare] = csv.reader(io.StringIO(exported))
    assert (head, dated[0], bare[0]) == (list(COLUMNS), "2026-02-03", "")


def test_people_are_one_per_name_key() -> None:
    found = people(["Казахстан выдал Бажукова", "Kazakhstan extradited Bazhukov; Ivan Petrov said"])
    assert found == ("Бажукова", "Ivan Petrov")
    assert people(["Погода в Алматы"]) == ()


def test_an_officials_surname_after_another_first_name_is_that_persons() -> None:
    texts = ["Узбекистан выдал России Шерзода Алиева", "Ильхам Алиев промолчал; Алиев заявил"]
    assert people(texts) == ("Шерзода Алиева",)
    assert people(["Ильхам Алиев промолчал"]) == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Активиста Смирнова задержали в Алматы.", ("Смирнова",)),
        ("Суд отказал. Дезертира Петрова выдали России.", ("Петрова",)),
        ("Kazakhstan Detains Activist Smirnov", ("Smirnov",)),
        ("Kazakhstan detains activist Ivan Smirnov", ("Ivan Smirnov",)),
        ("В Алматы задержали Ивана Петрова; Сергей Смирнов на свободе", ("Ивана Петрова",
                                                                        "Сергей Смирнов")),
    ],
)  # fmt: skip
def test_a_word_opening_a_sentence_or_a_title_case_headline_is_no_first_name(
    text: str, expected: tuple[str, ...]
) -> None:
    assert people([text]) == expected


def test_people_are_listed_whole_without_soft_hyphens_or_stress_marks() -> None:
    texts = ["Задержан Иван Зуй\u00adков", "Суд над Зуйко\u0301вым", "по делу Петро\u0301ва"]
    assert people(texts) == ("Иван Зуйков", "Петрова")
    # decomposed, as text stored before reading composed it: й as и + breve
    assert people(["Задержан Иван Зуи\u0306ков"]) == ("Иван Зуйков",)


def test_people_leave_out_officials_and_places_merging_ignores() -> None:
    text = "Лукашенко и Токаев обсудили выдачу Алексея Кузнецова; Москва настаивает"
    assert people([text]) == ("Алексея Кузнецова",)
    assert people(["Tokayev met Putin in Astana; Kovalenko was detained"]) == ("Kovalenko",)
    # Ukrainian case forms, a given name with і in it, -енко in its cases
    assert people(["Суд відмовив Олександрові Бондаренку"]) == ("Олександрові Бондаренку",)
    assert people(["Затримали Миколу Петренка; справа Мовлаєва"]) == ("Миколу Петренка", "Мовлаєва")
    assert people(["Разом із Бажуковим і Сидоренком"]) == ("Бажуковим", "Сидоренком")
    assert people(["В Ростове задержан Иван Петров; у Ростові затримали"]) == ("Иван Петров",)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # kept: a surname's case forms, -енко's among them, wherever they stand
        ("Суд відмовив Олександрові Бондаренку", ("Олександрові Бондаренку",)),
        # (a first word says nothing: Активіста Петренка, Миколу Петренка)
        ("Миколу Петренка затримали", ("Петренка",)),
        ("Суд відмовив Петренку; обшук у Бондаренка", ("Петренку", "Бондаренка")),
        ("Петренко затриманий; суд відмовив Петрові", ("Петренко", "Петрові")),
        ("Разом з Бажуковим, Сидоренком і Ковальчуком", ("Бажуковим", "Сидоренком", "Ковальчуком")),
        ("Суд вспомнил о Петрове", ("Петрове",)),
        # ... opening a headline or a sentence too
        ("Бондаренка видали Росії", ("Бондаренка",)),
        ("Суд відмовив. Бондаренку загрожують тортури", ("Бондаренку",)),
        ("У Львові затримали Миколу Петренка", ("Миколу Петренка",)),
        # dropped: a locative after в/у/на is a place, not a person
        ("Молдова видала Росії активіста: рішення суду в Кишиневі", ()),
        ("Затримали у Львові активіста; суд у Харкові, на Саратові", ()),
        ("Суд в Кишиневе; активист в Саратове", ()),
        ("Активіста затримали в Берліні", ()),
        # dropped: -ом after -ов/-ин is a city's or a noun's (a surname's is -им/-ым)
        ("Затримали під Львовом, за Пушкином", ()),
        # dropped: cities no surname carries, in any case
        ("Активіста з Харкова вислали з Кишинева", ()),
        # dropped: a Russian noun in -енка opening a sentence is no -енко's case
        ("Оценка правозащитников: Казахстан выдал активиста", ()),
        ("Суд закрыл дело. Ребенка активиста задержали", ()),
        ("«Коленка» — рассказ", ()),
        ("Котенка нашли", ()),
    ],
)
def test_people_are_surnames_not_cities_or_nouns(text: str, found: tuple[str, ...]) -> None:
    assert people([text]) == found


def test_results_and_the_case_timeline_name_a_story_without_a_title() -> None:
    untitled = story(7, "", summary="Georgia refused entry to a journalist. More follows.")
    texts = (results_page([untitled], "georgia", 0, 5), timeline([untitled], "x"))
    for text in (*texts, story_card(untitled, [])):
        rendered, entities = text.render()
        assert "Georgia refused entry to a journalist." in rendered
        assert all(e.length > 0 for e in entities or [])


@pytest.mark.parametrize(
    "link",
    ["http://localhost/news/1", "https://intranet/x", "http://e.org:0/a", "http://e{x}.org/a"],
)
def test_a_link_telegram_refuses_is_shown_as_text_in_every_reply(link: str) -> None:
    # Telegram answers 400 to a whole message with one such text link: /search, /story and
    # /case would get no reply at all.
    refused = story(1, link=link)
    sources = [
        Source("Kloop", "t", link, None, WHEN),
        Source("OVD", "t", "https://e.org/2", None, WHEN),
    ]
    for text in (
        results_page([refused, story(2)], "bazhukov", 0, 5),
        story_card(refused, sources),
        timeline([refused, story(2)], "bazhukov"),
    ):
        links = [e.url for e in text.render()[1] or [] if e.type == "text_link"]
        assert link not in links
        assert "https://e.org/2" in links  # the other links stay
    card, _ = story_card(refused, sources).render()
    assert link in card  # the address a lawyer cites is still there, as text


def test_csv_names_a_story_without_a_title_by_its_headline() -> None:
    # As every card and list does: the file a lawyer files has no empty headline.
    untitled = story(7, "", summary="Kazakhstan extradited Bazhukov to Russia. His lawyer appeals.")
    [_, row] = csv.reader(io.StringIO(to_csv([untitled], {}).decode("utf-8-sig")))
    assert row[4] == "Kazakhstan extradited Bazhukov to Russia."
    assert row[4] == untitled.headline


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        # reserved characters escaped in a path or a query are another address decoded
        ("https://court.example.org/a%3Fb=1%26c%23d", "https://court.example.org/a%3Fb=1%26c%23d"),
        ("https://e.org/docs%2F2025/x%25y", "https://e.org/docs%2F2025/x%25y"),
        ("https://e.org/q?name=a%20b%2Bc", "https://e.org/q?name=a%20b%2Bc"),
        # non-ASCII UTF-8 is shown as its letters, the escapes around it kept
        (
            "https://e.org/%D1%81%D1%83%D0%B4%3F?q=%D0%B1%26x",
            "https://e.org/суд%3F?q=б%26x",
        ),
        ("https://e.org/%e2%80%94", "https://e.org/—"),
        # what must not be shown keeps the whole link escaped
        ("https://e.org/a%E2%80%AEgpj.exe", "https://e.org/a%E2%80%AEgpj.exe"),
        ("https://e.org/a%C2%A0b", "https://e.org/a%C2%A0b"),  # a no-break space
        ("https://e.org/%D1%81%FF", "https://e.org/%D1%81%FF"),  # a broken byte
        ("https://e.org/a%C0%AFb", "https://e.org/a%C0%AFb"),  # "/" written overlong
    ],
)
def test_a_sources_link_text_is_the_same_address_as_its_link(link: str, shown: str) -> None:
    # /story shows each source's link readable, for a lawyer to cite: decoding %3F, %23, %26
    # or %2F turned it into another address than the link (a/b=1 queried, not a?b=1).
    text, entities = story_card(story(), [Source("Outlet", "Decision", link, None, WHEN)]).render()
    [text_link] = [e for e in entities if e.type == "text_link" and e.url == link]
    units = text.encode("utf-16-le")[
        2 * text_link.offset : 2 * (text_link.offset + text_link.length)
    ]
    assert units.decode("utf-16-le") == shown
