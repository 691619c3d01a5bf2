"""Output and error lines are untrusted input: ingest bounds them, bills them once, and stores
only each asked word's own entry, as JSON the store can read back."""

from __future__ import annotations

import gc
import json

import pytest
from factories import answer, entry_dict

from synthlib.core.pricing import price_for
from synthlib.core.requests import encode_custom_id
from synthlib.core.schema import Entry, Failure
from synthlib.engine.ingest import NOT_FOUND_KEY, Provenance, ingest_lines
from synthlib.providers import registry

WORDS = ("apple", "banana", "cherry")
PRICE = price_for("gpt-4o-mini", registry.prices())
PROV = Provenance("openai", "gpt-4o-mini", "1", "1", "batch_1", "run-1")


def ok_line(
    custom_id: str,
    content: str | None,
    *,
    prompt: int = 100,
    completion: int = 50,
    cached: int | None = None,
    finish: str = "stop",
    refusal: str | None = None,
    **body_extra: object,
) -> str:
    usage: dict = {"prompt_tokens": prompt, "completion_tokens": completion}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    message = {"content": content, "refusal": refusal}
    body = {"choices": [{"finish_reason": finish, "message": message}], "usage": usage}
    return json.dumps(
        {
            "custom_id": custom_id,
            "response": {"status_code": 200, "body": {**body, **body_extra}},
            "error": None,
        }
    )


def error_line(custom_id: str, code: str = "server_error") -> str:
    return json.dumps(
        {"custom_id": custom_id, "response": None, "error": {"code": code, "message": "x"}}
    )


def cid(*words: str) -> str:
    return encode_custom_id([WORDS.index(w) for w in words])


def ingest(lines, expected=WORDS):
    return ingest_lines(lines, words=WORDS, expected=expected, price=PRICE, provenance=PROV)


def stored(record) -> dict:
    """The entry as the store writes it."""
    return json.loads(record.entry_json or json.dumps(record.entry))


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
    assert (result.usage.input_tokens, result.usage.output_tokens) == (100, 50)
    assert result.repeated_lines == 1


@pytest.mark.parametrize("bogus", ["w0_fffffffff", "w0_2.w0_fffffff", "w99", "zz", 42, None])
def test_a_custom_id_outside_the_run_is_skipped_without_building_anything(bogus):
    result = ingest([json.dumps({"custom_id": bogus, "response": None, "error": None})])
    assert result.unreadable_lines == 1
    assert not result.records and not result.failures


def test_answers_for_words_not_asked_are_billed_but_not_stored():
    result = ingest(
        [ok_line(cid("cherry"), answer("cherry"), prompt=7, completion=3)], expected=["apple"]
    )
    assert not result.records
    assert (result.usage.input_tokens, result.usage.output_tokens) == (7, 3)
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
    assert result.failures["apple"].code == "invalid"


def test_every_asked_word_gets_one_outcome_from_mixed_files():
    lines = [
        ok_line(cid("apple"), answer("apple")),
        error_line(cid("banana"), "batch_expired"),
        ok_line(cid("cherry"), answer("cherry")),
        error_line(cid("cherry")),
    ]
    result = ingest(lines)
    assert sorted(r.word for r in result.records) == ["apple", "cherry"]
    assert result.failures == {"banana": Failure("expired", "x")}


def test_the_stored_entry_is_the_validated_object_of_the_answer():
    content = answer("apple")
    (record,) = ingest([ok_line(cid("apple"), content)]).records
    assert record.entry == json.loads(content)["entries"][0]
    assert stored(record) == record.entry
    assert Entry.model_validate(stored(record)).word == "apple"


@pytest.mark.parametrize(
    "change",
    [
        {"frequency_band": 9},
        {"cefr_level": "Z9"},
        {"surprise": "an unknown key"},
        {"is_real_word": True, "parts_of_speech": []},
    ],
)
def test_an_entry_that_breaks_the_schema_is_never_stored(change):
    bad = {**entry_dict("apple"), **change}
    result = ingest([ok_line(cid("apple"), json.dumps({"entries": [bad]}))])
    assert not result.records
    assert result.failures["apple"].code == "invalid"


