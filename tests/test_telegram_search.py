"""/search pages and their buttons, forged callbacks, /story, /case and /export, through long
polling against the fake Bot API."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.model import Verdict
from bot.storage import Storage
from bot.telegram.search import EXPORT_MAX, TEXTS
from bot.telegram.settings import STALE
from tests.conftest import add_feeds, incoming, make_entry
from tests.fakes.botapi import FakeBotAPI
from tests.telegram_harness import Running, running_bot

KG = Verdict(True, 0.9, ("KG", "RU"), "extradition", ())
CHAT, OTHER = 21, 22


@pytest.fixture
async def tg(storage: Storage) -> AsyncIterator[Running]:
    now = time.time()
    meduza, kloop = await add_feeds(storage, "Meduza", "Kloop")
    entries = [
        incoming(
            make_entry(
                f"Кыргызстан экстрадировал активиста Мовлаева, день {n}",
                summary="Суд в Бишкеке отказал в убежище.",
                link=f"https://e.org/{n}",
                published=now - (n + 1) * 86400,
            ),
            KG,
        )
        for n in range(7)
    ]
    await storage.stories.save(meduza, entries, now=now, alert_max_age=0)
    joined = make_entry("Kyrgyzstan extradites Movlaev", link="https://e.org/0", published=now)
    await storage.stories.save(kloop, [incoming(joined, KG)], now=now, alert_max_age=0)
    async with FakeBotAPI() as api, running_bot(storage, api) as running:
        yield running
        api.assert_no_violations()


async def say(tg: Running, chat: int, text: str, n: int, language_code: str = "en") -> str:
    tg.api.user_message(chat, text, language_code=language_code)
    return (await tg.api.wait_for_messages(chat, n, timeout=15))[n - 1]


def buttons(tg: Running, chat: int) -> list[tuple[str, str]]:
    markup = tg.api.sent_to(chat)[-1].reply_markup or {"inline_keyboard": [[]]}
    return [(b["text"], b["callback_data"]) for b in markup["inline_keyboard"][0]]


async def press(
    tg: Running, chat: int, data: str, message_id: int, language_code: str = "en"
) -> dict[str, object]:
    answered = len(tg.api.answered_callbacks)
    tg.api.callback(chat, chat, data, message_id, language_code=language_code)
    await tg.api.wait_for(lambda: len(tg.api.answered_callbacks) > answered, 15)
    return tg.api.answered_callbacks[-1]


async def test_search_pages_forward_and_back(tg: Running) -> None:
    first = await say(tg, CHAT, "/search Movlaev country:kg", 1)
    assert first.startswith("🔎 movlaev country:kg\n\nPage 1")
    assert first.count("/story_") == 5
    assert "2 sources" in first  # the story Kloop also reported
    message_id = tg.api.sent_to(CHAT)[-1].message_id
    [(label, data)] = buttons(tg, CHAT)
    assert label.startswith("Next")
    await press(tg, CHAT, data, message_id)
    await tg.api.wait_for(lambda: "Page 2" in tg.api.messages_to(CHAT)[-1], 15)
    second = tg.api.messages_to(CHAT)[-1]
    assert second.count("/story_") == 2
    assert "6. " in second
    assert [label for label, _ in buttons(tg, CHAT)] == ["◀ Previous"]
    await press(tg, CHAT, buttons(tg, CHAT)[0][1], message_id)
    await tg.api.wait_for(lambda: "Page 1" in tg.api.messages_to(CHAT)[-1], 15)


@pytest.mark.parametrize("typed", ["/search held (since 2025)", "/search held since, 2025"])
async def test_the_next_page_opens_for_a_query_typed_around_punctuation(
    tg: Running, storage: Storage, typed: str
) -> None:
    """Its date stays words (no filter has a parenthesis or a comma in it); the reply's query
    line, which the button reads back, must say so and not be refused as a date filter."""
    [feed] = await add_feeds(storage, "Kloop")
    now = time.time()
    held = [
        make_entry(
            f"Activist number {n} held in Bishkek since 2025 awaits extradition",
            link=f"https://e.org/held/{n}",
            published=now - (n + 1) * 86400,
        )
        for n in range(6)
    ]
    await storage.stories.save(feed, [incoming(e, KG) for e in held], now=now, alert_max_age=0)
    first = await say(tg, CHAT, typed, 1)
    assert first.startswith('🔎 held "since" 2025\n\nPage 1')
    message_id = tg.api.sent_to(CHAT)[-1].message_id
    [(_, data)] = buttons(tg, CHAT)
    answer = await press(tg, CHAT, data, message_id)
    assert answer.get("text") != TEXTS["forged"]
    await tg.api.wait_for(lambda: "Page 2" in tg.api.messages_to(CHAT)[-1], 15)


async def test_pressing_a_page_button_twice_is_no_error(
    tg: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """A double tap asks for the page already shown: Telegram answers "message is not
    modified", which is nothing to log as a failure."""
    await say(tg, CHAT, "/search Movlaev country:kg", 1)
    message_id = tg.api.sent_to(CHAT)[-1].message_id
    [(_, data)] = buttons(tg, CHAT)
    await press(tg, CHAT, data, message_id)
    await tg.api.wait_for(lambda: "Page 2" in tg.api.messages_to(CHAT)[-1], 15)
    await press(tg, CHAT, data, message_id)
    await tg.api.wait_for(lambda: any("not modified" in e.description for e in tg.api.errors))
    await tg.dp.stop_polling()  # the update's handler is done once polling has stopped
    assert "Page 2" in tg.api.messages_to(CHAT)[-1]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_russian_list_pages_in_any_language(tg: Running) -> None:
    # The query line is the same in every language, so whoever presses (here a Ukrainian
    # speaker, then an English one) pages the list, each in their own language.
    first = await say(tg, CHAT, "/search Movlaev country:kg", 1, language_code="ru")
    assert first.startswith("🔎 movlaev country:kg\n\nСтраница 1")
    assert "Экстрадиция · 🇰🇬 Киргизия, 🇷🇺 Россия" in first
    assert "2 источника" in first
    assert "1 источник ·" in first
    message_id = tg.api.sent_to(CHAT)[-1].message_id
    [(label, data)] = buttons(tg, CHAT)
    assert label == "Дальше ▶"
    await press(tg, CHAT, data, message_id, language_code="ru")
    await tg.api.wait_for(lambda: "Страница 2" in tg.api.messages_to(CHAT)[-1], 15)
    assert "6. " in tg.api.messages_to(CHAT)[-1]
    [(label, data)] = buttons(tg, CHAT)
    assert label == "◀ Назад"
    await press(tg, CHAT, data, message_id, language_code="uk")
    await tg.api.wait_for(lambda: "Сторінка 1" in tg.api.messages_to(CHAT)[-1], 15)
    assert [label for label, _ in buttons(tg, CHAT)] == ["Далі ▶"]
    await press(tg, CHAT, buttons(tg, CHAT)[0][1], message_id, language_code="en")
    await tg.api.wait_for(lambda: "Page 2" in tg.api.messages_to(CHAT)[-1], 15)
    forged = await press(tg, CHAT, "p1:1:00000000", message_id, language_code="ru")
    assert forged.get("text") == "Эта кнопка больше не работает. Повторите поиск."


