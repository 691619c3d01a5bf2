"""NLTK's WordNet reader as an oracle for synthlib's, over the same database files.

NLTK reads ``wndb(5WN)`` with code of its own, so where the two readers agree on a lemma, a synset
or an inflected form, synthlib's reading is very probably WordNet's. This module builds NLTK's
reader without downloads and draws the seeded samples the comparisons in
``test_against_nltk.py`` run over.

Building the reader takes three workarounds, each for NLTK 3.10 and none changing what it reads:

* NLTK wants a ``lexnames`` file, which Debian's ``wordnet-base`` lacks; one is written from the
  table of ``lexnames(5WN)`` (checked by the tests against known synsets, not just trusted).
* NLTK's path sandbox refuses files that resolve outside the reader's root, so a folder of
  symlinks is refused; the database files are copied instead (about 30 MB, a fraction of a
  second).
* NLTK's constructor maps Open Multilingual Wordnet synsets from the ``wordnet`` corpus of
  ``nltk_data`` (``map_wn``); there is no ``nltk_data`` here and no OMW is used, so the mapping is
  left out (the database is WordNet 3.0 itself, which OMW is keyed by).
"""

from __future__ import annotations

import random
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NLTK_MISSING = "nltk is not installed (pip install synthlib[dev])"

POS_TAGS = ("n", "v", "a", "r")
_SUFFIX = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}

# lexnames(5WN): the third column is the part of speech the file holds (1 noun ... 4 adverb)
_LEXNAME_POS_NUMBER = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}

# The database files NLTK's reader opens (index.sense is optional and absent from Debian's).
_DATABASE_FILES = (
    *(f"{kind}.{suffix}" for kind in ("index", "data") for suffix in _SUFFIX.values()),
    *(f"{suffix}.exc" for suffix in _SUFFIX.values()),
    "cntlist.rev",
    "index.sense",
    "lexnames",
)

SEED = 20240611

# --- building the reader -------------------------------------------------------------------------


def lexnames_text(names: Sequence[str]) -> str:
    """The ``lexnames`` file for ``names`` numbered from 00: ``NN<TAB>name<TAB>pos-number``."""
    return "".join(
        f"{number:02d}\t{name}\t{_LEXNAME_POS_NUMBER[name.partition('.')[0]]}\n"
        for number, name in enumerate(names)
    )


def stage_database(folder: Path | None, archive: Path | None, target: Path) -> Path:
    """Copy the database files from ``folder`` (or NLTK's zip ``archive``) into ``target``.

    Files the database lacks (``lexnames`` in Debian's, ``index.sense``) are left out.
    """
    target.mkdir(parents=True, exist_ok=True)
    if folder is not None:
        for name in _DATABASE_FILES:
            if (folder / name).is_file():
                shutil.copyfile(folder / name, target / name)
        return target
    assert archive is not None
    with zipfile.ZipFile(archive) as members:
        by_name = {Path(n).name: n for n in members.namelist() if not n.endswith("/")}
        for name in _DATABASE_FILES:
            if name in by_name:
                (target / name).write_bytes(members.read(by_name[name]))
    return target


def open_reader(root: Path) -> Any:
    """NLTK's ``WordNetCorpusReader`` over the staged database at ``root`` (no downloads).

    ``root`` must also be on ``nltk.data.path`` for as long as the reader is used: NLTK only
    opens files under its data roots.
    """
    import warnings

    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class OfflineReader(WordNetCorpusReader):
        def map_wn(self, version: str = "wordnet") -> None:
            return None  # no OMW mapping: it would load nltk_data's wordnet corpus

    with warnings.catch_warnings():
        # "The multilingual functions are not available": no OMW reader, as intended
        warnings.simplefilter("ignore", UserWarning)
        return OfflineReader(str(root), None)


def database_root(reader: Any) -> Path:
    """The folder ``reader`` reads (the staged copy of the database)."""
    return Path(reader.root.path)


# --- reading NLTK's answers ----------------------------------------------------------------------


def own_synsets(reader: Any, lemma: str, pos: str) -> list[Any]:
    """NLTK's synsets of ``lemma`` itself in ``pos``, in NLTK's order.

    ``reader.synsets`` runs Morphy first and appends the synsets of the base forms it finds
    (``glasses`` -> ``glass``); those are dropped here, which leaves the lemma's own index entry
    (each synset of an index line has the lemma among its words).
    """
    found: list[Any] = []
    for lemma_obj in reader.lemmas(lemma, pos):
        synset = lemma_obj.synset()
        if synset not in found:
            found.append(synset)
    return found


