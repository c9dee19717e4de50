"""`python -m bot feeds check | import FILE.opml | export`: managing the list of sources.

None of these touch the database or Telegram (no aiogram import):

    check    feeds.yaml is validated (load_feeds); then every source is fetched once, with the
             bot's own limits and politeness, and parsed; one line per source and a summary.
             Exit 0 when all are readable, 1 otherwise. A source that trips a bug is one
             failing line (its traceback on stderr), never the end of the check.
    import   sources from an OPML file are appended to feeds.yaml as list items, leaving the
             rest of the file (comments included) as it is. Sources already listed (same URL
             or channel) are skipped; a name already taken gets a " (2)" suffix. The result is
             validated before the file is replaced, so a failed import changes nothing.
    export   OPML 2.0 of feeds.yaml on standard output.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

import yaml

from bot.config import FeedsConfig, load_feeds, parse_feeds
from bot.errors import ConfigError, FeedError
from bot.fetch import Fetcher
from bot.model import FeedSpec
from bot.sources import read_source_async
from bot.sources.opml import OpmlFeed, feeds_yaml_lines, read_opml, write_opml

CHECK_CONCURRENCY = 16

log = logging.getLogger(__name__)


async def check_feeds(feeds: FeedsConfig, out: TextIO) -> int:
    limit = asyncio.Semaphore(CHECK_CONCURRENCY)
    async with Fetcher() as fetcher:

        async def one(spec: FeedSpec) -> tuple[FeedSpec, bool, str]:
            async with limit:
                return await _check_one(fetcher, spec)

        results = await asyncio.gather(*(one(spec) for spec in feeds.feeds))
    width = max((len(spec.name) for spec in feeds.feeds), default=4)
    for spec, _ok, detail in results:
        out.write(f"{spec.name:<{width}}  {spec.kind:<8}  {detail}\n")
    bad = sum(1 for _, ok, _ in results if not ok)
    out.write(f"{len(results)} sources: {len(results) - bad} ok, {bad} failing\n")
    return 1 if bad else 0


async def _check_one(fetcher: Fetcher, spec: FeedSpec) -> tuple[FeedSpec, bool, str]:
    started = time.perf_counter()
    try:
        result = await fetcher.fetch(spec.url)
        parsed = await read_source_async(
            spec.kind, result.body, result.headers, base_url=result.url, lang=spec.lang
        )
    except FeedError as exc:
        return spec, False, f"error: {type(exc).__name__}: {exc}"
    except Exception as exc:
        # A bug, as in bot.refresh: one source's line says so and the others are still checked.
        log.exception("%s: unexpected %s (a bug)", spec.name, type(exc).__name__)
        return spec, False, f"error: {type(exc).__name__}: internal error"
    ms = (time.perf_counter() - started) * 1000
    count = len(parsed.entries)
    moved = (
        f"; moved permanently to {result.moved_to}: update feeds.yaml" if result.moved_to else ""
    )
    return spec, True, f"ok: {count} {'entry' if count == 1 else 'entries'} in {ms:.0f} ms{moved}"


def import_opml(opml_path: Path, feeds_file: Path, out: TextIO) -> int:
    try:
        data = opml_path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{opml_path}: cannot read it ({exc.strerror})") from None
    try:
        listed = read_opml(data)
    except FeedError as exc:
        raise ConfigError(f"{opml_path}: {exc}") from None
    config = load_feeds(feeds_file)
    new, known = _new_sources(config.feeds, listed.feeds)
    if new:
        _append(feeds_file, feeds_yaml_lines(new), len(config.feeds) + len(new))
    out.write(
        f"imported {len(new)}, skipped {known} already listed, {listed.skipped} without a "
        "usable http(s) address\n"
    )
    return 0


def export_opml(feeds: FeedsConfig, out: BinaryIO) -> int:
    out.write(write_opml(feeds.feeds))
    return 0


def _new_sources(
    existing: Sequence[FeedSpec], candidates: Sequence[OpmlFeed]
) -> tuple[list[OpmlFeed], int]:
    urls = {spec.url for spec in existing}
    names = {spec.name for spec in existing}
    new: list[OpmlFeed] = []
    for feed in candidates:
        url = f"https://t.me/s/{feed.telegram}" if feed.telegram else feed.url
        if url in urls:
            continue
        name, n = feed.name, 2
        while name in names:
            name, n = f"{feed.name} ({n})", n + 1
        urls.add(url)
        names.add(name)
        new.append(OpmlFeed(name, feed.url, feed.lang, feed.telegram))
    return new, len(candidates) - len(new)


def _append(feeds_file: Path, lines: Sequence[str], expected: int) -> None:
    text = feeds_file.read_text(encoding="utf-8")
    merged = text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
    try:
        result = parse_feeds(yaml.safe_load(merged))
    except (yaml.YAMLError, ConfigError) as exc:
        raise ConfigError(f"{feeds_file}: the import would not be valid ({exc})") from None
    if len(result.feeds) != expected:
        raise ConfigError(
            f"{feeds_file}: cannot append sources: 'feeds:' must be the last section, "
            "written as a block list"
        )
    temporary = feeds_file.with_name(feeds_file.name + ".tmp")
    temporary.write_text(merged, encoding="utf-8")
    os.replace(temporary, feeds_file)
