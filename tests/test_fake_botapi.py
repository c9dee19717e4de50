"""The fake Bot API server, driven by a real aiogram Bot and by raw HTTP requests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    ChatMemberAdministrator,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.formatting import Bold, Text, TextLink

from tests.fakes.botapi import FakeBotAPI, FloodLimits
from tests.fakes.botapi_rules import ApiError, check_inline_keyboard, message_text, parse_html
from tests.fakes.botapi_schema import BotApiSchema

CHAT = 42
GROUP = -1001234567890


class FrozenClock:
    """A clock that moves only when the test says so, so flood tests do not depend on speed."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(flood=FloodLimits.off()) as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    client = Bot(api.token, session=session)
    yield client
    await client.session.close()


async def raw_call(
    api: FakeBotAPI, method: str, *, token: str | None = None, **kwargs: Any
) -> tuple[int, dict[str, Any], dict[str, str]]:
    url = f"{api.base_url}/bot{token or api.token}/{method}"
    async with aiohttp.ClientSession() as session, session.post(url, **kwargs) as response:
        return response.status, await response.json(), dict(response.headers)


# -- sending ----------------------------------------------------------------------------------


async def test_send_message_with_aiogram_formatting_is_recorded(api: FakeBotAPI, bot: Bot) -> None:
    content = Text(
        "🇷🇺 ", Bold("Extradition"), " feared: ", TextLink("story", url="https://e.org/1")
    )
    first = await bot.send_message(CHAT, **content.as_kwargs(), disable_notification=True)
    second = await bot.send_message(CHAT, "plain")

    assert isinstance(first, Message)
    assert (first.message_id, second.message_id) == (1, 2)
    record = api.sent[0]
    assert record.text == "🇷🇺 Extradition feared: story"
    # The flag is two surrogate pairs: entity offsets count UTF-16 units, not characters.
    assert record.entities == [
        {"type": "bold", "offset": 5, "length": 11},
        {"type": "text_link", "offset": 25, "length": 5, "url": "https://e.org/1"},
    ]
    assert record.disable_notification is True
    assert first.entities is not None
    assert first.entities[0].type == "bold"
    assert api.messages_to(CHAT) == ["🇷🇺 Extradition feared: story", "plain"]
    assert api.calls["sendMessage"] == 2
    api.assert_no_violations()


async def test_html_is_parsed_and_bad_html_rejected(api: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(
        CHAT, '<b>Deported</b> &amp; <a href="https://e.org">held</a>', parse_mode="HTML"
    )
    assert api.sent[0].text == "Deported & held"
    assert [e["type"] for e in api.sent[0].entities] == ["bold", "text_link"]

    for bad in ("<p>x</p>", "a < b", "Tom & Jerry", "<b>open", "<b>x</i>"):
        with pytest.raises(TelegramBadRequest, match="can't parse entities"):
            await bot.send_message(CHAT, bad, parse_mode="HTML")
    assert len(api.sent) == 1
    api.assert_no_violations()


async def test_text_length_rules(api: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(CHAT, "я" * 4096)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(CHAT, "я" * 4097)
    # Markup does not count: 4096 visible characters inside a tag are fine.
    await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="text is empty"):
        await bot.send_message(CHAT, "<b> </b>", parse_mode="HTML")
    assert len(api.sent) == 2


async def test_keyboard_rules(api: FakeBotAPI, bot: Bot) -> None:
    def keyboard(callback_data: str | None = None, url: str | None = None) -> InlineKeyboardMarkup:
        button = InlineKeyboardButton(text="b", callback_data=callback_data, url=url)
        return InlineKeyboardMarkup(inline_keyboard=[[button]])

    await bot.send_message(CHAT, "ok", reply_markup=keyboard(callback_data="sub:1"))
    assert api.sent[0].reply_markup == {
        "inline_keyboard": [[{"text": "b", "callback_data": "sub:1"}]]
    }
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "x", reply_markup=keyboard(callback_data="ж" * 33))
    with pytest.raises(TelegramBadRequest, match="Unsupported URL protocol"):
        await bot.send_message(CHAT, "x", reply_markup=keyboard(url="javascript:alert(1)"))
    api.assert_no_violations()


# -- schema and transport ---------------------------------------------------------------------


