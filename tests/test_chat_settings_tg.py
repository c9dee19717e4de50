"""/start, /settings and their buttons through long polling and the fake Bot API, in two
languages; stale and forged buttons; groups where only admins may press."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.storage import Storage
from tests.fakes.botapi import FakeBotAPI, SentMessage
from tests.telegram_harness import Running, running_bot


@pytest.fixture
async def tg(storage: Storage) -> AsyncIterator[Running]:
    async with FakeBotAPI() as api, running_bot(storage, api) as running:
        yield running
        api.assert_no_violations()


async def say(tg: Running, chat: int, text: str, n: int, **kwargs: object) -> SentMessage:
    tg.api.user_message(chat, text, **kwargs)  # type: ignore[arg-type]
    await tg.api.wait_for_messages(chat, n, timeout=15)
    return tg.api.sent_to(chat)[n - 1]


async def press(  # noqa: PLR0917 -- a test helper read like a sentence
    tg: Running,
    chat: int,
    message: SentMessage,
    data: str,
    user: int | None = None,
    language_code: str = "en",
) -> dict[str, object]:
    """Press a button under `message`; return the callback answer."""
    answered = len(tg.api.answered_callbacks)
    user = user if user is not None else chat
    tg.api.callback(chat, user, data, message.message_id, language_code=language_code)
    await tg.api.wait_for(lambda: len(tg.api.answered_callbacks) > answered, timeout=15)
    return tg.api.answered_callbacks[-1]


def buttons(message: SentMessage) -> dict[str, str]:
    """callback_data -> button text."""
    assert message.reply_markup is not None
    return {
        b["callback_data"]: b["text"]
        for row in message.reply_markup["inline_keyboard"]
        for b in row
    }


def current(tg: Running, chat: int, message_id: int) -> SentMessage:
    return next(m for m in tg.api.sent_to(chat) if m.message_id == message_id)


# (Telegram language_code, greeting, subscribe button, the chat's stored language)
LANGUAGES = [
    ("en", "I send an alert", "🔔 Subscribe to all", "en"),
    ("ru", "Я присылаю оповещение", "🔔 Подписаться на всё", "ru"),
    ("kk", "Я присылаю оповещение", "🔔 Подписаться на всё", "ru"),
    ("uk", "Я надсилаю сповіщення", "🔔 Підписатися на все", "uk"),
    ("de", "I send an alert", "🔔 Subscribe to all", "en"),
]


async def test_start_greets_in_the_users_language_and_subscribes_in_one_tap(tg: Running) -> None:
    # One bot for the whole table: each row is its own private chat.
    for user, (language_code, greeting, subscribe_button, locale) in enumerate(LANGUAGES, 10):
        reply = await say(tg, user, "/start", 1, language_code=language_code)
        assert greeting in reply.text
        assert buttons(reply)["o1:all"] == subscribe_button
        await press(tg, user, reply, "o1:all", language_code=language_code)
        await tg.api.wait_for_messages(user, 2, timeout=15)
        chat = await tg.storage.chats.get(user)
        assert chat is not None
        assert chat.subscribed
        assert chat.language == locale  # alerts will be in the subscriber's language


async def test_start_search_help_and_choose_countries(tg: Running) -> None:
    reply = await say(tg, 10, "/start", 1, language_code="ru")
    await press(tg, 10, reply, "o1:search", language_code="ru")
    [_, help_message] = await tg.api.wait_for_messages(10, 2, timeout=15)
    assert "Как искать" in help_message
    await press(tg, 10, reply, "o1:countries", language_code="ru")
    await tg.api.wait_for_messages(10, 3, timeout=15)
    view = tg.api.sent_to(10)[2]
    assert "s1:c:KZ" in buttons(view)
    assert "Казахстан" in buttons(view)["s1:c:KZ"]
    chat = await tg.storage.chats.get(10)
    assert chat is not None
    assert chat.subscribed


async def test_settings_buttons_edit_one_message_in_place(tg: Running) -> None:
    menu = await say(tg, 20, "/settings", 1, language_code="en")
    assert "Alerts: off" in menu.text
    steps = [
        ("s1:v:countries", "Countries: all transit countries"),
        ("s1:c:KZ", "Countries: 🇰🇿 Kazakhstan"),
        ("s1:c:KG", "Countries: 🇰🇬 Kyrgyzstan, 🇰🇿 Kazakhstan"),
        ("s1:c:KZ", "Countries: 🇰🇬 Kyrgyzstan"),
        ("s1:v:delivery", "Delivery: instant"),
        ("s1:m:daily", "Delivery: daily digest at 09:00 (UTC)"),
        ("s1:h:18", "Delivery: daily digest at 18:00 (UTC)"),
        ("s1:z:+", "Delivery: daily digest at 18:00 (UTC+1)"),
        ("s1:v:quiet", "Quiet hours: off"),
        ("s1:q:0", "Quiet hours: 22:00–07:00 (UTC+1), alerts arrive silently"),
        ("s1:p", "Link previews: on"),
        ("s1:a", "Alerts: on"),
        ("s1:v:language", "Language: English"),  # set when the chat subscribed
        ("s1:l:uk", "Мова: Українська"),
    ]
    for data, expected in steps:
        answer = await press(tg, 20, menu, data)
        assert "text" not in answer, (data, answer)
        await tg.api.wait_for(lambda e=expected: e in current(tg, 20, menu.message_id).text)
    assert len(tg.api.sent_to(20)) == 1  # one message, edited in place
    chat = await tg.storage.chats.get(20)
    assert chat is not None
    assert (chat.countries, chat.mode, chat.digest_hour, chat.utc_offset) == (
        ("KG",),
        "daily",
        18,
        1,
    )
    assert (chat.quiet_from, chat.quiet_to, chat.previews, chat.language) == (22, 7, True, "uk")
    assert chat.subscribed
    # Now everything answers in Ukrainian, whatever the user's Telegram language.
    reply = await say(tg, 20, "/unsubscribe", 2, language_code="en")
    assert "Підписку скасовано" in reply.text


FORGED = ["s0:c:KZ", "s1:c:XX", "s1:m:hourly", "s1:h:7", "s1:q:9", "s1:l:de", "s1:v:x", "zz", "s1"]


async def test_stale_or_forged_buttons_get_a_polite_answer(tg: Running) -> None:
    menu = await say(tg, 21, "/settings", 1, language_code="ru")
    for data in FORGED:
        answer = await press(tg, 21, menu, data, language_code="ru")
        assert answer["text"] == "Эта кнопка устарела. Отправьте /settings ещё раз.", data
    assert await tg.storage.chats.get(21) is None  # nothing was stored


async def test_in_a_group_only_admins_press_settings_buttons(tg: Running) -> None:
    group = -300
    tg.api.set_member_status(group, 5, "member")
    tg.api.set_member_status(group, 6, "administrator")
    refused = await say(tg, group, "/settings", 1, user_id=5, chat_type="group")
    assert "Only the chat's admins" in refused.text
    menu = await say(tg, group, "/settings", 2, user_id=6, chat_type="group")
    answer = await press(tg, group, menu, "s1:p", user=5)
    assert answer["text"] == "Only the chat's admins can change its settings."
    assert await tg.storage.chats.get(group) is None
    await press(tg, group, menu, "s1:p", user=6)
    chat = await tg.storage.chats.get(group)
    assert chat is not None
    assert chat.previews
    calls = tg.api.calls["getChatMember"]
    await press(tg, group, menu, "s1:p", user=6)
    assert tg.api.calls["getChatMember"] == calls  # the admin check is cached briefly


async def test_forum_topic_subscription_from_a_button_remembers_the_topic(tg: Running) -> None:
    forum = -1005555
    tg.api.set_member_status(forum, 6, "creator")
    tg.api.user_message(
        forum, "/start", user_id=6, chat_type="supergroup", message_thread_id=7,
        is_topic_message=True,
    )  # fmt: skip
    [greeting] = await tg.api.wait_for_messages(forum, 1, timeout=15)
    sent = tg.api.sent_to(forum)[0]
    assert "I send an alert" in greeting
    assert sent.message_thread_id == 7
    tg.api.messages[(forum, sent.message_id)].obj["is_topic_message"] = True
    await press(tg, forum, sent, "o1:all", user=6)
    await tg.api.wait_for_messages(forum, 2, timeout=15)
    assert tg.api.sent_to(forum)[1].message_thread_id == 7
    chat = await tg.storage.chats.get(forum)
    assert chat is not None
    assert chat.thread_id == 7
