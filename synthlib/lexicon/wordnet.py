"""A reader of the WordNet database files (the format of ``wndb(5WN)``).

Opening a database reads only the ``index.*`` files (lemma -> synset offsets, per part of speech),
the ``*.exc`` morphology exception lists and, when present, ``cntlist.rev`` (how often each sense
was tagged in the semantic concordances). Synsets are read on demand: an offset in an index line is
the byte offset of the synset's line in the matching ``data.*`` file, so reading one is a seek into
a memory map (kept open for the life of the :class:`WordNet`) plus a parse, and parsed synsets are
kept in a small LRU cache.

Where the database comes from, in order (:func:`locate`): an explicit path, the ``WORDNET_DIR``
environment variable, ``/usr/share/wordnet`` (Debian/Ubuntu ``wordnet-base``), the NLTK data
folders (``corpora/wordnet`` unpacked, or ``corpora/wordnet.zip`` as the downloader may leave it)
and Homebrew's ``opt/wordnet/dict``. Layouts handled: a folder holding ``index.noun`` etc. (Debian,
NLTK unpacked, Homebrew's ``dict``), a WordNet home with those files under ``dict/``, and NLTK's zip
whose members sit under ``wordnet/``. Debian's package has no ``lexnames`` file; the table of
lexicographer file names from ``lexnames(5WN)`` is built in and used when the file is absent.

What a caller may rely on: lemmas are looked up lowercase with spaces written as underscores (the
index's own form); :meth:`WordNet.synsets` returns synsets in WordNet's sense order (most frequently
tagged first); a :class:`Synset`'s lemmas keep the lexicographer's case, with underscores and
without adjective syntactic markers such as ``(a)``; :meth:`WordNet.base_forms` applies the
exception lists and Morphy's rules of detachment (``morphy(7WN)``) and only returns lemmas that
exist in that part of speech.
"""

from __future__ import annotations

import mmap
import os
import re
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal

from ..core.errors import UsageError

Pos = Literal["n", "v", "a", "r"]
"""A WordNet part of speech: noun, verb, adjective (satellites included), adverb."""

POS_ORDER: Final[tuple[Pos, ...]] = ("n", "v", "a", "r")
_FILE_SUFFIX: Final[dict[str, str]] = {"n": "noun", "v": "verb", "a": "adj", "s": "adj", "r": "adv"}
_SENSE_KEY_TYPE: Final[dict[str, str]] = {"n": "1", "v": "2", "a": "3", "r": "4", "s": "5"}

# The lexicographer files of lexnames(5WN), numbered from 00; used when the database has no
# ``lexnames`` file (Debian's wordnet-base ships none).
_BUILTIN_LEXNAMES: Final[tuple[str, ...]] = (
    "adj.all",
    "adj.pert",
    "adv.all",
    "noun.Tops",
    "noun.act",
    "noun.animal",
    "noun.artifact",
    "noun.attribute",
    "noun.body",
    "noun.cognition",
    "noun.communication",
    "noun.event",
    "noun.feeling",
    "noun.food",
    "noun.group",
    "noun.location",
    "noun.motive",
    "noun.object",
    "noun.person",
    "noun.phenomenon",
    "noun.plant",
    "noun.possession",
    "noun.process",
    "noun.quantity",
    "noun.relation",
    "noun.shape",
    "noun.state",
    "noun.substance",
    "noun.time",
    "verb.body",
    "verb.change",
    "verb.cognition",
    "verb.communication",
    "verb.competition",
    "verb.consumption",
    "verb.contact",
    "verb.creation",
    "verb.emotion",
    "verb.motion",
    "verb.perception",
    "verb.possession",
    "verb.social",
    "verb.stative",
    "verb.weather",
    "adj.ppl",
)

# Morphy's rules of detachment (morphy(7WN)): (suffix, ending) per part of speech, tried in order.
_DETACHMENT: Final[dict[Pos, tuple[tuple[str, str], ...]]] = {
    "n": (
        ("s", ""),
        ("ses", "s"),
        ("xes", "x"),
        ("zes", "z"),
        ("ches", "ch"),
        ("shes", "sh"),
        ("men", "man"),
        ("ies", "y"),
    ),
    "v": (
        ("s", ""),
        ("ies", "y"),
        ("es", "e"),
        ("es", ""),
        ("ed", "e"),
        ("ed", ""),
        ("ing", "e"),
        ("ing", ""),
    ),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}

