"""Schema instances: always valid, deterministic, and shaped by the word convention."""

from __future__ import annotations

import json
import random

import jsonschema
import pytest
from emulator_harness import SCHEMA, EntryList
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthlib.core import schema as project_schema
from synthlib.emulator.schema_instances import InstanceGenerator


def _instance(schema, seed=0, words=None):
    return InstanceGenerator(schema).generate(random.Random(seed), words)


def _schemas() -> st.SearchStrategy[dict]:
    """Random JSON schemas built from the keywords the generator claims to support."""
    scalars = st.one_of(
        st.just({"type": "string"}),
        st.just({"type": "boolean"}),
        st.just({"type": "null"}),
        st.builds(
            lambda lo, span: {"type": "integer", "minimum": lo, "maximum": lo + span},
            st.integers(-50, 50),
            st.integers(0, 20),
        ),
        st.builds(
            lambda lo: {"type": "number", "exclusiveMinimum": lo, "exclusiveMaximum": lo + 1},
            st.integers(-5, 5),
        ),
        st.builds(
            lambda values: {"enum": values},
            st.lists(st.one_of(st.text(max_size=5), st.integers(), st.none()), min_size=1),
        ),
        st.builds(
            lambda n: {"type": "string", "minLength": n, "maxLength": n + 3}, st.integers(0, 9)
        ),
        st.just({"type": "string", "format": "date-time"}),
        st.just({"type": ["integer", "null"], "minimum": 3}),
    )

    def compound(inner: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
        def obj(props: dict, strict: bool) -> dict:
            schema = {"type": "object", "properties": props, "additionalProperties": False}
            schema["required"] = list(props) if strict else list(props)[:1]
            return schema

        def arr(items: dict, lo: int, extra: int) -> dict:
            return {"type": "array", "items": items, "minItems": lo, "maxItems": lo + extra}

        return st.one_of(
            st.builds(
                obj,
                st.dictionaries(
                    st.sampled_from(["a", "b", "word", "examples", "c"]), inner, max_size=4
                ),
                st.booleans(),
            ),
            st.builds(arr, inner, st.integers(0, 3), st.integers(0, 3)),
            st.builds(lambda xs: {"anyOf": xs}, st.lists(inner, min_size=1, max_size=3)),
        )

    return st.recursive(scalars, compound, max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    schema=_schemas(),
    seed=st.integers(0, 2**32),
    words=st.one_of(st.none(), st.lists(st.text(max_size=8), max_size=3)),
)
def test_every_instance_validates(schema, seed, words):
    jsonschema.validate(_instance(schema, seed, words), schema)


def test_refs_defs_recursion_and_allof():
    schema = {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                    "parent": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
                },
                "required": ["name", "children", "parent"],
                "additionalProperties": False,
            },
            "tagged": {
                "allOf": [
                    {"type": "object", "properties": {"tag": {"const": "x"}}, "required": ["tag"]},
                    {"properties": {"n": {"type": "integer", "multipleOf": 5, "minimum": 1}}},
                ]
            },
        },
        "type": "object",
        "properties": {"tree": {"$ref": "#/$defs/node"}, "tag": {"$ref": "#/$defs/tagged"}},
        "required": ["tree", "tag"],
        "additionalProperties": False,
    }
    for seed in range(30):
        jsonschema.validate(_instance(schema, seed), schema)


def test_same_seed_same_instance():
    assert _instance(SCHEMA, 5, ["apple"]) == _instance(SCHEMA, 5, ["apple"])
    many = {json.dumps(_instance(SCHEMA, seed, ["apple"])) for seed in range(20)}
    assert len(many) > 1


def test_word_convention_fills_one_entry_per_word():
    words = ["apple", "zzqxv", "naïve café", "run"]
    instance = _instance(SCHEMA, 1, words)
    jsonschema.validate(instance, SCHEMA)
    entries = EntryList.model_validate(instance).entries
    assert [e.word for e in entries] == words
    assert [e.is_real_word for e in entries] == [True, False, True, True]
    junk = entries[1]
    assert junk.senses == [] and junk.frequency_band is None
    for entry in (entries[0], entries[2], entries[3]):
        assert len(entry.senses) >= 1
        for sense in entry.senses:
            assert entry.word in sense.definition
            assert 1 <= len(sense.examples) <= 3
            assert all(entry.word in example for example in sense.examples)


def test_words_are_ignored_without_a_place_for_them():
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    assert set(_instance(schema, 0, ["apple"])) == {"answer"}


def test_unsupported_schemas_are_refused():
    with pytest.raises(ValueError):
        InstanceGenerator({"type": "object", "properties": {"x": {"$ref": "http://x/y"}}})
    with pytest.raises(ValueError):
        InstanceGenerator({"type": "tuple"})


def test_the_projects_own_schema():
    # the schema synthlib sends is part of the same package: a broken import is a failure here
    schema = project_schema.response_schema()
    words = ["apple", "zzqqq", "take off"]
    for seed in range(10):
        instance = _instance(schema, seed, words)
        jsonschema.validate(instance, schema)
        entries = project_schema.EntryList.model_validate(instance).entries
        assert [e.word for e in entries] == words
        assert [e.is_real_word for e in entries] == [True, False, True]
