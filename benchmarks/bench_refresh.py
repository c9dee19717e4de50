"""The refresh path at scale: 1,000 local feeds of 30 items each.

A feed server runs in a separate process (so its CPU is not counted) on loopback addresses
127.0.0.1 ... 127.0.0.<hosts>, 1,000 feeds spread over them, since real sources are spread over
many sites and the fetcher allows only 2 requests per host at a time. Items are built from the
relevance dev set (Russian, English, Ukrainian, Kazakh...; about half relevant), every feed's
items unique, with ETags.

Measured in this process, in this order:

1. cold cycle: a fresh database, every feed due; `Refresher.refresh()` over all of them - fetch,
   decode, parse, identity, relevance, storing (30,000 entries; the dev-set texts recur across
   feeds, so they merge into about a hundred stories), as the bot does it. Wall time and CPU
   time (`time.process_time`, all threads).
2. steady state: the same cycle again; every feed answers 304. Wall time.
3. peak memory: the process's maximum resident set after both cycles (`ru_maxrss`).
4. baseline: a plain loop running `feedparser.parse()` on the very same 1,000 bodies. Wall and
   CPU time. The ratio of 1. to this is the figure the issue targets (<= 1.3).

Run from the repo root: `uv run python -m benchmarks.bench_refresh [feeds] [hosts]`.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import platform
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from benchmarks.machine import cpu_model

ITEMS = 30
PORT = 18_431
DEV_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "relevance_dev.jsonl"


def feed_body(index: int) -> bytes:
    """Feed `index`: 30 unique items from the dev set; the same bytes in every process."""
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(index)
    now = datetime(2026, 2, 1, tzinfo=UTC)
    items = []
    for n in range(ITEMS):
        row = rng.choice(rows)
        published = format_datetime(now - timedelta(minutes=17 * n + index), usegmt=True)
        link = f"https://outlet{index % 97}.example/news/{index}-{n}"
        items.append(
            f"<item><title>{escape(row['title'])}</title><link>{link}</link>"
            f"<description>{escape('<p>' + row['summary'] + '</p>')}</description>"
            f"<guid>{link}</guid><pubDate>{published}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Outlet {index}</title><link>https://outlet{index}.example/</link>"
        f"<language>ru</language>{''.join(items)}</channel></rss>\n"
    ).encode()


def host_of(index: int, hosts: int) -> str:
    return f"127.0.0.{index % hosts + 1}"


def serve(feeds: int, hosts: int, ready: Callable[[], None]) -> None:
    from aiohttp import web

    bodies = {f"/f{i}": feed_body(i) for i in range(feeds)}

    async def handler(request: web.Request) -> web.StreamResponse:
        body = bodies.get(request.path)
        if body is None:
            return web.Response(status=404)
        etag = f'"{request.path}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml"}
        )

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for h in range(hosts):
            await web.TCPSite(runner, f"127.0.0.{h + 1}", PORT, backlog=1024).start()
        ready()
        await asyncio.Event().wait()

    asyncio.run(main())


async def pipeline(feeds: int, hosts: int, db: Path) -> dict[str, float]:
    from bot.fetch import Fetcher
    from bot.fingerprint import Fingerprinter
    from bot.model import FeedSpec
    from bot.refresh import Refresher
    from bot.relevance import Classifier
    from bot.storage import Storage
    from bot.watch import Watcher

    classifier = Classifier.from_extension()
    classifier.classify("warm up", "прогрев", "ru")
    # Wired as `bot.app` wires it: one lemmatizer shared by every part that lemmatises.
    lemmatizer = classifier.lemmatizer
    storage = await Storage.open(db, lemmatizer=lemmatizer)
    specs = [
        FeedSpec(f"feed {i}", f"http://{host_of(i, hosts)}:{PORT}/f{i}", interval=600)
        for i in range(feeds)
    ]
    await storage.feeds.sync(specs, now=time.time())
    figures: dict[str, float] = {}
    try:
        async with Fetcher(per_host=2) as fetcher:
            refresher = Refresher(
                storage, fetcher, classifier, alert_max_age=48 * 3600,
                fingerprinter=Fingerprinter(lemmatizer), watcher=Watcher(lemmatizer),
            )  # fmt: skip
            wall, cpu = time.perf_counter(), time.process_time()
            reports = await refresher.refresh(await storage.feeds.all())
            figures["cold_wall"] = time.perf_counter() - wall
            figures["cold_cpu"] = time.process_time() - cpu
            figures["ok"] = sum(r.status == "ok" for r in reports)
            figures["entries"] = sum(r.entries for r in reports)
            figures["stories"] = sum(len(r.new_stories) for r in reports)
            wall = time.perf_counter()
            reports = await refresher.refresh(await storage.feeds.all())
            figures["steady_wall"] = time.perf_counter() - wall
            figures["not_modified"] = sum(r.status == "not_modified" for r in reports)
    finally:
        await storage.close()
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def parse_only(feeds: int) -> tuple[float, float]:
    import feedparser

    bodies = [feed_body(i) for i in range(feeds)]
    wall, cpu = time.perf_counter(), time.process_time()
    for body in bodies:
        feedparser.parse(body)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    feeds = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    hosts = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    server = ctx.Process(target=serve, args=(feeds, hosts, ready.set), daemon=True)
    server.start()
    try:
        if not ready.wait(60):
            raise SystemExit("the feed server did not start")
        with tempfile.TemporaryDirectory() as tmp:
            f = asyncio.run(pipeline(feeds, hosts, Path(tmp) / "bench.sqlite3"))
        base_wall, base_cpu = parse_only(feeds)
    finally:
        server.terminate()
        server.join(10)
    print(
        f"Machine: {platform.system()} {platform.release()} {platform.machine()}, "
        f"{cpu_model()} ({multiprocessing.cpu_count()} cores), Python {platform.python_version()}"
    )
    print(f"{feeds} feeds x {ITEMS} items on {hosts} loopback hosts, per-host limit 2\n")
    print("| measure | value | target |")
    print("| --- | ---: | ---: |")
    print(f"| cold cycle wall | {f['cold_wall']:.2f} s | |")
    print(f"| cold cycle CPU | {f['cold_cpu']:.2f} s | |")
    print(f"| parse-only loop wall (feedparser.parse, same bytes) | {base_wall:.2f} s | |")
    print(f"| parse-only loop CPU | {base_cpu:.2f} s | |")
    print(f"| cold wall / parse-only wall | {f['cold_wall'] / base_wall:.2f} | <= 1.3 |")
    print(f"| cold CPU / parse-only CPU | {f['cold_cpu'] / base_cpu:.2f} | <= 1.3 |")
    print(f"| steady-state cycle (all 304) wall | {f['steady_wall']:.2f} s | <= 2 s |")
    print(f"| peak memory (max RSS) | {f['peak_mb']:.0f} MB | <= 150 MB |")
    print(
        f"\nfeeds ok: {f['ok']:.0f}, entries: {f['entries']:.0f}, new stories: "
        f"{f['stories']:.0f}, 304s in steady state: {f['not_modified']:.0f}"
    )


if __name__ == "__main__":
    main()