async def test_schema_violations_are_answered_and_recorded(api: FakeBotAPI) -> None:
    status, body, _ = await raw_call(api, "sendMessage", data={"text": "no chat"})
    assert status == 400
    assert body["ok"] is False
    assert "chat_id" in body["description"]
    assert body["description"].startswith("Bad Request:")

    markup = json.dumps({"inline_keyboard": [[{"text": "b", "callback_data": 5}]]})
    status, body, _ = await raw_call(
        api, "sendMessage", data={"chat_id": "1", "text": "x", "reply_markup": markup}
    )
    assert status == 400
    assert "inline_keyboard[0][0].callback_data" in body["description"]
    status, _, _ = await raw_call(
        api, "sendMessage", json={"chat_id": 1, "text": "x", "disable_notification": "maybe"}
    )
    assert status == 400

    assert len(api.violations) == 3
    with pytest.raises(AssertionError, match="3 Bot API violation"):
        api.assert_no_violations()
    assert api.sent == []


async def test_transports_case_tokens_and_unknown_methods(api: FakeBotAPI) -> None:
    status, body, _ = await raw_call(api, "SENDMESSAGE", params={"chat_id": "5", "text": "q"})
    assert (status, body["result"]["text"]) == (200, "q")
    api.schema.check_object("Message", body["result"])  # our answers obey the schema too
    form = aiohttp.FormData({"chat_id": "5", "text": "m", "disable_notification": "true"})
    form.add_field("ignored_file", b"bytes", filename="f.bin")
    status, _, _ = await raw_call(api, "sendMessage", data=form)
    assert status == 200
    status, _, _ = await raw_call(api, "sendmessage", json={"chat_id": 5, "text": "j", "x": 1})
    assert status == 200
    assert api.messages_to(5) == ["q", "m", "j"]

    status, body, _ = await raw_call(api, "getMe", token="123:short")
    assert (status, body["description"]) == (401, "Unauthorized")
    status, body, _ = await raw_call(api, "sendTelepathy")
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    api.assert_no_violations()


async def test_unimplemented_real_method_is_a_violation(api: FakeBotAPI) -> None:
    status, body, _ = await raw_call(api, "sendDice", data={"chat_id": "5"})
    assert status == 400
    assert "does not implement" in body["description"]
    assert [v.method for v in api.violations] == ["sendDice"]


def test_missing_schema_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"shared/botapi/api\.json"):
        BotApiSchema.load(tmp_path / "nowhere.json")


# -- errors on demand -------------------------------------------------------------------------


async def test_flood_control_answers_429() -> None:
    clock = FrozenClock()
    limits = FloodLimits(private_per_s=1.0, private_burst=2, group_per_min=20)
    async with FakeBotAPI(flood=limits, clock=clock) as api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
        async with Bot(api.token, session=session) as limited:
            await limited.send_message(CHAT, "1")
            await limited.send_message(CHAT, "2")
            with pytest.raises(TelegramRetryAfter) as caught:
                await limited.send_message(CHAT, "3")
            assert caught.value.retry_after == 1
            await limited.send_message(CHAT + 1, "other chats have their own allowance")
            clock.now += 1.0
            await limited.send_message(CHAT, "3 again")

            for n in range(20):
                await limited.send_message(GROUP, f"group {n}")
            with pytest.raises(TelegramRetryAfter) as caught:
                await limited.send_message(GROUP, "21st within a minute")
            assert caught.value.retry_after == 3
        _, body, headers = await raw_call(api, "sendMessage", data={"chat_id": "42", "text": "x"})
        assert headers["Retry-After"] == str(body["parameters"]["retry_after"])
        assert api.count_429 == 3
        api.assert_no_violations()


async def test_retry_all_after() -> None:
    clock = FrozenClock()
    async with FakeBotAPI(clock=clock) as api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
        async with Bot(api.token, session=session) as client:
            api.retry_all_after(5)
            with pytest.raises(TelegramRetryAfter) as caught:
                await client.get_me()
            assert caught.value.retry_after == 5
            clock.now += 5
            assert (await client.get_me()).is_bot


async def test_blocked_forgotten_migrated_chats(api: FakeBotAPI, bot: Bot) -> None:
    api.block_chat(CHAT)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "hi")
    api.forget_chat(7)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(7, "hi")
    api.migrate_chat(-55, GROUP)
    with pytest.raises(TelegramMigrateToChat) as caught:
        await bot.send_message(-55, "hi")
    assert caught.value.migrate_to_chat_id == GROUP
    await bot.send_message(GROUP, "hi")
    assert api.messages_to(GROUP) == ["hi"]


