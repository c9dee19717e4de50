"""Pure merging parts: people's keys, MinHash fingerprints and the merge rules (table-driven)."""

from __future__ import annotations

import pytest

from bot.fingerprint import BANDS, BINS, Fingerprinter, bands, minhash, similarity, unpack
from bot.given_names import DATIVE_FIRST_NAMES
from bot.merge import DAY, Candidate, Features, choose, countries_meet
from bot.names import name_key
from bot.people import is_surname_key, named_people, person_keys, surnames

RU = (
    "Казахстан выдал России дезертира Семёна Бажукова",
    "Власти Казахстана передали российским военным дезертира Семёна Бажукова, который просил "
    "убежища. Правозащитники называют выдачу нарушением международного права.",
)


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        (*RU, {"bashukov", "semena"}),
        (
            "Kazakhstan Hands Over Russian Army Deserter Bazhukov To Moscow",
            "On Monday Kazakh police handed him over, Human Rights Watch said.",
            {"bashukov"},
        ),
        ("В Ереване задержан активист", "Об этом сообщили в МВД Армении в понедельник.", set()),
        (
            "Police detain activist",
            "Police in Bishkek detained Alexei Rybakov. Earlier Kyrgyzstan deported Timur Saidov. "
            "Third sentence. Kasimov was extradited in 2024.",
            {"aleksei", "ribakov", "timur", "saidov"},
        ),
        # an official's first name and patronymic go with the official (rule 5), on either
        # side, but a surname right after the official is someone else's, and so is the
        # first name right before that surname
        (
            "Казахстан выдает России критиков режима Путина",
            "Власти выдают граждан за критику режима Владимира Путина.",
            set(),
        ),
        (
            "В Алматы экстрадирован активист Тимур Жаксыбеков",
            "Генпрокуратура выдала России критика Владимира Путина Тимура Жаксыбекова.",
            {"timura", "shaksibekov"},
        ),
        ("Указ подписал Путин Владимир Владимирович", "Дело Бажукова.", {"bashukov"}),
        ("Указ подписал Путин Владимир", "Рядом стоял Александр Лукашенко.", set()),
        ("Critics of Vladimir Putin's war", "Kassym-Jomart Tokayev signed it on Monday.", set()),
        ("Встреча Владимира Владимировича Путина", "Дело Бажукова.", {"bashukov"}),
        # Ukrainian case forms and an English possessive give the Russian nominative's key
        ("Казахстан видав Росії дезертира", "Силовики разом із Бажуковим вилетіли.", {"bashukov"}),
        ("Kazakhstan Rejects Bazhukov's Asylum Claim", "", {"bashukov"}),
        (
            "Kazakhstan hands a deserter over",
            "Lawyers say Bazhukov's claim was ignored.",
            {"bashukov"},
        ),
        ("Заявление сделал Владимир Владимирович Путин", "Дело Бажукова.", {"bashukov"}),
        # a short headline, most of whose words are names, takes only surname-like words
        # (rule 2), in any case (its first names are paired with them: see below)
        ("Казахстан видав Росії Петра Ковальчука", "", {"kovalchuk"}),
        ("Суд відмовив Олександру Бондаренку", "", {"bondarenko"}),
        ("Арест Давида Саргсяна в Ереване", "", {"sargsian"}),
        # ... but a given name that ends like an Armenian -ян surname is none (Тетяна, Дем'ян)
        ("Казахстан видав Росії Тетяну Бондаренко", "", {"bondarenko"}),
        ("Казахстан видав Росії Дем'яна Петренка", "", {"petrenko"}),
        ("Суд: Лук'яна Петренка видадуть", "", {"petrenko"}),
        # a Ukrainian first name in the dative before a surname (rule 8); a surname's own
        # dative in -ові stays one
        ("Новини", "Активісту Дмитрові Петрову загрожує екстрадиція.", {"dmitr", "petrov"}),
        ("Новини", "Суд відмовив активісту Миколаєві Бондаренку.", {"mikola", "bondarenko"}),
        ("Новини", "Справа проти активіста. Суд відмовив Бажукові.", {"bashukov"}),
        # ... not a surname's, nor across a comma; the official order, surname first
        (
            "Новини",
            "Суд відмовив в екстрадиції Бажукові, Петрову та Сидоренку.",
            {"bashukov", "petrov", "sidorenko"},
        ),
        ("Новини", "Суд вирішив видати Росії Бажукові Семенові.", {"bashukov", "semen"}),
        ("Новини", "Суд відмовив в екстрадиції Петрові Семенові.", {"petr", "semenov"}),
        # ... and a dative no list holds is a first name before a surname, as before
        ("Новини", "Суд дозволив видати Єгорові Петренку.", {"egor", "petrenko"}),
        ("Новини", "Суд дозволив видати Рашидові Петренку.", {"rashid", "petrenko"}),
        ("Новини", "Суд дозволив видати Орестові Петренку.", {"orest", "petrenko"}),
        # Kazakh case forms that Russian spells too, read as such in a Kazakh text, and a
        # Kazakh case form of a surname in a headline of mostly names
        (
            "Қазақстан Ресейге дезертир Никита Журавлевті экстрадициялады",
            "Қазақстан билігі Журавлевке қатысты шешімді орындады.",
            {"shuravlev"},
        ),
        ("Қазақстан Юлия Емельянованы Ресейге экстрадициялады", "", {"emelianov"}),
        # ... but not in a Russian one: в Ивановке is a village
        ("Задержание в селе", "Полиция задержала мужчину в Ивановке.", {"ivanovke"}),
        # an official's surname after another first name is that person's (rule 4), after
        # the official's own first name or alone it is the official's
        ("Задержан активист", "Узбекистан выдал России Шерзода Алиева.", {"sherzoda", "aliev"}),
        ("Tajik activist detained", "Kazakhstan detained Bahrom Rahmonov.", {"bahrom", "rahmonov"}),
        ("Задержан блогер", "В Стамбуле задержан блогер Ислам Кадыров.", {"islam", "kadirov"}),
        ("Задержан активист", "В Бишкеке задержан Азамат Жапаров.", {"azamat", "shaparov"}),
        ("Заявление", "Президент Ильхам Алиев заявил об этом.", set()),
        ("Заявление", "Об этом заявил Алиев.", set()),
        (
            "Критик Кадырова задержан",
            "Критика Рамзана Кадырова Ислама Кадырова задержали.",
            {"islama", "kadirov"},
        ),
        (
            "Задержан",
            "В аэропорту имени Гейдара Алиева задержали Шерзода Рахимовича Алиева.",
            {"sherzoda", "rahimovich", "aliev"},
        ),
        # a soft hyphen (a CMS hyphenating), a zero-width character or a stress mark inside
        # a name leaves it one word; an apostrophe stays a name's own or a possessive
        ("Задержан активист", "В Алматы задержали Зуй\u00adкова.", {"zuikov"}),
        ("Задержан активист", "В Алматы задержали Зуйко\u0301ва.", {"zuikov"}),
        ("Задержан активист", "В Алматы задержали Зуйко\u0300ва.", {"zuikov"}),
        ("Задержан активист", "В Алматы задержали Зуй\u200bкова.", {"zuikov"}),
        ("Kazakhstan Rejects Bazhu\u00adkov's Asylum Claim", "", {"bashukov"}),
        ("Казахстан видав Росії Дем'яна Петрен\u00adка", "", {"petrenko"}),
    ],
)
def test_person_keys(title: str, summary: str, expected: set[str]) -> None:
    assert person_keys(title, summary) == expected


