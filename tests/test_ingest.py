"""Output and error lines are untrusted input: ingest bounds them, bills them once, and stores
only each asked word's own entry, as JSON the store can read back."""

from __future__ import annotations

import json

import pytest
from factories import answer

from synthlib.ingest import Provenance, ingest_lines
from synthlib.pricing import price_for
from synthlib.requests import encode_custom_id

WORDS = ("apple", "banana", "cherry")
PRICE = price_for("gpt-4o-mini")
PROV = Provenance("openai", "gpt-4o-mini", "1", "1", "batch_1", "run-1")


def ok_line(custom_id: str, content: str, *, prompt: int = 100, completion: int = 50) -> str:
    body = {
        "choices": [{"finish_reason": "stop", "message": {"content": content, "refusal": None}}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion},
    }
    return json.dumps(
        {"custom_id": custom_id, "response": {"status_code": 200, "body": body}, "error": None}
    )


def error_line(custom_id: str, code: str = "server_error") -> str:
    return json.dumps(
        {"custom_id": custom_id, "response": None, "error": {"code": code, "message": "x"}}
    )


def cid(*words: str) -> str:
    return encode_custom_id([WORDS.index(w) for w in words])


def ingest(lines, expected=WORDS):
    return ingest_lines(lines, words=WORDS, expected=expected, price=PRICE, provenance=PROV)


def test_a_billed_answer_beats_an_error_line_that_comes_first():
    result = ingest([error_line(cid("apple")), ok_line(cid("apple"), answer("apple"))])
    assert [r.word for r in result.records] == ["apple"]
    assert "apple" not in result.failures
    assert result.repeated_lines == 1


def test_an_error_line_after_a_billed_answer_changes_nothing():
    result = ingest([ok_line(cid("apple"), answer("apple")), error_line(cid("apple"))])
    assert [r.word for r in result.records] == ["apple"]
    assert result.repeated_lines == 1


def test_a_repeated_line_is_billed_and_stored_once():
    line = ok_line(cid("apple"), answer("apple"), prompt=100, completion=50)
    result = ingest([line, line])
    assert len(result.records) == 1
    assert (result.input_tokens, result.output_tokens) == (100, 50)
    assert result.repeated_lines == 1


@pytest.mark.parametrize("bogus", ["w0_fffffffff", "w0_2.w0_fffffff", "w99", "zz", 42, None])
def test_a_custom_id_outside_the_run_is_skipped_without_building_anything(bogus):
    result = ingest([json.dumps({"custom_id": bogus, "response": None, "error": None})])
    assert result.unreadable_lines == 1
    assert not result.records and not result.failures


def test_answers_for_words_not_asked_are_billed_but_not_stored():
    result = ingest([ok_line(cid("cherry"), answer("cherry"), prompt=7, completion=3)],
                    expected=["apple"])  # fmt: skip
    assert not result.records
    assert (result.input_tokens, result.output_tokens) == (7, 3)
    assert result.foreign_lines == 1


def test_an_extra_entry_the_model_volunteered_is_dropped_and_the_stored_json_reads_back():
    result = ingest([ok_line(cid("apple"), answer("apple", "apples"))])
    (record,) = result.records
    assert record.word == "apple" and result.extra_entries == 1
    stored = json.loads(record.entry_json or json.dumps(record.entry))
    assert stored["word"] == "apple"


def test_a_duplicated_entry_stores_one_valid_object():
    result = ingest([ok_line(cid("apple"), answer("apple", "apple"))])
    (record,) = result.records
    stored = json.loads(record.entry_json or json.dumps(record.entry))
    assert stored["word"] == "apple"


def test_a_root_with_a_repeated_key_is_not_stored_as_a_slice():
    one = json.loads(answer("apple"))["entries"][0]
    content = '{"entries": [], "entries": [' + json.dumps(one) + "]}"
    result = ingest([ok_line(cid("apple"), content)])
    (record,) = result.records
    assert json.loads(record.entry_json or json.dumps(record.entry))["word"] == "apple"


@pytest.mark.parametrize(
    "response",
    [
        {"status_code": 200, "body": "not an object"},
        {"status_code": 200, "body": {"choices": "x"}},
        {"status_code": 200, "body": {"choices": [{"message": {"content": 5}}]}},
        {"status_code": 200, "body": {"usage": {"prompt_tokens": "many"}}},
    ],
)
def test_an_odd_answer_is_a_failure_not_a_crash(response):
    line = json.dumps({"custom_id": cid("apple"), "response": response, "error": None})
    result = ingest([line], expected=["apple"])
    assert not result.records
    assert result.failures["apple"].split(":", 1)[0] == "invalid"


def test_every_asked_word_gets_one_outcome_from_mixed_files():
    lines = [
        ok_line(cid("apple"), answer("apple")),
        error_line(cid("banana"), "batch_expired"),
        ok_line(cid("cherry"), answer("cherry")),
        error_line(cid("cherry")),
    ]
    result = ingest(lines)
    assert sorted(r.word for r in result.records) == ["apple", "cherry"]
    assert result.failures == {"banana": "expired: x"}