# Pointers the dictionary uses; the rest (hypernyms, meronyms, ...) are not kept in memory.
KEPT_POINTERS: Final[frozenset[str]] = frozenset({"!", "&", "@i", "$", ";c", ";r", ";u"})

INSTALL_HINT: Final[str] = (
    "install it with `sudo apt-get install wordnet-base` (Debian/Ubuntu), "
    "`brew install wordnet` then `export WORDNET_DIR=$(brew --prefix wordnet)/dict` (macOS), "
    "or `python -m nltk.downloader wordnet`; or set WORDNET_DIR to a folder with index.noun "
    "and data.noun"
)

_MARKER = re.compile(r"\((?:a|p|ip)\)$")  # adjective syntactic markers in data.adj
_VERSION = re.compile(rb"WordNet (\d+(?:\.\d+)+) Copyright")


@dataclass(frozen=True, slots=True)
class Pointer:
    """One relation from a synset. ``source``/``target`` are 1-based word numbers; both 0 mean
    the relation holds between whole synsets (semantic), otherwise it links two words (lexical)."""

    symbol: str
    offset: int
    pos: str  # n, v, a, s or r: the target's synset type
    source: int
    target: int


@dataclass(frozen=True, slots=True)
class Synset:
    """One synset as stored in ``data.*``, gloss split into definition and example sentences."""

    offset: int
    ss_type: str  # n, v, a, s (adjective satellite) or r
    lexname: str  # lexicographer file, e.g. "noun.food"
    lemmas: tuple[str, ...]  # lexicographer's case, underscores, markers removed
    pointers: tuple[Pointer, ...]  # only the symbols in KEPT_POINTERS
    definition: str
    examples: tuple[str, ...]
    lex_number: int = 0  # the lexicographer file's number, as in sense keys
    lex_ids: tuple[int, ...] = ()  # each lemma's lex_id, as in sense keys

    @property
    def pos(self) -> Pos:
        return "a" if self.ss_type == "s" else self.ss_type  # type: ignore[return-value]

    def word_number(self, lemma: str) -> int:
        """The 1-based position of ``lemma`` (index form, compared lowercase) or 0 if absent."""
        wanted = lemma.lower()
        for number, name in enumerate(self.lemmas, start=1):
            if name.lower() == wanted:
                return number
        return 0


def split_gloss(gloss: str) -> tuple[str, tuple[str, ...]]:
    """Split a gloss ``definition; "example one"; "example two"`` into its parts.

    The examples start at the first double quote that follows a ``;`` (or, in a few dozen glosses,
    a ``:`` or ``,``) outside parentheses; a quote inside the definition, as in
    ``(usually followed by "to")``, stays there. Text outside the quotes after that point
    (attributions such as ``- Shakespeare``) is left out. Empty strings are never returned as
    examples; the definition may be empty when a gloss holds only examples.
    """
    gloss = gloss.strip()
    start = _examples_start(gloss)
    if start is None:
        definition = gloss
        if definition.count('"') % 2 and definition.endswith('"'):
            definition = definition[:-1]  # about twenty glosses end in a stray quote
        return definition.strip().rstrip(";").strip(), ()
    definition = gloss[:start].rstrip().rstrip(";:,").strip()
    examples: list[str] = []
    for quoted in re.findall(r'"([^"]*)"', gloss[start:]):
        text = quoted.strip()
        if text and text not in examples:
            examples.append(text)
    return definition, tuple(examples)


def _examples_start(gloss: str) -> int | None:
    position = gloss.find('"')
    while position != -1:
        before = gloss[:position].rstrip()
        if position == 0 or (
            before.endswith((";", ":", ",")) and before.count("(") == before.count(")")
        ):
            return position
        # skip the quoted part of the definition and look for the next opening quote
        closing = gloss.find('"', position + 1)
        if closing == -1:
            return None
        position = gloss.find('"', closing + 1)
    return None


