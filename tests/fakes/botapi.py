"""A fake Telegram Bot API server for tests: aiohttp on 127.0.0.1, on a free port.

The real bot talks to it exactly as to Telegram (`POST {base}/bot{token}/{method}`), in-process
(aiogram `Bot` with `TelegramAPIServer.from_base(api.base_url)`) or from a subprocess
(`TELEGRAM_API_URL=api.base_url`).

Every request is checked against the official schema (`botapi_schema`) and Telegram's rules
(`botapi_rules`); a schema violation answers 400 and is kept in `violations`, so a test can end
with `api.assert_no_violations()`. Tests inject user messages and button presses, read what the
bot sent and wait for it (`botapi_world.TelegramWorld`, which `FakeBotAPI` extends), and make
Telegram misbehave: `fail_next`, `block_chat`, `forget_chat`, `migrate_chat`, `set_random_5xx`,
`outage`, `retry_all_after`, `delay_answers`, `set_flood_limits`.

    async with FakeBotAPI() as api:
        server = TelegramAPIServer.from_base(api.base_url)
        bot = Bot(api.token, session=AiohttpSession(api=server))
        api.user_message(42, "/start")
        await api.wait_for_messages(42, 1)
        api.assert_no_violations()
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

from aiohttp import web

from tests.fakes.botapi_methods import BotApiMethods, Call
from tests.fakes.botapi_rules import ApiError, FloodLimits, bad_request
from tests.fakes.botapi_schema import BotApiSchema, MethodSpec
from tests.fakes.botapi_world import (
    MEMBER_TYPES,
    ChatType,
    SentMessage,
    TelegramWorld,
    Upload,
    bot_object,
    user_object,
)

__all__ = [
    "ApiError", "ErrorAnswer", "FakeBotAPI", "FloodLimits", "SentMessage", "Upload", "Violation",
]  # fmt: skip

DEFAULT_TOKEN = "1234567890:AAFakeTokenForTransitWatchTests_0000"
# What aiogram needs beyond the schema's required fields (3.31 wants this one; Bot API 10.1
# lacks it), and a ban's end (0: forever).
_MEMBER_EXTRAS: dict[str, dict[str, Any]] = {
    "administrator": {"can_send_welcome_messages": False},
    "kicked": {"until_date": 0},
}
_TOKEN = re.compile(r"(\d+):[A-Za-z0-9_-]{30,}")


@dataclass(frozen=True)
class Violation:
    """A request that broke the Bot API schema (or called a method the fake lacks)."""

    method: str
    problem: str
    params: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method}: {self.problem} (params {self.params})"


@dataclass(frozen=True)
class ErrorAnswer:
    """Any error the fake answered, schema violation or not; handy when a test fails."""

    method: str
    error_code: int
    description: str


@dataclass
class _Failure:
    error: ApiError
    times: int
    after: int = 0  # calls that succeed first


@dataclass
class _Misbehaviour:
    """Failures tests asked for that hit every method, not particular chats."""

    failures: dict[str, list[_Failure]] = field(default_factory=dict)
    random_5xx_rate: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    outage: Literal["off", "502", "html", "drop"] = "off"
    retry_until: float = 0.0
    answer_delay: dict[str, float] = field(default_factory=dict)


class FakeBotAPI(TelegramWorld):
    """The fake server and its test-facing controls; see the module docstring."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        flood: FloodLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        schema_path: Path | None = None,
    ) -> None:
        super().__init__(flood, clock)
        self.token = token
        self.schema = BotApiSchema.load(schema_path)
        self.violations: list[Violation] = []
        self.errors: list[ErrorAnswer] = []
        self.calls: Counter[str] = Counter()
        self.count_429 = 0
        self._mis = _Misbehaviour()
        self._closing = False
        self._methods = BotApiMethods(self, self.schema, lambda: self._closing)
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._base_url = f"http://{host}:{port}"

    async def close(self) -> None:
        self._closing = True  # long polls answer at once instead of holding the shutdown
        self.changes.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`, for `TelegramAPIServer.from_base` or TELEGRAM_API_URL."""
        if self._base_url is None:
            msg = "FakeBotAPI is not started: use `async with FakeBotAPI()` or `await start()`"
            raise RuntimeError(msg)
        return self._base_url

    # -- waiting and checking -------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a deadline for the condition, not for one awaited call
        """Return once `predicate()` holds; it is re-checked after every request and injection."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                msg = (
                    f"condition not met within {timeout}s; calls: {dict(self.calls)}; "
                    f"last errors: {self.errors[-5:]}"
                )
                raise TimeoutError(msg)
            await self.changes.wait(remaining)

    async def wait_for_messages(self, chat_id: int, n: int, timeout: float = 10.0) -> list[str]:  # noqa: ASYNC109 - as wait_for
        """Wait until the bot has `n` messages in the chat; return their texts."""
        await self.wait_for(lambda: len(self.messages_to(chat_id)) >= n, timeout)
        return self.messages_to(chat_id)

    def assert_no_violations(self) -> None:
        if self.violations:
            listed = "\n  ".join(str(v) for v in self.violations)
            msg = f"{len(self.violations)} Bot API violation(s):\n  {listed}"
            raise AssertionError(msg)

    # -- what chat admins and users do to the bot -----------------------------------------------

    def change_bot_status(
        self,
        chat_id: int,
        status: str,
        *,
        chat_type: ChatType = "private",
        user_id: int | None = None,
    ) -> None:
        """A user blocks or unblocks the bot ("kicked", "member"), an admin removes or adds it
        ("left", "member", "administrator"): getChatMember and sends answer accordingly, and
        Telegram sends the bot its my_chat_member update."""
        chat = self._register_chat(chat_id, chat_type)
        bot_id = int(self.token.split(":")[0])
        old = self.members.get((chat_id, bot_id), "member")
        self.set_member_status(chat_id, bot_id, status)
        (self.block_chat if status in {"kicked", "left"} else self.unblock_chat)(chat_id)
        bot = bot_object(bot_id)
        members = {
            key: self.schema.build(
                MEMBER_TYPES[value],
                status=value,
                user=bot,
                **_MEMBER_EXTRAS.get(value, {}),
            )
            for key, value in (("old_chat_member", old), ("new_chat_member", status))
        }
        update = {
            "chat": chat.as_object(),
            "from": user_object(user_id or self._default_user(chat), "en"),
            "date": int(time.time()),
        }
        self._push_update("my_chat_member", {**update, **members})

    # -- making Telegram misbehave --------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        parameters: dict[str, Any] | None = None,
        times: int = 1,
        *,
        after: int = 0,
    ) -> None:
        """The next `times` calls of `method` (any case), once `after` more have succeeded,
        answer this error."""
        error = ApiError(error_code, description, parameters)
        self._mis.failures.setdefault(method.lower(), []).append(_Failure(error, times, after))

    def clear_failures(self) -> None:
        """Drop every failure `fail_next` queued that has not happened yet."""
        self._mis.failures.clear()

    def set_random_5xx(self, rate: float, seed: int = 0) -> None:
        """Answer a share `rate` of all requests with a 5xx, reproducibly for a given seed."""
        self._mis.random_5xx_rate = rate
        self._mis.rng = random.Random(seed)

    def outage(self, on: bool, *, drop_connection: bool = False, html: bool = False) -> None:
        """While on, every request answers 502 Bad Gateway, or has its connection dropped, or
        (`html`) gets a proxy's HTML error page instead of Telegram's JSON."""
        kind: Literal["502", "html", "drop"] = (
            "drop" if drop_connection else "html" if html else "502"
        )
        self._mis.outage = kind if on else "off"

    def delay_answers(self, method: str, seconds: float) -> None:
        """Calls of `method` take effect at once but are answered `seconds` later, like a slow
        network: meanwhile the bot cannot know that its message went out."""
        self._mis.answer_delay[method.lower()] = seconds

    def retry_all_after(self, seconds: float) -> None:
        """For `seconds` (of the server's clock) every request answers 429 with retry_after."""
        self._mis.retry_until = self.clock() + seconds

    # -- HTTP -----------------------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        return _error_response(ApiError(404, "Not Found"))

    def _outage_reply(self, request: web.Request) -> web.StreamResponse | None:
        if self._mis.outage == "drop" and request.transport is not None:
            request.transport.close()
            return web.Response(status=502)
        if self._mis.outage == "502":
            return self._reply_error("?", ApiError(502, "Bad Gateway"))
        if self._mis.outage == "html":
            page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            return web.Response(status=502, text=page, content_type="text/html")
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if (outage := self._outage_reply(request)) is not None:
            return outage
        token_match = _TOKEN.fullmatch(request.match_info["token"])
        if not token_match:
            return self._reply_error("?", ApiError(401, "Unauthorized"))
        spec = self.schema.method(request.match_info["method"])
        if spec is None:
            return self._reply_error("?", ApiError(404, "Not Found: method not found"))
        self.calls[spec.name] += 1
        try:
            result = await self._call(spec, request, int(token_match.group(1)))
        except ApiError as error:
            return self._reply_error(spec.name, error)
        finally:
            self.changes.notify()
        delay = self._mis.answer_delay.get(spec.name.lower(), 0.0)
        if delay > 0 and not self._closing:
            await asyncio.sleep(delay)
        return web.json_response({"ok": True, "result": result})

    async def _call(self, spec: MethodSpec, request: web.Request, bot_id: int) -> Any:
        raw, files = await _read_params(request)
        params, problems = self.schema.check_call(spec, raw)
        if problems:
            self.violations.extend(Violation(spec.name, str(p), raw) for p in problems)
            raise bad_request("; ".join(str(p) for p in problems))
        self._misbehave(spec.name.lower())
        handler = self._methods.handlers.get(spec.name.lower())
        if handler is None:
            problem = "is a real Bot API method, but the fake does not implement it"
            self.violations.append(Violation(spec.name, problem, raw))
            raise bad_request(f"{spec.name} {problem}")
        return await handler(Call(spec.name, params, bot_id, files))

    def _misbehave(self, method: str) -> None:
        mis, now = self._mis, self.clock()
        if now < mis.retry_until:
            retry_after = max(1, math.ceil(mis.retry_until - now))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        if mis.random_5xx_rate > 0 and mis.rng.random() < mis.random_5xx_rate:
            code, text = mis.rng.choice([(500, "Internal Server Error"), (502, "Bad Gateway")])
            raise ApiError(code, text)
        queue = mis.failures.get(method)
        if queue:
            failure = queue[0]
            if failure.after > 0:
                failure.after -= 1
                return
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
            raise failure.error

    def _reply_error(self, method: str, error: ApiError) -> web.Response:
        self.errors.append(ErrorAnswer(method, error.error_code, error.description))
        if error.error_code == 429:
            self.count_429 += 1
        return _error_response(error)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Query string, then the body: JSON, form-encoded or multipart. Uploaded files are returned
    apart, by their form field name, which a parameter names as "attach://<field>"."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if not request.can_read_body:
        return params, files
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("JSON object expected")
        params.update(body)
        return params, files
    form = await request.post()  # empty for other content types, which Telegram ignores too
    for key, value in form.items():
        if isinstance(value, str):
            params[key] = value
        elif isinstance(value, web.FileField):
            files[key] = Upload(value.filename, value.content_type, value.file.read())
        else:
            params[key] = value.decode() if isinstance(value, bytes) else str(value)
    return params, files


def _error_response(error: ApiError) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.error_code,
        "description": error.description,
    }
    headers = {}
    if error.parameters:
        body["parameters"] = error.parameters
        if "retry_after" in error.parameters:
            headers["Retry-After"] = str(error.parameters["retry_after"])
    return web.json_response(body, status=error.error_code, headers=headers)
