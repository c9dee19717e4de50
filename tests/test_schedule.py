"""The scheduling arithmetic (bot.schedule): bounds, adapting, server hints, backoff."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.schedule import (
    MAX_BACKOFF,
    adapt,
    backoff,
    bounds,
    hint_number,
    median_gap,
    server_hint,
    streak_start,
    with_hint,
)

NOW = datetime(2024, 3, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("interval", "low", "high", "expected"),
    [
        (600, None, None, (600, 600)),  # no bounds: exactly the configured interval
        (600, 300, 7200, (300, 7200)),
        (60, 300, 7200, (60, 7200)),  # the configured interval is always inside
        (9000, 300, 7200, (300, 9000)),
    ],
)
def test_bounds(
    interval: float, low: float | None, high: float | None, expected: tuple[float, float]
) -> None:
    assert bounds(interval, low, high) == expected


@pytest.mark.parametrize(
    ("current", "changed", "published", "expected"),
    [
        (600, False, (), 900),  # quiet: lengthen by half
        (7000, False, (), 7200),  # ... up to the ceiling
        (600, True, (), 300),  # new entries, undated: halve
        (400, True, (), 300),  # ... down to the floor
        (3600, True, (0, 3600, 7200, 10800), 1800),  # hourly items: poll every 30 min
        (600, True, (0, 3600, 7200, 10800), 600),  # ... (quiet polls lengthen it there)
        (600, True, (0, 10, 20), 300),  # a burst cannot go below the floor
        (600, True, (0, 43200, 86400), 600),  # news after a quiet spell: never slower
    ],
)
def test_adapt(
    current: float, changed: bool, published: tuple[float, ...], expected: float
) -> None:
    assert adapt(current, floor=300, ceiling=7200, changed=changed, published=published) == (
        expected
    )


def test_adapt_without_bounds_is_the_configured_interval() -> None:
    assert adapt(600, floor=600, ceiling=600, changed=True, published=(0, 5, 10)) == 600
    assert adapt(600, floor=600, ceiling=600, changed=False) == 600


def test_median_gap_uses_the_recent_distinct_dates() -> None:
    assert median_gap((1, 2)) is None
    assert median_gap((0, 0, 100, 200, 300)) == 100


@pytest.mark.parametrize(
    ("headers", "ttl", "expected"),
    [
        ({}, None, None),
        ({"cache-control": "public, max-age=3600"}, None, 3600),
        ({"cache-control": "no-cache, max-age=3600"}, None, None),
        ({"cache-control": "max-age=60"}, 1800.0, 1800),  # the longest hint wins
        (
            {"expires": "Wed, 06 Mar 2024 14:00:00 GMT", "date": "Wed, 06 Mar 2024 12:00:00 GMT"},
            None,
            7200,
        ),
        ({"expires": "Wed, 06 Mar 2024 13:00:00 GMT"}, None, 3600),  # against our clock
        ({"expires": "0"}, None, None),
        ({"expires": "Wed, 06 Mar 2024 11:00:00 GMT"}, None, None),  # already expired
        (  # max-age wins over Expires (RFC 9111 5.3): "ask every time" means that
            {
                "cache-control": "public, max-age=0",
                "expires": "Wed, 06 Mar 2024 14:00:00 GMT",
                "date": "Wed, 06 Mar 2024 12:00:00 GMT",
            },
            None,
            None,
        ),
        (
            {"cache-control": "max-age=60", "expires": "Wed, 06 Mar 2024 14:00:00 GMT"},
            None,
            60,
        ),
        # a year datetime cannot hold: no hint (it failed the feed at every poll)
        ({"expires": "Mon, 01 Jan 99999999999 00:00:00 GMT"}, None, None),
        (
            {
                "expires": "Wed, 06 Mar 2024 14:00:00 GMT",
                "date": "Mon, 01 Jan 99999999999 00:00:00 GMT",
            },
            None,
            7200,
        ),
    ],
)
def test_server_hint(headers: dict[str, str], ttl: float | None, expected: float | None) -> None:
    assert server_hint(headers, ttl=ttl, now=NOW) == expected


@pytest.mark.parametrize(
    ("interval", "hint", "expected"),
    [(600, None, 600), (600, 60, 600), (600, 3600, 3600), (600, 86400, 7200)],
)
def test_hints_only_lengthen_and_stop_at_the_ceiling(
    interval: float, hint: float | None, expected: float
) -> None:
    assert with_hint(interval, hint, 7200) == expected


@pytest.mark.parametrize(
    ("previous", "last_error", "expected"),
    [
        (None, None, 1000.0),  # the first error starts a streak
        (100.0, 900.0, 100.0),  # errors a backoff apart: the same streak
        (100.0, 1000.0 - 2 * MAX_BACKOFF - 1, 1000.0),  # nobody polled in between: a new one
    ],
)
def test_a_streak_is_time_spent_polling_and_failing(
    previous: float | None, last_error: float | None, expected: float
) -> None:
    assert streak_start(previous, last_error, now=1000.0) == expected


def test_backoff() -> None:
    assert backoff(60, 1) == 120
    assert backoff(60, 3) == 480
    assert backoff(60, 50) == MAX_BACKOFF
    assert backoff(60, 1, retry_after=1000) == 1000
    assert backoff(60, 1, retry_after=10**9) == MAX_BACKOFF


@pytest.mark.parametrize(
    ("text", "number"),
    [("120", 120), (" 7 ", 7), ("0", 0), ("9" * 10, 9_999_999_999), ("9" * 11, None),
     ("\u00b2", None), ("\u0663", None), ("-5", None), ("5.5", None), ("", None)],
)  # fmt: skip
def test_hint_number_is_plain_ascii_digits(text: str, number: int | None) -> None:
    assert hint_number(text) == number
