"""A learner's dictionary's definitions and examples from WordNet glosses.

    clean_definition("(comparative of `good') superior to another")
        # '(comparative of good) superior to another'
    form_note("(comparative of `good') superior to another")
        # ('superior to another', 'comparative of good')
    clean_example('"lovers and madmen have such seething brains"- Shakespeare')
        # 'lovers and madmen have such seething brains'
    shows("We gave the drowning victim up for dead", {"give up", "gave up"})  # True
    pick_examples(examples, forms, synonyms)  # (examples to show, synonyms they use)

Everything here is a pure function of its arguments; the regular expressions are compiled once.
The rules are kept as named steps (:data:`DEFINITION_RULES`, :data:`EXAMPLE_RULES`) so that a
survey of the database can count what each one changes.

Quoted words. WordNet marks a word mentioned rather than used as `` `word' ``. A learner's
dictionary prints such a mention in quotation marks, so the definition ``killed; `slain' is formal``
becomes ``killed; "slain" is formal``; inside an example (itself a quotation) and inside a quotation
within a definition the mark is a single quote. The one place a mention is printed bare is the
form note, ``(comparative of good)``, where a dictionary names the base word plainly. A lone
backtick is not a quote: ``a mark (`) placed above a vowel`` keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from functools import lru_cache
from typing import Final, NamedTuple

from ..core.schema import Register

__all__ = [
    "DEFINITION_RULES",
    "EXAMPLE_RULES",
    "MAX_GAP",
    "clean_definition",
    "clean_example",
    "form_note",
    "gloss_register",
    "pick_examples",
    "shows",
]

MAX_GAP: Final[int] = 3
"""Words allowed between two words of a multi-word expression for an example to show it:
``gave the drowning victim up`` shows ``give up`` (three words between), a longer gap does not."""

Rule = tuple[str, Callable[[str], str]]

# --- shared pieces ---------------------------------------------------------------------------

# `word', `several words', `Charlotte's Web': the closing quote is the first ' not followed by a
# letter, so an apostrophe inside does not end it
_MENTION = re.compile(r"`([^`'\s][^`]*?)'(?!\w)")
_QUOTED = re.compile(r'"[^"]*"')
_SPACES = re.compile(r"\s{2,}")
_TRAILING_SEPARATOR = re.compile(r"[\s;:,]+$")
_DOUBLED_SEPARATOR = re.compile(r";\s*[;:,]+|[:,]\s*;")
# parentheses only: "([ or ])" names the brackets themselves
_OPEN_SPACE = re.compile(r"\(\s+(?=\w)")
_CLOSE_SPACE = re.compile(r"(?<=\w)\s+\)")
# ":" is left alone: "short : long :: long : (short + long)" is notation, and so is ":-)".
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,;!?])(?=\s|$)")
_PAIRS: Final[tuple[tuple[str, str], ...]] = (("(", ")"), ("[", "]"))


def _mentions_quoted(text: str, outer: str, inner: str) -> str:
    """`x' as ``outer``x``outer``, and as ``inner`` within a double-quoted passage."""
    if "`" not in text:
        return text
    pieces: list[str] = []
    last = 0
    for quoted in _QUOTED.finditer(text):
        pieces.append(_MENTION.sub(rf"{outer}\1{outer}", text[last : quoted.start()]))
        pieces.append(_MENTION.sub(rf"{inner}\1{inner}", quoted.group()))
        last = quoted.end()
    pieces.append(_MENTION.sub(rf"{outer}\1{outer}", text[last:]))
    return "".join(pieces)


def _balance_brackets(text: str) -> str:
    """Drop a closing bracket that closes nothing; close brackets left open at the end."""
    for opening, closing in _PAIRS:
        if opening not in text and closing not in text:
            continue
        depth = 0
        kept: list[str] = []
        for char in text:
            if char == opening:
                depth += 1
            elif char == closing:
                if depth == 0:
                    continue
                depth -= 1
            kept.append(char)
        text = "".join(kept) + closing * depth
    return text


def _balance_double_quotes(text: str) -> str:
    """Drop a double quote left without its partner (at an end when there is one there)."""
    if text.count('"') % 2 == 0:
        return text
    if text.endswith('"'):
        return text[:-1]
    if text.startswith('"'):
        return text[1:]
    position = text.rfind('"')
    return text[:position] + text[position + 1 :]


def _collapse_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


