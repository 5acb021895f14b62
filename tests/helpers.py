"""A small driver that uses the bot the way a person does: send text, press buttons by label."""

from __future__ import annotations

import functools
import html
import re
import time
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import yaml

from bot.service import CoachService, Identity
from dialogs.engine import Event, Reply
from dialogs.paging import MORE_TRIGGER
from knowledge.pack import Pack, load_pack

TAG = re.compile(r"<[^>]+>")
DATA = Path(__file__).parent / "data"


@functools.cache
def shipped_pack() -> Pack:
    """The shipped pack, loaded and checked once per process (loading costs seconds; a Pack is frozen)."""
    return load_pack()


def load_labelled(name: str = "labelled_answers.yaml") -> list[dict]:
    """A labelled answer set: step (or objection), locale, label (0 poor .. 3 excellent), text."""
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))["answers"]


TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a", "blockquote"}


class _TelegramHtml(HTMLParser):
    """Checks text is what Telegram's HTML parse mode accepts: known tags, properly nested."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        assert tag in TELEGRAM_TAGS, f"Telegram does not support <{tag}>"
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes nothing open ({self.stack})"
        self.stack.pop()


def assert_telegram_html(text: str) -> None:
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    assert not parser.stack, f"unclosed tags {parser.stack}"


def all_text(replies) -> str:
    """Every reply of one turn as plain text."""
    return "\n".join(plain(r.text) for r in replies)


def plain(text: str) -> str:
    return html.unescape(TAG.sub("", text))


class Learner:
    def __init__(self, service: CoachService, who: Identity):
        self.service = service
        self.who = who
        self._replies: list[Reply] = []
        self.screen = ""

    @property
    def replies(self) -> list[Reply]:
        return self._replies

    @replies.setter
    def replies(self, replies: list[Reply]) -> None:
        self._take(replies)

    @property
    def last(self) -> Reply:
        """The last screen, read to its last page: its buttons are the flow's own, its score the first page's."""
        return self.replies[-1]

    @property
    def text(self) -> str:
        """The last screen's text, every page of it."""
        return self.screen

    @property
    def labels(self) -> list[str]:
        return [b.label for b in self.last.buttons]

    def _take(self, replies) -> Learner:
        """Keep a turn's replies, each long screen read to its last page (as one reply: every page's text,
        the last page's buttons, the first page's score)."""
        screens = []
        for reply in replies:
            pages = [reply]
            while more := [b for b in pages[-1].buttons if b.trigger == MORE_TRIGGER]:
                last = pages[-1]
                pages += self.service.look(self.who, Event.press(more[0], last.session_id, last.state, last.version))
            for page in pages:  # every message the bot sends must be valid Telegram HTML
                assert_telegram_html(page.text)
            screens.append(replace(pages[-1], text="\n".join(p.text for p in pages), score=reply.score))
        self._replies = screens
        self.screen = plain(screens[-1].text) if screens else ""
        return self

    def send(self, text: str) -> Learner:
        return self._take(self.service.handle(self.who, Event.from_text(text)))

    def press(self, label_part: str) -> Learner:
        """Press the button of the last reply whose label contains `label_part`."""
        matches = [b for b in self.last.buttons if label_part in b.label]
        assert matches, f"no button with {label_part!r} in {self.labels}"
        return self._take(self.service.handle(self.who, Event.press(matches[0])))

    def press_trigger(self, trigger: str) -> Learner:
        button = next(b for b in self.last.buttons if b.trigger == trigger)
        return self._take(self.service.handle(self.who, Event.press(button)))


def squeeze(text: str) -> str:
    """Text with every run of white space made one space: a passage read across page breaks."""
    return " ".join(text.split())


def wait_until(predicate, timeout: float = 60.0) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds pass. The bound is generous: a `coach`
    process loads its pack and model before it answers anything (about 7 s on an idle 2-core machine,
    over 20 s when the machine is loaded), and a predicate that comes true returns at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
