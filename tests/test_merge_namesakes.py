"""Namesakes: two people with one surname are two cases when both reports give each a first
name and the first names differ; a report naming the surname alone, or the same first name in
another script or case, is still the same person (`bot.merge`, `bot.people`, `bot.names`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.fingerprint import Fingerprinter
from bot.merge import Candidate, Features, choose
from bot.names import given_name_forms, name_key
from bot.people import named_people, namesakes
from bot.relevance import Classifier
from bot.storage import Incoming, Storage, rekey
from tests.conftest import NOW, add_feeds, incoming, make_entry

DAY = 86400.0
FP = Fingerprinter()
Report = tuple[str, str, str]  # title, lead, language

SMIRNOV_ALMATY: Report = (
    "В Алматы задержан российский активист Дмитрий Смирнов",
    "Активиста задержали по запросу России в аэропорту.",
    "ru",
)


def forms(name: str) -> set[str]:
    key = name_key(name)
    assert key is not None, name
    return set(given_name_forms(key))


@pytest.mark.parametrize(
    "spellings",
    [
        ["Дмитрий", "Дмитрия", "Дмитрию", "Дмитрием", "Dmitry", "Dmitriy", "Dmitrii", "Дмитро",
         "Дмитром"],
        ["Алексей", "Алексея", "Алексеем", "Alexei", "Aleksei", "Alexey", "Олексій", "Олексія"],
        ["Павел", "Павла", "Павлом", "Pavel", "Павло"],
        ["Артём", "Артёма", "Артёмом", "Artyom", "Artem"],
        ["Юлия", "Юлию", "Юлией", "Yulia", "Julia", "Iuliia"],
        ["Владимир", "Володимир", "Vladimir", "Volodymyr"],
        ["Александр", "Александра", "Alexander", "Aleksandr", "Олександр"],
        ["Евгений", "Yevgeny", "Evgeny", "Євген"],
        ["Джамшид", "Jamshid", "Djamshid"],
        # Ukrainian г romanised h, and the Ukrainian forms whose consonants differ
        ["Сергей", "Sergei", "Сергій", "Serhiy", "Serhii"],
        ["Игорь", "Igor", "Ігор", "Ihor"],
        ["Глеб", "Gleb", "Гліб", "Hlib"],
        ["Магомед", "Magomed", "Mohammed", "Мухаммед"],
        ["Николай", "Николая", "Nikolai", "Микола", "Миколи", "Миколу", "Миколою", "Mykola"],
        ["Анна", "Анну", "Ганна", "Ганну", "Ганною", "Hanna"],
    ],
)  # fmt: skip
def test_one_first_name_in_any_case_or_script_meets_itself(spellings: list[str]) -> None:
    first = forms(spellings[0])
    assert first
    assert all(first & forms(other) for other in spellings[1:]), spellings


@pytest.mark.parametrize(
    ("a", "b"),
    [("Дмитрий", "Алексей"), ("Алексей", "Александр"), ("Сергей", "Андрей"), ("Павел", "Пётр"),
     ("Никита", "Тимур"), ("Юлия", "Мария"), ("Dmitry", "Алексея")],
)  # fmt: skip
def test_different_first_names_do_not_meet(a: str, b: str) -> None:
    assert not forms(a) & forms(b)


SMIRNOV_ALEKSEI = ("Новости", "В Астане по запросу Москвы задержали дезертира Алексея Смирнова.")


@pytest.mark.parametrize(
    ("report", "other", "expected"),
    [
        # one surname, a first name before it on each side, and they differ: two people
        (SMIRNOV_ALMATY[:2], SMIRNOV_ALEKSEI, {"smirnov"}),
        (("Новости", "Police in Almaty detained Dmitry Smirnov."), SMIRNOV_ALEKSEI, {"smirnov"}),
        (("Новости", "В Алматы задержана Ольга Смирнова."), SMIRNOV_ALMATY[:2], {"smirnov"}),
        # a given name that ends like an Armenian -ян surname is a first name all the same
        (("Новини", "У Алмати затримали Тетяну Бондаренко."),
         ("Новини", "У Алмати затримали Мар'яну Бондаренко."), {"bondarenko"}),
        # the same first name in another case, script or language: one person
        (("Новости", "Police in Almaty detained Dmitry Smirnov."), SMIRNOV_ALMATY[:2], set()),
        (("Новости", "Суд арестовал Дмитрия Смирнова."), SMIRNOV_ALMATY[:2], set()),
        (("Новини", "В Алмати затримали Олексія Смирнова."), SMIRNOV_ALEKSEI, set()),
        # a first name after the surname; a patronymic between first name and surname
        (("Новости", "Суд в Алматы арестовал Смирнова Дмитрия."), SMIRNOV_ALEKSEI, {"smirnov"}),
        (("Новости", "Суд в Алматы арестовал Смирнова Дмитрия."), SMIRNOV_ALMATY[:2], set()),
        (("Новости", "В Алматы задержан Дмитрий Алексеевич Смирнов."), SMIRNOV_ALEKSEI,
         {"smirnov"}),
        # no first name for the surname on one side: it may be either man
        (("Новости", "В Алматы задержан активист Смирнов."), SMIRNOV_ALEKSEI, set()),
        (("Активист Смирнов задержан в Алматы", ""), SMIRNOV_ALEKSEI, set()),
        (("Kazakhstan Detains Activist Smirnov", ""), SMIRNOV_ALEKSEI, set()),
        # a first name followed by another surname is that one's, not the first surname's
        (("Новости", "В Алматы задержали Смирнова, Алексея Петрова и других."),
         SMIRNOV_ALMATY[:2], set()),
        # a first name right after a country, a city or a month is the surname's (rule 5
        # drops only an official's): the commonest phrasing of an extradition
        (("Новости", "Казахстан выдал России Дмитрия Смирнова."),
         ("Новости", "Казахстан выдал России Алексея Смирнова."), {"smirnov"}),
        (("Новини", "Суд в Астані 5 березня видав Дмитра Смирнова."),
         ("Новини", "Казахстан видав Росії Олексія Смирнова."), {"smirnov"}),
        (("Новости", "Казахстан выдал России Дмитрия Смирнова."),
         SMIRNOV_ALMATY[:2], set()),
        (("Новости", "Казахстан выдал России Дмитрия Ивановича Смирнова."),
         ("Новости", "Казахстан выдал России Алексея Смирнова."), {"smirnov"}),
        # a Kazakh case form of the surname keeps its first name
        (("Жаңалық", "Қазақстан билігі Никита Журавлевті Ресейге берді."),
         ("Новости", "Власти выдали Павла Журавлёва в Россию."), {"shuravlev"}),
        (("Жаңалық", "Қазақстан билігі Никита Журавлевті Ресейге берді."),
         ("Новости", "Власти выдали Никиту Журавлёва в Россию."), set()),
    ],
)  # fmt: skip
def test_namesakes_are_surnames_with_first_names_that_never_meet(
    report: tuple[str, str], other: tuple[str, str], expected: set[str]
) -> None:
    a, b = named_people(*report), named_people(*other)
    assert namesakes(a.first_names, b.first_names) == expected
    assert namesakes(b.first_names, a.first_names) == expected


def feat(names: set[str], first_names: set[str]) -> Features:
    return Features(NOW, frozenset(names), frozenset({"KZ", "RU"}), "detention",
                    frozenset(first_names))  # fmt: skip


DMITRY = feat({"smirnov", "dmitri"}, {"smirnov:dmtr"})
ALEKSEI = feat({"smirnov", "aleksea"}, {"smirnov:lks"})
SIG = (1,) * 32


@pytest.mark.parametrize(
    ("report", "signature", "story", "merged"),
    [
        (ALEKSEI, (2,) * 32, DMITRY, False),  # same event, the namesake
        (ALEKSEI, SIG, DMITRY, False),  # same text (a template), the namesake
        (feat({"smirnov"}, set()), (2,) * 32, DMITRY, True),  # the surname alone
        (feat({"smirnov", "dmitria"}, {"smirnov:dmtr"}), (2,) * 32, DMITRY, True),
        # both namesakes in one story (brothers): either one's later report joins it
        (ALEKSEI, (2,) * 32, feat({"smirnov"}, {"smirnov:lks", "smirnov:dmtr"}), True),
        # another surname both share keeps them one case
        (feat({"smirnov", "petrov"}, {"smirnov:lks"}), (2,) * 32,
         feat({"smirnov", "petrov"}, {"smirnov:dmtr"}), True),
    ],
)  # fmt: skip
def test_a_namesake_shares_no_person(
    report: Features, signature: tuple[int, ...], story: Features, merged: bool
) -> None:
    match = choose(report, signature, [Candidate(7, story, (SIG,))])
    assert (match is not None) is merged


def classified(classifier: Classifier, report: Report, link: str, at: float) -> Incoming:
    """A report as the refresh path builds it: the real classifier's verdict, its fingerprint."""
    title, text, lang = report
    entry = replace(make_entry(title, summary=text, link=link, published=at - 600), lang=lang)
    item = incoming(entry, classifier.classify(title, text, lang))
    return replace(item, fingerprint=FP.fingerprint(title, text, lang))


