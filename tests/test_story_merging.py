"""Stories across feeds on a real SQLite file: near-duplicates and cross-language reports join
one story, its sources are listed, and an alerted story's chats get one edit, re-armed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.country_codes import known_country_codes
from bot.fingerprint import Fingerprinter
from bot.model import Verdict
from bot.relevance import Classifier
from bot.search import QueryBuilder
from bot.storage import Incoming, Storage
from bot.stories import canonical_url
from bot.words import fold
from tests.conftest import IRRELEVANT, NOW, RELEVANT, SHARED, add_feeds, incoming, make_entry

DAY = 86400.0
FP = Fingerprinter()
EXTRADITION = Verdict(True, 0.9, ("KZ", "RU"), "extradition", ("action:выдать",))
ARREST = Verdict(True, 0.8, ("AM", "RU"), "detention", ("action:задержать",))
RU_TITLE = "Казахстан выдал России дезертира Семёна Бажукова"
RU_TEXT = "Власти Казахстана передали российским военным дезертира Семёна Бажукова."
EN_TITLE = "Kazakhstan hands Russian army deserter over to Moscow"
SEED = "2026-02-03-kazakhstan-extraditions.ru.txt"
EN_TEXT = "Kazakh authorities handed over Semyon Bazhukov, a deserter, to Russian military police."
SEARCH = QueryBuilder(known_country_codes())


def report(
    title: str, text: str, link: str, lang: str, verdict: Verdict = EXTRADITION,
    *, published: float = NOW - 3600,
) -> Incoming:  # fmt: skip
    item = incoming(make_entry(title, summary=text, link=link, published=published), verdict)
    return Incoming(
        item.entry, item.key, item.canonical_url, item.content_hash, verdict,
        fingerprint=FP.fingerprint(title, text, lang),
    )  # fmt: skip


async def test_reports_in_two_languages_and_a_copy_are_one_story(storage: Storage) -> None:
    ru, en, agg = await add_feeds(storage, "OVD", "Euronews", "Aggregator")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    first = await storage.stories.save(
        ru, [report(RU_TITLE, RU_TEXT, "https://ovd.example/1", "ru")], now=NOW, alert_max_age=DAY
    )
    assert len(first.new_stories) == 1
    [story] = first.new_stories
    second = await storage.stories.save(
        en, [report(EN_TITLE, EN_TEXT, "https://euronews.example/a", "en")],
        now=NOW + 60, alert_max_age=DAY,
    )  # fmt: skip
    copy = await storage.stories.save(
        agg, [report(RU_TITLE + " (обновлено)", RU_TEXT, "https://agg.example/9", "ru")],
        now=NOW + 120, alert_max_age=DAY,
    )  # fmt: skip
    assert second.new_stories == copy.new_stories == ()
    assert (second.joined, copy.joined) == (1, 1)
    [stored] = await storage.stories.recent(10)
    assert stored.id == story.id
    assert (stored.sources, stored.outlets) == (3, ("OVD", "Euronews", "Aggregator"))
    sources = await storage.stories.sources(story.id)
    assert [(s.outlet, s.lang) for s in sources] == [
        ("OVD", None), ("Euronews", None), ("Aggregator", None)
    ]  # fmt: skip
    assert [s.link for s in sources][1] == "https://euronews.example/a"


async def test_another_person_same_country_same_day_is_another_story(storage: Storage) -> None:
    a, b = await add_feeds(storage, "A", "B")
    await storage.stories.save(
        a, [report(RU_TITLE, RU_TEXT, "https://a.example/1", "ru")], now=NOW, alert_max_age=DAY
    )
    other = await storage.stories.save(
        b,
        [report(
            "Казахстан выдал России дезертира Никиту Журавлёва",
            "Власти Казахстана передали российским военным дезертира Никиту Журавлёва.",
            "https://b.example/2", "ru",
        )],
        now=NOW, alert_max_age=DAY,
    )  # fmt: skip
    assert len(other.new_stories) == 1


@pytest.mark.parametrize(
    ("first", "second", "lang"),
    [
        # a given name that ends like an Armenian -ян surname (Тетяна, Дем'ян) is no surname
        (("Казахстан видав Росії Тетяну Бондаренко",
          "Активістку передали російським силовикам у четвер."),
         ("Казахстан видав Росії Тетяну Коваленко",
          "Журналістку передали російським силовикам у четвер."), "uk"),
        (("Грузія видала Росії Дем'яна Петренка", "Активіста передали силовикам у четвер."),
         ("Грузія видала Росії Дем'яна Сидоренка", "Журналіста передали силовикам у четвер."),
         "uk"),
        # ... nor one like a Russian -ин surname (Ирина as Ильина), nor a genitive like a
        # Georgian -ани (Анны as Чиковани)
        (("Казахстан выдал России активистку", "Власти передали силовикам Ирину Петрову."),
         ("Казахстан выдал России журналистку", "Власти передали силовикам Ирину Смирнову."),
         "ru"),
        (("Экстрадиция активистки", "Суд в Астане одобрил экстрадицию Анны Петровой в Россию."),
         ("Экстрадиция журналистки", "Суд в Астане одобрил экстрадицию Анны Смирновой в Россию."),
         "ru"),
        (("Казахстан выдал России активиста", "Власти передали силовикам Константина Петрова."),
         ("Казахстан выдал России журналиста", "Власти передали силовикам Константина Смирнова."),
         "ru"),
        # the names of the region's Muslim peoples that end so (Мадина, Хусейн, -иддин)
        (("Казахстан выдал России активистку", "Власти передали силовикам Мадину Петрову."),
         ("Казахстан выдал России журналистку", "Власти передали силовикам Мадину Смирнову."),
         "ru"),
        (("Казахстан выдал России активиста", "Власти передали силовикам Хусейна Петрова."),
         ("Казахстан выдал России журналиста", "Власти передали силовикам Хусейна Смирнова."),
         "ru"),
        (("Казахстан выдал России активиста", "Власти передали силовикам Сирожиддина Петрова."),
         ("Казахстан выдал России журналиста", "Власти передали силовикам Сирожиддина Смирнова."),
         "ru"),
        # a dative first name no list holds, before the surname (rule 8)
        (("Казахстан видав Росії активіста",
          "Суд у Казахстані дозволив видати Росії Єгорові Бондаренку."),
         ("Казахстан видав Росії журналіста",
          "Суд у Казахстані дозволив видати Росії Єгорові Шевчуку."), "uk"),
    ],
)  # fmt: skip
async def test_two_people_of_one_given_name_are_two_stories(
    storage: Storage, first: tuple[str, str], second: tuple[str, str], lang: str
) -> None:
    a, b = await add_feeds(storage, "Hromadske", "Suspilne")
    one = report(*first, "https://hromadske.example/1", lang)
    other = report(*second, "https://suspilne.example/2", lang)
    await storage.stories.save(a, [one], now=NOW, alert_max_age=DAY)
    saved = await storage.stories.save(b, [other], now=NOW + 60, alert_max_age=DAY)
    assert (len(saved.new_stories), saved.joined) == (1, 0)


@pytest.mark.parametrize(
    "link", ["https://outlet.example/live", "https://www.outlet.example/?utm_source=rss"]
)
async def test_two_items_of_one_feed_under_one_link_are_two_stories(
    storage: Storage, link: str
) -> None:
    """Some feeds link every item to their front page or to a live page: their items are told
    apart by their GUIDs, and a second case must not vanish into the first one's story."""
    [feed] = await add_feeds(storage, "Outlet")
    cases = [
        (RU_TITLE, RU_TEXT, "post-101", EXTRADITION),
        (
            "Кыргызстан депортировал в Россию активиста Никиту Журавлёва",
            "Власти Кыргызстана выслали в Россию антивоенного активиста Никиту Журавлёва.",
            "post-102",
            Verdict(True, 0.9, ("KG", "RU"), "deportation", ("action:депортировать",)),
        ),
    ]
    stored = []
    for n, (title, text, guid, verdict) in enumerate(cases):
        item = incoming(make_entry(title, summary=text, link=link), verdict, key=f"guid:{guid}")
        item = Incoming(
            item.entry, item.key, item.canonical_url, item.content_hash, verdict,
            fingerprint=FP.fingerprint(title, text, "ru"),
        )  # fmt: skip
        saved = await storage.stories.save(feed, [item], now=NOW + n * 600, alert_max_age=DAY)
        stored.extend(saved.new_stories)
    assert [story.title for story in stored] == [title for title, *_ in cases]


