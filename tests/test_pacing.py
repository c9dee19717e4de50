"""The pacer on a virtual clock: global spacing, per-chat and per-group intervals, 429 pauses."""

from __future__ import annotations

import asyncio

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
