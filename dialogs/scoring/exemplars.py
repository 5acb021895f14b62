"""The pack's exemplar sentences as one matrix of vectors, and how close each clause is to each group.

Every rubric check, objection stage and harm has a group of exemplars (both languages). The
vectors are centred on the mean of all exemplars and the neutral background lines before
comparing: raw e5 cosines sit between 0.8 and 0.95 for almost any two sentences, and centring
spreads them out so a threshold means something.
"""

from __future__ import annotations

import numpy as np

from dialogs.scoring.embedding import Embedder, exemplar_vectors_soon


class ExemplarBank:
    def __init__(self):
        self._texts: list[str] = []
        self._groups: dict[str, int] = {}
        self._starts: list[int] = []
        self._mean: np.ndarray | None = None
        self._centred: np.ndarray | None = None
        self._pending = None  # the vectors, while they are computed in the background (embedding.py)

    def add(self, name: str, texts: list[str]) -> int | None:
        """Register a group; returns its index (None when it has no exemplars)."""
        texts = [t.strip() for t in texts if t.strip()]
        if not texts:
            return None
        if name in self._groups:
            raise ValueError(f"exemplar group {name!r} added twice")
        self._groups[name] = len(self._starts)
        self._starts.append(len(self._texts))
        self._texts.extend(texts)
        return self._groups[name]

    def build(self, embedder: Embedder, background: list[str]) -> None:
        """Ask for the vectors; when they are not cached they are computed in the background, and the
        first comparison waits for them (a first start shows its first prompt sooner)."""
        self._pending = exemplar_vectors_soon(embedder, self._texts + background)

    def _wait(self) -> None:
        if self._centred is None and self._pending is not None:
            vectors = self._pending.result()
            self._mean = vectors.mean(axis=0)
            self._centred = self._centre(vectors[: len(self._texts)])

    def centre(self, vectors: np.ndarray) -> np.ndarray:
        self._wait()
        return self._centre(vectors)

    def _centre(self, vectors: np.ndarray) -> np.ndarray:
        centred = vectors - self._mean
        return centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-6)

    @property
    def groups(self) -> int:
        return len(self._starts)

    def similarities(self, clause_vectors: np.ndarray) -> np.ndarray:
        """(clauses × groups): each clause's best centred cosine with any exemplar of each group."""
        if not len(clause_vectors) or not self._starts:
            return np.zeros((len(clause_vectors), self.groups), dtype=np.float32)
        self._wait()
        per_exemplar = self.centre(clause_vectors) @ self._centred.T
        return np.maximum.reduceat(per_exemplar, self._starts, axis=1)