# --- definitions ----------------------------------------------------------------------------

_FORM_NOTE = re.compile(
    r"""^\(\s*
    (?P<kind>comparatives?(?:\s+and\s+superlatives?)?|superlatives?|plurals?)\s+of\s+
    (?P<words>`[^`']+'(?:\s*(?:,|or|and)\s*`[^`']+')*)
    (?P<rest>[^()]*)
    \)\s*""",
    re.VERBOSE,
)
_LEADING_LABEL = re.compile(r"^(\([^()]*\))(?=\w)")  # "(meteorology)an isogram": no space


def _form_note_words(text: str) -> str:
    match = _FORM_NOTE.match(text)
    if match is None:
        return text
    start, end = match.span("words")
    return text[:start] + _MENTION.sub(r"\1", text[start:end]) + text[end:]


DEFINITION_RULES: Final[tuple[Rule, ...]] = (
    ("form note word unquoted", _form_note_words),
    ("mention quoted", lambda t: _mentions_quoted(t, '"', "'")),
    ("bracket spacing", lambda t: _CLOSE_SPACE.sub(")", _OPEN_SPACE.sub("(", t))),
    ("space after leading label", lambda t: _LEADING_LABEL.sub(r"\1 ", t)),
    ("space before punctuation", lambda t: _SPACE_BEFORE_PUNCTUATION.sub(r"\1", t)),
    ("doubled separator", lambda t: _DOUBLED_SEPARATOR.sub(";", t)),
    ("doubled spaces", _collapse_spaces),
    ("trailing separator", lambda t: _TRAILING_SEPARATOR.sub("", t)),
    ("unbalanced brackets", _balance_brackets),
    ("unbalanced double quote", _balance_double_quotes),
)
"""The steps of :func:`clean_definition`, in order, each named for what it repairs."""


_GLOSS_REGISTER: Final = re.compile(
    r"(?P<offensive>\bethnic slur\b|\b(?:offensive|disparaging|derogatory|contemptuous) "
    r"(?:term|name|word|way|slang)\b)"
    r"|(?P<vulgar>\b(?:obscene|vulgar) (?:term|name|word|slang)\b)"
    r"|(?P<informal>\b(?:informal|slang) (?:terms?|names?|words?) for\b)"
    r"|(?P<archaic>\b(?:archaic|obsolete) (?:term|name|word|spelling)\b|^\((?:archaic|obsolete)\))"
    r"|(?P<dated>\bold-fashioned (?:term|name|word)\b|^\((?:dated|old-fashioned)\))",
    re.IGNORECASE,
)


@lru_cache(maxsize=65536)  # a synset's gloss is read once, however many words share it
def gloss_register(definition: str) -> Register | None:
    """The register a WordNet gloss states in its own words ("informal terms for money", "an
    offensive term for ...", "(archaic) ..."), or None; WordNet's usage pointers say it for
    most senses, these for the rest. A few senses it leaves unmarked are labelled by the
    reviewed list (:func:`labels`)."""
    lower = definition.lower()
    if not any(cue in lower for cue in _REGISTER_CUES):  # most glosses: no regex needed
        found = None
    else:
        found = _GLOSS_REGISTER.search(definition)
    if found is not None and found.lastgroup is not None:
        return Register(found.lastgroup)
    for start, register in labels():
        if definition.startswith(start):
            return Register(register)
    return None


_REGISTER_CUES: Final = ("term", "name", "word", "slur", "spelling", "(", "slang")


LABELS_FILE: Final = "wordnet_labels.txt"


@lru_cache(maxsize=1)
def labels() -> tuple[tuple[str, str], ...]:
    """Reviewed registers for senses WordNet leaves unlabelled (``synthlib/data/
    wordnet_labels.txt``): (start of the gloss, register) pairs."""
    from importlib import resources

    text = resources.files("synthlib").joinpath("data", LABELS_FILE).read_text("utf-8")
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            start, _, register = line.rpartition(" => ")
            pairs.append((start.strip(), register.strip()))
    return tuple(pairs)


PATCHES_FILE: Final = "wordnet_patches.txt"


@lru_cache(maxsize=1)
def patches() -> tuple[tuple[str, str], ...]:
    """The reviewed corrections of WordNet's typos (``synthlib/data/wordnet_patches.txt``):
    (wrong, right) pairs."""
    from importlib import resources

    text = resources.files("synthlib").joinpath("data", PATCHES_FILE).read_text("utf-8")
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            wrong, _, right = line.partition(" => ")
            pairs.append((wrong.strip(), right.strip()))
    return tuple(pairs)


