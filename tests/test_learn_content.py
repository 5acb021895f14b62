"""The lessons of /learn as content: every outline module is taught, and a broken lesson is refused,
naming its file and field (page too long for a phone, a quiz over Telegram's poll limits, a practice
that does not exist, a module the outline does not have)."""

from __future__ import annotations

import shutil

from knowledge.pack import DEFAULT_DIR, LOCALES, check_pack
from knowledge.phone_screen import COLUMNS, PAGE_LINES, screen_lines


def test_every_module_of_the_course_outline_is_covered_by_a_lesson(pack):
    outline = [module.id for module in pack.outline]
    covered = {module for lesson in pack.lessons for module in lesson.modules}
    assert outline, "the outline lists its modules"
    assert [m for m in outline if m not in covered] == []
    assert covered <= set(outline)  # no lesson claims a module the outline does not have


def test_the_outline_keeps_the_course_modules_the_issue_names(pack):
    """The outline is the course's, in both languages: its headings carry the course's key terms."""
    titles = " ".join(m.title.zh + m.part.zh for m in pack.outline)
    terms = "外部环境 优势与劣势 目标与原则 理想的经销商 选择经销商的标准 基础层 延伸层 利益共享 责任共担"
    for term in [*terms.split(), "误区", "MAN", "四阶", "同频", "听、说、读、写", "沟通的五个步骤", "PESOS"]:
        assert term in titles, term
    assert all(m.title.en and m.part.en for m in pack.outline)


def test_lessons_are_in_file_order_and_each_fits_a_phone_and_the_poll_limits(pack):
    assert len(pack.lessons) >= 9
    files = sorted((DEFAULT_DIR / "lessons").glob("*.yaml"))
    assert [lesson.id for lesson in pack.lessons] == [f.stem.partition("-")[2] for f in files]
    for lesson in pack.lessons:
        assert 2 <= len(lesson.quiz) <= 3 and lesson.practice
        for page in lesson.pages:
            for locale in LOCALES:
                assert screen_lines(page[locale].strip()) <= PAGE_LINES, (lesson.id, locale)
        for question in lesson.quiz:
            assert 0 <= question.correct < len(question.options)


def test_a_chinese_character_takes_two_columns():
    assert screen_lines("渠" * (COLUMNS // 2)) == 1
    assert screen_lines("渠" * (COLUMNS // 2 + 1)) == 2
    assert screen_lines("a" * COLUMNS + "\n" + "b") == 2


def problems_of(root) -> list[str]:
    return [str(p) for p in check_pack(root)]


def test_a_module_no_lesson_covers_is_refused(pack_copy):
    root, edit = pack_copy
    edit("lessons/06-five_myths.yaml", lambda d: d.update(modules=["man_analysis"]))
    assert problems_of(root) == ["outline.yaml: five_myths: no lesson covers this module"]


def test_a_broken_lesson_is_refused_naming_file_and_field(pack_copy):
    root, edit = pack_copy
    rel = "lessons/03-choosing_dealers.yaml"

    def break_it(data):
        data["modules"].append("no_such_module")
        data["pages"][0]["zh"] = "很长的一行" * 60
        data["quiz"][0]["question"]["en"] = "Why?" * 80
        data["quiz"][0]["options"][1]["zh"] = "选项" * 60
        data["quiz"][1]["correct"] = 2  # it has two options
        data["practice"].append({"kind": "roleplay", "id": "nobody"})
        data["practice"].append({"kind": "drill", "id": "managers"})

    edit(rel, break_it)
    problems = problems_of(root)
    assert f"{rel}: modules[3]: no module 'no_such_module' in outline.yaml" in problems
    assert any(p.startswith(f"{rel}: pages[0].zh: fills") for p in problems)
    assert any(p.startswith(f"{rel}: quiz[0].question.en: 320 characters") for p in problems)
    assert any(p.startswith(f"{rel}: quiz[0].options[1].zh: 120 characters") for p in problems)
    assert f"{rel}: quiz[1].correct: no option 2 (counted from 0)" in problems
    assert f"{rel}: practice[2].id: no roleplay 'nobody' in the pack" in problems
    assert f"{rel}: practice[3].id: no drill 'managers' in the pack" in problems


def test_a_lesson_must_be_named_after_its_id_and_ids_are_unique(pack_copy):
    root, _ = pack_copy
    shutil.copy(root / "lessons/01-channel_design.yaml", root / "lessons/12-channel_design.yaml")
    (root / "lessons/02-working_back_from_product.yaml").rename(root / "lessons/02-product.yaml")
    problems = problems_of(root)
    duplicate = "lessons/12-channel_design.yaml: id: lesson 'channel_design' is also defined in"
    assert f"{duplicate} lessons/01-channel_design.yaml" in problems
    assert "lessons/02-product.yaml: id: the file must be named NN-working_back_from_product.yaml" in problems


def test_a_missing_translation_in_a_lesson_is_refused(pack_copy):
    root, edit = pack_copy
    edit("lessons/07-man_analysis.yaml", lambda d: d["quiz"][0]["explanation"].pop("en"))
    assert problems_of(root) == ["lessons/07-man_analysis.yaml: quiz[0].explanation.en: missing translation (en)"]
