"""Shared fixtures: one Lexicon for the whole session (loading takes about a second)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from synthlib.lexicon import Lexicon
from synthlib.lexicon.wordnet import WordNet


@pytest.fixture(scope="session")
def lexicon() -> Iterator[Lexicon]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("WORDNET_DIR", raising=False)  # the tests read the system's database
        loaded = Lexicon.load()
    yield loaded
    loaded.close()


@pytest.fixture(scope="session")
def wordnet(lexicon: Lexicon) -> WordNet:
    return lexicon.wordnet
