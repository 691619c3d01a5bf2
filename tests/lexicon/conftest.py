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


@pytest.fixture(scope="session")
def nltk_wordnet(wordnet: WordNet, tmp_path_factory: pytest.TempPathFactory):
    """NLTK's WordNet reader over a copy of the database ``wordnet`` reads: the oracle of
    ``test_against_nltk.py`` (see ``nltk_oracle.py`` for why a copy and not symlinks)."""
    from .nltk_oracle import NLTK_MISSING, lexnames_text, open_reader, stage_database

    nltk_data = pytest.importorskip("nltk.data", reason=NLTK_MISSING)
    from synthlib.lexicon.wordnet import _BUILTIN_LEXNAMES

    root = stage_database(
        wordnet.source.folder, wordnet.source.archive, tmp_path_factory.mktemp("nltk_wordnet")
    )
    if not (root / "lexnames").is_file():  # Debian's database has none
        (root / "lexnames").write_text(lexnames_text(_BUILTIN_LEXNAMES), encoding="utf-8")
    nltk_data.path.append(str(root))  # NLTK opens files only under its data roots
    try:
        yield open_reader(root)
    finally:
        nltk_data.path.remove(str(root))