async def test_search_replies_speak_the_chats_language(tg: Running) -> None:
    ask = [
        ("/search country:narnia", "Неизвестная страна «narnia». Укажите код страны"),
        ("/search -Ереван", "Добавьте слово для поиска"),
        ("/search since:2025-03 until:2025-01", "Дата since: позже until:"),
        ("/search Навальный", "Ничего не найдено."),
        ("/story 99999", "Новости с таким номером нет."),
        ("/recent", "Последние новости"),
        ("/case Мовлаев", "Дело: мовлаев — 7 новостей, сначала старые"),
    ]
    for n, (command, expected) in enumerate(ask, 1):
        assert expected in await say(tg, CHAT, command, n, language_code="ru"), command
    story_id = tg.api.messages_to(CHAT)[-1].split("/story_")[-1].split()[0]  # day 0: 2 sources
    card = await say(tg, OTHER, f"/story_{story_id}", 1, language_code="uk")
    assert card.startswith(f"Новина {story_id} · Екстрадиція · 🇰🇬 Киргизстан")
    assert "Джерела (2)" in card
    tg.api.user_message(OTHER, "/export Movlaev", language_code="uk")
    await tg.api.wait_for(lambda: len(tg.api.sent_to(OTHER)) == 2, 15)
    assert tg.api.sent_to(OTHER)[-1].text.startswith("7 новин за запитом: movlaev")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("p1:1:00000000", TEXTS["forged"]),
        ("p1:999:{tag}", TEXTS["forged"]),
        ("p1:x:{tag}", TEXTS["forged"]),
        ("p9:1:{tag}", TEXTS["forged"]),
        ("p1:1:{tag}:extra", TEXTS["forged"]),
        # Not search's scope: the settings router and the fallback answer these.
        ("s", STALE),
        ("unsub", STALE),
    ],
)
async def test_forged_or_stale_buttons_get_a_polite_answer(
    tg: Running, data: str, expected: str
) -> None:
    await say(tg, CHAT, "/search Movlaev", 1)
    message_id = tg.api.sent_to(CHAT)[-1].message_id
    tag = buttons(tg, CHAT)[0][1].split(":")[2]
    before = tg.api.messages_to(CHAT)
    answer = await press(tg, CHAT, data.format(tag=tag), message_id)
    assert answer.get("text") == expected
    assert tg.api.messages_to(CHAT) == before


