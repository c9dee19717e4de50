"""Settings from the environment and feeds.yaml, validated once at start-up.

Every problem becomes one `ConfigError` whose message names the setting (or the feed) and says
what is wrong, so start-up stops with one clear line. The bot token is never part of a message.

Environment:
    BOT_TOKEN          required for `run`; Telegram's `<digits>:<secret>` shape
    TELEGRAM_API_URL   optional base URL of a Bot API server (http or https)
    DATABASE_PATH      default data/transit-watch.sqlite3
    FEEDS_FILE         default feeds.yaml
    ADMIN_IDS          comma-separated Telegram user ids of operators
    LOG_LEVEL          DEBUG, INFO (default), WARNING or ERROR
    SEND_RATE          messages per second to Telegram overall, default 25, at most 30
    ANALYSIS_WORKERS   processes that parse fetched feeds (bot.analysis), 0 (in a thread of the
                       bot's own process) to 8; each costs ~25 MB. Default: 1 where the bot
                       may use two or more CPUs, else 0

feeds.yaml:
    defaults:  {interval: 10m, alert_max_age: 48h,     optional
                min_interval: 5m, max_interval: 2h}    optional floor and ceiling of adapting
    feeds:     [{name, url, lang?, interval?,          required, names unique, with no NUL
                 min_interval?, max_interval?}, ...]   or U+001F; exactly one of `url` and
                                                       `telegram` per source
               or {name, telegram: channel, ...}       a public channel's t.me/s/ preview
    lexicon:   {...}                                   optional, see bot.relevance

A feed's `lang` is its entries' language unless an entry says its own: it wins over what the
feed says for all of them (`<language>`, a feed's xml:lang, the Content-Language header).

A source polls adaptively between its floor and ceiling (see bot.schedule); without them it
polls every `interval`, as before. A floor above the ceiling is an error; the configured
interval always lies between them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.addresses import NOT_IN_URL
from bot.errors import ConfigError
from bot.model import FeedSpec, SourceKind

_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{30,100}")
_DURATION = re.compile(r"(\d{1,9})\s*(s|m|h|d)?")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_LANG = re.compile(r"[a-z]{2,3}")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_FEED_KEYS = frozenset(
    {"name", "url", "telegram", "lang", "interval", "min_interval", "max_interval"}
)
_DEFAULT_KEYS = frozenset({"interval", "alert_max_age", "min_interval", "max_interval"})
# Telegram public usernames: 5-32 characters; a few old channels have 4.
_CHANNEL = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_TOP_KEYS = frozenset({"defaults", "feeds", "lexicon"})

DEFAULT_INTERVAL = 600.0
DEFAULT_ALERT_MAX_AGE = 48 * 3600.0
MIN_INTERVAL = 1.0  # tests poll a local server every second; real feeds are set in minutes
MAX_INTERVAL = 7 * 86400.0
DEFAULT_SEND_RATE = 25.0
MAX_SEND_RATE = 30.0  # Telegram's documented limit for one bot
MAX_WORKERS = 8
# ASCII digits only: str.isdigit() also takes "²", which int() refuses.
_WHOLE = re.compile(r"[0-9]{1,20}")
_SURROGATE = re.compile("[\ud800-\udfff]")
# The storage marks a feed whose name went to another with a NUL (`bot.storage.feeds`), and
# joins a story's outlets with \x1f (`bot.storage.records`): no name may carry either.
_STORAGE_MARKS = re.compile("[\x00\x1f]")
_MAX_ID = 2**63 - 1  # what SQLite stores (Telegram's ids are under 2**52)


@dataclass(frozen=True, slots=True)
class Settings:
    """What the process needs from its environment."""

    bot_token: str | None
    telegram_api_url: str | None
    database_path: Path
    feeds_file: Path
    admin_ids: frozenset[int]
    log_level: str
    send_rate: float = DEFAULT_SEND_RATE
    analysis_workers: int = 0

    def require_token(self) -> str:
        if self.bot_token is None:
            raise ConfigError("BOT_TOKEN is not set: the bot needs its token from @BotFather")
        return self.bot_token


@dataclass(frozen=True, slots=True)
class FeedsConfig:
    """The parsed feeds.yaml."""

    feeds: tuple[FeedSpec, ...]
    alert_max_age: float = DEFAULT_ALERT_MAX_AGE
    lexicon: Mapping[str, Any] = field(default_factory=dict)


def load_settings(env: Mapping[str, str], cpus: int | None = None) -> Settings:
    """Read and validate the environment (pass `os.environ`); `cpus` is how many CPUs the
    process may use, this machine's when None. A blank value counts as unset, and the
    spaces around a value are not part of it."""

    def get(name: str) -> str:
        return (env.get(name) or "").strip()

    token = get("BOT_TOKEN") or None
    if token is not None and not _TOKEN.fullmatch(token):
        raise ConfigError("BOT_TOKEN is malformed: expected <digits>:<secret> from @BotFather")
    api_url = get("TELEGRAM_API_URL") or None
    if api_url is not None:
        api_url = _check_api_url(api_url)
    level = (get("LOG_LEVEL") or "INFO").upper()
    if level not in _LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}")
    return Settings(
        bot_token=token,
        telegram_api_url=api_url,
        database_path=Path(get("DATABASE_PATH") or "data/transit-watch.sqlite3"),
        feeds_file=Path(get("FEEDS_FILE") or "feeds.yaml"),
        admin_ids=_parse_admin_ids(get("ADMIN_IDS")),
        log_level=level,
        send_rate=_parse_send_rate(get("SEND_RATE")),
        analysis_workers=_parse_workers(get("ANALYSIS_WORKERS"), cpus or _cpus()),
    )


def load_feeds(path: Path) -> FeedsConfig:
    """Read feeds.yaml; every error names the file, the feed and the key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"FEEDS_FILE {path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"FEEDS_FILE {path}: not UTF-8 (byte {exc.start})") from None
    try:
        return parse_feeds(load_yaml(text))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_yaml(text: str) -> Any:
    """The YAML document in `text`; a syntax error or a key written twice in one mapping (YAML
    would keep the last one, silently dropping the first) is a `ConfigError`."""
    try:
        return yaml.load(text, Loader=_UniqueKeysLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"not valid YAML{where}") from None
    except ValueError:  # a number of thousands of digits (int() refuses it)
        raise ConfigError("not valid YAML: a number too long") from None
    except RecursionError:
        raise ConfigError("not valid YAML: lists or mappings nested too deep") from None


