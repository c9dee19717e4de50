"""Everything the refresh path does to text, behind one interface:

    read         a fetched document -> `ParsedFeed`, with each entry's `EntryFacts`
                                                                (bot.sources: feedparser...)
    judge        entries -> relevance verdict, watchers, fingerprint, one `Judged` each
    search_rows  stories' documents -> their `search_fts` rows  (bot.search.document)

    Analyser       the work itself, pure; one per process (it holds the lexicon, the pymorphy3
                   dictionaries and the word caches)
    LocalAnalysis  reading in a thread, the rest in line (`ANALYSIS_WORKERS=0`, the tests,
                   `poll --once`, a one-core machine)
    PoolAnalysis   reading in N spawned worker processes (`bot.read_worker`), the rest in line

Why reading, and only reading, goes to processes: feedparser is pure Python and the largest
single cost of a cold cycle (about 40% of its CPU), so in one process it takes turns with
judging, fetching and storing on one core (the GIL). A reader needs no dictionaries, so a worker
costs about 25 MB; one that also judged would load the lexicon and pymorphy3 again (about 65 MB
apiece, over the memory budget of a small machine) for no shorter a cycle (BENCHMARKS.md).
An entry's content hash, canonical link and the people it names need no dictionaries either,
so the reading works them out too (`EntryFacts`) and judging takes the people ready-made. Its
words (`bot.words`) are split here, in judging: the worker is the cycle's critical path on a
quiet machine, and sending the words over cost it more (splitting and pickling them) than
splitting them costs this process (BENCHMARKS.md, eighth session). Only
bytes and parsed entries cross over; what is new is still decided in one place
(`bot.storage.stories`).

A worker that dies (killed, out of memory) breaks its pool: the feed being read fails with
`AnalysisCrashed` (a `ParseError`, so it backs off like any unreadable feed) and the next call
starts a fresh pool. A reading that passes `READ_TIMEOUT` (a document some parser takes ages
over: the refresh cycle, and with it every feed's polling, would wait for it) fails its feed
with `ReadTooLong`, and its pool's workers are stopped, the other readings under way failing
as after a crash; in a thread (`LocalAnalysis`) the reading cannot be stopped, only no longer
waited for. A bot that dies takes its workers with it: each watches its parent.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from bot import read_worker
from bot.errors import AnalysisCrashed, ReadTooLong
from bot.fingerprint import Fingerprint, Fingerprinter
from bot.model import Entry, EntryFacts, ParsedFeed, Verdict
from bot.people import NamedPeople
from bot.relevance import Classifier
from bot.search.document import Document, Row, index_row
from bot.search.forms import Forms
from bot.sources import read_source, read_source_async
from bot.watch import Watcher, WatchIndex, WatchTerm
from bot.words import EntryText

__all__ = ["Analyser", "Analysis", "Judged", "LocalAnalysis", "PoolAnalysis", "open_analysis"]

log = logging.getLogger(__name__)

READ_TIMEOUT = 60.0  # seconds; a 5 MB feed (the fetch limit) of real items read in 1.5 s here


@dataclass(frozen=True, slots=True)
class Judged:
    """What the text of one entry says: relevance, whose watchlists it hits, its fingerprint."""

    verdict: Verdict
    watchers: frozenset[int]
    fingerprint: Fingerprint


class Analyser:
    """The text work of one process; not thread-safe (its caches are plain dicts)."""

    def __init__(self, classifier: Classifier) -> None:
        lemmatizer = classifier.lemmatizer  # one set of dictionaries for every part
        self._classifier = classifier
        self._fingerprinter = Fingerprinter(lemmatizer)
        self._watcher = Watcher(lemmatizer)
        self._forms = Forms(lemmatizer)
        self._watches: tuple[tuple[WatchTerm, ...], WatchIndex] | None = None

    def judge(
        self,
        entries: Sequence[Entry],
        lang: str | None,
        watches: tuple[WatchTerm, ...],
        known: Sequence[EntryFacts | None] = (),
    ) -> list[Judged]:
        """Judge each entry; `lang` is the feed's, for entries that do not say theirs.
        `known`, when given, has one item per entry: what the reading worked out of it
        (`EntryFacts`: the people it names), or None to work that out here."""
        index = self._watch_index(watches)
        judged = []
        for entry, facts in zip(entries, known or [None] * len(entries), strict=True):
            text = EntryText.of(entry.title, entry.summary, entry.lang or lang)
            people = None if facts is None else NamedPeople(facts.people, facts.first_names)
            judged.append(
                Judged(
                    self._classifier.classify_text(text),
                    index.chats_mentioned(text),
                    self._fingerprinter.fingerprint_text(text, entry.title, entry.summary, people),
                )
            )
        return judged

    def search_rows(self, documents: Sequence[Document]) -> list[Row]:
        return [index_row(doc, self._forms) for doc in documents]

    def _watch_index(self, watches: tuple[WatchTerm, ...]) -> WatchIndex:
        # The terms change rarely; each feed of a cycle brings the same ones.
        if self._watches is None or self._watches[0] != watches:
            self._watches = (watches, self._watcher.index(watches))
        return self._watches[1]


class Analysis(Protocol):
    """How the refresher reaches an Analyser, wherever it runs."""

    async def read(
        self, kind: str, body: bytes, headers: Mapping[str, str], base_url: str, lang: str | None
    ) -> ParsedFeed:
        """`bot.sources.read_source`: the entries and, for each, its `EntryFacts`."""
        ...

    async def judge(
        self,
        entries: Sequence[Entry],
        lang: str | None,
        watches: tuple[WatchTerm, ...],
        known: Sequence[EntryFacts | None] = (),
    ) -> list[Judged]: ...

    async def search_rows(self, documents: Sequence[Document]) -> list[Row]: ...


class LocalAnalysis:
    """An Analyser in this process. Reading runs in a thread (a big document would stall the
    event loop; it touches none of the Analyser's caches); judging and search rows are short
    per call and stay on the loop, which keeps the caches on one thread."""

    def __init__(self, analyser: Analyser, *, read_timeout: float = READ_TIMEOUT) -> None:
        self._analyser = analyser
        self._read_timeout = read_timeout

    @classmethod
    def of(cls, classifier: Classifier) -> LocalAnalysis:
        return cls(Analyser(classifier))

    async def read(
        self, kind: str, body: bytes, headers: Mapping[str, str], base_url: str, lang: str | None
    ) -> ParsedFeed:
        reading = read_source_async(kind, body, headers, base_url=base_url, lang=lang)
        try:
            return await asyncio.wait_for(reading, self._read_timeout)
        except TimeoutError:
            raise self._too_long("no longer waited for") from None

    def _too_long(self, then: str) -> ReadTooLong:
        log.error("reading a document took over %.0f s; %s", self._read_timeout, then)
        return ReadTooLong(f"reading took over {self._read_timeout:.0f} s")

    async def judge(
        self,
        entries: Sequence[Entry],
        lang: str | None,
        watches: tuple[WatchTerm, ...],
        known: Sequence[EntryFacts | None] = (),
    ) -> list[Judged]:
        return self._analyser.judge(entries, lang, watches, known)

    async def search_rows(self, documents: Sequence[Document]) -> list[Row]:
        return self._analyser.search_rows(documents)


class PoolAnalysis(LocalAnalysis):
    """Reading in `workers` spawned processes (`bot.read_worker`), judging and search rows as
    in `LocalAnalysis`; use `async with PoolAnalysis(...) as a:`."""

    def __init__(
        self, workers: int, analyser: Analyser, *, read_timeout: float = READ_TIMEOUT
    ) -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        super().__init__(analyser, read_timeout=read_timeout)
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def __aenter__(self) -> PoolAnalysis:
        await self.started()
        return self

    async def started(self) -> tuple[int, ...]:
        """Wait until every worker is up; their process ids."""
        loop = asyncio.get_running_loop()
        pool = self._start()
        pids: set[int] = set()
        while len(pids) < self._workers:
            # A worker that is up answers fast; the pause lets the others take their share.
            calls = (
                loop.run_in_executor(pool, read_worker.pid_after, 0.05)
                for _ in range(self._workers)
            )
            pids.update(await asyncio.gather(*calls))
        return tuple(sorted(pids))

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    async def read(
        self, kind: str, body: bytes, headers: Mapping[str, str], base_url: str, lang: str | None
    ) -> ParsedFeed:
        job = partial(read_source, kind, body, dict(headers), base_url=base_url, lang=lang)
        loop = asyncio.get_running_loop()
        pool = self._start()
        try:
            reading = loop.run_in_executor(pool, job)
        except BrokenProcessPool:
            # A worker died between documents (killed for memory, say): not this document's
            # doing, so it goes to new workers; the executor refuses all work from then on.
            log.error("a reading worker had died; starting new workers")
            self._drop(pool)
            pool = self._start()
            reading = loop.run_in_executor(pool, job)
        try:
            return await asyncio.wait_for(reading, self._read_timeout)
        except BrokenProcessPool as exc:
            log.error("a reading worker died; starting new workers")
            self._drop(pool)
            raise AnalysisCrashed("a reading worker died on this document") from exc
        except TimeoutError:
            self._drop(pool, stop_workers=True)
            raise self._too_long("its workers are stopped") from None

    def _drop(self, pool: ProcessPoolExecutor, *, stop_workers: bool = False) -> None:
        """The next call starts new workers. A busy worker cannot be stopped through the
        executor's public interface (`terminate_workers` is Python 3.14's), hence its table of
        processes; the executor then sees them die and fails what they had."""
        if self._pool is not pool:
            return  # another call dropped it already
        workers = list(pool._processes.values()) if stop_workers and pool._processes else []
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.terminate()
        self._pool = None

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=read_worker.start,
            )
        return self._pool


@asynccontextmanager
async def open_analysis(workers: int, classifier: Classifier) -> AsyncIterator[Analysis]:
    """Reading in `workers` processes (`ANALYSIS_WORKERS`), or in a thread when 0 or when this
    system cannot start them (no /dev/shm for the pool's semaphores, no process spawning): the
    bot then runs as with 0, and says so once."""
    if workers == 0:
        yield LocalAnalysis.of(classifier)
        return
    pool = PoolAnalysis(workers, Analyser(classifier))
    try:
        await pool.started()
    except (OSError, NotImplementedError, BrokenProcessPool) as exc:
        pool.close()
        log.warning("reading worker processes cannot start here (%s); reading in a thread", exc)
        yield LocalAnalysis.of(classifier)
        return
    try:
        yield pool
    finally:
        pool.close()
