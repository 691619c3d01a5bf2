"""synthlib's WordNet reader against NLTK's, over the same database files.

NLTK parses ``wndb(5WN)`` with code of its own (``nltk_oracle.py`` builds its reader offline);
where the two agree, synthlib reads WordNet as WordNet is. The comparisons run over a seeded
sample of 300 lemmas (every part of speech, with capitalised words, collocations and adjective
satellites drawn on purpose), the synsets they reach and 300 inflected forms. Each test reports
every disagreement with the lemma or form it came from.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from synthlib.lexicon.wordnet import KEPT_POINTERS, Synset, WordNet

from .nltk_oracle import (
    POS_TAGS,
    LemmaSample,
    database_root,
    definition_difference,
    examples_difference,
    expected_base_forms,
    own_lemma,
    own_synsets,
    sample_forms,
    sample_lemmas,
)

SAMPLE_SIZE = 300
GLOSS_AGREEMENT = 0.99  # the share of sampled synsets whose gloss both readers split alike


@dataclass(frozen=True)
class Reached:
    """A synset of the sample, the first sampled lemma that reached it and NLTK's synset."""

    lemma: str
    ours: Synset
    theirs: Any

    def __str__(self) -> str:
        return f"{self.lemma}: {self.theirs.name()} ({self.ours.ss_type} {self.ours.offset})"


@pytest.fixture(scope="module")
def sample(nltk_wordnet: Any) -> LemmaSample:
    return sample_lemmas(nltk_wordnet, database_root(nltk_wordnet), SAMPLE_SIZE)


@pytest.fixture(scope="module")
def lemma_pos(sample: LemmaSample) -> list[tuple[str, str]]:
    """Every (lemma, part of speech) of the sample, whether or not the lemma has senses there."""
    return [(lemma, pos) for lemma in sample.lemmas for pos in POS_TAGS]


@pytest.fixture(scope="module")
def reached(sample: LemmaSample, wordnet: WordNet, nltk_wordnet: Any) -> list[Reached]:
    seen: set[tuple[str, int]] = set()
    found: list[Reached] = []
    for lemma in sample.lemmas:
        for pos in POS_TAGS:
            for synset in wordnet.synsets(lemma, pos):
                if (synset.pos, synset.offset) not in seen:
                    seen.add((synset.pos, synset.offset))
                    theirs = nltk_wordnet.synset_from_pos_and_offset(synset.pos, synset.offset)
                    found.append(Reached(lemma, synset, theirs))
    return found


@pytest.fixture(scope="module")
def forms(sample: LemmaSample, wordnet: WordNet, nltk_wordnet: Any) -> list[tuple[str, str]]:
    return sample_forms(database_root(nltk_wordnet), sample.lemmas, wordnet.has_lemma)


def report(what: str, mismatches: list[str]) -> str:
    return f"{len(mismatches)} {what}:\n  " + "\n  ".join(mismatches)


# --- the oracle and the sample -------------------------------------------------------------------

# Synsets whose lexicographer file anyone can check from their words (lex_filenum in brackets).
KNOWN_LEXNAMES = [
    ("n", 1740, "entity", "noun.Tops"),  # [03]
    ("n", 2084071, "dog", "noun.animal"),  # [05]
    ("n", 7555863, "food", "noun.food"),  # [13]
    ("n", 15113229, "time_period", "noun.time"),  # [28]
    ("v", 1740, "breathe", "verb.body"),  # [29]
    ("v", 2756558, "rain", "verb.weather"),  # [43]
    ("a", 2598609, "abasic", "adj.pert"),  # [01]
    ("a", 3147282, "avenged", "adj.ppl"),  # [44], the last file
]


@pytest.mark.parametrize(("pos", "offset", "word", "lexname"), KNOWN_LEXNAMES)
def test_nltk_reads_the_lexnames_file_as_lexnames_5wn_numbers_it(
    nltk_wordnet: Any, pos: str, offset: int, word: str, lexname: str
):
    synset = nltk_wordnet.synset_from_pos_and_offset(pos, offset)
    assert word in synset.lemma_names()
    assert synset.lexname() == lexname


