"""A command or a button whose handler fails (a full disk, a database that refuses writes)
still gets an answer: the spinner stops and the chat learns that it did not work, in its
language. What is logged is the error's type, never what the user wrote."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import pytest

from bot.storage import Storage
from tests.fakes.botapi import FakeBotAPI
from tests.telegram_harness import Running, running_bot
from tests.test_chat_settings_tg import say

SECRET = "Bazhukov"  # what a user wrote: never in the log


@pytest.fixture
async def tg(storage: Storage) -> AsyncIterator[Running]:
    async with FakeBotAPI() as api, running_bot(storage, api) as running:
        yield running
        api.assert_no_violations()


async def refuse_writes(storage: Storage) -> None:
    """From now on every write raises sqlite3.OperationalError, as on a full disk; reads work."""
    await storage.db.fetchall("PRAGMA query_only = ON")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "the bot's database failed. Please try again later."),
        ("ru", "сбой базы данных бота. Попробуйте позже."),
        ("uk", "збій бази даних бота. Спробуйте пізніше."),
    ],
)
async def test_a_command_the_database_fails_is_answered_in_the_users_language(
    tg: Running, language: str, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    chat = 50
    await refuse_writes(tg.storage)
    with caplog.at_level(logging.INFO):
        reply = await say(tg, chat, f"/watch {SECRET}", 1, language_code=language)
    assert expected in reply.text
    assert await tg.storage.watchlist.of_chat(chat) == []
    assert "OperationalError" in caplog.text
    assert SECRET not in caplog.text


async def test_delete_everything_the_database_fails_says_nothing_was_deleted(
    tg: Running,
) -> None:
    chat = 51
    await tg.storage.chats.subscribe(chat, ["KZ"], thread_id=None, now=time.time())
    ask = await say(tg, chat, "/forget", 1)
    await refuse_writes(tg.storage)
    query = tg.api.callback(chat, chat, "f1:yes", ask.message_id)
    reply = await tg.api.wait_for_messages(chat, 2, timeout=15)
    assert query not in tg.api.open_callbacks  # the spinner stops
    assert "Nothing was deleted" in reply[-1]
    assert await tg.storage.chats.get(chat) is not None


async def test_the_chats_language_setting_wins_on_failure_too(tg: Running) -> None:
    chat = 53
    await tg.storage.chats.ensure(chat, time.time(), language="uk")
    await refuse_writes(tg.storage)
    reply = await say(tg, chat, "/subscribe kz", 1, language_code="en")
    assert "збій бази даних бота" in reply.text


async def test_a_failure_after_the_deletion_does_not_say_nothing_was_deleted(
    tg: Running,
) -> None:
    """The press answered too late (the database was busy): the deletion is done, and the
    chat must not be told otherwise."""
    chat = 52
    await tg.storage.chats.subscribe(chat, ["KZ"], thread_id=None, now=time.time())
    ask = await say(tg, chat, "/forget", 1)
    tg.api.fail_next(
        "answerCallbackQuery",
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    tg.api.callback(chat, chat, "f1:yes", ask.message_id)
    await tg.api.wait_for(lambda: "nothing about this chat" in tg.api.messages_to(chat)[0])
    assert await tg.storage.chats.get(chat) is None
    assert not any("Nothing was deleted" in text for text in tg.api.messages_to(chat))


async def test_a_failure_after_a_saved_write_does_not_say_nothing_was_changed(
    tg: Running,
) -> None:
    """/watch keeps the chat's row first, then the watch: when only the second write fails,
    the chat's row is stored, so the chat must not be told that nothing was changed."""
    chat = 54
    await tg.storage.db.fetchall(
        "CREATE TEMP TRIGGER refuse_watches BEFORE INSERT ON watchlist"
        " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    reply = await say(tg, chat, f"/watch {SECRET}", 1)
    assert await tg.storage.chats.get(chat) is not None  # the first write was saved
    assert await tg.storage.watchlist.of_chat(chat) == []
    assert "database failed" in reply.text
    assert "Nothing was changed" not in reply.text
