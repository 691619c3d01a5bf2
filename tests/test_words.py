from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthlib.core.errors import WordListError
from synthlib.core.words import MAX_WORD_LENGTH, read_words


def test_path_with_bom_crlf_comments_and_blank_lines(tmp_path):
    path = tmp_path / "w.txt"
    path.write_bytes("\ufeffapple\r\n\r\n# a comment\r\n  ice cream  \r\nrun\r\n".encode())
    words = read_words(path)
    assert words.words == ("apple", "ice cream", "run")
    assert words.source == str(path)


def test_duplicates_dropped_keeping_first_and_reported():
    words = read_words(["b", "a", "b", "c", "a", "b"])
    assert words.words == ("b", "a", "c")
    assert words.duplicates == ("b", "a")
    assert words.duplicate_count == 3


def test_case_is_kept_so_polish_and_polish_are_two_words():
    assert read_words(["Polish", "polish"]).words == ("Polish", "polish")


def test_nfc_normalisation_merges_composed_and_decomposed_forms():
    decomposed = "cafe\u0301"
    words = read_words([decomposed, "café"])
    assert words.words == ("café",)
    assert unicodedata.is_normalized("NFC", words[0])


def test_inner_whitespace_collapses_in_multi_word_expressions():
    assert read_words(["give   up", "take\toff"]).words == ("give up", "take off")


def test_bytes_upload_uses_name_for_format_and_errors():
    words = read_words(b'word,pos\nhouse,noun\n"ice cream",noun\n', name="upload.csv")
    assert words.words == ("house", "ice cream")
    with pytest.raises(WordListError, match=r"^upload.txt:2: "):
        read_words(b"ok\nbad\x00word\n", name="upload.txt")


def test_tsv_and_jsonl(tmp_path):
    tsv = tmp_path / "w.tsv"
    tsv.write_text("id\tWord\n1\tapple\n2\tpear\n")
    assert read_words(tsv).words == ("apple", "pear")
    jsonl = tmp_path / "w.jsonl"
    jsonl.write_text('{"word": "apple"}\n\n{"word": "ice cream", "x": 1}\n')
    assert read_words(jsonl).words == ("apple", "ice cream")


def test_json_array_of_strings_or_objects(tmp_path):
    path = tmp_path / "w.json"
    path.write_text(
        '\ufeff[" apple ", {"word": "ice   cream", "pos": "noun"}, "cafe\u0301", "apple", "", '
        '"café"]',
        encoding="utf-8",
    )
    words = read_words(path)
    assert words.words == ("apple", "ice cream", "café")  # normalised, blank skipped
    assert words.duplicates == ("apple", "café") and words.duplicate_count == 2
    assert words.source == str(path)
    upload = read_words(b'[{"word": "pear"}, {"word": "fig", "n": 1}]', name="upload.json")
    assert upload.words == ("pear", "fig")
    # a "#" is a word in JSON, as in .jsonl (comments are a .txt convenience)
    assert read_words(b'["#tag"]', name="x.json").words == ("#tag",)


@pytest.mark.parametrize(
    ("data", "where", "what"),
    [
        (b'{"words": ["a"]}', "w.json:1", "not an object"),
        (b"\n\n  7", "w.json:3", "not a number"),
        (b'[\n"a",\n 2,\n"b"\n]', "w.json:3", "item 2 is a number"),
        (b'["a",\n ["b", "c"]]', "w.json:2", "item 2 is an array"),
        (b'["a",\n\n null]', "w.json:3", "item 2 is null"),
        (b'[{"word": "a"},\n {"term": "b"}]', "w.json:2", "item 2 is an object without a string"),
        (b'[{"word": 5}]', "w.json:1", '"word"'),
        (b'["a",\n "b"', "w.json:2", "not valid JSON"),
        (b'["a"]\n["b"]\n', "w.json:2", "name the file .jsonl"),
        (b"", "w.json:1", "not valid JSON"),
        (b'[\n "ok",\n {"word": "nul\\u0000"}]', "w.json:3", "item 2: contains a NUL byte"),
        (b'["ok",\n\n"' + b"x" * (MAX_WORD_LENGTH + 1) + b'"]', "w.json:3", "at most 100"),
        (b"[]", "w.json", "empty"),
        (b'["ok", "\xff"]', "w.json:1", "not UTF-8"),
    ],
)
def test_json_rejections_name_file_and_line_in_one_line(tmp_path, data, where, what):
    path = tmp_path / "w.json"
    path.write_bytes(data)
    with pytest.raises(WordListError) as info:
        read_words(path)
    message = str(info.value)
    assert message.startswith(str(tmp_path / where) + ":")
    assert what in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "data", "where", "what"),
    [
        ("w.txt", b"ok\n\xff\xfe bad\n", "w.txt:2", "not UTF-8"),
        ("w.txt", b"ok\nnul\x00here\n", "w.txt:2", "NUL"),
        ("w.txt", b"ok\nbell\x07\n", "w.txt:2", "control character U+0007"),
        ("w.txt", b"ok\n" + b"x" * (MAX_WORD_LENGTH + 1) + b"\n", "w.txt:2", "at most 100"),
        ("w.txt", b"# only a comment\n\n", "w.txt", "empty"),
        ("w.csv", b"term\napple\n", "w.csv:1", "'word' column"),
        ("w.jsonl", b'{"word": "a"}\n{"term": "b"}\n', "w.jsonl:2", '"word"'),
        ("w.jsonl", b'{"word": "a"}\nnot json\n', "w.jsonl:2", "not a JSON object"),
    ],
)
def test_rejections_name_file_and_line_in_one_line(tmp_path, name, data, where, what):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(WordListError) as info:
        read_words(path)
    message = str(info.value)
    assert message.startswith(str(tmp_path / where))
    assert what in message
    assert "\n" not in message


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(WordListError, match="no such file"):
        read_words(tmp_path / "absent.txt")
    with pytest.raises(WordListError, match="directory"):
        read_words(tmp_path)


def test_fingerprint_depends_on_words_and_order():
    a = read_words(["a", "b"]).fingerprint
    assert a == read_words(["a", "b", "a"]).fingerprint
    assert a != read_words(["b", "a"]).fingerprint


_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs")), min_size=0, max_size=40
)


@given(st.lists(_line, min_size=1, max_size=30))
def test_normalisation_properties(lines):
    try:
        words = read_words(lines)
    except WordListError as exc:
        assert "empty" in str(exc)
        assert all(not line.strip() or line.strip().startswith("#") for line in lines)
        return
    assert len(set(words.words)) == len(words.words)  # distinct
    for word in words:
        assert word == word.strip() and word
        assert unicodedata.is_normalized("NFC", word)
        assert "  " not in word
    # idempotent: reading the output again changes nothing
    assert read_words(words.words).words == words.words
    assert len(words) + words.duplicate_count == sum(
        1 for line in lines if unicodedata.normalize("NFC", line).strip()
    )
