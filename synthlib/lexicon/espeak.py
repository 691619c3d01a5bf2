"""Pronunciations estimated from the spelling by eSpeak NG, in CMUdict's ARPAbet.

CMUdict lacks many words a dictionary needs (``efflorescence``, ``speciate``). eSpeak NG reads any
spelling with its English letter-to-sound rules; :class:`Espeak` asks it for IPA phonemes through
its C library (``espeak_TextToPhonemes``, voice ``en-us``) and turns them into ARPAbet phones with
CMUdict's stress digits, so the rest of :mod:`synthlib.lexicon.pronounce` renders an estimate
exactly as it renders a dictionary pronunciation.

What a caller may rely on:

* :meth:`Espeak.phones` returns ARPAbet phones (vowels with a digit: 1 primary, 2 secondary,
  0 none), at most one primary stress per word, or None: when the library cannot be loaded, when
  the text is not made of Latin letters, digits, apostrophes, hyphens and periods, when eSpeak NG
  answers with a symbol :data:`IPA_TO_ARPABET` does not map, with no vowel, or by spelling out a
  word of five or more lowercase letters (``zzqxv``; abbreviations such as ``dna`` and ``NASDAQ``
  keep their spelled-out reading). It never raises for a word it cannot read.
* The library is found through the ``espeakng-loader`` package (its own copy of the library and
  data), else as the system's ``libespeak-ng`` with its default data. It is loaded and initialised
  once, on first use; :attr:`Espeak.available` and :attr:`Espeak.problem` say whether that worked.
* Calls are serialised by one lock for the process (the C library keeps global state and is not
  thread-safe), so an :class:`Espeak` may be shared between threads. Output is deterministic.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

VOICE: Final = "en-us"
PRIMARY_MARK, SECONDARY_MARK = "ˈ", "ˌ"

IPA_TO_ARPABET: Final[dict[str, tuple[str, ...]]] = {
    # Every symbol en-us emits (eSpeak NG 1.52: its phoneme tables, and a run over all of CMUdict
    # and WordNet), plus this module's own rendering (ɑ, ɝ, r), so that IPA written by
    # :mod:`synthlib.lexicon.pronounce` reads back. A vowel's stress digit goes on the first
    # vowel of its phones; the others are unstressed.
    # -- vowels
    "ə": ("AH",),
    "ɐ": ("AH",),  # the a of "about"
    "ʌ": ("AH",),
    "ɚ": ("ER",),
    "ɝ": ("ER",),
    "ɜː": ("ER",),
    "ɜ": ("ER",),
    "əɹ": ("ER",),
    "ʌɹ": ("ER",),
    "æ": ("AE",),
    "a": ("AA",),  # only in foreign words read as English: "pasta"
    "ɑː": ("AA",),
    "ɑ": ("AA",),
    "ɑːɹ": ("AA", "R"),
    "ɑ̃": ("AA", "N"),  # French nasal vowels as American dictionaries anglicise them
    "ɛ": ("EH",),
    "ɛɹ": ("EH", "R"),
    "e": ("EY",),
    "eː": ("EY",),
    "eɪ": ("EY",),
    "ɪ": ("IH",),
    "ᵻ": ("IH",),  # the reduced i of "-es", "-ed"
    "ɪɹ": ("IH", "R"),
    "i": ("IY",),
    "iː": ("IY",),
    "iːː": ("IY",),
    "iə": ("IY", "AH"),  # two syllables: "amnion", "idea"
    "ɔ": ("AO",),
    "ɔː": ("AO",),
    "ɔːɹ": ("AO", "R"),
    "oːɹ": ("AO", "R"),
    "ɔ̃": ("AO", "N"),
    "o": ("OW",),
    "oː": ("OW",),
    "oʊ": ("OW",),
    "əʊ": ("OW",),
    "ʊ": ("UH",),
    "ʊɹ": ("UH", "R"),
    "u": ("UW",),
    "uː": ("UW",),
    "aɪ": ("AY",),
    "aɪə": ("AY", "AH"),  # "science"
    "aɪɚ": ("AY", "ER"),  # "fire"
    "aʊ": ("AW",),
    "aɪʊ": ("AW",),  # eSpeak writes the vowel of "hour" so when an r follows
    "aɪʊɹ": ("AW", "ER"),
    "ɔɪ": ("OY",),
    # syllabic consonants: CMUdict writes them with a schwa
    "əl": ("AH", "L"),
    "l̩": ("AH", "L"),
    "n̩": ("AH", "N"),
    "m̩": ("AH", "M"),
    # -- consonants
    "b": ("B",),
    "tʃ": ("CH",),
    "d": ("D",),
    "ð": ("DH",),
    "f": ("F",),
    "ɡ": ("G",),
    "g": ("G",),
    "ɡʲ": ("G",),
    "h": ("HH",),
    "dʒ": ("JH",),
    "k": ("K",),
    "x": ("K",),  # "Bach", "loch": American dictionaries give k
    "ç": ("K",),
    "l": ("L",),
    "ɬ": ("L",),
    "m": ("M",),
    "n": ("N",),
    "nʲ": ("N", "Y"),  # "jalapeño"
    "ŋ": ("NG",),
    "p": ("P",),
    "ɹ": ("R",),
    "r": ("R",),
    "s": ("S",),
    "ʃ": ("SH",),
    "t": ("T",),
    "ɾ": ("T",),  # en-us flaps only /t/ ("butter"); /d/ stays d
    "ʔ": ("T",),  # the glottal t of "cotton"
    "θ": ("TH",),
    "v": ("V",),
    "w": ("W",),
    "ʍ": ("W",),
    "j": ("Y",),
    "z": ("Z",),
    "ʒ": ("ZH",),
}
"""eSpeak NG's IPA symbols (without stress marks) and the ARPAbet phones each stands for."""

