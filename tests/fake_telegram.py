"""A small fake of the Telegram Bot API, for tests.

`FakeBotApi` answers the methods the bot uses and records every call. It is
reached two ways: in-process through `RecordingRequest` (a PTB request object,
for handler tests), or over real HTTP through `FakeBotApiServer` (a threaded
HTTP server on 127.0.0.1, for end-to-end tests of `coach run`).

Webhooks: once the bot calls `setWebhook`, updates pushed go to its URL over real HTTP, one at a
time and in order, with the secret token Telegram sends; anything but a 2xx is delivered again,
as Telegram does (`deliver` sends one update and waits for the reply). A method the reply's body
names is run as Telegram runs it, and recorded in `webhook_replies` ("answered in the webhook
reply"), not in `calls`: it was no request of the bot's. `getUpdates` is refused (409) meanwhile.
A callback query can be answered once (`answers`); a second answer is refused, as by Telegram.

Quiz polls: `sendPoll` answers with a message holding a poll with a fresh id, refusing what
Telegram refuses (over-long texts, a correct option out of range); `poll_answer_update` builds
the update Telegram sends when someone answers one (a user and the poll id, no chat).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from telegram.request import BaseRequest, RequestData

from tests.helpers import assert_telegram_html

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Coach", "username": "channel_coach_test_bot"}
TOKEN = "123456:TEST-token-for-the-fake-bot-api-abcdef"
FILE_METHODS = {"sendPhoto": "photo", "sendDocument": "document"}  # method -> the field carrying the file
FILE_LIMITS = {"sendPhoto": 10 * 1024 * 1024, "sendDocument": 50 * 1024 * 1024}
INT_FIELDS = {"chat_id", "message_id", "offset", "timeout", "limit", "correct_option_id"}
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "link_preview_options", "scope", "entities", "options",
               "is_anonymous", "correct_option_ids", "reply_parameters"}  # fmt: skip
CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
                "upload_document", "choose_sticker", "find_location", "record_video_note",
                "upload_video_note"}  # fmt: skip
EDITABLE_FOR = 48 * 3600  # seconds: Telegram refuses to edit an older message of the bot
REDELIVER_AFTER = 0.2  # seconds before a webhook delivery that failed is tried again (Telegram waits longer)
IGNORED_IN_REPLIES = {"setwebhook", "deletewebhook", "close", "logout"}  # and get*: Telegram ignores them there


class FakeBotApi:
    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.updates: list[dict] = []  # not yet confirmed by an offset
        self.polls = 0  # getUpdates calls (not kept in `calls`: there are many)
        self.pushed: list[int] = []  # the id of every update pushed, redeliveries included
        self._message_ids = _message_ids  # one sequence with the users' messages, as in a chat
        self._poll_ids = itertools.count(5_000_000_001)
        self._changed = threading.Condition()
        self._failures: dict[str, list[dict]] = {}
        # every message in every chat as Telegram holds it: (chat id, message id) -> message
        self.messages: dict[tuple[int, int], dict] = {}
        self.screens: list[dict] = []  # what users saw, in order: each message as sent, and as each edit left it
        self.webhook: dict | None = None  # {"url", "secret_token"} once the bot set a webhook
        self.webhook_replies: list[tuple[str, dict]] = []  # methods run from the body of a webhook reply
        self.delivered: list[tuple[int, int | None]] = []  # (update id, HTTP status or None) of each delivery
        self.answered: dict[str, int] = {}  # callback query id -> answers Telegram accepted (at most 1)
        self._to_deliver: list[dict] = []
        self._deliverer: threading.Thread | None = None
        self._closed = False

    def fail_next(self, method: str, payload: dict) -> None:
        """Answer the next call of `method` with this error payload (e.g. a 429 flood-control reply)."""
        self._failures.setdefault(method, []).append(payload)

    # --- what the bot sees ------------------------------------------------------------

    def call(self, method: str, params: dict) -> dict:
        if method == "getUpdates":
            self.polls += 1
            if self.webhook is not None:
                return {"ok": False, "error_code": 409, "description": "Conflict: can't use getUpdates method while"
                        " webhook is active; use deleteWebhook to delete the webhook first"}  # fmt: skip
            return {"ok": True, "result": self._get_updates(params)}
        if method == "sendMessage" and not {"chat_id", "text"} <= params.keys():
            return {"ok": False, "error_code": 400, "description": "Bad Request: chat_id and text are required"}
        with self._changed:
            self.calls.append((method, params))
            self._changed.notify_all()
            failures = self._failures.get(method)
            if failures:
                return failures.pop(0)
        return self._run(method, params)

    def _run(self, method: str, params: dict) -> dict:
        """A method as Telegram performs it (a request of the bot's, or one named in a webhook reply)."""
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
        if method in FILE_METHODS:
            return _file_message(method, params, next(self._message_ids))
        if method == "sendPoll":
            return self._send_poll(params)
        if method == "editMessageText":
            return self._edit_text(params)
        if method == "editMessageReplyMarkup":
            return self._edit_markup(params)
        if method == "sendChatAction":
            if params.get("action") not in CHAT_ACTIONS:
                return {"ok": False, "error_code": 400, "description": "Bad Request: wrong parameter action in request"}
            return {"ok": True, "result": True}
        if method == "answerCallbackQuery":
            return self._answer_query(params)
        if method == "setWebhook":
            with self._changed:
                self.webhook = {"url": params["url"], "secret_token": params.get("secret_token") or ""}
            return {"ok": True, "result": True}
        if method == "deleteWebhook":
            with self._changed:
                self.webhook = None
            return {"ok": True, "result": True}
        if method in {"setMyCommands", "deleteMyCommands"}:
            return {"ok": True, "result": True}
        return {"ok": False, "error_code": 404, "description": f"Not Found: method {method} is not faked"}

    def _answer_query(self, params: dict) -> dict:
        query_id = str(params.get("callback_query_id") or "")
        with self._changed:
            if not query_id or self.answered.get(query_id):
                return {"ok": False, "error_code": 400, "description": "Bad Request: query is too old and response"
                        " timeout expired or query ID is invalid"}  # fmt: skip
            self.answered[query_id] = 1
            self._changed.notify_all()
        return {"ok": True, "result": True}

    def _send_poll(self, params: dict) -> dict:
        refusal = _poll_refusal(params)
        if refusal:
            return {"ok": False, "error_code": 400, "description": f"Bad Request: {refusal}"}
        options = [_option_text(o) for o in params["options"]]
        # the fields Bot API 10 always sends (PTB refuses a poll without them)
        choices = [{"text": text, "voter_count": 0, "persistent_id": str(i)} for i, text in enumerate(options)]
        poll = {"id": str(next(self._poll_ids)), "question": params["question"], "options": choices,
                "total_voter_count": 0, "is_closed": False,
                "is_anonymous": params.get("is_anonymous", True) not in (False, "false"),
                "type": params.get("type", "regular"), "allows_multiple_answers": False, "allows_revoting": False,
                "members_only": False}  # fmt: skip
        correct = _correct_options(params)
        if correct:
            poll["correct_option_ids"] = correct
        if params.get("explanation"):
            poll["explanation"] = params["explanation"]
        params["_poll_id"] = poll["id"]  # noted on the recorded call, for `poll_ids`
        chat = {"id": params["chat_id"], "type": "private"}
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat, "from": BOT_USER,
                   "poll": poll}  # fmt: skip
        return {"ok": True, "result": message}

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
        """An update for the bot: fetched by getUpdates, or delivered to the webhook once one is set."""
        self.pushed.append(update["update_id"])
        if "message" in update:
            self.note_message(update["message"])
        with self._changed:
            if self.webhook is not None:
                self._to_deliver.append(update)
                if self._deliverer is None:
                    self._deliverer = threading.Thread(target=self._deliver_pushed, daemon=True)
                    self._deliverer.start()
            else:
                self.updates.append(update)
            self._changed.notify_all()

    def deliver(self, update: dict) -> int | None:
        """POST one update to the webhook as Telegram does; run the method its reply names. Returns the
        HTTP status of the reply (None when nobody answered)."""
        with self._changed:
            webhook = dict(self.webhook or {})
        assert webhook, "no webhook set"
        if "message" in update:
            self.note_message(update["message"])
        headers = {"Content-Type": "application/json"}
        if webhook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
        request = urllib.request.Request(webhook["url"], json.dumps(update).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, body, content_type = response.status, response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            status, body, content_type = exc.code, b"", ""
        except (urllib.error.URLError, OSError):  # not listening (yet), or the connection dropped
            status, body, content_type = None, b"", ""
        with self._changed:
            self.delivered.append((update["update_id"], status))
            self._changed.notify_all()
        if status is not None and 200 <= status < 300 and body:
            self._reply_method(_body_fields(content_type, body))
        return status

    def _reply_method(self, params: dict) -> None:
        """The method a webhook reply names, run as Telegram runs it: no result goes back to anyone."""
        params = {k: _decode_field(k, v) for k, v in params.items()}
        method = str(params.pop("method", "") or "")
        if not method or method.lower() in IGNORED_IN_REPLIES or method.lower().startswith("get"):
            return
        with self._changed:
            self.webhook_replies.append((method, params))
            self._changed.notify_all()
        self._run(method, params)

    def _deliver_pushed(self) -> None:
        """The delivery thread: pushed updates in order, each until the webhook answers it with a 2xx."""
        while True:
            with self._changed:
                while not self._to_deliver and not self._closed:
                    self._changed.wait(0.5)
                if self._closed or self.webhook is None:
                    self._deliverer = None
                    self.updates.extend(self._to_deliver)  # back to getUpdates, as Telegram keeps them
                    self._to_deliver.clear()
                    return
                update = self._to_deliver[0]
            status = self.deliver(update)
            if status is not None and 200 <= status < 300:
                with self._changed:
                    self._to_deliver.pop(0)
            else:
                time.sleep(REDELIVER_AFTER)

    def close(self) -> None:
        """Stop delivering to the webhook."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def answers(self, query_id: str) -> list[str]:
        """How a press was answered: "request" (answerCallbackQuery) or "webhook reply", once per answer
        Telegram accepted or refused."""
        with self._changed:
            requests = ["request" for m, p in self.calls if m == "answerCallbackQuery"
                        and str(p.get("callback_query_id")) == query_id]  # fmt: skip
            replies = ["webhook reply" for m, p in self.webhook_replies if m == "answerCallbackQuery"
                       and str(p.get("callback_query_id")) == query_id]  # fmt: skip
        return requests + replies

    def wait_for_delivered(self, update_id: int, times: int = 1, timeout: float = 60.0) -> list[int | None]:
        """Block until the webhook answered update `update_id` `times` times with a 2xx; its statuses."""
        deadline = time.monotonic() + timeout

        def statuses() -> list[int | None]:
            return [status for uid, status in self.delivered if uid == update_id]

        with self._changed:
            while sum(1 for s in statuses() if s and 200 <= s < 300) < times and time.monotonic() < deadline:
                self._changed.wait(0.05)
            return statuses()

    def sent(self, chat_id: int | None = None) -> list[dict]:
        with self._changed:
            return [p for m, p in self.calls if m == "sendMessage" and chat_id in (None, p["chat_id"])]

    def files(self, chat_id: int | None = None) -> list[SentFile]:
        """Every photo and document uploaded, to `chat_id` (or to anyone), in order."""
        with self._changed:
            calls = [(m, p) for m, p in self.calls if m in FILE_METHODS and chat_id in (None, p.get("chat_id"))]
        return [SentFile(m, p[FILE_METHODS[m]]["filename"], p[FILE_METHODS[m]]["content"], p.get("caption") or "")
                for m, p in calls if isinstance(p.get(FILE_METHODS[m]), dict)]  # fmt: skip

    def wait_for_files(self, count: int, chat_id: int | None = None, timeout: float = 60.0) -> list[SentFile]:
        """Block until at least `count` files went to the chat; return them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.files(chat_id)) < count and time.monotonic() < deadline:
                self._changed.wait(0.05)
        files = self.files(chat_id)
        assert len(files) >= count, f"expected {count} files, got {[f.filename for f in files]}"
        return files

    def sent_polls(self, chat_id: int | None = None) -> list[dict]:
        """Every sendPoll call (its parameters) to a chat, or to anyone."""
        with self._changed:
            return [p for m, p in self.calls if m == "sendPoll" and chat_id in (None, p["chat_id"])]

    def wait_for_polls(self, count: int, chat_id: int | None = None, timeout: float = 60.0) -> list[dict]:
        """Block until at least `count` polls went to the chat; return them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.sent_polls(chat_id)) < count and time.monotonic() < deadline:
                self._changed.wait(0.05)
        polls = self.sent_polls(chat_id)
        assert len(polls) >= count, f"expected {count} polls, got {len(polls)}"
        return polls

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

    def wait_for_sent(self, count: int, chat_id: int | None = None, timeout: float = 60.0) -> list[dict]:
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
        if request_data and request_data.contains_files:  # an upload: the file's name and bytes, as a server sees them
            for name, (filename, content, *_) in request_data.multipart_data.items():
                params[name] = {
                    "filename": filename,
                    "content": content if isinstance(content, bytes) else content.read(),
                }
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
                params = _body_fields(self.headers.get("Content-Type", ""), raw)
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
        self.api.close()
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass(frozen=True)
class SentFile:
    """A photo or document the bot uploaded: how, under which name, the bytes, the caption."""

    method: str  # sendPhoto or sendDocument
    filename: str
    content: bytes = field(repr=False)
    caption: str = ""


def _body_fields(content_type: str, raw: bytes) -> dict:
    """A request's (or a webhook reply's) body as fields, read by its content type as Telegram reads it."""
    if content_type.startswith("multipart/form-data"):
        return _multipart_fields(content_type, raw)
    if content_type.startswith("application/json"):
        fields = json.loads(raw.decode("utf-8") or "{}")
        return fields if isinstance(fields, dict) else {}
    return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))


def _multipart_fields(content_type: str, raw: bytes) -> dict:
    """A multipart/form-data body as fields: text as str, a file as {"filename", "content"}."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields: dict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        content = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        fields[name] = {"filename": filename, "content": content} if filename else content.decode("utf-8")
    return fields