async def test_fail_next_outage_and_random_5xx(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("SendMessage", 400, "Bad Request: something odd", times=2)
    for _ in range(2):
        with pytest.raises(TelegramBadRequest, match="something odd"):
            await bot.send_message(CHAT, "x")
    await bot.send_message(CHAT, "third time lucky")

    api.outage(True)
    with pytest.raises(TelegramServerError):
        await bot.get_me()
    api.outage(True, drop_connection=True)
    with pytest.raises(TelegramNetworkError):
        await bot.get_me()
    api.outage(False)

    api.set_random_5xx(1.0, seed=3)
    with pytest.raises(TelegramServerError):
        await bot.get_me()
    api.set_random_5xx(0.0)
    assert (await bot.get_me()).username == "transit_watch_test_bot"


# -- updates, callbacks, edits ----------------------------------------------------------------


async def test_dispatcher_polls_and_answers(api: FakeBotAPI, bot: Bot) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(f"Welcome, {message.from_user.id if message.from_user else '?'}")

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=30))
    try:
        api.user_message(CHAT, "/start")
        assert await api.wait_for_messages(CHAT, 1) == [f"Welcome, {CHAT}"]
    finally:
        await dp.stop_polling()
        await polling
    assert api.calls["getUpdates"] >= 1
    api.assert_no_violations()


async def test_get_updates_long_poll_offset_and_filter(api: FakeBotAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for(lambda: api.calls["getUpdates"] == 1)
    first = api.user_message(GROUP, "/start@transit_watch_test_bot", chat_type="supergroup")
    updates = await poll  # answered by the injection, not by the 30 s timeout
    assert len(updates) == 1
    assert updates[0].message is not None
    assert updates[0].message.message_id == first
    assert updates[0].message.entities is not None
    assert updates[0].message.entities[0].type == "bot_command"
    assert updates[0].message.entities[0].length == 29

    api.user_message(CHAT, "two")
    api.callback(CHAT, CHAT, "data", 1)
    unconfirmed = await bot.get_updates(timeout=0)  # no offset: nothing was confirmed yet
    assert [u.update_id for u in unconfirmed][:1] == [updates[0].update_id]
    assert len(unconfirmed) == 3
    only_messages = await bot.get_updates(
        offset=updates[0].update_id + 1, timeout=0, allowed_updates=["message"]
    )
    assert [u.message.text for u in only_messages if u.message] == ["two"]
    assert len(only_messages) == 1  # the callback query was not asked for
    assert await bot.get_updates(offset=only_messages[0].update_id + 1, timeout=0) == []
    api.assert_no_violations()


async def test_second_poller_terminates_the_first(api: FakeBotAPI, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for(lambda: api.calls["getUpdates"] == 1)
    assert await bot.get_updates(timeout=0) == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first


async def test_callback_answer_and_edit(api: FakeBotAPI, bot: Bot) -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Unsubscribe", callback_data="unsub")]]
    )
    sent = await bot.send_message(CHAT, "Subscribed", reply_markup=markup)
    query_id = api.callback(CHAT, CHAT, "unsub", sent.message_id)
    updates = await bot.get_updates(timeout=0)
    query = updates[-1].callback_query
    assert isinstance(query, CallbackQuery)
    assert query.id == query_id
    assert isinstance(query.message, Message)
    assert query.message.text == "Subscribed"

    assert await bot.answer_callback_query(query_id, text="Done")
    assert api.answered_callbacks == [{"callback_query_id": query_id, "text": "Done"}]
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)

    edited = await bot.edit_message_text(
        "<i>Unsubscribed</i>", chat_id=CHAT, message_id=sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, Message)
    assert edited.edit_date is not None
    assert api.messages_to(CHAT) == ["Unsubscribed"]
    assert api.sent[-1].edited
    assert api.sent[-1].reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "<i>Unsubscribed</i>", chat_id=CHAT, message_id=sent.message_id, parse_mode="HTML"
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=99)
    api.assert_no_violations()


async def test_members_chats_and_commands(api: FakeBotAPI, bot: Bot) -> None:
    assert isinstance(await bot.get_chat_member(CHAT, CHAT), ChatMemberOwner)
    assert (await bot.get_chat_member(GROUP, 5)).status == "member"
    api.set_member_status(GROUP, 5, "administrator")
    admin = await bot.get_chat_member(GROUP, 5)
    assert isinstance(admin, ChatMemberAdministrator)
    assert admin.can_post_messages
    api.set_member_status(GROUP, 6, "kicked")
    assert (await bot.get_chat_member(GROUP, 6)).status == "kicked"
    chat = await bot.get_chat(GROUP)
    assert (chat.id, chat.type) == (GROUP, "supergroup")

    commands = [BotCommand(command="start", description="Subscribe")]
    scope = BotCommandScopeChat(chat_id=CHAT)
    assert await bot.set_my_commands(commands, scope=scope, language_code="ru")
    stored = await bot.get_my_commands(scope=scope, language_code="ru")
    assert [(c.command, c.description) for c in stored] == [("start", "Subscribe")]
    assert await bot.get_my_commands() == []
    assert await bot.delete_my_commands(scope=scope, language_code="ru")
    assert await bot.get_my_commands(scope=scope, language_code="ru") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start!", description="x")])
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.close()
    assert await bot.log_out()
    api.assert_no_violations()