class _Source:
    """The database files: a folder (data files memory-mapped) or NLTK's zip (read into memory)."""

    def __init__(self, folder: Path | None = None, archive: Path | None = None) -> None:
        self.folder = folder
        self.archive = archive
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        self._maps: list[mmap.mmap] = []
        self._handles: list[object] = []
        if archive is not None:
            self._zip = zipfile.ZipFile(archive)
            names = [n for n in self._zip.namelist() if n.endswith("index.noun")]
            self._prefix = names[0][: -len("index.noun")] if names else ""

    @property
    def description(self) -> str:
        return str(self.archive if self.archive is not None else self.folder)

    def exists(self, name: str) -> bool:
        if self._zip is not None:
            try:
                self._zip.getinfo(self._prefix + name)
            except KeyError:
                return False
            return True
        assert self.folder is not None
        return (self.folder / name).is_file()

    def read(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self._prefix + name)
        assert self.folder is not None
        return (self.folder / name).read_bytes()

    def head(self, name: str, size: int = 4096) -> bytes:
        """The first ``size`` bytes of a file, without reading the rest."""
        if self._zip is not None:
            with self._zip.open(self._prefix + name) as member:
                return member.read(size)
        assert self.folder is not None
        with open(self.folder / name, "rb") as handle:
            return handle.read(size)

    def random_access(self, name: str) -> mmap.mmap | bytes:
        """A buffer to slice by byte offset; memory-mapped for folders (nothing read up front)."""
        if self._zip is not None:
            return self._zip.read(self._prefix + name)  # compressed members cannot be mapped
        assert self.folder is not None
        handle = open(self.folder / name, "rb")  # noqa: SIM115 - kept open for the map's lifetime
        if os.fstat(handle.fileno()).st_size == 0:
            handle.close()
            return b""
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self._handles.append(handle)
        self._maps.append(mapped)
        return mapped

    def close(self) -> None:
        for mapped in self._maps:
            mapped.close()
        for handle in self._handles:
            handle.close()  # type: ignore[attr-defined]
        if self._zip is not None:
            self._zip.close()
        self._maps.clear()
        self._handles.clear()


_REQUIRED = tuple(f"{kind}.{_FILE_SUFFIX[pos]}" for kind in ("index", "data") for pos in POS_ORDER)


def _folder_source(path: Path) -> _Source | None:
    for folder in (path, path / "dict"):
        if all((folder / name).is_file() for name in _REQUIRED):
            return _Source(folder=folder)
    return None


def _zip_source(path: Path) -> _Source | None:
    if not path.is_file() or not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    prefixes = {n[: -len("index.noun")] for n in names if n.endswith("index.noun")}
    for prefix in prefixes:
        if all(prefix + name in names for name in _REQUIRED):
            return _Source(archive=path)
    return None


def _source_at(path: Path) -> _Source | None:
    return _zip_source(path) if path.suffix == ".zip" else _folder_source(path)


