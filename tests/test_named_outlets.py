"""A report whose item names its outlet (RSS <source>: every Google News item) is cited as that
outlet's, through the feed it came: stored per entry, and shown wherever a report's or a
story's outlet is (/story, /search, alerts, the CSV, `search --json`, `from:`)."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest

from bot.citation import cited_outlet
from bot.cli import story_json, story_line
from bot.fingerprint import Fingerprinter
from bot.i18n import ENGLISH, Catalogs
from bot.model import Entry
from bot.parse import parse_feed
from bot.render import alert_card, digest_page, story_list
from bot.render_search import results_page, story_card
from bot.search import QueryBuilder
from bot.search.export import cited, to_csv
from bot.storage import FeedState, Source, Storage, Story
from bot.stories import entry_keys
from tests.conftest import NOW, RELEVANT, add_feeds, incoming, make_entry

FEEDS = Path(__file__).parent / "data" / "feeds"
NAME = "Google News - экстрадиция (ru)"  # as in feeds.yaml
URL = "https://news.google.com/rss/search?q=x&hl=ru&gl=RU&ceid=RU:ru"
CITED = "Meduza (via Google News - экстрадиция (ru))"
FP = Fingerprinter()


def google_news() -> list[Entry]:
    body = (FEEDS / "google_news.xml").read_bytes()
    return parse_feed(body, {"content-type": "application/rss+xml"}, base_url=URL)


async def save(storage: Storage, feed: FeedState, entry: Entry, key: str, now: float) -> None:
    item = incoming(entry, key=key)
    await storage.stories.save(feed, [item], now=now, alert_max_age=0)


async def stored_meduza(storage: Storage) -> tuple[Story, list[Source]]:
    [feed] = await add_feeds(storage, NAME)
    entries = google_news()
    await save(storage, feed, entries[0], entry_keys(entries, URL)[0], NOW)
    story = await storage.stories.get(1)
    assert story is not None
    return story, await storage.stories.sources(story.id)


async def test_a_named_outlet_is_the_report_s_and_the_story_s_outlet(storage: Storage) -> None:
    story, [source] = await stored_meduza(storage)
    assert (story.outlet, story.via, story.outlets) == ("Meduza", NAME, ("Meduza",))
    assert (source.outlet, source.via) == ("Meduza", NAME)
    assert (story.title, source.title) == ("Казахстан выдал России дезертира",) * 2


async def test_every_citation_names_the_outlet_and_the_feed(storage: Storage) -> None:
    story, sources = await stored_meduza(storage)
    shown = {
        "story card": story_card(story, sources).render()[0],
        "results": results_page([story], "q", 0, 5).render()[0],
        "list": story_list([story], heading="h").render()[0],
        "alert": alert_card(story, sources=sources).render()[0],
        "digest": digest_page([story], heading="h")[0].render()[0],
        "cli": story_line(story),
    }
    assert {where: CITED in text for where, text in shown.items()} == dict.fromkeys(shown, True)
    found = story_json(story, sources)
    reports = found["reports"]
    assert isinstance(reports, list)
    assert (found["outlet"], found["via"]) == ("Meduza", NAME)
    assert [(r["outlet"], r["via"]) for r in reports] == [("Meduza", NAME)]


async def test_a_google_news_card_has_no_lead_of_the_outlet_s_name(storage: Storage) -> None:
    """Google's description is the headline and the outlet: the card's lead was "Meduza"."""
    story, sources = await stored_meduza(storage)
    for card in (alert_card(story, sources=sources), story_card(story, sources)):
        lines = card.render()[0].splitlines()
        assert "Meduza" not in lines
        assert [line for line in lines if "Meduza" in line] == [
            line for line in lines if CITED in line
        ]


async def test_the_csv_cites_the_outlet_and_the_feed(storage: Storage) -> None:
    story, sources = await stored_meduza(storage)
    exported = to_csv([story], {story.id: cited(sources)}).decode("utf-8-sig")
    [header, row] = csv.reader(io.StringIO(exported))
    assert row[header.index("outlets")] == CITED


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en", CITED),
        ("ru", "Meduza (через Google News - экстрадиция (ru))"),
        ("uk", "Meduza (через Google News - экстрадиция (ru))"),
    ],
)
def test_the_feed_a_report_came_through_is_said_in_the_chat_s_language(
    locale: str, text: str
) -> None:
    assert cited_outlet("Meduza", NAME, Catalogs.load().tr(locale)) == text


def test_a_feed_s_own_report_is_cited_by_the_feed_alone() -> None:
    assert cited_outlet("Kloop", None, ENGLISH) == "Kloop"


@pytest.mark.parametrize("text", ["from:meduza", 'from:"google news"', "дезертир"])
async def test_a_named_outlet_s_report_is_found_by_either_name(storage: Storage, text: str) -> None:
    story, _ = await stored_meduza(storage)
    await storage.search_index.flush()
    found = await storage.search.stories(QueryBuilder().build(text, now=NOW), limit=5, now=NOW)
    assert [s.id for s in found] == [story.id]


async def test_another_outlet_through_the_same_feed_is_another_source(storage: Storage) -> None:
    [feed] = await add_feeds(storage, NAME)
    title, text = "Казахстан выдал России дезертира Бажукова", "Бажукова передали России."
    for n, outlet in enumerate(("Meduza", "Reuters")):
        entry = make_entry(title, summary=text, link=f"https://g.example/{n}")
        item = incoming(replace(entry, named_outlet=outlet), key=f"k{n}")
        item = replace(item, fingerprint=FP.fingerprint(title, text, "ru"))
        await storage.stories.save(feed, [item], now=NOW + n, alert_max_age=0)
    story = await storage.stories.get(1)
    assert story is not None
    assert (story.outlet, story.outlets, story.sources) == ("Meduza", ("Meduza", "Reuters"), 2)


async def test_a_report_stored_before_takes_its_outlet_when_polled_again(
    storage: Storage,
) -> None:
    """Stored by a version that did not read <source>: the title kept Google's ending. The
    feed's next poll gives the item with its outlet, as an edit of it."""
    [feed] = await add_feeds(storage, NAME)
    entries = google_news()
    key = entry_keys(entries, URL)[0]
    old = replace(entries[0], named_outlet=None, title=f"{entries[0].title} - Meduza")
    await save(storage, feed, old, key, NOW)
    await save(storage, feed, entries[0], key, NOW + 600)
    story = await storage.stories.get(1)
    assert story is not None
    assert (story.title, story.outlet, story.via) == (entries[0].title, "Meduza", NAME)
    [source] = await storage.stories.sources(story.id)
    assert (source.title, source.outlet) == (entries[0].title, "Meduza")


