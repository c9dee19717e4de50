"""Storing entries with story merging: 100,000 entries into a store that already holds 100,000
stories, through `storage.stories.save` (entry identity, the merge index lookup, `bot.merge`,
inserts, index updates), in fetch-sized batches of 100 entries per transaction, each followed
by its search rows (`storage.search_index.flush()`).

Entries are synthetic news items: 12-word titles and 40-word summaries over a 20,000-word
vocabulary, each naming one of 60,000 surnames, with a transit country and an action; their
dates spread over 200 days, so the 7-day window matters. One in ten inserted entries re-publishes
a stored story's text under a new link (it must merge). Fingerprints (lemmas, MinHash) are
computed before timing the store and reported separately.

Baseline in the same run: the same first 10,000 entries into an empty store; the ratio of the
two rates shows what 100,000 stored stories cost. Memory: the process's resident set (RSS) at
checkpoints and its peak (ru_maxrss); it should stay almost flat while entries pour in, since
lookups go through the SQLite indexes, not through stories held in memory.

Run from the repo root: `uv run python -m benchmarks.bench_stories [N]` (N entries, default
100,000; the store is prefilled with N stories). Also prints the merge dev-set score.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.machine import cpu_model
from benchmarks.merge_eval import load_dev_set, score_merging
from bot.fingerprint import Fingerprinter
from bot.model import Entry, FeedSpec, Verdict
from bot.storage import FeedState, Incoming, Storage
from bot.stories import canonical_url, content_hash

BATCH = 100
START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
SPAN = 200 * 86400.0
COUNTRIES = ("KZ", "KG", "AM", "GE", "TR", "RS", "AE", "UZ", "TJ", "TH")
ACTIONS = ("extradition", "deportation", "detention", "abduction")
LETTERS = "bcdfgklmnprstvz"
VOWELS = "aeiou"


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(LETTERS) + rng.choice(VOWELS) for _ in range(syllables))


class Corpus:
    def __init__(self, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.vocabulary = [_word(self.rng, self.rng.randint(2, 4)) for _ in range(20_000)]
        self.surnames = [_word(self.rng, 3).capitalize() + "ov" for _ in range(60_000)]

    def entry(self, number: int, prefix: str) -> tuple[Entry, Verdict]:
        rng = self.rng
        name = rng.choice(self.surnames)
        title = (
            " ".join(rng.choices(self.vocabulary, k=6))
            + f" {name} "
            + " ".join(rng.choices(self.vocabulary, k=5))
        )
        summary = (
            " ".join(rng.choices(self.vocabulary, k=20))
            + f" {name} "
            + " ".join(rng.choices(self.vocabulary, k=19))
        )
        published = datetime.fromtimestamp(START + rng.random() * SPAN, UTC)
        # Only the first letter is raised: str.capitalize() would lower-case the surname, and
        # the text would name nobody (no `story_names` lookups).
        entry = Entry(
            title[:1].upper() + title[1:], summary[:1].upper() + summary[1:] + ".", f"https://{prefix}.example/{number}",
            f"{prefix}-{number}", published, "en",
        )  # fmt: skip
        verdict = Verdict(True, 0.9, (rng.choice(COUNTRIES), "RU"), rng.choice(ACTIONS))
        return entry, verdict


def incoming(fp: Fingerprinter, entry: Entry, verdict: Verdict) -> Incoming:
    return Incoming(
        entry, f"guid:{entry.guid}", canonical_url(entry.link or ""), content_hash(entry),
        verdict, fingerprint=fp.fingerprint(entry.title, entry.summary, entry.lang),
    )  # fmt: skip


def rss_mb() -> tuple[float, float]:
    """(RSS, of which file-backed pages: the database file mapped by `mmap_size`), in MB."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    kb = {key: int(status[key].split()[0]) for key in ("VmRSS", "RssFile")}
    return kb["VmRSS"] / 1024, kb["RssFile"] / 1024


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def store(storage: Storage, feed: FeedState, items: list[Incoming]) -> float:
    started = time.perf_counter()
    for i in range(0, len(items), BATCH):
        await storage.stories.save(feed, items[i : i + BATCH], now=START + SPAN, alert_max_age=0)
        # The search rows of what the batch changed, as at the end of a refresh cycle (here
        # every batch is a cycle: the dearest case, no story indexed once for many feeds).
        await storage.search_index.flush()
    return time.perf_counter() - started