async def test_a_button_cannot_reach_another_chats_query(tg: Running) -> None:
    await say(tg, CHAT, "/search Movlaev", 1)
    data = buttons(tg, CHAT)[0][1]
    await say(tg, OTHER, "/recent", 1)
    other_message = tg.api.sent_to(OTHER)[-1].message_id
    answer = await press(tg, OTHER, data, other_message)  # not a result page: refused
    assert answer.get("text") == TEXTS["forged"]
    answer = await press(tg, OTHER, data, 9999)  # a message Telegram no longer shows
    assert answer.get("text") == TEXTS["stale"]
    assert len(tg.api.messages_to(OTHER)) == 1


async def test_story_card_lists_every_source(tg: Running) -> None:
    first = await say(tg, CHAT, "/search Kyrgyzstan extradites", 1)
    story_id = first.split("/story_")[1].split()[0]
    card = await say(tg, CHAT, f"/story_{story_id}", 2)
    assert "Sources (2)" in card
    assert "Meduza" in card
    assert "Kloop" in card
    assert "https://e.org/0" in card
    assert card == await say(tg, CHAT, f"/story {story_id}", 3)
    assert await say(tg, CHAT, "/story 99999", 4) == TEXTS["no_story"]
    assert await say(tg, CHAT, "/story twelve", 5) == TEXTS["story_usage"]


async def test_story_link_takes_the_whole_command(tg: Running) -> None:
    first = await say(tg, CHAT, "/search Kyrgyzstan extradites", 1)
    story_id = first.split("/story_")[1].split()[0]
    card = await say(tg, CHAT, f"/story_{story_id}@transit_watch_test_bot", 2)
    assert card.startswith(f"Story {story_id} ")
    # A digit prefix is not the story: trailing junk, or a number longer than any id.
    for n, junk in enumerate([f"{story_id}abc", "", f"{story_id}_1", "1234567890123"], 3):
        assert await say(tg, CHAT, f"/story_{junk}", n) == TEXTS["story_usage"], junk


async def test_case_is_a_timeline_oldest_first(tg: Running) -> None:
    reply = await say(tg, CHAT, "/case Мовлаев", 1)
    assert "7 stories, oldest first" in reply
    days = [int(line.split("день ")[1][0]) for line in reply.splitlines() if "день " in line]
    assert days == [6, 5, 4, 3, 2, 1, 0]
    assert await say(tg, CHAT, "/case", 2) == TEXTS["case_usage"]
    assert "No stories name" in await say(tg, CHAT, "/case Навальный", 3)
    # A mistyped filter is said, not taken for a missing name.
    assert "Cannot read the date “2025-13”" in await say(tg, CHAT, "/case Мовлаев since:2025-13", 4)


