"""Shared fixtures: one Lexicon for the whole session (loading takes a second or more)."""

from __future__ import annotations

import pytest

from synthlib.lexicon import Lexicon
from synthlib.lexicon.wordnet import WordNet


@pytest.fixture(scope="session")
def lexicon(session_lexicon: Lexicon) -> Lexicon:
    return session_lexicon  # the system's WordNet database (tests/conftest.py)


@pytest.fixture(scope="session")
def wordnet(lexicon: Lexicon) -> WordNet:
    return lexicon.wordnet