@pytest.mark.parametrize(
    ("title", "first_names"),
    [
        # a headline of mostly names keys only its surnames, but pairs their first names
        # (rule 2): else two namesakes named in headlines alone were one story
        ("Казахстан выдал России дезертира Дмитрия Смирнова", {"smirnov:dmtr"}),
        ("Казахстан видав Росії Петра Ковальчука", {"kovalchuk:ptr"}),
        ("Kazakhstan extradites Russian deserter Dmitry Smirnov", {"smirnov:dmtr"}),
        # ... a Latin Title Case one pairs nothing: its capitals say nothing
        ("Kazakhstan Extradites Russian Deserter Dmitry Smirnov", set()),
        # and there an official's surname stays the official's (Putin Critic)
        ("Kazakhstan Detains Putin Critic Ivan Petrov At Moscow's Request", set()),
    ],
)
def test_headlines_pair_first_names_unless_title_case(title: str, first_names: set[str]) -> None:
    found = named_people(title, "")
    assert found.first_names == first_names
    assert "putin" not in found.keys


def test_rule_8_reads_each_of_its_first_names_before_a_surname() -> None:
    misread = []
    for dative in sorted(DATIVE_FIRST_NAMES):
        people = named_people("Новини", f"Суд відмовив {dative.capitalize()} Петренку.")
        if surnames(people.keys) != {"petrenko"} or not people.first_names:
            misread.append((dative, people))
    assert misread == []


