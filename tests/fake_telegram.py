"""A small fake of the Telegram Bot API, for tests.

`FakeBotApi` answers the methods the bot uses and records every call. It is
reached two ways: in-process through `RecordingRequest` (a PTB request object,
for handler tests), or over real HTTP through `FakeBotApiServer` (a threaded
HTTP server on 127.0.0.1, for end-to-end tests of `coach run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from telegram.request import BaseRequest, RequestData

from tests.helpers import assert_telegram_html

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Coach", "username": "channel_coach_test_bot"}
TOKEN = "123456:TEST-token-for-the-fake-bot-api-abcdef"
INT_FIELDS = {"chat_id", "message_id", "offset", "timeout", "limit"}
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "link_preview_options", "scope", "entities",
               "reply_parameters"}  # fmt: skip
CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
                "upload_document", "choose_sticker", "find_location", "record_video_note",
                "upload_video_note"}  # fmt: skip
EDITABLE_FOR = 48 * 3600  # seconds: Telegram refuses to edit an older message of the bot


class FakeBotApi:
    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.updates: list[dict] = []  # not yet confirmed by an offset
        self.polls = 0  # getUpdates calls (not kept in `calls`: there are many)
        self.pushed: list[int] = []  # the id of every update pushed, redeliveries included
        self._message_ids = _message_ids  # one sequence with the users' messages, as in a chat
        self._changed = threading.Condition()
        self._failures: dict[str, list[dict]] = {}
        # every message in every chat as Telegram holds it: (chat id, message id) -> message
        self.messages: dict[tuple[int, int], dict] = {}
        self.screens: list[dict] = []  # what users saw, in order: each message as sent, and as each edit left it

    def fail_next(self, method: str, payload: dict) -> None:
        """Answer the next call of `method` with this error payload (e.g. a 429 flood-control reply)."""
        self._failures.setdefault(method, []).append(payload)

    # --- what the bot sees ------------------------------------------------------------

    def call(self, method: str, params: dict) -> dict:
        if method == "getUpdates":
            self.polls += 1
            return {"ok": True, "result": self._get_updates(params)}
        if method == "sendMessage" and not {"chat_id", "text"} <= params.keys():
            return {"ok": False, "error_code": 400, "description": "Bad Request: chat_id and text are required"}
        with self._changed:
            self.calls.append((method, params))
            self._changed.notify_all()
            failures = self._failures.get(method)
            if failures:
                return failures.pop(0)
        if method == "getMe":
            return {"ok": True, "result": BOT_USER}
        if method == "sendMessage":
            refusal = _refusal(params) or self._reply_refusal(params)
            if refusal:
                return {"ok": False, "error_code": 400, "description": f"Bad Request: {refusal}"}
            chat = {"id": params["chat_id"], "type": "private"}
            message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                       "from": BOT_USER, "text": params["text"]}  # fmt: skip
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            self._add_reply_to(message, params)
            with self._changed:
                self.messages[(params["chat_id"], message["message_id"])] = message
                self.screens.append(dict(message))
            return {"ok": True, "result": message}
        if method == "editMessageText":
            return self._edit_text(params)
        if method == "editMessageReplyMarkup":
            return self._edit_markup(params)
        if method == "sendChatAction":
            if params.get("action") not in CHAT_ACTIONS:
                return {"ok": False, "error_code": 400, "description": "Bad Request: wrong parameter action in request"}
            return {"ok": True, "result": True}
        if method in {"answerCallbackQuery", "setMyCommands", "deleteWebhook",
                      "setWebhook", "deleteMyCommands"}:  # fmt: skip
            return {"ok": True, "result": True}
        return {"ok": False, "error_code": 404, "description": f"Not Found: method {method} is not faked"}

    def _edit_text(self, params: dict) -> dict:
        """editMessageText as Telegram answers it: the edited message, or why it cannot be edited."""

        def refused(description: str) -> dict:
            return {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}

        if not {"chat_id", "message_id", "text"} <= params.keys():
            return refused("chat_id, message_id and text are required")
        refusal = _refusal(params)
        if refusal:
            return refused(refusal)
        with self._changed:
            message = self.messages.get((params["chat_id"], params["message_id"]))
            if message is None:
                return refused("message to edit not found")
            if message["from"]["id"] != BOT_USER["id"] or time.time() - message["date"] > EDITABLE_FOR:
                return refused("message can't be edited")
            markup = params.get("reply_markup") or None
            if message["text"] == params["text"] and message.get("reply_markup") == markup:
                return refused(
                    "message is not modified: specified new message content and reply markup are exactly the same"
                    " as a current content and reply markup of the message"
                )
            message["text"] = params["text"]
            message["edit_date"] = int(time.time())
            if markup:
                message["reply_markup"] = markup
            else:
                message.pop("reply_markup", None)
            self.screens.append(dict(message))
            return {"ok": True, "result": dict(message)}

    def _edit_markup(self, params: dict) -> dict:
        with self._changed:
            message = self.messages.get((params.get("chat_id"), params.get("message_id")))
            if message is None:
                return {"ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"}
            markup = params.get("reply_markup") or None
            if message.get("reply_markup") == markup:
                return {"ok": False, "error_code": 400, "description": "Bad Request: message is not modified"}
            message.pop("reply_markup", None)
            if markup:
                message["reply_markup"] = markup
            return {"ok": True, "result": dict(message)}

    def _reply_refusal(self, params: dict) -> str | None:
        """What Telegram objects to in a reply's reply_parameters: an unknown message, a quote not in it."""
        reply = params.get("reply_parameters")
        if not reply:
            return None
        quoted = self.messages.get((reply.get("chat_id", params["chat_id"]), reply.get("message_id")))
        if quoted is None:
            return None if reply.get("allow_sending_without_reply") else "message to be replied not found"
        if reply.get("quote") and reply["quote"] not in quoted.get("text", ""):
            return "quote not found"
        return None

    def _add_reply_to(self, message: dict, params: dict) -> None:
        """A reply carries the message it answers (`reply_to_message`) and the part it quotes (`quote`)."""
        reply = params.get("reply_parameters") or {}
        answered = self.messages.get((reply.get("chat_id", params["chat_id"]), reply.get("message_id")))
        if answered is None:
            return
        message["reply_to_message"] = {k: v for k, v in answered.items() if k != "reply_to_message"}
        if reply.get("quote"):
            message["quote"] = {"text": reply["quote"], "position": answered["text"].index(reply["quote"])}

    def note_message(self, message: dict) -> None:
        """A message a user sent (an update's), known from now on as Telegram knows it."""
        with self._changed:
            self.messages[(message["chat"]["id"], message["message_id"])] = dict(message)

    def _get_updates(self, params: dict) -> list[dict]:
        offset = params.get("offset") or 0
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 1.0)
        with self._changed:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            return list(self.updates)

    # --- what the test does ------------------------------------------------------------

    def push(self, update: dict) -> None:
        self.pushed.append(update["update_id"])
        if "message" in update:
            self.note_message(update["message"])
        with self._changed:
            self.updates.append(update)
            self._changed.notify_all()

    def sent(self, chat_id: int | None = None) -> list[dict]:
        with self._changed:
            return [p for m, p in self.calls if m == "sendMessage" and chat_id in (None, p["chat_id"])]

    def shown(self, chat_id: int | None = None) -> list[dict]:
        """Every screen a user was shown, in order: each message as sent, and as each edit left it."""
        with self._changed:
            return [m for m in self.screens if chat_id in (None, m["chat"]["id"])]

    def counted(self, since: int = 0) -> dict[str, int]:
        """How many calls of each method the bot made (from call number `since` on)."""
        counts: dict[str, int] = {}
        with self._changed:
            for method, _ in self.calls[since:]:
                counts[method] = counts.get(method, 0) + 1
        return counts

    def wait_for_sent(self, count: int, chat_id: int | None = None, timeout: float = 20.0) -> list[dict]:
        """Block until at least `count` messages went to the chat; return them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.sent(chat_id)) < count and time.monotonic() < deadline:
                self._changed.wait(0.05)
        sent = self.sent(chat_id)
        assert len(sent) >= count, f"expected {count} messages, got {len(sent)}: {[m['text'][:60] for m in sent]}"
        return sent


class RecordingRequest(BaseRequest):
    """A PTB request object that answers from a FakeBotApi, after an optional simulated latency."""

    def __init__(self, api: FakeBotApi | None = None, latency: float = 0.0):
        self.api = api or FakeBotApi()
        self.latency = latency

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **_
    ) -> tuple[int, bytes]:
        if self.latency:
            await asyncio.sleep(self.latency)
        params = dict(request_data.parameters) if request_data else {}
        params = {k: (json.loads(json.dumps(v, default=str)) if k in JSON_FIELDS else v) for k, v in params.items()}
        payload = self.api.call(url.rsplit("/", 1)[-1], params)
        return (200 if payload["ok"] else payload["error_code"]), json.dumps(payload).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many users at once: the default backlog of 5 would reset connections


class FakeBotApiServer:
    """FakeBotApi over real HTTP at http://127.0.0.1:<port>/bot<token>/<method>."""

    def __init__(self, api: FakeBotApi | None = None):
        self.api = api or FakeBotApi()
        api_ref = self.api

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if len(raw) < length:  # the bot was killed mid-request: Telegram never sees half a request
                    return
                body = raw.decode("utf-8")
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params = json.loads(body or "{}")
                else:
                    params = dict(parse_qsl(body, keep_blank_values=True))
                params = {k: _decode_field(k, v) for k, v in params.items()}
                if not self.path.startswith(f"/bot{TOKEN}/"):
                    payload = {"ok": False, "error_code": 401, "description": "Unauthorized"}
                else:
                    payload = api_ref.call(self.path.rsplit("/", 1)[-1], params)
                data = json.dumps(payload).encode()
                self.send_response(200 if payload["ok"] else payload["error_code"])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the bot was killed mid-request
                    self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, *args):
                """Quiet."""

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/bot"

    def __enter__(self) -> FakeBotApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _refusal(params: dict) -> str | None:
    """What Telegram would object to in a sendMessage: too long, or HTML it cannot parse."""
    text = params.get("text", "")
    if not text.strip():
        return "message text is empty"
    if len(text) > 4096:
        return "message is too long"
    if params.get("parse_mode") == "HTML":
        try:
            assert_telegram_html(text)
        except AssertionError as exc:
            return f"can't parse entities: {exc}"
    return None


