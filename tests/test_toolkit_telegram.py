"""The visit toolkit on Telegram, over real HTTP to the fake Bot API: /man, /swot and /pitch completed
with typed messages and pressed inline buttons in each language, every card stored under that
Telegram user and the session that made it, then opened again with /my."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.service import CoachService
from bot.telegram.app import build_application
from tests.fake_telegram import TOKEN, FakeBotApiServer, buttons_of, callback_update, feed, message_update
from tests.helpers import assert_telegram_html, plain
from tests.test_toolkit import RESTATED, SCALE, VALUE_STATEMENT

WORDS = {
    "zh": {"dealer": "一家渠道商", "done": "完成", "scenario": "参考场景", "thinking": "用这句参考",
           "back": "全部卡片", "flagged": "卖点≠特点"},
    "en": {"dealer": "A dealer", "done": "Done", "scenario": "suggested situation", "thinking": "Use the suggestion",
           "back": "All cards", "flagged": "not a feature"},
}  # fmt: skip


@pytest.fixture
async def http_bot(storage, engine):
    """The bot's PTB application talking HTTP to a fake Bot API on 127.0.0.1 (no request object swapped in)."""
    with FakeBotApiServer() as server:
        app = build_application(Settings(token=TOKEN, api_base_url=server.base_url), CoachService(storage, engine))
        await app.initialize()
        try:
            yield app, server.api
        finally:
            await app.shutdown()
            app.bot_data["workers"].shutdown()


MORE = ("更多", "More")  # the button that shows a screen's next page


def unspaced(text: str) -> str:
    """Text without white space: a passage read across page breaks (a break may fall between two characters)."""
    return "".join(text.split())


class TelegramRep:
    """A rep on Telegram, reading screens as they are shown (a pressed button edits its own message)."""

    def __init__(self, app, api, user_id: int, language_code: str):
        self.app, self.api, self.user_id, self.language_code = app, api, user_id, language_code
        self.last_html = ""  # the newest screen, all its pages, as sent (HTML)

    @property
    def last(self) -> str:
        """The newest screen as the rep reads it (tags off, entities decoded), across its page breaks: compare
        `unspaced` text, since a page may break a line anywhere."""
        return unspaced(plain(self.last_html))

    async def _read(self) -> None:
        """Read the newest screen to its end, pressing "more" page after page."""
        pages = [self.api.shown(self.user_id)[-1]]
        for _ in range(30):
            more = next((data for label, data in buttons_of(pages[-1]) if label.startswith(MORE)), None)
            if more is None:
                self.last_html = "\n".join(page["text"] for page in pages)
                return
            await self._tap(pages[-1], more)
            pages.append(self.api.shown(self.user_id)[-1])
        raise AssertionError("a screen of more than 30 pages")

    async def _tap(self, message: dict, data: str) -> None:
        await feed(self.app, callback_update(self.user_id, data, message_id=message["message_id"]))

    async def send(self, text: str) -> TelegramRep:
        await feed(self.app, message_update(self.user_id, text, language_code=self.language_code))
        await self._read()
        return self

    async def press(self, label_part: str) -> TelegramRep:
        """Press a button of the newest screen (its last page), or else of an earlier message still in the chat."""
        newest = self.api.shown(self.user_id)[-1]["message_id"]
        earlier = sorted((m for (chat, _), m in self.api.messages.items() if chat == self.user_id),
                         key=lambda m: m["message_id"] != newest)  # fmt: skip
        for message in earlier:
            for label, data in buttons_of(message):
                if label_part in label:
                    await self._tap(message, data)
                    await self._read()
                    return self
        raise AssertionError(f"no button {label_part!r} in {[buttons_of(m) for m in earlier]}")


@pytest.mark.parametrize("locale, user_id", [("zh", 7101), ("en", 7102)])
async def test_every_tool_completes_on_telegram_and_its_card_opens_with_my(http_bot, storage, pack, locale, user_id):
    app, api = http_bot
    w = WORDS[locale]
    rep = TelegramRep(app, api, user_id, "zh-hans" if locale == "zh" else "en")

    await rep.send("/man")
    await rep.send("Ms <Wu> & co")
    for _ in pack.toolkit.man.questions:
        await rep.press(SCALE[locale][4])
    ideal = next(c for c in pack.roleplay.man_classes if c.code == "MAN")
    assert unspaced(ideal.strategy[locale]) in rep.last and "Ms &lt;Wu&gt; &amp; co" in rep.last_html

    await rep.send("/swot")
    await rep.press(w["dealer"])
    await rep.send("Ms <Wu> & co")
    for quadrant in pack.toolkit.swot.quadrants:
        await rep.send(f"{quadrant.id} one")
        await rep.press(w["done"])
    assert all(unspaced(s.title[locale]) in rep.last for s in pack.toolkit.swot.strategies)

    product = pack.product("family_5g")
    await rep.send("/pitch")
    await rep.press(product.name[locale])
    await rep.press(product.scenarios[0].people[locale])
    await rep.press(w["scenario"])
    await rep.press(product.features[0].name[locale])
    await rep.press(w["thinking"])
    await rep.send(RESTATED[locale])
    assert unspaced(w["flagged"]) in rep.last
    await rep.send(VALUE_STATEMENT[locale])
    pitch_card = rep.last
    assert unspaced(VALUE_STATEMENT[locale]) in pitch_card and unspaced(product.features[0].name[locale]) in pitch_card

    uid = storage.find_user("telegram", str(user_id)).id
    cards = storage.result_cards(uid)
    flows = dict(storage.db.execute("SELECT id, flow FROM sessions WHERE user_id = ?", [uid]).fetchall())
    assert sorted((c.kind, flows[c.session_id]) for c in cards) == [("man", "man"), ("pitch", "pitch"),
                                                                     ("swot", "swot")]  # fmt: skip

    shows = {  # what each card shows when opened from /my
        "man": unspaced(ideal.strategy[locale]),
        "swot": unspaced(pack.toolkit.swot.strategies[0].title[locale]),
        "pitch": unspaced(VALUE_STATEMENT[locale]),
    }
    await rep.send("/my")
    labels = [label for label, _ in buttons_of(api.shown(user_id)[-1])]
    assert sum("Ms <Wu> & co · " in label for label in labels) == 2  # a button label is plain text, as typed
    for card in cards:
        await rep.press({"man": "🧭", "swot": "🧩", "pitch": "🎤"}[card.kind])
        assert shows[card.kind] in rep.last and all(shows[k] not in rep.last for k in shows if k != card.kind)
        await rep.press(w["back"])
    screens = [p for m, p in api.calls if m in ("sendMessage", "editMessageText") and p["chat_id"] == user_id]
    assert screens
    for message in screens:  # every message sent, and every edit
        assert message["parse_mode"] == "HTML"
        assert_telegram_html(message["text"])