def test_surname_keys() -> None:
    assert all(map(is_surname_key, ["bashukov", "kovalenko", "setrakov", "nikitin"]))
    # given names that end like a surname: Тетяна, Тетяну; Дем'ян, Демьян; Лук'ян
    given = ["semena", "aleksei", "timur", "tetian", "demian", "lukian", "marian", "omelian"]
    assert not any(map(is_surname_key, given))


@pytest.mark.parametrize(
    "name",
    [
        # -ян as Armenian surnames (Саргсян), -ин/-ина as Russian ones (Ильин, Ильина)
        "Тетяна", "Тетяну", "Дем'ян", "Демьяна", "Мар'яна", "Ирина", "Ірину", "Марина",
        "Галины", "Екатерину", "Катерина", "Кристина", "Христину", "Алина", "Полину",
        "Валентина", "Константин", "Костянтина", "Вениамин", "Нуриддин",
        # -ов, -ко; a genitive or instrumental in -ани, as Georgian surnames (Чиковани)
        "Якова", "Марко", "Анны", "Анной", "Ганни", "Светланы", "Світлани", "Татьяны",
        "Тетяни", "Оксаны", "Оксані", "Дианы", "Жанны",
    ],
)  # fmt: skip
def test_a_given_name_is_no_surname_key(name: str) -> None:
    key = name_key(name)
    assert key is not None
    assert not is_surname_key(key)


def test_fingerprint_finds_republished_text_and_not_rewrites() -> None:
    fp = Fingerprinter()
    original = fp.fingerprint(*RU, "ru")
    copy = fp.fingerprint(RU[0] + " (обновлено)", RU[1] + " Источник: ОВД-Инфо.", "ru")
    other = fp.fingerprint(
        "Казахстан экстрадировал в Россию дезертира Никиту Журавлёва",
        "Генпрокуратура Казахстана выдала России военнослужащего Никиту Журавлёва.",
        "ru",
    )
    assert len(original.signature) == BINS
    assert similarity(original.signature, copy.signature) >= 0.5
    assert set(original.bands) & set(copy.bands)
    assert similarity(original.signature, other.signature) < 0.5
    assert unpack(original.pack()) == original.signature


def test_minhash_estimates_jaccard() -> None:
    a = {f"w{i}" for i in range(200)}
    b = {f"w{i}" for i in range(100, 300)}  # Jaccard 1/3
    assert abs(similarity(minhash(a), minhash(b)) - 1 / 3) < 0.2
    assert similarity(minhash(a), minhash(a)) == 1.0
    assert minhash([]) == () == bands(())
    assert len(bands(minhash(a))) == BANDS


# Stored signatures and bands are compared with ones computed by later versions of this code,
# so these values must never change (a sparse set: most bins are filled by densification).
FOUR = {"казахстан выдал", "выдал россия", "россия дезертир", "extradite kazakhstan"}
FOUR_SIGNATURE = (
    3345842574, 691406813, 2331938348, 3972469883, 1318034122, 2958565657, 304129896, 4175353963,
    1520918202, 3161449737, 1281524907, 2922056442, 267620681, 1908152216, 3548683751, 894247990,
    2534779525, 4175311060, 2973414384, 318978623, 1959510158, 2479864873, 4120396408, 1465960647,
    3106492182, 452056421, 2092587956, 3733119491, 1078683730, 2719215265, 64779504, 1705311039,
)  # fmt: skip
FOUR_BANDS = (
    7912822210223952611, 5037524258712436442, 99301061272490569, 434809758543381964,
    4484855480438477023, 5091681505877556244, 2035585552810891131, 5871756960122213062,
    2497159125822069181, 554296331015174554, 7018376640090750085, 7362243929807997824,
    3235217312826787815, 1717224584769237686, 2185051350219347629, 9220696220394161604,
)  # fmt: skip


def test_signatures_and_bands_are_stable() -> None:
    assert minhash(FOUR) == FOUR_SIGNATURE
    assert bands(FOUR_SIGNATURE) == FOUR_BANDS
    dense = minhash({f"w{i}" for i in range(200)})
    assert dense[:4] == (454531868, 85337580, 361349837, 184417069)
    assert bands(dense)[:2] == (989344934791815072, 5841534960411829041)


