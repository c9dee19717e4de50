"""The command line: `python -m bot run | poll --once | feeds | classify | search | status`.

Each command imports only what it needs: aiogram (3 s and 170 MB to import) is loaded by `run`
alone, so `poll --once`, `feeds`, `classify`, `search` and `status` stay quick.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import Settings, load_feeds, load_settings
from bot.early_stop import EarlyStop
from bot.errors import ConfigError, QueryError

# Search ranks at most its best 1,000 candidates (bot.storage.search.RANK_WINDOW).
MAX_LIMIT = 1000


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(_search_words_last(sys.argv[1:] if argv is None else argv))
    try:
        settings = load_settings(os.environ)
        return int(args.func(args, settings))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`classify ... | head -1`): what it wanted it has. Python
        # would report the pipe again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Transit Watch")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="the bot: long polling plus the feed scheduler")
    run.set_defaults(func=_run)
    poll = sub.add_parser("poll", help="refresh every feed once, without Telegram")
    poll.add_argument("--once", action="store_true", required=True, help="one refresh, then exit")
    poll.set_defaults(func=_poll)
    _add_feeds(sub)
    classify = sub.add_parser("classify", help="JSON Lines in (title, summary), verdicts out")
    classify.set_defaults(func=_classify)
    search = sub.add_parser(
        "search",
        help="search the stored stories (since:/until: days and the dates shown are UTC)",
        description="Days are UTC here: those of since:/until: and those printed.",
    )
    search.add_argument("query", nargs="+")
    search.add_argument("--limit", type=_limit, default=5, help=f"1 to {MAX_LIMIT} (default 5)")
    search.add_argument("--json", action="store_true", help="one JSON object per line")
    search.set_defaults(func=_search)
    status = sub.add_parser("status", help="queue, counters and feed health")
    status.add_argument("--health", action="store_true", help="exit 1 unless the bot is alive")
    status.set_defaults(func=_status)
    return parser


_SEARCH_OPTIONS = frozenset({"-h", "--help", "--json", "--limit"})


def _search_words_last(argv: Sequence[str]) -> list[str]:
    """In a search, `-word` excludes a word, but argparse takes it for an option (`-hungary`
    for -h with an argument): the query's words go after a `--`, where nothing is one."""
    if not argv or argv[0] != "search" or "--" in argv:
        return list(argv)
    options: list[str] = []
    words: list[str] = []
    after_limit = False
    for arg in argv[1:]:
        option = arg in _SEARCH_OPTIONS or arg.startswith("--limit=") or after_limit
        (options if option else words).append(arg)
        after_limit = arg == "--limit"
    return ["search", *options, "--", *words] if words else list(argv)


def _limit(text: str) -> int:
    """`--limit`: a bad value is argparse's usage error, never a traceback from SQLite (which
    cannot bind an integer past 2**63)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text[:20]!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_LIMIT}")
    return value


def _add_feeds(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    feeds = sub.add_parser("feeds", help="check, import or export the list of sources")
    actions = feeds.add_subparsers(required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate feeds.yaml and fetch each source once")
    check.set_defaults(func=_feeds_check)
    imports = actions.add_parser("import", help="append the sources of an OPML file")
    imports.add_argument("opml", type=Path, metavar="FILE.opml")
    imports.set_defaults(func=_feeds_import)
    export = actions.add_parser("export", help="print the sources as OPML 2.0")
    export.set_defaults(func=_feeds_export)


def _feeds_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot import logs
    from bot.feeds_cli import check_feeds
    from bot.relevance.lexicon import load_lexicon

    feeds = load_feeds(settings.feeds_file)
    load_lexicon(feeds.lexicon)  # as the bot will: a mistake in it would stop `run`
    logs.configure("ERROR")
    return asyncio.run(check_feeds(feeds, sys.stdout))


def _feeds_import(args: argparse.Namespace, settings: Settings) -> int:
    from bot.feeds_cli import import_opml

    return import_opml(args.opml, settings.feeds_file, sys.stdout)


def _feeds_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.feeds_cli import export_opml

    feeds = load_feeds(settings.feeds_file)
    code = export_opml(feeds, sys.stdout.buffer)
    sys.stdout.flush()
    return code


def _run(args: argparse.Namespace, settings: Settings) -> int:
    settings.require_token()
    feeds = load_feeds(settings.feeds_file)
    early = EarlyStop()  # before the 3 s import: a `docker stop` then must not be lost
    from bot import app, logs  # only now: a bad setting is reported without the 3 s import

    logs.configure(settings.log_level, settings.bot_token or "")
    asyncio.run(app.run(settings, feeds, asked_before=lambda: early.asked))
    return 0


def _poll(args: argparse.Namespace, settings: Settings) -> int:
    from bot import logs
    from bot.cli import poll_once

    feeds = load_feeds(settings.feeds_file)
    logs.configure(settings.log_level if settings.log_level != "INFO" else "WARNING")
    return asyncio.run(poll_once(settings, feeds, sys.stdout))


def _classify(args: argparse.Namespace, settings: Settings) -> int:
    from bot.relevance import Classifier
    from bot.relevance.cli import run_classify

    lexicon = load_feeds(settings.feeds_file).lexicon if settings.feeds_file.exists() else {}
    return run_classify(sys.stdin, sys.stdout, Classifier.from_extension(lexicon))


def _search(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import search_stories

    try:
        return asyncio.run(
            search_stories(settings, " ".join(args.query), args.limit, args.json, sys.stdout)
        )
    except QueryError as exc:
        print(exc, file=sys.stderr)
        return 1


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import show_status

    return asyncio.run(show_status(settings, args.health, sys.stdout))


if __name__ == "__main__":
    sys.exit(main())
