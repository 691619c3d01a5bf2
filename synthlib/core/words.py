"""Reading a word list: the first stage of the data flow.

A word list comes from a path, from bytes (a notebook upload) or from any iterable of strings. Lines
are stripped and NFC-normalised; blank lines and ``#`` comments are skipped; duplicates are dropped
keeping the first and reported; case is kept (``Polish`` and ``polish`` are two words) and
multi-word expressions are words. ``.csv``/``.tsv`` files need a ``word`` column, ``.jsonl`` files a
``word`` field, ``.json`` files hold one array of strings or of objects with a ``word`` field.
Anything unusable is a :class:`WordListError` naming the source and line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import WordListError

MAX_WORD_LENGTH = 100
_BOM = "\ufeff"


@dataclass(frozen=True)
class WordList:
    """The distinct words of a list, in first-seen order.

    ``duplicates`` holds each word that appeared more than once (once each, in first-repeat order)
    and ``duplicate_count`` how many lines were dropped as repeats.
    """

    words: tuple[str, ...]
    source: str = "<words>"
    duplicates: tuple[str, ...] = ()
    duplicate_count: int = 0
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self._index:
            self._index.update((w, i) for i, w in enumerate(self.words))

    def __len__(self) -> int:
        return len(self.words)

    def __iter__(self) -> Iterator[str]:
        return iter(self.words)

    def __getitem__(self, i: int) -> str:
        return self.words[i]

    def __contains__(self, word: object) -> bool:
        return word in self._index

    @property
    def positions(self) -> Mapping[str, int]:
        """Each word's position in the list (what custom_ids are made from; do not change it)."""
        return self._index

    def index(self, word: str) -> int:
        """Position of ``word`` in the list (KeyError if absent)."""
        return self._index[word]

    @property
    def set_fingerprint(self) -> str:
        """SHA-256 of the distinct words in code point order: the list as a set (what is bought
        does not depend on the order, nor on the file's name)."""
        digest = hashlib.sha256()
        for word in sorted(self.words):
            digest.update(word.encode("utf-8"))
            digest.update(b"\n")
        return digest.hexdigest()

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the distinct words in order: identifies the list a checkpoint belongs to."""
        digest = hashlib.sha256()
        for word in self.words:
            digest.update(word.encode("utf-8"))
            digest.update(b"\n")
        return digest.hexdigest()


def read_words(
    source: str | os.PathLike[str] | bytes | Iterable[str],
    *,
    name: str | None = None,
) -> WordList:
    """Read a word list from a path, from bytes or from an iterable of strings.

    ``name`` is what error messages call the source (an uploaded file's name, say); it also picks
    the format for bytes (``.csv``, ``.tsv``, ``.jsonl``, ``.json``; anything else is one word a
    line).
    """
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        label = name or str(source)
        try:
            data = path.read_bytes()
        except IsADirectoryError:
            raise WordListError("is a directory, not a word list", source=label) from None
        except FileNotFoundError:
            raise WordListError("no such file", source=label) from None
        except OSError as exc:
            raise WordListError(f"cannot read: {exc.strerror or exc}", source=label) from None
        return _from_bytes(data, label, fmt=_format_of(name or path.name))
    if isinstance(source, bytes | bytearray | memoryview):
        label = name or "<upload>"
        return _from_bytes(bytes(source), label, fmt=_format_of(label))
    label = name or "<words>"
    return _collect(((i, str(w)) for i, w in enumerate(source, start=1)), label, plain=False)


def _format_of(name: str) -> str:
    suffix = Path(name).suffix.lower()
    formats = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
    return formats.get(suffix, "txt")


def _from_bytes(data: bytes, label: str, *, fmt: str) -> WordList:
    text = _decode(data, label)
    if fmt == "txt":
        return _collect(enumerate(text.splitlines(), start=1), label, plain=True)
    if fmt == "jsonl":
        return _collect(_jsonl_words(text, label), label, plain=False)
    if fmt == "json":
        return _json_list(text, label)
    delimiter = "," if fmt == "csv" else "\t"
    return _collect(_table_words(text, label, delimiter=delimiter), label, plain=False)


def _decode(data: bytes, label: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise WordListError(
            f"not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
            source=label,
            line=line,
        ) from None
    return text.removeprefix(_BOM)


def _jsonl_words(text: str, label: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WordListError(
                f"not a JSON object: {exc.msg}", source=label, line=number
            ) from None
        if not isinstance(record, dict) or not isinstance(record.get("word"), str):
            raise WordListError('needs a string field "word"', source=label, line=number)
        yield number, record["word"]


_JSON_KINDS = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "true or false",
    int: "a number",
    float: "a number",
    type(None): "null",
}
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _space_end(text: str, at: int = 0) -> int:
    """Where the JSON whitespace starting at ``at`` ends (the pattern matches the empty string)."""
    match = _JSON_SPACE.match(text, at)
    assert match is not None  # a star pattern always matches
    return match.end()


def _json_list(text: str, label: str) -> WordList:
    """A ``.json`` list: one array of strings, or of objects with a string ``word`` field.

    Parsed whole (fast); the line of a bad item is found only when there is one to report."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (one JSON value a line? name the file .jsonl)" if exc.msg == "Extra data" else ""
        raise WordListError(
            f"not valid JSON: {exc.msg} (column {exc.colno}){hint}", source=label, line=exc.lineno
        ) from None
    if not isinstance(data, list):
        start = _space_end(text)
        raise WordListError(
            'needs a JSON array of words (strings, or objects with a "word" field), '
            f"not {_JSON_KINDS.get(type(data), 'a value')}",
            source=label,
            line=text.count("\n", 0, start) + 1,
        )
    words: list[str] = []
    for number, item in enumerate(data, start=1):
        if isinstance(item, str):
            words.append(item)
        elif isinstance(item, dict) and isinstance(item.get("word"), str):
            words.append(item["word"])
        else:
            what = (
                'an object without a string field "word"'
                if isinstance(item, dict)
                else _JSON_KINDS.get(type(item), "a value")
            )
            raise WordListError(
                f'item {number} is {what}; items must be strings or objects with a "word" field',
                source=label,
                line=_json_item_line(text, number),
            )
    try:
        return _collect(enumerate(words, start=1), label, plain=False)
    except WordListError as exc:
        if exc.line is None:
            raise
        # _collect numbered the items; report the item's line instead
        message = str(exc).removeprefix(f"{label}:{exc.line}: ")
        raise WordListError(
            f"item {exc.line}: {message}", source=label, line=_json_item_line(text, exc.line)
        ) from None


def _json_item_line(text: str, number: int) -> int | None:
    """The line where item ``number`` (1-based) of the top-level array in ``text`` starts."""
    decoder = json.JSONDecoder()
    i = _space_end(text) + 1  # past "["
    for _ in range(number - 1):
        _, i = decoder.raw_decode(text, _space_end(text, i))
        i = _space_end(text, i) + 1  # past ","
    return text.count("\n", 0, _space_end(text, i)) + 1


def _table_words(text: str, label: str, *, delimiter: str) -> Iterator[tuple[int, str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise WordListError("the list is empty", source=label) from None
    columns = [c.strip().lower() for c in header]
    if "word" not in columns:
        raise WordListError(
            f"needs a 'word' column; the header has {', '.join(map(repr, header)) or 'nothing'}",
            source=label,
            line=1,
        )
    at = columns.index("word")
    for row in reader:
        number = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        yield number, row[at] if at < len(row) else ""


def _collect(lines: Iterable[tuple[int, str]], label: str, *, plain: bool) -> WordList:
    seen: dict[str, None] = {}
    repeated: dict[str, None] = {}
    dropped = 0
    search = _ASCII_CONTROL.search
    for number, raw in lines:
        word = raw.strip()
        # inline fast path for plain ASCII words (most lines of most lists); see normalise()
        if not (
            word.isascii()
            and word
            and len(word) <= MAX_WORD_LENGTH
            and (word[0] != "#" or not plain)
            and "  " not in word
            and "\t" not in word
            and not search(word)
        ):
            normalised = normalise(raw, source=label, line=number, comments=plain)
            if normalised is None:
                continue
            word = normalised
        if word in seen:
            dropped += 1
            repeated.setdefault(word, None)
            continue
        seen[word] = None
    if not seen:
        raise WordListError(
            "the list is empty (no words after blank lines and comments)", source=label
        )
    words = tuple(seen)
    return WordList(
        words=words,
        source=label,
        duplicates=tuple(repeated),
        duplicate_count=dropped,
        _index={w: i for i, w in enumerate(words)},
    )


_ASCII_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def _reject(ch: str, source: str, line: int | None) -> None:
    what = "a NUL byte" if ch == "\0" else f"control character U+{ord(ch):04X}"
    raise WordListError(f"contains {what}", source=source, line=line)


def normalise(
    raw: str, *, source: str = "<words>", line: int | None = None, comments: bool = True
) -> str | None:
    """One line to a word, or None for a blank line or (with ``comments``) a ``#`` comment.

    Strips surrounding whitespace, applies NFC and collapses inner runs of spaces to one; rejects
    control characters and words longer than 100 characters.
    """
    word = raw.strip()
    if word.isascii():  # the common case, checked in C: no normalisation can change it
        if not word or (comments and word[0] == "#"):
            return None
        bad = _ASCII_CONTROL.search(word)
        if bad:
            _reject(bad.group(), source, line)
        if "  " in word or "\t" in word:
            word = " ".join(word.split())
    else:
        word = unicodedata.normalize("NFC", word.removeprefix(_BOM).strip())
        if not word or (comments and word.startswith("#")):
            return None
        for ch in word:
            if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\t\u200d\u200c":
                _reject(ch, source, line)
        word = " ".join(word.split())
    if len(word) > MAX_WORD_LENGTH:
        raise WordListError(
            f"line is {len(word)} characters; a word may have at most {MAX_WORD_LENGTH}",
            source=source,
            line=line,
        )
    return word