def _decode_field(name: str, value):
    if isinstance(value, str) and name in INT_FIELDS and value.lstrip("-").isdigit():
        return int(value)
    if isinstance(value, str) and name in JSON_FIELDS:
        return json.loads(value)
    return value


# --- updates as Telegram sends them ----------------------------------------------------------

_update_ids = itertools.count(1000)
_message_ids = itertools.count(1)


def user(user_id: int, name: str = "Li", language_code: str = "zh-hans") -> dict:
    return {"id": user_id, "is_bot": False, "first_name": name, "language_code": language_code}


def message_update(user_id: int, text: str | None = None, *, chat_type: str = "private", update_id: int | None = None,
                   name: str = "Li", language_code: str = "zh-hans", **extra) -> dict:  # fmt: skip
    chat = {"id": user_id if chat_type == "private" else -100123, "type": chat_type}
    if chat_type != "private":
        chat["title"] = "Sales team"
    message = {"message_id": next(_message_ids), "date": int(time.time()), "chat": chat,
               "from": user(user_id, name, language_code), **extra}  # fmt: skip
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id or next(_update_ids), "message": message}


def edited_update(user_id: int, text: str) -> dict:
    update = message_update(user_id, text)
    update["edited_message"] = {**update.pop("message"), "edit_date": int(time.time())}
    return update