def own_lemma(synset: Any, lemma: str) -> Any:
    """The word of ``synset`` that is ``lemma`` (index form)."""
    return next(obj for obj in synset.lemmas() if obj.name().lower() == lemma)


# NLTK's one rule of detachment that morphy(7WN) does not have (synthlib keeps to the manual).
NLTK_ONLY_RULE = ("ves", "f")


def expected_base_forms(reader: Any, word: str, pos: str) -> list[str]:
    """What synthlib's ``base_forms`` should answer for ``word``, from NLTK's ``_morphy``.

    As in WordNet's own Morphy (the ``wn`` program), a word in the exception list gets the
    bases listed there and no rule of detachment is tried: ``modest modest`` in adj.exc is
    there to keep ``modest`` from being read as a comparative of ``mod``. Two deliberate
    differences are applied: synthlib never returns ``word`` itself, and it has no rule
    ``-ves`` -> ``-f`` (NLTK's own, not in morphy(7WN): real plurals such as ``wolves`` are in
    noun.exc, and ``wn reeves`` finds ``reeve`` only). Collocations, which Morphy and synthlib
    also reduce word by word and NLTK's ``_morphy`` does not, are left to the caller.
    """
    by_rules = word not in reader._exception_map[pos]
    return [
        form
        for form in reader._morphy(word, pos)
        if form != word and not (by_rules and pos == "n" and by_nltk_only_rule(word, form))
    ]


def by_nltk_only_rule(word: str, form: str) -> bool:
    """Whether ``form`` comes from ``word`` by NLTK's extra noun rule ``-ves`` -> ``-f``."""
    suffix, ending = NLTK_ONLY_RULE
    return word.endswith(suffix) and form == word[: -len(suffix)] + ending


# --- samples -------------------------------------------------------------------------------------


def index_lemmas(root: Path, pos: str) -> list[str]:
    """The lemmas of ``index.<pos>`` in file order (the first column; header lines skipped)."""
    text = (root / f"index.{_SUFFIX[pos]}").read_text(encoding="utf-8")
    return [line.split(" ", 1)[0] for line in text.splitlines() if line and line[0] != " "]


def _draw(
    rng: random.Random, lemmas: Sequence[str], count: int, taken: set[str], keep: Any = None
) -> list[str]:
    order = list(lemmas)
    rng.shuffle(order)
    drawn: list[str] = []
    for lemma in order:
        if len(drawn) == count:
            break
        if lemma not in taken and (keep is None or keep(lemma)):
            drawn.append(lemma)
            taken.add(lemma)
    return drawn


@dataclass(frozen=True)
class LemmaSample:
    """Lemmas (index form) drawn from the index files, and the strata they were drawn for."""

    lemmas: tuple[str, ...]
    capitalised: tuple[str, ...]  # nouns written with a capital in some synset (Paris)
    multiword: tuple[str, ...]  # collocations (give_up)
    satellites: tuple[str, ...]  # adjectives with a satellite sense


def sample_lemmas(reader: Any, root: Path, size: int = 300, seed: int = SEED) -> LemmaSample:
    """``size`` lemmas: 20 in each stratum, the rest spread over the parts of speech."""
    rng = random.Random(seed)
    index = {pos: index_lemmas(root, pos) for pos in POS_TAGS}
    taken: set[str] = set()

    def capitalised(lemma: str) -> bool:
        return any(own_lemma(s, lemma).name() != lemma for s in own_synsets(reader, lemma, "n"))

    def satellite(lemma: str) -> bool:
        return any(s.pos() == "s" for s in own_synsets(reader, lemma, "a"))

    strata = {
        "capitalised": _draw(rng, index["n"], 20, taken, capitalised),
        "multiword": _draw(
            rng, [w for pos in POS_TAGS for w in index[pos]], 20, taken, lambda w: "_" in w
        ),
        "satellites": _draw(rng, index["a"], 20, taken, satellite),
    }
    rest = size - sum(len(drawn) for drawn in strata.values())
    shares = {"n": 0.45, "v": 0.2, "a": 0.2, "r": 0.15}  # nouns are most of WordNet
    general: list[str] = []
    for pos in POS_TAGS:
        count = rest - len(general) if pos == POS_TAGS[-1] else round(rest * shares[pos])
        general += _draw(rng, index[pos], count, taken)
    lemmas = tuple(w for drawn in strata.values() for w in drawn) + tuple(general)
    return LemmaSample(
        lemmas,
        tuple(strata["capitalised"]),
        tuple(strata["multiword"]),
        tuple(strata["satellites"]),
    )


