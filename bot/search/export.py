"""Search results -> CSV for a legal file. Pure.

One row per story: date (YYYY-MM-DD, a day of the zone `utc_offset` hours from UTC: the chat's,
so the dates agree with the search typed and the cards shown; empty for a story its feed gave
no date: the day the bot saw it is not a date to cite, and the columns stay those of issue #6,
so there is none for it), countries (ISO codes), action,
people (mentioned names, see `people`), headline (`Story.headline`, as every card names the
story: one without a title goes by its first sentence), outlets and links: every source,
"; "-separated, oldest first, the two columns in step (the n-th link is the n-th outlet's,
empty where it gave none; an outlet with two reports is named twice), so each link is cited
with its outlet; a report that came through another's feed names it too ("Meduza (via Google
News - экстрадиция (ru))", `cited`: its link is that feed's, Google's redirect). A ";" in
an outlet's name (a Google News item's <source>, a feeds.yaml name) is written as ",", so that
it cannot split one outlet in two and put the links out of step.
UTF-8 with a byte-order mark so that spreadsheet programs read Cyrillic; cells that a
spreadsheet would run as a formula (starting with = + - @ tab or CR) get a leading apostrophe.

The column headers stay English in every chat language, like the ISO codes and action keys in
the cells: the file is data for legal work, read by scripts and filed with other cases, so its
columns are the same whoever exported it (only the caption of the message is translated).
The file is filed and cited on its own, away from the chat whose zone its days are, so its
name says the zone (`file_name`: transit-watch-search-UTC+5.csv); the headers stay the fixed
column names above, which scripts read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Final

from bot.chat_settings import format_offset
from bot.citation import cited_outlet
from bot.search.people import people
from bot.storage.records import Source, Story

COLUMNS: Final = ("date", "countries", "action", "people", "headline", "outlets", "links")
_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


def to_csv(
    stories: Sequence[Story],
    sources: Mapping[int, Sequence[tuple[str, str | None]]],
    *,
    utc_offset: float = 0.0,
) -> bytes:
    """`sources[story_id]` is (outlet, link) per source; dates are days `utc_offset` hours
    from UTC."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    shift = timedelta(hours=utc_offset)
    for story in stories:
        reports = sources.get(story.id) or cited([story])
        links = [link or "" for _, link in reports]
        published = story.published_at
        row = (
            (published + shift).strftime("%Y-%m-%d") if published else "",
            " ".join(story.countries),
            story.action or "",
            "; ".join(people([story.title, story.summary])),
            story.headline,
            "; ".join(outlet.replace(";", ",") for outlet, _ in reports),
            "; ".join(links) if any(links) else "",
        )
        writer.writerow([_safe(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def cited(reports: Sequence[Source | Story]) -> list[tuple[str, str | None]]:
    """(outlet, link) of each report for `to_csv` (a story: its head report, which stands for
    its sources when none were read): the outlet with the feed it came through when that is
    not the outlet ("Meduza (via Google News - ...)"), in English, whole."""
    return [(cited_outlet(report.outlet, report.via), report.link) for report in reports]


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA) else cell


def file_name(utc_offset: float) -> str:
    """The export's file name, naming the zone its dates are days of."""
    return f"transit-watch-search-{format_offset(utc_offset)}.csv"