async def test_wait_for_times_out_with_a_useful_message(api: FakeBotAPI) -> None:
    with pytest.raises(TimeoutError, match="condition not met"):
        await api.wait_for(lambda: False, timeout=0.05)


# -- rules without a server -------------------------------------------------------------------


def test_html_parser_details() -> None:
    text, entities = parse_html(
        '<pre><code class="language-python">x = 1</code></pre>'
        '<tg-spoiler>s</tg-spoiler><span class="tg-spoiler">t</span>'
        "<blockquote expandable>q</blockquote>&#128512;&lt;&quot;"
    )
    assert text == 'x = 1stq😀<"'
    assert entities == [
        {"type": "pre", "language": "python", "offset": 0, "length": 5},
        {"type": "spoiler", "offset": 5, "length": 1},
        {"type": "spoiler", "offset": 6, "length": 1},
        {"type": "expandable_blockquote", "offset": 7, "length": 1},
    ]
    for bad in ("<span>x</span>", "a > b", '<a href="">x</a>', "</b>", "<tg-time>x</tg-time>"):
        with pytest.raises(ApiError, match="can't parse entities"):
            parse_html(bad)


def test_explicit_entities_are_checked_in_utf16_units() -> None:
    assert message_text("😀ab", None, [{"type": "bold", "offset": 2, "length": 2}])[0] == "😀ab"
    for entity in (
        {"type": "bold", "offset": 2, "length": 3},  # past the end (4 UTF-16 units)
        {"type": "bold", "offset": 1, "length": 1},  # inside the emoji's surrogate pair
        {"type": "bold", "offset": 0, "length": 0},
        {"type": "shouting", "offset": 0, "length": 1},
        {"type": "text_link", "offset": 0, "length": 1},  # no url
    ):
        with pytest.raises(ApiError, match="can't parse entities"):
            message_text("😀ab", None, [entity])


def test_markdown_v2_and_parse_modes() -> None:
    assert message_text(r"Ends here\. Really\!", "MarkdownV2", None)[0] == "Ends here. Really!"
    with pytest.raises(ApiError, match="reserved"):
        message_text("Ends here.", "MarkdownV2", None)
    with pytest.raises(ApiError, match="not supported by the fake"):
        message_text("*bold*", "MarkdownV2", None)
    with pytest.raises(ApiError, match="unsupported parse_mode"):
        message_text("x", "BBCode", None)


def test_inline_buttons_need_exactly_one_action() -> None:
    with pytest.raises(ApiError, match="Text buttons are unallowed"):
        check_inline_keyboard({"inline_keyboard": [[{"text": "t"}]]})
    with pytest.raises(ApiError, match="more than one"):
        check_inline_keyboard(
            {"inline_keyboard": [[{"text": "t", "url": "https://x", "callback_data": "d"}]]}
        )
    check_inline_keyboard({"inline_keyboard": [[{"text": "t", "url": "tg://resolve?domain=x"}]]})


async def test_send_document_uploads_are_kept_and_checked(api: FakeBotAPI, bot: Bot) -> None:
    from aiogram.types import BufferedInputFile

    data = "date,headline\r\n2026-02-03,Бажуков\r\n".encode()
    sent = await bot.send_document(
        CHAT, BufferedInputFile(data, filename="cases.csv"), caption="<b>2</b> stories",
        parse_mode="HTML",
    )  # fmt: skip
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.file_size) == ("cases.csv", len(data))
    assert sent.caption == "2 stories"
    record = api.sent_to(CHAT)[-1]
    assert record.document is not None
    assert record.document.data == data
    assert record.entities == [{"type": "bold", "offset": 0, "length": 1}]
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(CHAT, "AgADBAAD_unknown_file_id")
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_document(CHAT, BufferedInputFile(b"x", "a.txt"), caption="x" * 1025)
    with pytest.raises(TelegramBadRequest, match="non-empty"):
        await bot.send_document(CHAT, BufferedInputFile(b"", "empty.txt"))
    status, _body, _ = await raw_call(api, "sendDocument", data={"chat_id": str(CHAT)})
    assert status == 400
    assert api.violations  # `document` is required by the schema


async def test_public_chats_resolve_by_username() -> None:
    async with FakeBotAPI() as api:
        api.add_public_chat("@news_chan", -1009, "channel")
        bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
        try:
            chat = await bot.get_chat("@News_Chan")
            assert (chat.id, chat.type) == (-1009, "channel")
            with pytest.raises(TelegramBadRequest, match="chat not found"):
                await bot.get_chat("@unknown_chan")
        finally:
            await bot.session.close()
        api.assert_no_violations()