def _file_message(method: str, params: dict, message_id: int) -> dict:
    """Telegram's answer to an upload, or its refusal of a request without a file or over the size limit."""
    field_name = FILE_METHODS[method]
    upload = params.get(field_name)
    if "chat_id" not in params or not isinstance(upload, dict):
        return {"ok": False, "error_code": 400, "description": f"Bad Request: chat_id and {field_name} are required"}
    if len(upload["content"]) > FILE_LIMITS[method]:
        return {"ok": False, "error_code": 400, "description": "Bad Request: file is too big"}
    if len(params.get("caption") or "") > 1024:
        return {"ok": False, "error_code": 400, "description": "Bad Request: message caption is too long"}
    chat = {"id": params["chat_id"], "type": "private"}
    sent = {"file_id": f"file-{message_id}", "file_unique_id": f"u{message_id}", "file_size": len(upload["content"])}
    media = {"photo": [{**sent, "width": 800, "height": 450}]} if method == "sendPhoto" else {
        "document": {**sent, "file_name": upload["filename"]}}  # fmt: skip
    return {"ok": True, "result": {"message_id": message_id, "date": int(time.time()), "chat": chat,
                                   "from": BOT_USER, "caption": params.get("caption"), **media}}  # fmt: skip


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


def _option_text(option) -> str:
    """A poll option as sent: a plain string, or an InputPollOption ({"text": ...})."""
    return option["text"] if isinstance(option, dict) else str(option)


