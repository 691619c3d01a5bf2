"""The WordNet reader against the installed WordNet 3.0 database."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from synthlib.core.errors import UsageError
from synthlib.lexicon import wordnet as wn_module
from synthlib.lexicon.wordnet import WordNet, locate, split_gloss

SYSTEM_DIR = Path("/usr/share/wordnet")
NEEDED = [f"{kind}.{pos}" for kind in ("index", "data") for pos in ("noun", "verb", "adj", "adv")]


# --- glosses -------------------------------------------------------------------------------------


def test_gloss_splits_definition_from_quoted_examples():
    definition, examples = split_gloss('sloping land; "they pulled the canoe up"; "he sat on it"')
    assert definition == "sloping land"
    assert examples == ("they pulled the canoe up", "he sat on it")


def test_gloss_keeps_a_quote_inside_the_definition():
    gloss = 'significant progress (especially in the phrase "make strides"); "they made strides"'
    definition, examples = split_gloss(gloss)
    assert definition == 'significant progress (especially in the phrase "make strides")'
    assert examples == ("they made strides",)


def test_gloss_with_a_colon_before_its_example():
    definition, examples = split_gloss('a complete extent or range: "a gamut of emotions"')
    assert (definition, examples) == ("a complete extent or range", ("a gamut of emotions",))


def test_gloss_without_examples_and_attributions_are_left_out():
    assert split_gloss("a long ridge or pile  ") == ("a long ridge or pile", ())
    definition, examples = split_gloss('to be mild; "the quality of mercy"- Shakespeare')
    assert definition == "to be mild"
    assert examples == ("the quality of mercy",)


def test_gloss_with_a_parenthesised_example_is_one_definition():
    gloss = 'a report of the exact words (e.g., "he said `I am a fool\'")'
    definition, examples = split_gloss(gloss)
    assert definition == gloss and examples == ()


# --- reading the database ------------------------------------------------------------------------


def test_version_is_read_from_the_files(wordnet: WordNet):
    assert wordnet.version == "3.0"


def test_offsets_are_byte_offsets_into_the_data_file(wordnet: WordNet):
    offsets = wordnet.offsets("bank", "n")
    assert len(offsets) == 10
    with open(SYSTEM_DIR / "data.noun", "rb") as data:
        for offset in offsets:
            data.seek(offset)
            assert data.readline().startswith(f"{offset:08d} ".encode())
    assert [s.offset for s in wordnet.synsets("bank", "n")] == list(offsets)


def test_synset_fields(wordnet: WordNet):
    financial = wordnet.synsets("bank", "n")[1]
    assert financial.lexname == "noun.group"
    assert "bank" in financial.lemmas and "depository_financial_institution" in financial.lemmas
    assert financial.word_number("bank") == financial.lemmas.index("bank") + 1
    assert financial.definition.startswith("a financial institution")
    assert "he cashed a check at the bank" in financial.examples
    assert wordnet.synsets("apple", "n")[0].lexname == "noun.food"


def test_adjective_markers_are_removed_and_satellites_are_adjectives(wordnet: WordNet):
    synsets = wordnet.synsets("good", "a")
    assert {s.ss_type for s in synsets} == {"a", "s"}
    assert all(s.pos == "a" for s in synsets)
    assert not any("(" in lemma for s in synsets for lemma in s.lemmas)


def test_lexical_antonym_pointer_has_word_numbers(wordnet: WordNet):
    good = wordnet.synsets("good", "a")[0]
    antonym = next(p for p in good.pointers if p.symbol == "!")
    assert antonym.source == good.word_number("good")
    assert wordnet.synset(antonym.pos, antonym.offset).lemmas[antonym.target - 1] == "bad"


def test_unknown_lemma(wordnet: WordNet):
    assert wordnet.offsets("zzqxv", "n") == ()
    assert not wordnet.has_lemma("zzqxv", "v")


@pytest.mark.parametrize(
    ("word", "pos", "base"),
    [
        ("mice", "n", "mouse"),
        ("ran", "v", "run"),
        ("went", "v", "go"),
        ("banks", "n", "bank"),
        ("stopped", "v", "stop"),
        ("happier", "a", "happy"),
        ("better", "a", "good"),
        ("gave_up", "v", "give_up"),
        ("ice_creams", "n", "ice_cream"),
    ],
)
def test_base_forms(wordnet: WordNet, word: str, pos, base: str):
    assert base in wordnet.base_forms(word, pos)


def test_base_forms_only_returns_lemmas(wordnet: WordNet):
    assert wordnet.base_forms("zzqxvs", "n") == []
    assert "bank" not in wordnet.base_forms("bank", "n")


def test_tag_counts_rank_parts_of_speech(wordnet: WordNet):
    assert wordnet.tag_count("run", "v") > wordnet.tag_count("run", "n")
    assert wordnet.tag_count("bank", "n") > wordnet.tag_count("bank", "v")


def test_builtin_lexnames_cover_every_file_number(wordnet: WordNet):
    assert len(wn_module._BUILTIN_LEXNAMES) == 45
    assert wn_module._BUILTIN_LEXNAMES[13] == "noun.food"


# --- locating it ---------------------------------------------------------------------------------


def _link_database(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in SYSTEM_DIR.iterdir():
        if path.is_file():
            (folder / path.name).symlink_to(path)


def test_explicit_path_to_a_wordnet_home_with_dict(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("WORDNET_DIR", raising=False)
    _link_database(tmp_path / "dict")
    source = locate(tmp_path)
    assert source.folder == tmp_path / "dict"
    source.close()


def test_wordnet_dir_environment_variable(tmp_path: Path, monkeypatch):
    _link_database(tmp_path)
    monkeypatch.setenv("WORDNET_DIR", str(tmp_path))
    wordnet = WordNet.open()
    assert wordnet.source.folder == tmp_path
    assert wordnet.synsets("bank", "n")[1].lexname == "noun.group"
    wordnet.close()


def test_nltk_zip_layout(tmp_path: Path, monkeypatch):
    corpora = tmp_path / "nltk_data" / "corpora"
    corpora.mkdir(parents=True)
    with zipfile.ZipFile(corpora / "wordnet.zip", "w", zipfile.ZIP_STORED) as archive:
        for name in [*NEEDED, "noun.exc", "verb.exc", "adj.exc", "adv.exc"]:
            archive.write(SYSTEM_DIR / name, f"wordnet/{name}")
    monkeypatch.delenv("WORDNET_DIR", raising=False)
    monkeypatch.setenv("NLTK_DATA", str(tmp_path / "nltk_data"))
    monkeypatch.setattr(wn_module, "_HOMEBREW_DICTS", ())
    monkeypatch.setattr(wn_module, "SYSTEM_DIRS", ())
    wordnet = WordNet.open()
    assert wordnet.source.archive == corpora / "wordnet.zip"
    assert wordnet.synsets("bank", "n")[1].definition.startswith("a financial institution")
    assert wordnet.base_forms("mice", "n") == ["mouse"]
    assert wordnet.tag_count("bank", "n") == 0  # no cntlist.rev in this archive
    wordnet.close()


def test_bad_explicit_path_is_a_one_line_usage_error(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("WORDNET_DIR", raising=False)
    with pytest.raises(UsageError) as caught:
        locate(tmp_path)
    message = str(caught.value)
    assert "\n" not in message and str(tmp_path) in message
    for hint in ("apt-get install wordnet-base", "brew install wordnet", "nltk.downloader wordnet"):
        assert hint in message


def test_bad_wordnet_dir_is_not_silently_replaced(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("WORDNET_DIR", str(tmp_path / "missing"))
    with pytest.raises(UsageError, match="WORDNET_DIR"):
        locate()


def test_nothing_found_says_how_to_install(monkeypatch):
    monkeypatch.delenv("WORDNET_DIR", raising=False)
    monkeypatch.setattr(wn_module, "_candidates", lambda: iter(()))
    with pytest.raises(UsageError) as caught:
        locate()
    assert caught.value.exit_code == 2
    assert "\n" not in str(caught.value)
    assert "sudo apt-get install wordnet-base" in str(caught.value)