def test_sample_draws_300_lemmas_with_every_stratum(sample: LemmaSample, nltk_wordnet: Any):
    assert len(set(sample.lemmas)) == SAMPLE_SIZE
    strata = (sample.capitalised, sample.multiword, sample.satellites)
    assert [len(stratum) for stratum in strata] == [20, 20, 20]
    assert set().union(*strata) <= set(sample.lemmas)
    for pos in POS_TAGS:
        assert any(own_synsets(nltk_wordnet, lemma, pos) for lemma in sample.lemmas)


# --- lemmas and synsets --------------------------------------------------------------------------


def test_has_lemma_agrees_with_nltk(wordnet: WordNet, nltk_wordnet: Any, lemma_pos):
    mismatches = [
        f"{lemma} ({pos}): synthlib {ours}, nltk {not ours}"
        for lemma, pos in lemma_pos
        if (ours := wordnet.has_lemma(lemma, pos)) != bool(own_synsets(nltk_wordnet, lemma, pos))
    ]
    assert not mismatches, report("lemmas known to one reader only", mismatches)


def test_synsets_of_each_lemma_come_in_nltk_order(wordnet: WordNet, nltk_wordnet: Any, lemma_pos):
    mismatches = []
    for lemma, pos in lemma_pos:
        ours = [s.offset for s in wordnet.synsets(lemma, pos)]
        theirs = [s.offset() for s in own_synsets(nltk_wordnet, lemma, pos)]
        if ours != theirs:
            mismatches.append(f"{lemma} ({pos}): synthlib {ours}, nltk {theirs}")
    assert not mismatches, report("lemmas with other synsets or order", mismatches)


def test_synset_types_agree_with_nltk_satellites_included(reached: list[Reached]):
    mismatches = [
        f"{r}: synthlib {r.ours.ss_type}, nltk {r.theirs.pos()}"
        for r in reached
        if r.ours.ss_type != r.theirs.pos()
    ]
    assert any(r.ours.ss_type == "s" for r in reached)
    assert not mismatches, report("synsets of another type", mismatches)


def test_lemma_names_keep_the_lexicographers_case_and_order(reached: list[Reached]):
    mismatches = [
        f"{r}: synthlib {list(r.ours.lemmas)}, nltk {r.theirs.lemma_names()}"
        for r in reached
        if list(r.ours.lemmas) != r.theirs.lemma_names()
    ]
    assert any(name != name.lower() for r in reached for name in r.ours.lemmas)
    assert not mismatches, report("synsets with other words", mismatches)


def test_lexnames_agree_with_nltk(reached: list[Reached]):
    mismatches = [
        f"{r}: synthlib {r.ours.lexname}, nltk {r.theirs.lexname()}"
        for r in reached
        if r.ours.lexname != r.theirs.lexname()
    ]
    assert not mismatches, report("synsets in another lexicographer file", mismatches)


# --- glosses -------------------------------------------------------------------------------------


def definition_disagreements(reached: list[Reached]) -> Iterator[tuple[Reached, str | None]]:
    for r in reached:
        if r.ours.definition != r.theirs.definition():
            yield r, definition_difference(r.ours.definition, r.theirs.definition())


def examples_disagreements(reached: list[Reached]) -> Iterator[tuple[Reached, str | None]]:
    for r in reached:
        if list(r.ours.examples) != r.theirs.examples():
            yield r, examples_difference(r.ours.definition, r.ours.examples, r.theirs.examples())


def test_definitions_agree_with_nltk_for_99_percent_of_synsets(reached: list[Reached]):
    differing = list(definition_disagreements(reached))
    for r, cause in differing:
        print(f"{r}\n  synthlib: {r.ours.definition!r}\n  nltk:     {r.theirs.definition()!r}")
        print(f"  ({cause or 'no known cause'})")
    agreed = len(reached) - len(differing)
    print(f"definitions agree for {agreed}/{len(reached)} synsets")
    assert agreed / len(reached) >= GLOSS_AGREEMENT


