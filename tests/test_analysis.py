"""The reading workers (`bot.analysis`, `bot.read_worker`): real spawned processes, compared
with the same work done in this process; a worker that dies costs one feed a backoff step, not
the bot."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import NoReturn

import pytest

from bot.analysis import Analyser, LocalAnalysis, PoolAnalysis, open_analysis
from bot.errors import AnalysisCrashed, NotAFeed, ReadTooLong
from bot.fetch import Fetcher
from bot.model import EntryFacts, FeedSpec
from bot.people import person_keys
from bot.refresh import Refresher
from bot.relevance import Classifier
from bot.search import QueryBuilder
from bot.search.document import Document, Source
from bot.storage import Storage
from bot.stories import canonical_url, content_hash
from bot.watch import WatchTerm
from tests.conftest import NOW, REPO
from tests.fakes.feedserver import FeedServer

SEED = (REPO / "tests" / "data" / "feeds" / "cp1251_declared.xml").read_bytes()
HEADERS = {"Content-Type": "application/rss+xml"}
WATCH = (WatchTerm(7, "Бажуков"),)
FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>Казахстан выдал России дезертира Бажукова</title><link>https://e.org/1</link>
<description>&lt;p&gt;Суд в Алматы решил экстрадировать его.&lt;/p&gt;</description>
<guid>1</guid></item>
<item><title>В Алматы прошёл марафон</title><link>/2</link>
<description>Тысячи бегунов.</description><guid>2</guid></item>
</channel></rss>""".encode()
DOC = Document(
    title="Казахстан выдал России дезертира Бажукова",
    summary="Суд в Алматы решил экстрадировать его.",
    countries=("KZ", "RU"),
    action="extradition",
    published_at=NOW,
    lang="ru",
    sources=(Source("Meduza", None), Source("Azattyk", "Kazakhstan extradites Bazhukov")),
)


@pytest.fixture(scope="module")
def pool(classifier: Classifier) -> Iterator[PoolAnalysis]:
    # One pool for the module: spawning a worker takes a while. It starts on its first call,
    # in whichever test's event loop; the pool is not tied to one.
    analysis = PoolAnalysis(1, Analyser(classifier))
    yield analysis
    analysis.close()


@pytest.fixture
def one_worker(classifier: Classifier) -> PoolAnalysis:
    return PoolAnalysis(1, Analyser(classifier))


async def test_a_worker_reads_exactly_as_this_process_does(
    pool: PoolAnalysis, classifier: Classifier
) -> None:
    local = LocalAnalysis(Analyser(classifier))
    for analysis in (pool, local):
        read = await analysis.read("feed", FEED, HEADERS, "https://e.org/feed", None)
        assert [e.link for e in read.entries] == ["https://e.org/1", "https://e.org/2"]
    here = await local.read("feed", FEED, HEADERS, "https://e.org/feed", "ru")
    there = await pool.read("feed", FEED, HEADERS, "https://e.org/feed", "ru")
    assert there == here
    assert await pool.judge(there.entries, "ru", WATCH) == await local.judge(
        here.entries, "ru", WATCH
    )
    relevant, marathon = await pool.judge(there.entries, "ru", WATCH)
    assert relevant.verdict.relevant
    assert relevant.verdict.action == "extradition"
    assert relevant.watchers == {7}
    assert "bashukov" in relevant.fingerprint.names
    assert not marathon.verdict.relevant
    assert marathon.watchers == frozenset()
    assert await pool.search_rows([DOC]) == await local.search_rows([DOC])


