"""Feed dates in UTC: feedparser's reading, with the zones of the region it gets wrong.

feedparser takes a zone name it does not know for UTC, and "MSK" is one (`_ZONE_HOURS`); it
reads an offset after GMT or UTC ("GMT+3") as UTC or as no date (`_GMT_OFFSET`); and it gives
no date at all for an RFC 822 date with a weekday and no zone (`_zoneless`). A date is kept
only when it is believable (`plausible_date`): not before 1990, not days ahead.
"""

from __future__ import annotations

import calendar
import email.utils
import re
import time
from datetime import UTC, datetime, timedelta

_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_FUTURE_SLACK = timedelta(days=2)

# Zone names of the region the bot watches that feedparser does not know, and so reads as UTC
# (its RFC 822 reader takes an unknown name for +0000): their offsets in hours. Moscow time has
# been UTC+3 since 2014; MSD, its summer time, was UTC+4 until 2011.
_ZONE_HOURS = {"MSK": 3, "MSD": 4, "EET": 2, "EEST": 3, "CET": 1, "CEST": 2}
# Right after the time: "10:00:00 +0300 MSK" has an offset, which feedparser applies itself.
_ZONE_NAME = re.compile(
    rf"(?<![+\-\d])\d{{1,2}}:\d\d(?::\d\d)?\s+({'|'.join(_ZONE_HOURS)})\s*\Z", re.IGNORECASE
)
# A numeric offset after GMT or UTC ("GMT+3", "UTC+03:00", "GMT-0500"), as CMSs of the region
# print local time: feedparser reads most of them as UTC and some as no date. No zone is more
# than 14 hours from UTC; a farther offset is no zone, and the time is read as UTC, as with a
# zone name no one knows (not as no date: an undated entry is fresh news on every later poll).
_GMT_OFFSET = re.compile(
    r"(?<=\d:\d\d)\s*(?:GMT|UTC|UT)\s*([+-])(\d{1,2})(?::?(\d\d))?\s*\Z", re.IGNORECASE
)
_OFFSET_MAX = timedelta(hours=14)


def utc_date(parsed: time.struct_time | None, stamp: object) -> datetime | None:
    """feedparser's reading of the date `stamp`, in UTC, where its zone name is read right."""
    if (moment := _gmt_offset_date(stamp)) is not None:
        return moment
    if parsed is None:
        return _zoneless(stamp)
    try:
        # feedparser's struct_time is already UTC; timegm keeps it so.
        moment = datetime.fromtimestamp(
            calendar.timegm(parsed) - _named_zone_hours(stamp) * 3600, tz=UTC
        )
    except (OverflowError, ValueError, OSError):
        return None
    return plausible_date(moment)


def _zoneless(stamp: object) -> datetime | None:
    """An RFC 822 date with a weekday and no zone ("Tue, 10 Jun 2025 10:00:00"), which
    feedparser reads as no date at all, in UTC: feedparser's own reading of the same date
    without its weekday, or with a zone name it does not know."""
    parts = email.utils.parsedate_tz(stamp) if isinstance(stamp, str) else None
    if parts is None:
        return None
    offset = timedelta(seconds=parts[9] or 0, hours=_named_zone_hours(stamp))
    try:  # parsedate_tz does not check the day (31 June), nor the year (1 AD less 3 hours)
        moment = datetime(*parts[:6], tzinfo=UTC) - offset
    except (ValueError, OverflowError):
        return None
    return plausible_date(moment)


def _gmt_offset_date(stamp: object) -> datetime | None:
    """An RFC 822 date whose zone is GMT or UTC with an offset (`_GMT_OFFSET`), in UTC; None for
    any other stamp, or one the email module cannot read once its zone is cut off: those are
    left to feedparser, as before."""
    if not isinstance(stamp, str) or (zone := _GMT_OFFSET.search(stamp)) is None:
        return None
    parts = email.utils.parsedate_tz(stamp[: zone.start()])
    if parts is None:
        return None
    sign, hours, minutes = zone.groups()
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if offset > _OFFSET_MAX or int(minutes or 0) >= 60:
        offset = timedelta(0)
    try:  # parsedate_tz does not check the day (31 June), nor the year (1 AD less 3 hours)
        moment = datetime(*parts[:6], tzinfo=UTC) - (offset if sign == "+" else -offset)
    except (ValueError, OverflowError):
        return None
    return plausible_date(moment)


def _named_zone_hours(stamp: object) -> int:
    """The offset of a zone name of the region that ends the date `stamp` (`_ZONE_HOURS`),
    which neither feedparser nor the email module knows; 0 when it has none."""
    zone = _ZONE_NAME.search(stamp) if isinstance(stamp, str) else None
    return _ZONE_HOURS[zone.group(1).upper()] if zone is not None else 0


def plausible_date(moment: datetime) -> datetime | None:
    """`moment` in UTC when it is a believable publication date (not before 1990, not days in
    the future), else None. A naive datetime is taken as UTC."""
    try:  # the first and last days datetime can hold leave its range in UTC
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        return None
    if moment < _EARLIEST or moment > datetime.now(UTC) + _FUTURE_SLACK:
        return None
    return moment
