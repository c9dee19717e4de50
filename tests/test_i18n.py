"""Catalogs: every string the code marks is translated in every catalog, placeholders intact;
the language rule; settings choices and callback data (pure)."""

from __future__ import annotations

import re
import string
from dataclasses import replace

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.feed_health import ago, disabled_reason, feed_line, health_report, notice_text
from bot.i18n import LOCALES, Catalogs, locale_for, po_path
from bot.settings_choices import apply_choice
from bot.storage import Chat, FeedState
from bot.telegram.callbacks import pack, unpack
from tests.conftest import REPO

KEYWORDS = {"tr": None, "N_": None, "plural": (1, 2)}


def marked_in_code() -> set[str]:
    """Every msgid the code marks, as `pybabel extract -k tr -k N_ -k plural:1,2` finds them."""
    found = extract_from_dir(str(REPO / "bot"), method_map=[("**.py", "python")], keywords=KEYWORDS)
    ids: set[str] = set()
    for _, _, message, _, _ in found:
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_marked_string_is_translated_in_every_catalog(locale: str) -> None:
    with po_path(locale).open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    entries = {m.id[0] if isinstance(m.id, tuple) else m.id: m for m in catalog if m.id}
    missing = marked_in_code() - set(entries)
    assert not missing, f"{locale}: missing {sorted(missing)}"
    for key, message in entries.items():
        assert not message.fuzzy, (locale, key)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), (locale, key)
        source = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in strings:
            assert placeholders(text) == placeholders(source[0]), (locale, key, text)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_catalog_entry_is_marked_in_the_code(locale: str) -> None:
    # An entry the extraction does not see (a msgid the code translates from a plain string)
    # is made obsolete by the next `pybabel update`, and the text then shows in English:
    # /feeds read "2d14h" in Russian.
    with po_path(locale).open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    entries = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}
    assert not entries - marked_in_code(), (
        f"{locale}: not marked {sorted(entries - marked_in_code())}"
    )


def test_catalogs_compile_and_translate_with_plurals() -> None:
    catalogs = Catalogs.load()
    ru, uk = catalogs.tr("ru"), catalogs.tr("uk")
    assert ru("Extradition") == "Экстрадиция"
    assert uk("Extradition") == "Екстрадиція"
    forms = [ru.plural("{n} source", "{n} sources", n) for n in (1, 2, 5, 21)]
    assert forms == ["1 источник", "2 источника", "5 источников", "21 источник"]
    assert catalogs.tr("de").locale == "en"
    assert catalogs.tr(None)("Extradition") == "Extradition"


@pytest.mark.parametrize(
    ("code", "locale"),
    [
        ("ru", "ru"), ("kk", "ru"), ("ky", "ru"), ("be", "ru"), ("uz", "ru"), ("tg", "ru"),
        ("hy", "ru"), ("ka", "ru"), ("uk", "uk"), ("en", "en"), ("de", "en"), ("pt-br", "en"),
        ("ru-RU", "ru"), ("", "en"), (None, "en"),
    ],
)  # fmt: skip
def test_locale_rule(code: str | None, locale: str) -> None:
    assert locale_for(code) == locale


def test_callback_data_round_trips_and_rejects_anything_else() -> None:
    assert unpack(pack("s", "c", "KZ")) is not None
    assert unpack("s1:c:KZ") == unpack(pack("s", "c", "KZ"))
    for bad in ["", "s2:c:KZ", "s1:c:KZ:x", "x1:c:KZ", "s1:C:KZ", "s1:c:" + "K" * 13, None]:
        assert unpack(bad) is None, bad
    with pytest.raises(ValueError, match="bad callback data"):
        pack("s", "c", "K Z")


BASE = Chat.new(1)


@pytest.mark.parametrize(
    ("op", "arg", "changes", "view"),
    [
        ("c", "KZ", {"countries": ("KZ",)}, "countries"),
        ("c", "all", {"countries": ()}, "countries"),
        ("m", "weekly", {"mode": "weekly"}, "delivery"),
        ("h", "21", {"digest_hour": 21}, "delivery"),
        ("z", "-", {"utc_offset": -1}, "delivery"),
        ("q", "1", {"quiet_from": 23, "quiet_to": 8}, "quiet"),
        ("q", "off", {}, "quiet"),
        ("l", "uk", {"language": "uk"}, "main"),
        ("p", "", {"previews": True}, "main"),
        ("v", "language", {}, "language"),
    ],
)
def test_settings_choices(op: str, arg: str, changes: dict[str, object], view: str) -> None:
    assert apply_choice(BASE, op, arg) == (replace(BASE, **changes), view)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("op", "arg"), [("c", "US"), ("m", "x"), ("h", "7"), ("q", "4"), ("l", "de"), ("p", "1")]
)
def test_settings_choices_reject_what_is_not_offered(op: str, arg: str) -> None:
    assert apply_choice(BASE, op, arg) is None


def test_offset_is_bounded() -> None:
    chat = replace(BASE, utc_offset=14)
    assert apply_choice(chat, "z", "+") == (chat, "delivery")