async def test_the_reading_works_out_each_entrys_facts_and_judging_takes_its_people(
    pool: PoolAnalysis, classifier: Classifier
) -> None:
    read = await pool.read("feed", FEED, HEADERS, "https://e.org/feed", "ru")
    assert read.facts == tuple(
        EntryFacts(
            content_hash(e),
            e.link and canonical_url(e.link),
            person_keys(e.title, e.summary),
        )
        for e in read.entries
    )
    assert [f.people for f in read.facts] == [{"bashukov"}, frozenset()]
    analyser = Analyser(classifier)
    worked_out = analyser.judge(read.entries, "ru", ())
    assert analyser.judge(read.entries, "ru", (), read.facts) == worked_out
    # Given facts are taken as they are (a None is worked out here, as is a missing one).
    first = read.facts[0]._replace(people=frozenset({"someone"}))
    given = analyser.judge(read.entries, "ru", (), [first, None])
    assert [j.fingerprint.names for j in given] == [{"someone"}, frozenset()]
    assert given[0].fingerprint.signature == worked_out[0].fingerprint.signature
    # The words are the entry's own, split in judging: given people change only the names.
    assert given[0].verdict == worked_out[0].verdict
    assert worked_out[0].verdict.relevant


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
async def test_a_worker_loads_no_text_analysis(pool: PoolAnalysis) -> None:
    # What keeps a worker at ~25 MB: the lexicon, pymorphy3 and its dictionaries and the
    # stemmer stay in the bot's process. Of these only PyStemmer is a C extension, whose import
    # shows in the process's memory maps; bot.relevance imports it first thing.
    [pid] = await pool.started()
    await pool.read("feed", FEED, HEADERS, "https://e.org/feed", "ru")
    assert "Stemmer" not in await asyncio.to_thread(Path(f"/proc/{pid}/maps").read_text)


async def test_errors_cross_over_as_themselves(pool: PoolAnalysis) -> None:
    with pytest.raises(NotAFeed):
        await pool.read("feed", b"<html><body>hi</body></html>", {}, "https://e.org/", None)
    read = await pool.read("feed", SEED, {}, "https://e.org/", None)  # still serving
    assert read.entries


async def test_a_killed_worker_fails_at_most_one_call_and_the_next_gets_new_workers(
    one_worker: PoolAnalysis,
) -> None:
    async with one_worker as analysis:
        [pid] = await analysis.started()
        os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(AnalysisCrashed):  # the call that met the worker dying
            await analysis.read("feed", FEED, HEADERS, "https://e.org/", None)
        read = await analysis.read("feed", FEED, HEADERS, "https://e.org/", None)
        assert len(read.entries) == 2
        assert pid not in await analysis.started()


async def test_a_worker_killed_between_documents_fails_no_call(one_worker: PoolAnalysis) -> None:
    # Killed while idle (for memory, between cycles): the executor has seen it die and
    # refuses all work; every later feed failed until a restart.
    async with one_worker as analysis:
        [pid] = await analysis.started()
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(1.0)  # the executor notices
        for _ in range(2):
            read = await analysis.read("feed", FEED, HEADERS, "https://e.org/", None)
            assert len(read.entries) == 2


ITEMS = "".join(
    f"<item><title>Item {n}</title><link>https://e.org/{n}</link></item>" for n in range(5000)
)
LONG_FEED = f'<rss version="2.0"><channel><title>t</title>{ITEMS}</channel></rss>'.encode()


