from __future__ import annotations

import json

from factories import answer, entry_dict

from synthlib.core.schema import (
    Entry,
    EntryList,
    response_format,
    response_schema,
    strict_mode_problems,
    validate_content,
)


def test_generated_schema_obeys_strict_mode_everywhere():
    schema = response_schema()
    assert strict_mode_problems(schema) == []
    objects = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "object":
                objects.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert len(objects) >= 7  # root, entry, pronunciation, pos group, sense, forms, etymology
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert set(obj["required"]) == set(obj["properties"])


def test_strict_mode_checker_catches_violations():
    bad = {"type": "object", "properties": {"a": {"type": "string"}}, "required": []}
    problems = strict_mode_problems(bad)
    assert any("additionalProperties" in p for p in problems)
    assert any("required" in p for p in problems)


def test_optional_fields_are_nullable_in_the_schema():
    defs = response_schema()["$defs"]
    ipa = defs["Pronunciation"]["properties"]["ipa"]
    assert {"type": "null"} in ipa["anyOf"]
    assert "register" in defs["Sense"]["properties"]  # the JSON keeps the dictionary term


def test_response_format_is_strict_json_schema():
    rf = response_format()
    assert rf["type"] == "json_schema"
    assert rf["json_schema"]["strict"] is True
    json.dumps(rf)  # serialisable as sent


def test_valid_answer_becomes_entries():
    outcome = validate_content(answer("apple", "pear"), ["apple", "pear"])
    assert all(isinstance(v, Entry) for v in outcome.values())
    assert outcome["pear"].word == "pear"
    assert outcome["apple"].parts_of_speech[0].senses[0].register_ == "neutral"


def test_answer_for_a_different_word_is_a_failure():
    outcome = validate_content(answer("pear"), ["apple"])
    assert outcome["apple"].code == "wrong_word"
    assert "pear" in outcome["apple"].detail


def test_packed_answer_missing_a_word_fails_only_that_word():
    outcome = validate_content(answer("apple"), ["apple", "pear"])
    assert isinstance(outcome["apple"], Entry)
    assert outcome["pear"].code == "missing"


def test_invalid_json_and_schema_violations_are_invalid():
    assert validate_content('{"entries": [', ["a"])["a"].code == "invalid"
    bad = entry_dict("apple")
    bad["frequency_band"] = 9
    outcome = validate_content(json.dumps({"entries": [bad]}), ["apple"])
    assert outcome["apple"].code == "invalid"
    assert "frequency_band" in outcome["apple"].detail
    assert validate_content(None, ["a"])["a"].code == "invalid"


def test_junk_word_is_not_an_entry():
    junk = entry_dict("zzqx")
    junk.update(is_real_word=False, parts_of_speech=[], pronunciation=None)
    outcome = validate_content(json.dumps({"entries": [junk]}), ["zzqx"])
    assert outcome["zzqx"].code == "not_a_word"


def test_real_word_without_senses_is_invalid():
    empty = entry_dict("apple")
    empty["parts_of_speech"] = []
    assert validate_content(json.dumps({"entries": [empty]}), ["apple"])["apple"].code == "invalid"


def test_entry_round_trips_through_json():
    e = EntryList.model_validate_json(answer("apple")).entries[0]
    dumped = e.model_dump(mode="json")
    assert dumped["parts_of_speech"][0]["senses"][0]["register"] == "neutral"
    assert Entry.model_validate(dumped) == e


def test_a_part_of_speech_may_carry_its_own_pronunciation_in_the_strict_schema():
    group = response_schema()["$defs"]["PartOfSpeechSenses"]
    assert "pronunciation" in group["required"]  # strict mode: present, null when not needed
    assert {"type": "null"} in group["properties"]["pronunciation"]["anyOf"]


def test_an_entry_stored_before_schema_3_still_reads_without_group_pronunciations():
    old = entry_dict("minute")  # no "pronunciation" key on its part of speech
    assert "pronunciation" not in old["parts_of_speech"][0]
    e = Entry.model_validate(old)
    assert e.parts_of_speech[0].pronunciation is None
    assert e.pronunciation_of(e.parts_of_speech[0]) == e.pronunciation


def test_a_heteronym_reads_each_part_of_speech_its_own_way():
    data = entry_dict("minute", pos="noun")
    noun = {"ipa": "/ˈmɪn.ɪt/", "respelling": "MIN-it", "syllables": ["min", "ute"]}
    adjective = {"ipa": "/maɪˈnut/", "respelling": "my-NOOT", "syllables": ["mi", "nute"]}
    data["pronunciation"] = noun
    data["parts_of_speech"][0]["pronunciation"] = noun
    data["parts_of_speech"].append(
        {**entry_dict("minute", pos="adjective")["parts_of_speech"][0], "pronunciation": adjective}
    )
    outcome = validate_content(json.dumps({"entries": [data]}), ["minute"])["minute"]
    assert isinstance(outcome, Entry)
    said = [outcome.pronunciation_of(p).ipa for p in outcome.parts_of_speech]
    assert said == ["/ˈmɪn.ɪt/", "/maɪˈnut/"]
    assert outcome.pronunciation == outcome.parts_of_speech[0].pronunciation


def test_a_pronunciation_may_give_a_function_words_weak_form():
    pron = response_schema()["$defs"]["Pronunciation"]
    assert "weak_form" in pron["required"]
    data = entry_dict("the", pos="determiner")
    assert Entry.model_validate(data).pronunciation.weak_form is None  # stored before: reads
    data["pronunciation"] = {**data["pronunciation"], "ipa": "/ˈði/", "weak_form": "/ðə/"}
    assert Entry.model_validate(data).pronunciation.weak_form == "/ðə/"


def test_the_closed_classes_a_learners_dictionary_labels_are_parts_of_speech():
    parts = response_schema()["$defs"]["PartOfSpeech"]["enum"]
    assert {"article", "auxiliary verb", "modal verb", "particle"} <= set(parts)
    assert Entry.model_validate(entry_dict("must", pos="modal verb")).parts_of_speech