def test_every_definition_disagreement_is_a_known_way_nltk_splits_glosses(
    reached: list[Reached],
):
    unexplained = [
        f"{r}: synthlib {r.ours.definition!r}, nltk {r.theirs.definition()!r}"
        for r, cause in definition_disagreements(reached)
        if cause is None
    ]
    assert not unexplained, report("definitions differing for no known reason", unexplained)


def test_examples_agree_with_nltk_for_99_percent_of_synsets(reached: list[Reached]):
    differing = list(examples_disagreements(reached))
    for r, cause in differing:
        print(f"{r}\n  synthlib: {list(r.ours.examples)!r}\n  nltk:     {r.theirs.examples()!r}")
        print(f"  ({cause or 'no known cause'})")
    agreed = len(reached) - len(differing)
    print(f"examples agree for {agreed}/{len(reached)} synsets")
    assert agreed / len(reached) >= GLOSS_AGREEMENT


def test_every_examples_disagreement_is_a_known_way_nltk_splits_glosses(
    reached: list[Reached],
):
    unexplained = [
        f"{r}: synthlib {list(r.ours.examples)!r}, nltk {r.theirs.examples()!r}"
        for r, cause in examples_disagreements(reached)
        if cause is None
    ]
    assert not unexplained, report("examples differing for no known reason", unexplained)


# --- pointers ------------------------------------------------------------------------------------

# pointer symbol -> NLTK's name for the relation (on synsets for semantic pointers, on lemmas
# for lexical ones)
RELATIONS = {
    "!": "antonyms",
    "@": "hypernyms",
    "@i": "instance_hypernyms",
    ";c": "topic_domains",
    ";u": "usage_domains",
    ";r": "region_domains",
    "$": "verb_groups",
    "&": "similar_tos",
}

Link = tuple[str, str, int, str]  # (source word or "", target's data file, offset, target word)


def file_pos(pos: str) -> str:
    """The part of speech of the data file: satellites ("s") are in data.adj."""
    return "a" if pos == "s" else pos


def our_links(wordnet: WordNet, synset: Synset, symbol: str) -> set[Link]:
    links = set()
    for pointer in synset.pointers:
        if pointer.symbol != symbol:
            continue
        if pointer.source == pointer.target == 0:  # between whole synsets
            links.add(("", file_pos(pointer.pos), pointer.offset, ""))
        else:
            target = wordnet.synset(pointer.pos, pointer.offset)
            source_word = synset.lemmas[pointer.source - 1]
            target_word = target.lemmas[pointer.target - 1]
            links.add((source_word, file_pos(pointer.pos), pointer.offset, target_word))
    return links


def nltk_links(synset: Any, relation: str) -> set[Link]:
    # Targets are compared by data file and offset: the data files write "a" for a satellite
    # target, NLTK's target synsets know their type ("s").
    # Antonymy is lexical throughout WordNet; NLTK offers it on lemmas only.
    semantic = getattr(synset, relation)() if hasattr(synset, relation) else []
    links = {("", file_pos(t.pos()), t.offset(), "") for t in semantic}
    for word in synset.lemmas():
        for t in getattr(word, relation)():
            links.add((word.name(), file_pos(t.synset().pos()), t.synset().offset(), t.name()))
    return links


@pytest.mark.parametrize("symbol", [s for s in RELATIONS if s in KEPT_POINTERS])
def test_pointer_targets_equal_nltks_relation(
    wordnet: WordNet, reached: list[Reached], symbol: str
):
    relation = RELATIONS[symbol]
    mismatches = []
    compared = 0
    for r in reached:
        ours, theirs = our_links(wordnet, r.ours, symbol), nltk_links(r.theirs, relation)
        compared += len(theirs)
        if ours != theirs:
            mismatches.append(f"{r}: only synthlib {ours - theirs}, only nltk {theirs - ours}")
    assert compared, f"no {relation} in the sample: the comparison would prove nothing"
    assert not mismatches, report(f"synsets with other {relation}", mismatches)