def patched(text: str) -> str:
    """``text`` with WordNet's known typos corrected (:func:`patches`)."""
    for wrong, right in patches():
        if wrong in text:
            text = text.replace(wrong, right)
    return text


@lru_cache(maxsize=65536)  # a synset's gloss is cleaned once, however many words share it
def clean_definition(text: str) -> str:
    """A WordNet definition as a learner's dictionary prints it.

    Mentioned words lose WordNet's `` `word' `` marks for quotation marks (bare in a leading
    form note such as ``(comparative of good)``, which stays: :func:`form_note` removes it); no
    space before ``,`` ``;`` ``!`` ``?`` or inside parentheses, one after a leading label such as
    ``(meteorology)``; single spaces; no trailing ``;`` ``:`` or ``,``; brackets and double quotes
    balanced. Wording is changed only by the reviewed typo corrections (:func:`patched`), and an
    empty string stays empty.
    """
    text = patched(text)
    for _, rule in DEFINITION_RULES:
        text = rule(text)
    return text


@lru_cache(maxsize=65536)  # a synset's gloss is cleaned once, however many words share it
def form_note(text: str) -> tuple[str, str | None]:
    """Split a leading inflection note off a definition: ``(comparative of `good') superior to
    another`` -> ``("superior to another", "comparative of good")``.

    The relation is ``comparative``, ``superlative``, ``comparative and superlative`` or
    ``plural``, then ``of`` and the word(s) as written, unquoted (``comparative of near or
    close``). Words the note says beyond the relation stay as a parenthesis of their own:
    ``(comparative of `much' used with mass nouns) a quantifier`` -> ``("(used with mass nouns) a
    quantifier", "comparative of much")``. The text is cleaned as by :func:`clean_definition`
    either way; the relation is None when there is no such note.
    """
    match = _FORM_NOTE.match(text.lstrip())
    if match is None:
        return clean_definition(text), None
    kind = " ".join(match.group("kind").split()).replace("comparatives", "comparative")
    kind = kind.replace("superlatives", "superlative").replace("plurals", "plural")
    words = " ".join(_MENTION.sub(r"\1", match.group("words")).split())
    rest = match.group("rest").strip(" ,;")
    remainder = text.lstrip()[match.end() :]
    if rest:
        remainder = f"({rest}) {remainder}"
    return clean_definition(remainder), f"{kind} of {words}"


# --- examples -------------------------------------------------------------------------------

_DASH = r"(?:-{1,2}|\u2013|\u2014)"
_NAME_WORD = r"(?:[A-Z][\w.]*|de|du|da|van|von|of|the|St\.)"
_NAME = rf"(?!I\b){_NAME_WORD}(?:[ ,]+{_NAME_WORD})*"  # "Shakespeare", "G.B.Shaw", "A.R.Gurney,Jr."
# After the closing quote of a quotation anything after a dash is its source, and a parenthesis
# is its source or a note on it ("(Santayana)", "(British usage)"): not part of the sentence.
# Without the quote only a dash and a name count, the dash spaced or doubled, so that
# "anti-American" and "music--you should" are not taken for one.
_ATTRIBUTION = re.compile(
    rf"""(?:(?<=["\u201d])\s*(?:{_DASH}[^"\u201d]*|\([^()"]*\)\s*[;,.]?)
    |\s{_DASH}\s*{_NAME}\s*[;,.]?
    |--\s*{_NAME}\s*[;,.]?)$""",
    re.VERBOSE,
)
_WRAPPING_QUOTES: Final[tuple[tuple[str, str], ...]] = (
    ('"', '"'),
    ("\u201c", "\u201d"),
    ("`", "'"),
    ("'", "'"),
)
_SINGLE_QUOTE_MARK = re.compile(r"(?<!\w)'|'(?!\w)")  # a quote, not an apostrophe
_LEADING_ELLIPSIS = re.compile(r"^(?:\.{2,}|\u2026)\s*")
_NO_WORD = re.compile(r"^[\W_]*$")


def _strip_attribution(text: str) -> str:
    return _ATTRIBUTION.sub("", text).rstrip()


