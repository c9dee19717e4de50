"""The Bot API methods the fake implements, answered against a `TelegramWorld`.

Each handler gets parameters already checked and typed by the schema (`botapi_schema`) and either
returns the `result` Telegram would return or raises `ApiError` with Telegram's answer. Rules on
text, entities and keyboards come from `botapi_rules`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from tests.fakes.botapi_rules import (
    ApiError,
    bad_request,
    check_inline_keyboard,
    message_text,
    utf16_len,
)
from tests.fakes.botapi_schema import BotApiSchema
from tests.fakes.botapi_world import (
    DEFAULT_ALLOWED_UPDATES,
    MEMBER_TYPES,
    Chat,
    SentMessage,
    Stored,
    TelegramWorld,
    Upload,
    bot_object,
    user_object,
)

MAX_CAPTION_LENGTH = 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_MAX_COMMANDS = 100
_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


@dataclass(frozen=True)
class Call:
    """One Bot API call: canonical method name, typed parameters, id of the calling bot."""

    method: str
    params: dict[str, Any]
    bot_id: int
    files: dict[str, Upload] = field(default_factory=dict)  # multipart uploads by field name


Handler = Callable[[Call], Awaitable[Any]]


class BotApiMethods:
    """Handlers by lower-case method name (`handlers`), sharing one world."""

    def __init__(self, world: TelegramWorld, schema: BotApiSchema, closing: Callable[[], bool]):
        self.world = world
        self.schema = schema
        self._closing = closing  # long polls answer at once while the server shuts down
        self._poll_generation = 0
        self.handlers: dict[str, Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "senddocument": self._send_document,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "sendchataction": self._true,
            "answercallbackquery": self._answer_callback_query,
            "getchatmember": self._get_chat_member,
            "getchat": self._get_chat,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "close": self._true,
            "logout": self._true,
        }

    async def _true(self, call: Call) -> bool:
        return True

    async def _get_me(self, call: Call) -> dict[str, Any]:
        return bot_object(call.bot_id)

    # -- updates --------------------------------------------------------------------------------

    async def _get_updates(self, call: Call) -> list[dict[str, Any]]:
        """Long polling: answer as soon as there is an update, or after `timeout` seconds."""
        params, world = call.params, self.world
        if "allowed_updates" in params:  # a setting that persists; empty means the default
            world.allowed_updates = frozenset(params["allowed_updates"]) or DEFAULT_ALLOWED_UPDATES
        offset = params.get("offset", 0)
        limit = min(max(params.get("limit", 100), 1), 100)
        self._poll_generation += 1
        generation = self._poll_generation
        world.changes.notify()  # an older poll still waiting must learn it was superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(params.get("timeout", 0), 0)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, _CONFLICT)
            world.confirm_updates(offset)
            batch = world.deliverable_updates(limit)
            remaining = deadline - loop.time()
            if batch or self._closing() or remaining <= 0:
                return batch
            await world.changes.wait(remaining)

    async def _delete_webhook(self, call: Call) -> bool:
        if call.params.get("drop_pending_updates"):
            self.world.updates.clear()
        return True

    async def _get_webhook_info(self, call: Call) -> dict[str, Any]:
        pending = len(self.world.updates)
        return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}

    # -- messages -------------------------------------------------------------------------------

    async def _send_message(self, call: Call) -> dict[str, Any]:
        params, world = call.params, self.world
        text, entities = message_text(
            params["text"], params.get("parse_mode"), params.get("entities")
        )
        check_inline_keyboard(params.get("reply_markup"))
        chat = world.resolve_chat(params["chat_id"], sending=True)
        self._check_reply_target(chat.id, params.get("reply_parameters"))
        world.flood.admit(chat.id)
        record = SentMessage(
            method=call.method,
            chat_id=chat.id,
            message_id=world.next_message_id(chat.id),
            text=text,
            entities=entities,
            raw_text=params["text"],
            parse_mode=params.get("parse_mode"),
            reply_markup=params.get("reply_markup"),
            message_thread_id=params.get("message_thread_id"),
            disable_notification=params.get("disable_notification", False),
            link_preview_options=params.get("link_preview_options"),
            edited=False,
        )
        obj = _message_object(chat, record, call.bot_id)
        world.sent.append(record)
        world.messages[(chat.id, record.message_id)] = Stored(obj, record)
        return obj

    async def _send_document(self, call: Call) -> dict[str, Any]:
        """Only uploads (multipart, "attach://<field>") are accepted: the fake keeps no file ids,
        so a file_id or URL is answered as Telegram answers an unknown one."""
        params, world = call.params, self.world
        upload = _upload(params["document"], call.files)
        caption, entities = "", list[dict[str, Any]]()
        if params.get("caption"):
            caption, entities = message_text(
                params["caption"], params.get("parse_mode"), params.get("caption_entities")
            )
            if utf16_len(caption) > MAX_CAPTION_LENGTH:  # counted like a message's text
                raise bad_request("message caption is too long")
        check_inline_keyboard(params.get("reply_markup"))
        chat = world.resolve_chat(params["chat_id"], sending=True)
        self._check_reply_target(chat.id, params.get("reply_parameters"))
        world.flood.admit(chat.id)
        record = SentMessage(
            method=call.method,
            chat_id=chat.id,
            message_id=world.next_message_id(chat.id),
            text=caption,
            entities=entities,
            raw_text=params.get("caption", ""),
            parse_mode=params.get("parse_mode"),
            reply_markup=params.get("reply_markup"),
            message_thread_id=params.get("message_thread_id"),
            disable_notification=params.get("disable_notification", False),
            link_preview_options=None,
            edited=False,
            document=upload,
        )
        obj = _message_object(chat, record, call.bot_id)
        world.sent.append(record)
        world.messages[(chat.id, record.message_id)] = Stored(obj, record)
        return obj

    def _check_reply_target(self, chat_id: int, reply: dict[str, Any] | None) -> None:
        if reply is None or reply.get("allow_sending_without_reply"):
            return
        target = self.world.messages.get((reply.get("chat_id", chat_id), reply["message_id"]))
        if target is None or target.deleted:
            raise bad_request("message to be replied not found")

    async def _edit_message_text(self, call: Call) -> dict[str, Any]:
        params = call.params
        chat, stored, old = self._editable(params)
        if "text" not in params:
            raise bad_request("message text is empty")
        text, entities = message_text(
            params["text"], params.get("parse_mode"), params.get("entities")
        )
        # Telegram drops the keyboard of an edited message unless the edit passes it again.
        check_inline_keyboard(params.get("reply_markup"))
        record = replace(
            old,
            method=call.method,
            text=text,
            entities=entities,
            raw_text=params["text"],
            parse_mode=params.get("parse_mode"),
            reply_markup=params.get("reply_markup"),
            link_preview_options=params.get("link_preview_options"),
            edited=True,
        )
        return self._apply_edit(chat, stored, record, call.bot_id)

    async def _edit_message_reply_markup(self, call: Call) -> dict[str, Any]:
        chat, stored, old = self._editable(call.params)
        markup = call.params.get("reply_markup")
        check_inline_keyboard(markup)
        record = replace(old, method=call.method, reply_markup=markup, edited=True)
        return self._apply_edit(chat, stored, record, call.bot_id)

    def _editable(self, params: dict[str, Any]) -> tuple[Chat, Stored, SentMessage]:
        """The bot's own message an edit names, or Telegram's error for it."""
        if "inline_message_id" in params:
            raise bad_request("inline messages are not supported by the fake Bot API")
        if "chat_id" not in params or "message_id" not in params:
            raise bad_request("message identifier is not specified")
        chat = self.world.resolve_chat(params["chat_id"], sending=True)
        stored = self.world.messages.get((chat.id, params["message_id"]))
        if stored is None or stored.deleted:
            raise bad_request("message to edit not found")
        if stored.record is None:
            raise bad_request("message can't be edited")
        return chat, stored, stored.record

    def _apply_edit(
        self, chat: Chat, stored: Stored, record: SentMessage, bot_id: int
    ) -> dict[str, Any]:
        old = stored.record
        if old is not None and (record.text, record.entities, record.reply_markup) == (
            old.text,
            old.entities,
            old.reply_markup,
        ):
            raise bad_request(_NOT_MODIFIED)
        stored.obj = _message_object(chat, record, bot_id)
        stored.record = record
        self.world.sent.append(record)
        return stored.obj

    async def _delete_message(self, call: Call) -> bool:
        chat = self.world.resolve_chat(call.params["chat_id"], sending=False)
        stored = self.world.messages.get((chat.id, call.params["message_id"]))
        if stored is None or stored.deleted:
            raise bad_request("message to delete not found")
        stored.deleted = True
        return True

    async def _answer_callback_query(self, call: Call) -> bool:
        query_id = call.params["callback_query_id"]
        if query_id not in self.world.open_callbacks:  # unknown, or answered already
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self.world.open_callbacks.discard(query_id)
        self.world.answered_callbacks.append(dict(call.params))
        return True

    # -- chats ----------------------------------------------------------------------------------

    async def _get_chat(self, call: Call) -> dict[str, Any]:
        chat = self.world.resolve_chat(call.params["chat_id"], sending=False)
        return self.schema.build("ChatFullInfo", **chat.as_object(), max_reaction_count=11)

    async def _get_chat_member(self, call: Call) -> dict[str, Any]:
        chat = self.world.resolve_chat(call.params["chat_id"], sending=False)
        user_id = call.params["user_id"]
        bot_status = self.world.members.get((chat.id, call.bot_id))
        if chat.type == "channel" and user_id != call.bot_id and bot_status != "administrator":
            # Telegram shows a channel's members only to its admins.
            raise bad_request("member list is inaccessible")
        default = "creator" if chat.type == "private" else "member"
        status = self.world.members.get((chat.id, user_id), default)
        type_name = MEMBER_TYPES[status]
        user = bot_object(user_id) if user_id == call.bot_id else user_object(user_id, "en")
        member = self.schema.build(type_name, status=status, user=user)
        if status == "administrator":
            for field in self.schema.types[type_name].fields:
                if field.name.startswith("can_") and field.types == ("Boolean",):
                    member[field.name] = True
            # aiogram 3.31 requires this one although the schema (Bot API 10.1) lacks it.
            member.setdefault("can_send_welcome_messages", True)
        if status == "restricted":
            member["is_member"] = True
        return member

    # -- commands -------------------------------------------------------------------------------

    async def _set_my_commands(self, call: Call) -> bool:
        commands = call.params["commands"]
        if len(commands) > _MAX_COMMANDS:
            raise bad_request("too many commands")
        for command in commands:
            if not _COMMAND_NAME.fullmatch(command["command"]):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.world.commands[_commands_key(call.params)] = commands
        return True

    async def _get_my_commands(self, call: Call) -> list[dict[str, Any]]:
        return self.world.commands.get(_commands_key(call.params), [])

    async def _delete_my_commands(self, call: Call) -> bool:
        self.world.commands.pop(_commands_key(call.params), None)
        return True


def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
    """Commands are kept per scope and language, as Telegram keeps them."""
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), params.get("language_code", "")


def _upload(value: Any, files: dict[str, Upload]) -> Upload:
    if not isinstance(value, str) or not value.startswith("attach://"):
        raise bad_request("wrong file identifier/HTTP URL specified")
    upload = files.get(value.removeprefix("attach://"))
    if upload is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if not upload.data:
        raise bad_request("file must be non-empty")
    if len(upload.data) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "Request Entity Too Large")
    return upload


def _message_object(chat: Chat, record: SentMessage, bot_id: int) -> dict[str, Any]:
    """The Message Telegram returns for a message the bot sent or edited."""
    obj: dict[str, Any] = {
        "message_id": record.message_id,
        "date": int(time.time()),
        "chat": chat.as_object(),
    }
    if record.document is None:
        obj["text"] = record.text
    else:
        obj["document"] = {
            "file_id": f"doc{chat.id}_{record.message_id}",
            "file_unique_id": f"u{chat.id}_{record.message_id}",
            "file_name": record.document.filename,
            "mime_type": record.document.content_type,
            "file_size": len(record.document.data),
        }
    if chat.type == "channel":
        obj["sender_chat"] = chat.as_object()
    else:
        obj["from"] = bot_object(bot_id)
    if record.document is not None and record.text:
        obj["caption"] = record.text
        if record.entities:
            obj["caption_entities"] = record.entities
    elif record.entities:
        obj["entities"] = record.entities
    # Messages carry only inline keyboards; reply keyboards live on the user's side.
    if record.reply_markup and "inline_keyboard" in record.reply_markup:
        obj["reply_markup"] = record.reply_markup
    if record.message_thread_id is not None:
        obj["message_thread_id"] = record.message_thread_id
    if record.edited:
        obj["edit_date"] = int(time.time())
    return obj
