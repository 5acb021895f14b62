"""`coach chat` as a real subprocess with piped stdin: /man, /swot and /pitch completed in each language,
each card stored under the console user and the session that made it, then opened again with /my."""

from __future__ import annotations

import sqlite3

import pytest

from tests.helpers import shipped_pack, squeeze
from tests.test_console import coach_chat
from tests.test_toolkit import RESTATED, SCALE, VALUE_STATEMENT

PACK = shipped_pack()
WORDS = {
    "zh": {"dealer": "一家渠道商", "done": "完成", "scenario": "用参考场景", "thinking": "用这句参考",
           "back": "← 全部卡片", "subject": "城东陈姐的店", "item": "街坊都信她"},
    "en": {"dealer": "A dealer", "done": "done", "scenario": "Use the suggested situation",
           "thinking": "Use the suggestion", "back": "← All cards", "subject": "Chen's corner shop",
           "item": "The neighbours trust her"},
}  # fmt: skip


def toolkit_script(locale: str) -> list[str]:
    w, product = WORDS[locale], PACK.product("home_fiber")
    lines = ["/man", "Mr Ma's stall", *[SCALE[locale][1]] * len(PACK.toolkit.man.questions)]
    lines += ["/swot", w["dealer"], w["subject"]]
    for _ in PACK.toolkit.swot.quadrants:
        lines += [w["item"], w["done"]]
    lines += ["/pitch", product.name[locale], product.scenarios[0].people[locale], w["scenario"]]
    lines += [product.features[1].name[locale], w["thinking"], RESTATED[locale], VALUE_STATEMENT[locale]]
    lines += ["/my", "3", w["back"], "2", w["back"], "1"]  # newest first: the pitch, the SWOT, the MAN card
    return lines


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_each_tool_completes_in_the_console_and_its_card_opens_with_my(tmp_path, locale):
    db = tmp_path / "coach.db"
    script = toolkit_script(locale)
    result = coach_chat(db, "--user", f"kit-{locale}", "--locale", locale, stdin_text="\n".join(script) + "\n")
    out = result.stdout.decode("utf-8")
    assert result.returncode == 0, result.stderr.decode()

    not_a_target = next(c for c in PACK.roleplay.man_classes if c.code == "man")
    read = squeeze(out)  # the pages of a screen, printed one after another, read as one passage
    assert read.count(squeeze(not_a_target.strategy[locale])) == 2  # the result, and the card opened from /my
    swot_heading = ("SWOT：" if locale == "zh" else "SWOT: ") + WORDS[locale]["subject"]
    pitch_heading = ("话术卡：" if locale == "zh" else "Script card: ") + PACK.product("home_fiber").name[locale]
    assert out.count(swot_heading) == 2 and out.count(pitch_heading) == 2  # each card, at the end and from /my
    assert ("卖点≠特点" if locale == "zh" else "not a feature") in out  # the restated feature was flagged
    with sqlite3.connect(db) as conn:
        cards = conn.execute(
            "SELECT c.kind, s.flow, c.user_id = s.user_id, u.external_id FROM result_cards c"
            " JOIN sessions s ON s.id = c.session_id JOIN users u ON u.id = c.user_id ORDER BY c.id"
        ).fetchall()
    assert cards == [("man", "man", 1, f"kit-{locale}"), ("swot", "swot", 1, f"kit-{locale}"),
                     ("pitch", "pitch", 1, f"kit-{locale}")]  # fmt: skip