_VOWELS: Final = frozenset(
    {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
)
_STRESS_DIGIT: Final = {PRIMARY_MARK: "1", SECONDARY_MARK: "2"}

# eSpeak spells out characters it has no letter-to-sound rules for ("東" becomes "Chinese letter"),
# so only Latin letters, digits and the marks inside words are passed to it.
_READABLE: Final = re.compile(r"[0-9A-Za-z\u00c0-\u024f'’.\-]+")
_HAS_LETTER: Final = re.compile(r"[0-9A-Za-z\u00c0-\u024f]")

_SPELLED_OUT: Final = 5  # letters from which a letter-by-letter reading is no estimate
_SEPARATOR: Final = "_"
_AUDIO_OUTPUT_SYNCHRONOUS: Final = 2
_INITIALIZE_DONT_EXIT: Final = 0x8000  # report errors instead of exiting the process
_CHARS_UTF8: Final = 1
_PHONEMES_IPA: Final = 0x02
_PHONEME_MODE: Final = _PHONEMES_IPA | (ord(_SEPARATOR) << 8)


def ipa_phones(tokens: Sequence[str]) -> list[str] | None:
    """ARPAbet phones for eSpeak NG's IPA phoneme tokens (each an :data:`IPA_TO_ARPABET` symbol,
    optionally led by ``ˈ`` or ``ˌ``; empty tokens are skipped), or None if a symbol is unknown.

    A stress mark gives the digit of the next vowel (1 or 2); unmarked vowels get 0. eSpeak
    repeats the r of an r-coloured vowel before a following vowel: after a stressed one or a
    written-out r (``ɑːɹ``) it is dropped, and an unstressed ``ɚ`` before it becomes a schwa
    (``ɚ ɹ`` is ``AH0 R``). Only the first primary stress is kept; later ones become secondary.
    """
    phones: list[str] = []
    pending = ""
    primary_seen = False
    for token in tokens:
        symbol = token.lstrip(PRIMARY_MARK + SECONDARY_MARK)
        marks = token[: len(token) - len(symbol)]
        if marks:
            pending = _STRESS_DIGIT[marks[-1]]
        if not symbol:
            continue
        mapped = IPA_TO_ARPABET.get(symbol)
        if mapped is None:
            return None
        for index, phone in enumerate(mapped):
            if phone in _VOWELS:
                digit = (pending or "0") if index == 0 else "0"
                pending = ""
                if digit == "1":
                    digit = "2" if primary_seen else "1"
                    primary_seen = True
                phones.append(phone + digit)
            elif phone == "R" and phones and phones[-1] == "ER0":
                phones[-1] = "AH0"  # unstressed ɚ before a linking r is a schwa: flə.ˈrɛs
                phones.append(phone)
            elif phone == "R" and phones and phones[-1] in ("R", "ER1", "ER2"):
                continue  # the r is already there: "ɑːɹ ɹ" is AA R, "ˈɜː ɹ" is ER1
            else:
                phones.append(phone)
    return phones


@dataclass(frozen=True, slots=True)
class EspeakLibrary:
    """Where the eSpeak NG shared library and its data folder are (``data`` None: the library's
    built-in default)."""

    path: str
    data: str | None = None


def find_library() -> EspeakLibrary | None:
    """The ``espeakng-loader`` package's library and data, else the system's library, else None."""
    try:
        import espeakng_loader

        path = espeakng_loader.get_library_path()
        if os.path.exists(path):  # the package may have no build for this platform
            return EspeakLibrary(path, espeakng_loader.get_data_path())
    except (ImportError, RuntimeError, OSError):
        pass
    path = ctypes.util.find_library("espeak-ng")
    return EspeakLibrary(path) if path else None


class _Loaded:
    """One initialised library: the C functions the engine calls."""

    def __init__(self, library: EspeakLibrary) -> None:
        lib = ctypes.CDLL(library.path)
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
        ]
        data = library.data.encode() if library.data else None
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INITIALIZE_DONT_EXIT)
        if rate < 0:
            raise OSError(f"espeak_Initialize failed ({rate})")
        self._lib = lib
        self.voice: str | None = None
        self.version = (lib.espeak_Info(None) or b"").decode(errors="replace")

    def set_voice(self, voice: str) -> None:
        if self.voice != voice:
            # also how a missing data folder shows: Initialize reports success regardless
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise OSError(f"eSpeak NG has no voice {voice!r} (is its data folder there?)")
            self.voice = voice

    def ipa(self, text: str) -> list[str]:
        """eSpeak's IPA for ``text``, one string per clause, phonemes separated."""
        pointer = ctypes.c_char_p(text.encode())
        clauses = []
        # each call reads one clause and moves the pointer on; NULL after the last
        while pointer.value:
            result = self._lib.espeak_TextToPhonemes(
                ctypes.byref(pointer), _CHARS_UTF8, _PHONEME_MODE
            )
            clauses.append((result or b"").decode(errors="replace"))
        return clauses


