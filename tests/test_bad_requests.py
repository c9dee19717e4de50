"""What a Telegram 400 means for a delivery (`bot.bad_requests`): the table its docstring gives."""

from __future__ import annotations

import pytest

from bot.bad_requests import BadRequest, classify


@pytest.mark.parametrize(
    ("description", "in_thread", "meaning"),
    [
        ("Bad Request: chat not found", False, BadRequest.CHAT_GONE),
        ("Bad Request: not enough rights to send text messages", True, BadRequest.NO_RIGHTS),
        ("Bad Request: CHAT_WRITE_FORBIDDEN", False, BadRequest.NO_RIGHTS),
        ("Bad Request: need administrator rights in the channel chat", False, BadRequest.NO_RIGHTS),
        ("Bad Request: group chat was deactivated", False, BadRequest.CHAT_GONE),
        ("Bad Request: message thread not found", True, BadRequest.THREAD_GONE),
        ("Bad Request: TOPIC_DELETED", True, BadRequest.THREAD_GONE),
        # Without a topic there is none to be gone: the message's fault, resent plain once.
        ("Bad Request: message thread not found", False, BadRequest.MESSAGE),
        ("Bad Request: TOPIC_CLOSED", True, BadRequest.TOPIC_CLOSED),
        ("Bad Request: topic closed", True, BadRequest.TOPIC_CLOSED),
        ("Bad Request: TOPIC_CLOSED", False, BadRequest.TOPIC_CLOSED),  # a closed General
        ("Bad Request: message is too long", False, BadRequest.MESSAGE),
        ("Bad Request: can't parse entities: unsupported start tag", True, BadRequest.MESSAGE),
    ],
)
def test_what_a_bad_request_means(description: str, in_thread: bool, meaning: BadRequest) -> None:
    assert classify(description, in_thread=in_thread) is meaning
