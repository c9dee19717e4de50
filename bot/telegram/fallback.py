"""The last router: a button no other router claims (an old keyboard, forged data) still gets
an answer, so the user's spinner stops and they learn what to do."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.i18n import Tr
from bot.telegram.settings import STALE


def make_router() -> Router:
    router = Router(name="fallback")
    router.callback_query()(stale_button)
    return router


async def stale_button(query: CallbackQuery, tr: Tr) -> None:
    await query.answer(tr(STALE), show_alert=True)
