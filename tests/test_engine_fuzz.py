"""Hypothesis over the engine, through the service and a real SQLite file: arbitrary Unicode up
to 4,096 characters, random commands and presses, forged button events. Every event gets a
reply, nothing raises, every reply is valid Telegram HTML, and an answer without words is never
scored."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.service import CoachService, Identity
from dialogs.commands import load_commands
from dialogs.engine import Event, has_words
from dialogs.machines import load_flows
from tests.helpers import assert_telegram_html

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
USERS = itertools.count()

unicode_text = st.text(max_size=4096)
short_text = st.text(max_size=40)
FLOWS, _ = load_flows()  # the shipped flows and any in COACH_FLOW_DIRS: a new flow is fuzzed too
TRIGGERS = [*sorted({t for flow in FLOWS.values() for t in flow.machine.events}), "", "score_answer", "nope"]
COMMANDS = [flow.command for flow in FLOWS.values()] + list(load_commands()[0]) + ["nope"]
SMALL_INT = st.one_of(st.none(), st.integers(min_value=-3, max_value=10**9))

typed = st.builds(Event.from_text, unicode_text)
command = st.builds(lambda name, arg: Event.from_text(f"/{name} {arg}"), st.sampled_from(COMMANDS), short_text)
forged_button = st.builds(
    Event,
    kind=st.just("button"),
    name=st.one_of(st.sampled_from(TRIGGERS), short_text),
    arg=short_text,
    text=st.one_of(st.just(""), short_text),
    session_id=SMALL_INT,
    state=st.one_of(st.none(), short_text),
    version=SMALL_INT,
)
other = st.builds(Event, kind=st.sampled_from(["unsupported", "edited", "resume"]), text=short_text)
# ("press", i): press the i-th button of the last reply, as a front end would
press = st.tuples(st.just("press"), st.integers(min_value=0, max_value=12))
moves = st.lists(st.one_of(typed, command, forged_button, other, press, press, press), max_size=20)


def event_for(move, last_buttons) -> Event | None:
    if isinstance(move, Event):
        return move
    if not last_buttons:
        return None
    return Event.press(last_buttons[move[1] % len(last_buttons)])


def may_score(event: Event) -> bool:
    """Only typed text with words may be scored."""
    return event.kind == "text" and has_words(event.text)


def play(service: CoachService, storage, who: Identity, events) -> None:
    buttons = ()
    for move in events:
        event = event_for(move, buttons)
        if event is None:
            continue
        scores_before = len(storage.scores())
        replies = service.handle(who, event)
        assert replies, f"no reply to {event}"
        for reply in replies:
            assert_telegram_html(reply.text)
            assert reply.text.strip()
        if not may_score(event):
            assert len(storage.scores()) == scores_before, f"{event} was scored"
        buttons = next((r.buttons for r in reversed(replies) if r.buttons), buttons)


@FUZZ
@given(events=moves)
def test_random_sessions_always_get_valid_replies_and_never_score_wordless_answers(service, storage, events):
    play(service, storage, Identity("console", f"fuzz-{next(USERS)}", "F"), events)


@FUZZ
@given(lead=st.sampled_from(["/train", "/roleplay", "/drill"]), answer=unicode_text, forged=forged_button)
def test_answers_in_any_unicode_and_forged_presses_inside_each_flow(service, storage, lead, answer, forged):
    who = Identity("console", f"fuzz-{next(USERS)}", "<b>F&")
    setup = {"/train": ["/train", "1", "2"], "/roleplay": ["/roleplay", "1", "1", "1", "1", "1", "2"]}
    events = [Event.from_text("/settings role:rep")]
    for line in setup.get(lead, ["/drill", "1"]):  # into the state that takes an answer
        events.append(("press", int(line) - 1) if line.isdigit() else Event.from_text(line))
    play(service, storage, who, [*events, forged, Event.from_text(answer), forged])
