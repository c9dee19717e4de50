"""The pacer on a virtual clock: global spacing, per-chat and per-group intervals, 429 pauses."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.pacing import GROUP_INTERVAL, PRIVATE_INTERVAL, RETRY_MARGIN, Pacer


class VirtualTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


async def send_times(pacer: Pacer, vt: VirtualTime, chats: list[int]) -> list[float]:
    times = []
    for chat in chats:
        await pacer.acquire(chat)
        times.append(vt.now)
    return times


async def test_global_rate_spaces_sends(vt: VirtualTime) -> None:
    pacer = Pacer(25.0, clock=vt.clock, sleep=vt.sleep)
    times = await send_times(pacer, vt, list(range(1, 51)))
    assert times[-1] == pytest.approx(49 / 25.0)  # 50 chats in under 2 s: 25/s exactly


async def test_one_message_per_second_per_private_chat(vt: VirtualTime) -> None:
    pacer = Pacer(25.0, clock=vt.clock, sleep=vt.sleep)
    times = await send_times(pacer, vt, [7, 7, 7])
    assert times == pytest.approx([0.0, PRIVATE_INTERVAL, 2 * PRIVATE_INTERVAL])


async def test_groups_get_twenty_per_minute(vt: VirtualTime) -> None:
    pacer = Pacer(25.0, clock=vt.clock, sleep=vt.sleep)
    times = await send_times(pacer, vt, [-100] * 21)
    assert times[-1] == pytest.approx(20 * GROUP_INTERVAL)
    assert sum(1 for t in times if t < 60.0) == 20


async def test_pause_after_429_holds_everyone(vt: VirtualTime) -> None:
    pacer = Pacer(25.0, clock=vt.clock, sleep=vt.sleep)
    pacer.pause(10.0)
    assert pacer.chat_ready_at(1) == pytest.approx(10.0 + RETRY_MARGIN)
    await pacer.acquire(1)
    assert vt.now == pytest.approx(10.0 + RETRY_MARGIN)


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(0)


async def test_senders_ready_at_once_go_in_the_order_they_asked() -> None:
    """On the real event loop: a message that asked for the global slot is never overtaken by
    one that asked after it. (Retrying for the slot let one waiter lose it again and again: in
    a burst, a new chat's alert waited 3.6 s behind 90 messages of other chats.)"""
    pacer = Pacer(500.0)
    granted: list[int] = []

    async def send(chat: int) -> None:
        await pacer.acquire(chat)
        granted.append(chat)

    chats = list(range(1, 41))
    await asyncio.gather(*(send(chat) for chat in chats))
    assert granted == chats


async def test_a_pause_that_falls_on_a_reserved_slot_holds_it_back() -> None:
    """A 429 while a message sleeps toward its slot: the message waits out the pause too."""
    pacer = Pacer(10.0)  # slots 0.1 s apart; the first two go at once
    granted: dict[int, float] = {}

    async def send(chat: int) -> None:
        await pacer.acquire(chat)
        granted[chat] = time.monotonic()

    tasks = [asyncio.create_task(send(chat)) for chat in (1, 2, 3)]
    await asyncio.sleep(0.02)
    pacer.pause(0.3, margin=0.0)
    paused_until = time.monotonic() + 0.3
    await asyncio.gather(*tasks)
    assert granted[3] >= paused_until - 0.02  # its slot was at 0.1 s
    assert pacer.chat_ready_at(3) >= granted[3] + PRIVATE_INTERVAL - 0.02


async def test_a_wait_cancelled_before_its_slot_leaves_the_chat_its_turn() -> None:
    pacer = Pacer(2.0)  # slots 0.5 s apart; the first two go at once
    await pacer.acquire(1)
    await pacer.acquire(2)
    waiting = asyncio.create_task(pacer.acquire(3))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert pacer.chat_ready_at(3) <= time.monotonic()  # no message went, so no interval to wait


async def test_chats_compare_by_their_last_message_whatever_their_kind_or_a_pause(
    vt: VirtualTime,
) -> None:
    """The sender serves the chat that waited longest first: a group's longer interval or a
    429 pause (which moves every chat's next turn to its end) must not hide who waited."""
    pacer = Pacer(25.0, clock=vt.clock, sleep=vt.sleep)
    await pacer.acquire(-5)  # a group, first
    await pacer.acquire(7)  # a private chat, after it
    assert pacer.chat_ready_at(7) < pacer.chat_ready_at(-5)  # the group's turn comes later
    pacer.pause(5.0)
    assert pacer.served_at(12345) < pacer.served_at(-5) < pacer.served_at(7)