T = 1_000_000.0
SIG = minhash({f"s{i}" for i in range(40)})
OTHER_SIG = minhash({f"o{i}" for i in range(40)})


def feat(
    names: set[str],
    action: str | None = "extradition",
    countries: set[str] | None = None,
    at: float = T,
) -> Features:
    return Features(at, frozenset(names), frozenset(countries or {"KZ", "RU"}), action)


@pytest.mark.parametrize(
    ("report", "signature", "story", "story_sig", "merged"),
    [
        # same people, action and transit country, another language: merged
        (feat({"bashukov", "semion"}), OTHER_SIG, feat({"bashukov", "semena"}), SIG, True),
        # two different people, same country, action and day: two stories
        (feat({"shuravlev", "nikita"}), OTHER_SIG, feat({"bashukov", "semena"}), SIG, False),
        # same person, a later development (detention, then extradition): two stories
        (feat({"movlaev"}, "detention"), OTHER_SIG, feat({"movlaev"}), SIG, False),
        # same person and action, but in another transit country: two stories
        (feat({"movlaev"}, countries={"AM", "RU"}), OTHER_SIG, feat({"movlaev"}), SIG, False),
        # same person and action, five days apart: beyond the entity window
        (feat({"movlaev"}, at=T + 5 * DAY), OTHER_SIG, feat({"movlaev"}), SIG, False),
        # no action on the report: names alone never merge
        (feat({"movlaev"}, None), OTHER_SIG, feat({"movlaev"}), SIG, False),
        # a re-publication (same text), even without names or action: merged
        (feat(set(), None), SIG, feat({"movlaev"}), SIG, True),
        # the same text re-used for another person: two stories
        (feat({"shuravlev"}), SIG, feat({"bashukov"}), SIG, False),
        # same text, but eight days later: beyond the window
        (feat(set(), at=T + 8 * DAY), SIG, feat(set()), SIG, False),
        # only a first name is shared and one side names a surname: two people
        (feat({"vladimira"}), OTHER_SIG, feat({"shaksibekov", "timura", "vladimira"}), SIG, False),
        (feat({"timur", "shaksibekov"}), OTHER_SIG, feat({"timur"}), SIG, False),
        # neither side names a surname: half the names shared is enough
        (feat({"timur", "aibek"}), OTHER_SIG, feat({"timur"}), SIG, True),
        # the same template about two people who share only a first name: two stories
        (feat({"aleksandra", "ivanov"}), SIG, feat({"aleksandra", "petrov"}), SIG, False),
        # a copy citing its source names no surname (the outlet's): the text decides
        (feat({"ovdinfo"}), SIG, feat({"bashukov", "semena"}), SIG, True),
        # a channel's post on the same person's next event, with the same footer: two stories
        (feat({"bashukov"}, "detention"), SIG, feat({"bashukov"}), SIG, False),
        # the same text without an action on one side: merged
        (feat({"bashukov"}, None), SIG, feat({"bashukov"}), SIG, True),
        # one handover, called a deportation by one outlet and an extradition by another
        (feat({"kachkurkin"}, "deportation"), OTHER_SIG, feat({"kachkurkin"}), SIG, True),
        (feat({"kachkurkin"}, "deportation"), SIG, feat({"kachkurkin"}), SIG, True),
        # an abduction is not a handover: the handover that follows it is news
        (feat({"kachkurkin"}, "abduction"), OTHER_SIG, feat({"kachkurkin"}), SIG, False),
    ],
)
def test_merge_rules(
    report: Features,
    signature: tuple[int, ...],
    story: Features,
    story_sig: tuple[int, ...],
    merged: bool,
) -> None:
    match = choose(report, signature, [Candidate(7, story, (story_sig,))])
    assert (match is not None) is merged


def test_best_candidate_shares_most_names() -> None:
    report = feat({"bashukov", "semena"})
    weak = Candidate(1, feat({"bashukov", "aleksei"}), (OTHER_SIG,))
    strong = Candidate(2, feat({"bashukov", "semena"}), (OTHER_SIG,))
    match = choose(report, SIG, [weak, strong])
    assert match is not None
    assert (match.story_id, match.reason) == (2, "entity")


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [({"KZ", "RU"}, {"KZ"}, True), ({"KZ", "RU"}, {"KG", "RU"}, False), ({"RU"}, {"AM"}, True)],
)
def test_transit_countries(a: set[str], b: set[str], meet: bool) -> None:
    assert countries_meet(frozenset(a), frozenset(b)) is meet