async def test_export_sends_a_csv_document(tg: Running) -> None:
    tg.api.user_message(CHAT, "/export Movlaev since:2000-01-01")
    await tg.api.wait_for(lambda: bool(tg.api.sent_to(CHAT)), 15)
    record = tg.api.sent_to(CHAT)[-1]
    assert record.document is not None
    assert record.text.startswith("7 stories for: movlaev since:2000-01-01")
    rows = list(csv.reader(io.StringIO(record.document.data.decode("utf-8-sig"))))
    assert rows[0] == [
        "date",
        "countries",
        "action",
        "people",
        "headline",
        "outlets",
        "links",
    ]
    assert len(rows) == 8
    joined = next(r for r in rows if r[5] == "Meduza; Kloop")
    assert joined[1:3] == ["KG RU", "extradition"]
    assert "Мовлаева" in joined[3]
    assert joined[6] == "https://e.org/0; https://e.org/0"  # each outlet with its link
    assert await say(tg, CHAT, "/export", 2) == TEXTS["export_usage"]


async def test_a_link_telegram_refuses_costs_its_link_not_the_reply(
    tg: Running, storage: Storage
) -> None:
    # A misconfigured CMS writes http://localhost/... into its items (bot.parse keeps it):
    # made a text link, Telegram would answer 400 to the whole reply.
    [feed] = await add_feeds(storage, "Outlet")
    now = time.time()
    refused = make_entry(
        "Kazakhstan extradites Bazhukov", link="http://localhost/news/1", published=now
    )
    await storage.stories.save(feed, [incoming(refused, KG)], now=now, alert_max_age=0)
    reply = await say(tg, CHAT, "/search Bazhukov", 1)
    assert "Kazakhstan extradites Bazhukov" in reply
    number = reply.split("/story_")[1].split()[0]
    for n, command in enumerate(("/recent", "/case Bazhukov", f"/story_{number}"), 2):
        assert "Kazakhstan extradites Bazhukov" in await say(tg, CHAT, command, n), command
    assert "http://localhost/news/1" in tg.api.messages_to(CHAT)[-1]  # /story shows it as text
    links = [e.get("url") for m in tg.api.sent_to(CHAT) for e in m.entities]
    assert "http://localhost/news/1" not in links


async def test_a_reply_telegram_refuses_is_sent_again_as_plain_text(tg: Running) -> None:
    refusal = "Bad Request: entity URL 'http://x' is invalid: Wrong HTTP URL"
    tg.api.fail_next("sendMessage", 400, refusal)
    first = await say(tg, CHAT, "/search Movlaev", 1)
    assert first.startswith("🔎 movlaev\n\nPage 1")
    assert tg.api.sent_to(CHAT)[-1].entities == []
    [(_, data)] = buttons(tg, CHAT)  # the list still pages
    tg.api.fail_next("editMessageText", 400, refusal)
    await press(tg, CHAT, data, tg.api.sent_to(CHAT)[-1].message_id)
    await tg.api.wait_for(lambda: "Page 2" in tg.api.messages_to(CHAT)[-1], 15)
    tg.api.fail_next("sendMessage", 400, refusal)
    assert "Latest stories" in await say(tg, CHAT, "/recent", 2)