# One case's reports, each through a feed and naming an outlet or not; the second and later
# join the first's story (same text, same name).
CASE_TITLE, CASE_TEXT = "Казахстан выдал России дезертира Бажукова", "Бажукова передали России."


async def report(
    storage: Storage,
    feed: FeedState,
    n: int,
    named: str | None,
    link: str,
    *,
    countries: tuple[str, ...] = ("KZ", "RU"),
) -> None:
    entry = replace(make_entry(CASE_TITLE, summary=CASE_TEXT, link=link), named_outlet=named)
    verdict = replace(RELEVANT, countries=countries)
    item = incoming(entry, verdict, key=f"k{n}")
    item = replace(item, fingerprint=FP.fingerprint(CASE_TITLE, CASE_TEXT, "ru"))
    await storage.stories.save(feed, [item], now=NOW + n, alert_max_age=10**9)


async def story_one(storage: Storage) -> Story:
    story = await storage.stories.get(1)
    assert story is not None
    return story


async def test_one_outlet_through_its_own_feed_and_google_news_is_one_source(
    storage: Storage,
) -> None:
    kloop, meduza, gn = await add_feeds(storage, "Kloop", "Meduza", NAME)
    await report(storage, kloop, 0, None, "https://kloop.kg/a")
    await report(storage, meduza, 1, None, "https://meduza.io/news/a")
    await report(storage, gn, 2, "Meduza", "https://news.google.com/rss/articles/CBMiA?oc=5")
    story = await story_one(storage)
    assert (story.outlets, story.sources) == (("Kloop", "Meduza"), 2)
    shown = story_list([story], heading="h").render()[0]
    assert "(2 sources, also Meduza)" in shown


async def test_one_article_two_google_news_searches_found_is_one_source_cited_once(
    storage: Storage,
) -> None:
    a, b = await add_feeds(storage, "Google News - A (ru)", "Google News - B (ru)")
    link = "https://news.google.com/rss/articles/CBMiMeduza?oc=5"
    await report(storage, a, 0, "Meduza", link)
    await report(storage, b, 1, "Meduza", link)
    story = await story_one(storage)
    assert (story.outlets, story.sources) == (("Meduza",), 1)
    sources = await storage.stories.sources(story.id)
    assert [(s.outlet, s.via) for s in sources] == [("Meduza", "Google News - A (ru)")]