async def alerts(storage: Storage) -> int:
    return int(await storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE kind = 'alert'"))


@pytest.mark.parametrize(
    ("second", "same"),
    [
        # another man of that surname, detained an hour later in another city: his own case
        (("В Астане по запросу Москвы задержали дезертира Алексея Смирнова",
          "Военнослужащий бежал в Казахстан после мобилизации.", "ru"), False),
        # the same man: his surname alone ...
        (("В Алматы по запросу России задержали активиста Смирнова",
          "Его задержали в аэропорту.", "ru"), True),
        # ... his first name in another case, another script, Ukrainian
        (("Задержание активиста в Алматы",
          "Полиция Казахстана задержала Дмитрия Смирнова по запросу России в аэропорту.", "ru"),
         True),
        (("Russian activist detained in Almaty at Moscow's request",
          "Police in Kazakhstan detained Dmitry Smirnov, a Russian activist, at the airport.",
          "en"), True),
        (("У Алмати затримали російського активіста Дмитра Смирнова",
          "Активіста затримали на запит Росії в аеропорту.", "uk"), True),
    ],
)  # fmt: skip
async def test_a_namesake_is_another_case_and_the_same_man_joins(
    storage: Storage, classifier: Classifier, second: Report, same: bool
) -> None:
    a, b = await add_feeds(storage, "OVD", "Kloop")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    first = classified(classifier, SMIRNOV_ALMATY, "https://ovd.example/1", NOW)
    other = classified(classifier, second, "https://kloop.example/2", NOW + 3600)
    assert first.verdict.action == other.verdict.action == "detention"
    await storage.stories.save(a, [first], now=NOW, alert_max_age=2 * DAY)
    saved = await storage.stories.save(b, [other], now=NOW + 3600, alert_max_age=2 * DAY)
    assert (len(saved.new_stories), saved.joined) == ((0, 1) if same else (1, 0))
    assert await alerts(storage) == (1 if same else 2)


async def test_one_template_about_two_namesakes_is_two_stories(
    storage: Storage, classifier: Classifier
) -> None:
    """The "same text" rule too: one outlet's template, re-used for the other Smirnov."""
    a, b = await add_feeds(storage, "OVD", "Kloop")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    for n, (feed, name) in enumerate([(a, "Дмитрия Смирнова"), (b, "Алексея Смирнова")]):
        report = (
            f"Казахстан выдал России дезертира {name}",
            f"Власти Казахстана передали российским военным дезертира {name}.",
            "ru",
        )
        at = NOW + n * 3600
        item = classified(classifier, report, f"https://{n}.example/{n}", at)
        await storage.stories.save(feed, [item], now=at, alert_max_age=2 * DAY)
    assert len(await storage.stories.recent(5)) == 2
    assert await alerts(storage) == 2


async def test_namesakes_extradited_to_russia_are_two_stories(
    storage: Storage, classifier: Classifier
) -> None:
    """In "выдал России Алексея Смирнова" the first name right after the country is his. Read
    as the country's, as an official's first name is, both reports named the surname alone,
    and the second man's case joined the first's: never alerted."""
    a, b = await add_feeds(storage, "OVD", "Kloop")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    reports: list[Report] = [
        ("Казахстан выдал России дезертира",
         "Суд в Астане выдал России Дмитрия Смирнова, бежавшего от мобилизации.", "ru"),
        ("Казахстан выдал России ещё одного дезертира",
         "Власти Казахстана выдали России Алексея Смирнова после отказа в убежище.", "ru"),
    ]  # fmt: skip
    for n, (feed, report) in enumerate(zip((a, b), reports, strict=True)):
        at = NOW + n * 3600
        item = classified(classifier, report, f"https://{n}.example/{n}", at)
        assert item.verdict.relevant
        await storage.stories.save(feed, [item], now=at, alert_max_age=2 * DAY)
    assert len(await storage.stories.recent(5)) == 2
    assert await alerts(storage) == 2


async def test_a_story_keeps_the_first_name_a_later_report_gives_its_surname(
    storage: Storage, classifier: Classifier
) -> None:
    """Its first report names the surname alone; a second gives the first name (Дмитрий):
    then a report on Алексей Смирнов is another case."""
    feeds = await add_feeds(storage, "A", "B", "C")
    reports: list[Report] = [
        ("В Алматы по запросу России задержали активиста Смирнова", "Его задержали в аэропорту.",
         "ru"),
        SMIRNOV_ALMATY,
        ("В Астане по запросу Москвы задержали дезертира Алексея Смирнова",
         "Военнослужащий бежал в Казахстан после мобилизации.", "ru"),
    ]  # fmt: skip
    for n, (feed, report) in enumerate(zip(feeds, reports, strict=True)):
        at = NOW + n * 600
        item = classified(classifier, report, f"https://{n}.example/{n}", at)
        await storage.stories.save(feed, [item], now=at, alert_max_age=2 * DAY)
    first_names = await storage.db.fetchall("SELECT first_names FROM stories ORDER BY id")
    assert [r[0].split() for r in first_names] == [["smirnov:dmtr"], ["smirnov:lks"]]


async def test_first_names_are_computed_on_open_for_stories_stored_before(
    tmp_path: Path, classifier: Classifier
) -> None:
    """A story stored by keys version 7 has no first names: they are recomputed on open, so a
    namesake's report that comes next is another story."""
    path = tmp_path / "keys.sqlite3"
    storage = await Storage.open(path, now=NOW)
    a, b = await add_feeds(storage, "OVD", "Kloop")
    first = classified(classifier, SMIRNOV_ALMATY, "https://ovd.example/1", NOW)
    await storage.stories.save(a, [first], now=NOW, alert_max_age=2 * DAY)
    await storage.db.execute("UPDATE stories SET first_names = ''")
    await storage.db.execute("UPDATE counters SET value = 7 WHERE name = 'name_keys'")
    await storage.close()
    storage = await Storage.open(path, now=NOW)
    try:
        assert (await storage.db.scalar("SELECT first_names FROM stories")).split() == [
            "smirnov:dmtr"
        ]
        report = ("В Астане по запросу Москвы задержали дезертира Алексея Смирнова", "", "ru")
        other = classified(classifier, report, "https://kloop.example/2", NOW + 3600)
        saved = await storage.stories.save(b, [other], now=NOW + 3600, alert_max_age=2 * DAY)
        assert len(saved.new_stories) == 1
    finally:
        await storage.close()


@pytest.mark.parametrize(("version", "queued"), [(6, 1), (7, 0)])
async def test_first_names_alone_re_index_no_story(
    storage: Storage, classifier: Classifier, version: int, queued: int
) -> None:
    """Version 8 added first names, which search rows do not hold: a database at version 7 has
    its first names filled without re-indexing every story (hours on a big one); one behind
    an older rule of the keys search holds is re-indexed."""
    [ovd] = await add_feeds(storage, "OVD")
    report = classified(classifier, SMIRNOV_ALMATY, "https://ovd.example/1", NOW)
    await storage.stories.save(ovd, [report], now=NOW, alert_max_age=2 * DAY)
    await storage.search_index.flush()
    await storage.db.execute("UPDATE counters SET value = ? WHERE name = 'name_keys'", (version,))
    assert await rekey.upgrade(storage.db, now=NOW)
    assert await storage.db.scalar("SELECT COUNT(*) FROM search_pending") == queued


async def test_a_first_name_read_as_a_surname_by_keys_version_9_is_paired_on_open(
    storage: Storage,
) -> None:
    """Version 9 read Тетяну as a surname (tetian), so its story kept no first name for
    Бондаренко: the next version pairs them when the database is opened."""
    [feed] = await add_feeds(storage, "Hromadske")
    title, lead = "Затримання в Алмати", "Поліція затримала Тетяну Бондаренко на запит Росії."
    item = incoming(make_entry(title, summary=lead, link="https://hromadske.example/1"))
    item = replace(item, fingerprint=FP.fingerprint(title, lead, "uk"))
    await storage.stories.save(feed, [item], now=NOW, alert_max_age=2 * DAY)
    await storage.db.execute("UPDATE stories SET first_names = ''")
    await storage.db.execute("UPDATE counters SET value = 9 WHERE name = 'name_keys'")
    assert await rekey.upgrade(storage.db, now=NOW)
    assert (await storage.db.scalar("SELECT first_names FROM stories")).split() == ["bondarenko:tn"]
