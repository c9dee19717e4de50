"""Names as this domain's news writes them, read for merging (`bot.people`, `bot.stop_names`)
and the CSV (`bot.search.people`): Kazakh and Kyrgyz country genitives, sentence-case
headlines, first names that are also stop words, surnames made of a place's stem. Each report
pair goes through the real classifier first, so only the names decide the merge."""

from __future__ import annotations

import pytest

from bot.people import named_people
from bot.relevance import Classifier
from bot.search.people import people
from bot.storage import Storage
from tests.conftest import NOW, add_feeds
from tests.test_merge_namesakes import DAY, Report, alerts, classified


async def _save_all(
    storage: Storage, classifier: Classifier, reports: list[Report], *, one_action: bool = True
) -> int:
    """Saves each report from its own outlet an hour apart; returns the number of stories.
    `one_action`: all of one kind of event, so that only the names decide."""
    feeds = await add_feeds(storage, *[f"Outlet{n}" for n in range(len(reports))])
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    actions = set()
    for n, (feed, report) in enumerate(zip(feeds, reports, strict=True)):
        at = NOW + n * 3600
        item = classified(classifier, report, f"https://o{n}.example/{n}", at)
        assert item.verdict.relevant, report
        actions.add(item.verdict.action)
        await storage.stories.save(feed, [item], now=at, alert_max_age=2 * DAY)
    assert len(actions) == 1 or not one_action, actions
    return len(await storage.stories.recent(10))


# Kazakh/Kyrgyz genitives of country names (Орусиянын "Russia's", Қазақстанның ...) end in
# -ин/-ын: read as a surname that every report of that language shares.
@pytest.mark.parametrize(
    "word", ["Орусиянын", "Қазақстанның", "Казакстандын", "Өзбекстанның", "Тәжікстанның",
             "Түркияның", "Әзірбайжанның"],
)  # fmt: skip
def test_country_genitive_is_no_surname(word: str) -> None:
    keys = named_people("Жаңылыктар", f"Бишкекте {word} жараны Сергей Смирнов кармалды.").keys
    assert keys <= {"sergei", "smirnov"}, keys


async def test_two_kyrgyz_reports_on_two_people_are_two_stories(
    storage: Storage, classifier: Classifier
) -> None:
    reports: list[Report] = [
        ("Бишкекте Орусиянын суроосу менен активист кармалды",
         "Бишкекте Орусиянын жараны Иван Петров Орусиянын суроосу менен кармалды. "
         "Ага экстрадиция коркунучу бар.", "ky"),
        ("Бишкекте дагы бир орусиялык дезертир кармалды",
         "Бишкекте Орусиянын жараны Сергей Смирнов Орусиянын суроосу менен кармалды. "
         "Ал мобилизациядан качып келген.", "ky"),
    ]  # fmt: skip
    assert await _save_all(storage, classifier, reports) == 2
    assert await alerts(storage) == 2


def test_csv_does_not_list_russia_genitive_as_a_person() -> None:
    assert people(["Бишкекте Орусиянын жараны Сергей Смирнов кармалды."]) == ("Сергей Смирнов",)


# A sentence-case headline with a few proper nouns is taken for Title Case (rule 2), so its
# first names are never paired (rule 7): two namesakes named in headlines are one story.
@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("Казахстан выдал России дезертира Дмитрия Смирнова",
          "Суд в Астане удовлетворил запрос российской стороны.", "ru"),
         ("Казахстан выдал России дезертира Алексея Смирнова",
          "Военнослужащий бежал от мобилизации осенью 2022 года.", "ru")),
        (("Kazakhstan extradites Russian deserter Dmitry Smirnov",
          "The court in Astana granted the Russian request.", "en"),
         ("Kazakhstan extradites Russian deserter Alexei Smirnov",
          "The serviceman fled mobilisation in 2022.", "en")),
    ],
)  # fmt: skip
async def test_namesakes_named_in_sentence_case_headlines_are_two_stories(
    storage: Storage, classifier: Classifier, first: Report, second: Report
) -> None:
    assert await _save_all(storage, classifier, [first, second]) == 2
    assert await alerts(storage) == 2


# Common first names whose key is a stop prefix: Юлия/Yulia = "iulia" (июля, July),
# Георгия = "georgia" (Georgia), Германа = "german": the first name is lost, so the report
# names the surname alone and joins a namesake's story.
@pytest.mark.parametrize(
    "lead",
    ["В аэропорту Звартноц задержана Юлия Смирнова.",
     "Казахстан выдал России Георгия Смирнова.",
     "Казахстан выдал России Германа Смирнова."],
)  # fmt: skip
def test_common_first_names_are_paired(lead: str) -> None:
    assert named_people("Новости", lead).first_names, lead


