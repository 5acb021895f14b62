"""/learn like a learner: lessons listed with progress, pages, a quiz in numbered choices, the result
and the practice it points to; every answer logged in quiz_answers and counted in the list."""

from __future__ import annotations

import sqlite3

import pytest

from bot.service import Identity
from dialogs.engine import Event
from tests.helpers import Learner
from tests.test_console import coach_chat


def rows(db, sql, *args):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def quiz_lines(lesson, wrong_at: int) -> tuple[list[str], list[int]]:
    """Numbers to type in `coach chat` through a lesson's pages and quiz, answering one question wrongly."""
    lines = ["1"] * (len(lesson.pages) - 1) + ["1"]  # "next" on each page, then "take the quiz" (first button)
    chosen = []
    for i, question in enumerate(lesson.quiz):
        pick = (question.correct + 1) % len(question.options) if i == wrong_at else question.correct
        chosen.append(pick)
        lines += [str(pick + 1), "1"]  # the option's number, then "next question" / "see the result"
    return lines, chosen


@pytest.mark.parametrize(
    "locale, number, done_mark, result_word", [("zh", 1, "已完成 1 课", "完成"), ("en", 2, "1 done", "done")]
)
def test_a_lesson_is_completed_in_the_console_with_numbered_answers(tmp_path, pack, locale, number, done_mark,
                                                                      result_word):  # fmt: skip
    db = tmp_path / "coach.db"
    lesson = pack.lessons[number - 1]
    answers, chosen = quiz_lines(lesson, wrong_at=1)
    script = ["/learn", str(number), *answers, "/learn"]
    result = coach_chat(db, "--user", f"learner-{locale}", "--locale", locale, stdin_text="\n".join(script) + "\n")
    out = result.stdout.decode("utf-8")
    assert result.returncode == 0, result.stderr.decode()

    title = lesson.title[locale]
    assert lesson.pages[-1][locale].splitlines()[0] in out  # the last page was shown
    for question in lesson.quiz:
        assert question.question[locale] in out and question.explanation[locale] in out
    asked = len(lesson.quiz)
    assert f"{title}" in out and f"{asked - 1}/{asked}" in out and result_word in out
    assert done_mark in out  # the second /learn counts the lesson as done, with its score
    assert f"✅ {number}. {title}" in out

    logged = rows(db, "SELECT lesson, question, chosen, correct, channel FROM quiz_answers ORDER BY id")
    expected = [(lesson.id, i, pick, int(pick == q.correct), "console") for i, (q, pick) in
                enumerate(zip(lesson.quiz, chosen, strict=True))]  # fmt: skip
    assert logged == expected
    typed = [text for (text,) in rows(db, "SELECT text FROM turns WHERE direction = 'in' ORDER BY id")]
    assert typed == script  # every typed number is in the log as typed


def test_the_result_names_the_practice_and_its_button_starts_it(service, pack):
    learner = Learner(service, Identity("console", "rep-wu", "Wu", "en"))
    lesson = next(x for x in pack.lessons if any(p.kind == "train" for p in x.practice))
    number = pack.lessons.index(lesson) + 1
    learner.send("/learn")
    if number > 6:
        learner.press("Other lessons")
    learner.press(f"{number}. ")
    while "Next" in " ".join(learner.labels):
        learner.press("Next")
    learner.press("Take the quiz")
    for question in lesson.quiz:
        learner.press(question.options[question.correct].en)
        learner.press("Next question" if "Next question" in " ".join(learner.labels) else "See the result")
    step = pack.step(next(p.id for p in lesson.practice if p.kind == "train"))
    assert f"{len(lesson.quiz)}/{len(lesson.quiz)} right" in learner.text
    assert step.title.en in learner.text
    learner.press("Practise in /train")
    assert learner.last.state == "intro"  # the five-step course starts
    assert "Back to the lessons" not in " ".join(learner.labels)


def test_a_quiz_question_is_a_poll_value_with_its_options_as_buttons(service, pack):
    learner = Learner(service, Identity("console", "rep-zhou", "Zhou", "zh"))
    lesson = pack.lessons[0]
    learner.send("/learn").press("1. ")
    while "下一屏" in " ".join(learner.labels):
        learner.press("下一屏")
    learner.press("做小测验")
    quiz = learner.last.quiz
    first = lesson.quiz[0]
    assert quiz.key == f"{lesson.id}:0" and quiz.correct == first.correct
    assert quiz.question.endswith(first.question.zh) and quiz.question.startswith(f"1/{len(lesson.quiz)}")
    assert quiz.options == tuple(o.zh for o in first.options) == tuple(learner.labels)
    assert quiz.explanation == first.explanation.zh
    assert learner.text == quiz.question  # the window says just the question: the poll asks it on Telegram


def test_a_forged_option_or_lesson_changes_nothing_and_is_logged_nowhere(service, storage, engine):
    who = Identity("console", "rep-he", "He", "zh")
    learner = Learner(service, who)
    learner.send("/learn")
    forged = service.handle(who, Event("button", "open", "no_such_lesson"))
    assert forged[-1].text.startswith(engine.ui("zh")("common.button_expired"))
    assert forged[-1].state == "lessons"
    learner.replies = forged
    learner.press("1. ")
    while "下一屏" in " ".join(learner.labels):
        learner.press("下一屏")
    learner.press("做小测验")
    for arg in ("9", "-1", "x", "¹"):
        replies = service.handle(who, Event("button", "answer", arg))
        assert replies[-1].quiz is not None  # still asking the same question
    user = storage.find_user("console", "rep-he")
    assert storage.quiz_answers(user.id) == []


def test_retaking_a_lesson_counts_the_latest_answers(service, storage, pack):
    who = Identity("console", "rep-qian", "Qian", "en")
    lesson = pack.lessons[0]

    def take(right: bool):
        learner = Learner(service, who).send("/learn")
        learner.press("1. ")
        while "Next" in " ".join(learner.labels):
            learner.press("Next")
        learner.press("Take the quiz")
        for question in lesson.quiz:
            pick = question.correct if right else (question.correct + 1) % len(question.options)
            learner.press(question.options[pick].en)
            learner.press("Next question" if "Next question" in " ".join(learner.labels) else "See the result")
        return learner

    take(right=False)
    assert f"1 done, 0/{len(lesson.quiz)} answers right" in Learner(service, who).send("/learn").text
    take(right=True)
    listed = Learner(service, who).send("/learn")
    assert f"1 done, {len(lesson.quiz)}/{len(lesson.quiz)} answers right" in listed.text
    user = storage.find_user("console", "rep-qian")
    assert len(storage.quiz_answers(user.id)) == 2 * len(lesson.quiz)


def test_forget_me_deletes_quiz_answers(service, storage, pack):
    who = Identity("console", "rep-lin", "Lin", "zh")
    learner = Learner(service, who).send("/learn").press("1. ")
    while "下一屏" in " ".join(learner.labels):
        learner.press("下一屏")
    learner.press("做小测验").press_trigger("answer")
    user = storage.find_user("console", "rep-lin")
    assert len(storage.quiz_answers(user.id)) == 1
    learner.send("/forget_me").press("确认删除")
    assert storage.find_user("console", "rep-lin") is None
    assert rows(storage.path, "SELECT COUNT(*) FROM quiz_answers") == [(0,)]
