"""The refresh path with real parts: the local feed server, the real fetcher, parser and
classifier, and a real SQLite file. A broken or hostile feed costs only itself a backoff step."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from bot.analysis import Analyser, Judged, LocalAnalysis
from bot.country_codes import known_country_codes
from bot.fetch import Fetcher, interleave_by_host
from bot.model import Entry, EntryFacts, FeedSpec
from bot.refresh import MAX_BACKOFF, FeedReport, Refresher
from bot.relevance import Classifier
from bot.render import alert_card
from bot.search import QueryBuilder
from bot.storage import FeedState, Storage
from bot.watch import WatchTerm
from tests.conftest import RELEVANT_ITEM, REPO, dated, make_refresher
from tests.fakes.feedserver import FeedServer, RawServer, rss
from tests.fakes.fetchers import Boom, Counting
from tests.fakes.full_disk import FullDisk

FIXTURES = REPO / "tests" / "data" / "feeds"

IRRELEVANT = {
    "title": "В Алматы прошёл марафон",
    "link": "https://example.org/b",
    "description": "Тысячи бегунов вышли на улицы города.",
    "guid": "b",
}


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(timeout=2.0, connect_timeout=1.0, max_bytes=1_000_000) as f:
        yield f


async def sync(storage: Storage, srv: FeedServer, *paths: str) -> None:
    specs = [FeedSpec(name=p.strip("/"), url=srv.url(p), interval=60.0) for p in paths]
    await storage.feeds.sync(specs, now=time.time())


async def test_new_relevant_story_is_stored_once_and_queued(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    server.set_feed("/good", rss([dated(RELEVANT_ITEM), dated(IRRELEVANT)]), etag='"v1"')
    await sync(storage, server, "/good")
    await storage.chats.subscribe(1, [], thread_id=None, now=time.time())
    r = make_refresher(storage, fetcher, classifier)
    [report] = await r.refresh_due()
    assert report.status == "ok"
    assert report.entries == 2
    assert [s.title for s in report.new_stories] == [RELEVANT_ITEM["title"]]
    assert report.new_stories[0].countries[:1] == ("KZ",)
    assert (await storage.outbox.stats(time.time())).pending == 1

    [feed] = await storage.feeds.all()
    [report] = await r.refresh([feed])  # conditional GET: the server answers 304
    assert report.status == "not_modified"
    assert server.requests_to("/good")[-1].headers.get("If-None-Match") == '"v1"'
    assert (await storage.outbox.stats(time.time())).pending == 1


async def test_backlog_is_stored_but_not_pushed(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    server.set_feed("/old", rss([dated(RELEVANT_ITEM, age=timedelta(days=10))]))
    await sync(storage, server, "/old")
    await storage.chats.subscribe(1, [], thread_id=None, now=time.time())
    [report] = await make_refresher(storage, fetcher, classifier).refresh_due()
    assert len(report.new_stories) == 1
    assert report.alerted == frozenset()
    assert (await storage.outbox.stats(time.time())).pending == 0


def hostile(server: FeedServer) -> list[str]:
    """Every kind of broken feed from the foundation issue, one path each."""
    server.set_feed("/malformed", b"<rss><channel><item><title>x</wrong></rss>")
    server.set_feed(
        "/html", b"<!doctype html><html><body>Hello</body></html>", content_type="text/html"
    )
    server.huge("/huge", 50_000_000)
    server.redirect("/loop-a", "/loop-b")
    server.redirect("/loop-b", "/loop-a")
    server.hang("/hang")
    laughs = (FIXTURES / "billion_laughs.xml").read_bytes()
    server.set_feed("/laughs", laughs)
    server.set_response("/gone", 500, b"oops")
    return ["/malformed", "/html", "/huge", "/loop-a", "/hang", "/laughs", "/gone"]


async def refresh_beside_a_good_feed(
    storage: Storage,
    server: FeedServer,
    fetcher: Fetcher,
    classifier: Classifier,
    paths: list[str],
) -> tuple[dict[str, FeedReport], dict[str, FeedState]]:
    """One cycle over the feeds at `paths` and a good one, which must come through: the
    reports and the feeds' stored states afterwards, by feed name."""
    server.set_feed("/good", rss([dated(RELEVANT_ITEM)]))
    await sync(storage, server, "/good", *paths)
    reports = {r.feed: r for r in await make_refresher(storage, fetcher, classifier).refresh_due()}
    assert reports["good"].status == "ok"
    return reports, {f.name: f for f in await storage.feeds.all()}