async def test_a_live_page_two_feeds_link_joins_the_same_case_not_another(
    storage: Storage,
) -> None:
    """A link another feed's story has is the same article (an aggregator's own title for it
    joins), unless the story names people of whom the report names none: two feeds of one
    outlet that link every item to its live page, each reporting another case."""
    live = "https://outlet.example/live"
    main, asia, agg = await add_feeds(storage, "Outlet", "Outlet Asia", "Aggregator")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    await storage.stories.save(
        main, [report(RU_TITLE, RU_TEXT, live, "ru")], now=NOW, alert_max_age=DAY
    )
    kg = Verdict(True, 0.9, ("KG", "RU"), "deportation", ("action:депортировать",))
    other = report(
        "Кыргызстан депортировал в Россию активиста Никиту Журавлёва",
        "Власти Кыргызстана выслали в Россию антивоенного активиста Никиту Журавлёва.",
        live, "ru", kg,
    )  # fmt: skip
    saved = await storage.stories.save(asia, [other], now=NOW + 600, alert_max_age=DAY)
    assert [s.title for s in saved.new_stories] == [other.entry.title]
    rewrite = report("Срочно: Бажуков в руках российских военных", "Подробности.", live, "ru")
    joined = await storage.stories.save(agg, [rewrite], now=NOW + 900, alert_max_age=DAY)
    assert (joined.new_stories, joined.joined) == ((), 1)
    outlets = {s.title: s.outlets for s in await storage.stories.recent(5)}
    assert outlets == {RU_TITLE: ("Outlet", "Aggregator"), other.entry.title: ("Outlet Asia",)}


async def test_a_story_first_stored_from_a_backlog_is_alerted_when_fresh_news_joins_it(
    storage: Storage,
) -> None:
    """A new feed's first poll stores its backlog without pushing it (an undated item here).
    A fresh report of the same case from an outlet already polled is news, and the subscriber
    gets the story then: joining the stored story must not swallow it."""
    new_feed, known = await add_feeds(storage, "NewFeed", "Established")
    await storage.feeds.record_success(
        known.id, now=NOW - 3600, next_check_at=NOW, etag=None, last_modified=None
    )
    known = next(f for f in await storage.feeds.all() if f.id == known.id)
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    backlog = report(RU_TITLE, RU_TEXT, "https://newfeed.example/1", "ru")
    backlog = Incoming(
        replace(backlog.entry, published=None), backlog.key, backlog.canonical_url,
        backlog.content_hash, backlog.verdict, fingerprint=backlog.fingerprint,
    )  # fmt: skip
    first = await storage.stories.save(new_feed, [backlog], now=NOW, alert_max_age=DAY)
    assert (len(first.new_stories), first.alerted) == (1, frozenset())
    fresh = report(
        "Семён Бажуков экстрадирован из Казахстана в Россию",
        "Дезертира Семёна Бажукова передали российским военным в аэропорту Астаны.",
        "https://established.example/77", "ru",
    )  # fmt: skip
    second = await storage.stories.save(known, [fresh], now=NOW + 60, alert_max_age=DAY)
    assert second.joined == 1
    assert [(d.chat_id, d.kind) for d in await storage.outbox.due(NOW + 60, limit=10)] == [
        (1, "alert")
    ]
    third = report(RU_TITLE, RU_TEXT + " Подробности.", "https://established.example/78", "ru")
    await storage.stories.save(known, [third], now=NOW + 120, alert_max_age=DAY)
    alerts = await storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE kind = 'alert'")
    assert alerts == 1  # once per story


async def test_a_round_up_naming_putin_does_not_swallow_a_case(storage: Storage) -> None:
    # The seed article's lead names nobody but "режима Владимира Путина"; a later report about
    # one activist also names Putin. Only the first name was left of him, and it merged them.
    lead = next(line for line in (SHARED / "seed" / SEED).read_text().splitlines() if line.strip())
    a, b = await add_feeds(storage, "Kommentarii", "Mediazona")
    round_up = "Казахстан выдает России антивоенных активистов и критиков режима Путина"
    await storage.stories.save(
        a, [report(round_up, lead, "https://k.example/1", "ru")], now=NOW, alert_max_age=DAY
    )
    case = await storage.stories.save(
        b,
        [report(
            "В Алматы экстрадирован активист Тимур Жаксыбеков",
            "Генпрокуратура Казахстана выдала России критика Владимира Путина Тимура "
            "Жаксыбекова. Ему грозит 10 лет.",
            "https://mz.example/2", "ru",
        )],
        now=NOW + 3600, alert_max_age=DAY,
    )  # fmt: skip
    assert (len(case.new_stories), case.joined) == (1, 0)


@pytest.mark.parametrize(
    ("title", "text", "lang"),
    [
        ("Казахстан видав Росії дезертира", "Силовики разом із Бажуковим вилетіли.", "uk"),
        ("Що загрожує дезертиру в Росії", "Казахстан передав Бажукові повістку.", "uk"),
        ("Kazakhstan hands deserter over", "Lawyers say Bazhukov's claim was ignored.", "en"),
        # the official order: surname, then given name, both in the dative
        ("Казахстан видав Росії дезертира",
         "Суд у Казахстані вирішив видати Росії Бажукові Семенові, дезертиру.", "uk"),
        # a soft hyphen (a CMS hyphenating long words) or a stress mark inside the name
        ("Казахстан видав Росії дезертира", "Силовики разом із Бажу\u00adковим вилетіли.", "uk"),
        ("Kazakhstan hands deserter over", "Lawyers say Bazhu\u00adkov's claim was ignored.", "en"),
        ("Казахстан видав Росії дезертира", "Силовики разом із Бажу\u0301ковим вилетіли.", "uk"),
    ],
)  # fmt: skip
async def test_ukrainian_case_forms_and_possessives_join_the_story(
    storage: Storage, title: str, text: str, lang: str
) -> None:
    ru, other = await add_feeds(storage, "OVD", "Other")
    await storage.stories.save(
        ru, [report(RU_TITLE, RU_TEXT, "https://ovd.example/1", "ru")], now=NOW, alert_max_age=DAY
    )
    second = await storage.stories.save(
        other, [report(title, text, "https://other.example/1", lang)],
        now=NOW + 60, alert_max_age=DAY,
    )  # fmt: skip
    assert (second.new_stories, second.joined) == ((), 1)


async def test_reports_of_a_man_with_an_officials_surname_meet_across_languages(
    storage: Storage,
) -> None:
    """Алиев, Кадыров, Рахмонов are officials' surnames and among the commonest of the people
    at risk: after his own first name, his surname is his key, so the English report of his
    extradition joins the Russian one (before, neither had a key: two stories, two alerts)."""
    uz = Verdict(True, 0.9, ("UZ", "RU"), "extradition", ("action:выдать",))
    ru, en = await add_feeds(storage, "Fergana", "Eurasianet")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    first = report(
        "Узбекистан выдал России оппозиционера",
        "Власти Узбекистана выдали России блогера Шерзода Алиева, критиковавшего войну.",
        "https://fergana.example/1", "ru", uz,
    )  # fmt: skip
    second = report(
        "Uzbekistan hands anti-war blogger over to Russia",
        "Uzbek authorities extradited blogger Sherzod Aliyev to Moscow on Tuesday.",
        "https://eurasianet.example/1", "en", uz,
    )  # fmt: skip
    await storage.stories.save(ru, [first], now=NOW, alert_max_age=DAY)
    saved = await storage.stories.save(en, [second], now=NOW + 600, alert_max_age=DAY)
    assert (saved.new_stories, saved.joined) == ((), 1)


