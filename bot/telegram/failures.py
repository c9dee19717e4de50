"""A handler that fails still answers. Without this a command got no reply and a pressed button
spun until Telegram gave up: after "Delete everything" the user could believe their data gone
when the database had refused the deletion.

What the chat is told (this docstring is the spec):
- The database failed (`sqlite3.Error`): that the bot's database failed. The failed
  transaction was rolled back, but a handler may have saved something before it (/watch keeps
  the chat's row, then the watch; a settings button saves, then reads the settings again), so
  nothing is promised, but after the /forget confirmation, whose one transaction is the
  deletion: "nothing was deleted".
- Anything else (Telegram refused a reply, a bug): only that something went wrong. The change
  may be made already (a press answered too late after the deletion), so nothing is promised.
- A pressed button's query is answered first (the spinner stops); the line goes to the chat.
  Other updates (membership changes) get no line: there is nobody to tell.
- The log gets the error's type and where it was raised, never its message, which may quote
  what the user wrote.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import traceback
from pathlib import Path

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent, Message

from bot.i18n import Tr
from bot.telegram.callbacks import pack

log = logging.getLogger(__name__)
_PACKAGE = f"{Path(__file__).resolve().parents[1]}/"


def make_router() -> Router:
    router = Router(name="failures")
    router.errors()(failed)
    return router


async def failed(event: ErrorEvent, tr: Tr) -> None:
    error = event.exception
    log.error("handling an update failed: %s", where(error))
    update = event.update
    message = update.message or update.channel_post
    forgetting = False
    if (query := update.callback_query) is not None:
        with contextlib.suppress(TelegramAPIError):  # answered already, or Telegram is away
            await query.answer()
        message = query.message if isinstance(query.message, Message) else None
        forgetting = query.data == pack("f", "yes")
    if message is None:
        return
    with contextlib.suppress(TelegramAPIError):
        await message.answer(apology(error, forgetting=forgetting, tr=tr))


def apology(error: BaseException, *, forgetting: bool, tr: Tr) -> str:
    if not isinstance(error, sqlite3.Error):
        return tr("Something went wrong. Please try again later.")
    if forgetting:
        return tr(
            "Deleting did not work: the bot's database failed. Nothing was deleted; "
            "please send /forget again later."
        )
    return tr("That did not work: the bot's database failed. Please try again later.")


def where(error: BaseException) -> str:
    """`OperationalError at .../bot/storage/db.py:229`: the type and the innermost frame of
    this package (aiogram's own frames say only that a request failed)."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if frame.filename.startswith(_PACKAGE)]
    if not (ours or frames):
        return type(error).__name__
    last = (ours or frames)[-1]
    return f"{type(error).__name__} at {last.filename}:{last.lineno}"