async def test_hostile_feeds_cost_only_themselves_a_backoff_step(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    bad = hostile(server)
    before = time.time()
    reports, feeds = await refresh_beside_a_good_feed(storage, server, fetcher, classifier, bad)
    assert len(reports["good"].new_stories) == 1
    for path in bad:
        name = path.strip("/")
        assert reports[name].status == "error", name
        assert feeds[name].error_count == 1
        assert feeds[name].last_error
        # interval 60 s, first error: 2 * 60 s with +-10% jitter
        assert 108 <= feeds[name].next_check_at - before <= 140, name
    assert feeds["good"].error_count == 0


TTL_SQUARED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><ttl>\xc2\xb2</ttl>'
    b"<item><title>a</title><link>https://e.org/1</link></item></channel></rss>"
)


def odd_numbers_and_hosts(server: FeedServer) -> list[str]:
    """Input that once escaped as ValueError or UnicodeError and ended the whole cycle."""
    server.set_feed("/ttl", TTL_SQUARED)  # "²".isdigit(), yet int() refuses it
    server.set_response("/retry", 503, headers={"Retry-After": "\u00b2"})
    server.set_response("/label", 301, headers={"Location": "http://exa_mple..com/"})
    server.set_response("/ipv6", 302, headers={"Location": "http://[::1/"})
    return ["/ttl", "/retry", "/label", "/ipv6"]


