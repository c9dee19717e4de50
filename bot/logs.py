"""Logging set-up. Secrets never reach a log line: a filter masks the bot token wherever it
would appear (a library's URL, a traceback). User input is never logged by our code."""

from __future__ import annotations

import logging
import re
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A Telegram bot token's shape (as `bot.config` checks it): <bot id>:<secret>.
_TOKEN = re.compile(r"(?<![0-9])[0-9]{1,20}:[A-Za-z0-9_-]{30,100}")


STORED_ERROR_MAX = 300  # characters of an error text kept in the database


def without_tokens(text: str) -> str:
    """`text` with anything shaped like a bot token masked."""
    return _TOKEN.sub("<redacted>", text)


def stored_error(error: str) -> str:
    """An error text as the database keeps it (a delivery's, a feed's): bounded, and without
    a bot token, which some network errors quote in the request URL they failed on
    (.../bot<token>/sendMessage)."""
    return without_tokens(error)[:STORED_ERROR_MAX]


class RedactFilter(logging.Filter):
    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        text = record.exc_text or ""
        for secret in self._secrets:
            message = message.replace(secret, "<redacted>")
            text = text.replace(secret, "<redacted>")
        record.msg, record.args, record.exc_text = message, None, text or None
        return True


def configure(level: str, *secrets: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactFilter(*secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiogram logs every handled update at INFO; ids and timings only, but not useful to keep.
    logging.getLogger("aiogram.event").setLevel(max(logging.WARNING, root.level))
    # aiosqlite logs every call with its arguments at DEBUG, and those include search words and
    # chat ids: user input must never reach a log.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
