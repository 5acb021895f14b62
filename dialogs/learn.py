"""Micro-lessons with quizzes (flows/learn.yaml): callbacks, conditions and the getters its windows name.

The lessons are content (knowledge/content/lessons/*.yaml, `pack.lessons`); this module only walks
them. A question is offered as a `Quiz` (a poll on Telegram) and as one button per option (numbered
in the console); either way the answer arrives as the `answer` trigger with the option's index.
Answers are logged through `RecordQuizAnswer`; which lessons are done comes from the stored answers
(`ctx.quiz_results()`), so progress survives the session.

Session data (saved as JSON):
    list_page            which page of the lesson list is shown (0-based)
    lesson, page         the open lesson's id and the page shown (0-based)
    question             the question being asked (0-based)
    answers              this attempt's answers: {question index (str): chosen option index}
"""

from __future__ import annotations

from typing import Any

from dialogs.effects import RecordQuizAnswer
from dialogs.flow_session import Choice, FlowSession
from dialogs.turn import Quiz
from knowledge.pack import Lesson

LESSONS_PER_LIST_PAGE = 6


def _index(text: str) -> int | None:
    """A button's argument as a small index, or None when it is not one (forged data)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 3 else None


class LearnSession(FlowSession):
    # --- what is open --------------------------------------------------------------

    @property
    def lessons(self) -> tuple[Lesson, ...]:
        return self.ctx.pack.lessons

    @property
    def lesson(self) -> Lesson:
        return self.ctx.pack.lesson(self.data.get("lesson", "")) or self.lessons[0]

    @property
    def number(self) -> int:
        """The open lesson's place in the list, from 1."""
        return self.lessons.index(self.lesson) + 1

    @property
    def question(self):
        return self.lesson.quiz[min(self.data.get("question", 0), len(self.lesson.quiz) - 1)]

    def _progress(self, lesson: Lesson, results: dict[str, dict[int, bool]]) -> dict[str, Any]:
        """Whether every question of a lesson has a stored answer, and how many are right."""
        answered = {q: right for q, right in results.get(lesson.id, {}).items() if q < len(lesson.quiz)}
        return {"done": len(answered) == len(lesson.quiz), "right": sum(answered.values()), "asked": len(lesson.quiz)}

    # --- callbacks and conditions (named in flows/learn.yaml) ------------------------

    def known_lesson(self, arg: str = "", **_) -> bool:
        return self.ctx.pack.lesson(arg) is not None

    def open_lesson(self, arg: str = "", **_):
        self.data.update(lesson=arg, page=0, question=0, answers={})

    def next_lesson_page(self, **_):
        self.data["list_page"] = (self.data.get("list_page", 0) + 1) % self._list_pages()

    def has_next_page(self, **_) -> bool:
        return self.data.get("page", 0) + 1 < len(self.lesson.pages)

    def has_prev_page(self, **_) -> bool:
        return self.data.get("page", 0) > 0

    def turn_page(self, **_):
        self.data["page"] = self.data.get("page", 0) + 1

    def turn_back(self, **_):
        self.data["page"] = self.data.get("page", 0) - 1

    def begin_quiz(self, **_):
        self.data.update(question=0, answers={})

    def known_option(self, arg: str = "", **_) -> bool:
        chosen = _index(arg)
        return chosen is not None and chosen < len(self.question.options)

    def record_answer(self, arg: str = "", **_):
        chosen, index = int(arg), self.data.get("question", 0)
        self.data.setdefault("answers", {})[str(index)] = chosen
        self.effects.append(RecordQuizAnswer(self.lesson.id, index, chosen, chosen == self.question.correct))

    def has_next_question(self, **_) -> bool:
        return self.data.get("question", 0) + 1 < len(self.lesson.quiz)

    def advance_question(self, **_):
        self.data["question"] = self.data.get("question", 0) + 1

    def _practised_in(self, kind: str) -> bool:
        return any(p.kind == kind for p in self.lesson.practice)

    def practised_in_train(self, **_) -> bool:
        return self._practised_in("train")

    def practised_in_roleplay(self, **_) -> bool:
        return self._practised_in("roleplay")

    def practised_in_drill(self, **_) -> bool:
        return self._practised_in("drill")

    # --- getters (named in flows/learn.yaml) -----------------------------------------

    def _list_pages(self) -> int:
        return -(-len(self.lessons) // LESSONS_PER_LIST_PAGE)

    def has_more_lessons(self, **_) -> bool:
        return self._list_pages() > 1

    def lessons_view(self) -> dict[str, Any]:
        results = self.ctx.quiz_results()
        done = [p for p in (self._progress(lesson, results) for lesson in self.lessons) if p["done"]]
        return {
            "total": len(self.lessons),
            "done": len(done),
            "right": sum(p["right"] for p in done),
            "asked": sum(p["asked"] for p in done),
            "list_page": self.data.get("list_page", 0) % self._list_pages() + 1,
            "list_pages": self._list_pages(),
        }

    def lesson_choices(self) -> list[Choice]:
        results = self.ctx.quiz_results()
        start = self.data.get("list_page", 0) % self._list_pages() * LESSONS_PER_LIST_PAGE
        shown = self.lessons[start : start + LESSONS_PER_LIST_PAGE]
        return [
            Choice(
                lesson.id,
                vars={"number": start + i + 1, "title": self.local(lesson.title), **self._progress(lesson, results)},
            )
            for i, lesson in enumerate(shown)
        ]

    def page_view(self) -> dict[str, Any]:
        lesson, page = self.lesson, self.data.get("page", 0)
        return {
            "number": self.number,
            "title": self.local(lesson.title),
            "page": page + 1,
            "pages": len(lesson.pages),
            "body": self.local(lesson.pages[min(page, len(lesson.pages) - 1)]),
            "questions": len(lesson.quiz),
        }

    def quiz_view(self) -> Quiz:
        index, question = self.data.get("question", 0), self.question
        return Quiz(
            key=f"{self.lesson.id}:{index}",
            question=f"{index + 1}/{len(self.lesson.quiz)} · {self.local(question.question)}",
            options=tuple(self.local(option) for option in question.options),
            correct=question.correct,
            explanation=self.local(question.explanation),
        )

    def question_view(self) -> dict[str, Any]:
        return {"question": self.quiz_view().question}

    def option_choices(self) -> list[Choice]:
        return [Choice(str(i), self.local(option)) for i, option in enumerate(self.question.options)]

    def answered_view(self) -> dict[str, Any]:
        question = self.question
        chosen = self.data.get("answers", {}).get(str(self.data.get("question", 0)), question.correct)
        return {
            "right": chosen == question.correct,
            "chosen": self.local(question.options[chosen]),
            "correct": self.local(question.options[question.correct]),
            "explanation": self.local(question.explanation),
        }

    def result_view(self) -> dict[str, Any]:
        lesson, answers = self.lesson, self.data.get("answers", {})
        right = sum(answers.get(str(i)) == q.correct for i, q in enumerate(lesson.quiz))
        return {
            "number": self.number,
            "title": self.local(lesson.title),
            "right": right,
            "asked": len(lesson.quiz),
            "practice": [self._practice_line(p.kind, p.id) for p in lesson.practice],
        }

    def _practice_line(self, kind: str, target: str) -> str:
        """One line saying where the lesson is practised (a step, a persona, a deck), in the user's language."""
        ui, pack = self.ctx.ui, self.ctx.pack
        if kind == "train":
            return ui("learn.practice_train", step=self.local(pack.step(target).title))
        if kind == "roleplay":
            dealer = pack.dealer(target)
            return ui("learn.practice_roleplay", dealer=f"{self.local(dealer.name)} · {self.local(dealer.shop)}")
        return ui("learn.practice_drill", deck=ui(f"learn.deck_{target}"))