class _UniqueKeysLoader(yaml.SafeLoader):
    def construct_number(self, node: yaml.ScalarNode) -> Any:
        """YAML 1.1 reads `1:30` as 90 (base 60): an interval meant as 1 h 30 min would be
        90 seconds. It stays the text it is, which the duration check then refuses."""
        if ":" in node.value:
            return node.value
        if node.tag.endswith(":int"):
            return self.construct_yaml_int(node)
        return self.construct_yaml_float(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # "<<: *defaults" may be overridden key by key, on purpose
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict):
                continue  # unhashable: SafeLoader itself refuses it, with its own message
            if key in seen:
                raise ConfigError(f"line {key_node.start_mark.line + 1}: {key!r} is written twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


for _tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
    _UniqueKeysLoader.add_constructor(_tag, _UniqueKeysLoader.construct_number)


def parse_feeds(data: object) -> FeedsConfig:
    """Validate the already-loaded YAML document."""
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping with a 'feeds:' list")
    _reject_unknown("the top level", data, _TOP_KEYS)
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError("'defaults' must be a mapping")
    _reject_unknown("'defaults'", defaults, _DEFAULT_KEYS)
    base = _Defaults(
        interval=parse_duration("defaults.interval", defaults.get("interval", DEFAULT_INTERVAL)),
        min_interval=_optional_duration("defaults.min_interval", defaults.get("min_interval")),
        max_interval=_optional_duration("defaults.max_interval", defaults.get("max_interval")),
    )
    check_bounds("defaults", base.min_interval, base.max_interval)
    max_age = parse_duration(
        "defaults.alert_max_age", defaults.get("alert_max_age", DEFAULT_ALERT_MAX_AGE)
    )
    raw_feeds = data.get("feeds")
    if raw_feeds is None and "feeds" in data:
        raw_feeds = []  # "feeds:" with nothing yet (`feeds import` adds to it)
    if not isinstance(raw_feeds, list):
        raise ConfigError("'feeds' must be a list of {name, url or telegram, lang?, interval?}")
    feeds = tuple(_parse_feed(i, raw, base) for i, raw in enumerate(raw_feeds, 1))
    _reject_duplicates(feeds)
    lexicon = data.get("lexicon") or {}
    if not isinstance(lexicon, dict):
        raise ConfigError("'lexicon' must be a mapping")
    return FeedsConfig(feeds=feeds, alert_max_age=max_age, lexicon=lexicon)


def parse_duration(key: str, value: object) -> float:
    """Seconds from an int/float or a string like '90s', '10m', '1h', '2d'."""
    seconds: float
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected seconds or a duration like 10m, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.fullmatch(value.strip().lower())):
        seconds = float(int(m.group(1)) * _UNITS[m.group(2)])
    else:
        raise ConfigError(f"{key}: expected seconds or a duration like 10m, got {value!r}")
    if not MIN_INTERVAL <= seconds <= 365 * 86400:
        raise ConfigError(f"{key}: {value!r} is out of range (1s to 365d)")
    return seconds


