"""`python -m bot feeds check | import FILE.opml | export`: managing the list of sources.

None of these touch the database or Telegram (no aiogram import):

    check    feeds.yaml is validated (load_feeds); then every source is fetched once, with the
             bot's own limits and politeness, and parsed; one line per source and a summary.
             Exit 0 when all are readable, 1 otherwise. A source that trips a bug is one
             failing line (its traceback on stderr), never the end of the check.
    import   sources from an OPML file are added at the end of feeds.yaml's `feeds` list, in
             the list's own style (a block list at its own indentation, or inside `[...]`; an
             empty `feeds:` becomes a block list), leaving the rest of the file (comments
             included) as it is. Sources already listed (same URL or channel) are skipped; a
             name already taken gets a " (2)" suffix. The result is validated, then written
             to a temporary file that replaces the target of feeds.yaml (through a symlink,
             keeping its permissions), so a failed import changes nothing.
    export   OPML 2.0 of feeds.yaml on standard output.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO, TextIO

import yaml

from bot.config import FeedsConfig, load_feeds, load_yaml, parse_feeds, source_address
from bot.errors import ConfigError, FeedError
from bot.fetch import Fetcher
from bot.model import FeedSpec
from bot.sources import read_source_async
from bot.sources.opml import OpmlFeed, feeds_yaml_items, read_opml, write_opml

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
        _add(feeds_file, feeds_yaml_items(new), len(config.feeds) + len(new))
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
    urls = {source_address(spec.kind, spec.url) for spec in existing}
    names = {spec.name for spec in existing}
    new: list[OpmlFeed] = []
    for feed in candidates:
        if feed.telegram:
            url = source_address("telegram", f"https://t.me/s/{feed.telegram}")
        else:
            url = source_address("feed", feed.url)
        if url in urls:
            continue
        name, n = feed.name, 2
        while name in names:
            name, n = f"{feed.name} ({n})", n + 1
        urls.add(url)
        names.add(name)
        new.append(replace(feed, name=name))
    return new, len(candidates) - len(new)


def _add(feeds_file: Path, items: Sequence[str], expected: int) -> None:
    merged = with_items(feeds_file.read_text(encoding="utf-8"), items)
    try:
        result = parse_feeds(load_yaml(merged))
    except ConfigError as exc:
        raise ConfigError(f"{feeds_file}: the import would not be valid ({exc})") from None
    if len(result.feeds) != expected:  # a layout `with_items` misread: better nothing than that
        raise ConfigError(f"{feeds_file}: cannot add to its 'feeds' list; add them by hand")
    _replace(feeds_file, merged)


def with_items(text: str, items: Sequence[str]) -> str:
    """`text`, a valid feeds.yaml, with `items` (flow mappings) at the end of its feeds list."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    found = [v for k, v in root.value if k.value == "feeds"] if root is not None else []
    node = found[0] if found else None
    if isinstance(node, yaml.SequenceNode) and node.flow_style:
        close = node.end_mark.index - 1  # its "]"
        return text[:close] + (", " if node.value else "") + ", ".join(items) + text[close:]
    if isinstance(node, yaml.SequenceNode) and node.value:
        at = _line_after(text, _last_leaf(node).end_mark)
        block = "".join(f"{' ' * node.start_mark.column}- {item}\n" for item in items)
        return text[:at] + ("" if text[:at].endswith("\n") else "\n") + block + text[at:]
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        block = "".join(f"\n  - {item}" for item in items)  # "feeds:", "feeds: ~"
        return text[: node.start_mark.index] + block + text[node.end_mark.index :]
    raise ConfigError("has no 'feeds' list to add to")  # load_feeds would have refused it


def _last_leaf(node: yaml.Node) -> yaml.Node:
    """The last scalar or flow collection in a block collection: a block collection's own end
    is where the next token starts, past any comments and blank lines after it."""
    while isinstance(node, yaml.CollectionNode) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    return node


def _line_after(text: str, mark: yaml.Mark) -> int:
    """Where the line after the one `mark` is on starts (where it is, at a line's start)."""
    if mark.column == 0:
        return int(mark.index)
    end = text.find("\n", mark.index)
    return len(text) if end < 0 else end + 1


def _replace(path: Path, text: str) -> None:
    """Write `text` to the file `path` names, all or nothing: a temporary file beside the
    target (through a symlink: the link stays), with its permissions, renamed over it."""
    target = path.resolve()
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
        with temporary.open("w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fchmod(file.fileno(), mode)
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{path}: cannot write it ({reason}); it is unchanged") from None
