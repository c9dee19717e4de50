"""The simulated Telegram side of the fake Bot API: chats, messages, members, pending updates.

`TelegramWorld` holds what Telegram would know, plus the test-facing ways to change and read it:
users writing (`user_message`) and pressing buttons (`callback`), member statuses, blocked,
forgotten and migrated chats, flood limits, and what the bot sent (`sent`, `messages_to`).
`botapi_methods` answers Bot API calls against it; `botapi.FakeBotAPI` serves them over HTTP.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tests.fakes.botapi_rules import ApiError, FloodControl, FloodLimits, bad_request, utf16_len

ChatType = Literal["private", "group", "supergroup", "channel"]
MEMBER_TYPES = {
    "creator": "ChatMemberOwner",
    "administrator": "ChatMemberAdministrator",
    "member": "ChatMemberMember",
    "restricted": "ChatMemberRestricted",
    "left": "ChatMemberLeft",
    "kicked": "ChatMemberBanned",
}
DEFAULT_ALLOWED_UPDATES = frozenset(
    {"message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
     "inline_query", "chosen_inline_result", "my_chat_member", "chat_join_request",
     "shipping_query", "pre_checkout_query", "poll", "poll_answer", "chat_boost",
     "removed_chat_boost", "business_connection", "business_message",
     "edited_business_message", "deleted_business_messages", "purchased_paid_media"}
)  # fmt: skip
_BOT_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?")
_DEFAULT_USER_ID = 1001  # the member who writes in group chats unless a test names one
_FORBIDDEN = {
    "private": "Forbidden: bot was blocked by the user",
    "group": "Forbidden: bot was kicked from the group chat",
    "supergroup": "Forbidden: bot was kicked from the supergroup chat",
    "channel": "Forbidden: bot is not a member of the channel chat",
}


@dataclass
class SentMessage:
    """One message the bot sent, or one edit of it (`edited`), as Telegram understood it."""

    method: str
    chat_id: int
    message_id: int
    text: str  # plain text after parsing parse_mode
    entities: list[dict[str, Any]]
    raw_text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    message_thread_id: int | None
    disable_notification: bool
    link_preview_options: dict[str, Any] | None
    edited: bool
    document: Upload | None = None  # sendDocument: the file; `text` is then the caption


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded (multipart/form-data), as the fake received it."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Chat:
    id: int
    type: ChatType

    def as_object(self) -> dict[str, Any]:
        if self.type == "private":
            return {
                "id": self.id,
                "type": "private",
                "first_name": "Test",
                "username": f"u{self.id}",
            }
        return {"id": self.id, "type": self.type, "title": f"Test {self.type} {abs(self.id)}"}


@dataclass
class Stored:
    """A message in a chat: its Bot API object and, for the bot's own, the latest record."""

    obj: dict[str, Any]
    record: SentMessage | None
    deleted: bool = False


class Changes:
    """Wakes every waiter when anything happens (an update injected, a request answered)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        """Until the next change, or `seconds` at most."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            return