def _poll_refusal(params: dict) -> str | None:
    """What Telegram would object to in a sendPoll."""
    options = params.get("options") or []
    if not 1 <= len(params.get("question", "")) <= 300:
        return "poll question length must not exceed 300"
    if not 2 <= len(options) <= 10:
        return "poll must have 2-10 options"
    if any(not 1 <= len(_option_text(o)) <= 100 for o in options):
        return "poll options length must not exceed 100"
    if len(params.get("explanation") or "") > 200 or (params.get("explanation") or "").count("\n") > 2:
        return "quiz poll explanation is too long"
    correct = _correct_options(params)
    if params.get("type") == "quiz" and (not correct or not all(0 <= i < len(options) for i in correct)):
        return "wrong quiz correct option specified"
    return None


def _correct_options(params: dict) -> list[int]:
    """A quiz's right answers: `correct_option_ids` (Bot API 9.6), or the older single `correct_option_id`."""
    if params.get("correct_option_ids") is not None:
        return [int(i) for i in params["correct_option_ids"]]
    return [int(params["correct_option_id"])] if params.get("correct_option_id") is not None else []


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


def poll_answer_update(user_id: int, poll_id: str, option_ids: list[int], *, update_id: int | None = None) -> dict:
    """Someone answered a poll: Telegram says who and which poll, but names no chat."""
    answer = {"poll_id": poll_id, "user": user(user_id), "option_ids": list(option_ids),
              "option_persistent_ids": [str(i) for i in option_ids]}  # fmt: skip
    return {"update_id": update_id or next(_update_ids), "poll_answer": answer}


def poll_ids(api: FakeBotApi, chat_id: int) -> list[str]:
    """The ids of the polls the fake answered sendPoll with, for a chat, in order (read from its replies)."""
    return [p["_poll_id"] for p in api.sent_polls(chat_id)]


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
