"""The command-line interface as a user runs it: `python -m bot poll --once | search | status |
classify | feeds check|import|export`, in subprocesses, against the local feed server. None of
them may import aiogram."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fakes.feedserver import FeedServer, rss

NO_AIOGRAM = (
    "import runpy, sys; sys.argv = ['bot'] + sys.argv[1:]\n"
    "try:\n    runpy.run_module('bot', run_name='__main__')\n"
    "finally:\n"
    "    assert sys.argv[1] == 'run' or 'aiogram' not in sys.modules, 'aiogram imported'\n"
)


async def run_cli(
    tmp: Path, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    environment.update(
        {"DATABASE_PATH": str(tmp / "db.sqlite3"), "FEEDS_FILE": str(tmp / "feeds.yaml")}
    )
    environment.update(env or {})
    pipe = asyncio.subprocess.PIPE
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", NO_AIOGRAM, *args, cwd=REPO, env=environment,
        stdin=pipe, stdout=pipe, stderr=pipe,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_poll_once_then_search_then_status(tmp_path: Path) -> None:
    async with FeedServer() as srv:
        srv.set_feed(
            "/rss",
            rss(
                [
                    {
                        "title": "Кыргызстан экстрадировал в Россию активиста, "
                        "бежавшего от мобилизации",
                        "link": "https://example.org/kg?utm_source=rss",
                        "description": "Власти Киргизии выдали России антивоенного активиста.",
                        "pubDate": datetime.now(UTC),
                    },
                    {"title": "Погода в Бишкеке", "link": "https://example.org/w"},
                ]
            ),
        )
        srv.set_response("/broken", 500)
        (tmp_path / "feeds.yaml").write_text(
            f"feeds:\n  - {{name: Good, url: '{srv.url('/rss')}', lang: ru}}\n"
            f"  - {{name: Broken, url: '{srv.url('/broken')}'}}\n",
            encoding="utf-8",
        )
        code, out, err = await run_cli(tmp_path, "poll", "--once")
        assert code == 0, err
        lines = out.splitlines()
        assert any("Кыргызстан экстрадировал" in line and "[KG" in line for line in lines)
        assert "Good: ok (2 entries, 1 new relevant)" in lines
        assert any(line.startswith("Broken: error: HTTPStatusError: HTTP 500") for line in lines)
        assert not any("Погода" in line for line in lines)

        code, out, _ = await run_cli(tmp_path, "poll", "--once")  # nothing new the second time
        assert "Good: ok (2 entries, 0 new relevant)" in out.splitlines()

    code, out, err = await run_cli(tmp_path, "search", "активиста", "Киргизии", "--json")
    assert code == 0, err
    [hit] = [json.loads(line) for line in out.splitlines()]
    assert hit["countries"][0] == "KG"
    assert hit["link"] == "https://example.org/kg?utm_source=rss"

    code, out, err = await run_cli(tmp_path, "search", "активиста", "-Киргизии", "--json")
    assert (code, out) == (0, ""), err  # the query language's exclusion, as in the chat
    code, out, err = await run_cli(tmp_path, "search", "активиста", "-погода", "--limit", "3")
    assert code == 0, err
    assert "Кыргызстан экстрадировал" in out
    # argparse would read -hungary as -h with an argument, and --json after it as its own
    code, out, err = await run_cli(tmp_path, "search", "-hungary", "активиста", "--json")
    assert code == 0, err
    assert "Кыргызстан экстрадировал" in json.loads(out)["title"]

    code, out, err = await run_cli(tmp_path, "search", '"*"')
    assert code == 1
    assert "Type a few words" in err

    # Status leaves the bot's work to the bot: a search row still queued stays queued.
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute("INSERT INTO search_pending (story_id) SELECT id FROM stories")
    code, out, _ = await run_cli(tmp_path, "status")
    assert code == 0
    assert "stories: 1" in out
    code, out, _ = await run_cli(tmp_path, "status", "--health")
    assert (code, out.strip()) == (1, "unhealthy: no recent heartbeat")
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM search_pending").fetchone() == (1,)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        # SQLite cannot bind it: an OverflowError traceback
        (("--limit", "100000000000000000000", "x"), 2, "argument --limit: must be 1 to 1000"),
        (("--limit", "10**20", "x"), 2, "argument --limit: not a number"),
        # no date tag covers these years: an FTS5 syntax error traceback
        (("until:1990",), 1, "Dates run from 1995 to 2100; “1990” is outside that range."),
        (("Бажуков", "until:2026-00-15"), 1, "Cannot read the date “2026-00-15”"),
    ],
)
async def test_search_says_what_is_wrong_in_one_line(
    tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    got, _, err = await run_cli(tmp_path, "search", *args)
    assert (got, "Traceback" in err) == (code, False), err
    assert message in err


@pytest.mark.parametrize("command", [["status"], ["status", "--health"], ["search", "Бажуков"]])
async def test_reading_commands_do_not_create_a_database_where_there_is_none(
    tmp_path: Path, command: list[str]
) -> None:
    # A mistyped DATABASE_PATH must not look like an empty, healthy bot.
    missing = tmp_path / "typo" / "db.sqlite3"
    code, out, err = await run_cli(tmp_path, *command, env={"DATABASE_PATH": str(missing)})
    assert (code, out) == (2, "")
    assert f"DATABASE_PATH {missing}: no database there" in err
    assert not missing.parent.exists()


async def test_feeds_check_validates_the_lexicon_as_the_bot_does(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text(
        "feeds: []\nlexicon:\n  contries: {KZ: {terms: [x]}}\n", encoding="utf-8"
    )
    for command in (["poll", "--once"], ["feeds", "check"]):
        code, _out, err = await run_cli(tmp_path, *command)
        assert (code, "contries" in err) == (2, True), (command, err)


async def test_classify_reads_json_lines(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    lines = [
        {
            "title": "Казахстан выдал России дезертира",
            "summary": "Дезертира передали российским военным.",
        },
        {"title": "Казахстан упростил выдачу виз", "summary": "Для туристов."},
    ]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode() + b"\n"
    code, out, err = await run_cli(tmp_path, "classify", stdin=stdin)
    assert code == 0, err
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["relevant"] is True
    assert "KZ" in first["countries"]
    assert second["relevant"] is False
    assert set(first) >= {"relevant", "score", "countries", "reasons", "action"}


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({}, ["run"], "BOT_TOKEN is not set"),
        ({"BOT_TOKEN": "garbage"}, ["run"], "BOT_TOKEN is malformed"),
        ({"ADMIN_IDS": "x"}, ["status"], "ADMIN_IDS"),
    ],
)
async def test_bad_settings_stop_with_one_clear_line(
    tmp_path: Path, env: dict[str, str], args: list[str], message: str
) -> None:
    code, _out, err = await run_cli(tmp_path, *args, env=env)
    assert code == 2
    assert err.strip().splitlines() == [f"configuration error: {err.split(': ', 1)[1].strip()}"]
    assert message in err
    assert "garbage" not in err


async def test_feeds_check_import_export(tmp_path: Path) -> None:
    opml = tmp_path / "mine.opml"
    async with FeedServer() as srv:
        srv.set_feed("/rss", rss([{"title": "Депортация", "link": "https://example.org/1"}]))
        srv.set_response("/missing", 404)
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(
            "# my sources\ndefaults: {interval: 10m}\nfeeds:\n"
            f"  - {{name: Good, url: '{srv.url('/rss')}'}}\n",
            encoding="utf-8",
        )
        good, missing = srv.url("/rss"), srv.url("/missing")
        opml.write_text(
            '<?xml version="1.0"?><opml version="2.0"><head/><body>'
            f'<outline text="Good again" xmlUrl="{good}"/>'
            f'<outline text="Missing: &quot;x&quot;" xmlUrl="{missing}"/>'
            '<outline text="Chan" xmlUrl="https://t.me/s/twtest" language="ru"/>'
            "</body></opml>",
            encoding="utf-8",
        )
        code, out, err = await run_cli(tmp_path, "feeds", "import", str(opml))
        assert code == 0, err
        assert out.strip() == (
            "imported 2, skipped 1 already listed, 0 without a usable http(s) address"
        )
        text = feeds.read_text(encoding="utf-8")
        assert text.startswith("# my sources\n")  # comments stay
        assert '{name: "Chan", telegram: "twtest", lang: "ru"}' in text

        code, out, err = await run_cli(tmp_path, "feeds", "export")
        assert code == 0, err
        assert out.startswith('<?xml version="1.0" encoding="utf-8"?>')
        assert out.count("<outline ") == 3
        assert 'xmlUrl="https://t.me/s/twtest"' in out

        srv.redirect("/old", "/rss", status=301)
        moved = f"  - {{name: Moved, url: '{srv.url('/old')}'}}\n"
        feeds.write_text(text.replace('  - {name: "Chan"', '  # - {name: "Chan"') + moved)
        code, out, err = await run_cli(tmp_path, "feeds", "check")
        assert code == 1, err
        lines = out.splitlines()
        assert any(line.startswith("Good ") and "ok: 1 entry in" in line for line in lines)
        assert any("Missing" in line and "HTTPStatusError: HTTP 404" in line for line in lines)
        assert any(
            line.startswith("Moved ")
            and line.endswith(f"; moved permanently to {good}: update feeds.yaml")
            for line in lines
        )
        assert lines[-1] == "3 sources: 2 ok, 1 failing"

    (tmp_path / "feeds.yaml").write_text("feeds:\n  - {name: X, telegram: 'a b'}\n")
    code, _out, err = await run_cli(tmp_path, "feeds", "check")
    assert code == 2
    assert "'telegram' must be a public channel's username" in err


async def test_feeds_import_refuses_an_interval_feeds_yaml_would_refuse(tmp_path: Path) -> None:
    feeds, opml = tmp_path / "feeds.yaml", tmp_path / "theirs.opml"
    before = "feeds:\n  - {name: A, url: 'https://a.example/rss'}\n"
    feeds.write_text(before, encoding="utf-8")
    opml.write_text(
        '<opml version="2.0"><body><outline text="Fine" xmlUrl="https://f.example/rss"/>'
        '<outline text="Weekly+" xmlUrl="https://w.example/rss" interval="8d"/></body></opml>',
        encoding="utf-8",
    )
    code, out, err = await run_cli(tmp_path, "feeds", "import", str(opml))
    assert (code, out) == (2, "")
    assert err == (
        f"configuration error: {opml}: outline 'Weekly+': interval is longer than 7 days\n"
    )
    assert feeds.read_text(encoding="utf-8") == before  # nothing imported, not even "Fine"


async def test_feeds_check_reports_odd_numbers_and_hosts_as_failing_sources(
    tmp_path: Path,
) -> None:
    async with FeedServer() as srv:
        srv.set_feed("/rss", rss([{"title": "Депортация", "link": "https://example.org/1"}]))
        srv.set_response("/retry", 503, headers={"Retry-After": "\u00b2"})
        srv.set_response("/label", 301, headers={"Location": "http://exa_mple..com/"})
        (tmp_path / "feeds.yaml").write_text(
            "feeds:\n"
            f"  - {{name: Good, url: '{srv.url('/rss')}'}}\n"
            f"  - {{name: Retry, url: '{srv.url('/retry')}'}}\n"
            f"  - {{name: Label, url: '{srv.url('/label')}'}}\n",
            encoding="utf-8",
        )
        code, out, err = await run_cli(tmp_path, "feeds", "check")
    assert code == 1, err
    lines = out.splitlines()
    assert any(line.startswith("Retry ") and "HTTPStatusError: HTTP 503" in line for line in lines)
    assert any(line.startswith("Label ") and "ConnectError: invalid URL" in line for line in lines)
    assert lines[-1] == "3 sources: 1 ok, 2 failing"


def test_a_story_line_gives_a_title_less_story_its_first_sentence() -> None:
    from bot.cli import story_line
    from bot.storage.records import Story

    def story(title: str, summary: str) -> Story:
        return Story(
            id=7, title=title, summary=summary, link=None, outlet="Outlet", published_at=None,
            countries=("KZ",), action="detention", reasons=(), sources=1,
        )  # fmt: skip

    line = story_line(story("", "Almaty police detained Ivan Petrov. He faces extradition."))
    assert "  Almaty police detained Ivan Petrov.  " in line
    assert "He faces" not in line
    assert "  (no title)  " in story_line(story(" ", ""))
    assert "  Title  " in story_line(story("Title", "Lead. More."))


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    # `classify < many.jsonl | head -1`: the pipe closes while the command still writes.
    (tmp_path / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    line = json.dumps({"title": "Казахстан выдал России дезертира", "summary": "."}) + "\n"
    environment = {**os.environ, "FEEDS_FILE": str(tmp_path / "feeds.yaml")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "classify"], cwd=REPO, env=environment,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first verdict
    try:
        proc.stdin.write((line * 20_000).encode())
        proc.stdin.close()
    except BrokenPipeError:
        pass  # it may be gone already; what counts is how it went
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 0, err
    assert "Traceback" not in err


def test_json_gives_no_publication_date_for_an_undated_report() -> None:
    """`search --json` is read by scripts that cite "published": an undated story or report
    has null there, and when the bot first saw it under "seen"."""
    from bot.cli import story_json
    from bot.storage.records import Source, Story

    seen = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)
    story = Story(
        id=7, title="t", summary="", link=None, outlet="Outlet", published_at=None,
        countries=("KZ",), action="detention", reasons=(), sources=2, seen_at=seen,
    )  # fmt: skip
    sources = [Source("A", "t", None, None, None, seen), Source("B", "t", None, None, seen, seen)]
    found = story_json(story, sources)
    reports = found["reports"]
    assert isinstance(reports, list)
    assert (found["published"], found["seen"]) == (None, "2026-02-03T09:00:00+00:00")
    assert [(r["published"], r["seen"]) for r in reports] == [
        (None, "2026-02-03T09:00:00+00:00"),
        ("2026-02-03T09:00:00+00:00", "2026-02-03T09:00:00+00:00"),
    ]
