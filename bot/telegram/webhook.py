"""A small webhook receiver (tornado): it stores an update in the inbox, then answers 200.

Telegram treats a 200 as "delivered", so the answer waits for the inbox commit;
a request without the secret token gets 403, a body that is not an update 400,
and a failure to store it 500 (Telegram then delivers it again).

A pressed button is acknowledged in that 200 itself: the Bot API lets a webhook's
reply carry one method call (a JSON body naming it in `method`; "Making requests
when getting updates"), so the body is `answerCallbackQuery` for the press instead
of a request of its own. Telegram reports nothing back about such a call, which is
all an acknowledgement needs (the press is saved either way). Only a press stored
just now is answered so: a redelivered one gets a plain 200, as a failed commit
gets its 500 and no answer.
"""

from __future__ import annotations

import hmac
import json
import logging
import re

import tornado.httpserver
import tornado.web
from telegram import Bot, Update

from bot.telegram.intake import Intake
from bot.telegram.polling import ALLOWED_UPDATES

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class UpdateReceiver(tornado.web.RequestHandler):
    def initialize(self, intake: Intake, bot: Bot, secret: str) -> None:
        self.intake = intake
        self.bot = bot
        self.secret = secret

    async def post(self) -> None:
        if not hmac.compare_digest(self.request.headers.get(SECRET_HEADER, ""), self.secret):
            self.set_status(403)
            return
        try:
            update = Update.de_json(json.loads(self.request.body), self.bot)
        except (ValueError, TypeError, KeyError, AttributeError):  # PTB raises any of them on a malformed update
            self.set_status(400)
            return
        try:
            new = await self.intake.receive([update], answer_presses=False)
        except Exception:
            log.exception("could not store update %s; Telegram will deliver it again", update.update_id)
            self.set_status(500)
            return
        self.set_status(200)
        if new and update.callback_query is not None:
            self.set_header("Content-Type", "application/json")
            self.write(json.dumps(answer_in_reply(update.callback_query.id)))

    def log_exception(self, typ, value, tb) -> None:  # tornado's own would log the request, secret header and all
        log.error("webhook request failed: %r", value)


def answer_in_reply(callback_query_id: str) -> dict:
    """The body of a webhook reply that answers a press (the Bot API runs the method it names)."""
    return {"method": "answerCallbackQuery", "callback_query_id": callback_query_id}


async def start_webhook(bot: Bot, intake: Intake, *, url: str, path: str, listen: str, port: int, secret: str):
    """Listen, then register the webhook with Telegram; returns the server (call `.stop()`)."""
    routes = [(f"/{re.escape(path)}/?", UpdateReceiver, {"intake": intake, "bot": bot, "secret": secret})]
    server = tornado.httpserver.HTTPServer(tornado.web.Application(routes, log_function=lambda handler: None))
    server.listen(port, listen)
    await bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
    return server
