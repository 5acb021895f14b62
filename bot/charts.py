"""PNG charts of scores: one learner's score per step over time, and a team's average per step.

matplotlib with the Agg backend (no display needed), called with plain data; every
word on a chart (title, axis names, step names) is passed in by the caller, who takes
it from the content pack in the reader's language. Chinese needs a font that has its
glyphs: the charts use Noto Sans SC (SIL Open Font License), shipped on PyPI by the
`pylopdf-fonts-zh-cn` package, so `pip install` alone is enough on a fresh machine.
Rendering takes a lock because matplotlib's settings are global; call it off the
event loop (e.g. `asyncio.to_thread`) from a bot.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
from matplotlib import font_manager, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from pylopdf_fonts_zh_cn import sans_path

FONT_PATH = sans_path()
font_manager.fontManager.addfont(str(FONT_PATH))
FONT_NAME = font_manager.FontProperties(fname=str(FONT_PATH)).get_name()  # "Noto Sans SC"

STYLE = {"font.family": [FONT_NAME], "axes.unicode_minus": False, "axes.spines.top": False, "axes.spines.right": False}
_render_lock = threading.Lock()


@dataclass(frozen=True)
class ChartText:
    """The words on a chart, in the reader's language."""

    title: str
    score_axis: str  # e.g. "得分"
    time_axis: str = ""  # e.g. "日期" (progress charts only)


@dataclass(frozen=True)
class StepScore:
    """One scored answer: when, which step, how many points (0-100)."""

    at: datetime
    step: str
    score: int


def learner_progress_png(scores: Sequence[StepScore], step_names: Mapping[str, str], text: ChartText,
                         pass_mark: int | None = None) -> bytes:  # fmt: skip
    """A line per step of the learner's scores over time; steps in the order of `step_names`."""
    with _render_lock, rc_context(STYLE):
        figure = Figure(figsize=(8, 4.5), dpi=100)
        axes = figure.add_subplot()
        for step, name in step_names.items():
            points = sorted((s.at, s.score) for s in scores if s.step == step)
            if points:
                times, values = zip(*points, strict=True)
                axes.plot(times, values, marker="o", label=name)
        _score_axis(axes, text, pass_mark)
        axes.set_xlabel(text.time_axis)
        locator = mdates.AutoDateLocator()
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        if axes.lines:
            axes.legend(loc="lower right", fontsize="small")
        return _png(figure)


def team_average_png(averages: Mapping[str, float], step_names: Mapping[str, str], text: ChartText,
                     pass_mark: int | None = None) -> bytes:  # fmt: skip
    """A bar per step with the team's average score; steps nobody practised show no bar."""
    with _render_lock, rc_context(STYLE):
        figure = Figure(figsize=(8, 4.5), dpi=100)
        axes = figure.add_subplot()
        names = list(step_names.values())
        values = [averages.get(step, 0) for step in step_names]
        bars = axes.bar(names, values, color="#3b7dd8")
        axes.bar_label(bars, labels=[f"{averages[s]:.0f}" if s in averages else "" for s in step_names])
        _score_axis(axes, text, pass_mark)
        axes.tick_params(axis="x", labelrotation=15)
        return _png(figure)


def _score_axis(axes, text: ChartText, pass_mark: int | None) -> None:
    axes.set_title(text.title)
    axes.set_ylabel(text.score_axis)
    axes.set_ylim(0, 105)
    if pass_mark is not None:
        axes.axhline(pass_mark, color="#c0392b", linestyle="--", linewidth=1)


def _png(figure: Figure) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
