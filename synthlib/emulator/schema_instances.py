"""Deterministic instances of a JSON schema, standing in for a model's Structured Outputs answer.

:class:`InstanceGenerator` compiles a schema once into a tree of small functions and then draws
instances from a ``random.Random`` the caller seeds, so the same seed always gives the same
instance. Supported: ``type`` (including lists of types), ``properties``/``required``,
``additionalProperties`` (no extra keys are ever produced), ``items``, ``minItems``/``maxItems``,
``uniqueItems``, ``enum``, ``const``, ``anyOf``/``oneOf``/``allOf``, local ``$ref`` (``#``,
``#/$defs/...``, ``#/definitions/...``, recursion included), integer and number
``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum``/``multipleOf``, string
``minLength``/``maxLength`` and a few ``format`` values. ``pattern`` is not honoured.

One convention makes answers useful to a dictionary client. When words are given and the root is
an object with an array property whose items are objects with a string property ``word``, that
array gets exactly one item per word, in order, with ``word`` set to the word and a boolean
``is_real_word`` set to true — or to false for words starting with ``zzq``, which are junk and get
nulls and the shortest arrays their schema allows. Strings inside an item are short English
fillers built from the word and the property name (``definition`` → "a definition of <word>";
each ``examples`` item is a sentence containing the word).
"""

from __future__ import annotations

import copy
import math
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

JUNK_PREFIX = "zzq"
_MAX_DEPTH = 8  # beyond this, optional structure is left out so recursive schemas terminate
_HARD_DEPTH = 64


class _Context:
    """What one generation carries down the tree: the random source and the current word."""

    __slots__ = ("depth", "index", "junk", "null_odds", "real", "rng", "word")

    def __init__(self, rng: random.Random, word: str | None = None, real: bool = True) -> None:
        self.rng = rng
        self.word = word
        self.real = real
        # A junk word's entry is as empty as the schema allows; the nodes read these two
        # attributes inline rather than through methods, as they run hundreds of times per answer.
        self.junk = word is not None and not real
        self.null_odds = 1.0 if self.junk else 0.1 if word is not None else 0.25
        self.depth = 0
        self.index = 0


Node = Callable[[_Context], Any]


def is_junk_word(word: str) -> bool:
    """Whether the emulator treats ``word`` as junk (``is_real_word`` false)."""
    return word.lower().startswith(JUNK_PREFIX)


# Fillers for strings inside a word's entry, by property name; {w} is the word.
_WORD_TEMPLATES: dict[str, tuple[str, ...]] = {
    "definition": ("a definition of {w}", "another sense of {w}", "a further meaning of {w}"),
    "examples": (
        "She used the word {w} in a sentence.",
        "Here is {w} in a short example.",
        "They said {w} twice yesterday.",
        "Nobody expected {w} to come up.",
    ),
    "synonyms": ("akin to {w}", "much like {w}", "close to {w}", "similar to {w}"),
    "antonyms": ("not {w}", "unlike {w}", "opposite of {w}", "far from {w}"),
    "ipa": ("/{w}/",),
    "text": ("From an earlier form of {w}.",),
    "origin_language": ("Old English", "Latin", "Old French", "Greek"),
    "roots": ("{w}", "root of {w}", "stem of {w}"),
    "first_known_use": ("14th century", "1590", "18th century", "1925"),
    "domain": ("general", "everyday life", "science"),
    "region": ("US", "UK", "worldwide"),
    "usage_notes": ("Common in everyday use.", "Often used informally.", "Mostly written."),
}
_WORD_SUFFIXES = {
    "plural": "s",
    "past_tense": "ed",
    "past_participle": "ed",
    "present_participle": "ing",
    "third_person_singular": "s",
    "comparative": "er",
    "superlative": "est",
}
_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00",
    "email": "someone@example.com",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/",
    "uri-reference": "https://example.com/",
}