async def test_new_outlets_queue_one_edit_per_alerted_chat_rearmed(storage: Storage) -> None:
    ru, en, agg = await add_feeds(storage, "OVD", "Euronews", "Aggregator")
    for chat in (1, 2):
        await storage.chats.subscribe(chat, [], thread_id=None, now=NOW)
    await storage.stories.save(
        ru, [report(RU_TITLE, RU_TEXT, "https://ovd.example/1", "ru")], now=NOW, alert_max_age=DAY
    )
    for d in await storage.outbox.due(NOW, limit=10):
        assert await storage.outbox.mark_sending(d.id, NOW)
        await storage.outbox.mark_sent(d.id, message_id=500 + d.chat_id, now=NOW, chat_id=d.chat_id)
    await storage.stories.save(
        en, [report(EN_TITLE, EN_TEXT, "https://euronews.example/a", "en")],
        now=NOW + 60, alert_max_age=DAY,
    )  # fmt: skip
    edits = await storage.outbox.due(NOW + 60, limit=10)
    assert sorted((d.kind, d.chat_id, d.message_id) for d in edits) == [
        ("edit", 1, 501), ("edit", 2, 502)
    ]  # fmt: skip
    for d in edits:
        assert await storage.outbox.mark_sending(d.id, NOW + 60)
    # a third outlet arrives while the edits are in flight: they are re-armed, not duplicated
    await storage.stories.save(
        agg, [report(RU_TITLE, RU_TEXT, "https://agg.example/9", "ru")],
        now=NOW + 120, alert_max_age=DAY,
    )  # fmt: skip
    for d in edits:
        await storage.outbox.mark_sent(
            d.id, message_id=d.message_id or 0, now=NOW + 121, chat_id=d.chat_id
        )
    again = await storage.outbox.due(NOW + 130, limit=10)
    assert sorted((d.kind, d.chat_id) for d in again) == [("edit", 1), ("edit", 2)]
    assert {d.id for d in again} == {d.id for d in edits}
    rows = await storage.db.fetchall("SELECT kind, COUNT(*) FROM deliveries GROUP BY kind")
    assert {r[0]: r[1] for r in rows} == {"alert": 2, "edit": 2}


async def test_an_edit_rearmed_while_its_attempt_is_given_up_is_kept(storage: Storage) -> None:
    ru, en, agg = await add_feeds(storage, "OVD", "Euronews", "Aggregator")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    await storage.stories.save(
        ru, [report(RU_TITLE, RU_TEXT, "https://ovd.example/1", "ru")], now=NOW, alert_max_age=DAY
    )
    [alert] = await storage.outbox.due(NOW, limit=10)
    assert await storage.outbox.mark_sending(alert.id, NOW)
    await storage.outbox.mark_sent(alert.id, message_id=501, now=NOW, chat_id=1)
    await storage.stories.save(
        en, [report(EN_TITLE, EN_TEXT, "https://euronews.example/a", "en")],
        now=NOW + 60, alert_max_age=DAY,
    )  # fmt: skip
    [edit] = await storage.outbox.due(NOW + 60, limit=10)
    assert await storage.outbox.mark_sending(edit.id, NOW + 60)
    await storage.stories.save(  # a third outlet while the edit is in flight: re-armed
        agg, [report(RU_TITLE, RU_TEXT, "https://agg.example/9", "ru")],
        now=NOW + 120, alert_max_age=DAY,
    )  # fmt: skip
    await storage.outbox.give_up(edit.id, "bad request: something about the old text")
    [again] = await storage.outbox.due(NOW + 130, limit=10)
    assert (again.id, again.kind) == (edit.id, "edit")  # the new outlets still get their edit
    assert (await storage.outbox.stats(NOW + 130)).counters.get("failed", 0) == 0


async def test_same_outlet_republishing_adds_no_edit(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "OVD")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    await storage.stories.save(
        feed, [report(RU_TITLE, RU_TEXT, "https://ovd.example/1", "ru")], now=NOW, alert_max_age=DAY
    )
    again = await storage.stories.save(
        feed, [report(RU_TITLE + "!", RU_TEXT, "https://ovd.example/1-new", "ru")],
        now=NOW + 60, alert_max_age=DAY,
    )  # fmt: skip
    assert (again.new_stories, again.joined, again.deliveries) == ((), 0, 0)
    assert (await storage.counts())["stories"] == 1


async def test_verbatim_copies_add_nothing_to_the_merge_index(storage: Storage) -> None:
    # Aggregators re-post a report word for word. Each copy is a source of the story, but its
    # signature and names are ones the story has: no index rows, no signature stored, so a
    # story with hundreds of copies is compared as cheaply as one with a single source.
    feeds = await add_feeds(storage, "OVD", *(f"Aggregator {n}" for n in range(12)), "Euronews")
    original, *copies, euronews = feeds
    await storage.stories.save(
        original, [report(RU_TITLE, RU_TEXT, "https://ovd.example/1", "ru")], now=NOW,
        alert_max_age=DAY,
    )  # fmt: skip
    bands = await storage.db.scalar("SELECT COUNT(*) FROM story_bands")
    for n, feed in enumerate(copies):
        copied = report(RU_TITLE, RU_TEXT, f"https://agg{n}.example/x", "ru")
        saved = await storage.stories.save(feed, [copied], now=NOW + n, alert_max_age=DAY)
        assert saved.joined == 1
    assert await storage.db.scalar("SELECT COUNT(*) FROM story_bands") == bands
    signatures = "SELECT COUNT(*) FROM entries WHERE minhash IS NOT NULL"
    assert await storage.db.scalar(signatures) == 1
    # More than MAX_SIGNATURES copies came after the original: it is still what a later
    # rewrite is compared with, and the rewrite, not a copy, keeps its own signature.
    rewrite = report(RU_TITLE + " (обновлено)", RU_TEXT, "https://euronews.example/a", "ru")
    saved = await storage.stories.save(euronews, [rewrite], now=NOW + 60, alert_max_age=DAY)
    assert (saved.new_stories, saved.joined) == ((), 1)
    assert await storage.db.scalar(signatures) == 2
    [story] = await storage.stories.recent(10)
    assert story.sources == 14


@pytest.mark.parametrize("by", ["OVD", "Aggregator"])
async def test_a_verbatim_repost_after_the_window_joins_its_story(
    storage: Storage, by: str
) -> None:
    # The same title and text under a new GUID and address, dated past the merge window: the
    # outlet re-posting it, or an aggregator's late copy. It is that report, not news.
    ovd, agg = await add_feeds(storage, "OVD", "Aggregator")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    first = report(RU_TITLE, RU_TEXT, "https://ovd.example/1", "ru")
    [story] = (await storage.stories.save(ovd, [first], now=NOW, alert_max_age=DAY)).new_stories
    later = NOW + 8 * DAY
    again = report(RU_TITLE, RU_TEXT, "https://x.example/1-repost", "ru", published=later - 600)
    feed = ovd if by == "OVD" else agg
    saved = await storage.stories.save(feed, [again], now=later, alert_max_age=DAY)
    assert (saved.new_stories, saved.joined) == ((), int(feed is agg))
    assert await storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE kind = 'alert'") == 1
    assert len(await storage.stories.sources(story.id)) == 2
    signatures = "SELECT COUNT(*) FROM entries WHERE minhash IS NOT NULL"
    assert await storage.db.scalar(signatures) == 1  # a copy: nothing for the merge index


