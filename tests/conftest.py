"""Shared fixtures: the shipped pack, an engine, and a service over a real SQLite file."""

from __future__ import annotations

import random

import pytest

from bot.service import CoachService, Identity
from bot.storage import Storage
from dialogs.engine import Engine
from knowledge.pack import load_pack


@pytest.fixture(scope="session")
def pack():
    return load_pack()


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
