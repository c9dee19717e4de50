"""The `/settings` message: one text and one inline keyboard per view, built from a chat's
settings in its language. Pure (no requests); the handlers edit the message in place."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.formatting import Bold, Text, as_list

from bot.chat_settings import (
    COUNTRY_CHOICES,
    DIGEST_HOURS,
    MODES,
    QUIET_PRESETS,
    format_offset,
)
from bot.i18n import LANGUAGE_NAMES, LOCALES, N_, Tr
from bot.render import country_name, country_names, flag
from bot.storage import Chat
from bot.telegram.callbacks import pack

MODE_NAMES = {"instant": N_("Instant"), "daily": N_("Daily digest"), "weekly": N_("Weekly digest")}
ON = "✅ "


def settings_view(chat: Chat, view: str, tr: Tr) -> tuple[Text, InlineKeyboardMarkup]:
    keyboard = {
        "countries": _countries_keyboard,
        "delivery": _delivery_keyboard,
        "quiet": _quiet_keyboard,
        "language": _language_keyboard,
    }.get(view, _main_keyboard)
    return summary(chat, tr), InlineKeyboardMarkup(inline_keyboard=keyboard(chat, tr))


def summary(chat: Chat, tr: Tr) -> Text:
    return as_list(
        Bold(tr("⚙️ Settings of this chat")),
        tr("Alerts: {state}", state=tr("on") if chat.subscribed else tr("off")),
        tr("Countries: {countries}", countries=countries_label(chat, tr)),
        tr("Delivery: {delivery}", delivery=delivery_label(chat, tr)),
        tr("Quiet hours: {quiet}", quiet=quiet_label(chat, tr)),
        tr("Language: {language}", language=LANGUAGE_NAMES.get(chat.language or "", "—")),
        tr("Link previews: {state}", state=tr("on") if chat.previews else tr("off")),
    )


def countries_label(chat: Chat, tr: Tr) -> str:
    if not chat.countries:
        return tr("all transit countries")
    return country_names(chat.countries, tr.locale)


def delivery_label(chat: Chat, tr: Tr) -> str:
    zone = format_offset(chat.utc_offset)
    if chat.mode == "daily":
        return tr("daily digest at {hour:02d}:00 ({zone})", hour=chat.digest_hour, zone=zone)
    if chat.mode == "weekly":
        return tr(
            "weekly digest, Mondays at {hour:02d}:00 ({zone})", hour=chat.digest_hour, zone=zone
        )
    return tr("instant")


def quiet_label(chat: Chat, tr: Tr) -> str:
    if chat.quiet_from is None or chat.quiet_to is None:
        return tr("off")
    return tr(
        "{start:02d}:00–{end:02d}:00 ({zone}), alerts arrive silently",
        start=chat.quiet_from,
        end=chat.quiet_to,
        zone=format_offset(chat.utc_offset),
    )


Rows = list[list[InlineKeyboardButton]]


def _button(text: str, op: str, arg: str | int = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=pack("s", op, arg))


def _back(tr: Tr) -> list[InlineKeyboardButton]:
    return [_button(tr("⬅️ Back"), "v", "main")]


def _main_keyboard(chat: Chat, tr: Tr) -> Rows:
    alerts = tr("🔔 Alerts: on") if chat.subscribed else tr("🔕 Alerts: off")
    previews = tr("🔗 Link previews: on") if chat.previews else tr("🔗 Link previews: off")
    return [
        [_button(alerts, "a")],
        [
            _button(tr("🌍 Countries"), "v", "countries"),
            _button(tr("📬 Delivery"), "v", "delivery"),
        ],
        [_button(tr("🌙 Quiet hours"), "v", "quiet"), _button(tr("🗣 Language"), "v", "language")],
        [_button(previews, "p")],
        [_button(tr("✔️ Done"), "x")],
    ]


def _countries_keyboard(chat: Chat, tr: Tr) -> Rows:
    names = [
        _button(
            (ON if code in chat.countries else "")
            + f"{flag(code)} {country_name(code, tr.locale)}",
            "c",
            code,
        )
        for code in COUNTRY_CHOICES
    ]
    rows = [names[i : i + 2] for i in range(0, len(names), 2)]
    every = (ON if not chat.countries else "") + tr("All countries")
    return [*rows, [_button(every, "c", "all")], _back(tr)]


def _delivery_keyboard(chat: Chat, tr: Tr) -> Rows:
    modes = [
        _button((ON if chat.mode == mode else "") + tr(MODE_NAMES[mode]), "m", mode)
        for mode in MODES
    ]
    hours = [
        _button((ON if chat.digest_hour == hour else "") + f"{hour:02d}:00", "h", hour)
        for hour in DIGEST_HOURS
    ]
    zone = [
        _button("◀️ −1", "z", "-"),
        _button(format_offset(chat.utc_offset), "v", "delivery"),
        _button("+1 ▶️", "z", "+"),
    ]
    return [modes, hours[:3], hours[3:], zone, _back(tr)]


def _quiet_keyboard(chat: Chat, tr: Tr) -> Rows:
    presets = [
        _button(
            (ON if (chat.quiet_from, chat.quiet_to) == (start, end) else "")
            + f"{start:02d}–{end:02d}",
            "q",
            index,
        )
        for index, (start, end) in enumerate(QUIET_PRESETS)
    ]
    off = (ON if chat.quiet_from is None else "") + tr("No quiet hours")
    return [presets[:2], presets[2:], [_button(off, "q", "off")], _back(tr)]


def _language_keyboard(chat: Chat, tr: Tr) -> Rows:
    return [
        [
            _button((ON if chat.language == code else "") + LANGUAGE_NAMES[code], "l", code)
            for code in LOCALES
        ],
        _back(tr),
    ]
