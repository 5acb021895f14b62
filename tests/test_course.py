"""The five-step course, driven like a learner: /train, buttons, typed answers, scores."""

from __future__ import annotations

import pytest

from bot.service import Identity
from dialogs.engine import Event
from knowledge.pack import STEP_IDS
from tests.helpers import Learner, all_text, load_labelled, squeeze

LABELLED = load_labelled()


def best_answer(step: str, locale: str) -> str:
    return next(a["text"] for a in LABELLED if a["step"] == step and a["locale"] == locale and a["label"] == 3)


def poor_answer(step: str, locale: str) -> str:
    return next(a["text"] for a in LABELLED if a["step"] == step and a["locale"] == locale and a["label"] == 0)


BUTTONS = {
    "zh": {
        "practise": "我来练习",
        "model": "看示范话术",
        "next": "下一步",
        "finish": "完成课程",
        "retry": "再答一次",
        "all_checks": "看全部评分要点",
    },
    "en": {
        "practise": "Let me practise",
        "model": "See a model script",
        "next": "Next step",
        "finish": "Finish the course",
        "retry": "Try again",
        "all_checks": "See every check",
    },
}


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_full_course_in_each_language(service, pack, storage, locale):
    who = Identity("console", f"learner-{locale}", "Learner")
    service.set_locale(who, locale)
    learner = Learner(service, who).send("/train")
    product = pack.products[1].name[locale]
    assert product in learner.text or any(product in label for label in learner.labels)
    learner.press(product)
    for number, step_id in enumerate(STEP_IDS, start=1):
        step = pack.step(step_id)
        assert step.title[locale] in learner.text and f"{number}" in learner.text
        assert step.techniques[0].name[locale] in learner.text  # the explanation shows the techniques
        learner.press(BUTTONS[locale]["model"])
        dealer = next(d for d in pack.dealers if f"{d.name[locale]}" in learner.text.splitlines()[1])
        assert step.scripts_for(dealer.id)[0].title[locale] in learner.text  # the first model written for them
        learner.press(BUTTONS[locale]["practise"])
        learner.send(best_answer(step_id, locale))
        reply = learner.last
        assert reply.score is not None and f"{reply.score}" in learner.text
        learner.press(BUTTONS[locale]["all_checks"])  # the review leads with one thing; the rest on request
        for check in step.rubric:  # every check is listed, missed ones with their tip
            assert check.label[locale] in learner.text
        scoring = pack.scoring  # a guard or harm that did not fire is not listed (not even as ✅)
        for unfired in (scoring.copied_model, scoring.copied_lesson, scoring.keyword_list, *scoring.negative_checks):
            assert unfired.label[locale] not in learner.text
        label = "finish" if step_id == STEP_IDS[-1] else "next"
        learner.press(BUTTONS[locale][label])
    summary = learner.text
    for step in pack.steps:
        assert step.title[locale] in summary
    stored = {row["step"]: row["score"] for row in storage.scores()}
    assert set(stored) == set(STEP_IDS)
    for step in pack.steps:  # the summary shows the logged score of each step
        assert f"{step.title[locale]}{'：' if locale == 'zh' else ': '}{stored[step.id]}" in summary


def test_retry_keeps_the_best_score_and_counts_attempts(service, rep):
    learner = Learner(service, rep).send("/train").press_trigger("begin").press("我来练习")
    learner.send(poor_answer("icebreaking", "zh"))
    poor = learner.last.score
    learner.press("再答一次")
    assert "第 2 次" in learner.text
    learner.send(best_answer("icebreaking", "zh"))
    assert learner.last.score > poor
    assert f"本步最好成绩：{learner.last.score}" in learner.text


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_the_model_screen_sets_the_task_and_an_answer_typed_there_is_scored(service, storage, locale):
    who = Identity("console", f"typed-{locale}", "Learner")
    service.set_locale(who, locale)
    learner = Learner(service, who).send("/train").press_trigger("begin").press_trigger("show_model")
    model = learner.text
    assert {"practise", "another_model"} <= {b.trigger for b in learner.last.buttons}  # the button stays
    learner.send(best_answer("icebreaking", locale))
    assert learner.last.score is not None and learner.last.state == "feedback"
    assert [row["step"] for row in storage.scores()] == ["icebreaking"]
    learner.press(BUTTONS[locale]["retry"])  # the practice screen: the task on its own
    task = learner.text.split("\n\n")[1]  # between its heading and "type your answer"
    assert squeeze(task) in squeeze(model)  # the model screen had shown that very task


def test_a_new_answer_typed_at_the_review_is_the_next_attempt(service, storage, rep):
    learner = Learner(service, rep).send("/train").press_trigger("begin").press("我来练习")
    learner.send(poor_answer("icebreaking", "zh"))
    poor = learner.last.score
    learner.send(best_answer("icebreaking", "zh"))  # no "try again" pressed: typed at the review
    assert learner.last.state == "feedback" and learner.last.score > poor
    assert f"本步最好成绩：{learner.last.score}" in learner.text
    assert [row["step"] for row in storage.scores()] == ["icebreaking", "icebreaking"]
    learner.press("再答一次")
    assert "第 3 次" in learner.text  # both typed answers counted as attempts