async def test_an_edited_original_hands_its_signature_to_a_copy(storage: Storage) -> None:
    # The copy stored no signature of its own; once the outlet rewrites the original, a late
    # copy of the first text must still find the story by that text (its verdict has no
    # action, so only the text can join it).
    ovd, aggregator, late = await add_feeds(storage, "OVD", "Aggregator", "Late aggregator")
    first = report(RU_TITLE, RU_TEXT, "https://ovd.example/1", "ru")
    await storage.stories.save(ovd, [first], now=NOW, alert_max_age=DAY)
    copy = report(RU_TITLE, RU_TEXT, "https://agg.example/1", "ru")
    await storage.stories.save(aggregator, [copy], now=NOW + 1, alert_max_age=DAY)
    rewritten = report(
        "Суд в Алматы рассмотрит жалобу защиты на решение о выдаче",
        "Адвокаты обжалуют решение, заседание назначено на следующую неделю.",
        "https://ovd.example/1", "ru",
    )  # fmt: skip
    edit = await storage.stories.save(ovd, [rewritten], now=NOW + 2, alert_max_age=DAY)
    assert (edit.new_stories, edit.joined) == ((), 0)
    signatures = "SELECT COUNT(*) FROM entries WHERE minhash IS NOT NULL"
    assert await storage.db.scalar(signatures) == 2
    no_action = Verdict(False, 0.0, (), None, ())
    again = report(RU_TITLE, RU_TEXT, "https://late.example/1", "ru", verdict=no_action)
    saved = await storage.stories.save(late, [again], now=NOW + 3, alert_max_age=DAY)
    assert saved.joined == 1


REWRITES = [
    (
        "Kazakhstan extradites deserter Bazhukov",
        "Semyon Bazhukov, who fled the army and sought asylum, was extradited to Russia.",
    ),
    (
        "Казахстан видав Росії дезертира Семена Бажукова",
        "Влада Казахстану передала російським військовим дезертира Семена Бажукова.",
    ),
    (
        "Rights groups condemn Bazhukov extradition",
        "Kazakhstan extradited Semyon Bazhukov despite his asylum claim, lawyers said on Monday.",
    ),
    (
        "Deserter Bazhukov extradited from Kazakhstan to Russia",
        "The soldier Semyon Bazhukov was flown to Russia after Kazakhstan extradited him.",
    ),
    (
        "Kazakhstan extradites asylum seeker Bazhukov",
        "Russian deserter Semyon Bazhukov was extradited by Kazakhstan, his lawyer confirmed.",
    ),
    (
        "Russian soldier Bazhukov handed to Moscow by Kazakhstan",
        "Semyon Bazhukov was extradited to Russia by Kazakhstan on Monday night.",
    ),
    (
        "Bazhukov extradition: Kazakhstan hands soldier to Russia",
        "Kazakhstan extradited the Russian deserter Semyon Bazhukov, Memorial said.",
    ),
]


async def test_a_late_copy_of_a_big_storys_first_report_joins_it(storage: Storage) -> None:
    # A big case: more than MAX_SIGNATURES rewrites in other languages join the first report
    # (by its people, within the entity window). A copy of that first report four days later
    # can join only by its text: the first report's signature must still be compared.
    ovd, *others, agg = await add_feeds(storage, "OVD", *(f"Outlet {n}" for n in range(8)), "Agg")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    await storage.stories.save(
        ovd, [report(RU_TITLE, RU_TEXT, "https://ovd.example/1", "ru")], now=NOW, alert_max_age=DAY
    )
    for n, (feed, (title, text)) in enumerate(
        zip(others, [(EN_TITLE, EN_TEXT), *REWRITES], strict=True)
    ):
        lang = "uk" if "Казахстан" in title else "en"
        rewrite = report(title, text, f"https://o{n}.example/a", lang)
        joined = await storage.stories.save(feed, [rewrite], now=NOW + 600 * n, alert_max_age=DAY)
        assert joined.joined == 1, title
    later = NOW + 4 * DAY
    copy = report(RU_TITLE, RU_TEXT, "https://agg.example/9", "ru", published=later - 600)
    saved = await storage.stories.save(agg, [copy], now=later, alert_max_age=DAY)
    assert (saved.new_stories, saved.joined) == ((), 1)
    assert await storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE kind = 'alert'") == 1


ZHURAVLYOV_TITLE = "Казахстан выдал России дезертира Никиту Журавлёва"
ZHURAVLYOV_TEXT = "Власти Казахстана передали российским военным дезертира Никиту Журавлёва."


def under_guid(item: Incoming, guid: str = "guid:7") -> Incoming:
    return replace(item, key=guid)


async def test_a_guid_reused_for_another_case_is_a_new_story(storage: Storage) -> None:
    # Some sites number their items and restart the count, or recycle a GUID: the same key
    # with a new address and another case's text is another item, not an edit of the first.
    [feed] = await add_feeds(storage, "Kloop")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    first = under_guid(report(RU_TITLE, RU_TEXT, "https://kloop.example/1", "ru"))
    [story] = (await storage.stories.save(feed, [first], now=NOW, alert_max_age=DAY)).new_stories
    other = under_guid(report(ZHURAVLYOV_TITLE, ZHURAVLYOV_TEXT, "https://kloop.example/2", "ru"))
    saved = await storage.stories.save(feed, [other], now=NOW + 60, alert_max_age=DAY)
    assert [s.title for s in saved.new_stories] == [ZHURAVLYOV_TITLE]
    assert saved.alerted == {saved.new_stories[0].id}
    kept = await storage.stories.get(story.id)
    assert kept is not None
    assert (kept.title, kept.link) == (RU_TITLE, "https://kloop.example/1")
    assert [s.link for s in await storage.stories.sources(story.id)] == [kept.link]
    # The key is the new item's now: its edit updates it, and the first case stays as it was.
    edited = under_guid(
        report(ZHURAVLYOV_TITLE + " (видео)", ZHURAVLYOV_TEXT, "https://kloop.example/2", "ru")
    )
    again = await storage.stories.save(feed, [edited], now=NOW + 120, alert_max_age=DAY)
    assert (again.new_stories, again.deliveries) == ((), 0)
    titles = {s.title for s in await storage.stories.recent(10)}
    assert titles == {RU_TITLE, ZHURAVLYOV_TITLE + " (видео)"}


async def test_a_guid_reused_for_an_unrelated_item_leaves_the_story_alone(storage: Storage) -> None:
    [feed] = await add_feeds(storage, "Kloop")
    first = under_guid(report(RU_TITLE, RU_TEXT, "https://kloop.example/1", "ru"))
    await storage.stories.save(feed, [first], now=NOW, alert_max_age=DAY)
    weather = under_guid(
        report("Погода в Алматы", "Солнечно, +20.", "https://kloop.example/3", "ru", IRRELEVANT)
    )
    saved = await storage.stories.save(feed, [weather], now=NOW + 60, alert_max_age=DAY)
    assert saved.new_stories == ()
    [story] = await storage.stories.recent(10)
    assert (story.title, story.summary) == (RU_TITLE, RU_TEXT)


async def test_a_guid_that_flips_between_two_items_adds_no_rows(storage: Storage) -> None:
    # A broken feed that serves its two items under one GUID by turns: each is known by then.
    [feed] = await add_feeds(storage, "Kloop")
    first = under_guid(report(RU_TITLE, RU_TEXT, "https://kloop.example/1", "ru"))
    other = under_guid(report(ZHURAVLYOV_TITLE, ZHURAVLYOV_TEXT, "https://kloop.example/2", "ru"))
    for n, item in enumerate([first, other, first, other, first]):
        saved = await storage.stories.save(feed, [item], now=NOW + n, alert_max_age=DAY)
        assert (len(saved.new_stories), saved.deliveries) == ((1, 0) if n < 2 else (0, 0))
    assert (await storage.counts())["entries"] == 2
    assert (await storage.counts())["stories"] == 2