@dataclass(frozen=True, slots=True)
class _Defaults:
    interval: float
    min_interval: float | None
    max_interval: float | None


def _parse_feed(index: int, raw: object, defaults: _Defaults) -> FeedSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"feed #{index}: expected a mapping with name and url")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"feed #{index}: 'name' is missing or empty")
    label = f"feed {name.strip()!r}"
    if _SURROGATE.search(name):  # YAML's "\ud800": no text (the database refuses it)
        raise ConfigError(f"{label}: the name has a lone surrogate, which is no character")
    if _STORAGE_MARKS.search(name):
        raise ConfigError(f"{label}: the name has a control character (NUL or \\x1f)")
    _reject_unknown(label, raw, _FEED_KEYS)
    kind, url = _source(label, raw)
    lang = raw.get("lang")
    if lang is not None and (not isinstance(lang, str) or not _LANG.fullmatch(lang)):
        raise ConfigError(f"{label}: 'lang' must be a language code like ru, en, uk")
    interval = parse_interval(f"{label}: interval", raw.get("interval", defaults.interval))
    low = _optional_duration(f"{label}: min_interval", raw.get("min_interval"))
    high = _optional_duration(f"{label}: max_interval", raw.get("max_interval"))
    low = defaults.min_interval if low is None else low
    high = defaults.max_interval if high is None else high
    check_bounds(label, low, high)
    return FeedSpec(
        name=name.strip(), url=url, lang=lang, interval=interval, kind=kind,
        min_interval=low, max_interval=high,
    )  # fmt: skip


def _source(label: str, raw: Mapping[str, Any]) -> tuple[SourceKind, str]:
    url, channel = raw.get("url"), raw.get("telegram")
    if url is not None and channel is not None:
        raise ConfigError(f"{label}: give either 'url' or 'telegram', not both")
    if channel is not None:
        name = channel.strip().removeprefix("@") if isinstance(channel, str) else ""
        if not _CHANNEL.fullmatch(name):
            raise ConfigError(
                f"{label}: 'telegram' must be a public channel's username, like ovdinfo "
                "(letters, digits and underscores, 4 to 32 characters)"
            )
        return "telegram", f"https://t.me/s/{name}"
    if not isinstance(url, str):
        raise ConfigError(f"{label}: 'url' (or 'telegram') is missing")
    return "feed", _check_url(f"{label}: url", url)