def exception_forms(root: Path, pos: str) -> list[str]:
    """The inflected forms (first column) of ``<pos>.exc``, in file order."""
    path = root / f"{_SUFFIX[pos]}.exc"
    if not path.is_file():
        return []
    return [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line]


# Regular endings to build inflected forms from lemmas (Morphy's suffixes, added blindly: a form
# that is no word must give no base form in either reader).
_ENDINGS = {"n": ("s", "es"), "v": ("s", "es", "ed", "ing"), "a": ("er", "est"), "r": ()}


def _inflect(word: str, ending: str) -> str:
    if word.endswith("y") and ending == "es":
        return word[:-1] + "ies"
    if word.endswith("e") and ending[0] in "ei":
        return word[:-1] + ending  # Morphy's rules restore the e
    return word + ending


def sample_forms(
    root: Path, lemmas: Iterable[str], has_lemma: Any, size: int = 300, seed: int = SEED
) -> list[tuple[str, str]]:
    """``size`` (inflected form, pos) pairs: 120 from the exception lists, up to 30 collocations
    with their first word inflected (``kicks_out``) and the rest built from ``lemmas`` with
    regular endings."""
    rng = random.Random(seed)
    forms: list[tuple[str, str]] = []
    shares = {"n": 45, "v": 45, "a": 23, "r": 7}  # adv.exc has seven lines
    for pos in POS_TAGS:
        listed = exception_forms(root, pos)
        forms += [(w, pos) for w in rng.sample(listed, min(shares[pos], len(listed)))]
    whole: set[tuple[str, str]] = set()
    first_word: set[tuple[str, str]] = set()
    for lemma in lemmas:
        for pos, endings in _ENDINGS.items():
            if not has_lemma(lemma, pos):
                continue
            for ending in endings:
                whole.add((_inflect(lemma, ending), pos))
                first, separator, rest = lemma.partition("_")
                if separator:
                    first_word.add((f"{_inflect(first, ending)}_{rest}", pos))
    taken = set(forms)
    collocations = sorted(first_word - taken)
    forms += rng.sample(collocations, min(30, len(collocations)))
    regular = sorted(whole - taken - set(forms))
    forms += rng.sample(regular, min(size - len(forms), len(regular)))
    return forms


# --- glosses -------------------------------------------------------------------------------------

QUOTE_IN_DEFINITION = "a quoted phrase inside the definition: NLTK cuts it out as an example"
TEXT_AFTER_EXAMPLES = (
    "text outside the quotes (attribution, note, stray punctuation or quote): NLTK keeps it "
    "in the definition"
)
SPACES_EMPTIES_REPEATS = "NLTK keeps spaces inside the quotes, empty quotes and repeated examples"


def definition_difference(ours: str, nltk_definition: str) -> str | None:
    """The known way the two readers split a gloss that explains why NLTK's definition is not
    synthlib's, or None. NLTK takes every quoted string as an example and the rest, trimmed of
    ``;`` and spaces, as the definition."""
    if '"' in ours:
        return QUOTE_IN_DEFINITION
    if nltk_definition.startswith(ours):
        tail = nltk_definition[len(ours) :].lstrip()
        if tail[:1] in (";", ":", ",", ".", '"'):
            return TEXT_AFTER_EXAMPLES
    return None


def examples_difference(
    ours_definition: str, ours: Sequence[str], nltk_examples: Sequence[str]
) -> str | None:
    """The known way the two readers split a gloss that explains why NLTK's examples are not
    synthlib's, or None."""
    if '"' in ours_definition:
        return QUOTE_IN_DEFINITION
    cleaned: list[str] = []
    for example in nltk_examples:
        if example.strip() and example.strip() not in cleaned:
            cleaned.append(example.strip())
    return SPACES_EMPTIES_REPEATS if cleaned == list(ours) else None
