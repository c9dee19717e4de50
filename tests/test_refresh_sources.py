"""Sources at scale through the real refresh path and the local feed server: 301, 410, 429 with
Retry-After, cache hints, adapting, failing for days, per-host politeness, Telegram previews and
full article text."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.channel_pages import CATCH_UP_PAGES
from bot.cli import report_line
from bot.fetch import Fetcher
from bot.model import FeedSpec
from bot.refresh import FeedReport, Refresher
from bot.relevance import Classifier
from bot.schedule import DISABLE_AFTER, TELL_ADMINS_AFTER, longest_wait
from bot.storage import FeedState, Storage
from tests.conftest import RELEVANT_ITEM, REPO, dated, make_refresher, public_or_loopback
from tests.fakes.feedserver import FeedServer, rss
from tests.fakes.fetchers import Recording

FIXTURES = REPO / "tests" / "data" / "feeds"


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    # Article pages come from the local feed server here.
    async with Fetcher(
        timeout=3.0, connect_timeout=1.0, max_bytes=1_000_000, page_addresses=public_or_loopback
    ) as f:
        yield f


async def only(storage: Storage, spec: FeedSpec) -> FeedState:
    await storage.feeds.sync([spec], now=time.time())
    [feed] = await storage.feeds.listed()
    return feed


async def test_permanent_redirect_moves_the_stored_address_and_survives_a_restart(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    server.set_feed("/new", rss([dated(RELEVANT_ITEM)]))
    server.redirect("/old", "/new", status=301)
    spec = FeedSpec("moved", server.url("/old"), interval=60)
    feed = await only(storage, spec)
    [report] = await make_refresher(storage, fetcher, classifier).refresh([feed])
    assert report.status == "ok"
    [feed] = await storage.feeds.listed()
    assert feed.url == server.url("/new")
    await storage.feeds.sync([spec], now=time.time())  # the same feeds.yaml on the next start
    [feed] = await storage.feeds.listed()
    assert feed.url == server.url("/new")


async def moved_onto_a_listed_feed(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> tuple[list[FeedSpec], list[FeedReport]]:
    """The outlet folded its KZ feed into its main one, which feeds.yaml lists too; one cycle."""
    server.set_feed("/all", rss([dated(RELEVANT_ITEM)]))
    server.redirect("/kz", "/all", status=301)
    specs = [FeedSpec("Outlet", server.url("/all")), FeedSpec("Outlet KZ", server.url("/kz"))]
    await storage.feeds.sync(specs, now=time.time())
    reports = await make_refresher(storage, fetcher, classifier).refresh(await storage.feeds.all())
    return specs, reports


async def test_a_move_onto_another_listed_feed_disables_the_one_that_moved(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    # Moving it would poll that address twice and count the outlet twice in every story.
    _, reports = await moved_onto_a_listed_feed(storage, server, fetcher, classifier)
    assert [(r.status, r.detail) for r in reports] == [
        ("ok", ""), ("error", "disabled: moved to the address of Outlet")
    ]  # fmt: skip
    by_name = {f.name: f for f in await storage.feeds.listed()}
    # Where it went, so that a restart sees it is polled there already (and it is polled
    # there if feeds.yaml no longer lists the other).
    assert by_name["Outlet KZ"].url == server.url("/all")
    assert by_name["Outlet KZ"].disabled_reason == "moved to the address of Outlet"
    assert [f.name for f in await storage.feeds.all()] == ["Outlet"]


async def test_a_feed_moved_onto_another_stores_nothing_it_fetched_there(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    # Its entries were saved before it was disabled: each story from that address listed the
    # outlet twice.
    await moved_onto_a_listed_feed(storage, server, fetcher, classifier)
    rows = await storage.db.fetchall(
        "SELECT f.name FROM entries e JOIN feeds f ON f.id = e.feed_id ORDER BY f.name"
    )
    assert [r[0] for r in rows] == ["Outlet"]
    [story] = await storage.stories.recent(5)
    assert [s.outlet for s in await storage.stories.sources(story.id)] == ["Outlet"]


async def test_a_feed_moved_onto_another_stays_stopped_and_told_once_across_restarts(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    # It kept its old address, so each start found nobody polled there, resumed it, and its
    # next poll disabled it again: the same notice to the admins after every restart.
    specs, _ = await moved_onto_a_listed_feed(storage, server, fetcher, classifier)
    due = await storage.feeds.notices_due(time.time(), failing_for=TELL_ADMINS_AFTER)
    assert [f.name for f in due] == ["Outlet KZ"]
    await storage.feeds.mark_told(due, now=time.time())
    for _ in range(2):
        await storage.feeds.sync(specs, now=time.time())  # the same feeds.yaml, next start
        assert [f.name for f in await storage.feeds.all()] == ["Outlet"]
        await make_refresher(storage, fetcher, classifier).refresh(await storage.feeds.all())
    assert await storage.feeds.notices_due(time.time(), failing_for=TELL_ADMINS_AFTER) == []
    assert [r.path for r in server.requests].count("/kz") == 1


async def test_two_feeds_moved_to_one_address_in_one_cycle_are_not_both_polled_there(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    # The outlet folds its KZ and KG feeds into one new feed, which feeds.yaml does not list;
    # both are refreshed at once, and both found nobody polled there.
    server.set_feed("/all", rss([dated(RELEVANT_ITEM)]))
    server.redirect("/kz", "/all", status=301)
    server.redirect("/kg", "/all", status=301)
    specs = [FeedSpec("Outlet KZ", server.url("/kz")), FeedSpec("Outlet KG", server.url("/kg"))]
    await storage.feeds.sync(specs, now=time.time())
    reports = await make_refresher(storage, fetcher, classifier).refresh(await storage.feeds.all())
    assert sorted(r.status for r in reports) == ["error", "ok"]
    [kept] = await storage.feeds.all()
    assert kept.url == server.url("/all")
    [story] = await storage.stories.recent(5)
    assert [s.outlet for s in await storage.stories.sources(story.id)] == [kept.name]
    stopped = [f for f in await storage.feeds.listed() if f.name != kept.name]
    assert [f.disabled_reason for f in stopped] == [f"moved to the address of {kept.name}"]


async def test_a_move_answered_by_304_is_recorded_too(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    # The site moved after our last fetch, and the new address knows our validators.
    server.set_feed("/new", rss([dated(RELEVANT_ITEM)]), etag='"v1"')
    server.redirect("/old", "/new", status=301)
    feed = await only(storage, FeedSpec("moved", server.url("/old"), interval=60))
    [report] = await make_refresher(storage, fetcher, classifier).refresh(
        [replace(feed, etag='"v1"')]
    )
    assert report.status == "not_modified"
    [feed] = await storage.feeds.listed()
    assert feed.url == server.url("/new")


async def test_a_304_with_new_validators_replaces_the_stored_ones(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    server.set_feed("/rss", rss([dated(RELEVANT_ITEM)]), etag='"v1"')
    feed = await only(storage, FeedSpec("f", server.url("/rss"), interval=60))
    r = make_refresher(storage, fetcher, classifier)
    await r.refresh([feed])
    server.set_response("/rss", 304, headers={"ETag": '"v2"'})
    [feed] = await storage.feeds.listed()
    [report] = await r.refresh([feed])
    assert report.status == "not_modified"
    [feed] = await storage.feeds.listed()
    assert feed.etag == '"v2"'
    await r.refresh([feed])
    assert server.requests_to("/rss")[-1].headers["If-None-Match"] == '"v2"'


async def test_temporary_redirect_does_not_move_it(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    server.set_feed("/new", rss([dated(RELEVANT_ITEM)]))
    server.redirect("/old", "/new", status=302)
    feed = await only(storage, FeedSpec("temp", server.url("/old"), interval=60))
    await make_refresher(storage, fetcher, classifier).refresh([feed])
    [feed] = await storage.feeds.listed()
    assert feed.url == server.url("/old")


async def test_410_disables_until_the_address_changes(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    server.set_response("/gone", 410)
    feed = await only(storage, FeedSpec("gone", server.url("/gone"), interval=60))
    [report] = await make_refresher(storage, fetcher, classifier).refresh([feed])
    assert "disabled" in report.detail
    assert await storage.feeds.due(time.time() + 10**6) == []
    assert await storage.feeds.all() == []
    [listed] = await storage.feeds.listed()
    assert listed.disabled_reason == "gone (HTTP 410)"
    assert [f.name for f in await storage.feeds.notices_due(time.time(), failing_for=1e9)] == [
        "gone"
    ]
    server.set_feed("/back", rss([dated(RELEVANT_ITEM)]))
    await storage.feeds.sync([FeedSpec("gone", server.url("/back"), interval=60)], time.time())
    [feed] = await storage.feeds.due(time.time())
    assert feed.disabled_reason is None


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured_within_bounds(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier, status: int
) -> None:
    server.set_response("/busy", status, headers={"Retry-After": "3600"})
    feed = await only(storage, FeedSpec("busy", server.url("/busy"), interval=60))
    start = time.time()
    await make_refresher(storage, fetcher, classifier).refresh([feed])
    [feed] = await storage.feeds.listed()
    assert 3600 <= feed.next_check_at - start <= 3600 * 1.1 + 5  # never sooner than asked
    server.set_response("/busy", status, headers={"Retry-After": str(30 * 86400)})
    await make_refresher(storage, fetcher, classifier).refresh([feed])
    [feed] = await storage.feeds.listed()
    assert feed.next_check_at - start <= 6 * 3600 * 1.1 + 5  # capped, never a month


async def test_a_restart_does_not_cut_a_retry_after_short(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    server.set_response("/busy", 429, headers={"Retry-After": "3600"})
    spec = FeedSpec("busy", server.url("/busy"), interval=60)
    feed = await only(storage, spec)
    await make_refresher(storage, fetcher, classifier).refresh([feed])
    await storage.feeds.sync([spec], now=time.time())  # what a restart does
    [feed] = await storage.feeds.listed()
    assert feed.next_check_at - time.time() > 3000


async def test_a_429_retry_after_holds_the_other_feeds_of_that_host(
    storage: Storage, server: FeedServer, classifier: Classifier
) -> None:
    # Every public Telegram channel is on t.me: each one asked again within the hour, got a
    # 429 of its own, and counted it as its own failure.
    server.set_response("/s/one", 500)
    server.set_feed("/s/two", rss([dated(RELEVANT_ITEM)]))
    server.set_feed("/s/three", rss([dated(RELEVANT_ITEM)]))
    specs = [FeedSpec(n, server.url(f"/s/{n}")) for n in ("one", "two", "three")]
    start = time.time()
    now = [start]
    await storage.feeds.sync(specs, now=start)
    async with Fetcher(timeout=3.0, clock=lambda: now[0]) as fetcher:
        r = make_refresher(storage, fetcher, classifier, clock=lambda: now[0])
        by_name = {f.name: f for f in await storage.feeds.all()}
        await r.refresh([by_name["one"]])  # failing: a streak of its own
        server.set_response("/s/two", 429, headers={"Retry-After": "3600"})
        await r.refresh([by_name["two"]])  # the host says "an hour"
        now[0] = start + 60
        before = {f.name: f for f in await storage.feeds.all()}
        reports = await r.refresh([before["one"], before["three"]])  # due a minute later
        assert [(r.status, r.detail.split(":")[0]) for r in reports] == [("held", "HostPaused")] * 2
        # poll --once says so, not "error": nothing is wrong with these feeds.
        assert (
            report_line(reports[0])
            == "one: not polled: HostPaused: its host asked to wait 3540 s more"
        )
        assert [q.path for q in server.requests] == ["/s/one", "/s/two"]
        after = {f.name: f for f in await storage.feeds.all()}
        for name in ("one", "three"):
            # Not polled: until the host's hour is over, and nothing about their own health.
            assert start + 3600 <= after[name].next_check_at <= start + 3600 * 1.1 + 60
            health = ("error_count", "failing_since", "last_error", "last_error_at")
            assert [getattr(after[name], k) for k in health] == [
                getattr(before[name], k) for k in health
            ]
        assert after["three"].error_count == 0
        assert after["one"].error_count == 1
        now[0] = after["three"].next_check_at
        [report] = await r.refresh([after["three"]])
        assert report.status == "ok"


async def test_a_paused_host_gets_no_article_page_requests_either(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    server.set_response("/busy", 429, headers={"Retry-After": "3600"})
    server.set_feed("/article", ARTICLE, content_type="text/html; charset=utf-8")
    item = {"title": "Новость", "link": server.url("/article"), "guid": "g",
            "pubDate": datetime.now(UTC)}  # fmt: skip
    server.set_feed("/titles", rss([item]))
    titles = server.url("/titles").replace("127.0.0.1", "localhost")  # another host
    specs = [FeedSpec("busy", server.url("/busy")), FeedSpec("titles", titles, lang="ru")]
    await storage.feeds.sync(specs, now=time.time())
    by_name = {f.name: f for f in await storage.feeds.all()}
    r = make_refresher(storage, fetcher, classifier)
    await r.refresh([by_name["busy"]])
    [report] = await r.refresh([by_name["titles"]])
    assert (report.status, report.entries) == ("ok", 1)
    assert server.requests_to("/article") == []


async def test_a_host_answering_429_for_days_disables_none_of_its_feeds(
    storage: Storage, server: FeedServer, classifier: Classifier
) -> None:
    # A 429 is the host limiting this client, not a feed failing: disabled after three days,
    # every channel on t.me would need a new address in feeds.yaml to be polled again.
    for name in ("one", "two"):
        server.set_response(f"/s/{name}", 429, headers={"Retry-After": "3600"})
    specs = [FeedSpec(n, server.url(f"/s/{n}")) for n in ("one", "two")]
    start = time.time()
    now = [start]
    await storage.feeds.sync(specs, now=start)
    async with Fetcher(timeout=3.0, clock=lambda: now[0]) as fetcher:
        r = make_refresher(storage, fetcher, classifier, clock=lambda: now[0])
        while now[0] < start + DISABLE_AFTER + 86400:
            await r.refresh_due()
            now[0] += 1200
    listed = await storage.feeds.listed()
    assert [f.disabled_reason for f in listed] == [None, None]
    assert all(f.error_count > 1 for f in listed)  # each had 429s of its own
    notices = await storage.feeds.notices_due(now[0], failing_for=TELL_ADMINS_AFTER)
    assert [f.name for f in notices] == ["one", "two"]  # the admins are told they fail
    # Both at the start, then at most one request an hour, as the host asked.
    assert len(server.requests) <= 2 + (now[0] - start) / 3600


async def test_cache_control_and_ttl_lengthen_the_wait_up_to_the_ceiling(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    server.set_feed("/ttl", (FIXTURES / "rss092_ttl.xml").read_bytes(), etag='"v1"')  # <ttl>90
    spec = FeedSpec("ttl", server.url("/ttl"), interval=60, min_interval=30, max_interval=7200)
    feed = await only(storage, spec)
    start = time.time()
    await make_refresher(storage, fetcher, classifier).refresh([feed])
    [feed] = await storage.feeds.listed()
    assert 5400 <= feed.next_check_at - start <= 5400 * 1.1 + 5
    # A 304 has no <ttl> in it, but the feed still asks for 90 minutes.
    start = time.time()
    [report] = await make_refresher(storage, fetcher, classifier).refresh([feed])
    assert report.status == "not_modified"
    [feed] = await storage.feeds.listed()
    assert 5400 <= feed.next_check_at - start <= 5400 * 1.1 + 5
    # A ceiling below the hint wins: we never wait longer than our ceiling.
    spec = replace(spec, max_interval=600)
    feed = await only(storage, spec)
    await make_refresher(storage, fetcher, classifier).refresh([feed])
    [feed] = await storage.feeds.listed()
    assert feed.next_check_at - time.time() <= 600 * 1.1 + 5


async def test_interval_adapts_between_floor_and_ceiling(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    server.set_feed("/quiet", rss([dated(RELEVANT_ITEM)]), etag='"v1"')
    spec = FeedSpec("quiet", server.url("/quiet"), interval=600, min_interval=300,
                    max_interval=1500)  # fmt: skip
    feed = await only(storage, spec)
    r = make_refresher(storage, fetcher, classifier)
    await r.refresh([feed])  # new entries, undated gaps unknown (one item): halve
    seen = []
    for _ in range(4):
        [feed] = await storage.feeds.listed()
        seen.append(feed.poll_interval)
        await r.refresh([feed])  # 304 every time: lengthen by half, up to the ceiling
    [feed] = await storage.feeds.listed()
    seen.append(feed.poll_interval)
    assert seen == [300, 450, 675, 1012.5, 1500]


async def poll_until(refresher: Refresher, storage: Storage, clock: list[float], end: float) -> str:
    """Poll the one feed each time it falls due until `end`; the last report's detail."""
    detail = ""
    while True:
        [feed] = await storage.feeds.listed()
        if feed.disabled_reason is not None or feed.next_check_at > end:
            return detail
        clock[0] = max(clock[0], feed.next_check_at)
        [report] = await refresher.refresh([feed])
        detail = report.detail