async def test_an_edit_that_moves_the_article_to_a_new_address_is_an_edit(storage: Storage) -> None:
    # A site re-titles an article and its address (the slug) follows: the same item.
    [feed] = await add_feeds(storage, "Kloop")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    first = under_guid(report(RU_TITLE, RU_TEXT, "https://kloop.example/1-vydal", "ru"))
    await storage.stories.save(feed, [first], now=NOW, alert_max_age=DAY)
    title = "Семёна Бажукова передали российским военным"
    moved = under_guid(report(title, RU_TEXT, "https://kloop.example/1-peredali", "ru"))
    saved = await storage.stories.save(feed, [moved], now=NOW + 60, alert_max_age=DAY)
    assert (saved.new_stories, saved.deliveries) == ((), 0)
    [story] = await storage.stories.recent(10)
    assert (story.title, story.link) == (title, "https://kloop.example/1-peredali")
    [source] = await storage.stories.sources(story.id)
    assert source.link == story.link


@pytest.mark.parametrize(
    ("outlets", "moved", "retitled"),  # moved: the report whose address alone changes
    [
        (1, "guid:h", False),  # the story's only report
        (3, "guid:h", False),  # the report that heads it, two other outlets joined
        (3, "guid:h", True),  # the same, re-titled first, then its slug changed alone
        (3, "guid:e", False),  # another outlet's report: its source moves, the story's link not
    ],
)
async def test_an_address_changed_alone_is_what_the_report_and_its_story_cite(
    storage: Storage, outlets: int, moved: str, retitled: bool
) -> None:
    # The content hash is the title and lead: a slug changed alone was no edit at all, and
    # the story and its source kept citing an address that is gone. No one is told of it.
    ovd, euronews, agg = await add_feeds(storage, "OVD", "Euronews", "Aggregator")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    reports = {
        "guid:h": (ovd, report(RU_TITLE, RU_TEXT, "https://ovd.example/1", "ru")),
        "guid:e": (euronews, report(EN_TITLE, EN_TEXT, "https://euronews.example/a", "en")),
        "guid:a": (agg, report(RU_TITLE + " (обновлено)", RU_TEXT, "https://agg.example/9", "ru")),
    }
    for n, (key, (feed, item)) in enumerate(list(reports.items())[:outlets]):
        await storage.stories.save(feed, [under_guid(item, key)], now=NOW + n, alert_max_age=DAY)
    for d in await storage.outbox.due(NOW + 3, limit=10):
        assert await storage.outbox.mark_sending(d.id, NOW + 3)
        await storage.outbox.mark_sent(d.id, message_id=900, now=NOW + 3, chat_id=d.chat_id)
    deliveries = "SELECT kind, state FROM deliveries ORDER BY id"
    before = [tuple(r) for r in await storage.db.fetchall(deliveries)]
    feed, item = reports[moved]
    if retitled:
        item = replace(item, entry=replace(item.entry, title=HEAD_TITLE), content_hash="retitled")
        await storage.stories.save(feed, [under_guid(item, moved)], now=NOW + 60, alert_max_age=DAY)
    link = item.entry.link + "-bazhukov"
    item = replace(item, entry=replace(item.entry, link=link), canonical_url=canonical_url(link))
    saved = await storage.stories.save(
        feed, [under_guid(item, moved)], now=NOW + 120, alert_max_age=DAY
    )
    assert (saved.new_stories, saved.joined, saved.deliveries) == ((), 0, 0)
    assert [tuple(r) for r in await storage.db.fetchall(deliveries)] == before
    [story] = await storage.stories.recent(10)
    head = item if moved == "guid:h" else reports["guid:h"][1]
    assert (story.title, story.link, story.sources) == (head.entry.title, head.entry.link, outlets)
    sources = {s.outlet: s.link for s in await storage.stories.sources(story.id)}
    assert sources[feed.name] == link


async def test_an_edit_re_dated_after_the_window_is_still_an_edit(storage: Storage) -> None:
    # The same GUID, re-titled (the slug follows) and re-dated by the feed a week later: its
    # date is no evidence that it is another item, so it is still judged an edit of its story.
    [feed] = await add_feeds(storage, "Kloop")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    first = under_guid(report(RU_TITLE, RU_TEXT, "https://kloop.example/1-vydal", "ru"))
    await storage.stories.save(feed, [first], now=NOW, alert_max_age=DAY)
    later = NOW + 8 * DAY
    title, text = RU_TITLE + " (обновлено)", RU_TEXT + " Адвокаты обжалуют решение."
    link = "https://kloop.example/1-vydal-obnovleno"
    edited = under_guid(report(title, text, link, "ru", published=later - 600))
    saved = await storage.stories.save(feed, [edited], now=later, alert_max_age=DAY)
    assert (saved.new_stories, saved.deliveries) == ((), 0)
    [story] = await storage.stories.recent(10)
    assert (story.title, story.link) == (title, link)


DEPORTATION = Verdict(True, 0.8, ("KG", "RU"), "deportation", ("action:депортировать",))
KG_TITLE = "Кыргызстан депортировал в Россию дезертира Семёна Бажукова"
KG_TEXT = "Власти Кыргызстана передали российским военным дезертира Семёна Бажукова."


@pytest.mark.parametrize(
    ("verdict", "tagged"),  # tagged: the verdict whose tags the story shows after the edit
    [
        # The publisher corrects the country and the action: the card and the country: and
        # action: filters follow the headline.
        (DEPORTATION, DEPORTATION),
        # An edit judged no longer relevant has no tags to give: the story keeps those that
        # made it news (and stays public; its text follows the publisher's).
        (IRRELEVANT, EXTRADITION),
    ],
)
async def test_an_edit_of_a_storys_only_report_retags_it(
    storage: Storage, verdict: Verdict, tagged: Verdict
) -> None:
    [feed] = await add_feeds(storage, "Kloop")
    first = under_guid(report(RU_TITLE, RU_TEXT, "https://kloop.example/1", "ru"))
    await storage.stories.save(feed, [first], now=NOW, alert_max_age=DAY)
    edited = under_guid(report(KG_TITLE, KG_TEXT, "https://kloop.example/1", "ru", verdict))
    await storage.stories.save(feed, [edited], now=NOW + 60, alert_max_age=DAY)
    [story] = await storage.stories.recent(10)
    assert (story.title, story.summary) == (KG_TITLE, KG_TEXT)
    assert (story.countries, story.action, story.reasons) == (
        tagged.countries,
        tagged.action,
        tagged.reasons,
    )
    query = f"country:{tagged.countries[0]} action:{tagged.action}"
    found = await storage.search.stories(SEARCH.build(query, now=NOW), limit=5, now=NOW)
    assert [s.id for s in found] == [story.id]
    score = "SELECT score FROM stories WHERE id = ?"
    assert await storage.db.scalar(score, (story.id,)) == tagged.score


KG_EXTRADITION = Verdict(True, 0.9, ("KG", "RU"), "extradition", ("action:выдать",))
KG_FIX_TITLE = "Кыргызстан выдал России дезертира Семёна Бажукова"