@pytest.mark.parametrize(
    ("language", "cut"),
    [
        ("en", "Only the first 200 stories: more match"),
        ("ru", "Только первые 200 новостей: найдено больше"),
        ("uk", "Лише перші 200 новин: знайдено більше"),
    ],
)
async def test_an_export_cut_at_its_bound_says_so(
    tg: Running, storage: Storage, language: str, cut: str
) -> None:
    # "200 stories for: ..." whether 200 or 2,000 match: a lawyer could not tell the file
    # is incomplete.
    [feed] = await add_feeds(storage, "Outlet")
    now = time.time()
    hearings = [
        make_entry(
            f"Bazhukov case: hearing number {n} in Almaty court {n * 7919}",
            summary=f"Report {n}.",
            link=f"https://outlet.example.org/{n}",
            published=now - n * 3600,
        )
        for n in range(EXPORT_MAX + 1)
    ]
    await storage.stories.save(feed, [incoming(e, KG) for e in hearings], now=now, alert_max_age=0)
    tg.api.user_message(CHAT, "/export Bazhukov", language_code=language)
    await tg.api.wait_for(lambda: bool(tg.api.sent_to(CHAT)), 30)
    record = tg.api.sent_to(CHAT)[-1]
    assert record.document is not None
    rows = list(csv.reader(io.StringIO(record.document.data.decode("utf-8-sig"))))
    assert len(rows) == 1 + EXPORT_MAX
    assert record.text.startswith(cut), record.text
    assert record.text.endswith("bazhukov")
    # Exactly the bound: the whole result, said as before.
    tg.api.user_message(CHAT, "/export Bazhukov -200", language_code="en")
    await tg.api.wait_for(lambda: len(tg.api.sent_to(CHAT)) == 2, 30)
    assert tg.api.sent_to(CHAT)[-1].text == f"{EXPORT_MAX} stories for: bazhukov -200"


LATE_4_FEB = datetime(2026, 2, 4, 21, 0, tzinfo=UTC).timestamp()  # 5 Feb, 02:00 in Almaty


async def almaty_chat_with_a_late_story(storage: Storage, chat: int) -> None:
    """A lawyer's chat at UTC+5 and one story published on 4 Feb UTC, 5 Feb in the chat."""
    [feed] = await add_feeds(storage, "Meduza")
    entry = make_entry(
        "Кыргызстан экстрадировал активиста Мовлаева",
        summary="Суд в Бишкеке отказал в убежище.",
        link="https://e.org/1",
        published=LATE_4_FEB,
    )
    await storage.stories.save(feed, [incoming(entry, KG)], now=LATE_4_FEB + 60, alert_max_age=0)
    await storage.chats.ensure(chat, LATE_4_FEB)
    settings = await storage.chats.get(chat)
    assert settings is not None
    await storage.chats.save_settings(replace(settings, utc_offset=5), now=LATE_4_FEB)


async def test_a_search_until_a_day_lists_a_story_dated_the_next_day(storage: Storage) -> None:
    """A lawyer in Almaty (chat at UTC+5) searches `until:2026-02-04`: the list shows days in
    the chat's zone, so it must not hold a story it dates "5 Feb 2026"; `since:2026-02-05`
    finds it, and its query line names the day typed. (Moved in from a review.)"""
    await almaty_chat_with_a_late_story(storage, 31)
    async with FakeBotAPI() as api, running_bot(storage, api) as tg:
        listed = await say(tg, 31, "/search Movlaev until:2026-02-04", 1)
        found = await say(tg, 31, "/search Movlaev since:2026-02-05", 2)
    assert "5 Feb 2026" not in listed, listed
    assert found.startswith("🔎 movlaev since:2026-02-05\n"), found
    assert "5 Feb 2026" in found, found


async def test_export_dates_are_the_chats_days_and_say_their_zone(storage: Storage) -> None:
    """The CSV is filed as a record: its dates agree with the search typed and the cards shown
    (the chat's zone), and its name says that zone, since the file travels alone."""
    await almaty_chat_with_a_late_story(storage, 31)
    async with FakeBotAPI() as api, running_bot(storage, api) as tg:
        tg.api.user_message(31, "/export Movlaev since:2026-02-05")
        await tg.api.wait_for(lambda: bool(tg.api.sent_to(31)), 15)
        record = tg.api.sent_to(31)[-1]
    assert record.document is not None, record.text
    [header, row] = csv.reader(io.StringIO(record.document.data.decode("utf-8-sig")))
    assert (header[0], row[0]) == ("date", "2026-02-05")
    assert record.document.filename == "transit-watch-search-UTC+5.csv"
