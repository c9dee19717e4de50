"""Search at scale: a store of N generated stories (default 1,000,000) in ru/uk/en/kk.

Stories come from realistic templates: a person (one of 40,000 generated surnames, written in
Cyrillic or in Latin transliteration, in the cases the grammar asks for), an action, a transit
country, an outlet, a date over 2019-2026, and 1-3 sources per story (entries rows). They are
stored in date order, as a running bot stores them, but for the last 2% (`BACKLOG`), which are
dated any time: a late archive, such as a feed added later brings. Queries are asked as of the
newest story's date (`END`). The build writes stories and entries with plain INSERTs, then the
search index through the real code path (`bot.search.document.index_row`: lemmas, stems, name
keys, tags) into `search_fts`.

Reported: build time of the index (with the per-token document counts of `search_terms`), the
index size (database growth when they are written), and the latency of 20 representative
queries through the real `Storage.search` (`QueryBuilder.build` + the FTS5 SQL on the storage
thread), each run REPEAT times after one warm-up: p50 and p95 over all runs, and per query,
with how the query was ranked ("fts": FTS5's bm25(), "window": scored over the window, see
`bot.storage.search`). Measured in the same run, interleaved query by query: "before", the
same search with every query ranked by FTS5's bm25() and without memory-mapped reads (as before
the window scoring and `PRAGMA mmap_size`).
Baseline in the same run: `/recent` (the newest 5 stories through the `stories_day` index);
the ratio is query p50 / baseline p50.

    uv run python -m benchmarks.bench_search [N] [--db PATH] [--reuse]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import statistics
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.machine import cpu_model
from bot.names import transliterate
from bot.search import QueryBuilder
from bot.search.document import Document, Source, index_row
from bot.search.forms import Forms
from bot.storage import Storage
from bot.storage import search as search_module
from bot.storage.search_index import FTS_COLUMNS, TOTAL, row_terms

REPEAT = 20
START = datetime(2019, 1, 1, tzinfo=UTC).timestamp()
END = datetime(2026, 2, 1, tzinfo=UTC).timestamp()  # queries are asked as of then
BACKLOG = 0.02
QUERIES = (
    "Бажуков",
    "Bazhukov",
    "Бажукова",
    "экстрадиция Казахстан",
    "extradited Kyrgyzstan",
    "экстрадирован",
    "депортация country:kg since:2025-03-01",
    "country:kz action:extradition since:2025-03-01",
    '"отказал в экстрадиции"',
    "дезертир -Армения",
    "from:meduza Грузия",
    "activist deported Georgia",
    "Movlaev",
    "Мовлаев суд апелляция",
    "задержан Ереван запрос России",
    "until:2020-06 экстрадиция",
    "видача Туреччина",
    "action:deportation country:tr",
    "political asylum refused Serbia",
    "журналист Казахстан экстрадиция Россия суд",
)
OUTLETS = (
    "Meduza", "OVD-Info", "Mediazona", "Novaya Gazeta Europe", "RFE/RL", "Radio Azattyk",
    "Vlast.kz", "Kloop", "Eurasianet", "Hromadske", "Ukrainska Pravda", "BBC Russian",
    "Current Time", "Dozhd", "Fergana", "CivilNet", "OC Media", "Balkan Insight",
)  # fmt: skip
ROOTS = (
    "баж", "мовл", "ахмед", "кар", "сид", "петр", "ив", "кузн", "сем", "гус", "тагир", "рахим",
    "нур", "султан", "бек", "жум", "ерм", "тал", "касым", "абдул", "юсуп", "хасан", "мур", "гал",
    "зар", "осм", "алиш", "тимур", "руст", "дав", "гриш", "лебед", "сокол", "орл", "волк",
)  # fmt: skip
MIDS = ("", "ук", "ал", "ан", "им", "ет", "ул", "ар", "ен", "ир", "аш", "уш", "ат")
ENDS = ("ов", "ев", "ин", "енко", "ский", "ук", "ян")
COUNTRIES = {
    "KZ": ("Казахстан", "Казахстана", "Kazakhstan", "Казахстан"),
    "KG": ("Кыргызстан", "Кыргызстана", "Kyrgyzstan", "Киргизстан"),
    "AM": ("Армения", "Армении", "Armenia", "Вірменія"),
    "GE": ("Грузия", "Грузии", "Georgia", "Грузія"),
    "TR": ("Турция", "Турции", "Turkey", "Туреччина"),
    "RS": ("Сербия", "Сербии", "Serbia", "Сербія"),
    "AE": ("ОАЭ", "ОАЭ", "the UAE", "ОАЕ"),
    "UZ": ("Узбекистан", "Узбекистана", "Uzbekistan", "Узбекистан"),
}
CITIES = ("Ереван", "Тбилиси", "Бишкек", "Алматы", "Астана", "Стамбул", "Белград", "Дубай")
TARGETS_RU = ("дезертир", "активист", "журналист", "оппозиционер", "уклонист от мобилизации")
TARGETS_EN = ("activist", "deserter", "journalist", "opposition member", "draft evader")
ACTIONS = {
    "extradition": (
        "{c_nom} экстрадировал в Россию {target}а {name_acc}",
        "Суд {c_gen} отказал в экстрадиции {name_gen}",
        "{country_en} extradited {target_en} {name_lat} to Russia",
        "{c_uk}: видача {name_gen} Росії, суд розгляне апеляцію",
    ),
    "deportation": (
        "Власти {c_gen} депортировали {target}а {name_acc}",
        "{country_en} deported {target_en} {name_lat}",
        "{name_nom} выдворен из {c_gen} после задержания",
        "{c_uk} депортувала {name_acc}",
    ),
    "detention": (
        "В городе {city} задержан {target} {name_nom} по запросу России",
        "{name_lat} detained in {country_en} at Moscow's request",
        "{name_nom} задержан в {city}, ему грозит выдача",
    ),
    "asylum": (
        "{c_nom} отказал в убежище {target}у {name_dat}",
        "{country_en} refused political asylum to {name_lat}",
    ),
}
LEADS = (
    "Правозащитники заявляют, что преследование политически мотивировано. Адвокат обжалует "
    "решение суда, апелляция будет рассмотрена в течение месяца.",
    "Human rights groups say the case is politically motivated; his lawyer will appeal the "
    "ruling. He faces up to ten years in prison in Russia.",
    "Правозахисники вважають справу політично вмотивованою. Адвокат оскаржить рішення суду.",
    "Ранее его объявили в межгосударственный розыск. Он покинул Россию после объявления "
    "мобилизации и просил об убежище.",
)


def surname(rng: random.Random) -> str:
    return (rng.choice(ROOTS) + rng.choice(MIDS) + rng.choice(ENDS)).capitalize()


def declined(name: str) -> dict[str, str]:
    if name.endswith(("ов", "ев", "ин")):
        cases = {"nom": name, "gen": name + "а", "acc": name + "а", "dat": name + "у"}
    elif name.endswith("ский"):
        stem = name[:-2]
        cases = {"nom": name, "gen": stem + "ого", "acc": stem + "ого", "dat": stem + "ому"}
    else:
        cases = {"nom": name, "gen": name, "acc": name, "dat": name}
    return {f"name_{k}": v for k, v in cases.items()} | {"name_lat": transliterate(name).title()}


def story(rng: random.Random, names: list[str]) -> tuple[Document, str]:
    action = rng.choice(tuple(ACTIONS))
    code = rng.choice(tuple(COUNTRIES))
    c_nom, c_gen, country_en, c_uk = COUNTRIES[code]
    target = rng.randrange(len(TARGETS_RU))
    title = rng.choice(ACTIONS[action]).format(
        c_nom=c_nom, c_gen=c_gen, country_en=country_en, c_uk=c_uk, city=rng.choice(CITIES),
        target=TARGETS_RU[target], target_en=TARGETS_EN[target], **declined(rng.choice(names)),
    )  # fmt: skip
    lead = rng.choice(LEADS)
    lang = "en" if title.isascii() else ("uk" if set(title) & set("іїєґ") else "ru")
    outlets = rng.sample(OUTLETS, rng.choice((1, 1, 2, 3)))
    day = START + rng.random() * (END - START)
    sources = tuple(Source(o, title if i == 0 else f"{title} ({o})") for i, o in enumerate(outlets))
    return Document(title, lead, (code, "RU"), action, day, lang, sources), lead


def build(path: Path, count: int) -> dict[str, float]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    asyncio.run(_create(path))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    rng = random.Random(6)
    names = list(dict.fromkeys(surname(rng) for _ in range(60_000)))[:40_000]
    names[:2] = ["Бажуков", "Мовлаев"]
    feed_ids = {}
    for outlet in OUTLETS:
        cur = conn.execute(
            "INSERT INTO feeds (name, url, interval) VALUES (?, ?, 600)",
            (outlet, f"https://{abs(hash(outlet))}.example/rss"),
        )
        feed_ids[outlet] = cur.lastrowid
    generated = [story(rng, names) for _ in range(count)]
    # Stored as published (ids follow dates), but for the last BACKLOG share: a late archive
    # (a feed added later brings its old stories), dated any time.
    cut = count - int(count * BACKLOG)
    generated[:cut] = sorted(generated[:cut], key=lambda made: made[0].published_at)
    docs: list[Document] = []
    started = time.perf_counter()
    conn.execute("BEGIN")
    for number, (doc, lead) in enumerate(generated, 1):
        docs.append(doc)
        conn.execute(
            "INSERT INTO stories (id, created_at, published_at, title, summary, link, outlet,"
            " countries, action, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0.9)",
            (number, doc.published_at, doc.published_at, doc.title, lead,
             f"https://e.example/{number}", doc.sources[0].outlet,
             f" {' '.join(doc.countries)} ", doc.action),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO entries (feed_id, entry_key, canonical_url, content_hash, story_id,"
            " title, link, lang, published_at, seen_at) VALUES (?, ?, ?, 'h', ?, ?, ?, ?, ?, ?)",
            [
                (feed_ids[s.outlet], f"{number}/{i}", f"https://e.example/{number}/{i}", number,
                 s.title, f"https://e.example/{number}/{i}", doc.lang, doc.published_at,
                 doc.published_at)
                for i, s in enumerate(doc.sources)
            ],
        )  # fmt: skip
    conn.execute("COMMIT")
    stories_seconds = time.perf_counter() - started
    before = path.stat().st_size
    forms = Forms()
    started = time.perf_counter()
    terms: Counter[str] = Counter()
    conn.execute("BEGIN")
    for number, doc in enumerate(docs, 1):
        row = index_row(doc, forms)
        terms.update(row_terms(row))
        conn.execute(
            # the storage's own column list and "?" placeholders, never data
            f"INSERT INTO search_fts (rowid, {FTS_COLUMNS}) VALUES (?{', ?' * len(row)})",  # noqa: S608
            (number, *row),
        )
    terms[TOTAL] = len(docs)
    conn.executemany("INSERT INTO search_terms (term, docs) VALUES (?, ?)", terms.items())
    conn.execute("COMMIT")
    conn.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
    index_seconds = time.perf_counter() - started
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    stats = {
        "stories_seconds": stories_seconds,
        "index_seconds": index_seconds,
        "db_bytes_before_index": before,
        "db_bytes": path.stat().st_size,
    }
    path.with_suffix(".json").write_text(json.dumps(stats))
    return stats


async def _create(path: Path) -> None:
    storage = await Storage.open(path)
    await storage.close()


Timings = dict[str, dict[str, list[float]]]  # mode -> query -> seconds per run
# "before": every query ranked by FTS5's bm25() and no memory-mapped reads, as before
# the window scoring and `PRAGMA mmap_size`; on its own connection, so neither disturbs the other.
MODES = ("after", "before")


async def measure(path: Path) -> tuple[list[float], Timings, dict[str, int], dict[str, str]]:
    storages = {mode: await Storage.open(path) for mode in MODES}
    await storages["before"].db.fetchall("PRAGMA mmap_size = 0")
    storage = storages["after"]
    builder = QueryBuilder()
    baseline: list[float] = []
    times: Timings = {mode: {q: [] for q in QUERIES} for mode in MODES}
    found: dict[str, int] = {}
    ranked_by: dict[str, str] = {}
    chosen = search_module.POSTINGS_PER_CANDIDATE
    try:
        for query in QUERIES:  # warm-up: dictionaries, page cache
            built = builder.build(query, now=END)
            found[query] = len(await storage.search.stories(built, limit=5, now=END))
            ranked_by[query] = await storage.search.ranking(built)
            await storages["before"].search.stories(built, limit=5, now=END)
        for _ in range(REPEAT):
            started = time.perf_counter()
            await storage.stories.recent(5)
            baseline.append(time.perf_counter() - started)
            for query in QUERIES:
                for mode in MODES:
                    # before: the window never looks cheaper, as before it existed
                    search_module.POSTINGS_PER_CANDIDATE = chosen if mode == "after" else 10**18
                    started = time.perf_counter()
                    built = builder.build(query, now=END)
                    await storages[mode].search.stories(built, limit=5, now=END)
                    times[mode][query].append(time.perf_counter() - started)
    finally:
        search_module.POSTINGS_PER_CANDIDATE = chosen
        for opened in storages.values():
            await opened.close()
    return baseline, times, found, ranked_by


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("stories", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/bench_search.sqlite3"))  # noqa: S108 -- a scratch store of ~1 GB, not a secret
    parser.add_argument("--reuse", action="store_true", help="measure an existing store")
    args = parser.parse_args()
    if args.reuse:
        stats = json.loads(args.db.with_suffix(".json").read_text())
    else:
        stats = build(args.db, args.stories)
    baseline, times, found, ranked_by = asyncio.run(measure(args.db))
    base = statistics.median(baseline)
    index_mb = (stats["db_bytes"] - stats["db_bytes_before_index"]) / 2**20
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}\n"
    )
    print("| stories | stories+entries insert s | index build s | index MiB | database MiB |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {args.stories:,} | {stats['stories_seconds']:.0f} | {stats['index_seconds']:.0f} "
        f"| {index_mb:,.0f} | {stats['db_bytes'] / 2**20:,.0f} |\n"
    )
    print(
        "| ranking | queries x runs | p50 ms | p95 ms | max ms | baseline /recent p50 ms "
        "| ratio p50 |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode in MODES:
        every = sorted(t for runs in times[mode].values() for t in runs)
        p50, p95 = statistics.median(every), every[int(0.95 * (len(every) - 1))]
        print(
            f"| {mode} | {len(QUERIES)} x {REPEAT} | {ms(p50)} | {ms(p95)} | {ms(every[-1])} "
            f"| {ms(base)} | {p50 / base:.1f} |"
        )
    print("\n| query | results | ranked by | p50 ms | max ms | before p50 ms | before max ms |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for query, runs in times["after"].items():
        shown = query.replace("|", "\\|")
        before = times["before"][query]
        print(
            f"| `{shown}` | {found[query]} | {ranked_by[query]} | {ms(statistics.median(runs))} "
            f"| {ms(max(runs))} | {ms(statistics.median(before))} | {ms(max(before))} |"
        )


if __name__ == "__main__":
    main()
