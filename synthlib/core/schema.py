"""The dictionary entry: pydantic models that are the single source of truth.

The same models validate a model's output, generate the strict JSON schema sent as Structured
Outputs (:func:`response_schema`), and give the DataFrame columns. Strict mode wants every property
required, optional ones as ``T | null`` and ``additionalProperties: false`` on every object; the
models are written that way, and :func:`response_schema` checks it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SCHEMA_VERSION = "3"

# Output tokens one entry takes, measured on schema version 1 entries (a common word with a few
# senses; later versions add a little per field); the dry run uses it until the run has its own
# average.
DEFAULT_OUTPUT_TOKENS_PER_WORD = {"1": 650, "2": 670, "3": 690}


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        serialize_by_alias=True,
        json_schema_serialization_defaults_required=True,
    )


class PartOfSpeech(StrEnum):
    NOUN = "noun"
    VERB = "verb"
    ADJECTIVE = "adjective"
    ADVERB = "adverb"
    PRONOUN = "pronoun"
    ARTICLE = "article"  # schema version 3: the closed classes a learner's dictionary labels
    AUXILIARY_VERB = "auxiliary verb"
    MODAL_VERB = "modal verb"
    PARTICLE = "particle"  # infinitive to, and not
    CONTRACTION = "contraction"  # don't, it's: a short form of two words
    PREPOSITION = "preposition"
    CONJUNCTION = "conjunction"
    DETERMINER = "determiner"
    INTERJECTION = "interjection"
    NUMERAL = "numeral"
    PHRASAL_VERB = "phrasal verb"
    IDIOM = "idiom"
    PHRASE = "phrase"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    ABBREVIATION = "abbreviation"
    PROPER_NOUN = "proper noun"
    OTHER = "other"


class Register(StrEnum):
    NEUTRAL = "neutral"
    FORMAL = "formal"
    INFORMAL = "informal"
    SLANG = "slang"
    LITERARY = "literary"
    TECHNICAL = "technical"
    ARCHAIC = "archaic"
    DATED = "dated"
    OFFENSIVE = "offensive"
    VULGAR = "vulgar"


class CEFR(StrEnum):
    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"


Text = Annotated[str, Field(min_length=1)]


class Pronunciation(_Strict):
    ipa: str | None = Field(description="IPA transcription between slashes, e.g. /ˈæp.əl/")
    respelling: str | None = Field(description="Readable respelling, e.g. AP-uhl")
    syllables: list[str] = Field(description="The written word split into syllables")
    note: str | None = Field(
        default=None,
        description="How the transcription was made when not taken from a pronouncing "
        "dictionary, e.g. estimated from the spelling; null otherwise",
    )
    # Schema version 3 (default None: older entries read): function words are mostly said in a
    # weak form (the /ðə/, to /tə/), which a learner's dictionary gives beside the strong one.
    weak_form: str | None = Field(
        default=None,
        description="IPA of the unstressed form a function word usually takes in speech, when "
        "it differs from the strong form in ipa, e.g. /ðə/ for the; null for other words",
    )


class Sense(_Strict):
    definition: Text
    # The instructions ask for 1-3; zero is allowed because real dictionaries (WordNet) have
    # senses without examples, and an invented example would be worse than none.
    examples: list[Text] = Field(max_length=3)
    synonyms: list[str]
    antonyms: list[str]
    # "register" would shadow BaseModel.register, so the attribute is named differently and the
    # JSON keeps the dictionary term.
    register_: Register | None = Field(alias="register")
    domain: str | None = Field(description="Subject field, e.g. medicine, law; null if general")
    region: str | None = Field(
        description="Where the sense is used, e.g. US, UK; null if everywhere"
    )
    cefr_level: CEFR | None
    usage_notes: str | None


class PartOfSpeechSenses(_Strict):
    part_of_speech: PartOfSpeech
    senses: list[Sense] = Field(min_length=1)
    # Added in schema version 3 (default None, so entries stored before it still read): a
    # heteronym is said differently by part of speech (record the noun /ˈrɛk.ɚd/, the verb
    # /rɪˈkɔrd/), so each group may carry its own; the entry's pronunciation is the first
    # group's (see Entry.pronunciation_of).
    pronunciation: Pronunciation | None = Field(
        default=None,
        description="How the word is said in this part of speech when that differs between "
        "its parts of speech (record: noun /ˈrɛk.ɚd/, verb /rɪˈkɔrd/); the entry's own "
        "pronunciation is the first part of speech's; null when it is the same for all",
    )
    sense_count: int | None = Field(
        default=None,
        ge=1,
        description="How many senses the word has in this part of speech in all, at least "
        "as many as are listed (a dictionary may list only the main ones)",
    )


class WordForms(_Strict):
    plural: str | None
    past_tense: str | None
    past_participle: str | None
    present_participle: str | None
    third_person_singular: str | None
    comparative: str | None
    superlative: str | None


class Etymology(_Strict):
    text: str | None
    origin_language: str | None
    roots: list[str]
    first_known_use: str | None


class Entry(_Strict):
    """One word's dictionary entry, or (``is_real_word`` false) the verdict that it is no word."""

    word: str = Field(description="The word exactly as given")
    is_real_word: bool = Field(description="False for junk, typos or made-up strings")
    lemma: str | None = Field(
        default=None,
        description="The headword whose senses are given, when the word is an inflection or a "
        "variant spelling of it (children -> child, went -> go, café -> cafe); null otherwise",
    )
    pronunciation: Pronunciation | None
    parts_of_speech: list[PartOfSpeechSenses]
    word_forms: WordForms | None
    etymology: Etymology | None
    frequency_band: int | None = Field(
        ge=1, le=5, description="1 rare ... 5 very common; null if not a real word"
    )
    cefr_level: CEFR | None

    @model_validator(mode="after")
    def _real_words_have_senses(self) -> Entry:
        if self.is_real_word and not self.parts_of_speech:
            raise ValueError("a real word needs at least one part of speech with senses")
        return self

    def pronunciation_of(self, part: PartOfSpeechSenses) -> Pronunciation | None:
        """How the word is said in ``part``: the part's own pronunciation when it has one
        (a heteronym), else the entry's."""
        return part.pronunciation or self.pronunciation


