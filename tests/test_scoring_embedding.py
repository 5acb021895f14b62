"""The model's vectors do not depend on how they were asked for (alone, in a batch, in the background),
and exemplar vectors computed in the background are cached and never crash an exiting process."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from dialogs.scoring.embedding import Embedder, content_key, exemplar_vectors, exemplar_vectors_soon
from dialogs.scoring.exemplars import ExemplarBank

TEXTS = ["您好，上回您说周末最忙，这周末怎么样？", "I'd be fuming too, honestly.", "我们一起看看怎么办", "Fair?"]


def test_a_text_gets_the_same_vector_alone_and_in_any_batch():
    embedder = Embedder.shared()
    batch = embedder.embed(TEXTS)
    reordered = embedder.embed(TEXTS[::-1])[::-1]
    for i, text in enumerate(TEXTS):
        assert np.array_equal(embedder.embed([text])[0], batch[i])
    assert np.array_equal(reordered, batch)


def test_exemplar_vectors_computed_in_the_background_are_the_models_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_CACHE_DIR", str(tmp_path))
    texts = [f"{t} (background test)" for t in TEXTS] * 20  # more than one chunk
    embedder = Embedder.shared()
    pending = exemplar_vectors_soon(embedder, texts)
    vectors = pending.result(timeout=300)
    assert np.array_equal(vectors, embedder.embed(texts))
    assert (tmp_path / f"exemplars-{content_key(texts)}.npy").exists()
    assert exemplar_vectors(embedder, texts) is vectors


def test_a_bank_built_on_a_cold_cache_compares_like_one_built_on_a_warm_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_CACHE_DIR", str(tmp_path))
    embedder = Embedder.shared()

    def bank():
        made = ExemplarBank()
        made.add("greeting", ["您好，最近生意怎么样？ (bank test)", "How's business these days? (bank test)"])
        made.add("discount", ["我给您再打个九折 (bank test)", "I'll knock ten percent off (bank test)"])
        made.build(embedder, ["今天天气不错 (bank test)", "The weather is fine (bank test)"])
        return made

    cold = bank()  # nothing cached: computed in the background, the first comparison waits
    clauses = embedder.embed(["王老板，这周末生意好吗？", "这样吧，我私下给您便宜点"])
    first = cold.similarities(clauses)
    warm = bank()
    assert np.array_equal(warm.similarities(clauses), first)
    assert first[0, 0] > first[0, 1] and first[1, 1] > first[1, 0]


def test_a_process_that_exits_while_exemplars_are_computed_exits_cleanly(tmp_path):
    code = (
        "from dialogs.scoring.embedding import Embedder, exemplar_vectors_soon\n"
        "pending = exemplar_vectors_soon(Embedder.shared(), [f'句子 {i} sentence' for i in range(2000)])\n"
        "print('started', pending.done())\n"
    )
    env = {**os.environ, "COACH_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "started False"
    assert not list(tmp_path.glob("exemplars-*.npy"))  # stopped, not cached half-done
