"""Shared fixtures: the shipped pack, an engine, and a service over a real SQLite file."""

from __future__ import annotations

import os

# Before numpy is loaded (the engine imports it), and inherited by every `coach` subprocess: OpenBLAS's
# matrix products (the scorer's similarities) run on one thread. With one thread per core, OpenBLAS's
# threads spin while they wait and fight the model's own threads: on the loaded 2-core test machine the
# pack's model answers scored 2-3 times slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import random

import pytest
from hypothesis import settings

from bot.service import CoachService, Identity
from bot.storage import Storage
from dialogs.engine import Engine
from tests.helpers import shipped_pack

# Every run of the suite tries the same Hypothesis examples (as many as each test asks for), so a run
# fails only when the code changed; `pytest --hypothesis-profile=explore` draws fresh ones (and keeps
# what fails in .hypothesis/ to replay).
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def pack():
    """The shipped pack (frozen; every test only reads it), loaded once per process."""
    return shipped_pack()


@pytest.fixture
def engine(pack):
    return Engine(pack, rng=random.Random(7))


@pytest.fixture
def storage(tmp_path):
    store = Storage(tmp_path / "coach.db")
    yield store
    store.close()


@pytest.fixture
def service(storage, engine):
    return CoachService(storage, engine, default_locale="zh")


@pytest.fixture
def rep():
    return Identity("console", "rep-li", "Li")


@pytest.fixture(scope="module")
def team_db(tmp_path_factory, pack):
    """The team log of tests/team_log.py as a database file, built once per module (copy it before writing)."""
    from tests import team_log

    path = tmp_path_factory.mktemp("teams") / "coach.db"
    team_log.build(path, pack)
    return path


@pytest.fixture
def pack_copy(tmp_path):
    """A copy of the shipped pack, and a way to edit one of its YAML files."""
    import shutil

    import yaml

    from knowledge.pack import DEFAULT_DIR

    root = tmp_path / "pack"
    shutil.copytree(DEFAULT_DIR, root)

    def edit(relative: str, change):
        path = root / relative
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    return root, edit