def test_an_invalid_sense_deep_in_the_entry_is_never_stored():
    bad = entry_dict("apple")
    bad["parts_of_speech"][0]["senses"][0]["examples"] = ["one", "two", "three", "four"]
    result = ingest([ok_line(cid("apple"), json.dumps({"entries": [bad]}))])
    assert not result.records
    assert "examples" in result.failures["apple"].detail


def test_content_that_is_not_json_is_invalid():
    result = ingest([ok_line(cid("apple"), '{"entries": [')])
    assert not result.records
    assert str(result.failures["apple"]).startswith("invalid: not JSON")


def test_a_line_with_two_words_stores_both_and_shares_its_usage():
    content = answer("apple", "banana")
    line = ok_line(cid("apple", "banana"), content, prompt=101, completion=51, cached=7)
    result = ingest([line])
    first, second = result.records
    assert (first.word, second.word) == ("apple", "banana")
    assert (first.input_tokens, second.input_tokens) == (51, 50)
    assert (first.output_tokens, second.output_tokens) == (26, 25)
    assert (first.cached_tokens, second.cached_tokens) == (4, 3)
    assert first.cost_usd == pytest.approx(second.cost_usd)
    assert first.cost_usd + second.cost_usd == pytest.approx(result.usage.cost_usd)
    assert [stored(r)["word"] for r in result.records] == ["apple", "banana"]


def test_each_asked_word_is_billed_its_share_of_every_billed_line_failures_included():
    result = ingest(
        [
            ok_line(cid("apple", "banana"), answer("apple", "banana"), prompt=101, completion=51),
            ok_line(cid("cherry"), None, prompt=40, completion=9, refusal="no"),
            ok_line(cid("cherry"), answer("cherry"), prompt=40, completion=30),  # repeated
            error_line(cid("apple")),  # not billed
        ]
    )
    assert result.billed == {"apple": (51, 0, 26), "banana": (50, 0, 25), "cherry": (40, 0, 9)}
    totals = [sum(t[j] for t in result.billed.values()) for j in (0, 2)]
    assert totals == [result.usage.input_tokens, result.usage.output_tokens]


def test_a_two_word_answer_missing_one_word_stores_the_other():
    result = ingest([ok_line(cid("apple", "banana"), answer("banana"))])
    assert [r.word for r in result.records] == ["banana"]
    assert result.failures["apple"].code == "missing"


def test_a_refusal_is_a_billed_failure_not_an_entry():
    line = ok_line(cid("apple"), None, prompt=40, completion=9, refusal="I can't  help\nwith that.")
    result = ingest([line])
    assert not result.records
    assert result.failures == {"apple": Failure("refused", "I can't help with that.")}
    assert (result.usage.input_tokens, result.usage.output_tokens) == (40, 9)


def test_a_truncated_answer_is_a_billed_failure_even_when_its_content_parses():
    result = ingest([ok_line(cid("apple"), answer("apple"), completion=80, finish="length")])
    assert not result.records
    assert result.failures == {"apple": Failure("truncated", "answer cut off at 80 output tokens")}
    assert result.usage.output_tokens == 80


def test_a_content_filter_stop_is_a_refusal():
    result = ingest([ok_line(cid("apple"), answer("apple"), finish="content_filter")])
    assert not result.records
    assert result.failures == {"apple": Failure("refused", "content filter")}


def test_what_answers_that_made_no_entry_cost_is_counted_apart():
    cut = ok_line(cid("apple"), answer("apple"), prompt=100, completion=80, finish="length")
    refused = ok_line(cid("banana"), None, prompt=100, completion=9, refusal="no")
    fine = ok_line(cid("cherry"), answer("cherry"), prompt=100, completion=300)
    result = ingest([cut, refused, fine])
    assert result.failed_cost == pytest.approx(PRICE.cost(200, 89))
    assert result.usage.cost_usd == pytest.approx(PRICE.cost(300, 389))
    assert sum(result.measured().values()) == 1  # only the entry's size is measured


