"""Languages: which one a chat is spoken to in, and the gettext catalogs, compiled from the
repository's own `.po` files when the process starts (no `.mo` files, no build step).

The rule for the language (this docstring is the spec):
- A chat-level language setting (`/settings` -> language) always wins.
- Otherwise the user's Telegram `language_code`: Russian for ru, kk, ky, be, uz, tg, hy and ka
  speakers (Russian is their shared second language), Ukrainian for uk, English for anything
  else and when there is no code (channel posts).

Strings in code are English msgids; they are marked for extraction by the call that translates
them: `tr("...")`, `tr.plural("...", "...", n)`, or `N_("...")` for a string defined now and
translated later. Placeholders are `str.format` names (`{scope}`), filled by `tr(..., scope=x)`.
Catalogs live in `bot/locales/<locale>/LC_MESSAGES/messages.po`; update them with

    uv run pybabel extract -k tr -k N_ -k plural:1,2 --no-location -o /tmp/m.pot bot
    uv run pybabel update -i /tmp/m.pot -d bot/locales --no-fuzzy-matching

Pure apart from reading the catalogs once; no aiogram here, so renderers and the sender share it.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path
from typing import Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES: Final = ("en", "ru", "uk")
DEFAULT_LOCALE: Final = "en"
DOMAIN: Final = "messages"
CATALOG_DIR: Final = Path(__file__).resolve().parent / "locales"
_RUSSIAN_SPEAKERS: Final = frozenset({"ru", "kk", "ky", "be", "uz", "tg", "hy", "ka"})
LANGUAGE_NAMES: Final = {"ru": "Русский", "uk": "Українська", "en": "English"}


def N_(message: str) -> str:
    """Mark a string for the catalogs without translating it yet."""
    return message


def locale_for(language_code: str | None) -> str:
    """The locale for a Telegram `language_code` such as "kk", "uk" or "pt-br"."""
    if not language_code:
        return DEFAULT_LOCALE
    language = language_code.strip().lower().replace("_", "-").split("-")[0]
    if language in _RUSSIAN_SPEAKERS:
        return "ru"
    return "uk" if language == "uk" else DEFAULT_LOCALE


@dataclass(frozen=True, slots=True)
class Tr:
    """Translate into one locale: `tr("Subscribed: {scope}.", scope=...)`. It also carries the
    reader's time zone (`utc_offset`, hours: a chat's /settings), in which the days a message
    shows are told: a chat at UTC+5 reads the news of 01:00 on 4 February as of the 4th."""

    locale: str
    translations: gettext.NullTranslations
    utc_offset: float = 0.0

    def in_zone(self, utc_offset: float) -> Tr:
        return replace(self, utc_offset=utc_offset)

    def __call__(self, message: str, /, **values: object) -> str:
        text = self.translations.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        return self.translations.ngettext(singular, plural, n).format(n=n, **values)


# The msgids themselves: what renderers speak without a chat (tests, the CLI, no catalog).
ENGLISH: Final = Tr(DEFAULT_LOCALE, gettext.NullTranslations())


class Catalogs:
    """The compiled catalog of every locale; `Catalogs.load()` once per process."""

    def __init__(self, translations: Mapping[str, gettext.GNUTranslations]) -> None:
        self.translations = dict(translations)

    @classmethod
    def load(cls, directory: Path = CATALOG_DIR) -> Catalogs:
        return cls({locale: compile_po(po_path(locale, directory)) for locale in LOCALES})

    def tr(self, locale: str | None) -> Tr:
        """A translator; an unknown or missing locale gets English."""
        code = locale if locale in self.translations else DEFAULT_LOCALE
        return Tr(code, self.translations[code])


def po_path(locale: str, directory: Path = CATALOG_DIR) -> Path:
    return directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_po(path: Path) -> gettext.GNUTranslations:
    """The `.po` file compiled in memory, as `msgfmt` would (fuzzy entries are left out)."""
    with path.open("rb") as fp:
        catalog = read_po(fp, locale=path.parents[1].name)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)