def _syllables(word: str) -> list[str]:
    """A rough split of ``word`` into chunks of about three letters."""
    if len(word) <= 3:
        return [word]
    return [word[i : i + 3] for i in range(0, len(word), 3)]


class InstanceGenerator:
    """Draws instances that validate against one JSON schema.

    ``generate(rng, words)`` is deterministic in the state of ``rng``; pass ``words`` to get the
    entry-per-word convention described in the module docstring.
    """

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._root = schema
        self._ref_nodes: dict[tuple[str, str | None], Node] = {}
        self._node = self._compile(schema, None)
        self._entries = self._find_entries()

    # -- public --------------------------------------------------------------------------------

    @property
    def has_word_entries(self) -> bool:
        """Whether the schema has the array of ``word`` objects the word convention fills."""
        return self._entries is not None

    def generate(self, rng: random.Random, words: Sequence[str] | None = None) -> Any:
        """One instance of the schema; with ``words``, one entry per word where the schema has
        the place for it."""
        ctx = _Context(rng)
        if words is None or self._entries is None:
            return self._node(ctx)
        entries_name, entry_node, root_props = self._entries
        out: dict[str, Any] = {}
        for name, node, required in root_props:
            if name == entries_name:
                out[name] = [self._entry(entry_node, rng, str(word)) for word in words]
            elif required or rng.random() < 0.5:
                out[name] = node(ctx)
        return out

    # -- word entries --------------------------------------------------------------------------

    @staticmethod
    def _entry(node: Node, rng: random.Random, word: str) -> Any:
        ctx = _Context(rng, word, not is_junk_word(word))
        ctx.depth = 1
        return node(ctx)

    def _find_entries(self) -> tuple[str, Node, list[tuple[str, Node, bool]]] | None:
        root = self._resolve(self._root)
        if not isinstance(root, Mapping) or not isinstance(root.get("properties"), Mapping):
            return None
        for name, prop in root["properties"].items():
            array = self._resolve(prop)
            if not isinstance(array, Mapping) or not isinstance(array.get("items"), Mapping):
                continue
            item = self._resolve(array["items"])
            props = item.get("properties") if isinstance(item, Mapping) else None
            if (
                isinstance(props, Mapping)
                and "word" in props
                and self._allows(props["word"], "string")
            ):
                return name, self._compile(array["items"], name), self._object_parts(root)
        return None

    # -- schema plumbing -----------------------------------------------------------------------

    def _resolve(self, schema: Any) -> Any:
        seen = 0
        while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
            schema = self._lookup(schema["$ref"])
            seen += 1
            if seen > 32:
                raise ValueError("$ref chain too long")
        return schema

    def _lookup(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        node: Any = self._root
        for raw in ref[1:].split("/")[1:] if ref != "#" else []:
            key = raw.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node

    def _allows(self, schema: Any, type_name: str) -> bool:
        schema = self._resolve(schema)
        if not isinstance(schema, Mapping):
            return schema is True
        if "enum" in schema or "const" in schema:
            return False
        declared = schema.get("type")
        if isinstance(declared, str):
            return declared == type_name
        if isinstance(declared, list):
            return type_name in declared
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                return any(self._allows(branch, type_name) for branch in schema[key])
        return False

    def _is_null(self, schema: Any) -> bool:
        schema = self._resolve(schema)
        if not isinstance(schema, Mapping):
            return False
        return (
            schema.get("type") == "null"
            or ("const" in schema and schema["const"] is None)
            or schema.get("enum") == [None]
        )

    # -- compilation ---------------------------------------------------------------------------

    def _compile(self, schema: Any, name: str | None) -> Node:
        if schema is True or schema == {} or schema is None:
            return self._string({}, name)
        if schema is False:
            raise ValueError("schema `false` has no instances")
        if not isinstance(schema, Mapping):
            raise ValueError(f"not a schema: {schema!r}")
        if "$ref" in schema:
            return self._ref(schema["$ref"], name)
        if "const" in schema:
            value = schema["const"]
            return lambda ctx: _fresh(value)
        if "enum" in schema:
            return self._enum(list(schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                return self._choice(schema[key], name)
        if isinstance(schema.get("allOf"), list):
            return self._compile(self._merge(schema), name)
        declared = schema.get("type")
        if isinstance(declared, list):
            branches = [{**schema, "type": t} for t in declared]
            return self._choice(branches, name)
        if declared is None:
            if "properties" in schema:
                declared = "object"
            elif "items" in schema:
                declared = "array"
            else:
                declared = "string"
        match declared:
            case "object":
                return self._object(schema)
            case "array":
                return self._array(schema, name)
            case "string":
                return self._string(schema, name)
            case "integer":
                return self._integer(schema)
            case "number":
                return self._number(schema)
            case "boolean":
                return lambda ctx: ctx.rng.random() < 0.5
            case "null":
                return lambda ctx: None
        raise ValueError(f"unsupported schema type {declared!r}")

    def _merge(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = self._resolve(part)
            if not isinstance(part, Mapping):
                continue
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged

    def _ref(self, ref: str, name: str | None) -> Node:
        key = (ref, name)
        if key not in self._ref_nodes:
            # A cell filled after compiling lets a recursive schema refer to itself.
            cell: list[Node] = []
            self._ref_nodes[key] = lambda ctx: cell[0](ctx)
            cell.append(self._compile(self._lookup(ref), name))
        return self._ref_nodes[key]

    def _enum(self, values: list[Any]) -> Node:
        concrete = [v for v in values if v is not None]
        nullable = len(concrete) < len(values)

        def node(ctx: _Context) -> Any:
            if not concrete or (
                nullable and (ctx.depth > _MAX_DEPTH or ctx.rng.random() < ctx.null_odds)
            ):
                return None
            if ctx.junk or ctx.depth > _MAX_DEPTH:
                return _fresh(concrete[0])
            return _fresh(concrete[int(ctx.rng.random() * len(concrete))])

        return node

    def _choice(self, branches: list[Any], name: str | None) -> Node:
        nulls = [b for b in branches if self._is_null(b)]
        others = [self._compile(b, name) for b in branches if not self._is_null(b)]

        if nulls and len(others) == 1:  # "T or null", the usual optional field
            only = others[0]

            def optional(ctx: _Context) -> Any:
                if ctx.depth > _MAX_DEPTH or ctx.rng.random() < ctx.null_odds:
                    return None
                return only(ctx)

            return optional

        def node(ctx: _Context) -> Any:
            if nulls and (not others or ctx.depth > _MAX_DEPTH or ctx.rng.random() < ctx.null_odds):
                return None
            if len(others) == 1 or ctx.junk or ctx.depth > _MAX_DEPTH:
                return others[0](ctx)
            return others[int(ctx.rng.random() * len(others))](ctx)

        return node

    def _object_parts(self, schema: Mapping[str, Any]) -> list[tuple[str, Node, bool]]:
        props = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        parts: list[tuple[str, Node, bool]] = []
        for prop_name, prop in props.items():
            node = self._compile(prop, prop_name)
            if prop_name == "word" and self._allows(prop, "string"):
                node = self._word_or(node)
            elif prop_name == "is_real_word" and self._allows(prop, "boolean"):
                node = self._realness_or(node)
            parts.append((prop_name, node, prop_name in required))
        for missing in sorted(required - set(props)):  # required but unspecified: any value
            parts.append((missing, self._string({}, missing), True))
        return parts

    @staticmethod
    def _word_or(inner: Node) -> Node:
        return lambda ctx: ctx.word if ctx.word is not None else inner(ctx)

    @staticmethod
    def _realness_or(inner: Node) -> Node:
        return lambda ctx: ctx.real if ctx.word is not None else inner(ctx)

    def _object(self, schema: Mapping[str, Any]) -> Node:
        parts = self._object_parts(schema)
        if all(required for _, _, required in parts):  # strict schemas: the common, fast case
            pairs = [(prop_name, prop_node) for prop_name, prop_node, _ in parts]

            def strict(ctx: _Context) -> dict[str, Any]:
                if ctx.depth > _HARD_DEPTH:
                    raise ValueError("schema recursion has no finite instance")
                ctx.depth += 1
                out = {prop_name: prop_node(ctx) for prop_name, prop_node in pairs}
                ctx.depth -= 1
                return out

            return strict

        def node(ctx: _Context) -> dict[str, Any]:
            if ctx.depth > _HARD_DEPTH:
                raise ValueError("schema recursion has no finite instance")
            ctx.depth += 1
            out: dict[str, Any] = {}
            for prop_name, prop_node, required in parts:
                if required or (
                    not ctx.junk and ctx.depth <= _MAX_DEPTH and ctx.rng.random() < 0.6
                ):
                    out[prop_name] = prop_node(ctx)
            ctx.depth -= 1
            return out

        return node

    def _array(self, schema: Mapping[str, Any], name: str | None) -> Node:
        items = schema.get("items", {})
        if isinstance(items, list):  # the old tuple form: use its first schema for every item
            items = items[0] if items else {}
        item_node = self._compile(items, name)
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        high = int(high) if high is not None else None
        unique = bool(schema.get("uniqueItems"))
        word_chunks = name == "syllables" and self._allows(items, "string")

        # Outside junk entries an array gets 1-3 items where its bounds allow.
        least = max(low, 1) if high is None or high >= 1 else 0
        most = max(least, 3 if high is None else min(high, 3))
        spread = most - least + 1

        def node(ctx: _Context) -> list[Any]:
            if word_chunks and ctx.word is not None and ctx.real:
                chunks = _syllables(ctx.word)
                if low <= len(chunks) and (high is None or len(chunks) <= high):
                    return chunks
            if ctx.junk or ctx.depth > _MAX_DEPTH:
                count = low
            else:
                u = ctx.rng.random()  # squared: short arrays are the common case
                count = min(most, least + int(spread * u * u))
            ctx.depth += 1
            outer_index = ctx.index
            out: list[Any] = []
            if unique:
                seen: set[str] = set()
                attempts = 0
                while len(out) < count and attempts < count * 4 + 4:
                    ctx.index = attempts
                    value = item_node(ctx)
                    attempts += 1
                    key = repr(value)
                    if key not in seen:
                        seen.add(key)
                        out.append(value)
            else:
                for index in range(count):
                    ctx.index = index
                    out.append(item_node(ctx))
            ctx.depth -= 1
            ctx.index = outer_index
            return out

        return node

    def _string(self, schema: Mapping[str, Any], name: str | None) -> Node:
        text = self._string_text(schema.get("format"), name)
        min_len = int(schema.get("minLength", 0))
        max_len = schema.get("maxLength")
        if not min_len and max_len is None:
            return text
        max_len = int(max_len) if max_len is not None else None

        def node(ctx: _Context) -> str:
            value = text(ctx)
            if len(value) < min_len:
                value = value.ljust(min_len, "x")
            if max_len is not None and len(value) > max_len:
                value = value[:max_len]
            return value

        return node

    @staticmethod
    def _string_text(fmt: Any, name: str | None) -> Node:
        # One specialised function per (format, property name): strings are most of the nodes
        # of an answer, so deciding the strategy once at compile time keeps generation cheap.
        if fmt == "uuid":
            return lambda ctx: _uuid(ctx.rng)
        if fmt in _FORMATS:
            fixed = _FORMATS[fmt]
            return lambda ctx: fixed
        label = (name or "text").replace("_", " ")

        def generic(ctx: _Context) -> str:
            return f"sample {label} {ctx.index + 1}" if ctx.index else f"sample {label}"

        suffix = _WORD_SUFFIXES.get(name or "")
        templates = _WORD_TEMPLATES.get(name or "")
        if name == "respelling":
            return lambda ctx: ctx.word.upper() if ctx.word is not None else generic(ctx)
        if suffix is not None:
            return lambda ctx: ctx.word + suffix if ctx.word is not None else generic(ctx)
        if templates is None:
            return lambda ctx: f"{label} of {ctx.word}" if ctx.word is not None else generic(ctx)
        count = len(templates)
        if name in ("examples", "synonyms", "antonyms", "roots"):
            # Items of one array differ, so they follow the item index.
            def listed(ctx: _Context) -> str:
                if ctx.word is None:
                    return generic(ctx)
                return templates[ctx.index % count].format(w=ctx.word)

            return listed

        def varied(ctx: _Context) -> str:
            if ctx.word is None:
                return generic(ctx)
            return templates[int(ctx.rng.random() * count)].format(w=ctx.word)

        return varied

    def _integer(self, schema: Mapping[str, Any]) -> Node:
        bound_low, bound_high = _bounds(schema)
        given_low: int | None = None
        given_high: int | None = None
        if bound_low is not None:
            value, exclusive = bound_low
            given_low = math.floor(value) + 1 if exclusive else math.ceil(value)
        if bound_high is not None:
            value, exclusive = bound_high
            given_high = math.ceil(value) - 1 if exclusive else math.floor(value)
        if given_low is not None and given_high is not None:
            low, high = given_low, given_high
        elif given_low is not None:
            low, high = given_low, given_low + 100
        elif given_high is not None:
            low, high = given_high - 100, given_high
        else:
            low, high = 0, 100
        multiple = schema.get("multipleOf")
        if isinstance(multiple, int) and multiple > 0:
            first = -(-low // multiple) * multiple
            steps = (high - first) // multiple if first <= high else -1
        else:
            multiple, first, steps = 1, low, high - low

        def node(ctx: _Context) -> int:
            if steps < 0:
                return first
            return first + multiple * ctx.rng.randint(0, steps)

        return node

    def _number(self, schema: Mapping[str, Any]) -> Node:
        low, high = _bounds(schema)
        lo = 0.0 if low is None else float(low[0])
        hi = (lo + 100.0) if high is None else float(high[0])
        if low is None and high is not None:
            lo = hi - 100.0

        def node(ctx: _Context) -> float:
            # Stay strictly inside, so exclusive bounds hold after rounding.
            value = round(lo + (hi - lo) * (0.1 + 0.8 * ctx.rng.random()), 3)
            if not lo < value < hi:
                value = (lo + hi) / 2
            return value

        return node


def _fresh(value: Any) -> Any:
    """``value``, copied when it is mutable (so instances never share structure)."""
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


def _bounds(
    schema: Mapping[str, Any],
) -> tuple[tuple[float, bool] | None, tuple[float, bool] | None]:
    """(lower, upper) bounds as (value, exclusive) pairs, reading both JSON Schema dialects."""
    low: tuple[float, bool] | None = None
    high: tuple[float, bool] | None = None
    if isinstance(schema.get("minimum"), int | float):
        low = (schema["minimum"], schema.get("exclusiveMinimum") is True)
    if isinstance(schema.get("exclusiveMinimum"), int | float) and not isinstance(
        schema.get("exclusiveMinimum"), bool
    ):
        low = (schema["exclusiveMinimum"], True)
    if isinstance(schema.get("maximum"), int | float):
        high = (schema["maximum"], schema.get("exclusiveMaximum") is True)
    if isinstance(schema.get("exclusiveMaximum"), int | float) and not isinstance(
        schema.get("exclusiveMaximum"), bool
    ):
        high = (schema["exclusiveMaximum"], True)
    return low, high


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
