"""Building the aiogram Bot: custom API server, pacing middleware, no link previews."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.pacing import Pacer
from bot.telegram.pacing import PacingMiddleware, RememberPause


def make_bot(
    token: str,
    pacer: Pacer,
    api_url: str | None = None,
    *,
    remember_pause: RememberPause | None = None,
) -> Bot:
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url else AiohttpSession()
    )
    session.middleware(PacingMiddleware(pacer, remember_pause))
    return Bot(token, session=session, default=DefaultBotProperties(link_preview_is_disabled=True))