# One initialised library per file and data folder for the whole process, and one lock for every
# call into any of them: the C library's state is global, so two Espeaks must not call it at once.
_LOCK = threading.Lock()
_LOADED: dict[EspeakLibrary, _Loaded] = {}


class Espeak:
    """eSpeak NG's reading of a spelling, as ARPAbet phones (see the module docstring).

    ``find`` says where the library is (default :func:`find_library`); tests pass one that finds
    nothing, or a path that does not exist, to get an engine that is unavailable.
    """

    def __init__(
        self,
        find: Callable[[], EspeakLibrary | None] = find_library,
        *,
        voice: str = VOICE,
    ) -> None:
        self._find = find
        self.voice = voice
        self._loaded: _Loaded | None = None
        self._problem: str | None = None
        self._tried = False

    def _load(self) -> _Loaded | None:
        """The initialised library, loading it on the first call; None if it cannot be. Call with
        ``_LOCK`` held."""
        if not self._tried:
            self._tried = True
            try:
                library = self._find()
                if library is None:
                    raise OSError("no eSpeak NG library (pip install espeakng-loader)")
                loaded = _LOADED.get(library)
                if loaded is None:
                    loaded = _Loaded(library)
                    loaded.set_voice(self.voice)  # before it is shared: this checks the data
                    _LOADED[library] = loaded
                loaded.set_voice(self.voice)
                self._loaded = loaded
            except (OSError, AttributeError) as error:  # AttributeError: a symbol is missing
                self._problem = str(error)
        return self._loaded

    @property
    def available(self) -> bool:
        """Whether the library loaded (loading it now if it has not been tried)."""
        with _LOCK:
            return self._load() is not None

    @property
    def problem(self) -> str | None:
        """Why the library is unavailable (trying to load it if that has not been done), or
        None when it is available."""
        with _LOCK:
            self._load()
            return self._problem

    @property
    def version(self) -> str | None:
        """The library's version (``1.52.0``), or None when unavailable."""
        with _LOCK:
            loaded = self._load()
            return loaded.version if loaded is not None else None

    def ipa(self, text: str) -> list[str] | None:
        """eSpeak NG's raw IPA phoneme tokens for ``text`` (stress marks attached, words split),
        or None when unavailable or the text has no letter eSpeak reads as English."""
        if not _HAS_LETTER.search(text) or _READABLE.fullmatch(text) is None:
            return None
        with _LOCK:
            loaded = self._load()
            if loaded is None:
                return None
            try:
                loaded.set_voice(self.voice)  # another Espeak may have chosen another voice
            except OSError:
                return None
            clauses = loaded.ipa(text)
        return [t for clause in clauses for word in clause.split() for t in word.split(_SEPARATOR)]

    def phones_in_context(self, word: str, before: str) -> list[str] | None:
        """ARPAbet phones for ``word`` as eSpeak NG reads it after ``before`` (a few words that
        make its part of speech plain: ``to`` for a verb, ``the`` for a noun), or None. eSpeak
        says some heteronyms by context (``to use`` /juz/, ``the use`` /jus/)."""
        if _READABLE.fullmatch(word) is None or not _HAS_LETTER.search(word):
            return None
        with _LOCK:
            loaded = self._load()
            if loaded is None:
                return None
            try:
                loaded.set_voice(self.voice)
            except OSError:
                return None
            clauses = loaded.ipa(f"{before} {word}")
        words = clauses[0].split() if clauses else []
        return ipa_phones(words[-1].split(_SEPARATOR)) if words else None

    def phones(self, word: str) -> list[str] | None:
        """ARPAbet phones with stress digits for one written word, or None (see the module
        docstring). A word eSpeak reads as several (``3D``) gives one sequence."""
        tokens = self.ipa(word)
        if tokens is None:
            return None
        phones = ipa_phones(tokens)
        if not phones:
            return None
        vowels = sum(p[-1].isdigit() for p in phones)
        letters = sum(c.isalpha() for c in word)
        if vowels == 0 or (letters >= _SPELLED_OUT and vowels >= letters and not word.isupper()):
            # a syllable per letter: eSpeak found no way to read it and spelled it out
            # ("zzqxv"); that is right for a short abbreviation ("dna"), not for a longer word
            return None
        return phones