async def test_odd_numbers_and_hosts_cost_only_their_own_feed_a_backoff_step(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    odd = odd_numbers_and_hosts(server)
    reports, feeds = await refresh_beside_a_good_feed(storage, server, fetcher, classifier, odd)
    assert reports["ttl"].status == "ok"  # the <ttl> is ignored, the feed read
    for path in odd[1:]:
        name = path.strip("/")
        assert reports[name].status == "error", name
        assert feeds[name].error_count == 1, name


@pytest.mark.parametrize(
    "header",
    [
        b'ETag: "\xcf\xf0\xe8\xec\xe5\xf0-1"\r\n',  # "Пример-1" in windows-1251
        b"Last-Modified: \xc2\xf2, 10 \xe8\xfe\xed 2025 10:00:00 GMT\r\n",  # "Вт, 10 июн"
        b"Cache-Control: \xcf\xf0, max-age=\xcf\r\nExpires: \xc2\xf2, 10 \xe8\xfe\xed 2025\r\n"
        b"Content-Language: \xcf\xf0\r\nX-Note: \xcf\xf0\r\n",
    ],
)
async def test_header_bytes_that_are_not_utf8_cost_the_feed_nothing(
    storage: Storage, fetcher: Fetcher, classifier: Classifier, header: bytes
) -> None:
    # aiohttp hands such bytes (obs-text, which HTTP allows) over as lone surrogates, which
    # SQLite refused to store with the feed's success: an internal error on every poll.
    content_type = b"Content-Type: application/rss+xml; charset=utf-8\r\n"
    async with RawServer(content_type + header, rss([dated(RELEVANT_ITEM)])) as raw:
        spec = FeedSpec(name="Outlet", url=raw.url("/rss"), interval=60.0)
        await storage.feeds.sync([spec], now=time.time())
        refresher = make_refresher(storage, fetcher, classifier)
        for _ in range(2):
            [feed] = await storage.feeds.all()
            [report] = await refresher.refresh([feed])
            assert (report.status, report.entries) == ("ok", 1), report.detail
    [feed] = await storage.feeds.all()
    assert (feed.etag, feed.last_modified, feed.error_count) == (None, None, 0)
    assert b"If-" not in raw.heads[-1]  # with no validator kept, the next poll asks in full


async def test_a_charset_label_of_no_text_encoding_costs_the_feed_nothing(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    body = rss([dated(RELEVANT_ITEM)], encoding="cp1251", declare_encoding=False)
    server.set_feed("/rss", body, content_type="application/rss+xml; charset=undefined")
    await sync(storage, server, "/rss")
    [report] = await make_refresher(storage, fetcher, classifier).refresh_due()
    assert (report.status, report.entries) == ("ok", 1), report.detail
    assert [s.title for s in report.new_stories] == [RELEVANT_ITEM["title"]]


async def test_an_article_link_with_a_malformed_host_is_only_not_fetched(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    item = {"title": "Short", "link": "http://" + "a" * 64 + ".example/x", "guid": "z"}
    server.set_feed("/thin", rss([dated(item)]))
    await sync(storage, server, "/thin")
    [report] = await make_refresher(storage, fetcher, classifier).refresh_due()
    assert report.status == "ok"
    assert report.entries == 1


async def test_a_bug_in_one_feed_is_its_logged_error_and_the_cycle_goes_on(
    storage: Storage,
    server: FeedServer,
    fetcher: Fetcher,
    classifier: Classifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.set_feed("/good", rss([dated(RELEVANT_ITEM)]))
    await sync(storage, server, "/good", "/buggy")
    before = time.time()
    r = make_refresher(storage, Boom(fetcher, server.url("/buggy")), classifier)
    with caplog.at_level(logging.ERROR, logger="bot.refresh"):
        reports = {r.feed: r for r in await r.refresh_due()}
    assert reports["good"].status == "ok"
    assert reports["buggy"].status == "error"
    feeds = {f.name: f for f in await storage.feeds.all()}
    assert feeds["buggy"].error_count == 1
    assert feeds["buggy"].last_error == "ValueError: internal error"  # not the message
    assert 108 <= feeds["buggy"].next_check_at - before <= 140  # a backoff step
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None  # the traceback, for whoever fixes the bug


async def test_a_bug_in_reading_an_article_page_costs_only_that_page(
    storage: Storage,
    server: FeedServer,
    fetcher: Fetcher,
    classifier: Classifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    item = {"title": "Short", "link": server.url("/article"), "guid": "a"}
    server.set_feed("/thin", rss([dated(item)]))
    await sync(storage, server, "/thin")
    r = make_refresher(storage, Boom(fetcher, server.url("/article")), classifier)
    with caplog.at_level(logging.ERROR, logger="bot.refresh"):
        [report] = await r.refresh_due()
    assert (report.status, report.entries) == ("ok", 1)
    [feed] = await storage.feeds.all()
    assert feed.error_count == 0
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None


async def test_backoff_grows_and_is_capped(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    server.set_response("/down", 503, b"")
    await sync(storage, server, "/down")
    r = make_refresher(storage, fetcher, classifier)
    delays = []
    for _ in range(12):
        [feed] = await storage.feeds.all()
        start = time.time()
        await r.refresh([feed])
        [feed] = await storage.feeds.all()
        delays.append(feed.next_check_at - start)
    assert delays[1] > delays[0] * 1.5
    assert max(delays) <= MAX_BACKOFF * 1.11
    assert feed.error_count == 12


async def test_a_watched_name_in_an_irrelevant_entry_alerts_its_watcher_once(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    marathon = {**IRRELEVANT, "description": "Среди бегунов был Иван Бажуков из Москвы."}
    server.set_feed("/watched", rss([dated(RELEVANT_ITEM), dated(marathon)]))
    await sync(storage, server, "/watched")
    now = time.time()
    await storage.chats.subscribe(1, [], thread_id=None, now=now)  # subscribed, watches nothing
    await storage.chats.ensure(2, now)  # not subscribed, watches Bazhukov
    await storage.watchlist.add(2, "bashukov", "Bazhukov", now=now, limit=50)
    r = make_refresher(storage, fetcher, classifier)
    [report] = await r.refresh_due()
    assert report.status == "ok"
    due = await storage.outbox.due(time.time(), limit=10)
    by_chat = {d.chat_id: d.story.title for d in due}
    assert by_chat == {1: RELEVANT_ITEM["title"], 2: IRRELEVANT["title"]}
    await storage.feeds.record_success(  # poll again at once: nothing new, nothing re-queued
        (await storage.feeds.all())[0].id, now=now, next_check_at=0, etag=None, last_modified=None
    )
    await r.refresh_due()
    assert (await storage.outbox.stats(time.time())).pending == 2


SAME_LINK_A = {
    "title": "Казахстан экстрадировал в Россию антивоенного активиста Семёна Бажукова",
    "description": "Власти Казахстана выдали России активиста Семёна Бажукова.",
}
SAME_LINK_B = {
    "title": "Кыргызстан депортировал в Россию дезертира Никиту Журавлёва",
    "description": "Власти Кыргызстана выслали в Россию дезертира Никиту Журавлёва.",
}


@pytest.mark.parametrize("link", ["https://example.org/", "https://example.org/live"])
async def test_two_guidless_items_under_one_link_stay_two_stories_poll_after_poll(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier, link: str
) -> None:
    """A feed without GUIDs that links every item to one page: the second case was taken
    for an edit of the first (one alert lost), and the story's text flipped at every poll."""
    items = [dated({**SAME_LINK_A, "link": link}), dated({**SAME_LINK_B, "link": link})]
    server.set_feed("/f", rss(items))
    await storage.feeds.sync([FeedSpec("f", server.url("/f"), interval=60.0)], now=time.time())
    await storage.chats.subscribe(1, [], thread_id=None, now=time.time())
    refresher = make_refresher(storage, fetcher, classifier)
    both = sorted([SAME_LINK_A["title"], SAME_LINK_B["title"]])
    [report] = await refresher.refresh(await storage.feeds.all())
    assert sorted(s.title for s in report.new_stories) == both
    for _ in range(2):
        await refresher.refresh(await storage.feeds.all())
        assert sorted(s.title for s in await storage.stories.recent(10)) == both
    assert await storage.outbox.pending_count(1) == 2


class JudgedTitles(LocalAnalysis):
    """The analysis the bot runs, noting the title of each entry it is asked to judge."""

    def __init__(self, classifier: Classifier) -> None:
        super().__init__(Analyser(classifier))
        self.titles: list[str] = []

    async def judge(
        self,
        entries: Sequence[Entry],
        lang: str | None,
        watches: tuple[WatchTerm, ...],
        known: Sequence[EntryFacts | None] = (),
    ) -> list[Judged]:
        self.titles.extend(e.title for e in entries)
        return await super().judge(entries, lang, watches, known)


async def test_a_reports_address_changed_alone_moves_and_nothing_else_is_judged_again(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    """A slug changed alone (the same GUID, title and lead): the story cites the new address.
    Entries the storage has nothing to do with are not judged again, an off-topic one at a
    new address among them (it has no story to cite it)."""
    analysis = JudgedTitles(classifier)
    refresher = Refresher(storage, fetcher, analysis, alert_max_age=48 * 3600, rng=random.Random(1))
    items = [dated(RELEVANT_ITEM), dated(IRRELEVANT)]
    server.set_feed("/f", rss(items))
    await storage.feeds.sync([FeedSpec("f", server.url("/f"), interval=60.0)], now=time.time())
    await storage.chats.subscribe(1, [], thread_id=None, now=time.time())
    await refresher.refresh(await storage.feeds.all())
    assert len(analysis.titles) == 2
    moved = [{**item, "link": f"{item['link']}-slug"} for item in items]
    for _ in range(2):  # the second time, nothing has changed
        server.set_feed("/f", rss(moved))
        await refresher.refresh(await storage.feeds.all())
        assert analysis.titles[2:] == [RELEVANT_ITEM["title"]]
        [story] = await storage.stories.recent(10)
        assert story.link == "https://example.org/a-slug"
        [source] = await storage.stories.sources(story.id)
        assert source.link == story.link
        assert (await storage.outbox.stats(time.time())).pending == 1


async def test_an_item_re_served_blank_is_not_judged_and_keeps_its_story(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    """The same GUID with a title of only markup and an empty description (a CMS glitch) was
    an edit: the story read "(no title)" and /search by the person's name found nothing."""
    analysis = JudgedTitles(classifier)
    refresher = Refresher(storage, fetcher, analysis, alert_max_age=48 * 3600, rng=random.Random(1))
    title = "Казахстан экстрадировал в Россию антивоенного активиста Бажукова"
    text = "Власти Казахстана выдали России активиста Семёна Бажукова, бежавшего от мобилизации."
    item = dated({**RELEVANT_ITEM, "title": title, "description": text})
    server.set_feed("/f", rss([item]))
    await storage.feeds.sync([FeedSpec("f", server.url("/f"), interval=60.0)], now=time.time())
    await storage.chats.subscribe(1, [], thread_id=None, now=time.time())
    await refresher.refresh(await storage.feeds.all())
    server.set_feed("/f", rss([{**item, "title": "<b></b>", "description": ""}]))
    [report] = await refresher.refresh(await storage.feeds.all())
    assert (report.status, analysis.titles) == ("ok", [title])
    [story] = await storage.stories.recent(5)
    assert (story.title, story.summary) == (title, text)
    card = alert_card(story).render()[0]
    assert ("(no title)" in card, title in card) == (False, True)
    query = QueryBuilder(known_country_codes()).build("Бажуков")
    assert [s.id for s in await storage.search.stories(query, limit=5)] == [story.id]


async def test_feeds_are_interleaved_by_host_however_the_host_is_written(
    storage: Storage,
) -> None:
    urls = {
        "a1": "https://feeds.example/1",
        "a2": "https://FEEDS.example./2",
        "a3": "https://feeds.example/3",
        "b": "https://other.example/1",
    }
    await storage.feeds.sync([FeedSpec(n, u) for n, u in urls.items()], now=time.time())
    started = interleave_by_host(await storage.feeds.all(), lambda feed: feed.url)
    assert [f.name for f in started] == ["a1", "b", "a2", "a3"]


@pytest.fixture
async def full_disk(tmp_path: Path) -> AsyncIterator[tuple[Storage, FullDisk]]:
    """A storage on a real file whose writes fail while `FullDisk.full` is set."""
    db = await FullDisk.open(tmp_path / "test.sqlite3")
    store = Storage(db)
    try:
        yield store, db
    finally:
        await store.close()


async def test_a_database_refusing_writes_ends_no_cycle_early_and_logs_one_line(
    full_disk: tuple[Storage, FullDisk],
    server: FeedServer,
    fetcher: Fetcher,
    classifier: Classifier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A disk full: each feed's outcome, and then its error, fail to be stored. That escaped
    the cycle at the first feed while the others' refreshes went on untracked (a stop closed
    the database under them, and the next tick started them a second time)."""
    storage, db = full_disk
    server.set_feed("/quick", rss([dated(RELEVANT_ITEM)]))
    server.slow("/slow", rss([dated(IRRELEVANT)]), seconds=0.5)
    server.set_response("/down", 503, b"")
    await sync(storage, server, "/quick", "/slow", "/down", "/buggy")
    counting = Counting(fetcher)
    r = make_refresher(storage, Boom(counting, server.url("/buggy")), classifier)
    db.full = True
    with caplog.at_level(logging.ERROR, logger="bot.refresh"):
        reports = await r.refresh_due()
    assert counting.under_way == 0
    assert sorted(rep.feed for rep in reports) == ["buggy", "down", "quick", "slow"]
    assert {rep.status for rep in reports} == {"error"}
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    [line] = [rec for rec in errors if rec.exc_info is None]
    assert "database or disk is full" in line.getMessage()
    assert "feeds not recorded: 4" in line.getMessage()
    [bug] = [rec for rec in errors if rec.exc_info is not None]  # the bug's own, none per feed
    assert "buggy" in bug.getMessage()


async def test_a_feed_whose_outcome_was_not_stored_is_not_fetched_before_its_step(
    full_disk: tuple[Storage, FullDisk],
    server: FeedServer,
    fetcher: Fetcher,
    classifier: Classifier,
) -> None:
    """Nothing stored, every feed stayed due: each tick fetched them all again (a feed polled
    every 8 s was fetched 16 times in 20 s). Held in memory, each waits a backoff step."""
    storage, db = full_disk
    server.set_feed("/ok", rss([dated(RELEVANT_ITEM)]))
    server.set_response("/down", 503, b"")
    await sync(storage, server, "/ok", "/down")  # interval 60 s
    start = time.time()
    now = [start]
    r = make_refresher(storage, fetcher, classifier, clock=lambda: now[0])
    db.full = True

    def fetched() -> list[int]:
        return [len(server.requests_to(p)) for p in ("/ok", "/down")]

    assert [rep.status for rep in await r.refresh_due()] == ["error", "error"]
    assert fetched() == [1, 1]
    for later in (0.0, 1.0, 100.0):  # a first step: 2 x 60 s, +-10%
        now[0] = start + later
        assert await r.refresh_due() == []
    assert fetched() == [1, 1]
    db.full = False
    now[0] = start + 140.0
    assert sorted(rep.status for rep in await r.refresh_due()) == ["error", "ok"]
    assert fetched() == [2, 2]
    feeds = {f.name: f for f in await storage.feeds.all()}
    assert feeds["down"].error_count == 1  # the unstored outcome was not the feed's error
    assert feeds["ok"].last_success_at == start + 140.0
