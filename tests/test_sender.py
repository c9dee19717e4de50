"""The sender against the fake Bot API: exactly once, in order, through Telegram's failures."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.delivery_calls import Sent
from bot.pacing import Pacer
from bot.send_outcomes import Outcomes
from bot.sender import Backoff
from bot.storage import Delivery, Storage
from tests.conftest import NOW, add_feeds, incoming, make_entry
from tests.fakes.botapi import FakeBotAPI
from tests.telegram_harness import running_bot

DAY = 86400.0
H = 3600.0
FAST = Backoff(first=0.1, factor=2.0, cap=1.0)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


async def queue(storage: Storage, chats: list[int], n_stories: int) -> None:
    now = time.time()
    [feed] = await add_feeds(storage, "Outlet")
    for chat in chats:
        await storage.chats.subscribe(chat, [], thread_id=None, now=now)
    entries = [
        incoming(make_entry(f"Story {i}", link=f"https://e.org/{i}", published=now - 60))
        for i in range(n_stories)
    ]
    await storage.stories.save(feed, entries, now=now, alert_max_age=DAY)


def titles(api: FakeBotAPI, chat: int) -> list[str]:
    return [text.splitlines()[1] for text in api.messages_to(chat)]


async def test_each_chat_gets_each_alert_once_in_order(storage: Storage, api: FakeBotAPI) -> None:
    await queue(storage, [1, 2, -3], 3)
    async with running_bot(storage, api, polling=False):
        for chat in (1, 2, -3):
            await api.wait_for_messages(chat, 3, timeout=30)
    for chat in (1, 2, -3):
        assert titles(api, chat) == ["Story 0", "Story 1", "Story 2"]
    assert api.count_429 == 0
    sent = api.sent_to(1)[0]
    assert sent.link_preview_options == {"is_disabled": True}
    api.assert_no_violations()


async def test_429_pauses_and_nothing_is_dropped(storage: Storage, api: FakeBotAPI) -> None:
    await queue(storage, [1, 2], 2)
    api.retry_all_after(2)
    async with running_bot(storage, api, polling=False):
        for chat in (1, 2):
            await api.wait_for_messages(chat, 2, timeout=30)
    assert titles(api, 1) == titles(api, 2) == ["Story 0", "Story 1"]
    stats = await storage.outbox.stats(time.time())
    assert stats.counters["429"] >= 1
    assert stats.pending == 0


async def test_blocked_chat_is_deactivated_others_served(storage: Storage, api: FakeBotAPI) -> None:
    await queue(storage, [1, 2, 9], 2)
    api.block_chat(9)
    api.forget_chat(2)
    async with running_bot(storage, api, polling=False):
        await api.wait_for_messages(1, 2, timeout=30)
        await api.wait_for(lambda: api.calls["sendMessage"] >= 4, timeout=30)
    for gone in (2, 9):
        chat = await storage.chats.get(gone)
        assert chat is not None
        assert not chat.active
        assert not chat.subscribed
    assert await storage.db.scalar("SELECT COUNT(*) FROM deliveries WHERE chat_id IN (2, 9)") == 0


async def test_migrated_group_gets_its_alerts_at_the_new_id(
    storage: Storage, api: FakeBotAPI
) -> None:
    await queue(storage, [-5], 2)
    api.migrate_chat(-5, -1005)
    async with running_bot(storage, api, polling=False):
        await api.wait_for_messages(-1005, 2, timeout=30)
    assert titles(api, -1005) == ["Story 0", "Story 1"]
    assert await storage.chats.get(-5) is None
    new = await storage.chats.get(-1005)
    assert new is not None
    assert new.subscribed


# A group upgraded to a supergroup while its Story 0 is in flight (sent, not answered yet):
# the service message may move the chat before the answer comes (`bot.telegram.migration`),
# and the answer is either the 400 "migrated" (the group was upgraded first: Story 0 goes again,
# to the supergroup) or ok (it landed in the group's history, which the supergroup keeps).
# Either way one request at a time to the chat, and Story 0 before Story 1, each once.
@pytest.mark.parametrize(
    ("service_message", "answer", "seen"),  # seen: (in the group, in the supergroup)
    [
        (True, "migrated", ([], ["Story 0", "Story 1"])),
        (True, "ok", (["Story 0"], ["Story 1"])),
        (False, "migrated", ([], ["Story 0", "Story 1"])),
    ],
    ids=["moved, then refused", "moved, then accepted", "refused: the 400 moves it"],
)
async def test_alerts_keep_their_order_when_the_group_moves_mid_send(
    storage: Storage,
    api: FakeBotAPI,
    service_message: bool,
    answer: str,
    seen: tuple[list[str], list[str]],
) -> None:
    old, new = -300, -1000300
    await queue(storage, [old], 2)
    in_flight, go = asyncio.Event(), asyncio.Event()
    concurrent: list[int] = []
    async with running_bot(storage, api, polling=False) as run:
        real = run.sender.kinds["alert"]
        busy: set[int] = set()

        async def alert(delivery: Delivery) -> Sent:  # Story 0's first answer is slow to come
            if busy:
                concurrent.append(delivery.id)
            busy.add(delivery.id)
            try:
                if delivery.story.title == "Story 0" and not in_flight.is_set():
                    in_flight.set()
                    await go.wait()
                return await real(delivery)
            finally:
                busy.discard(delivery.id)

        run.sender.kinds["alert"] = alert
        await asyncio.wait_for(in_flight.wait(), 20)
        if answer == "migrated":
            api.migrate_chat(old, new)
        if service_message:
            await storage.chats.migrate(old, new)
            run.sender.wake()
        await asyncio.sleep(2)  # time enough for the loop to start Story 1 if it would
        go.set()
        await api.wait_for_messages(new, len(seen[1]), timeout=30)
        await asyncio.sleep(0.5)  # a repeat would come within this
    states = await storage.db.fetchall("SELECT chat_id, state FROM deliveries")
    assert (concurrent, (titles(api, old), titles(api, new))) == ([], seen)
    assert sorted(tuple(r) for r in states) == [(new, "sent"), (new, "sent")]


async def test_rejected_markup_falls_back_to_plain_text_once(
    storage: Storage, api: FakeBotAPI
) -> None:
    await queue(storage, [1], 1)
    api.fail_next("sendMessage", 400, "Bad Request: can't parse entities: unsupported")
    async with running_bot(storage, api, polling=False):
        await api.wait_for_messages(1, 1, timeout=30)
    [message] = api.sent_to(1)
    assert message.entities == []
    assert "Story 0" in message.text
    assert (await storage.outbox.stats(time.time())).pending == 0


async def test_server_errors_are_retried(storage: Storage, api: FakeBotAPI) -> None:
    await queue(storage, [1], 1)
    api.fail_next("sendMessage", 502, "Bad Gateway", times=2)
    async with running_bot(storage, api, polling=False):
        await api.wait_for_messages(1, 1, timeout=60)
    assert titles(api, 1) == ["Story 0"]
    assert (await storage.outbox.stats(time.time())).counters["retried"] == 2


async def test_alert_is_edited_in_place_when_outlets_join(
    storage: Storage, api: FakeBotAPI
) -> None:
    now = time.time()
    a, b, c = await add_feeds(storage, "First", "Second", "Third")
    await storage.chats.subscribe(1, [], thread_id=None, now=now)
    link = "https://e.org/story"
    entry = make_entry("Story", link=link, published=now - 60)
    await storage.stories.save(a, [incoming(entry)], now=now, alert_max_age=DAY)
    async with running_bot(storage, api, polling=False) as running:
        [alert] = await api.wait_for_messages(1, 1, timeout=30)
        assert "Also reported by" not in alert
        for feed in (b, c):
            result = await storage.stories.save(
                feed, [incoming(make_entry("Story", link=link + "?utm_source=x"))],
                now=time.time(), alert_max_age=DAY,
            )  # fmt: skip
            assert result.deliveries == 1
            running.sender.wake()
        await api.wait_for(lambda: "Third" in "".join(api.messages_to(1)), timeout=30)
    [edited] = api.sent_to(1)  # one message, edited: never a second alert
    assert edited.edited
    assert "Also reported by: Second, Third" in edited.text
    assert edited.link_preview_options == {"is_disabled": True}
    assert api.calls["sendMessage"] == 1
    assert (await storage.outbox.stats(time.time())).pending == 0
    api.assert_no_violations()


async def test_edit_of_a_deleted_or_unchanged_alert_is_done(
    storage: Storage, api: FakeBotAPI
) -> None:
    await queue(storage, [1], 1)
    async with running_bot(storage, api, polling=False) as running:
        await api.wait_for_messages(1, 1, timeout=30)
        await storage.db.execute(
            """INSERT INTO deliveries (chat_id, story_id, kind, next_attempt_at, created_at)
               SELECT chat_id, story_id, 'edit', 0, 0 FROM deliveries"""
        )  # the same card again: Telegram answers "message is not modified"
        running.sender.wake()
        await api.wait_for(lambda: api.calls["editMessageText"] >= 1, timeout=30)
        await api.wait_for(lambda: api.errors != [], timeout=30)
    assert "not modified" in api.errors[-1].description
    state = await storage.db.scalar("SELECT state FROM deliveries WHERE kind = 'edit'")
    assert state == "sent"


# -- the database failing under the sender ---------------------------------------------------------


def refuse(
    monkeypatch: pytest.MonkeyPatch, target: object, name: str, times: int
) -> Callable[[], int]:
    """`target.name` raises "database or disk is full" its first `times` calls; how many it was
    called."""
    real: Callable[..., Awaitable[Any]] = getattr(target, name)
    calls = 0

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls <= times:
            raise sqlite3.OperationalError("database or disk is full")
        return await real(*args, **kwargs)

    monkeypatch.setattr(target, name, flaky)
    return lambda: calls


async def test_a_claim_the_database_refuses_gives_its_slot_back(
    storage: Storage, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two slots, two refused claims: a slot kept by each would stop all sending, and stop().
    monkeypatch.setattr("bot.sender.IDLE_WAIT", 0.1)
    await queue(storage, [1, 2], 1)
    claims = refuse(monkeypatch, storage.outbox, "mark_sending", 2)
    async with running_bot(storage, api, polling=False, sender_options={"max_in_flight": 2}):
        for chat in (1, 2):
            await api.wait_for_messages(chat, 1, timeout=15)
    assert titles(api, 1) == titles(api, 2) == ["Story 0"]
    assert claims() >= 4


async def test_a_send_the_database_does_not_record_is_recorded_later_never_resent(
    storage: Storage, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Telegram accepted the alert, writing "sent" failed: resending it would show it twice.
    monkeypatch.setattr("bot.sender.IDLE_WAIT", 0.1)
    await queue(storage, [1], 2)
    refuse(monkeypatch, storage.outbox, "mark_sent", 2)
    async with running_bot(storage, api, polling=False, sender_options={"backoff": FAST}):
        await api.wait_for_messages(1, 2, timeout=15)
    assert titles(api, 1) == ["Story 0", "Story 1"]
    rows = await storage.db.fetchall("SELECT state FROM deliveries ORDER BY id")
    assert [r["state"] for r in rows] == ["sent", "sent"]


async def test_a_failure_the_database_does_not_record_holds_the_chat_until_it_is(
    storage: Storage, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 502, and writing "retry later" fails twice: the delivery must not stay `sending` with
    # the chat's next alert overtaking it.
    monkeypatch.setattr("bot.sender.IDLE_WAIT", 0.1)
    await queue(storage, [1], 2)
    api.fail_next("sendMessage", 502, "Bad Gateway")
    refuse(monkeypatch, storage.outbox, "retry_later", 2)
    async with running_bot(storage, api, polling=False, sender_options={"backoff": FAST}):
        await api.wait_for_messages(1, 2, timeout=15)
    assert titles(api, 1) == ["Story 0", "Story 1"]
    rows = await storage.db.fetchall("SELECT state FROM deliveries ORDER BY id")
    assert [r["state"] for r in rows] == ["sent", "sent"]


async def test_a_digest_the_database_does_not_record_is_not_resent(
    storage: Storage, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.sender.IDLE_WAIT", 0.1)
    now = time.time()
    await storage.chats.subscribe(1, [], thread_id=None, now=now)
    chat = await storage.chats.get(1)
    assert chat is not None
    await storage.chats.save_settings(replace(chat, mode="daily"), now=now)
    await queue(storage, [], 3)
    refuse(monkeypatch, storage.outbox, "mark_sent", 1)
    later = DAY + 60  # past the digest hour
    async with running_bot(
        storage,
        api,
        polling=False,
        clock=lambda: time.time() + later,
        sender_options={"backoff": FAST},
    ):
        await api.wait_for_messages(1, 1, timeout=15)
        await asyncio.sleep(1.0)  # a resend would come within 0.1 s
    [digest] = api.messages_to(1)
    assert all(f"Story {i}" in digest for i in range(3))
    rows = await storage.db.fetchall("SELECT state FROM deliveries")
    assert [r["state"] for r in rows] == ["sent"] * 3


async def test_the_sender_outlives_a_database_locked_at_start_up(
    tmp_path: Path, api: FakeBotAPI
) -> None:
    # Another process (an operator's `poll --once`, a backup) holds the write lock past the
    # 5 s busy timeout just as the bot starts: the sender died, silently, and sent nothing.
    storage = await Storage.open(tmp_path / "bot.sqlite3")
    try:
        await queue(storage, [1], 1)
        other = sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        async with running_bot(storage, api, polling=False):
            await asyncio.sleep(6)
            other.execute("COMMIT")
            other.close()
            await api.wait_for_messages(1, 1, timeout=40)
    finally:
        await storage.close()


# The give-up window after network errors (`bot.send_outcomes`): an alert falls due at NOW; each
# step is the sender claiming it at a time and the request failing with a 502 ("fail"), or
# the sender stopping before the request went out ("release").
@pytest.mark.parametrize(
    ("steps", "state"),
    [
        ([("fail", NOW), ("fail", NOW + 23 * H)], "pending"),
        ([("fail", NOW), ("fail", NOW + 24 * H)], "failed"),  # bounded
        ([("fail", NOW + 25 * H)], "pending"),  # down since it fell due: no try was possible
        ([("fail", NOW + 25 * H), ("fail", NOW + 48 * H)], "pending"),
        ([("fail", NOW + 25 * H), ("fail", NOW + 49 * H)], "failed"),
        ([("release", NOW), ("fail", NOW + 25 * H)], "pending"),  # nothing went out at NOW
        ([("fail", NOW), ("release", NOW + 60), ("fail", NOW + 24 * H)], "failed"),
    ],
    ids=["within", "after", "late", "late-within", "late-after", "released", "released-later"],
)
async def test_the_give_up_window_counts_from_the_first_attempt(
    storage: Storage, steps: list[tuple[str, float]], state: str
) -> None:
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    await storage.stories.save(feed, [incoming(make_entry())], now=NOW, alert_max_age=DAY)
    clock = [NOW]
    outcomes = Outcomes(storage, Pacer(), Backoff(), lambda: clock[0], random.Random(0))
    for step, at in steps:
        clock[0] = at
        [due] = await storage.outbox.due(at, limit=10)
        assert await storage.outbox.mark_sending(due.id, at)
        if step == "release":
            await storage.outbox.release(due.id)
            continue
        claimed = await storage.outbox.claimed(due.id)
        assert claimed is not None
        await outcomes.retry_or_give_up(claimed, "TelegramServerError: Bad Gateway")
    assert await storage.db.scalar("SELECT state FROM deliveries") == state


async def test_retries_wait_one_backoff_step_after_another_from_the_first(
    storage: Storage,
) -> None:
    """The n-th failed attempt waits the n-th step of the backoff (`Backoff.delay`): the
    delivery the sender sends is read after its claim, which counted the attempt already, so
    adding one more made the first retry wait the second step, and so on."""
    [feed] = await add_feeds(storage, "Outlet")
    await storage.chats.subscribe(1, [], thread_id=None, now=NOW)
    await storage.stories.save(feed, [incoming(make_entry())], now=NOW, alert_max_age=DAY)
    backoff = Backoff(first=10, factor=2, cap=3600)
    clock = [NOW]
    outcomes = Outcomes(storage, Pacer(), backoff, lambda: clock[0], random.Random(0))
    waits = []
    for _ in range(3):
        clock[0] = max(clock[0], await storage.db.scalar("SELECT next_attempt_at FROM deliveries"))
        [due] = await storage.outbox.due(clock[0], limit=10)
        assert await storage.outbox.mark_sending(due.id, clock[0])
        claimed = await storage.outbox.claimed(due.id)
        assert claimed is not None
        await outcomes.retry_or_give_up(claimed, "TelegramServerError: Bad Gateway")
        at = await storage.db.scalar("SELECT next_attempt_at FROM deliveries")
        waits.append(at - clock[0])
    steps = [10, 20, 40]  # each drawn from [step / 2, step]
    assert all(step / 2 <= wait <= step for wait, step in zip(waits, steps, strict=True)), waits
