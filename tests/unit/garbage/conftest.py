"""Demo dataset and one Sudachi analyzer for the garbage unit tests."""

from __future__ import annotations

import pytest

from garbage import DEMO_DATA, ItemIndex, load_lexicon, parse_files, read_dir
from garbage.model import Dataset
from nlu.normalize import default_analyzer


@pytest.fixture(scope="session")
def demo_files() -> dict[str, bytes]:
    return read_dir(DEMO_DATA)


@pytest.fixture(scope="session")
def demo_ds(demo_files) -> Dataset:
    return parse_files(demo_files)


@pytest.fixture(scope="session")
def index(demo_ds) -> ItemIndex:
    return ItemIndex(demo_ds, default_analyzer(), load_lexicon())