def test_the_session_resumes_after_the_service_is_rebuilt(tmp_path, engine, rep):
    from bot.service import CoachService
    from bot.storage import Storage

    first = Storage(tmp_path / "resume.db")
    learner = Learner(CoachService(first, engine), rep).send("/train").press_trigger("begin")
    learner.press("我来练习").send(best_answer("icebreaking", "zh")).press("下一步")
    assert "第 2/5 步" in learner.text
    first.close()

    again = Learner(CoachService(Storage(tmp_path / "resume.db"), engine), rep)
    again.replies = again.service.handle(rep, Event("resume"))
    assert "欢迎回来" in again.text and "第 2/5 步" in again.text
    again.send("/train")
    assert "第 2/5 步" in again.text


def test_cancel_and_help_work_in_every_state(service, rep):
    learner = Learner(service, rep).send("/train")
    for press in (None, "begin", "show_model", "practise"):
        if press:
            learner.press_trigger(press)
        state_text = learner.text
        learner.send("/help")
        assert "/train" in all_text(learner.replies) and state_text in all_text(learner.replies)
    learner.send("/cancel")
    assert "已结束当前练习" in learner.text
    learner.send("/cancel")
    assert "不需要取消" in learner.text
    learner.send("/train")
    assert "接着上次的课程" in learner.text  # the cancelled course is offered back ...
    learner.press("从头开始")
    assert "五步沟通课程" in learner.text  # ... or a fresh one


def test_old_and_forged_buttons_get_an_expired_message_and_the_current_step(service, rep):
    learner = Learner(service, rep).send("/train")
    begin = learner.last.buttons[0]
    learner.press_trigger("begin")
    where = learner.text
    for event in (
        Event.press(begin),  # from an older message
        Event("button", "next_step"),  # not offered in this state
        Event("button", "no_such_trigger", "x"),  # forged
        Event("button", "practise", session_id=987654),  # another session's button
    ):
        learner.replies = service.handle(rep, event)
        # (a long screen is read page by page: where its pages break depends on the message in front of it)
        assert "过期" in learner.text and "".join(where.split()) in "".join(all_text(learner.replies).split())


def test_text_where_buttons_are_expected_gets_a_hint(service, rep):
    learner = Learner(service, rep).send("/train").press_trigger("begin")
    learner.send("随便说点什么")
    assert "请点下面的按钮" in learner.text and "我来练习" in learner.text
    learner.send("我来练习")  # typing a button's label presses it
    assert "练习" in learner.text and "直接输入你的回答" in learner.text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "没有收到文字"),
        ("   \n\t ", "没有收到文字"),
        ("\x00\x01\x1b[31m\x1b[0m", "没有收到文字"),  # nothing but control characters and terminal escapes
        ("😀😀 !!", "没有收到文字"),  # no words at all
        ("好" * 20_000, "超过了 4096"),
    ],
)
def test_bad_answers_get_a_clear_reply_and_the_prompt_again(service, rep, text, expected):
    learner = Learner(service, rep).send("/train").press_trigger("begin").press_trigger("practise")
    prompt = learner.text
    learner.replies = service.handle(rep, Event("text", text=text))
    assert expected in learner.text and prompt.splitlines()[0] in learner.text
    assert learner.last.score is None


def test_markup_in_answers_and_names_is_escaped(service, storage):
    who = Identity("console", "tricky", "<b>Boss</b> & Co")
    learner = Learner(service, who).send("/start")
    assert "&lt;b&gt;Boss&lt;/b&gt; &amp; Co" in learner.last.text
    learner.send("/train").press_trigger("begin").press_trigger("practise")
    answer = "王老板您好 <b>bold</b> & <script>x</script> 😀"
    learner.send(answer)
    assert "<script>" not in learner.last.text
    assert storage.turns()[-2]["text"] == answer  # logged exactly as sent


def test_unknown_commands_and_text_without_a_session(service, rep):
    learner = Learner(service, rep).send("/frobnicate")
    assert "/frobnicate" in learner.text and "/help" in learner.text
    learner.send("hello?")
    assert "/train" in learner.text


def test_language_switch(service, rep, pack):
    learner = Learner(service, rep).send("/lang")
    assert {"中文", "English"} <= {label.split(" ")[0].split("（")[0] for label in learner.labels}
    learner.press("English")
    assert "English" in learner.text
    learner.send("/train")
    assert "The five-step course" in learner.text
    learner.send("/lang zh")
    learner.send("/train")
    assert "五步沟通课程" in learner.text or "欢迎回来" in learner.text


def test_forget_me_really_deletes_after_confirmation(service, storage, rep):
    learner = Learner(service, rep).send("/train").press_trigger("begin").press_trigger("practise")
    learner.send("王老板您好，最近生意怎么样？")
    other = Learner(service, Identity("console", "someone-else", "Zhang")).send("/train")
    learner.send("/forget_me")
    assert "无法恢复" in learner.text and storage.find_user("console", "rep-li") is not None
    learner.press("不删了")
    assert storage.find_user("console", "rep-li") is not None
    learner.send("/forget_me").press("确认删除")
    assert "已删除" in learner.text
    assert storage.find_user("console", "rep-li") is None
    remaining = {t["user_id"] for t in storage.turns()} | {s["user_id"] for s in storage.scores()}
    assert remaining == {storage.find_user("console", "someone-else").id}
    assert other.send("/train").text  # other users are untouched


def test_photos_stickers_and_edits_get_a_clear_reply_and_the_current_step(service, rep):
    learner = Learner(service, rep).send("/train").press_trigger("begin").press_trigger("practise")
    prompt_title = learner.text.splitlines()[0]
    for event in (Event("unsupported", "photo"), Event("unsupported", "sticker"), Event("edited", text="改过的")):
        learner.replies = service.handle(rep, event)
        assert ("只能读文字" in learner.text or "修改" in learner.text) and prompt_title in learner.text
        assert learner.last.score is None
