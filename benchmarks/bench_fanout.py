"""Fan-out benchmark: one alert to N chats through the real bot process.

    uv run python benchmarks/bench_fanout.py [--chats 10000] [--rate 25]

A SQLite database is prepared with N subscribed private chats and one story whose N alerts are
queued (as `storage.stories.save` queues them). Then the real bot (`python -m bot run`,
`SEND_RATE=<rate>`) starts against the fake Bot API server of the tests, which enforces
Telegram's limits (30 messages/s overall, 1/s per chat) by answering 429. When every chat has
its alert, the bot gets SIGTERM.

Reported: messages/s achieved between the first and the last alert, as a fraction of the
configured rate; 429 answers; duplicates; the bot process's CPU time (during the fan-out, and in
total including start-up) and its peak resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.model import Entry, FeedSpec, Verdict  # noqa: E402
from bot.storage import Incoming, Storage  # noqa: E402
from tests.fakes.botapi import FakeBotAPI  # noqa: E402
from tests.fakes.botapi_methods import Call  # noqa: E402
from tests.fakes.feedserver import FeedServer, rss  # noqa: E402

FIRST_CHAT = 1_000_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class TimedBotAPI(FakeBotAPI):
    """The fake Bot API, noting when each alert was accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: list[tuple[float, int]] = []  # (monotonic time, chat id)
        send = self._methods.handlers["sendmessage"]

        async def timed(call: Call) -> Any:
            result = await send(call)
            self.accepted.append((time.monotonic(), int(call.params["chat_id"])))
            return result

        self._methods.handlers["sendmessage"] = timed


async def prepare(db_path: Path, feed_url: str, chats: int) -> None:
    storage = await Storage.open(db_path)
    try:
        now = time.time()
        await storage.feeds.sync([FeedSpec(name="Bench Outlet", url=feed_url)], now=now)
        [feed] = await storage.feeds.all()
        async with storage.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO chats (chat_id, subscribed, active, created_at) VALUES (?, 1, 1, ?)",
                ((FIRST_CHAT + i, now) for i in range(chats)),
            )
        entry = Entry(
            title="Kazakhstan extradites a Russian deserter",
            summary="A deserter who fled mobilisation was handed over to Russia at the border.",
            link="https://example.org/news/bench",
            guid=None,
            published=datetime.fromtimestamp(now - 60, UTC),
        )
        verdict = Verdict(True, 0.9, ("KZ", "RU"), "extradition", ("action:extradite",))
        item = Incoming(entry, "url:bench", entry.link, "bench", verdict)
        result = await storage.stories.save(feed, [item], now=now, alert_max_age=86400)
        assert result.deliveries == chats, result
    finally:
        await storage.close()


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a live process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def bench(chats: int, rate: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        async with FeedServer() as feeds, TimedBotAPI() as api:
            feeds.set_feed("/rss", rss([]))
            await prepare(tmp / "bench.sqlite3", feeds.url("/rss"), chats)
            (tmp / "feeds.yaml").write_text(
                f"feeds:\n  - name: Bench Outlet\n    url: {feeds.url('/rss')}\n    interval: 1h\n",
                encoding="utf-8",
            )
            env = {
                **os.environ,
                "BOT_TOKEN": api.token,
                "TELEGRAM_API_URL": api.base_url,
                "DATABASE_PATH": str(tmp / "bench.sqlite3"),
                "FEEDS_FILE": str(tmp / "feeds.yaml"),
                "SEND_RATE": str(rate),
                "LOG_LEVEL": "WARNING",
            }
            started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=REPO, env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            cpu_at_first: float | None = None
            deadline = started + chats / rate * 2 + 120
            while len(api.accepted) < chats:
                if proc.returncode is not None or time.monotonic() > deadline:
                    break
                if cpu_at_first is None and api.accepted:
                    cpu_at_first = cpu_seconds(proc.pid)
                await asyncio.sleep(0.05)
            cpu_at_last = cpu_seconds(proc.pid)
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 120)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    times = [t for t, _ in api.accepted]
    per_chat = Counter(chat for _, chat in api.accepted)
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    achieved = (len(times) - 1) / span if len(times) > 1 else 0.0
    fanout_cpu = (
        cpu_at_last - cpu_at_first if cpu_at_first is not None and cpu_at_last is not None else None
    )
    return {
        "chats": chats,
        "configured_rate": rate,
        "delivered": len(per_chat),
        "duplicates": sum(n - 1 for n in per_chat.values()),
        "first_alert_after_start_s": round(times[0] - started, 2) if times else None,
        "fanout_seconds": round(span, 2),
        "achieved_rate": round(achieved, 3),
        "fraction_of_configured": round(achieved / rate, 4),
        "http_429": api.count_429,
        "other_errors": len(api.errors) - api.count_429,
        "cpu_fanout_s": None if fanout_cpu is None else round(fanout_cpu, 2),
        "cpu_fanout_percent": None if fanout_cpu is None else round(100 * fanout_cpu / span, 1),
        "cpu_total_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        "exit_code": proc.returncode,
        "stderr_tail": stderr.decode("utf-8", "replace")[-2000:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0)
    args = parser.parse_args()
    result = asyncio.run(bench(args.chats, args.rate))
    print(json.dumps(result, indent=2))
    ok = (
        result["delivered"] == args.chats
        and result["duplicates"] == 0
        and result["http_429"] == 0
        and result["fraction_of_configured"] >= 0.95
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
