"""Known corruptions of good entries, field by field, for measuring the audit's recall and
precision: each returns the corrupted entry and the paths it changed, or None where the entry
offers nothing to corrupt that way."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from typing import Any

import lemminflect

from synthlib.lexicon.audit import CLOSED_CLASSES
from synthlib.lexicon.forms import ed_forms, s_forms
from synthlib.lexicon.glosses import shows
from synthlib.lexicon.wordnet import WordNet

Entry = dict[str, Any]
Corruption = Callable[[Entry, Sequence[Entry], random.Random, WordNet], tuple[Entry, str] | None]
LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")


def _word_forms(word: str) -> set[str]:
    found = {word.lower()}
    for spelled in lemminflect.getAllInflections(word.lower()).values():
        found.update(spelled)
    return found


def swapped_ipa(entry: Entry, others: Sequence[Entry], rng: random.Random, wn: WordNet):
    mine = (entry.get("pronunciation") or {}).get("ipa")
    if not mine:
        return None
    for other in rng.sample(list(others), 20):
        theirs = (other.get("pronunciation") or {}).get("ipa")
        if theirs and theirs != mine and other["word"].lower() != entry["word"].lower():
            changed = copy.deepcopy(entry)
            changed["pronunciation"]["ipa"] = theirs
            return changed, "pronunciation.ipa"
    return None


def wrong_plural(entry: Entry, others: Sequence[Entry], rng: random.Random, wn: WordNet):
    forms = entry.get("word_forms") or {}
    word = entry["word"].lower()
    plural = forms.get("plural")
    if not plural or " " in word:
        return None
    regular = s_forms(word)
    wrong = (
        word + "s"
        if plural not in regular
        else (word + "es" if plural == word + "s" else word + "s")
    )
    if wrong == plural:
        return None
    changed = copy.deepcopy(entry)
    changed["word_forms"]["plural"] = wrong
    return changed, "word_forms.plural"


def wrong_past(entry: Entry, others: Sequence[Entry], rng: random.Random, wn: WordNet):
    forms = entry.get("word_forms") or {}
    word = entry["word"].lower()
    past = forms.get("past_tense")
    if not past or " " in word:
        return None
    regular = ed_forms(word, (True, False))
    wrong = word + "ed" if past not in regular else word + "en"  # runned, walken
    if wrong == past or wrong in regular:
        wrong = word + "t" + "ed"
    changed = copy.deepcopy(entry)
    changed["word_forms"]["past_tense"] = wrong
    return changed, "word_forms.past_tense"


def foreign_example(entry: Entry, others: Sequence[Entry], rng: random.Random, wn: WordNet):
    places = [
        (p, s)
        for p, part in enumerate(entry["parts_of_speech"])
        for s, sense in enumerate(part["senses"])
        if sense["examples"]
    ]
    if not places:
        return None
    p, s = rng.choice(places)
    forms = _word_forms(entry["word"]) | _word_forms(entry.get("lemma") or entry["word"])
    for other in rng.sample(list(others), 20):
        pool = [
            e for part in other["parts_of_speech"] for x in part["senses"] for e in x["examples"]
        ]
        pool = [e for e in pool if not shows(e, forms)]
        if pool:
            changed = copy.deepcopy(entry)
            changed["parts_of_speech"][p]["senses"][s]["examples"][0] = rng.choice(pool)
            return changed, f"parts_of_speech[{p}].senses[{s}].examples[0]"
    return None


def impossible_part(entry: Entry, others: Sequence[Entry], rng: random.Random, wn: WordNet):
    word = entry["word"]
    key = word.lower().replace(" ", "_")
    if " " in word:
        return None
    have = {part["part_of_speech"] for part in entry["parts_of_speech"]}
    lemmas = lemminflect.getAllLemmas(word.lower())
    upos = {"noun": "NOUN", "verb": "VERB", "adjective": "ADJ", "adverb": "ADV"}
    wn_pos = {"noun": "n", "verb": "v", "adjective": "a", "adverb": "r"}
    choices = [
        pos
        for pos in ("verb", "adverb", "adjective", "noun")
        if pos not in have and not wn.has_lemma(key, wn_pos[pos]) and upos[pos] not in lemmas
    ]
    choices += [
        pos
        for pos in ("preposition", "conjunction")
        if word.lower() not in CLOSED_CLASSES[pos] and pos not in have
    ]
    if not choices:
        return None
    index = rng.randrange(len(entry["parts_of_speech"]))
    changed = copy.deepcopy(entry)
    changed["parts_of_speech"][index]["part_of_speech"] = rng.choice(choices)
    return changed, f"parts_of_speech[{index}].part_of_speech"


def far_cefr(entry: Entry, others: Sequence[Entry], rng: random.Random, wn: WordNet):
    level = entry.get("cefr_level")
    if level is None:
        return None
    i = LEVELS.index(level)
    far = "C2" if i <= 2 else "A1"
    changed = copy.deepcopy(entry)
    changed["cefr_level"] = far
    return changed, "cefr_level"


def far_band(entry: Entry, others: Sequence[Entry], rng: random.Random, wn: WordNet):
    band = entry.get("frequency_band")
    if band is None or band == 3:
        return None
    changed = copy.deepcopy(entry)
    changed["frequency_band"] = 1 if band >= 4 else 5
    return changed, "frequency_band"


def wrong_lemma(entry: Entry, others: Sequence[Entry], rng: random.Random, wn: WordNet):
    word = entry["word"].lower()
    for other in rng.sample(list(others), 20):
        candidate = other["word"]
        if candidate.lower() != word and candidate != entry.get("lemma"):
            if candidate.lower() in lemminflect.getAllLemmas(word).get("NOUN", ()):
                continue
            changed = copy.deepcopy(entry)
            changed["lemma"] = candidate
            return changed, "lemma"
    return None


def denied_word(entry: Entry, others: Sequence[Entry], rng: random.Random, wn: WordNet):
    changed = copy.deepcopy(entry)
    changed["is_real_word"] = False
    return changed, "is_real_word"


def synonym_is_word(entry: Entry, others: Sequence[Entry], rng: random.Random, wn: WordNet):
    p = rng.randrange(len(entry["parts_of_speech"]))
    s = rng.randrange(len(entry["parts_of_speech"][p]["senses"]))
    changed = copy.deepcopy(entry)
    changed["parts_of_speech"][p]["senses"][s]["synonyms"].append(entry["word"])
    return changed, f"parts_of_speech[{p}].senses[{s}].synonyms"


def antonym_is_synonym(entry: Entry, others: Sequence[Entry], rng: random.Random, wn: WordNet):
    places = [
        (p, s)
        for p, part in enumerate(entry["parts_of_speech"])
        for s, sense in enumerate(part["senses"])
        if sense["synonyms"]
    ]
    if not places:
        return None
    p, s = rng.choice(places)
    changed = copy.deepcopy(entry)
    sense = changed["parts_of_speech"][p]["senses"][s]
    sense["antonyms"].append(sense["synonyms"][0])
    return changed, f"parts_of_speech[{p}].senses[{s}].antonyms"


CORRUPTIONS: dict[str, Corruption] = {
    "swapped_ipa": swapped_ipa,
    "wrong_plural": wrong_plural,
    "wrong_past": wrong_past,
    "foreign_example": foreign_example,
    "impossible_part": impossible_part,
    "far_cefr": far_cefr,
    "far_band": far_band,
    "wrong_lemma": wrong_lemma,
    "denied_word": denied_word,
    "synonym_is_word": synonym_is_word,
    "antonym_is_synonym": antonym_is_synonym,
}


def corrupt(
    entries: Sequence[Entry], rate: float, seed: int, wn: WordNet
) -> list[tuple[Entry, dict[str, str]]]:
    """Each entry with each corruption applied at ``rate`` (independently, where it applies), and
    the paths changed, by corruption."""
    rng = random.Random(seed)
    out = []
    for entry in entries:
        changed: dict[str, str] = {}
        current = entry
        for name, corruption in CORRUPTIONS.items():
            if rng.random() >= rate:
                continue
            result = corruption(current, entries, rng, wn)
            if result is not None:
                current, path = result
                changed[path] = name
        out.append((current, changed))
    return out


def on(path: str, finding_path: str) -> bool:
    """Whether a finding at ``finding_path`` is about the change at ``path``."""
    return finding_path.startswith(path) or path.startswith(finding_path)