@pytest.mark.parametrize(
    ("verdict", "age", "told"),  # told: the chats the edit brings the story to, and how
    [
        # The publisher corrects Kazakhstan to Kyrgyzstan: the chats that follow Kyrgyzstan
        # are told now (an alert, or a digest item), as another outlet's KG report would.
        # Chat 1, alerted already, gets neither a second alert nor an edit.
        (KG_EXTRADITION, 3600.0, {(2, "alert"), (3, "digest")}),
        (KG_EXTRADITION, 3 * DAY, set()),  # an old item's correction is stored, not pushed
        (IRRELEVANT, 3600.0, set()),  # judged off-topic now: no country to follow
        (EXTRADITION, 3600.0, set()),  # a typo fixed: no chat follows another country
    ],
)
async def test_an_edit_that_corrects_the_country_tells_the_chats_that_follow_it(
    storage: Storage, verdict: Verdict, age: float, told: set[tuple[int, str]]
) -> None:
    [feed] = await add_feeds(storage, "Kloop")
    for chat, countries in ((1, []), (2, ["KG"]), (3, ["KG"])):
        await storage.chats.subscribe(chat, countries, thread_id=None, now=NOW - DAY)
    digest = await storage.chats.get(3)
    assert digest is not None
    await storage.chats.save_settings(replace(digest, mode="daily", digest_hour=9), now=NOW)
    first = report(RU_TITLE, RU_TEXT, "https://kloop.example/1", "ru", published=NOW - age)
    await storage.stories.save(feed, [under_guid(first)], now=NOW, alert_max_age=DAY)
    for d in await storage.outbox.due(NOW, limit=10):
        assert await storage.outbox.mark_sending(d.id, NOW)
        await storage.outbox.mark_sent(d.id, message_id=900, now=NOW, chat_id=d.chat_id)
    queued = "SELECT chat_id, kind FROM deliveries WHERE state = 'pending'"
    assert await storage.db.fetchall(queued) == []
    fixed = report(
        KG_FIX_TITLE, KG_TEXT, "https://kloop.example/1", "ru", verdict, published=NOW - age
    )
    for n in range(2):  # a second edit tells nobody again
        text = replace(fixed.entry, title=fixed.entry.title + "!" * n)
        edit = replace(under_guid(fixed), entry=text, content_hash=f"edit {n}")
        await storage.stories.save(feed, [edit], now=NOW + 60 + n, alert_max_age=DAY)
        assert {(r[0], r[1]) for r in await storage.db.fetchall(queued)} == told
    total = await storage.db.scalar("SELECT COUNT(*) FROM deliveries")
    assert total == len(told) + (age < DAY)  # and chat 1 its one alert


HEAD_TITLE = "Семёна Бажукова передали российским военным"
HEAD_TEXT = "Власти Казахстана ночью передали российским военным дезертира Семёна Бажукова."
LIVE = "https://ovd.example/live"


@pytest.mark.parametrize(
    ("edited", "heads"),  # edited: which report its publisher edits (new title, lead, slug)
    [
        ("guid:head", True),
        ("guid:euronews", False),  # another outlet's report of it
        ("guid:update", False),  # the head's outlet's next update, on the same live page
    ],
)
async def test_an_edit_of_the_report_that_heads_a_story_reaches_it(
    storage: Storage, edited: str, heads: bool
) -> None:
    # The story cites its head (title, lead, link) in /search, /story, the CSV and its
    # result link: however many outlets joined it, the publisher's edit of that report is
    # what it says now. Any other report's edit changes that report only, and none re-alerts.
    ovd, euronews = await add_feeds(storage, "OVD", "Euronews")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    head = report(RU_TITLE, RU_TEXT, LIVE, "ru")
    update = report(
        "Бажукова увезли из Казахстана в Москву",
        "Дезертира Семёна Бажукова, выданного Казахстаном, этапировали в Москву.", LIVE, "ru",
    )  # fmt: skip
    reports = {
        "guid:head": (ovd, head),
        "guid:euronews": (euronews, report(EN_TITLE, EN_TEXT, "https://euronews.example/a", "en")),
        "guid:update": (ovd, update),
    }
    for n, (key, (feed, item)) in enumerate(reports.items()):
        saved = await storage.stories.save(
            feed, [under_guid(item, key)], now=NOW + n, alert_max_age=DAY
        )
        assert (len(saved.new_stories), saved.joined) == ((1, 0) if n == 0 else (0, int(n == 1)))
        for d in await storage.outbox.due(NOW + n, limit=10):
            assert await storage.outbox.mark_sending(d.id, NOW + n)
            await storage.outbox.mark_sent(d.id, message_id=500 + n, now=NOW + n, chat_id=1)
    queued = "SELECT kind, state, next_attempt_at FROM deliveries ORDER BY id"
    before = [tuple(r) for r in await storage.db.fetchall(queued)]
    assert [kind for kind, *_ in before] == ["alert", "edit"]  # the sent alert lists Euronews
    feed, _ = reports[edited]
    moved = under_guid(
        report(HEAD_TITLE, HEAD_TEXT, "https://ovd.example/1-peredali", "ru"), edited
    )
    saved = await storage.stories.save(feed, [moved], now=NOW + 60, alert_max_age=DAY)
    assert (saved.new_stories, saved.joined, saved.deliveries) == ((), 0, 0)
    assert [tuple(r) for r in await storage.db.fetchall(queued)] == before
    [story] = await storage.stories.recent(10)
    shown = (
        (moved.entry.title, moved.entry.summary, moved.entry.link)
        if heads
        else (head.entry.title, head.entry.summary, head.entry.link)
    )
    assert ((story.title, story.summary, story.link), story.outlet) == (shown, "OVD")
    await storage.search.stories(SEARCH.build("Бажуков", now=NOW), limit=5, now=NOW)
    assert await storage.db.scalar("SELECT title FROM search_fts") == fold(shown[0])


@pytest.mark.parametrize("head", [True, False])
async def test_a_story_made_public_is_headed_through_edits_by_the_report_that_did(
    storage: Storage, head: bool
) -> None:
    # A watch-only story that a relevant report made news is headed by that report, not by
    # its first, watched one (`story_rows.publish`): that one's edit must not become the
    # public headline, which would show what a chat watches.
    ovd, agg = await add_feeds(storage, "OVD", "Aggregator")
    await storage.chats.subscribe(7, [], thread_id=None, now=NOW)
    link = "https://ovd.example/1"
    watched = replace(
        under_guid(report(RU_TITLE, RU_TEXT, link, "ru", IRRELEVANT), "guid:w"),
        watchers=frozenset({7}),
    )
    news = under_guid(report(EN_TITLE, EN_TEXT, link, "en"), "guid:n")
    await storage.stories.save(ovd, [watched], now=NOW, alert_max_age=DAY)
    await storage.stories.save(agg, [news], now=NOW + 60, alert_max_age=DAY)
    assert [s.title for s in await storage.stories.recent(10)] == [EN_TITLE]  # made public
    feed, edited = (agg, news) if head else (ovd, watched)
    rewritten = report(HEAD_TITLE, HEAD_TEXT, link, "ru", edited.verdict)
    moved = replace(rewritten, key=edited.key, watchers=edited.watchers)
    await storage.stories.save(feed, [moved], now=NOW + 120, alert_max_age=DAY)
    [story] = await storage.stories.recent(10)
    shown = moved if head else news
    assert (story.title, story.summary, story.outlet) == (
        shown.entry.title, shown.entry.summary, "Aggregator"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("title", "text", "link", "shown"),  # the head report re-served as (title, text, link)
    [
        # No text at all (a CMS glitch: its title only markup, its lead empty): no edit.
        ("", "", "https://ovd.example/1", (RU_TITLE, RU_TEXT, "https://ovd.example/1")),
        # Nor a move: an item whose fields came out blank says nothing of its address.
        ("", "", "https://ovd.example/blank", (RU_TITLE, RU_TEXT, "https://ovd.example/1")),
        # Its title alone emptied: the new lead, under the title it had.
        ("", HEAD_TEXT, "https://ovd.example/1", (RU_TITLE, HEAD_TEXT, "https://ovd.example/1")),
        # Its lead alone emptied: an edit as any other, the title tells the case.
        (HEAD_TITLE, "", "https://ovd.example/1", (HEAD_TITLE, "", "https://ovd.example/1")),
    ],
    ids=["blank", "blank-elsewhere", "title-emptied", "lead-emptied"],
)
async def test_an_edit_emptying_the_head_report_keeps_what_names_the_case(
    storage: Storage, title: str, text: str, link: str, shown: tuple[str, str, str]
) -> None:
    # Taken as an edit, a blank item replaced the headline and lead with "": the alert,
    # /story and /recent showed "(no title)", and /search by the person's name found nothing.
    [ovd] = await add_feeds(storage, "OVD")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    first = under_guid(report(RU_TITLE, RU_TEXT, "https://ovd.example/1", "ru"))
    await storage.stories.save(ovd, [first], now=NOW, alert_max_age=DAY)
    edited = under_guid(report(title, text, link, "ru"))
    saved = await storage.stories.save(ovd, [edited], now=NOW + 60, alert_max_age=DAY)
    assert (saved.new_stories, saved.deliveries) == ((), 0)
    [story] = await storage.stories.recent(10)
    assert (story.title, story.summary, story.link) == shown
    [source] = await storage.stories.sources(story.id)
    assert (source.title, source.link) == (shown[0], shown[2])
    found = await storage.search.stories(SEARCH.build("Бажуков", now=NOW), limit=5, now=NOW)
    assert [s.id for s in found] == [story.id]
    assert await storage.db.scalar("SELECT title FROM search_fts") == fold(shown[0])