def _strip_wrapping_quotes(text: str) -> str:
    text = text.strip()
    for opening, closing in _WRAPPING_QUOTES:
        if len(text) < 2 or not (text.startswith(opening) and text.endswith(closing)):
            continue
        inner = text[len(opening) : len(text) - len(closing)]
        if opening == "'":
            quote_like = _SINGLE_QUOTE_MARK.search(inner) is not None
        else:
            quote_like = opening in inner or closing in inner
        if not quote_like:
            return inner.strip()
    return text


EXAMPLE_RULES: Final[tuple[Rule, ...]] = (
    ("attribution", _strip_attribution),
    ("surrounding quotes", _strip_wrapping_quotes),
    ("unbalanced double quote", _balance_double_quotes),
    ("mention quoted", lambda t: _mentions_quoted(t, "'", "'")),
    ("leading ellipsis", lambda t: _LEADING_ELLIPSIS.sub("", t)),
    ("space before punctuation", lambda t: _SPACE_BEFORE_PUNCTUATION.sub(r"\1", t)),
    ("doubled spaces", _collapse_spaces),
    ("trailing separator", lambda t: _TRAILING_SEPARATOR.sub("", t)),
    ("unbalanced brackets", _balance_brackets),
    ("no words", lambda t: "" if _NO_WORD.match(t) else t),
)
"""The steps of :func:`clean_example`, in order, each named for what it removes or repairs."""


@lru_cache(maxsize=65536)  # a synset's gloss is cleaned once, however many words share it
def clean_example(text: str) -> str:
    """An example sentence as a learner's dictionary prints it, or "" when nothing is left.

    Takes an example as :func:`synthlib.lexicon.wordnet.split_gloss` gives it or still quoted
    with its source (``"..." - Shakespeare``, ``"..." --Thomas Jefferson``, ``"..."
    (Santayana)``). Removed: the source, quotes around the whole sentence, a leading ellipsis
    (``...catapulted Einstein``), trailing ``;`` ``:`` ``,``, a space before ``,`` ``;`` ``!``
    ``?`` and doubled spaces. Mentions (`` `fire' ``) get single quotes; brackets are balanced.
    Text with no letter or digit left (``;``) gives "". Known typos are corrected first
    (:func:`patched`).
    """
    text = patched(text)
    for _, rule in EXAMPLE_RULES:
        text = rule(text)
    return text


# --- which examples show the word -----------------------------------------------------------

_TOKEN = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")  # words, hyphens and apostrophes inside kept


class _Words(NamedTuple):
    """An example's words, hyphenated ones split into parts that remember their token."""

    parts: tuple[str, ...]
    stems: tuple[str | None, ...]  # the part without a possessive 's, when it has one
    starts: tuple[bool, ...]  # part begins a token
    ends: tuple[bool, ...]  # part ends a token
    standalone: frozenset[str]  # one-part tokens and their stems: the one-word fast path
    present: frozenset[str]


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("_", " ").casefold()


def _words(example: str) -> _Words:
    text = _normalise(example)
    tokens = _TOKEN.findall(text)
    if "-" not in text and "'" not in text:
        # the common case: every token is one part, none possessive
        count = len(tokens)
        every = frozenset(tokens)
        flags = (True,) * count
        return _Words(tuple(tokens), (None,) * count, flags, flags, every, every)
    parts: list[str] = []
    stems: list[str | None] = []
    starts: list[bool] = []
    ends: list[bool] = []
    standalone: set[str] = set()
    present: set[str] = set()
    for token in tokens:
        pieces = token.split("-")
        last = len(pieces) - 1
        for i, piece in enumerate(pieces):
            stem = piece[:-2] if i == last and piece.endswith("'s") else None
            parts.append(piece)
            stems.append(stem)
            starts.append(i == 0)
            ends.append(i == last)
            present.add(piece)
            if stem is not None:
                present.add(stem)
                if last == 0:
                    standalone.add(stem)
        if last == 0:
            standalone.add(pieces[0])
    return _Words(
        tuple(parts),
        tuple(stems),
        tuple(starts),
        tuple(ends),
        frozenset(standalone),
        frozenset(present),
    )


class _Forms(NamedTuple):
    """A word's forms split into parts: one-word forms as a set, the rest as part sequences."""

    single: frozenset[str]
    multi: tuple[tuple[str, ...], ...]


def _forms(forms: Collection[str]) -> _Forms:
    # the caller passes a word's forms once per sense: parse each distinct set once
    return _parsed_forms(forms if isinstance(forms, frozenset) else frozenset(forms))


