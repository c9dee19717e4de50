"""Telegram's rules beyond the schema, as the fake Bot API server enforces them.

- `ApiError`: an error answer (`error_code`, `description`, optional `parameters`).
- `message_text`: parse_mode HTML (only Telegram's tags, `<`, `>`, `&` escaped), a MarkdownV2
  subset (plain text with escapes), or explicit `entities`; then the 1..4096 length rule. Entity
  offsets and lengths are UTF-16 code units, as in the Bot API.
- `check_inline_keyboard`: one action per button, callback_data 1..64 bytes, http(s)/tg URLs.
- `FloodControl`: token buckets per chat and overall, answering 429 with retry_after.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
ENTITY_TYPES = frozenset(
    {
        "mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number",
        "bold", "italic", "underline", "strikethrough", "spoiler", "blockquote",
        "expandable_blockquote", "code", "pre", "text_link", "text_mention", "custom_emoji",
        "date_time",
    }
)  # fmt: skip
# Entity types that are meaningless without one more field.
_ENTITY_NEEDS = {
    "text_link": "url",
    "text_mention": "user",
    "custom_emoji": "custom_emoji_id",
    "date_time": "unix_time",
}
_SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "code": "code", "pre": "pre",
}  # fmt: skip
_ALL_TAGS = frozenset({*_SIMPLE_TAGS, "a", "span", "tg-emoji", "tg-time", "blockquote"})
_HTML_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTRIBUTE = re.compile(r"""\s*([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_MENTION_HREF = re.compile(r"tg://user\?id=(\d+)")
_MARKDOWN_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MARKDOWN_V2_FORMATTING = frozenset("_*[]~`|")
_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
_BUTTON_URL_SCHEMES = ("http://", "https://", "tg://")


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# -- message text -----------------------------------------------------------------------------


def message_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None
) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of a message, or ApiError as Telegram would answer."""
    if entities is not None:  # Telegram ignores parse_mode when entities are given
        check_entities(text, entities)
        plain, parsed = text, entities
    elif parse_mode is None or parse_mode == "":
        plain, parsed = text, []
    elif parse_mode.lower() == "html":
        plain, parsed = parse_html(text)
    elif parse_mode.lower() == "markdownv2":
        plain, parsed = parse_markdown_v2(text), []
    elif parse_mode.lower() == "markdown":
        raise bad_request("can't parse entities: legacy Markdown is not supported by the fake")
    else:
        raise bad_request("unsupported parse_mode")
    if not plain.strip():
        raise bad_request("message text is empty")
    if len(plain) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return plain, parsed


def check_entities(text: str, entities: list[dict[str, Any]]) -> None:
    """Explicit entities must be known, complete and inside the text (in UTF-16 units)."""
    units = text.encode("utf-16-le")
    for number, entity in enumerate(entities):
        kind, offset, length = entity["type"], entity["offset"], entity["length"]
        where = f"entity #{number} ({kind}, offset {offset}, length {length})"
        if kind not in ENTITY_TYPES:
            raise bad_request(f"can't parse entities: {where} has an unsupported type")
        needed = _ENTITY_NEEDS.get(kind)
        if needed and not entity.get(needed):
            raise bad_request(f"can't parse entities: {where} needs {needed}")
        if offset < 0 or length <= 0 or offset + length > len(units) // 2:
            raise bad_request(f"can't parse entities: {where} is outside the text")
        if _splits_surrogate(units, offset) or _splits_surrogate(units, offset + length):
            raise bad_request(f"can't parse entities: {where} cuts a character in half")


def _splits_surrogate(units: bytes, index: int) -> bool:
    """True if UTF-16 unit `index` is the low half of a surrogate pair."""
    if index * 2 >= len(units):
        return False
    unit = int.from_bytes(units[index * 2 : index * 2 + 2], "little")
    return 0xDC00 <= unit <= 0xDFFF


@dataclass
class _OpenTag:
    name: str
    offset: int  # UTF-16 units of plain text before the tag
    entity: dict[str, Any] | None  # None: the tag makes no entity of its own
    children: list[str] = field(default_factory=list)


class _HtmlParser:
    """Telegram's HTML subset: a strict, single pass over the text."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out: list[str] = []
        self.length = 0  # UTF-16 units written to `out`
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        i = 0
        while i < len(self.source):
            char = self.source[i]
            if char == "<":
                i = self._tag(i)
            elif char == "&":
                i = self._entity(i)
            elif char == ">":
                self._fail('unescaped ">" must be written as &gt;', i)
            else:
                self._write(char)
                i += 1
        if self.stack:
            self._fail(f'can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def _fail(self, problem: str, index: int | None = None) -> NoReturn:
        where = "" if index is None else f" at byte offset {len(self.source[:index].encode())}"
        raise bad_request(f"can't parse entities: {problem}{where}")

    def _write(self, text: str) -> None:
        self.out.append(text)
        self.length += utf16_len(text)

    def _entity(self, i: int) -> int:
        match = _HTML_ENTITY.match(self.source, i)
        if not match:
            self._fail('unescaped "&" must be written as &amp;', i)
        decoded = _decode_reference(match)
        if decoded is None:
            self._fail("invalid character reference", i)
        self._write(decoded)
        return match.end()

    def _tag(self, i: int) -> int:
        end = self.source.find(">", i)
        if end < 0:
            self._fail('unclosed tag, or unescaped "<" (write &lt;)', i)
        inside = self.source[i + 1 : end]
        if inside.startswith("/"):
            self._close(inside[1:].strip().lower(), i)
        else:
            self._open(inside, i)
        return end + 1

    def _open(self, inside: str, i: int) -> None:
        name_match = _TAG_NAME.match(inside)
        if not name_match:
            self._fail('unescaped "<" must be written as &lt;', i)
        name = name_match.group().lower()
        if name not in _ALL_TAGS:
            self._fail(f'unsupported start tag "{name}"', i)
        attributes = self._attributes(inside[name_match.end() :], i)
        entity = self._entity_for(name, attributes, i)
        if self.stack:
            self.stack[-1].children.append(name)
        self.stack.append(_OpenTag(name, self.length, entity))

    def _attributes(self, text: str, i: int) -> dict[str, str]:
        attributes: dict[str, str] = {}
        position = 0
        text = text.rstrip()
        while position < len(text):
            match = _ATTRIBUTE.match(text, position)
            if not match or match.end() == position:
                self._fail("malformed tag attributes", i)
            value = next((g for g in match.groups()[1:] if g is not None), "")
            attributes[match.group(1).lower()] = parse_html_attribute(value)
            position = match.end()
        return attributes

    def _entity_for(self, name: str, attrs: dict[str, str], i: int) -> dict[str, Any] | None:
        if name in _SIMPLE_TAGS:
            if name == "code" and self.stack and self.stack[-1].name == "pre":
                language = attrs.get("class", "").removeprefix("language-")
                pre = self.stack[-1].entity
                if pre is not None and language:
                    pre["language"] = language
                    return None
            return {"type": _SIMPLE_TAGS[name]}
        if name == "span":
            if attrs.get("class") != "tg-spoiler":
                self._fail('tag "span" must have class "tg-spoiler"', i)
            return {"type": "spoiler"}
        if name == "blockquote":
            return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
        return self._entity_with_attribute(name, attrs, i)

    def _entity_with_attribute(self, name: str, attrs: dict[str, str], i: int) -> dict[str, Any]:
        if name == "a":
            mention = _MENTION_HREF.fullmatch(attrs.get("href", ""))
            if mention:
                user = {"id": int(mention.group(1)), "is_bot": False, "first_name": "User"}
                return {"type": "text_mention", "user": user}
            if not attrs.get("href"):
                self._fail('tag "a" needs an href', i)
            return {"type": "text_link", "url": attrs["href"]}
        if name == "tg-emoji":
            if not attrs.get("emoji-id"):
                self._fail('tag "tg-emoji" needs an emoji-id', i)
            return {"type": "custom_emoji", "custom_emoji_id": attrs["emoji-id"]}
        unix = attrs.get("unix", "")  # tg-time
        if not unix.isdigit():
            self._fail('tag "tg-time" needs a numeric unix attribute', i)
        entity: dict[str, Any] = {"type": "date_time", "unix_time": int(unix)}
        if "format" in attrs:
            entity["date_time_format"] = attrs["format"]
        return entity

    def _close(self, name: str, i: int) -> None:
        if not self.stack:
            self._fail(f'unexpected end tag "{name}"', i)
        opened = self.stack.pop()
        if opened.name != name:
            self._fail(f'unmatched end tag, expected "</{opened.name}>", found "</{name}>"', i)
        length = self.length - opened.offset
        if opened.entity is not None and length > 0:  # Telegram drops empty entities
            self.entities.append({**opened.entity, "offset": opened.offset, "length": length})


def _decode_reference(match: re.Match[str]) -> str | None:
    """The character an `&...;` reference stands for; None if it is out of Unicode."""
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(code) if 0 < code <= 0x10FFFF else None


def parse_html_attribute(value: str) -> str:
    """Attribute values may hold the same character references as text."""
    return _HTML_ENTITY.sub(lambda m: _decode_reference(m) or m.group(), value)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of `text` in parse_mode HTML, or "can't parse entities"."""
    return _HtmlParser(text).parse()


def parse_markdown_v2(text: str) -> str:
    """MarkdownV2 that formats nothing: escapes resolved; formatting is beyond the fake."""
    out: list[str] = []
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _MARKDOWN_V2_FORMATTING:
            raise bad_request(
                f"can't parse entities: MarkdownV2 formatting ({char!r} at offset {index}) "
                "is not supported by the fake Bot API; use HTML or entities"
            )
        elif char in _MARKDOWN_V2_RESERVED:
            raise bad_request(
                f"can't parse entities: Character '{char}' is reserved and must be escaped "
                "with the preceding '\\'"
            )
        else:
            out.append(char)
    return "".join(out)


# -- keyboards --------------------------------------------------------------------------------


def check_inline_keyboard(markup: dict[str, Any] | None) -> None:
    """Every inline button does exactly one thing, with valid callback data and URLs."""
    if not markup or "inline_keyboard" not in markup:
        return
    for row in markup["inline_keyboard"]:
        for button in row:
            _check_button(button)


def _check_button(button: dict[str, Any]) -> None:
    actions = [name for name in _BUTTON_ACTIONS if name in button]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(f"can't parse inline keyboard button: more than one of {actions}")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not url.lower().startswith(_BUTTON_URL_SCHEMES):
        raise bad_request(
            f"inline keyboard button URL '{url}' is invalid: Unsupported URL protocol"
        )


# -- flood control ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FloodLimits:
    """Message rates the fake enforces; the defaults are Telegram's documented ones."""

    global_per_s: float = 30.0
    private_per_s: float = 1.0
    private_burst: int = 3
    group_per_min: float = 20.0
    enabled: bool = True

    @classmethod
    def off(cls) -> FloodLimits:
        return cls(enabled=False)


class _Bucket:
    def __init__(self, capacity: float, per_second: float, now: float) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.tokens = capacity
        self.stamp = now

    def wait(self, now: float) -> float:
        """Seconds until one token is there; refills first."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.per_second

    def take(self) -> None:
        self.tokens -= 1


class FloodControl:
    """Admits a message or raises 429; a refused message costs nothing, as with Telegram."""

    def __init__(self, limits: FloodLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        now = clock()
        self._global = _Bucket(limits.global_per_s, limits.global_per_s, now)
        self._chats: dict[int, _Bucket] = {}

    def admit(self, chat_id: int) -> None:
        if not self.limits.enabled:
            return
        now = self._clock()
        buckets = [self._global, self._chat_bucket(chat_id, now)]
        wait = max(bucket.wait(now) for bucket in buckets)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for bucket in buckets:
            bucket.take()

    def _chat_bucket(self, chat_id: int, now: float) -> _Bucket:
        if chat_id not in self._chats:
            limits = self.limits
            if chat_id > 0:
                bucket = _Bucket(limits.private_burst, limits.private_per_s, now)
            else:  # negative ids are groups, supergroups and channels
                bucket = _Bucket(limits.group_per_min, limits.group_per_min / 60, now)
            self._chats[chat_id] = bucket
        return self._chats[chat_id]
