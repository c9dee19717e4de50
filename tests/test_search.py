"""The query language, pure: each form, each filter, bad input, and that any text is safe."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.country_codes import known_country_codes
from bot.errors import QueryError
from bot.i18n import Catalogs
from bot.search import HOW_TO_SEARCH, MAX_TERMS, QueryBuilder
from bot.search.query import NEGATED_FILTER, ONLY_EXCLUSIONS

NOW = datetime(2026, 2, 3, tzinfo=UTC).timestamp()
CATALOGS = Catalogs.load()


@pytest.fixture(scope="module")
def builder() -> QueryBuilder:
    return QueryBuilder(known_country_codes())


def day(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("Бажуков экстрадиция", "words", ("бажуков", "экстрадиция")),
        ("ЁЛКИН Ёлкин", "words", ("елкин",)),
        ('"отказал в экстрадиции"', "phrases", (("отказал", "в", "экстрадиции"),)),
        ('"unterminated phrase', "phrases", (("unterminated", "phrase"),)),
        ("OVD-Info", "words", ("ovd", "info")),
        ("Абдул-Азиз", "words", ("абдул", "азиз")),
        ("-OVD-Info Бажуков", "excluded", (("ovd", "info"),)),
        ("Бажуков -Армения", "excluded", (("армения",),)),
        ('Бажуков -"Ереван суд"', "excluded", (("ереван", "суд"),)),
        ("country:kz", "countries", ("KZ",)),
        ("country:KZ,kg", "countries", ("KZ", "KG")),
        ("country:Казахстан", "countries", ("KZ",)),
        ("country:Киргизии", "countries", ("KG",)),
        ("country:Kyrgyzstan country:kz", "countries", ("KG", "KZ")),
        ("action:extradition", "actions", ("extradition",)),
        ("action:экстрадиция", "actions", ("extradition",)),
        ("action:deported", "actions", ("deportation",)),
        ("action:wanted-list", "actions", ("wanted-list",)),
        ("from:meduza", "outlets", (("meduza",),)),
        ('from:"OVD Info"', "outlets", (("ovd", "info"),)),
        # a comma list is either outlet, as country:kz,kg is either country
        ("from:meduza,kloop", "outlets", (("meduza",), ("kloop",))),
        ('from:"ovd info,meduza"', "outlets", (("ovd", "info"), ("meduza",))),
        ("from:meduza,,x,kloop", "outlets", (("meduza",), ("kloop",))),
        (
            "from:aa,bb,cc from:dd,ee,ff,gg",
            "outlets",
            tuple((w,) for w in ["aa", "bb", "cc", "dd", "ee"]),
        ),
        ("since:2025-03-01", "since", day("2025-03-01")),
        ("since:2025-03", "since", day("2025-03-01")),
        ("until:2025-03-01", "until", day("2025-03-01T23:59:59")),
        ("until:2025-02", "until", day("2025-02-28T23:59:59")),
        ("until:2024", "until", day("2024-12-31T23:59:59")),
        ("(Бажуков)^ OR * NEAR", "words", ("бажуков", "or", "near")),
        ("'; DROP TABLE stories; --", "words", ("drop", "table", "stories")),
        ("https://example.org/a", "words", ("https", "example", "org")),
        ("a b Бажуков", "words", ("бажуков",)),
        # a phone's typographic quotes, and Russian guillemets, are quotes
        ("«отказал в убежище»", "phrases", (("отказал", "в", "убежище"),)),
        ("Бажуков -“lawyers will”", "excluded", (("lawyers", "will"),)),
        ("Бажуков -“lawyers will”", "words", ("бажуков",)),
        ("„Ереван суд“", "phrases", (("ереван", "суд"),)),
        # a list typed with spaces after its commas
        ("country:kz, kg Бажуков", "countries", ("KZ", "KG")),
        ("country:kz, kg,  uz Бажуков", "words", ("бажуков",)),
        ('country:"Южная Корея"', "countries", ("KR",)),
        ('country:"Czech Republic"', "countries", ("CZ",)),
        ('"since 2022" Бажуков', "phrases", (("since", "2022"),)),  # quoted: the words
        ("Бажуков, Касымов", "words", ("бажуков", "касымов")),
        # ... but only countries join it: a name after a comma is still the name
        ("country:kz, Бажуков", "words", ("бажуков",)),
        ("country:kz, Бажуков", "countries", ("KZ",)),
        ("action:extradition, Бажуков", "words", ("бажуков",)),
        ("from:meduza, Бажуков", "outlets", (("meduza",),)),
        ("from:meduza, Бажуков", "words", ("бажуков",)),
        # the everyday words for the actions, in Russian and Ukrainian
        ("action:выдача", "actions", ("extradition",)),
        ("action:видача", "actions", ("extradition",)),
        ("action:арешт", "actions", ("detention",)),
        ("action:притулок", "actions", ("asylum",)),
    ],
)
def test_query_forms(builder: QueryBuilder, text: str, field: str, expected: object) -> None:
    assert getattr(builder.parse(text), field) == expected


@pytest.mark.parametrize("text", ["https://e.org/x Бажуков", "note:Бажуков", "title:Бажуков"])
def test_a_word_before_a_colon_that_is_no_filter_is_text(builder: QueryBuilder, text: str) -> None:
    assert builder.parse(text).has_text  # no error: only a near-miss of a filter name is one


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", HOW_TO_SEARCH),
        ("   ", HOW_TO_SEARCH),
        ('"*"', HOW_TO_SEARCH),
        ("🙂🙂 ^ () :", HOW_TO_SEARCH),
        ("-Армения", ONLY_EXCLUSIONS),
        ("-country:kz Бажуков", NEGATED_FILTER),
        ("country:narnia", "Unknown country “narnia”"),
        ("country:", "country: needs a value"),
        ("COUNTRY:'", "Unknown country “'”"),  # folds to nothing (found by hypothesis)
        ("action:weather", "Unknown action “weather”"),
        ("since:2025-13-01", "Cannot read the date “2025-13-01”"),
        ("since:yesterday", "Cannot read the date"),
        ("since:2025-03 until:2025-01", "since: is after until:"),
        ("from:🙂", "from: needs an outlet"),
        ("from:,", "from: needs an outlet"),
        # years the date tags cannot tell apart gave an empty `tags : ()`, an FTS5 error
        ("until:1990", "Dates run from 1995 to 2100; “1990” is outside"),
        ("Бажуков until:1994-12", "Dates run from 1995 to 2100; “1994-12” is outside"),
        ("since:2101", "Dates run from 1995 to 2100; “2101” is outside"),
        ("since:2200-01-01", "Dates run from 1995 to 2100"),
        # a month or day of 0 read as "not given"
        ("until:2026-00-15", "Cannot read the date “2026-00-15”"),
        ("since:2026-02-00", "Cannot read the date “2026-02-00”"),
        ("since:2026-0", "Cannot read the date “2026-0”"),
        # a misspelt filter searched for its own words and found nothing, silently
        ("Бажуков contry:kz", "There is no filter “contry:”. Did you mean country:?"),
        ("Бажуков untill:2025", "There is no filter “untill:”. Did you mean until:?"),
        ("Бажуков frm:meduza", "There is no filter “frm:”. Did you mean from:?"),
        # a date filter without its colon was searched as the words "since 2025 03": nothing
        ("Бажуков since 2025-03", "Write since:2025-03, with the colon"),
        ("until 2024 Мовлаев", "Write until:2024, with the colon"),
        # CLDR's regions and pseudo-locales are no countries: they matched nothing, silently
        ("country:eu", "Unknown country “eu”"),
        ("country:un", "Unknown country “un”"),
        ("country:zz", "Unknown country “zz”"),
        ("country:xa", "Unknown country “xa”"),
        # a space after the colon left an empty value: "Cannot read the date “”"
        ("Мовлаев since: 2025-03", "Write the value right after “since:”, with no space"),
        ("Мовлаев action: extradition", "Write the value right after “action:”, with no space"),
    ],
)
def test_bad_input_is_one_friendly_line(builder: QueryBuilder, text: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        builder.build(text, now=NOW)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)
    # The bot translates the msgid and fills in the same values (tests/test_i18n.py checks
    # that every msgid is in every catalog).
    assert str(info.value) == info.value.message.format(**info.value.values)
    assert CATALOGS.tr("ru")(info.value.message, **info.value.values) != str(info.value)


def test_long_input_is_bounded(builder: QueryBuilder) -> None:
    query = builder.parse(" ".join(f"word{i}" for i in range(2000)) + " " + "x" * 5000)
    assert len(query.words) == MAX_TERMS


@pytest.mark.parametrize(
    ("tail", "field", "expected"),
    [
        ("country:am", "countries", ("AM",)),
        ("action:deportation", "actions", ("deportation",)),
        ("from:meduza", "outlets", (("meduza",),)),
        ("country:kz country:kg", "countries", ("KZ", "KG")),
    ],
)
def test_filters_after_the_last_counted_word_still_apply(
    builder: QueryBuilder, tail: str, field: str, expected: tuple[object, ...]
) -> None:
    words = " ".join(f"word{i}" for i in range(MAX_TERMS + 1))
    query = builder.parse(f"{words} {tail}")
    assert len(query.words) == MAX_TERMS
    assert getattr(query, field) == expected


@pytest.mark.parametrize(
    "text",
    [
        'Бажуков "отказал в экстрадиции" -Армения country:kz,kg action:extradition '
        'from:"ovd info" since:2025-03-01 until:2025-06-30',
        "country:kg since:2025-03",
        "Movlaev -Ереван",
        "from:meduza,ovd-info,kloop Бажуков",
    ],
)
def test_canonical_text_parses_back_to_the_same_query(builder: QueryBuilder, text: str) -> None:
    query = builder.parse(text)
    assert builder.parse(query.canonical()) == query
    assert builder.build(query.canonical(), now=NOW).match == builder.build(text, now=NOW).match


_PIECES = (
    "held", "Бажуков", "since", "until", "2025", "2025-03", "03", "since:2025", "until:2024-06",
    "country:kz", "kg", "country:", "action:extradition", "action:", "from:meduza", "from:",
    "from:meduza,kloop", "from:,", "from:x,ovd",
    '"', "«", "»", "(", ")", ",", "-", "—", "contry:kz", "x", ":", "since:", "ovd-info",
)  # fmt: skip


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(("", " ", ", ")))))
@example([("(", ""), ("since:2025", "")])  # "(since:2025": words, not a filter
@example([("held", " "), ("since", ", "), ("2025", "")])
def test_any_accepted_query_parses_back_from_its_canonical_text(
    builder: QueryBuilder, pieces: list[tuple[str, str]]
) -> None:
    """The canonical text is shown to the user and read back by the Next button: whatever was
    accepted must parse back to the same query (a search typed "(since 2025)" did not)."""
    text = "".join(piece + gap for piece, gap in pieces)
    try:
        query = builder.parse(text)
    except QueryError:
        return
    assert builder.parse(query.canonical()) == query, (text, query.canonical())


def test_words_naming_a_country_or_action_also_match_its_tags(builder: QueryBuilder) -> None:
    match = builder.build("Kyrgyzstan extradited", now=NOW).match
    assert 'tags : ("ckg")' in match
    assert 'tags : ("aextradition")' in match
    assert '"extradit"' in match  # the English stem
    assert '"ckg"' in builder.build("Киргизии", now=NOW).match
    assert '"ckz"' in builder.build("Казахстана", now=NOW).match
    assert "tags" not in builder.build("груши", now=NOW).match


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("Казахстане", "KZ"), ("Казахстану", "KZ"), ("Казахстані", "KZ"), ("Грузії", "GE"),
        ("Польщі", "PL"), ("Вірменії", "AM"), ("Туреччині", "TR"), ("Узбекистаном", "UZ"),
        ("Киргизії", "KG"),
        # words whose lemma is no country's name stay words
        ("суде", None), ("Москве", None), ("груши", None), ("чаду", None),
    ],
)  # fmt: skip
def test_country_names_in_any_case(builder: QueryBuilder, word: str, code: str | None) -> None:
    match = builder.build(f"экстрадиция {word}", now=NOW).match
    if code is None:
        assert match.count("tags") == 1  # экстрадиция's action tag only
        return
    assert builder.parse(f"country:{word}").countries == (code,)
    assert f'"c{code.lower()}"' in match


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Turkey", "TR"), ("Türkiye", "TR"), ("UAE", "AE"), ("Emirates", "AE"), ("ОАЕ", "AE"),
        ("USA", "US"), ("Britain", "GB"), ("Kirgizstan", "KG"), ("Қазақстан", "KZ"),
        ("Georgia", "GE"), ("Serbia", "RS"), ("Thailand", "TH"), ("Armenia", "AM"),
        # everyday names CLDR does not use
        ("США", "US"), ("Англия", "GB"), ("Англии", "GB"), ("Британия", "GB"),
        ("Голландия", "NL"), ("Голландии", "NL"),
    ],
)  # fmt: skip
def test_the_names_outlets_use_for_transit_countries(
    builder: QueryBuilder, name: str, code: str
) -> None:
    assert builder.parse(f"country:{name}").countries == (code,)
    assert f'"c{code.lower()}"' in builder.build(f"{name} extradition", now=NOW).match


@pytest.mark.parametrize("surname", ["Германов", "Китаев", "Чехов", "Арестович"])
def test_a_surname_is_not_taken_for_a_country_or_an_action(
    builder: QueryBuilder, surname: str
) -> None:
    """Their stems are Германия's, Китай's..., and Арестович begins like арест: a lawyer
    looking for the person must not get every story of the country or the action."""
    assert "tags" not in builder.build(surname, now=NOW).match


def test_date_filters_become_year_and_month_tags(builder: QueryBuilder) -> None:
    match = builder.build("since:2024-11-15 until:2026-01", now=NOW).match
    assert '"m202411" OR "m202412" OR "y2025" OR "m202601"' in match


@pytest.mark.parametrize(
    ("text", "offset", "field", "expected"),
    [
        ("since:2026-02-04", 0, "since", day("2026-02-04")),
        # Almaty (UTC+5): its 4 Feb runs from 19:00 UTC on the 3rd to 18:59:59 UTC on the 4th
        ("since:2026-02-04", 5, "since", day("2026-02-03T19:00:00")),
        ("until:2026-02-04", 5, "until", day("2026-02-04T18:59:59")),
        # west of UTC a month and a year end hours into the next one in UTC
        ("until:2026-02", -3, "until", day("2026-03-01T02:59:59")),
        ("since:2026", -3, "since", day("2026-01-01T03:00:00")),
        ("until:2025", 14, "until", day("2025-12-31T09:59:59")),
    ],
)
def test_date_filters_read_days_in_the_chats_zone(
    builder: QueryBuilder, text: str, offset: int, field: str, expected: float
) -> None:
    """The results show each story's day in the chat's zone, so the days asked for are that
    zone's days too: otherwise until:2026-02-04 in UTC+5 lists a story shown as 5 Feb."""
    assert getattr(builder.parse(text, utc_offset=offset), field) == expected


@pytest.mark.parametrize("offset", [-12, -3, 0, 5, 14])
def test_canonical_dates_are_the_days_typed_in_the_chats_zone(
    builder: QueryBuilder, offset: int
) -> None:
    """The Next button reads the canonical text back in the same chat: it must name the days
    typed, not the UTC days their bounds fall on."""
    query = builder.parse("Movlaev since:2026-02-04 until:2026-03", utc_offset=offset)
    assert query.canonical() == "movlaev since:2026-02-04 until:2026-03-31"
    assert builder.parse(query.canonical(), utc_offset=offset) == query


def test_a_zoned_day_matches_the_month_tags_of_its_utc_hours(builder: QueryBuilder) -> None:
    """1 Feb in UTC+5 starts at 19:00 UTC on 31 Jan: a story of that evening is tagged
    m202601 (tags are UTC months) and must still be found by since:2026-02-01."""
    match = builder.build("since:2026-02-01 until:2026-02-01", now=NOW, utc_offset=5).match
    assert '"m202601" OR "m202602"' in match
