"""Valid entries and records for tests, built through the pydantic models."""

from __future__ import annotations

from typing import Any

from synthlib.core.schema import Entry, EntryList
from synthlib.store.records import EntryRecord


def entry_dict(word: str, *, pos: str = "noun", senses: int = 1, cefr: str | None = "B1") -> dict:
    return {
        "word": word,
        "is_real_word": True,
        "pronunciation": {"ipa": "/x/", "respelling": "X", "syllables": [word]},
        "parts_of_speech": [
            {
                "part_of_speech": pos,
                "senses": [
                    {
                        "definition": f"sense {i} of {word}",
                        "examples": [f"An example with {word}."],
                        "synonyms": [],
                        "antonyms": [],
                        "register": "neutral",
                        "domain": None,
                        "region": None,
                        "cefr_level": cefr,
                        "usage_notes": None,
                    }
                    for i in range(1, senses + 1)
                ],
            }
        ],
        "word_forms": None,
        "etymology": None,
        "frequency_band": 3,
        "cefr_level": cefr,
    }


def entry(word: str, **kw: Any) -> Entry:
    return Entry.model_validate(entry_dict(word, **kw))


def answer(*words: str) -> str:
    """A model's JSON answer for ``words``."""
    return EntryList(entries=[entry(w) for w in words]).model_dump_json()


def record(word: str, *, model: str = "gpt-4o-mini", **kw: Any) -> EntryRecord:
    return EntryRecord(
        word=word,
        entry=kw.pop("entry", None) or entry(word).model_dump(mode="json"),
        provider=kw.pop("provider", "openai"),
        model=model,
        prompt_version="1",
        schema_version="1",
        **kw,
    )