def callback_update(user_id: int, data: str, *, message_id: int = 1, update_id: int | None = None,
                    message: dict | None = None) -> dict:  # fmt: skip
    """A press of a button with `data` on the bot's message `message` (or one with `message_id`)."""
    chat = {"id": user_id, "type": "private"}
    message = message or {"message_id": message_id, "date": int(time.time()), "chat": chat, "from": BOT_USER,
                          "text": "…"}  # fmt: skip
    query = {"id": str(next(_update_ids)), "from": user(user_id), "chat_instance": "ci", "data": data,
             "message": message}  # fmt: skip
    return {"update_id": update_id or next(_update_ids), "callback_query": query}


def buttons_of(sent_message: dict) -> list[tuple[str, str]]:
    """(label, callback data) of a sent message's inline keyboard."""
    markup = sent_message.get("reply_markup") or {}
    return [(b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row]


@contextlib.asynccontextmanager
async def recorded_application(service):
    """A built, initialised PTB application over `service` whose Bot API calls a RecordingRequest answers."""
    from bot.config import Settings
    from bot.telegram.app import build_application

    request = RecordingRequest()
    app = build_application(Settings(token=TOKEN), service, request=request)
    await app.initialize()
    try:
        yield app, request.api
    finally:
        await app.shutdown()


async def feed(app, *updates) -> None:
    """Hand raw update dicts to the application, in order, as Telegram would deliver them."""
    from telegram import Update

    api = getattr(app.bot.request, "api", None)
    for data in updates:
        if api is not None and "message" in data:
            api.note_message(data["message"])  # Telegram knows the user's message the bot may reply to
        await app.process_update(Update.de_json(data, app.bot))