class EntryList(_Strict):
    """The shape of one response: one entry per requested word, in the order asked."""

    entries: list[Entry]


def response_schema() -> dict[str, Any]:
    """The strict JSON schema of :class:`EntryList`, as sent in ``response_format``."""
    # serialization mode: a field with a default (one added in a later schema version, so that
    # entries stored before it still read) is still required, as strict mode wants
    schema = _strip(EntryList.model_json_schema(mode="serialization"))
    problems = strict_mode_problems(schema)
    if problems:  # a model edit that breaks strict mode must fail loudly, not at the API
        raise AssertionError("schema breaks strict mode: " + "; ".join(problems))
    return schema


def response_format() -> dict[str, Any]:
    """The ``response_format`` value for chat completions."""
    return {
        "type": "json_schema",
        "json_schema": {"name": "dictionary_entries", "strict": True, "schema": response_schema()},
    }


_NOT_SENT = frozenset({"title", "default", "minLength", "maxLength"})


def _strip(node: Any) -> Any:
    # Titles and defaults add tokens to every request and strict mode ignores or rejects them;
    # string lengths are not among strict mode's keywords, so they are checked locally only.
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in _NOT_SENT}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def strict_mode_problems(schema: dict[str, Any]) -> list[str]:
    """Every place where ``schema`` breaks Structured Outputs' strict-mode rules."""
    problems: list[str] = []

    def visit(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" or "properties" in node:
                if node.get("additionalProperties") is not False:
                    problems.append(f"{path}: additionalProperties is not false")
                props = set(node.get("properties", {}))
                if set(node.get("required", [])) != props:
                    problems.append(f"{path}: not every property is required")
            for key, value in node.items():
                visit(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                visit(value, f"{path}/{i}")

    visit(schema, "#")
    return problems


class FailureCode(StrEnum):
    """Why a word has no entry, as a :class:`Failure` names it (equal to the strings written in
    checkpoints, stores and tables)."""

    HTTP_ERROR = "http_error"
    TRUNCATED = "truncated"
    TOO_LONG = "too_long"
    REFUSED = "refused"
    INVALID = "invalid"
    WRONG_WORD = "wrong_word"
    MISSING = "missing"
    NOT_A_WORD = "not_a_word"
    NOT_FOUND = "not_found"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    BATCH_FAILED = "batch_failed"
    NO_RESULT = "no_result"
    RESULTS_LOST = "results_lost"
    TOKEN_LIMIT_EXCEEDED = "token_limit_exceeded"


_CODES = {code.value: code for code in FailureCode}


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a word has no entry this attempt: a ``code`` (a :class:`FailureCode`, explained in
    ``REASONS``) and a ``detail``.

    One value from ingest to the run's state, progress and result; written as ``"code: detail"``
    where text is kept (checkpoint, store), and read back with :meth:`parse`. A code given as a
    string is the :class:`FailureCode` it names (another string stays as it is: one written by a
    newer synthlib)."""

    code: FailureCode | str
    detail: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.code, FailureCode) and self.code in _CODES:
            object.__setattr__(self, "code", _CODES[self.code])

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else str(self.code)

    @classmethod
    def parse(cls, text: str | Failure) -> Failure:
        """The failure written as ``text`` (as :meth:`__str__` writes it)."""
        if isinstance(text, Failure):
            return text
        code, _, detail = str(text).partition(":")
        return cls(code.strip(), detail.strip())

    @property
    def final(self) -> bool:
        """Another attempt cannot change it: retrying would only pay again."""
        return self.code in FINAL_CODES

    @property
    def charged(self) -> bool:
        """It counts as one of the word's attempts (a token limit says nothing of the word)."""
        return self.code not in UNCHARGED_CODES


FINAL_CODES = frozenset({FailureCode.NOT_A_WORD, FailureCode.NOT_FOUND, FailureCode.TOO_LONG})
UNCHARGED_CODES = frozenset({FailureCode.TOKEN_LIMIT_EXCEEDED})


REASONS = {
    FailureCode.HTTP_ERROR: "the request failed at the API (non-200 response)",
    FailureCode.TRUNCATED: "the answer was cut off (finish_reason length)",
    FailureCode.TOO_LONG: "the entry does not fit in the model's largest output",
    FailureCode.REFUSED: "the model refused",
    FailureCode.INVALID: "the answer does not match the entry schema",
    FailureCode.WRONG_WORD: "the answer is for a different word",
    FailureCode.MISSING: "the answer left this word out",
    FailureCode.NOT_A_WORD: "the model judged it not a real word",
    FailureCode.NOT_FOUND: "not found in local lexical sources",
    FailureCode.EXPIRED: "the batch expired before this request ran",
    FailureCode.CANCELLED: "the batch was cancelled before this request ran",
    FailureCode.BATCH_FAILED: "the batch failed validation",
    FailureCode.NO_RESULT: "the batch ended without a result for this request",
    FailureCode.RESULTS_LOST: "the batch ended but its results file is gone (expired or deleted)",
    FailureCode.TOKEN_LIMIT_EXCEEDED: (
        "the batch went past the model's enqueued-token limit (not charged)"
    ),
}


def validate_content(content: str | None, words: list[str]) -> dict[str, Entry | Failure]:
    """Turn one response's message content into an entry or a failure for each asked word.

    The answer must be an :class:`EntryList` with exactly one entry per word; an entry for a word
    not asked is ignored, a word left out is a ``missing`` failure, and a word judged not real is a
    ``not_a_word`` failure (junk input never becomes an entry).
    """
    return {
        word: result if isinstance(result, Failure) else Entry.model_validate(result)
        for word, result in validate_entries(content, words).items()
    }


_validate_entry_list = EntryList.__pydantic_validator__.validate_python


def validate_entries(content: str | None, words: list[str]) -> dict[str, dict | Failure]:
    """:func:`validate_content`, giving each valid entry as its JSON object: the very object that
    was validated against :class:`Entry` (ingest stores it as it came, not rebuilt from the
    model)."""
    return read_answer(content, words)[0]


def read_answer(content: str | None, words: list[str]) -> tuple[dict[str, dict | Failure], int]:
    """:func:`validate_entries`, and how many entries the answer holds in all (more than the
    words asked when the model volunteered entries for words it was not asked about)."""
    if content is None:
        return dict.fromkeys(words, Failure(code=FailureCode.INVALID, detail="no content")), 0
    try:
        # one parse (orjson: a third of json.loads' time), then the compiled validator walks the
        # parsed objects; what a caller gets back is exactly what was validated
        data = orjson.loads(content)
        entries = _validate_entry_list(data).entries
    except orjson.JSONDecodeError as exc:
        return dict.fromkeys(
            words, Failure(code=FailureCode.INVALID, detail=f"not JSON: {exc.msg}")
        ), 0
    except ValidationError as exc:
        return dict.fromkeys(words, Failure(code=FailureCode.INVALID, detail=_first_error(exc))), 0
    if len(words) == 1 and entries and entries[0].word == words[0]:  # the common case
        outcome = (
            data["entries"][0] if entries[0].is_real_word else Failure(code=FailureCode.NOT_A_WORD)
        )
        return {words[0]: outcome}, len(entries)
    by_word: dict[str, int] = {}
    for index, entry in enumerate(entries):
        by_word.setdefault(entry.word, index)
    answer: dict[str, dict | Failure] = {}
    for position, word in enumerate(words):
        i = by_word.get(word)
        if i is None:
            got = entries[position].word if position < len(entries) else None
            answer[word] = (
                Failure(code=FailureCode.WRONG_WORD, detail=f"answer is for {got!r}")
                if got is not None and len(words) == 1
                else Failure(
                    code=FailureCode.MISSING, detail="no entry for this word in the answer"
                )
            )
        elif not entries[i].is_real_word:
            answer[word] = Failure(code=FailureCode.NOT_A_WORD)
        else:
            answer[word] = data["entries"][i]
    return answer, len(entries)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", "invalid")


def schema_json() -> str:
    """The response schema as compact JSON (what the token counter and request builder embed)."""
    return json.dumps(response_format(), ensure_ascii=False, separators=(",", ":"))