async def test_yulia_and_maria_smirnova_are_two_stories(
    storage: Storage, classifier: Classifier
) -> None:
    reports: list[Report] = [
        ("В Гюмри по запросу России задержана активистка",
         "В Гюмри задержана Мария Смирнова. Ей грозит экстрадиция в Россию по запросу Москвы.",
         "ru"),
        ("В Ереване по запросу России задержана активистка",
         "В аэропорту Звартноц задержана Юлия Смирнова. Ей грозит экстрадиция в Россию по "
         "запросу Москвы.", "ru"),
    ]  # fmt: skip
    assert await _save_all(storage, classifier, reports) == 2
    assert await alerts(storage) == 2


# Stop prefixes that start common surnames: litv (Литва) -> Литвиненко, Литвинов;
# israil (Израиль) -> Исраилов; moskv -> Москвин; ural -> Уралов; krim -> Крымов.
@pytest.mark.parametrize(
    ("lead", "key"),
    [("В Ереване задержали Александра Литвиненко.", "litvinenko"),
     ("В Ереване задержали Сергея Литвинова.", "litvinov"),
     ("В Стамбуле задержан уроженец Чечни Ислам Исраилов.", "israilov"),
     ("В Бишкеке задержали Павла Москвина.", "moskvin"),
     ("В Алматы задержан Рустам Уралов.", "uralov"),
     ("В Тбилиси задержан Андрей Крымов.", "krimov")],
)  # fmt: skip
def test_common_surnames_are_keys(lead: str, key: str) -> None:
    assert key in named_people("Новости", lead).keys


async def test_israilov_in_russian_and_english_is_one_story(
    storage: Storage, classifier: Classifier
) -> None:
    reports: list[Report] = [
        ("В Ереване по запросу России задержан чеченский активист Ислам Исраилов",
         "Ему грозит экстрадиция в Россию.", "ru"),
        ("Chechen activist Islam Israilov detained in Yerevan at Russia's request",
         "He faces extradition to Russia.", "en"),
    ]  # fmt: skip
    assert await _save_all(storage, classifier, reports) == 1
    assert await alerts(storage) == 1


def test_csv_lists_litvinenko_and_israilov() -> None:
    assert people(["В Ереване задержали Александра Литвиненко и Ислама Исраилова."]) == (
        "Александра Литвиненко",
        "Ислама Исраилова",
    )


# An official's surname after any word of a Title Case headline stays the official's: every
# word there is capitalised ("Detains Putin Critic"), no first name.
def test_an_officials_surname_in_a_title_case_headline_is_no_person() -> None:
    assert "putin" not in named_people("Kazakhstan Detains Putin Critic Ivan Petrov", "").keys
    urge = "Protesters Urge Tokayev Not To Extradite Deserter Dmitry Smirnov"
    assert "tokaev" not in named_people(urge, "").keys


async def test_two_putin_critics_in_title_case_headlines_are_two_stories(
    storage: Storage, classifier: Classifier
) -> None:
    reports: list[Report] = [
        ("Kazakhstan Detains Putin Critic Ivan Petrov At Moscow's Request",
         "Police in Almaty detained the Russian activist Ivan Petrov on an extradition "
         "request from Russia.", "en"),
        ("Kazakhstan Detains Putin Critic Sergei Ivanov On Russian Warrant",
         "Police in Astana detained the Russian blogger Sergei Ivanov at the airport on a "
         "Russian arrest warrant.", "en"),
    ]  # fmt: skip
    assert await _save_all(storage, classifier, reports) == 2
    assert await alerts(storage) == 2


# Place words that end like a surname past a place's stem, and other words of a headline of
# mostly names: no keys (Объединённых Арабских Эмиратов, в Алмате, свидетеля Иеговы).
@pytest.mark.parametrize(
    ("title", "summary", "keys"),
    [("Россиянина задержали в Дубае", "Власти Объединённых Арабских Эмиратов задержали его.",
      set()),
     ("В Алмате задержали гражданина России", "", set()),
     ("Суд в Алма-Ате арестовал россиянина", "", set()),
     ("Казахстан выдал России свидетеля Иеговы Петрова", "", {"petrov"})],
)  # fmt: skip
def test_place_words_are_no_names(title: str, summary: str, keys: set[str]) -> None:
    assert named_people(title, summary).keys == keys


@pytest.mark.parametrize(
    "reports",
    [
        [("Власти Объединенных Арабских Эмиратов выдали России блогера Ивана Петрова",
          "Блогера экстрадировали в Россию по запросу Генпрокуратуры.", "ru"),
         ("Власти Объединенных Арабских Эмиратов выдали России активиста Сергея Сидорова",
          "Активиста передали российским силовикам в аэропорту.", "ru")],
        [("В Алмате задержали российского дезертира, которому грозит экстрадиция",
          "Мужчину задержали в аэропорту по запросу России.", "ru"),
         ("В Алмате задержали белорусского оппозиционера по запросу Минска",
          "Активисту грозит выдача Беларуси.", "ru")],
        [("Казахстан выдал России свидетеля Иеговы Петрова",
          "Верующего передали российским властям в аэропорту.", "ru"),
         ("Казахстан выдал России свидетеля Иеговы Сидорова",
          "Мужчину экстрадировали, несмотря на жалобу в ООН.", "ru")],
    ],
)  # fmt: skip
async def test_two_cases_sharing_only_place_words_are_two_stories(
    storage: Storage, classifier: Classifier, reports: list[Report]
) -> None:
    assert await _save_all(storage, classifier, reports, one_action=False) == 2
    assert await alerts(storage) == 2