@lru_cache(maxsize=4096)
def _parsed_forms(forms: frozenset[str]) -> _Forms:
    single: set[str] = set()
    multi: set[tuple[str, ...]] = set()
    for form in forms:
        if form.isalnum():  # most forms are one plain word: no need to tokenise
            single.add(form.casefold())
            continue
        parts = tuple(p for token in _TOKEN.findall(_normalise(form)) for p in token.split("-"))
        if len(parts) == 1:
            single.add(parts[0])
        elif parts:
            multi.add(parts)
    return _Forms(frozenset(single), tuple(sorted(multi)))


def _part_is(words: _Words, i: int, wanted: str) -> bool:
    return words.parts[i] == wanted or words.stems[i] == wanted


def _rest_follows(words: _Words, parts: tuple[str, ...], k: int, previous: int) -> bool:
    """Whether parts[k:] follow the part at ``previous`` within the gap rule, ending a token."""
    if k == len(parts):
        return words.ends[previous]
    if not words.ends[previous]:
        # within a hyphenated token the parts must run on: "ice-cream" is "ice cream"
        nxt = previous + 1
        return _part_is(words, nxt, parts[k]) and _rest_follows(words, parts, k + 1, nxt)
    limit = min(len(words.parts), previous + 2 + MAX_GAP)
    for nxt in range(previous + 1, limit):
        if (
            words.starts[nxt]
            and _part_is(words, nxt, parts[k])
            and _rest_follows(words, parts, k + 1, nxt)
        ):
            return True
    return False


def _shown(words: _Words, forms: _Forms) -> bool:
    if not forms.single.isdisjoint(words.standalone):
        return True
    for parts in forms.multi:
        if parts[0] not in words.present or not words.present.issuperset(parts):
            continue
        for i in range(len(words.parts)):
            if (
                words.starts[i]
                and _part_is(words, i, parts[0])
                and _rest_follows(words, parts, 1, i)
            ):
                return True
    return False


def shows(example: str, forms: Collection[str]) -> bool:
    """Whether ``example`` contains one of ``forms`` (the word, its lemma, inflected forms).

    Compared case-insensitively and as whole words: ``cat`` is not in ``category``, nor in
    ``cat-like`` (a hyphenated word is one word), but is in ``the cat's tail`` (a possessive
    ``'s`` is not part of the word). Underscores, spaces and hyphens between the words of a form
    are the same (``ice cream`` is in ``ice-cream``). A multi-word form's words must come in
    order, each at most :data:`MAX_GAP` words after the one before (so ``give up`` is in ``we
    gave the drowning victim up``, when ``gave up`` is among the forms). No forms, no match.
    """
    return _shown(_words(example), _forms(forms))


def pick_examples(
    examples: Sequence[str],
    forms: Collection[str],
    synonyms: Mapping[str, Collection[str]],
    limit: int = 3,
) -> tuple[list[str], list[str]]:
    """The examples to show for a sense and the synonyms they use instead of the word.

    ``forms`` are the headword's forms as for :func:`shows`; ``synonyms`` maps each other lemma
    of the synset to its forms. Examples are returned unchanged (clean them first with
    :func:`clean_example`; empty strings and repeats are skipped):

    * those that show the headword, in the given order, at most ``limit``; then the second
      list is empty;
    * when none does, the first example that shows a synonym, alone, with that synonym (the
      first in ``synonyms``' order that it shows) as the second list, so the caller can say so;
    * otherwise nothing: an example that shows neither is never returned.
    """
    if not examples or limit <= 0:
        return [], []
    headword = _forms(forms)
    compiled: dict[str, _Forms] = {}  # synonyms' forms, parsed only if an example needs them
    fallback: tuple[str, str] | None = None
    picked: list[str] = []
    seen: set[str] = set()
    for example in examples:
        if not example or example in seen:
            continue
        seen.add(example)
        words = _words(example)
        if _shown(words, headword):
            picked.append(example)
            if len(picked) == limit:
                break
        elif fallback is None and not picked:
            for synonym, synonym_forms in synonyms.items():
                parsed = compiled.get(synonym)
                if parsed is None:
                    parsed = compiled[synonym] = _forms(synonym_forms)
                if _shown(words, parsed):
                    fallback = (example, synonym)
                    break
    if picked:
        return picked, []
    if fallback is not None:
        return [fallback[0]], [fallback[1]]
    return [], []
