"""Throughput of `Classifier.classify` on 10,000 entries built from the dev set.

Entries are dev-set items and realistic variations (a title paired with another item's lead,
boilerplate sentences appended as feeds do, upper-cased titles). One warm-up pass fills the
per-word cache; the timed pass then measures warm throughput on one core. A baseline pass runs
`str.lower().split()` over the same texts in the same process, so the ratio is comparable
across machines. Run from the repo root: `uv run python -m benchmarks.bench_classify [N]`.
"""

from __future__ import annotations

import json
import platform
import random
import sys
import time
from pathlib import Path

from benchmarks.machine import cpu_model
from bot.relevance import Classifier

DEV_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "relevance_dev.jsonl"
BOILERPLATE = [
    "Подписывайтесь на наш канал в Telegram.",
    "Read more on our website.",
    "Читайте также: главные новости дня.",
    "Фото: пресс-служба.",
]


def build_entries(count: int, seed: int = 7) -> list[tuple[str, str, str | None]]:
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(seed)
    entries: list[tuple[str, str, str | None]] = []
    while len(entries) < count:
        row, other = rng.choice(rows), rng.choice(rows)
        kind = rng.randrange(4)
        title, summary = row["title"], row["summary"]
        if kind == 1:
            summary = f"{summary} {other['summary']}"
        elif kind == 2:
            summary = f"{summary} {rng.choice(BOILERPLATE)} {rng.choice(BOILERPLATE)}"
        elif kind == 3:
            title = title.upper()
        entries.append((title, summary, row["lang"] if rng.random() < 0.5 else None))
    return entries


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    entries = build_entries(count)
    classifier = Classifier.from_extension()
    for title, summary, lang in entries:  # warm-up: analyzers and word cache
        classifier.classify(title, summary, lang)
    start = time.perf_counter()
    relevant = sum(classifier.classify(t, s, lang).relevant for t, s, lang in entries)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    words = sum(len(f"{t} {s}".lower().split()) for t, s, _ in entries)
    base = time.perf_counter() - start
    machine = f"{platform.platform()}; {cpu_model()}; Python {platform.python_version()}"
    print("| entries | seconds | entries/s | relevant | baseline entries/s | ratio |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {count} | {seconds:.3f} | {count / seconds:,.0f} | {relevant} "
        f"| {count / base:,.0f} | {base / seconds:.3f} |"
    )
    print(f"\nmachine: {machine}; {words} words; baseline = str.lower().split() on the same texts")


if __name__ == "__main__":
    main()