async def test_a_round_up_does_not_make_its_other_names_the_storys(storage: Storage) -> None:
    # A round-up that joins Bazhukov's story (it names him) also names Zhuravlyov; his own
    # case, reported next, is another story, not one more source of Bazhukov's.
    ovd, digest, kloop = await add_feeds(storage, "OVD", "Digest", "Kloop")
    await storage.stories.save(
        ovd, [report(RU_TITLE, RU_TEXT, "https://ovd.example/1", "ru")], now=NOW, alert_max_age=DAY
    )
    round_up = report(
        "Обзор недели: выдачи из Казахстана",
        "Казахстан выдал России Семёна Бажукова; неделей раньше туда же передали Никиту Журавлёва.",
        "https://digest.example/w", "ru",
    )  # fmt: skip
    joined = await storage.stories.save(digest, [round_up], now=NOW + 60, alert_max_age=DAY)
    assert joined.joined == 1
    own = report(ZHURAVLYOV_TITLE, ZHURAVLYOV_TEXT, "https://kloop.example/z", "ru")
    saved = await storage.stories.save(kloop, [own], now=NOW + 120, alert_max_age=DAY)
    assert [s.title for s in saved.new_stories] == [ZHURAVLYOV_TITLE]


async def test_keys_recomputed_on_open_keep_a_round_ups_other_names_out(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite3"
    storage = await Storage.open(path, now=NOW)
    ovd, digest = await add_feeds(storage, "OVD", "Digest")
    first = report(RU_TITLE, RU_TEXT, "https://ovd.example/1", "ru")
    await storage.stories.save(ovd, [first], now=NOW, alert_max_age=DAY)
    round_up = report(
        "Обзор недели", "Выдали Семёна Бажукова и Никиту Журавлёва.", "https://d.example/w", "ru"
    )
    assert (await storage.stories.save(digest, [round_up], now=NOW, alert_max_age=DAY)).joined
    await storage.db.execute("DELETE FROM counters WHERE name = 'name_keys'")  # older rules
    await storage.close()
    storage = await Storage.open(path, now=NOW)
    try:
        names = await storage.db.scalar("SELECT names FROM stories")
        indexed = await storage.db.fetchall("SELECT name FROM story_names")
        assert "shuravlev" not in names.split()
        assert "shuravlev" not in {r["name"] for r in indexed}
        assert "bashukov" in names.split()
    finally:
        await storage.close()


async def reopened_with_old_keys(storage: Storage, path: Path, version: int, names: str) -> Storage:
    """The database as keys `version` left it: every story's names `names`, no first names,
    no merge index; closed and opened again, which re-keys it."""
    await storage.db.execute("UPDATE stories SET names = ?, first_names = ''", (names,))
    await storage.db.execute("DELETE FROM story_names")
    await storage.db.execute("UPDATE counters SET value = ? WHERE name = 'name_keys'", (version,))
    await storage.close()
    return await Storage.open(path, now=NOW)


async def test_a_kazakh_reports_keys_are_recomputed_on_open(tmp_path: Path) -> None:
    """Keys stored by version 6, which read Журавлевке as a word of its own, are brought up to
    date: a later Russian report of him finds the story."""
    path = tmp_path / "keys.sqlite3"
    storage = await Storage.open(path, now=NOW)
    [azattyq] = await add_feeds(storage, "Azattyq KZ")
    kazakh = report(
        "Қазақстан дезертирді Ресейге экстрадициялады",
        "Қазақстан билігі Журавлевке қатысты шешімді орындады.",
        "https://azattyq.example/k1", "kk",
    )  # fmt: skip
    await storage.stories.save(azattyq, [kazakh], now=NOW, alert_max_age=DAY)
    storage = await reopened_with_old_keys(storage, path, 6, names="shuravlevke")
    try:
        indexed = await storage.db.fetchall("SELECT name FROM story_names")
        assert "shuravlev" in {r["name"] for r in indexed}
        assert "shuravlev" in (await storage.db.scalar("SELECT names FROM stories")).split()
    finally:
        await storage.close()


async def test_a_name_split_by_a_soft_hyphen_or_decomposed_is_keyed_on_open(
    tmp_path: Path,
) -> None:
    """Keys version 11 read a name with a soft hyphen or a stress mark inside as pieces too
    short to be one, and text stored before reading composed it (й as и + breve) likewise:
    the stories' keys are brought up to date, so a later report of him finds the story."""
    path = tmp_path / "keys.sqlite3"
    storage = await Storage.open(path, now=NOW)
    ovd, other = await add_feeds(storage, "OVD", "Other")
    hyphenated = report(
        "Казахстан выдал дезертира", "Власти выдали России Семёна Бажу\u00adкова.",
        "https://ovd.example/1", "ru",
    )  # fmt: skip
    decomposed = report(
        "В Ереване задержан активист",
        # stored before reading composed it
        "Полиция Армении задержала активиста Никиту Зуи\u0306кова по запросу Москвы.",
        "https://other.example/1", "ru", ARREST,
    )  # fmt: skip
    await storage.stories.save(ovd, [hyphenated], now=NOW, alert_max_age=DAY)
    await storage.stories.save(other, [decomposed], now=NOW, alert_max_age=DAY)
    storage = await reopened_with_old_keys(storage, path, 11, names="")
    try:
        indexed = {r["name"] for r in await storage.db.fetchall("SELECT name FROM story_names")}
        assert {"bashukov", "zuikov"} <= indexed
        names = await storage.db.fetchall("SELECT names, first_names FROM stories ORDER BY id")
        assert [(r["names"].split(), r["first_names"].split()) for r in names] == [
            (["bashukov", "semena"], ["bashukov:smn"]),
            (["nikitu", "zuikov"], ["zuikov:nkt"]),
        ]
    finally:
        await storage.close()


async def test_an_edited_item_of_a_live_page_is_one_source_not_two(storage: Storage) -> None:
    """A feed without GUIDs that links every item to its live page keys the items by their
    text, so an edit of one is a new entry, which joins its own story by text. The story's
    sources cite that page once: a lawyer's list with the same outlet and address twice only
    looks like two reports."""
    live = "https://outlet.example/live"
    [feed] = await add_feeds(storage, "Outlet")
    first = report(RU_TITLE, RU_TEXT, live, "ru")
    first = replace(first, key=f"hash:{first.content_hash}")
    saved = await storage.stories.save(feed, [first], now=NOW, alert_max_age=DAY)
    [story] = saved.new_stories
    edited = report(RU_TITLE + " (обновлено)", RU_TEXT, live, "ru")
    edited = replace(edited, key=f"hash:{edited.content_hash}")
    again = await storage.stories.save(feed, [edited], now=NOW + 600, alert_max_age=DAY)
    assert again.new_stories == ()
    sources = await storage.stories.sources(story.id)
    assert [(s.outlet, s.link, s.title) for s in sources] == [("Outlet", live, RU_TITLE)]


def classified(
    classifier: Classifier, title: str, text: str, link: str, *, lang: str, at: float = NOW
) -> Incoming:
    """A report as the refresh path builds it: the real classifier's verdict, its fingerprint."""
    entry = replace(make_entry(title, summary=text, link=link, published=at - 600), lang=lang)
    item = incoming(entry, classifier.classify(title, text, lang))
    return replace(item, fingerprint=FP.fingerprint(title, text, lang))


async def alerts(storage: Storage) -> int:
    return int(await storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE kind = 'alert'"))


TEMPLATE = "Казахстан выдал России дезертира {}"
TEMPLATE_TEXT = "Власти Казахстана передали российским военным дезертира {}."
FOOTER = (
    "Подписывайтесь на ОВД-Инфо и поддержите нашу работу: мы помогаем всем, кого преследуют "
    "за антивоенную позицию, бесплатно и круглосуточно. Если вас задержали или вызвали на "
    "допрос, звоните на горячую линию, пишите в наш бот и рассказывайте о давлении: юристы "
    "ответят."
)
BAZHUKOV_DETAILS = (
    "в Астане; в России он обвиняется в самовольном оставлении части. Бажуков просил в "
    "Казахстане убежища."
)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        # one template about two people who share a first name: two cases
        (
            (TEMPLATE.format("Александра Иванова"), TEMPLATE_TEXT.format("Александра Иванова")),
            (TEMPLATE.format("Александра Петрова"), TEMPLATE_TEXT.format("Александра Петрова")),
            False,
        ),
        # an aggregator's copy that names only the outlet it cites: the same case
        (
            (RU_TITLE, "Власти Казахстана передали российским военным дезертира Семёна "
             "Бажукова, который просил убежища."),
            ("Казахстан выдал России дезертира", "Власти Казахстана передали российским военным "
             "дезертира, который просил убежища, сообщает ОВД-Инфо."),
            True,
        ),
        # a Kazakh report, the surname in the dative and the accusative (a woman's form)
        (
            ("Казахстан экстрадировал в Россию дезертира Никиту Журавлёва",
             "Власти Казахстана передали российским военным дезертира Никиту Журавлёва."),
            ("Қазақстан Ресейге дезертир Никита Журавлевті экстрадициялады",
             "Қазақстан билігі Журавлевке қатысты экстрадиция туралы шешімді орындап, оны Ресей "
             "әскери полициясына ұстап берді."),
            True,
        ),
        (
            ("Казахстан выдал России Юлию Емельянову",
             "Власти Казахстана экстрадировали в Россию бывшую волонтёрку штаба Навального "
             "Юлию Емельянову."),
            ("Қазақстан Юлия Емельянованы Ресейге экстрадициялады",
             "Қазақстан билігі Навальный штабының бұрынғы еріктісі Юлия Емельянованы Ресейге "
             "ұстап берді."),
            True,
        ),
        # one handover, an extradition to one outlet and a deportation to another
        (
            ("Казахстан выдал России IT-специалиста Александра Качкуркина",
             "Казахстанские силовики передали российской стороне Александра Качкуркина, "
             "которого обвиняют в госизмене."),
            ("Из Казахстана депортировали айтишника Качкуркина",
             "Александра Качкуркина вывезли в Россию, где его обвинили в госизмене."),
            True,
        ),
    ],
)  # fmt: skip
async def test_reports_of_two_outlets_meet_on_their_people_and_actions(
    storage: Storage,
    classifier: Classifier,
    first: tuple[str, str],
    second: tuple[str, str],
    same: bool,
) -> None:
    a, b = await add_feeds(storage, "A", "B")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    one = classified(classifier, *first, "https://a.example/1", lang="ru")
    lang = "kk" if "қ" in second[0] else "ru"
    other = classified(classifier, *second, "https://b.example/2", lang=lang)
    await storage.stories.save(a, [one], now=NOW, alert_max_age=2 * DAY)
    saved = await storage.stories.save(b, [other], now=NOW + 600, alert_max_age=2 * DAY)
    assert (len(saved.new_stories), saved.joined) == ((0, 1) if same else (1, 0))
    assert await alerts(storage) == (1 if same else 2)


