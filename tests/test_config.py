"""Settings and feeds.yaml: every mistake is one clear line naming the setting or feed."""

from __future__ import annotations

import errno
import io
import os
import stat
from dataclasses import replace
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from bot.config import load_feeds, load_settings, parse_duration, parse_feeds
from bot.errors import ConfigError
from bot.feeds_cli import export_opml, import_opml
from tests.conftest import REPO

TOKEN = "123456:" + "A" * 35


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.bot_token is None
    assert settings.database_path == Path("data/transit-watch.sqlite3")
    assert settings.feeds_file == Path("feeds.yaml")
    assert settings.admin_ids == frozenset()
    assert settings.log_level == "INFO"
    assert settings.send_rate == 25.0


def test_full_environment() -> None:
    settings = load_settings(
        {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": "http://127.0.0.1:8081/",
            "DATABASE_PATH": "/data/db.sqlite3",
            "FEEDS_FILE": "/etc/feeds.yaml",
            "ADMIN_IDS": "1, 22,333",
            "LOG_LEVEL": "debug",
            "SEND_RATE": "20.5",
            "ANALYSIS_WORKERS": "3",
        }
    )
    assert settings.require_token() == TOKEN
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.admin_ids == {1, 22, 333}
    assert settings.log_level == "DEBUG"
    assert settings.send_rate == 20.5
    assert settings.analysis_workers == 3


@pytest.mark.parametrize(("cpus", "workers"), [(1, 0), (2, 1), (16, 1)])
def test_one_reading_worker_by_default_given_a_second_cpu(cpus: int, workers: int) -> None:
    assert load_settings({}, cpus=cpus).analysis_workers == workers
    assert load_settings({"ANALYSIS_WORKERS": "0"}, cpus=cpus).analysis_workers == 0


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"BOT_TOKEN": "nonsense"}, "BOT_TOKEN"),
        ({"TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL"),
        ({"ADMIN_IDS": "1,bob"}, "ADMIN_IDS"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"SEND_RATE": "fast"}, "SEND_RATE"),
        ({"SEND_RATE": "0"}, "SEND_RATE"),
        ({"SEND_RATE": "31"}, "SEND_RATE"),
        ({"SEND_RATE": "nan"}, "SEND_RATE"),
        ({"ANALYSIS_WORKERS": "-1"}, "ANALYSIS_WORKERS"),
        ({"ANALYSIS_WORKERS": "9"}, "ANALYSIS_WORKERS"),
        ({"ANALYSIS_WORKERS": "two"}, "ANALYSIS_WORKERS"),
        ({"ANALYSIS_WORKERS": "\u00b2"}, "ANALYSIS_WORKERS"),  # a digit to isdigit(), not int()
        ({"ADMIN_IDS": "1,\u00b2"}, "ADMIN_IDS"),
        ({"ADMIN_IDS": "--5"}, "ADMIN_IDS"),
        # A space for a comma must not make one id of two: 111222 is someone else.
        ({"ADMIN_IDS": "111 222"}, "ADMIN_IDS"),
        ({"ADMIN_IDS": "-5"}, "ADMIN_IDS"),  # user ids are positive; groups are not operators
        ({"ADMIN_IDS": "0"}, "ADMIN_IDS"),
        # SQLite stores no larger integer: every admin notice failed with an OverflowError
        ({"ADMIN_IDS": "777,99999999999999999999"}, "ADMIN_IDS"),
        # aiogram appends /bot<token>/<method>: a query would carry the token, or cut it off
        ({"TELEGRAM_API_URL": "http://127.0.0.1:8081/?x=1"}, "TELEGRAM_API_URL"),
        ({"TELEGRAM_API_URL": "http://127.0.0.1:8081/#x"}, "TELEGRAM_API_URL"),
        ({"TELEGRAM_API_URL": "http://user@127.0.0.1:8081"}, "TELEGRAM_API_URL"),
        ({"TELEGRAM_API_URL": "http://api..example.org"}, "TELEGRAM_API_URL"),
    ],
)
def test_bad_settings_name_themselves_and_hide_the_token(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names) as info:
        load_settings(env)
    assert "nonsense" not in str(info.value)


