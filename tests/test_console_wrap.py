"""Wrapping and styling a reply for the terminal: words whole, punctuation where a reader expects it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.console.markup import styled_lines
from bot.console.wrap import NO_LINE_END, NO_LINE_START, display_width, wrap, wrap_line


def rows(text: str, width: int) -> list[str]:
    return ["".join(t for _, t in row) for row in wrap_line([("", text)], width)]


english_words = st.lists(st.text("abcdefghijklmnopqrstuvwxyz'-,.", min_size=1, max_size=12), min_size=1, max_size=60)


@given(words=english_words, width=st.integers(20, 120))
def test_english_wraps_only_at_spaces_and_fits_the_width(words, width):
    wrapped = rows(" ".join(words), width)
    assert all(display_width(r) <= width for r in wrapped)
    assert " ".join(wrapped).split() == words  # every word whole, in order


sentence = st.tuples(
    st.text("王老板您好最近店里生意怎么样今天想听听的想法十分钟就够青禾路由器", min_size=1, max_size=14),
    st.sampled_from(["，", "。", "！", "？", "、", "；", "：", "）", "」", "》"]),
    st.sampled_from(["", "（", "「", "《", "“"]),
)


@given(sentences=st.lists(sentence, min_size=1, max_size=30), width=st.integers(12, 100))
def test_chinese_never_starts_a_line_with_closing_punctuation_nor_ends_one_opening(sentences, width):
    text = "".join(opening + words + closing for words, closing, opening in sentences)
    wrapped = rows(text, width)
    assert "".join(wrapped) == text  # nothing lost, nothing added
    assert all(display_width(r) <= width for r in wrapped)  # a Chinese character counts two columns
    assert not [r for r in wrapped[1:] if r[0] in NO_LINE_START]
    assert not [r for r in wrapped[:-1] if r[-1] in NO_LINE_END]


def test_a_bullet_or_check_continues_under_its_text():
    text = "  ✅ Asked about the dealer's business: good opening questions that connect quickly and naturally."
    wrapped = rows(text, 40)
    assert len(wrapped) > 1
    assert all(r.startswith(" " * 5) and r[5] != " " for r in wrapped[1:])  # under "Asked", past "  ✅ "
    bullet = rows("• 王老板您好，最近店里生意怎么样？今天想听听您的想法，十分钟就够。", 30)
    assert all(r.startswith("  ") for r in bullet[1:])


def test_a_word_wider_than_the_line_is_cut_rather_than_overflowing():
    assert rows("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_wide_emoji_count_two_columns():
    assert display_width("✅") == 2 and display_width("⚠️") == 2 and display_width("中文") == 4


def test_telegram_bold_is_bold_and_checks_and_scores_are_coloured():
    lines = styled_lines(
        "<b>Step 1: 72 points</b>\n✅ Open question: asked how business is\n❌ Say why: tip\n⚠️ Points off: x"
    )
    heading, passed, missed, off = lines
    assert all("bold" in style for style, _ in heading)
    assert ("bold class:score", "72 points") in heading
    assert passed[0] == ("class:passed", "✅ Open question") and passed[1] == ("", ": asked how business is")
    assert missed[0] == ("class:missed", "❌ Say why") and off[0][0] == "class:warning"


def test_entities_are_decoded_and_control_characters_dropped():
    (line,) = styled_lines("&lt;b&gt; &amp; \x1b[2J\x07ok")
    assert "".join(t for _, t in line) == "<b> & [2Jok"


def test_every_line_of_a_reply_is_wrapped_and_blank_lines_kept():
    wrapped = wrap(styled_lines("<b>Title</b>\n\n" + "word " * 30), 30)
    texts = ["".join(t for _, t in row) for row in wrapped]
    assert texts[:2] == ["Title", ""] and len(texts) > 3
