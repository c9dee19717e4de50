"""How a report is cited by its outlet: one rule for the cards, the CSV and the command line.

A report whose item names its own outlet (RSS <source>, which every Google News item has:
`Entry.named_outlet`) is that outlet's, and came through the feed: "Meduza (via Google News -
экстрадиция (ru))"; its link is the feed's (Google's redirect). Any other report is its feed's.
Pure, and without aiogram: the command line, which must not load it, cites the same way.
"""

from __future__ import annotations

from bot.i18n import ENGLISH, Tr


def cited_outlet(outlet: str, via: str | None, tr: Tr = ENGLISH) -> str:
    """`outlet`, with the feed it came through (`via`) when that is not the outlet."""
    return outlet if via is None else tr("{outlet} (via {feed})", outlet=outlet, feed=via)