async def open_store(path: Path) -> tuple[Storage, FeedState, FeedState]:
    storage = await Storage.open(path)
    specs = [FeedSpec("Prefill", "https://p.example/rss"), FeedSpec("New", "https://n.example/rss")]
    await storage.feeds.sync(specs, now=START)
    feeds = {f.name: f for f in await storage.feeds.all()}
    return storage, feeds["Prefill"], feeds["New"]


async def run(count: int, tmp: Path) -> None:
    corpus, fp = Corpus(), Fingerprinter()
    prefill = [incoming(fp, *corpus.entry(i, "p")) for i in range(count)]
    started = time.perf_counter()
    fresh: list[Incoming] = []
    for i in range(count):
        if i % 10 == 9:  # a re-publication of a stored story under a new link and GUID
            old = prefill[corpus.rng.randrange(count)].entry
            copy = Entry(old.title, old.summary, f"https://n.example/copy/{i}", f"c-{i}",
                         old.published, "en")  # fmt: skip
            fresh.append(incoming(fp, copy, prefill[0].verdict))
        else:
            fresh.append(incoming(fp, *corpus.entry(i, "n")))
    fingerprint_rate = count / (time.perf_counter() - started)

    base_n = min(10_000, count)
    baseline, _, new = await open_store(tmp / "baseline.sqlite3")
    base_rate = base_n / await store(baseline, new, fresh[:base_n])
    await baseline.close()

    storage, pre, new = await open_store(tmp / "bench.sqlite3")
    prefill_seconds = await store(storage, pre, prefill)
    rows = [("after prefill", 0, 0.0, rss_mb())]
    chunk, done, total_seconds = max(1, count // 4), 0, 0.0
    while done < count:
        seconds = await store(storage, new, fresh[done : done + chunk])
        total_seconds += seconds
        done += len(fresh[done : done + chunk])
        rows.append((f"+{done:,} entries", done, len(fresh[:chunk]) / seconds, rss_mb()))
    counts = await storage.counts()
    await storage.close()
    size_mb = (tmp / "bench.sqlite3").stat().st_size / 2**20
    rate = count / total_seconds

    score = await _dev_set_score(tmp)
    machine = f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"Machine: {machine}; {count:,} stories prefilled in {prefill_seconds:.0f} s.\n")
    print("| stage | entries/s in this stage | RSS MB | of which the mapped file MB |")
    print("| --- | ---: | ---: | ---: |")
    for label, _, stage_rate, (rss, mapped) in rows:
        rate_cell = f"{stage_rate:,.0f}" if stage_rate else "-"
        print(f"| {label} | {rate_cell} | {rss:.0f} | {mapped:.0f} |")
    print()
    print("| measure | value |")
    print("| --- | ---: |")
    print(f"| entries stored into {count:,} stories, entries/s | {rate:,.0f} |")
    print(f"| baseline: first {base_n:,} into an empty store, entries/s | {base_rate:,.0f} |")
    print(f"| ratio full / empty store | {rate / base_rate:.2f} |")
    print(f"| fingerprints (lemmas + MinHash), entries/s | {fingerprint_rate:,.0f} |")
    print(f"| peak RSS (ru_maxrss), MB | {peak_mb():.0f} |")
    print(f"| stories / entries at the end | {counts['stories']:,} / {counts['entries']:,} |")
    print(f"| database file, MB | {size_mb:.0f} |")
    print(f"| merge dev set: precision / recall | {score} |")


async def _dev_set_score(tmp: Path) -> str:
    storage = await Storage.open(tmp / "dev.sqlite3")
    try:
        s = await score_merging(storage, load_dev_set())
    finally:
        await storage.close()
    return f"{s.precision:.3f} / {s.recall:.3f} ({s.entries} entries, {s.groups} events)"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(count, Path(tmp)))


if __name__ == "__main__":
    main()