def test_a_pack_answer_with_one_word_missing_counts_that_words_share_as_failed():
    result = ingest([ok_line(cid("apple", "banana"), answer("banana"), prompt=100, completion=60)])
    assert result.failed_cost == pytest.approx(PRICE.cost(100, 60) / 2)


def test_cached_tokens_are_counted_and_priced_as_cached():
    line = ok_line(cid("apple"), answer("apple"), prompt=1000, completion=100, cached=600)
    result = ingest([line])
    assert (result.usage.input_tokens, result.usage.cached_tokens, result.usage.output_tokens) == (
        1000,
        600,
        100,
    )
    assert result.usage.cost_usd == pytest.approx(PRICE.cost(1000, 100, 600, batch=True))
    assert result.usage.cost_usd < PRICE.cost(1000, 100, 0, batch=True)
    (record,) = result.records
    assert (record.input_tokens, record.cached_tokens, record.output_tokens) == (1000, 600, 100)


def test_words_the_offline_provider_did_not_find_fail_and_the_rest_are_stored():
    line = ok_line(cid("apple", "banana"), answer("apple"), **{NOT_FOUND_KEY: ["banana"]})
    result = ingest([line])
    assert [r.word for r in result.records] == ["apple"]
    assert result.failures["banana"].code == "not_found"


def test_an_odd_not_found_list_does_not_crash():
    line = ok_line(cid("apple"), answer("apple"), **{NOT_FOUND_KEY: [{"x": 1}, ["y"], 3]})
    assert [r.word for r in ingest([line]).records] == ["apple"]


def test_the_offline_provider_writes_the_key_that_ingest_reads():
    from synthlib.providers.offline import backend as offline

    assert offline.NOT_FOUND_KEY == NOT_FOUND_KEY


@pytest.mark.parametrize("raw", ["not json", b"{", "[1, 2]", "5", '"w0"', b"\xff\xfe"])
def test_an_unreadable_line_is_counted_and_reported(raw):
    result = ingest([raw, ok_line(cid("apple"), answer("apple"))])
    assert result.unreadable_lines == 1
    assert "1 unreadable lines" in result.anomalies()
    assert [r.word for r in result.records] == ["apple"]


def test_blank_lines_are_not_unreadable():
    result = ingest(["", "\n", b"  \n", ok_line(cid("apple"), answer("apple"))])
    assert result.unreadable_lines == 0 and result.anomalies() == ""


@pytest.mark.parametrize("bogus", ["wA", "w", "w-1", "w 1", "w0x1", "w1_0", "w3", "W0"])
def test_a_one_word_custom_id_is_read_as_strictly_as_decode_custom_id(bogus):
    result = ingest([ok_line(bogus, answer("apple"))])
    assert result.unreadable_lines == 1 and not result.records


def test_a_custom_id_with_leading_zeros_is_the_same_word():
    result = ingest([ok_line("w01", answer("banana"))])
    assert [r.word for r in result.records] == ["banana"]


def test_the_collector_runs_again_after_ingest_even_when_reading_fails():
    def lines():
        yield ok_line(cid("apple"), answer("apple"))
        raise OSError("the file went away")

    assert gc.isenabled()
    with pytest.raises(OSError):
        ingest(lines())
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off():
    gc.disable()
    try:
        ingest([ok_line(cid("apple"), answer("apple"))])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_someone_elses_frozen_objects_stay_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        ingest([ok_line(cid("apple"), answer("apple"))])
        # an unfreeze would empty the permanent generation; a frozen object freed meanwhile by
        # reference counting (another thread's) only lowers the count a little
        assert gc.get_freeze_count() > frozen // 2
    finally:
        gc.unfreeze()