def nltk_data_dirs() -> list[Path]:
    """The folders NLTK searches for its data, in NLTK's documented order."""
    dirs = [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    dirs.append(Path.home() / "nltk_data")
    dirs += [Path(sys.prefix) / sub for sub in ("nltk_data", "share/nltk_data", "lib/nltk_data")]
    if sys.platform == "win32":
        appdata = os.environ.get("APPDATA")
        if appdata:
            dirs.append(Path(appdata) / "nltk_data")
        dirs += [Path(f"{drive}:\\nltk_data") for drive in "CDE"]
    else:
        dirs += [
            Path(p)
            for p in (
                "/usr/share/nltk_data",
                "/usr/local/share/nltk_data",
                "/usr/lib/nltk_data",
                "/usr/local/lib/nltk_data",
            )
        ]
    return dirs


SYSTEM_DIRS = ("/usr/share/wordnet",)  # Debian/Ubuntu's wordnet-base
# Homebrew keeps its WordNet (3.0 programs, 3.1 database) in the formula's prefix, not linked
# into share/; these are the stable "opt" links of its three usual prefixes.
_HOMEBREW_DICTS = (
    "/opt/homebrew/opt/wordnet/dict",
    "/usr/local/opt/wordnet/dict",
    "/home/linuxbrew/.linuxbrew/opt/wordnet/dict",
)


def _candidates() -> Iterator[Path]:
    for folder in SYSTEM_DIRS:
        yield Path(folder)
    for base in nltk_data_dirs():
        yield base / "corpora" / "wordnet"
        yield base / "corpora" / "wordnet.zip"
    for folder in _HOMEBREW_DICTS:
        yield Path(folder)


def locate(path: str | os.PathLike[str] | None = None) -> _Source:
    """Find the database; raise :class:`UsageError` (one line, with how to install) if absent.

    An explicit ``path`` or a set ``WORDNET_DIR`` must hold the database: they are not silently
    replaced by another copy. Either may name a folder, a WordNet home with ``dict/`` inside, or
    NLTK's ``wordnet.zip``.
    """
    for given, what in ((path, "the given path"), (os.environ.get("WORDNET_DIR"), "WORDNET_DIR")):
        if given:
            source = _source_at(Path(given).expanduser())
            if source is None:
                raise UsageError(f"no WordNet database at {given} ({what}); {INSTALL_HINT}")
            return source
    for candidate in _candidates():
        source = _source_at(candidate)
        if source is not None:
            return source
    raise UsageError(f"WordNet database not found; {INSTALL_HINT}")


class WordNet:
    """An open WordNet database. Safe to share between threads; :meth:`close` when done."""

    def __init__(self, source: _Source, *, cache_size: int = 32768) -> None:
        self.source = source
        self.version = _read_version(source)
        self._index: dict[Pos, dict[str, str]] = {
            pos: _read_index(source, pos) for pos in POS_ORDER
        }
        self._exceptions: dict[Pos, dict[str, tuple[str, ...]]] = {
            pos: _read_exceptions(source, pos) for pos in POS_ORDER
        }
        self._inflections: dict[Pos, dict[str, list[str]]] = {
            pos: _reverse(table) for pos, table in self._exceptions.items()
        }
        self.lexnames = _read_lexnames(source)
        self._tag_counts = _read_tag_counts(source)
        self._data: dict[str, mmap.mmap | bytes] = {}
        self._data_lock = threading.Lock()
        self._read_synset = lru_cache(maxsize=cache_size)(self._parse_synset)
        self._sense_tags = lru_cache(maxsize=cache_size)(self._count_sense_tags)

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> WordNet:
        """Locate (see :func:`locate`) and open the database."""
        return cls(locate(path))

    def close(self) -> None:
        self._read_synset.cache_clear()
        self._sense_tags.cache_clear()
        self._data.clear()
        self.source.close()

    # --- lemmas ----------------------------------------------------------------------------------

    def has_lemma(self, lemma: str, pos: Pos) -> bool:
        """Whether ``lemma`` (index form: lowercase, underscores) has senses in ``pos``."""
        return lemma in self._index[pos]

    def offsets(self, lemma: str, pos: Pos) -> tuple[int, ...]:
        """Synset offsets of ``lemma`` in ``pos``, in WordNet's sense order; () if none."""
        line = self._index[pos].get(lemma)
        if line is None:
            return ()
        fields = line.split()  # lemma pos synset_cnt p_cnt [ptr...] sense_cnt tagsense_cnt offsets
        count = int(fields[2])
        return tuple(int(f) for f in fields[len(fields) - count :])

    def synsets(self, lemma: str, pos: Pos) -> list[Synset]:
        """The synsets of ``lemma`` in ``pos``, most frequent sense first."""
        return [self.synset(pos, offset) for offset in self.offsets(lemma, pos)]

    def synset(self, pos: str, offset: int) -> Synset:
        """The synset at ``offset`` of the data file for ``pos`` (``s`` reads data.adj)."""
        return self._read_synset(_FILE_SUFFIX[pos], offset)

    def tag_count(self, lemma: str, pos: Pos) -> int:
        """Times the senses of ``lemma`` in ``pos`` were tagged in the semantic concordances
        (``cntlist.rev``); 0 when untagged or when the database has no ``cntlist.rev``."""
        return sum(self.sense_tags(lemma, pos))

    def sense_tags(self, lemma: str, pos: Pos) -> tuple[int, ...]:
        """Times each sense of ``lemma`` in ``pos`` was tagged, aligned with :meth:`synsets`;
        zeros when untagged or when the database has no ``cntlist.rev``.

        Each sense is found by its sense key (``lemma%type:file:lex_id:head:head_id``), as
        WordNet's own tools do: the sense-number column of ``cntlist.rev`` predates 3.0's sense
        order for a few hundred lemmas (``world``) and is not used."""
        return self._sense_tags(lemma, pos)

    def _count_sense_tags(self, lemma: str, pos: Pos) -> tuple[int, ...]:
        if not self._tag_counts:
            return (0,) * len(self.offsets(lemma, pos))
        return tuple(
            self._tag_counts.get(self.sense_key(lemma, s), 0) for s in self.synsets(lemma, pos)
        )

    def sense_key(self, lemma: str, synset: Synset) -> str:
        """The sense key of ``lemma`` (index form) in ``synset``, as ``senseidx(5WN)`` writes it."""
        number = synset.word_number(lemma)
        lex_id = synset.lex_ids[number - 1] if 0 < number <= len(synset.lex_ids) else 0
        head = ""
        if synset.ss_type == "s":  # a satellite names its head adjective's first word
            pointer = next((p for p in synset.pointers if p.symbol == "&"), None)
            if pointer is not None:
                target = self.synset(pointer.pos, pointer.offset)
                head = f"{target.lemmas[0].lower()}:{target.lex_ids[0]:02d}"
        kind = _SENSE_KEY_TYPE[synset.ss_type]
        return f"{lemma.lower()}%{kind}:{synset.lex_number:02d}:{lex_id:02d}:{head or ':'}"

    # --- morphology ------------------------------------------------------------------------------

    def base_forms(self, word: str, pos: Pos) -> list[str]:
        """Lemmas in ``pos`` that ``word`` (index form) may be an inflection of, per Morphy.

        A word on the exception list gets the list's bases only; any other word the rules of
        detachment; for a collocation the
        words are reduced one at a time (``gave_up`` -> ``give_up``). ``word`` itself is not
        returned.
        """
        found: list[str] = []

        def add(candidate: str) -> None:
            if candidate != word and candidate not in found and candidate in self._index[pos]:
                found.append(candidate)

        for candidate in self._single_bases(word, pos):
            add(candidate)
        if "_" in word or "-" in word:
            parts = re.split(r"([_-])", word)
            for i in range(0, len(parts), 2):  # even positions are words, odd are separators
                for base in self._single_bases(parts[i], pos):
                    add("".join([*parts[:i], base, *parts[i + 1 :]]))
        return found

    def _single_bases(self, word: str, pos: Pos) -> list[str]:
        if word in self._exceptions[pos]:
            # Morphy stops at the list: its entries (``modest modest``, ``bed bed``) exist to keep
            # the rules off words that only look inflected (``bed`` is no ``be`` + ``d``)
            return list(self._exceptions[pos][word])
        bases: list[str] = []
        for suffix, ending in _DETACHMENT[pos]:
            if word.endswith(suffix) and len(word) > len(suffix):
                bases.append(word[: -len(suffix)] + ending)
        return bases

    def inflections(self, base: str, pos: Pos) -> list[str]:
        """Irregular forms the exception list gives for ``base`` (index form), in file order."""
        return list(self._inflections[pos].get(base, ()))

    # --- synsets ---------------------------------------------------------------------------------

    def _buffer(self, suffix: str) -> mmap.mmap | bytes:
        buffer = self._data.get(suffix)
        if buffer is None:
            with self._data_lock:
                buffer = self._data.get(suffix)
                if buffer is None:
                    buffer = self.source.random_access(f"data.{suffix}")
                    self._data[suffix] = buffer
        return buffer

    def _parse_synset(self, suffix: str, offset: int) -> Synset:
        buffer = self._buffer(suffix)
        end = buffer.find(b"\n", offset)
        raw = buffer[offset : end if end != -1 else len(buffer)]
        line = raw.decode("utf-8", "replace")
        head, _, gloss = line.partition(" | ")
        fields = head.split()
        if not fields or not fields[0].isdigit() or int(fields[0]) != offset:
            raise ValueError(f"data.{suffix} has no synset at offset {offset}")
        lex_number = int(fields[1])
        ss_type = fields[2]
        word_count = int(fields[3], 16)
        lemmas = tuple(_MARKER.sub("", w) for w in fields[4 : 4 + 2 * word_count : 2])
        i = 4 + 2 * word_count
        pointer_count = int(fields[i])
        pointers = []
        for j in range(i + 1, i + 1 + 4 * pointer_count, 4):
            symbol = fields[j]
            if symbol in KEPT_POINTERS:
                numbers = fields[j + 3]
                pointers.append(
                    Pointer(
                        symbol,
                        int(fields[j + 1]),
                        fields[j + 2],
                        int(numbers[:2], 16),
                        int(numbers[2:], 16),
                    )
                )
        definition, examples = split_gloss(gloss)
        lexname = (
            self.lexnames[lex_number] if lex_number < len(self.lexnames) else f"{suffix}.unknown"
        )
        lex_ids = tuple(int(i, 16) for i in fields[5 : 4 + 2 * word_count : 2])
        return Synset(
            offset,
            ss_type,
            lexname,
            lemmas,
            tuple(pointers),
            definition,
            examples,
            lex_number,
            lex_ids,
        )


def _lines(data: bytes) -> Iterator[str]:
    for raw in data.decode("utf-8", "replace").splitlines():
        if raw and not raw.startswith(" "):  # the license header lines start with two spaces
            yield raw


def _read_version(source: _Source) -> str:
    # The license header of every data file names the release ("WordNet 3.0 Copyright 2006").
    match = _VERSION.search(source.head("data.noun"))
    return match.group(1).decode() if match else "unknown"


def _read_index(source: _Source, pos: Pos) -> dict[str, str]:
    # lemma -> its whole index line; split only when the lemma is looked up (start-up speed)
    lines = source.read(f"index.{_FILE_SUFFIX[pos]}").decode("utf-8", "replace").splitlines()
    first = 0
    while first < len(lines) and lines[first].startswith(" "):
        first += 1
    lines = [line for line in lines[first:] if " " in line]
    return dict(zip([line[: line.index(" ")] for line in lines], lines, strict=True))


def _read_exceptions(source: _Source, pos: Pos) -> dict[str, tuple[str, ...]]:
    name = f"{_FILE_SUFFIX[pos]}.exc"
    if not source.exists(name):
        return {}
    table: dict[str, tuple[str, ...]] = {}
    for line in _lines(source.read(name)):
        fields = line.split()
        if len(fields) >= 2:
            table[fields[0]] = tuple(fields[1:])
    return table


def _reverse(table: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    reverse: dict[str, list[str]] = {}
    for inflected, bases in table.items():
        for base in bases:
            reverse.setdefault(base, []).append(inflected)
    return reverse


def _read_lexnames(source: _Source) -> tuple[str, ...]:
    if not source.exists("lexnames"):
        return _BUILTIN_LEXNAMES
    names: dict[int, str] = {}
    for line in _lines(source.read("lexnames")):
        fields = line.split()
        if len(fields) >= 2 and fields[0].isdigit():
            names[int(fields[0])] = fields[1]
    if not names:
        return _BUILTIN_LEXNAMES
    return tuple(names.get(i, "unknown") for i in range(max(names) + 1))


def _read_tag_counts(source: _Source) -> dict[str, int]:
    """Sense key -> times tagged, from lines ``sense_key sense_number count``."""
    if not source.exists("cntlist.rev"):
        return {}
    counts: dict[str, int] = {}
    for line in _lines(source.read("cntlist.rev")):
        fields = line.split()
        if len(fields) == 3 and fields[2].isdigit():
            counts[fields[0]] = counts.get(fields[0], 0) + int(fields[2])
    return counts
