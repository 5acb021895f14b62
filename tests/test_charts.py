"""The PNG charts: real images, with Chinese labels drawn from a font that has the glyphs."""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from matplotlib import image

from bot import charts
from bot.charts import ChartText, StepScore, learner_progress_png, team_average_png

STEP_NAMES = {
    "icebreaking": "破冰与同频",
    "need_guidance": "需求引导",
    "value_presentation": "价值呈现",
    "objection_handling": "异议处理",
    "agreement": "共识达成与行为促动",
}
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HISTORY = [StepScore(START + timedelta(days=day), step, 30 + 12 * day) for day in range(5) for step in STEP_NAMES]


def pixels(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return image.imread(io.BytesIO(png), format="png")


def inked_fraction(png: bytes) -> float:
    """The share of pixels that are not the white background."""
    rgb = pixels(png)[..., :3]
    return float((rgb.min(axis=-1) < 0.9).mean())


def render_both() -> tuple[bytes, bytes]:
    progress = learner_progress_png(HISTORY, STEP_NAMES, ChartText("王小明的进步", "得分", "日期"), pass_mark=60)
    team = team_average_png({"icebreaking": 72.5, "value_presentation": 41.0}, STEP_NAMES,
                            ChartText("团队每一步的平均分", "得分"), pass_mark=60)  # fmt: skip
    return progress, team


def test_charts_with_chinese_labels_render_every_glyph_and_are_not_blank():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for an empty box
        progress, team = render_both()
    for png in (progress, team):
        shape = pixels(png).shape
        assert shape[0] >= 400 and shape[1] >= 700
        assert inked_fraction(png) > 0.01  # lines, bars, axes and labels were drawn


def test_the_glyph_check_would_catch_a_font_without_chinese(monkeypatch):
    """The control for the test above: with matplotlib's default Latin font the same charts warn."""
    monkeypatch.setattr(charts, "STYLE", {**charts.STYLE, "font.family": ["DejaVu Sans"]})
    with pytest.warns(UserWarning, match="[Gg]lyph .* missing"):
        render_both()


def test_the_progress_chart_draws_one_line_per_practised_step():
    only_two = [s for s in HISTORY if s.step in ("icebreaking", "agreement")]
    fewer = learner_progress_png(only_two, STEP_NAMES, ChartText("进步", "得分"))
    more = learner_progress_png(HISTORY, STEP_NAMES, ChartText("进步", "得分"))
    assert inked_fraction(more) > inked_fraction(fewer)


def test_an_empty_history_still_gives_a_chart_with_its_title():
    png = learner_progress_png([], STEP_NAMES, ChartText("还没有练习", "得分"))
    assert inked_fraction(png) > 0.001


def test_a_higher_team_average_draws_a_taller_bar():
    low = team_average_png({"icebreaking": 20}, STEP_NAMES, ChartText("团队", "得分"))
    high = team_average_png({"icebreaking": 95}, STEP_NAMES, ChartText("团队", "得分"))
    assert inked_fraction(high) > inked_fraction(low)