def running(pid: int) -> bool:
    """Alive and not a zombie (a stopped worker is reaped only when its pool looks)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone before, or while, it was read
        return False


async def test_a_reading_past_its_time_limit_fails_its_feed_and_stops_its_worker(
    classifier: Classifier,
) -> None:
    """A document some parser takes ages over must not hold up the cycle, nor keep a worker
    busy for good. (Here the limit is short and the feed long.)"""
    async with PoolAnalysis(1, Analyser(classifier), read_timeout=0.05) as analysis:
        [pid] = await analysis.started()
        with pytest.raises(ReadTooLong):
            await analysis.read("feed", LONG_FEED, HEADERS, "https://e.org/", None)
        for _ in range(600):  # up to 30 s
            if not running(pid):
                break
            await asyncio.sleep(0.05)
        assert not running(pid)
        [new] = await analysis.started()  # the next call gets a new worker
        assert new != pid


async def test_a_reading_in_a_thread_past_its_time_limit_is_no_longer_waited_for(
    classifier: Classifier,
) -> None:
    analysis = LocalAnalysis(Analyser(classifier), read_timeout=0.05)
    with pytest.raises(ReadTooLong):
        await analysis.read("feed", LONG_FEED, HEADERS, "https://e.org/", None)


async def test_ctrl_c_is_left_to_the_bot(one_worker: PoolAnalysis) -> None:
    async with one_worker as analysis:
        [pid] = await analysis.started()
        os.kill(pid, signal.SIGINT)  # as a terminal's Ctrl-C reaches the whole process group
        read = await analysis.read("feed", FEED, HEADERS, "https://e.org/", None)
        assert len(read.entries) == 2
        assert await analysis.started() == (pid,)


CHILD = """
import asyncio, os, signal, sys
from bot.analysis import Analyser, PoolAnalysis
from bot.relevance import Classifier

async def main():
    pids = await PoolAnalysis(1, Analyser(Classifier.from_extension())).started()
    with open(sys.argv[1], "w") as out:
        out.write(" ".join(map(str, pids)))
    os.kill(os.getpid(), signal.SIGKILL)

if __name__ == "__main__":
    asyncio.run(main())
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; whoever adopted it has not reaped it yet


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_exit_when_the_bot_is_killed(tmp_path: Path) -> None:
    script, pids = tmp_path / "child.py", tmp_path / "pids"
    script.write_text(CHILD)
    child = subprocess.run(
        [sys.executable, str(script), str(pids)], cwd=REPO, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL
    [worker] = [int(p) for p in pids.read_text().split()]
    deadline = time.monotonic() + 10
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(worker)


async def test_the_refresh_path_through_a_worker_stores_alerts_and_indexes(
    pool: PoolAnalysis, storage: Storage, server: FeedServer
) -> None:
    dated = f"<guid>1</guid><pubDate>{format_datetime(datetime.now(UTC))}</pubDate>"
    server.set_feed("/kz", FEED.replace(b"<guid>1</guid>", dated.encode()))
    await storage.feeds.sync([FeedSpec("kz", server.url("/kz"), interval=60)], now=time.time())
    await storage.chats.subscribe(1, [], thread_id=None, now=time.time())
    async with Fetcher(timeout=2.0) as fetcher:
        refresher = Refresher(storage, fetcher, pool, alert_max_age=1e9, rng=random.Random(1))
        [report] = await refresher.refresh(await storage.feeds.all())
    assert report.status == "ok"
    assert report.entries == 2
    assert [s.title for s in report.new_stories] == ["Казахстан выдал России дезертира Бажукова"]
    assert await storage.db.scalar("SELECT COUNT(*) FROM deliveries") == 1
    assert await storage.db.scalar("SELECT COUNT(*) FROM search_pending") == 0
    query = QueryBuilder(frozenset({"KZ", "RU"})).build("Bazhukov country:kz", now=time.time())
    found = await storage.search.stories(query, limit=5)
    assert [s.title for s in found] == ["Казахстан выдал России дезертира Бажукова"]


async def test_open_analysis_falls_back_to_a_thread_where_processes_cannot_start(
    classifier: Classifier, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_analysis(1, classifier) as analysis:
        assert isinstance(analysis, PoolAnalysis)

    def no_semaphores(*args: object, **kwargs: object) -> NoReturn:
        raise OSError(38, "Function not implemented")  # sem_open without /dev/shm

    monkeypatch.setattr("bot.analysis.ProcessPoolExecutor", no_semaphores)
    async with open_analysis(1, classifier) as analysis:
        assert type(analysis) is LocalAnalysis
        read = await analysis.read("feed", FEED, HEADERS, "https://e.org/", None)
        assert len(read.entries) == 2
    assert "cannot start here ([Errno 38] Function not implemented)" in caplog.text