class TelegramWorld:
    """Chats, messages and updates as Telegram would hold them for one bot."""

    def __init__(self, flood: FloodLimits | None, clock: Callable[[], float]) -> None:
        self.sent: list[SentMessage] = []
        self.answered_callbacks: list[dict[str, Any]] = []
        self.clock = clock  # flood control and retry_all_after; injectable to freeze time
        self.flood = FloodControl(flood or FloodLimits(), clock)
        self.changes = Changes()
        self.messages: dict[tuple[int, int], Stored] = {}
        self.updates: list[dict[str, Any]] = []
        self.allowed_updates = DEFAULT_ALLOWED_UPDATES
        self.open_callbacks: set[str] = set()
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.members: dict[tuple[int, int], str] = {}
        self._chats: dict[int, Chat] = {}
        self._last_message_id: Counter[int] = Counter()
        self._last_update_id = 100_000
        self._last_callback_id = 4_000_000
        self._blocked: set[int] = set()
        self._forgotten: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._usernames: dict[str, int] = {}

    # -- what users do --------------------------------------------------------------------------

    def user_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: ChatType = "private",
        language_code: str = "en",
        message_thread_id: int | None = None,
        is_topic_message: bool = False,
    ) -> int:
        """Inject a text message (a channel post for channels); return its message_id."""
        chat = self._register_chat(chat_id, chat_type)
        message_id = self.next_message_id(chat_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat.as_object(),
            "text": text,
        }
        if chat_type == "channel":
            message["sender_chat"] = chat.as_object()
        else:
            sender = user_id if user_id is not None else self._default_user(chat)
            message["from"] = user_object(sender, language_code)
        if command := _BOT_COMMAND.match(text):
            length = utf16_len(command.group())
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
        if is_topic_message:
            message["is_topic_message"] = True
        self.messages[(chat_id, message_id)] = Stored(message, None)
        self._push_update("channel_post" if chat_type == "channel" else "message", message)
        return message_id

    def channel_post_with_discussion(self, channel_id: int, group_id: int, text: str) -> None:
        """Post in a channel that has a discussion group: Telegram copies the post into the
        group as an automatic forward, on behalf of the channel."""
        post_id = self.user_message(channel_id, text, chat_type="channel")
        post = self.messages[(channel_id, post_id)].obj
        group = self._register_chat(group_id, "supergroup").as_object()
        message_id = self.next_message_id(group_id)
        copy = {
            **post, "message_id": message_id, "chat": group,
            "from": {"id": 777000, "is_bot": False, "first_name": "Telegram"},
            "is_automatic_forward": True,
            "forward_origin": {"type": "channel", "chat": post["chat"], "message_id": post_id,
                               "date": post["date"]},
        }  # fmt: skip
        self.messages[(group_id, message_id)] = Stored(copy, None)
        self._push_update("message", copy)

    def callback(
        self, chat_id: int, user_id: int, data: str, message_id: int, language_code: str = "en"
    ) -> str:
        """Inject a press of an inline button with `data` under a message; return the query id."""
        chat = self.chat(chat_id)
        stored = self.messages.get((chat_id, message_id))
        message = stored.obj if stored and not stored.deleted else None
        # Telegram sends an InaccessibleMessage (date 0) when it cannot show the message.
        message = message or {"message_id": message_id, "date": 0, "chat": chat.as_object()}
        self._last_callback_id += 1
        query_id = str(self._last_callback_id)
        self.open_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": user_object(user_id, language_code),
            "chat_instance": f"instance{chat_id}",
            "message": message,
            "data": data,
        }
        self._push_update("callback_query", query)
        return query_id

    def upgrade_group(
        self,
        old_id: int,
        new_id: int,
        *,
        user_id: int = _DEFAULT_USER_ID,
        service_messages: Sequence[Literal["old", "new"]] = ("old", "new"),
    ) -> None:
        """The group becomes supergroup `new_id` (`migrate_chat`), and Telegram tells the bot in
        `service_messages`, in that order: `migrate_to_chat_id` in the old chat,
        `migrate_from_chat_id` in the new one (on behalf of the old group)."""
        self.migrate_chat(old_id, new_id)
        old = self._register_chat(old_id, "group").as_object()
        said = {
            "old": (old, {"from": user_object(user_id, "en"), "migrate_to_chat_id": new_id}),
            "new": (
                self.chat(new_id).as_object(),
                {"sender_chat": old, "migrate_from_chat_id": old_id},
            ),
        }
        for chat, fields in (said[where] for where in service_messages):
            message_id = self.next_message_id(chat["id"])
            message = {"message_id": message_id, "date": int(time.time()), "chat": chat, **fields}
            self.messages[(chat["id"], message_id)] = Stored(message, None)
            self._push_update("message", message)

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember answers for this user in this chat."""
        if status not in MEMBER_TYPES:
            msg = f"status must be one of {sorted(MEMBER_TYPES)}, got {status!r}"
            raise ValueError(msg)
        self.members[(chat_id, user_id)] = status

    def add_public_chat(self, username: str, chat_id: int, chat_type: ChatType) -> None:
        """A public chat (a channel, usually) that `@username` names in chat_id parameters."""
        self._register_chat(chat_id, chat_type)
        self._usernames[username.lstrip("@").lower()] = chat_id

    def block_chat(self, chat_id: int) -> None:
        """Sends and edits to the chat answer 403 (the user blocked the bot / bot was kicked)."""
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def forget_chat(self, chat_id: int) -> None:
        """Everything about the chat answers 400 "chat not found"."""
        self._forgotten.add(chat_id)

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """The group became supergroup `new_id`: the old id answers 400 with migrate_to_chat_id."""
        self._migrated[old_id] = new_id
        self._register_chat(new_id, "supergroup")

    def set_flood_limits(self, limits: FloodLimits) -> None:
        self.flood = FloodControl(limits, self.clock)

    # -- what the bot did -----------------------------------------------------------------------

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in a chat that still exist, as last sent or edited."""
        return [
            stored.record
            for (chat, _), stored in sorted(self.messages.items())
            if chat == chat_id and stored.record is not None and not stored.deleted
        ]

    def messages_to(self, chat_id: int) -> list[str]:
        """Current plain text of each message the bot sent to a chat, edits applied."""
        return [record.text for record in self.sent_to(chat_id)]

    # -- for the Bot API methods ----------------------------------------------------------------

    def chat(self, chat_id: int) -> Chat:
        """A known chat, or a guess from the id as Telegram forms them (-100... supergroups)."""
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id > 0:
            return Chat(chat_id, "private")
        return Chat(chat_id, "supergroup" if str(chat_id).startswith("-100") else "group")

    def resolve_chat(self, value: int | str, *, sending: bool) -> Chat:
        """The chat a chat_id names, or the error Telegram would answer for it."""
        if isinstance(value, str):
            if value.startswith("@") and value[1:].lower() in self._usernames:
                value = self._usernames[value[1:].lower()]
            elif not re.fullmatch(r"-?\d+", value):  # only @usernames from add_public_chat
                raise bad_request("chat not found")
            else:
                value = int(value)
        if value in self._forgotten:
            raise bad_request("chat not found")
        if value in self._migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[value]},
            )
        chat = self.chat(value)
        if sending and value in self._blocked:
            raise ApiError(403, _FORBIDDEN[chat.type])
        return chat

    def next_message_id(self, chat_id: int) -> int:
        """Message ids count up per chat, shared by the bot's and the users' messages."""
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def confirm_updates(self, offset: int) -> None:
        """An offset confirms every update before it; a negative one keeps only the last few."""
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]

    def deliverable_updates(self, limit: int) -> list[dict[str, Any]]:
        # Telegram does not keep updates of types the bot did not ask for.
        self.updates = [u for u in self.updates if _update_kind(u) in self.allowed_updates]
        return self.updates[:limit]

    def _register_chat(self, chat_id: int, chat_type: ChatType) -> Chat:
        if (chat_type == "private") != (chat_id > 0):
            msg = f"private chats have positive ids, other chats negative: {chat_type} {chat_id}"
            raise ValueError(msg)
        self._chats[chat_id] = Chat(chat_id, chat_type)
        return self._chats[chat_id]

    def _default_user(self, chat: Chat) -> int:
        return chat.id if chat.type == "private" else _DEFAULT_USER_ID

    def _push_update(self, kind: str, payload: dict[str, Any]) -> None:
        self._last_update_id += 1
        self.updates.append({"update_id": self._last_update_id, kind: payload})
        self.changes.notify()


def user_object(user_id: int, language_code: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": "Test",
        "username": f"user{user_id}",
        "language_code": language_code,
    }


def bot_object(bot_id: int) -> dict[str, Any]:
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": "Transit Watch (test)",
        "username": "transit_watch_test_bot",
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


def _update_kind(update: dict[str, Any]) -> str:
    return next(key for key in update if key != "update_id")
