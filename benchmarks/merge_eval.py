"""Merging scored on the labelled dev set (`tests/data/merge_dev.jsonl`): every entry goes through
the real path (relevance classifier, fingerprint, canonical URL, `storage.stories.save`) in
publication order, one outlet per feed; then every pair of entries counts as a true or false
"same story" against the labels. Used by `tests/test_merge_devset.py` and `bench_stories`.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.fingerprint import Fingerprinter
from bot.model import Entry, FeedSpec
from bot.relevance import Classifier
from bot.storage import Incoming, Storage
from bot.stories import canonical_url, content_hash

DEV_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "merge_dev.jsonl"


@dataclass(frozen=True)
class MergeScore:
    entries: int
    groups: int
    stories: int
    unstored: tuple[str, ...]  # entries the classifier found irrelevant and nothing joined
    tp: int
    fp: int
    fn: int
    false_merges: tuple[tuple[str, str], ...]
    missed: tuple[tuple[str, str], ...]

    @property
    def precision(self) -> float:
        return self.tp / max(1, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return self.tp / max(1, self.tp + self.fn)


def load_dev_set(path: Path = DEV_SET) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


async def score_merging(storage: Storage, rows: list[dict[str, str]]) -> MergeScore:
    classifier = Classifier.from_extension()
    fingerprinter = Fingerprinter()
    outlets = sorted({r["outlet"] for r in rows})
    specs = [FeedSpec(name=o, url=f"https://feeds.example/{i}") for i, o in enumerate(outlets)]
    await storage.feeds.sync(specs, now=0.0)
    feeds = {f.name: f for f in await storage.feeds.all()}
    for row in sorted(rows, key=lambda r: r["published"]):
        entry = Entry(
            title=row["title"],
            summary=row["summary"],
            link=row["link"],
            guid=row["id"],
            published=datetime.fromisoformat(row["published"].replace("Z", "+00:00")),
            lang=row["lang"],
        )
        item = Incoming(
            entry=entry,
            key=f"guid:{row['id']}",
            canonical_url=canonical_url(row["link"]),
            content_hash=content_hash(entry),
            verdict=classifier.classify(entry.title, entry.summary, entry.lang),
            fingerprint=fingerprinter.fingerprint(entry.title, entry.summary, entry.lang),
        )
        assert entry.published is not None
        now = entry.published.timestamp() + 600
        await storage.stories.save(feeds[row["outlet"]], [item], now=now, alert_max_age=1e9)
    found = await storage.db.fetchall("SELECT entry_key, story_id FROM entries")
    story_of = {r["entry_key"].removeprefix("guid:"): r["story_id"] for r in found}
    return _score(rows, story_of)


def _score(rows: list[dict[str, str]], story_of: dict[str, int | None]) -> MergeScore:
    tp = fp = fn = 0
    false_merges: list[tuple[str, str]] = []
    missed: list[tuple[str, str]] = []
    for a, b in itertools.combinations(rows, 2):
        same = a["group"] == b["group"]
        sa, sb = story_of.get(a["id"]), story_of.get(b["id"])
        merged = sa is not None and sa == sb
        if merged and same:
            tp += 1
        elif merged:
            fp += 1
            false_merges.append((a["id"], b["id"]))
        elif same:
            fn += 1
            missed.append((a["id"], b["id"]))
    return MergeScore(
        entries=len(rows),
        groups=len({r["group"] for r in rows}),
        stories=len({s for s in story_of.values() if s is not None}),
        unstored=tuple(r["id"] for r in rows if story_of.get(r["id"]) is None),
        tp=tp,
        fp=fp,
        fn=fn,
        false_merges=tuple(false_merges),
        missed=tuple(missed),
    )