@pytest.mark.parametrize(
    "posts",
    [
        # two cases from one channel under its standing footer, which names the outlet
        [
            ("В Ереване задержан российский активист Дмитрий Сетраков",
             "Его задержали по запросу России.", 0.0),
            ("В Гюмри задержан уклонист из России Павел Орешкин", "Ему грозит экстрадиция.", 3600),
        ],
        # one person's detention, then five days later his extradition: news, not a copy
        [
            ("В Казахстане задержан дезертир Семён Бажуков",
             f"Его задержали по запросу России {BAZHUKOV_DETAILS}", 0.0),
            (RU_TITLE, f"Его передали российским военным {BAZHUKOV_DETAILS}", 5 * DAY),
        ],
    ],
)  # fmt: skip
async def test_one_channels_posts_with_one_footer_on_two_events_are_two_stories(
    storage: Storage, classifier: Classifier, posts: list[tuple[str, str, float]]
) -> None:
    [channel] = await add_feeds(storage, "OVD Telegram")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    for n, (title, body, later) in enumerate(posts):
        text = f"{title} {body} {FOOTER}"
        link = f"https://t.me/ovdinfo/{100 + n}"
        item = classified(classifier, title, text, link, lang="ru", at=NOW + later)
        await storage.stories.save(channel, [item], now=NOW + later, alert_max_age=2 * DAY)
    assert {s.title for s in await storage.stories.recent(5)} == {t for t, _, _ in posts}
    assert await alerts(storage) == 2


async def test_a_re_dated_typo_fix_of_a_month_old_story_alerts_nobody(storage: Storage) -> None:
    """A feed re-dates an edited item as it likes: a typo fixed a month on is no news to the
    chats that subscribed since (only a country it adds is, to the chats following it)."""
    [feed] = await add_feeds(storage, "Azattyq")
    month_ago = NOW - 30 * DAY
    await storage.chats.subscribe(1, [], thread_id=None, now=month_ago)
    old = make_entry("Казахстан выдал России активиста", published=month_ago - 600)
    await storage.stories.save(feed, [incoming(old, key="g1")], now=month_ago, alert_max_age=DAY)
    await storage.db.execute("UPDATE deliveries SET state = 'sent', message_id = 1")
    await storage.chats.subscribe(2, [], thread_id=None, now=NOW - DAY)
    fixed = make_entry("Казахстан выдал России активиста Петрова", published=NOW - 60)
    await storage.stories.save(feed, [incoming(fixed, key="g1")], now=NOW, alert_max_age=DAY)
    story = await storage.stories.get(1)
    assert story is not None
    assert story.title == fixed.title
    rows = await storage.db.fetchall("SELECT chat_id, kind, state FROM deliveries ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "alert", "sent")]


async def test_a_country_corrected_in_a_month_old_story_re_dated_alerts_nobody(
    storage: Storage,
) -> None:
    """The correction is news only while its story is: the feed's new date says nothing."""
    [feed] = await add_feeds(storage, "Kloop")
    month_ago = NOW - 30 * DAY
    old = make_entry("Казахстан выдал России активиста", published=month_ago - 600)
    kz = replace(RELEVANT, countries=("KZ", "RU"))
    first = incoming(old, kz, key="g1")
    await storage.stories.save(feed, [first], now=month_ago, alert_max_age=DAY)
    await storage.chats.subscribe(2, ["KG"], thread_id=None, now=NOW - DAY)
    fixed = make_entry("Кыргызстан выдал России активиста", published=NOW - 60)
    kg = replace(RELEVANT, countries=("KG", "RU"))
    await storage.stories.save(feed, [incoming(fixed, kg, key="g1")], now=NOW, alert_max_age=DAY)
    story = await storage.stories.get(1)
    assert story is not None
    assert story.countries == ("KG", "RU")
    assert await storage.db.fetchall("SELECT chat_id FROM deliveries") == []