async def test_failing_for_three_days_disables_and_is_noticed_once(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    server.set_response("/down", 500)
    feed = await only(storage, FeedSpec("down", server.url("/down"), interval=60))
    clock = [time.time()]
    r = make_refresher(storage, fetcher, classifier, alert_max_age=1, clock=lambda: clock[0])
    start = clock[0]
    await r.refresh([feed])
    [feed] = await storage.feeds.listed()
    assert feed.failing_since == start
    assert await storage.feeds.notices_due(clock[0], failing_for=TELL_ADMINS_AFTER) == []

    await poll_until(r, storage, clock, start + TELL_ADMINS_AFTER + 1)
    clock[0] = start + TELL_ADMINS_AFTER + 1
    due = await storage.feeds.notices_due(clock[0], failing_for=TELL_ADMINS_AFTER)
    assert [(f.name, f.disabled_reason) for f in due] == [("down", None)]
    await storage.feeds.mark_told(due, now=clock[0])
    assert await storage.feeds.notices_due(clock[0], failing_for=TELL_ADMINS_AFTER) == []

    detail = await poll_until(r, storage, clock, start + DISABLE_AFTER + 8 * 3600)
    assert "disabled: failing for 3 days" in detail
    due = await storage.feeds.notices_due(clock[0], failing_for=TELL_ADMINS_AFTER)
    assert [f.disabled_reason for f in due] == ["failing for 3 days"]
    await storage.feeds.mark_told(due, now=clock[0])
    assert await storage.feeds.notices_due(clock[0], failing_for=TELL_ADMINS_AFTER) == []


async def test_the_bots_own_outage_disables_no_feed(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    """Nothing answers for four days: the bot's own network (DNS, a cable) is down, which says
    nothing about the feeds. Disabling them all would need every address changed in
    feeds.yaml to bring them back. A feed that still cannot be reached once others answer
    again is counted from then, and disabled after 3 days of that."""
    dead = await only(storage, FeedSpec("dead", "http://127.0.0.1:9/rss", interval=60))
    clock = [time.time()]
    r = make_refresher(storage, fetcher, classifier, alert_max_age=1, clock=lambda: clock[0])
    start = clock[0]
    detail = await poll_until(r, storage, clock, start + DISABLE_AFTER + 86400)
    assert "ConnectError" in detail
    [dead] = await storage.feeds.listed()
    assert dead.disabled_reason is None

    server.set_feed("/rss", rss([dated(RELEVANT_ITEM)]))  # the network is back
    specs = [FeedSpec("dead", dead.url, interval=60), FeedSpec("live", server.url("/rss"))]
    await storage.feeds.sync(specs, now=clock[0])
    back = clock[0]
    while clock[0] < back + DISABLE_AFTER + 86400:
        feeds = [f for f in await storage.feeds.listed() if f.disabled_reason is None]
        clock[0] = max(clock[0], min(f.next_check_at for f in feeds))
        await r.refresh(sorted(feeds, key=lambda f: f.name != "live"))  # "live" answers first
    [dead, live] = await storage.feeds.listed()
    assert (dead.name, dead.disabled_reason, live.disabled_reason) == (
        "dead",
        "failing for 3 days",
        None,
    )
    assert dead.failing_since is not None
    assert dead.failing_since >= back


async def test_time_nobody_polled_is_not_time_failing(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    # One error, the bot stopped for four days (or the feed unlisted), one more error after
    # the restart: a new streak, not "failing for 3 days".
    server.set_response("/flaky", 500)
    feed = await only(storage, FeedSpec("flaky", server.url("/flaky"), interval=60))
    clock = [time.time()]
    r = make_refresher(storage, fetcher, classifier, clock=lambda: clock[0])
    await r.refresh([feed])
    clock[0] += DISABLE_AFTER + 86400
    [feed] = await storage.feeds.listed()
    [report] = await r.refresh([feed])
    [feed] = await storage.feeds.listed()
    assert "disabled" not in report.detail
    assert (feed.disabled_reason, feed.failing_since, feed.error_count) == (None, clock[0], 1)


async def test_a_clock_that_was_ahead_does_not_stop_polling_for_good(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    # A poll made while the host's clock was a year ahead set its next check a year ahead; a
    # restart with the right time brings it back within what any wait may last.
    server.set_feed("/rss", rss([dated(RELEVANT_ITEM)]))
    spec = FeedSpec("f", server.url("/rss"), interval=600, max_interval=7200)
    feed = await only(storage, spec)
    ahead = time.time() + 365 * 86400
    await make_refresher(storage, fetcher, classifier, clock=lambda: ahead).refresh([feed])
    now = time.time()
    await storage.feeds.sync([spec], now=now)
    [feed] = await storage.feeds.listed()
    assert feed.next_check_at <= now + 6 * 3600 * 1.1


async def test_a_clock_set_back_while_running_does_not_stop_polling(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    # The same while the bot runs: the clock two days ahead at a poll, then set right. No
    # wait lasts longer than `longest_wait`, so seven hours later the feed is due, not in two
    # days.
    server.set_feed("/rss", rss([dated(RELEVANT_ITEM)]))
    now = [time.time() + 2 * 86400]
    feed = await only(storage, FeedSpec("f", server.url("/rss"), interval=600))
    r = make_refresher(storage, fetcher, classifier, clock=lambda: now[0])
    assert [report.status for report in await r.refresh_due()] == ["ok"]
    now[0] = time.time() + 7 * 3600
    assert longest_wait(600) < 7 * 3600
    assert [f.name for f in await storage.feeds.due(now[0])] == [feed.name]
    assert [report.status for report in await r.refresh_due()] == ["ok"]
    assert await storage.feeds.due(now[0] + 60) == []  # an ordinary wait is kept


async def test_success_ends_the_streak_so_a_new_one_is_told_again(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    server.set_response("/flaky", 500)
    feed = await only(storage, FeedSpec("flaky", server.url("/flaky"), interval=60))
    clock = [time.time()]
    r = make_refresher(storage, fetcher, classifier, alert_max_age=1, clock=lambda: clock[0])
    await r.refresh([feed])
    clock[0] += TELL_ADMINS_AFTER + 1
    [feed] = await storage.feeds.listed()
    await storage.feeds.mark_told(
        await storage.feeds.notices_due(clock[0], failing_for=TELL_ADMINS_AFTER), now=clock[0]
    )
    server.set_feed("/flaky", rss([dated(RELEVANT_ITEM)]))
    await r.refresh([feed])
    [feed] = await storage.feeds.listed()
    assert (feed.failing_since, feed.told_failing_at, feed.error_count) == (None, None, 0)


async def test_per_host_limit_and_global_limit(
    storage: Storage, server: FeedServer, classifier: Classifier
) -> None:
    for n in range(8):
        server.slow(f"/s{n}", rss([dated({**RELEVANT_ITEM, "guid": str(n)})]), seconds=0.2)
    specs = [FeedSpec(f"s{n}", server.url(f"/s{n}"), interval=60) for n in range(8)]
    await storage.feeds.sync(specs, now=time.time())
    async with Fetcher(timeout=5, per_host=2) as polite:
        reports = await make_refresher(storage, polite, classifier).refresh(
            await storage.feeds.all()
        )
    assert {r.status for r in reports} == {"ok"}
    assert server.max_in_flight == 2


@pytest.mark.parametrize(
    ("page", "relevant"),
    [
        ("telegram_preview.html", "https://t.me/twtest/1201"),
        # Posts with media or custom emoji, whose text is not directly in the post's bubble:
        # every one of them was skipped. The photo without a caption has nothing to judge.
        ("telegram_preview_media.html", "https://t.me/twtest/4660"),
    ],
)
async def test_telegram_channel_goes_through_the_same_story_path(
    storage: Storage,
    server: FeedServer,
    fetcher: Fetcher,
    classifier: Classifier,
    *,
    page: str,
    relevant: str,
) -> None:
    html = "text/html; charset=utf-8"
    server.set_feed("/s/twtest", (FIXTURES / page).read_bytes(), content_type=html)
    spec = FeedSpec("TW channel", server.url("/s/twtest"), lang="ru", kind="telegram")
    feed = await only(storage, spec)
    [report] = await make_refresher(storage, fetcher, classifier).refresh([feed])
    assert report.status == "ok", report.detail
    assert report.entries == 3
    assert relevant in {s.link for s in report.new_stories}
    assert all(s.outlet == "TW channel" for s in report.new_stories)


async def test_a_channel_post_is_never_thin(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    # Its short posts are all it says: fetching their t.me pages would spend the cycle's
    # article budget on nothing.
    page = (FIXTURES / "telegram_preview.html").read_bytes()
    server.set_feed("/s/twtest", page, content_type="text/html; charset=utf-8")
    feed = await only(storage, FeedSpec("TW", server.url("/s/twtest"), kind="telegram"))
    recording = Recording(fetcher)
    [report] = await make_refresher(storage, recording, classifier).refresh([feed])
    assert report.status == "ok"
    assert recording.urls == [server.url("/s/twtest")]


def channel_page(first: int, last: int) -> bytes:
    """A t.me/s/twtest page of posts `first` to `last`, oldest first, as Telegram lists them."""
    now = time.time()
    posts = "".join(
        f'<div class="tgme_widget_message" data-post="twtest/{n}">'
        f'<div class="tgme_widget_message_bubble"><div class="tgme_widget_message_text">'
        f"Пост номер {n}: новости дня</div>"
        f'<div class="tgme_widget_message_date"><time datetime="'
        f'{datetime.fromtimestamp(now - (100 - n) * 60, UTC).isoformat()}"></time></div>'
        f"</div></div>"
        for n in range(first, last + 1)
    )
    page = f'<html><body><section class="tgme_channel_history">{posts}</section></body></html>'
    return page.encode()


async def stored_posts(storage: Storage) -> list[int]:
    rows = await storage.db.fetchall("SELECT entry_key FROM entries")
    return sorted(int(row[0].rsplit("/", 1)[1]) for row in rows)


async def test_a_burst_of_channel_posts_is_read_back_to_the_last_one_seen(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    """The preview shows the latest 20 posts. After a burst of 50 (or the bot down for a
    while), the pages before it are read until one reaches a post stored already, so no post
    between is lost; a first poll reads no more than the page (its history alerts nobody)."""
    html = "text/html; charset=utf-8"
    server.set_pages("/s/twtest", {"": channel_page(1, 20)}, key="before", content_type=html)
    feed = await only(storage, FeedSpec("TW", server.url("/s/twtest"), kind="telegram"))
    recording = Recording(fetcher)
    refresher = make_refresher(storage, recording, classifier)
    [report] = await refresher.refresh([feed])
    assert (report.status, recording.urls) == ("ok", [server.url("/s/twtest")])
    pages = {"": channel_page(51, 70), "51": channel_page(31, 50), "31": channel_page(11, 30)}
    server.set_pages("/s/twtest", pages, key="before", content_type=html)
    [feed] = await storage.feeds.listed()
    [report] = await refresher.refresh([feed])
    assert report.status == "ok"
    assert [r.query for r in server.requests[1:]] == ["", "before=51", "before=31"]
    assert await stored_posts(storage) == list(range(1, 71))


async def test_catching_up_on_a_channel_is_bounded_and_keeps_what_it_read(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    html = "text/html; charset=utf-8"
    server.set_pages("/s/twtest", {"": channel_page(1, 5)}, key="before", content_type=html)
    feed = await only(storage, FeedSpec("TW", server.url("/s/twtest"), kind="telegram"))
    refresher = make_refresher(storage, fetcher, classifier)
    await refresher.refresh([feed])
    # 500 posts since: the latest page and four before it, then no more this poll.
    pages = {"": channel_page(481, 500)}
    pages |= {str(n + 20): channel_page(n, n + 19) for n in range(21, 481, 20)}
    server.set_pages("/s/twtest", pages, key="before", content_type=html)
    [feed] = await storage.feeds.listed()
    [report] = await refresher.refresh([feed])
    assert report.status == "ok"
    assert len(server.requests) == 1 + 1 + CATCH_UP_PAGES
    assert await stored_posts(storage) == [*range(1, 6), *range(401, 501)]
    # An earlier page that fails costs only itself: the latest page is kept.
    pages = {"": channel_page(521, 540)}
    server.set_pages("/s/twtest", pages, key="before", content_type=html)
    [feed] = await storage.feeds.listed()
    [report] = await refresher.refresh([feed])
    assert report.status == "ok"
    assert server.requests[-1].query == "before=521"
    assert (await stored_posts(storage))[-20:] == list(range(521, 541))


async def test_channel_without_preview_is_a_clear_error(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    page = (FIXTURES / "telegram_no_preview.html").read_bytes()
    server.set_feed("/closedchan", page, content_type="text/html; charset=utf-8")
    server.redirect("/s/closedchan", "/closedchan")  # what t.me does for such channels
    feed = await only(storage, FeedSpec("closed", server.url("/s/closedchan"), kind="telegram"))
    [report] = await make_refresher(storage, fetcher, classifier).refresh([feed])
    assert report.status == "error"
    assert "no public web preview" in report.detail


async def test_a_feeds_configured_language_is_the_one_its_entries_are_judged_in(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    # A CMS's template says English over Russian news: judged without Russian morphology, the
    # report ("выдал", "мобилизованного") was missed though feeds.yaml says `lang: ru`.
    item = dated({"title": "Вьетнам выдал России мобилизованного, сбежавшего с фронта",
                  "link": "https://example.org/v", "guid": "v"})  # fmt: skip
    body = rss([item]).replace(b"<channel>", b"<channel><language>en-us</language>", 1)
    server.set_feed("/rss", body)
    feed = await only(storage, FeedSpec("Outlet", server.url("/rss"), lang="ru"))
    [report] = await make_refresher(storage, fetcher, classifier).refresh([feed])
    assert report.status == "ok", report.detail
    assert [s.link for s in report.new_stories] == ["https://example.org/v"]


async def test_thin_entries_get_their_article_text_once_within_the_budget(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    article = (FIXTURES / "article.html").read_bytes()
    for n in range(3):
        server.set_feed(f"/article/{n}", article, content_type="text/html")
    items = [
        {"title": f"Новость {n}", "link": server.url(f"/article/{n}"), "guid": f"g{n}",
         "pubDate": datetime.now(UTC)}
        for n in range(3)
    ]  # fmt: skip
    server.set_feed("/titles", rss(items))
    feed = await only(storage, FeedSpec("titles", server.url("/titles"), lang="ru"))
    await storage.chats.subscribe(1, [], thread_id=None, now=time.time())
    r = make_refresher(storage, fetcher, classifier, fulltext_pages=2)
    [report] = await r.refresh([feed])
    fetched = {p for n in range(3) if server.requests_to(p := f"/article/{n}")}
    assert len(fetched) == 2  # the budget of this cycle
    # The article text made the title-only entries judgeable: extradition from Kyrgyzstan. Both
    # fetched pages carry the same article, so the two entries are one story (bot.merge).
    assert len(report.new_stories) == 1
    story = report.new_stories[0]
    assert "Первомайский районный суд" in story.summary
    assert "KG" in story.countries

    [feed] = await storage.feeds.listed()
    [report] = await r.refresh([feed])  # the same feed again: nothing is fetched twice
    assert report.new_stories == ()
    assert sum(len(server.requests_to(f"/article/{n}")) for n in range(3)) == 2
    stored = await storage.stories.get(story.id)
    assert stored is not None
    assert "Первомайский районный суд" in stored.summary  # not undone by the thin re-poll


async def test_article_pages_count_against_the_global_limit_without_deadlock(
    storage: Storage, server: FeedServer, classifier: Classifier
) -> None:
    items = []
    for n in range(4):
        server.slow(f"/page/{n}", b"<html><body><p>text</p></body></html>", seconds=0.2)
        items.append(dated({"title": f"T{n}", "link": server.url(f"/page/{n}"), "guid": f"{n}"}))
    for name in ("a", "b"):
        server.set_feed(f"/{name}", rss(items))
    specs = [FeedSpec(name, server.url(f"/{name}"), interval=60) for name in ("a", "b")]
    await storage.feeds.sync(specs, now=time.time())
    # One request at a time in all, while two feeds are in flight and each wants four pages.
    async with Fetcher(
        timeout=5, per_host=4, concurrency=1, page_addresses=public_or_loopback
    ) as one:
        reports = await make_refresher(storage, one, classifier).refresh_due()
    assert {r.status for r in reports} == {"ok"}
    assert sum(len(server.requests_to(f"/page/{n}")) for n in range(4)) == 8
    assert server.max_in_flight == 1


async def test_an_article_link_into_our_own_network_is_not_fetched(
    storage: Storage, server: FeedServer, classifier: Classifier
) -> None:
    # The feed is the operator's choice, wherever it is; its item links are not.
    server.set_feed("/article", ARTICLE, content_type="text/html; charset=utf-8")
    item = {"title": "Новость", "link": server.url("/article"), "guid": "g",
            "pubDate": datetime.now(UTC)}  # fmt: skip
    server.set_feed("/titles", rss([item]))
    feed = await only(storage, FeedSpec("titles", server.url("/titles"), lang="ru"))
    async with Fetcher(timeout=3.0) as default:
        [report] = await make_refresher(storage, default, classifier).refresh([feed])
    assert report.status == "ok"
    assert report.entries == 1
    assert server.requests_to("/article") == []


ARTICLE = """<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Суд</title></head>
<body><header><nav><a href="/">Главная</a></nav></header><main><article>
<h1>Суд в Бишкеке одобрил экстрадицию дезертира Алексея Кузнецова</h1>
<p>Первомайский районный суд Бишкека одобрил экстрадицию в Россию Алексея Кузнецова, который
покинул воинскую часть после объявления мобилизации. Его задержали в январе по запросу
российской прокуратуры.</p>
<p>Адвокат Кузнецова заявил, что обжалует решение и обратится в Комитет ООН по правам человека,
поскольку в России его подзащитному грозит до десяти лет лишения свободы.</p>
</article></main><footer>Example KG</footer></body></html>""".encode()


async def test_an_article_texts_people_are_its_own_not_the_thin_entrys(
    storage: Storage, server: FeedServer, fetcher: Fetcher, classifier: Classifier
) -> None:
    # The reading finds the people of the feed's own text ("Новость" names nobody); an entry
    # judged on its article text must merge by the article's people.
    server.set_feed("/article", ARTICLE, content_type="text/html; charset=utf-8")
    item = {"title": "Новость", "link": server.url("/article"), "guid": "g",
            "pubDate": datetime.now(UTC)}  # fmt: skip
    server.set_feed("/titles", rss([item]))
    feed = await only(storage, FeedSpec("titles", server.url("/titles"), lang="ru"))
    [report] = await make_refresher(storage, fetcher, classifier).refresh([feed])
    [story] = report.new_stories
    names = await storage.db.scalar("SELECT names FROM stories WHERE id = ?", (story.id,))
    assert "kuznetsov" in names.split()