def test_readme_privacy_section_says_what_privacy_says() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Privacy: what is stored", 1)[1].split("\n## ", 1)[0]
    words = re.sub(r"\s+", " ", section)
    for phrase in ("chat id", "watchlist", "quiet hours", "/forget", "never"):
        assert phrase in words.lower(), phrase


def _feed(number: int, **state: object) -> FeedState:
    fields: dict[str, object] = {
        "id": number, "name": f"Feed {number}", "url": f"https://f{number}.example/",
        "lang": None, "interval": 600, "etag": None, "last_modified": None, "next_check_at": 0,
        "error_count": 0, "last_error": None, "last_error_at": None, "last_success_at": None,
    }  # fmt: skip
    return FeedState(**(fields | state))  # type: ignore[arg-type]


def test_operator_texts_use_each_languages_plural_forms() -> None:
    catalogs = Catalogs.load()
    ru, uk = catalogs.tr("ru"), catalogs.tr("uk")
    now = 1_000_000.0
    errors = [
        feed_line(_feed(1, error_count=n, last_error="X", failing_since=now - 7200), now, ru)
        for n in (1, 3, 5, 21)
    ]
    assert [line.split("(")[1].split(")")[0] for line in errors] == [
        "1 ошибка", "3 ошибки", "5 ошибок", "21 ошибка",
    ]  # fmt: skip
    assert [disabled_reason(f"failing for {n} days", uk) for n in (1, 3, 5)] == [
        "збої вже 1 день", "збої вже 3 дні", "збої вже 5 днів",
    ]  # fmt: skip
    assert disabled_reason("gone (HTTP 410)", ru) == "удалён с сервера (HTTP 410)"
    moved = disabled_reason("moved to the address of Kloop: главное", uk)
    assert moved == "переїхало на адресу джерела Kloop: главное"
    assert disabled_reason("a reason nobody translated", ru) == "a reason nobody translated"
    assert [ago(s, uk) for s in (45, 720, 18000, 259200)] == ["45 с", "12 хв", "5 год", "3 дн."]
    assert [ago(s) for s in (45, 720, 18000, 259200)] == ["45s", "12m", "5h", "3d"]
    many = [_feed(n, last_success_at=now - 60) for n in range(100)]
    report = health_report(many, now, limit=300, tr=ru).splitlines()
    assert report[0] == (
        "Источники: 100 (в порядке: 100, ещё не проверены: 0, со сбоями: 0, отключены: 0)"
    )
    left = re.fullmatch(r"… и ещё (\d+) источник(а|ов)?", report[-1])
    assert left is not None
    assert int(left[1]) == 100 - (len(report) - 2)  # neither head nor cut-off line is a source
    assert len("\n".join(report)) <= 300


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (59.6, "59s"),
        (59 * 60 + 40, "59m"),  # not "60m"
        (90 * 60, "1h30m"),  # an interval of 90 minutes is not "every 2h"
        (67.5 * 60, "1h7m"),
        (23 * 3600 + 50 * 60, "23h50m"),  # not "24h"
        (36 * 3600, "1d12h"),  # not "2d"
        (2 * 86400 + 14 * 3600, "2d14h"),  # not "3d", the limit that disables a feed
        (3 * 86400 + 59, "3d"),
    ],
)
def test_durations_are_cut_not_rounded_up(seconds: float, shown: str) -> None:
    assert ago(seconds) == shown


def test_a_feed_report_counts_telegram_units_and_keeps_what_fits() -> None:
    now = 1_000_000.0
    flags = [_feed(n, name=f"🇰🇿🇰🇬🇺🇿🇹🇯🇷🇺 {n}", last_success_at=now - 60) for n in range(300)]
    report = health_report(flags, now)
    assert len(report.encode("utf-16-le")) // 2 <= 3800  # Telegram counts UTF-16 units
    assert re.fullmatch(r"… and \d+ more sources", report.splitlines()[-1])
    few = [_feed(n, last_success_at=now - 60) for n in range(3)]
    whole = health_report(few, now)
    # A list that fits is not cut, even with no room left for a cut-off line after its last.
    exact = health_report(few, now, limit=len(whole))
    assert exact == whole


def test_a_source_never_fetched_is_not_counted_healthy() -> None:
    # Its line says "not checked yet"; the count said it was healthy.
    now = 1_000_000.0
    report = health_report([_feed(1), _feed(2, last_success_at=now - 60)], now)
    assert (
        report.splitlines()[0] == "Sources: 2 (1 healthy, 1 not checked yet, 0 failing, 0 disabled)"
    )


def test_notice_stays_english_without_a_translator() -> None:
    now = 1_000_000.0
    down = _feed(1, error_count=1, last_error="X", disabled_reason="failing for 3 days")
    assert notice_text([down], now).splitlines() == [
        "Transit Watch: sources need attention (see /feeds)",
        "⛔ Feed 1: disabled, failing for 3 days; last error: X",
    ]