async def test_another_outlet_through_the_same_feed_edits_the_alert_and_alerts_its_countries(
    storage: Storage,
) -> None:
    """As through a feed of its own: the chats with the alert get it edited to list the new
    outlet, and a chat whose filter only the new report's countries match is alerted."""
    [gn] = await add_feeds(storage, NAME)
    await storage.chats.subscribe(7, [], thread_id=None, now=NOW)
    await storage.chats.subscribe(8, ["KG"], thread_id=None, now=NOW)
    await report(storage, gn, 0, "Meduza", "https://news.google.com/rss/articles/A")
    await storage.db.execute("UPDATE deliveries SET state = 'sent', message_id = 1")
    await report(
        storage, gn, 1, "Kloop", "https://news.google.com/rss/articles/B", countries=("KG",)
    )
    assert (await story_one(storage)).sources == 2
    rows = await storage.db.fetchall("SELECT chat_id, kind FROM deliveries ORDER BY 1, 2")
    assert [tuple(r) for r in rows] == [(7, "alert"), (7, "edit"), (8, "alert")]


async def test_the_same_outlet_through_another_feed_queues_nothing(storage: Storage) -> None:
    a, b = await add_feeds(storage, "Google News - A (ru)", "Google News - B (ru)")
    await storage.chats.subscribe(7, [], thread_id=None, now=NOW)
    await report(storage, a, 0, "Meduza", "https://news.google.com/rss/articles/A")
    await storage.db.execute("UPDATE deliveries SET state = 'sent', message_id = 1")
    await report(storage, b, 1, "Meduza", "https://news.google.com/rss/articles/A2")
    rows = await storage.db.fetchall("SELECT kind FROM deliveries")
    assert [r[0] for r in rows] == ["alert"]


async def test_also_reported_by_cites_a_report_with_the_feed_it_came_through(
    storage: Storage,
) -> None:
    kloop, gn = await add_feeds(storage, "Kloop", NAME)
    await report(storage, kloop, 0, None, "https://kloop.kg/a")
    await report(storage, gn, 1, "Meduza", "https://news.google.com/rss/articles/CBMiA?oc=5")
    story = await story_one(storage)
    text = alert_card(story, sources=await storage.stories.sources(story.id)).render()[0]
    assert f"Also reported by: {CITED}" in text


async def test_the_alert_links_the_outlet_s_own_report_when_google_news_heads(
    storage: Storage,
) -> None:
    gn, meduza, kloop = await add_feeds(storage, NAME, "Meduza", "Kloop")
    await report(storage, gn, 0, "Meduza", "https://news.google.com/rss/articles/CBMiA?oc=5")
    await report(storage, kloop, 1, None, "https://kloop.kg/a")
    await report(storage, meduza, 2, None, "https://meduza.io/news/a")
    story = await story_one(storage)
    text, entities = alert_card(story, sources=await storage.stories.sources(story.id)).render()
    assert "Also reported by: Kloop, Meduza" in text
    assert {e.url for e in entities if e.url} >= {"https://meduza.io/news/a", "https://kloop.kg/a"}


@pytest.mark.parametrize(
    ("countries", "watchers", "told"),
    [
        # the outlet's own article says more than its Google News card: Kyrgyzstan ...
        (("KG", "RU"), frozenset(), (8, "alert")),
        # ... or a name a chat watches
        (("KZ", "RU"), frozenset({9}), (9, "alert")),
    ],
)
async def test_the_outlet_s_own_report_after_its_google_news_card_tells_who_it_concerns(
    storage: Storage, countries: tuple[str, ...], watchers: frozenset[int], told: tuple[int, str]
) -> None:
    """One outlet (one source, no edit), but news to the chats that only it concerns."""
    gn, meduza = await add_feeds(storage, NAME, "Meduza")
    for chat, only in ((7, []), (8, ["KG"]), (9, ["GE"])):
        await storage.chats.subscribe(chat, only, thread_id=None, now=NOW)
    await report(storage, gn, 0, "Meduza", "https://news.google.com/rss/articles/A")
    await storage.db.execute("UPDATE deliveries SET state = 'sent', message_id = 1")
    entry = make_entry(CASE_TITLE, summary=CASE_TEXT, link="https://meduza.io/news/a")
    item = incoming(entry, replace(RELEVANT, countries=countries), key="own")
    item = replace(item, fingerprint=FP.fingerprint(CASE_TITLE, CASE_TEXT, "ru"), watchers=watchers)
    await storage.stories.save(meduza, [item], now=NOW + 1, alert_max_age=10**9)
    rows = await storage.db.fetchall("SELECT chat_id, kind FROM deliveries ORDER BY 1, 2")
    assert [tuple(r) for r in rows] == [(7, "alert"), told]
    assert (await story_one(storage)).sources == 1