# --- tag counts ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nltk_sense_counts(nltk_wordnet: Any, lemma_pos) -> dict[tuple[str, str], tuple[int, ...]]:
    """(lemma, pos) -> times each sense was tagged (NLTK's ``Lemma.count()``: the count of its
    sense key in cntlist.rev), in NLTK's sense order."""
    return {
        (lemma, pos): tuple(
            own_lemma(s, lemma).count() for s in own_synsets(nltk_wordnet, lemma, pos)
        )
        for lemma, pos in lemma_pos
    }


def test_tag_count_is_the_sum_of_nltks_sense_counts(wordnet: WordNet, nltk_sense_counts):
    mismatches = [
        f"{lemma} ({pos}): synthlib {wordnet.tag_count(lemma, pos)}, nltk {sum(counts)} {counts}"
        for (lemma, pos), counts in nltk_sense_counts.items()
        if wordnet.tag_count(lemma, pos) != sum(counts)
    ]
    assert any(sum(counts) for counts in nltk_sense_counts.values())
    assert not mismatches, report("lemmas with another tag count", mismatches)


def test_sense_tags_are_nltks_sense_counts_in_sense_order(wordnet: WordNet, nltk_sense_counts):
    mismatches = []
    for (lemma, pos), counts in nltk_sense_counts.items():
        ours = wordnet.sense_tags(lemma, pos)
        if tuple(ours) != counts:
            mismatches.append(f"{lemma} ({pos}): synthlib {tuple(ours)}, nltk {counts}")
    assert not mismatches, report("lemmas with other sense counts", mismatches)


# --- morphology ----------------------------------------------------------------------------------


def is_collocation(word: str) -> bool:
    return "_" in word or "-" in word


def test_morphology_sample_has_300_forms_with_collocations(forms):
    assert len(set(forms)) == SAMPLE_SIZE
    assert sum(is_collocation(word) for word, _ in forms) >= 30


def test_base_forms_of_words_equal_nltks_morphy(wordnet: WordNet, nltk_wordnet: Any, forms):
    mismatches = []
    for word, pos in forms:
        if is_collocation(word):
            continue
        ours = wordnet.base_forms(word, pos)
        expected = expected_base_forms(nltk_wordnet, word, pos)
        if ours != expected:
            mismatches.append(f"{word} ({pos}): synthlib {ours}, nltk {expected}")
    assert not mismatches, report("forms with other base forms", mismatches)


def test_base_forms_of_collocations_add_word_by_word_reductions_to_nltks_morphy(
    wordnet: WordNet, nltk_wordnet: Any, forms
):
    # morphy(7WN) reduces the words of a collocation one at a time (gave_up -> give_up);
    # NLTK's _morphy only treats the whole string, so synthlib may find more, after NLTK's.
    mismatches = []
    for word, pos in forms:
        if not is_collocation(word):
            continue
        ours = wordnet.base_forms(word, pos)
        expected = expected_base_forms(nltk_wordnet, word, pos)
        extra = ours[len(expected) :]
        if ours[: len(expected)] != expected or not all(
            reduces_one_word(word, base) and own_synsets(nltk_wordnet, base, pos) for base in extra
        ):
            mismatches.append(f"{word} ({pos}): synthlib {ours}, nltk {expected}")
    assert not mismatches, report("collocations with other base forms", mismatches)


def reduces_one_word(word: str, base: str) -> bool:
    """Whether ``base`` is ``word`` with exactly one of its words changed."""
    ours, theirs = _words(word), _words(base)
    return len(ours) == len(theirs) and sum(a != b for a, b in zip(ours, theirs, strict=True)) == 1


def _words(collocation: str) -> list[str]:
    return collocation.replace("-", "_").split("_")


def test_base_forms_lack_nltks_ves_to_f_rule(wordnet: WordNet, nltk_wordnet: Any):
    # NLTK adds -ves -> -f to morphy(7WN)'s noun rules; real plurals of the kind (leaves,
    # wolves) are in noun.exc, and the rule alone reads "reeves" as a plural of "reef".
    assert nltk_wordnet._morphy("reeves", "n") == ["reeve", "reef"]
    assert wordnet.base_forms("reeves", "n") == ["reeve"]