def parse_interval(key: str, value: object) -> float:
    """A source's interval, floor or ceiling, as feeds.yaml and an OPML import take it."""
    seconds = parse_duration(key, value)
    if seconds > MAX_INTERVAL:
        raise ConfigError(f"{key} is longer than 7 days")
    return seconds


def _optional_duration(key: str, value: object) -> float | None:
    return None if value is None else parse_interval(key, value)


def check_bounds(where: str, low: float | None, high: float | None) -> None:
    if low is not None and high is not None and low > high:
        raise ConfigError(f"{where}: min_interval is longer than max_interval")


def _check_url(key: str, url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise ConfigError(f"{key}: not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{key}: expected an absolute http(s) URL")
    if NOT_IN_URL.search(url):
        raise ConfigError(
            f"{key}: a URL has no spaces or control characters (write a space as %20)"
        )
    return url


def _check_api_url(url: str) -> str:
    """A Bot API server's base URL: aiogram appends /bot<token>/<method> to it, so a query or
    fragment would carry the token into it (or cut it off), and a host name that cannot be
    looked up failed only at the first request, as a traceback."""
    url = _check_url("TELEGRAM_API_URL", url).rstrip("/")
    parts = urlsplit(url)
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ConfigError("TELEGRAM_API_URL: a base URL, with no query, fragment or user name")
    try:
        (parts.hostname or "").encode("idna")
    except UnicodeError:
        raise ConfigError("TELEGRAM_API_URL: not a valid host name") from None
    return url


def _reject_unknown(where: str, data: Mapping[Any, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
        )


def source_address(kind: str, url: str) -> str:
    """What makes two sources one: the URL, or for a channel its preview's URL in any case
    (usernames are not case-sensitive; other URLs may be, in a path or a query)."""
    return url.lower() if kind == "telegram" else url


def _reject_duplicates(feeds: tuple[FeedSpec, ...]) -> None:
    """Names are unique, and so are addresses: one source listed twice would be fetched
    twice and count as two outlets for every story it reports."""
    names: set[str] = set()
    addresses: dict[str, str] = {}
    for feed in feeds:
        if feed.name in names:
            raise ConfigError(f"feed {feed.name!r}: the name is used twice")
        names.add(feed.name)
        address = source_address(feed.kind, feed.url)
        if (other := addresses.setdefault(address, feed.name)) != feed.name:
            raise ConfigError(f"feed {feed.name!r}: the address is also feed {other!r}")


def _parse_send_rate(raw: str) -> float:
    if not raw.strip():
        return DEFAULT_SEND_RATE
    try:
        rate = float(raw)
    except ValueError:
        rate = float("nan")
    if not 0 < rate <= MAX_SEND_RATE:  # also false for NaN
        raise ConfigError("SEND_RATE must be a number of messages per second, above 0, at most 30")
    return rate


def _parse_workers(raw: str, cpus: int) -> int:
    if not raw.strip():
        # One reader beside the bot's process when there is a second CPU for it: a cold cycle
        # of many feeds takes a third less time for ~25 MB (BENCHMARKS.md, Refresh); on one CPU
        # it would only take turns with the bot.
        return 1 if cpus >= 2 else 0
    if not _WHOLE.fullmatch(raw.strip()) or int(raw) > MAX_WORKERS:
        raise ConfigError(f"ANALYSIS_WORKERS must be a whole number from 0 to {MAX_WORKERS}")
    return int(raw)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may use (taskset, cpusets)
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def _parse_admin_ids(raw: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        # Whole positive numbers only: "111 222" glued together would be someone else's id.
        if not _WHOLE.fullmatch(part) or not 0 < int(part) <= _MAX_ID:
            raise ConfigError("ADMIN_IDS must be comma-separated numeric Telegram user ids")
        ids.add(int(part))
    return frozenset(ids)