def test_csv_lists_no_place_as_a_person_and_keeps_a_first_name_given_later() -> None:
    uae = "Власти Объединенных Арабских Эмиратов выдали России Ивана Петрова"
    assert people([uae]) == ("Ивана Петрова",)
    assert people(["Иван Петров задержан в Стамбуле", "В Стамбуле задержали Ивана Петрова."]) == (
        "Ивана Петрова",
    )
    title_case = "Kazakhstan Extradites Deserter Ivan Petrov To Russia"
    assert people([title_case, "Kazakhstan handed Ivan Petrov over."]) == ("Ivan Petrov",)


# Kazakh and Kyrgyz genitives of cities in -т/-н (Ташкенттин "Tashkent's": tashkentin) and
# Ukrainian names of countries (Туреччині, Білорусі) are places, not surnames or first names.
@pytest.mark.parametrize(
    ("lead", "keys"),
    [("Бишкекте Ташкенттин суроосу менен Сергей Смирнов кармалды.", {"sergei", "smirnov"}),
     ("Бишкекте Шымкенттің суроосу менен Сергей Смирнов кармалды.", {"sergei", "smirnov"}),
     ("Бишкекте Ереванның суроосу менен Сергей Смирнов кармалды.", {"sergei", "smirnov"}),
     ("Активіста Петренка затримали в Туреччині на запит Мінська.", {"petrenko"}),
     ("Активіста Петренка затримали в Німеччині на запит Мінська.", {"petrenko"}),
     ("Активіста Петренка затримали в Вірменії на запит Мінська.", {"petrenko"})],
)  # fmt: skip
def test_more_place_words_are_no_names(lead: str, keys: set[str]) -> None:
    assert named_people("Новини", lead).keys == keys


@pytest.mark.parametrize(
    ("title", "lead"),
    [("Новини", "Польща видала Білорусі Петрова. Йому загрожує тюрма."),
     ("Kazakhstan extradites Imam Rahimov to Uzbekistan", "")],
)  # fmt: skip
def test_a_country_or_a_title_is_no_first_name(title: str, lead: str) -> None:
    assert not named_people(title, lead).first_names


@pytest.mark.parametrize(
    ("reports", "stories"),
    [
        ([("Бишкекте Ташкенттин суроосу менен өзбекстандык активист кармалды",
           "Бишкекте Ташкенттин суроосу менен Алишер Рахимов кармалды. "
           "Ага экстрадиция коркунучу бар.", "ky"),
          ("Бишкекте Ташкенттин суроосу менен дагы бир өзбекстандык активист кармалды",
           "Бишкекте Ташкенттин суроосу менен Бахтияр Каримов кармалды. "
           "Ага да экстрадиция коркунучу бар.", "ky")], 2),
        ([("У Туреччині затримали білоруського активіста",
           "Активіста Олександра Петренка затримали в Туреччині на запит Мінська. "
           "Йому загрожує екстрадиція до Білорусі.", "uk"),
          ("У Туреччині затримали ще одного білоруського опозиціонера",
           "Опозиціонера Івана Сидоренка затримали в Туреччині на запит Мінська. "
           "Йому загрожує екстрадиція до Білорусі.", "uk")], 2),
        ([("Poland extradites Belarusian activist Alexander Petrov to Belarus",
           "The activist fled Belarus after the 2020 protests.", "en"),
          ("Польща екстрадувала до Білорусі політичного біженця",
           "Польща видала Білорусі Петрова, який утік після протестів 2020 року.", "uk")], 1),
        ([("Kazakhstan extradites Imam Rahimov to Uzbekistan",
           "Kazakh authorities handed the cleric over to Tashkent on Monday despite his asylum "
           "request.", "en"),
          ("Казахстан выдал Узбекистану имама Абдуллу Рахимова",
           "Богослова передали узбекским властям, несмотря на просьбу об убежище.", "ru")], 1),
    ],
)  # fmt: skip
async def test_place_words_and_titles_neither_merge_nor_split_cases(
    storage: Storage, classifier: Classifier, reports: list[Report], stories: int
) -> None:
    assert await _save_all(storage, classifier, reports, one_action=False) == stories
    assert await alerts(storage) == stories


def test_csv_takes_no_place_or_official_for_a_first_name() -> None:
    assert people(["Казахстан выдал Смирнова", "Суд решил выдать России Смирнова."]) == (
        "Смирнова",
    )
    assert people(["Казахстан выдал Смирнова", "Он известен как критик Путина Смирнов."]) == (
        "Смирнова",
    )
