"""What a Telegram 400 (Bad Request) to a delivery means: whose fault it is, so the sender
(`bot.sender`) knows what to do with the delivery.

    chat gone      the bot can no longer write to the chat at all (not found, kicked): the
                   chat is deactivated
    no rights      the bot is in the chat but may not post there (the group made read-only,
                   the bot restricted or no longer a channel's admin): the chat is paused,
                   its set-up kept for when the bot may post again
    thread gone    the forum topic the chat subscribed from was deleted: the chat posts to its
                   main thread from now on
    topic closed   the topic is closed (its admins may reopen it): the delivery is held and
                   retried like a temporary refusal; the chat keeps its topic
    message        anything else is the message's own fault (too long, bad entities): resent
                   once as plain text

Telegram tells these apart only by the text of its description, so they are matched on it,
case-insensitively.
"""

from __future__ import annotations

from enum import Enum


class BadRequest(Enum):
    CHAT_GONE = "chat gone"
    NO_RIGHTS = "no rights"
    THREAD_GONE = "thread gone"
    TOPIC_CLOSED = "topic closed"
    MESSAGE = "message"


_CHAT_GONE = (
    "chat not found",
    "user is deactivated",
    "bot was kicked",
    "peer_id_invalid",
    "group chat was deactivated",
    "bot is not a member",
)
_NO_RIGHTS = (
    "have no rights",
    "not enough rights",
    "need administrator rights",
    "chat_write_forbidden",
)
_THREAD_GONE = ("message thread not found", "topic_deleted")
# Also the "General" topic, when a delivery without a topic goes to a forum whose General is
# closed: the same wait for it to reopen.
_TOPIC_CLOSED = ("topic_closed", "topic closed")


def classify(description: str, *, in_thread: bool) -> BadRequest:
    """What Telegram's 400 `description` means for a delivery; `in_thread`: it was sent to a
    forum topic (only then can its topic be gone)."""
    reason = description.lower()
    if any(marker in reason for marker in _CHAT_GONE):
        return BadRequest.CHAT_GONE
    if any(marker in reason for marker in _NO_RIGHTS):
        return BadRequest.NO_RIGHTS
    if in_thread and any(marker in reason for marker in _THREAD_GONE):
        return BadRequest.THREAD_GONE
    if any(marker in reason for marker in _TOPIC_CLOSED):
        return BadRequest.TOPIC_CLOSED
    return BadRequest.MESSAGE


def not_modified(description: str) -> bool:
    """An edit to what the message already shows (a repeated edit, a double-tapped button):
    nothing to do, and no failure."""
    return "message is not modified" in description.lower()