def test_blank_or_padded_environment_values() -> None:
    # A blank value is an unset one, whatever the variable; padding is not part of a value.
    settings = load_settings(
        {"DATABASE_PATH": "  ", "FEEDS_FILE": " feeds.yaml ", "BOT_TOKEN": " ", "LOG_LEVEL": " "}
    )
    assert settings.database_path == Path("data/transit-watch.sqlite3")
    assert settings.feeds_file == Path("feeds.yaml")
    assert (settings.bot_token, settings.log_level) == (None, "INFO")
    assert load_settings({"ADMIN_IDS": " 1 ,2, "}).admin_ids == {1, 2}


def test_missing_token_is_reported_for_run() -> None:
    with pytest.raises(ConfigError, match="BOT_TOKEN"):
        load_settings({}).require_token()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(90, 90.0), ("90s", 90.0), ("10m", 600.0), ("1h", 3600.0), ("2d", 172800.0), (" 5 m ", 300.0)],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration("x", value) == seconds


@pytest.mark.parametrize("value", ["10 minutes", "-5", 0, True, "1w", None, [1]])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ConfigError, match="x"):
        parse_duration("x", value)


def test_feeds_with_defaults_and_overrides() -> None:
    config = parse_feeds(
        {
            "defaults": {"interval": "5m", "alert_max_age": "24h"},
            "feeds": [
                {"name": "A", "url": "https://a.example/rss", "lang": "ru"},
                {"name": "B", "url": "https://b.example/rss", "interval": 60},
            ],
        }
    )
    assert [(f.name, f.interval, f.lang) for f in config.feeds] == [
        ("A", 300.0, "ru"),
        ("B", 60.0, None),
    ]
    assert config.alert_max_age == 86400.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "top level"),
        ({"feeds": "x"}, "'feeds' must be a list"),
        ({"feeds": [{"url": "https://a/"}]}, "feed #1: 'name'"),
        ({"feeds": [{"name": "A", "url": "https://a/", "colour": "red"}]}, "feed 'A'.*colour"),
        ({"feeds": [{"name": "A", "url": "javascript:alert(1)"}]}, "feed 'A': url"),
        ({"feeds": [{"name": "A", "url": "https://a/my feed"}]}, "feed 'A': url: .*%20"),
        ({"feeds": [{"name": "A", "url": "https://a/\x1b[2J"}]}, "feed 'A': url: .*control"),
        ({"feeds": [{"name": "A", "url": "https://a:port/"}]}, "feed 'A': url: not a valid URL"),
        ({"feeds": [{"name": "A", "url": "https://a/", "interval": "soon"}]}, "feed 'A': interval"),
        ({"feeds": [{"name": "A", "url": "https://a/", "lang": "Russian"}]}, "feed 'A': 'lang'"),
        (
            {"feeds": [{"name": "A", "url": "https://a/"}, {"name": "A", "url": "https://b/"}]},
            "twice",
        ),
        (
            {
                "feeds": [
                    {"name": "A", "url": "https://a/rss"},
                    {"name": "B", "url": "https://a/rss"},
                ]
            },
            "feed 'B': the address is also feed 'A'",
        ),
        (  # a channel's username is not case-sensitive, and "@" is optional
            {
                "feeds": [
                    {"name": "A", "telegram": "ovdinfo"},
                    {"name": "B", "telegram": "@OVDinfo"},
                ]
            },
            "feed 'B': the address is also feed 'A'",
        ),
        ({"feeds": [], "extra": 1}, "unknown key"),
        ({"feeds": [], "defaults": {"every": 1}}, "'defaults'.*every"),
        ({"feeds": [{"name": "A"}]}, "feed 'A': 'url' \\(or 'telegram'\\) is missing"),
        (
            {"feeds": [{"name": "A", "url": "https://a/", "telegram": "abcde"}]},
            "feed 'A': give either 'url' or 'telegram'",
        ),
        ({"feeds": [{"name": "A", "telegram": "t.me/x"}]}, "feed 'A': 'telegram' must be"),
        ({"feeds": [{"name": "A", "telegram": 5}]}, "feed 'A': 'telegram' must be"),
        (
            {"feeds": [], "defaults": {"min_interval": "1h", "max_interval": "10m"}},
            "defaults: min_interval is longer than max_interval",
        ),
        (
            {"feeds": [{"name": "A", "url": "https://a/", "max_interval": "30d"}]},
            "feed 'A': max_interval is longer than 7 days",
        ),
        # no text: the database and `feeds export` died on the first, and the export wrote
        # OPML no parser reads for the second
        ({"feeds": [{"name": "A\ud800", "url": "https://a/"}]}, "a lone surrogate"),
        # a NUL marks a feed whose name went to another (bot.storage.feeds), and a \x1f
        # separates a story's outlets (bot.storage.records): neither may come from feeds.yaml
        ({"feeds": [{"name": "A\x001", "url": "https://a/"}]}, "a control character"),
        ({"feeds": [{"name": "A\x1fB", "url": "https://a/"}]}, "a control character"),
        ({"feeds": [{"name": "A", "url": "https://a/\uffff"}]}, "no spaces or control"),
    ],
)
def test_feed_errors_name_the_feed_and_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_feeds(data)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_feeds(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("feeds: [\n  - name: a\n    url: : :\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_feeds(bad)
    for text in ("feeds: " + "9" * 5000, "feeds: " + "[" * 10_000 + "]" * 10_000):
        bad.write_text(text, encoding="utf-8")  # a traceback each, before
        with pytest.raises(ConfigError, match="not valid YAML"):
            load_feeds(bad)


def test_a_key_written_twice_is_an_error_not_the_last_one(tmp_path: Path) -> None:
    # YAML keeps the last of two equal keys: the first feeds list would vanish without a word.
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n  - {name: A, url: 'https://a.example/rss'}\n"
        "defaults: {interval: 10m}\n"
        "feeds:\n  - {name: B, url: 'https://b.example/rss'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="line 4: 'feeds' is written twice"):
        load_feeds(path)
    path.write_text("feeds:\n  - name: A\n    url: https://a.example/rss\n    url: x\n")
    with pytest.raises(ConfigError, match="line 4: 'url' is written twice"):
        load_feeds(path)


def test_hours_and_minutes_are_not_read_as_base_60(tmp_path: Path) -> None:
    # YAML 1.1 reads 1:30 as 90: meant as an hour and a half, it would poll every 90 s.
    path = tmp_path / "feeds.yaml"
    path.write_text("defaults: {interval: 1:30}\nfeeds: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="duration like 10m, got '1:30'"):
        load_feeds(path)
    path.write_text("defaults: {interval: 90, alert_max_age: 1.5e+3}\nfeeds: []\n")
    assert load_feeds(path).alert_max_age == 1500.0


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(b"feeds:\n  - name: Caf\xe9\n    url: https://a.example/rss\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_feeds(path)


def test_shipped_feeds_file_is_valid() -> None:
    config = load_feeds(REPO / "feeds.yaml")
    assert len(config.feeds) >= 20
    assert {f.lang for f in config.feeds} >= {"ru", "en"}


def test_telegram_sources_and_adaptive_bounds() -> None:
    config = parse_feeds(
        {
            "defaults": {"interval": "10m", "min_interval": "5m", "max_interval": "2h"},
            "feeds": [
                {"name": "Chan", "telegram": "@ovdinfo", "lang": "ru"},
                {"name": "Own", "url": "https://a.example/rss", "max_interval": "1h"},
            ],
        }
    )
    chan, own = config.feeds
    assert (chan.kind, chan.url, chan.min_interval, chan.max_interval) == (
        "telegram", "https://t.me/s/ovdinfo", 300.0, 7200.0,
    )  # fmt: skip
    assert (own.kind, own.min_interval, own.max_interval) == ("feed", 300.0, 3600.0)


# Names and languages YAML would read as something else than the string, or not at all, plain.
IMPORTED = [
    # (OPML name, language, name and language in feeds.yaml)
    ("NRK", "no", "NRK", "no"),  # a plain `no` is false
    ("On air", "on", "On air", "on"),
    ("Yes", "yes", "Yes", "yes"),
    ("Off", "off", "Off", "off"),
    ("a: b", None, "a: b", None),
    ("# not a comment", None, "# not a comment", None),
    ("x #y", None, "x #y", None),
    ("- dash", None, "- dash", None),
    ("@at", None, "@at", None),
    ("*star", None, "*star", None),
    ("&anchor", None, "&anchor", None),
    ("!tag", None, "!tag", None),
    ("%directive", None, "%directive", None),
    ("? key", None, "? key", None),
    ("'single'", None, "'single'", None),
    ('"double"', None, '"double"', None),
    ("back\\slash", None, "back\\slash", None),
    ("a, b", None, "a, b", None),
    ("{map}", None, "{map}", None),
    ("[list]", None, "[list]", None),
    ("|", None, "|", None),
    ("yes", None, "yes", None),
    ("on", None, "on", None),
    ("null", None, "null", None),
    ("~", None, "~", None),
    ("1.0", None, "1.0", None),
    ("0x1F", None, "0x1F", None),
    ("2024-03-05", None, "2024-03-05", None),
    ("Новости: Азаттык", "ru-KZ", "Новости: Азаттык", "ru"),
    ("🇺🇦 Новини", "uk", "🇺🇦 Новини", "uk"),
    ("long: " * 33, None, ("long: " * 33).strip(), None),  # not folded over lines
]


def test_imported_names_and_languages_load_back_as_written(tmp_path: Path) -> None:
    feeds_file = tmp_path / "feeds.yaml"
    head = '# my sources\nfeeds:\n  - {name: A, url: "https://a.example/rss"}\n'
    feeds_file.write_text(head, encoding="utf-8")
    outlines = "".join(
        f'<outline text={quoteattr(name)} xmlUrl="https://f.example/{n}"'
        + (f" language={quoteattr(lang)}" if lang else "")
        + "/>"
        for n, (name, lang, _, _) in enumerate(IMPORTED)
    )
    opml = tmp_path / "list.opml"
    opml.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
    out = io.StringIO()
    assert import_opml(opml, feeds_file, out) == 0
    assert out.getvalue().startswith(f"imported {len(IMPORTED)},")
    assert feeds_file.read_text(encoding="utf-8").startswith(head)  # the rest stays as it was
    loaded = load_feeds(feeds_file).feeds[1:]
    assert [(feed.name, feed.url, feed.lang) for feed in loaded] == [
        (name, f"https://f.example/{n}", lang) for n, (_, _, name, lang) in enumerate(IMPORTED)
    ]


def test_an_untitled_feed_is_named_without_its_query(tmp_path: Path) -> None:
    # The name is shown in /feeds, admin notices and logs, which never show addresses: a key
    # in the query string must not reach them as the name.
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("feeds: []\n", encoding="utf-8")
    opml = tmp_path / "list.opml"
    opml.write_text(
        '<opml version="2.0"><body>'
        '<outline type="rss" xmlUrl="https://u:pw@api.example.com/rss/kz?apikey=SECRET&amp;q=kz"/>'
        '<outline type="rss" xmlUrl="https://news.example.org/?feed=rss2"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    assert import_opml(opml, feeds_file, io.StringIO()) == 0
    loaded = load_feeds(feeds_file).feeds
    assert [f.name for f in loaded] == ["api.example.com/rss/kz", "news.example.org"]
    assert "SECRET" in loaded[0].url  # the address itself is kept whole


ONE_NEW = (
    '<opml version="2.0"><body><outline text="New" xmlUrl="https://n.example/rss"/></body></opml>'
)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("feeds: []\n", 'feeds: [{name: "New", url: "https://n.example/rss"}]\n'),
        ("feeds:\n", 'feeds:\n  - {name: "New", url: "https://n.example/rss"}\n'),
        (  # PyYAML's own style: the items at the key's indentation
            "feeds:\n- name: A\n  url: https://a.example/rss\n",
            "feeds:\n- name: A\n  url: https://a.example/rss\n"
            '- {name: "New", url: "https://n.example/rss"}\n',
        ),
        (  # four spaces, no newline at the end, and a section after the list
            "feeds:\n    - {name: A, url: 'https://a.example/rss'}  # first\n"
            "# tuning\ndefaults: {interval: 5m}",
            "feeds:\n    - {name: A, url: 'https://a.example/rss'}  # first\n"
            '    - {name: "New", url: "https://n.example/rss"}\n'
            "# tuning\ndefaults: {interval: 5m}",
        ),
        (
            "feeds:\n  - name: A\n    url: https://a.example/rss\n\n# the end\n...\n",
            "feeds:\n  - name: A\n    url: https://a.example/rss\n"
            '  - {name: "New", url: "https://n.example/rss"}\n\n# the end\n...\n',
        ),
    ],
)
def test_import_adds_to_the_feeds_list_in_its_own_style(
    tmp_path: Path, before: str, after: str
) -> None:
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(before, encoding="utf-8")
    (tmp_path / "l.opml").write_text(ONE_NEW, encoding="utf-8")
    import_opml(tmp_path / "l.opml", feeds_file, io.StringIO())
    assert feeds_file.read_text(encoding="utf-8") == after
    assert "New" in [f.name for f in load_feeds(feeds_file).feeds]


def test_import_writes_through_a_symlink_keeping_its_permissions(tmp_path: Path) -> None:
    real = tmp_path / "conf" / "feeds.yaml"
    real.parent.mkdir()
    real.write_text("feeds:\n  - name: A\n    url: https://a.example/rss\n", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "feeds.yaml"
    link.symlink_to(real)
    (tmp_path / "l.opml").write_text(ONE_NEW, encoding="utf-8")
    import_opml(tmp_path / "l.opml", link, io.StringIO())
    assert link.is_symlink()
    assert "New" in real.read_text(encoding="utf-8")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_an_import_that_cannot_be_written_is_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A feeds.yaml bind-mounted on its own into a container cannot be renamed over (EBUSY).
    feeds_file = tmp_path / "feeds.yaml"
    before = "feeds:\n  - name: A\n    url: https://a.example/rss\n"
    feeds_file.write_text(before, encoding="utf-8")
    (tmp_path / "l.opml").write_text(ONE_NEW, encoding="utf-8")

    def busy(source: object, target: object) -> None:
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))

    monkeypatch.setattr(os, "replace", busy)
    with pytest.raises(ConfigError, match=r"cannot write it .*; it is unchanged"):
        import_opml(tmp_path / "l.opml", feeds_file, io.StringIO())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feeds.yaml", "l.opml"]
    assert feeds_file.read_text(encoding="utf-8") == before


def test_export_then_import_keeps_every_key(tmp_path: Path) -> None:
    original = parse_feeds(
        {
            "feeds": [
                {
                    "name": "A\x01", "url": "https://a.example/rss", "lang": "ru",
                    "interval": "20m", "min_interval": "5m", "max_interval": "2h",
                },
                {"name": "Chan", "telegram": "ovdinfo"},
            ]
        }
    )  # fmt: skip
    out = io.BytesIO()
    export_opml(original, out)
    (tmp_path / "a.opml").write_bytes(out.getvalue())
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("feeds: []\n", encoding="utf-8")
    import_opml(tmp_path / "a.opml", feeds_file, io.StringIO())
    # The name loses the control character XML cannot carry; all else comes back as it was.
    assert load_feeds(feeds_file).feeds == (replace(original.feeds[0], name="A"), original.feeds[1])
