"""The emulator's knobs: phase durations, limits and fault rates, validated in one place.

A batch follows the configuration in force when it was created (its phase durations, seed and
fault rates are copied into the batch), so changing the configuration mid-run never rewrites the
history of batches already submitted. ``stall`` is the one exception: it acts on running batches
at once, because its purpose is to freeze work that is already in flight. The wire settings
(``lost_reply_*``, ``stale_read_rate``, ``isolate_projects``) act on each HTTP call as it comes.

Faults on the wire (all off by default; see :mod:`.server`):

* ``lost_reply_rate`` — a successful ``POST`` or ``DELETE`` under ``/v1`` (file upload, batch
  create, batch cancel, file delete) takes effect, and then its answer is lost: per
  ``lost_reply_mode`` the client gets a ``"5xx"`` (500, 502 or 504 with an OpenAI-style error
  body), a ``"drop"`` (the connection closes without a byte of response) or, with ``"mixed"``,
  either. Nothing caps them: a retried create is a new create.
* ``stale_read_rate`` — ``GET /v1/batches/{id}``, ``GET /v1/files/{id}`` and
  ``GET /v1/files/{id}/content`` answer OpenAI's 404 although the object exists.
* ``api_keys`` — when not empty, the only keys accepted: any other is answered 401 (OpenAI's
  ``invalid_api_key``, Anthropic's ``authentication_error``), as a revoked key is.
* ``stale_status_rate`` — a read of a batch that has ended (``GET /v1/batches/{id}``, ``GET
  /v1/messages/batches/{id}``) answers it as a lagging replica would: ``in_progress``, with no
  result files and no counts of finished requests.
* ``duplicate_create_rate`` — a batch create takes effect twice, as behind a proxy that retried
  a create whose answer it did not get in time: two batches of the same requests (and
  metadata) run and are billed; the client gets the second one's answer.
* ``listing_lag_seconds`` — a batch shows in listings only this long after it was created
  (reads by id find it at once).
* ``clock_offset_seconds`` — the server's clock runs this far ahead of the machine's (behind
  when negative): every time the API reports (``created_at`` and the other ``*_at`` fields, the
  ``Date`` header) is shifted by it; the batches' timeline is not, so changing it mid-run is a
  clock step, not a change of history.
* ``isolate_projects`` — each bearer key is its own project (``proj_`` + a hash of the key; the
  key itself is never stored): objects of another project are 404 and lists show only the
  caller's. When false, every key is project ``proj_emulator`` and sees everything.

Odd but billed answers (per request, see :mod:`.responder`): ``extra_entry_rate`` adds an entry
for a word that was not asked, ``duplicate_entry_rate`` repeats an asked word's entry.

Long entries (per word, see :func:`.responder.lengthen`): ``long_entry_rate`` is the share of
words (drawn from the seed and the word alone, so a retry gets the same) whose entry has each
list of senses ``long_entry_factor`` times as long, like a polysemous word's (``set``, ``run``).
Such an answer passes a request's ``max_tokens`` more easily, and is then cut off as usual.

Odd result files (per batch, see :mod:`.execution`): ``duplicate_line_rate`` writes some output
lines twice, ``conflicting_line_rate`` adds error lines for some answered requests,
``bogus_custom_id_rate`` adds output lines for custom_ids that were not asked. None of the extra
lines is billed.

Anthropic Message Batches (see :mod:`.anthropic_batches`) follow the same timeline, fault and
wire settings, plus ``anthropic_max_requests`` and ``anthropic_max_batch_bytes`` (a batch's
documented limits) and ``anthropic_invalid_request_rate`` (requests whose result is ``errored``
with an ``invalid_request_error``; ``error_rate`` gives ``api_error`` results there).

Google's Gemini Batch API (see :mod:`.gemini_batches`) follows the same timeline, fault and wire
settings (``refusal_rate`` gives safety blocks there), plus:

* ``gemini_missing_file_status`` — what a read of a missing, deleted, expired or stale file
  answers: 403 ``PERMISSION_DENIED`` as the real API does (default), or 404 ``NOT_FOUND``;
* ``gemini_expiry_seconds`` — a batch still pending or running this long after its creation
  ends ``BATCH_STATE_EXPIRED`` (48 h, as documented);
* ``gemini_partial_results`` — whether a cancelled or expired batch shows the results of the
  requests that ran (default) or no output at all (what ran is billed either way);
* ``gemini_thinking_tokens`` — thinking tokens a thinking model (``gemini-2.5-*`` and later, not
  ``*-lite``) spends on each answer, within ``thinkingBudget`` and ``maxOutputTokens``, billed
  as output (0 by default, so figures stay simple);
* ``gemini_max_inline_bytes`` — the largest body of inline requests (20 MB, as documented);
* ``openai_oldest_first`` — ``GET /v1/batches`` lists oldest first instead of newest first, as
  an OpenAI-compatible server may (OpenAI's reference gives no order);
* ``gemini_oldest_first`` — ``GET batches`` and ``GET files`` list oldest first instead of newest
  first: Google documents no order for either, so a client must not rely on one;
* ``gemini_max_display_name`` — the longest batch ``displayName`` accepted (0: any, as Google
  documents no limit for a batch's; a file's, documented at most 512 characters, is always
  checked).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_RATES = (
    "error_rate",
    "truncate_rate",
    "refusal_rate",
    "expire_rate",
    "no_output_rate",
    "http_429_rate",
    "http_500_rate",
    "lost_reply_rate",
    "stale_read_rate",
    "stale_status_rate",
    "duplicate_create_rate",
    "extra_entry_rate",
    "duplicate_entry_rate",
    "long_entry_rate",
    "duplicate_line_rate",
    "conflicting_line_rate",
    "bogus_custom_id_rate",
    "anthropic_invalid_request_rate",
)
LOST_REPLY_MODES = ("5xx", "drop", "mixed")
DEFAULT_PROJECT = "proj_emulator"
ORGANIZATION = "org-emulator"
_DURATIONS = (
    "validating_seconds",
    "seconds_per_request",
    "finalizing_seconds",
    "cancelling_seconds",
    "gemini_expiry_seconds",
)
GEMINI_MISSING_FILE_STATUSES = (403, 404)


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything that shapes the emulator's behaviour; immutable, change it with :meth:`replace`.

    Rates are probabilities in [0, 1], decided by hashing ``seed`` with the ids involved, so the
    same state directory, seed and inputs give the same outcomes on every run.
    """

    seed: int = 0
    # Phase durations of a batch, in seconds.
    validating_seconds: float = 0.2
    seconds_per_request: float = 0.002
    finalizing_seconds: float = 0.2
    cancelling_seconds: float = 0.2
    # Per-request faults, drawn from (seed, batch_id, custom_id).
    error_rate: float = 0.0
    truncate_rate: float = 0.0
    refusal_rate: float = 0.0
    # Billed answers whose entries are odd, drawn from (seed, batch_id, custom_id).
    extra_entry_rate: float = 0.0
    duplicate_entry_rate: float = 0.0
    # Words whose entry is long (senses repeated ``long_entry_factor`` times), drawn from
    # (seed, word).
    long_entry_rate: float = 0.0
    long_entry_factor: int = 8
    # Per-batch faults, drawn from (seed, batch_id).
    expire_rate: float = 0.0
    no_output_rate: float = 0.0
    # Odd lines in the result files (never billed), drawn from (seed, batch_id).
    duplicate_line_rate: float = 0.0
    conflicting_line_rate: float = 0.0
    bogus_custom_id_rate: float = 0.0
    # Transient failures of API calls themselves, drawn from (seed, call counter).
    http_429_rate: float = 0.0
    http_500_rate: float = 0.0
    max_consecutive_http_faults: int = 2
    # Faults on the wire, drawn from (seed, call number): answers lost after the effect (no cap),
    # and reads that do not find an object that exists.
    lost_reply_rate: float = 0.0
    lost_reply_mode: str = "5xx"
    stale_read_rate: float = 0.0
    stale_status_rate: float = 0.0
    # A create that takes effect twice (a retrying proxy), drawn from (seed, call number).
    duplicate_create_rate: float = 0.0
    # Seconds before a new batch shows in listings; the server clock's offset from the machine's.
    listing_lag_seconds: float = 0.0
    clock_offset_seconds: float = 0.0
    # One project per bearer key (objects of other projects are invisible), or one for all.
    isolate_projects: bool = False
    # When not empty, the only keys accepted (every provider's routes); any other key is
    # answered 401 (Gemini: 400 API_KEY_INVALID), as a revoked or mistyped key is. Empty: every
    # non-empty key is accepted.
    api_keys: tuple[str, ...] = ()
    # While true, no batch gets past in_progress.
    stall: bool = False
    # Enqueued input tokens allowed per model; models not in token_limits get the default.
    default_token_limit: int = 2_000_000
    token_limits: Mapping[str, int] = field(default_factory=dict)
    # Limits of one batch input file, as OpenAI documents them.
    max_requests: int = 50_000
    max_file_bytes: int = 200 * 1024 * 1024
    # Anthropic Message Batches (see :mod:`.anthropic_batches`): limits of one batch as
    # Anthropic documents them, and the share of requests given an invalid_request_error result.
    anthropic_max_requests: int = 100_000
    anthropic_max_batch_bytes: int = 256 * 1024 * 1024
    anthropic_invalid_request_rate: float = 0.0
    # Gemini Batch API (see :mod:`.gemini_batches`): what a missing file answers, when an
    # unended batch expires, whether cancelled and expired batches keep what ran, thinking
    # tokens per answer of a thinking model, and the largest inline batch body.
    gemini_missing_file_status: int = 403
    gemini_expiry_seconds: float = 48 * 3600.0
    gemini_partial_results: bool = True
    gemini_thinking_tokens: int = 0
    gemini_max_inline_bytes: int = 20 * 1024 * 1024
    # Gemini listings oldest first (their order is not documented); the longest batch display
    # name accepted (0: no limit, none being documented).
    gemini_oldest_first: bool = False
    gemini_max_display_name: int = 0
    openai_oldest_first: bool = False  # OpenAI's listing oldest first (its order is not documented)

    def __post_init__(self) -> None:
        for name in _RATES:
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        for name in _DURATIONS:
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        for name in (
            "max_consecutive_http_faults",
            "default_token_limit",
            "max_requests",
            "anthropic_max_requests",
            "anthropic_max_batch_bytes",
            "long_entry_factor",
            "gemini_thinking_tokens",
            "gemini_max_inline_bytes",
            "gemini_max_display_name",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        lag = self.listing_lag_seconds
        if not isinstance(lag, int | float) or isinstance(lag, bool) or not lag >= 0:
            raise ValueError(f"listing_lag_seconds must be a non-negative number, got {lag!r}")
        offset = self.clock_offset_seconds
        if not isinstance(offset, int | float) or isinstance(offset, bool) or offset != offset:
            raise ValueError(f"clock_offset_seconds must be a number, got {offset!r}")
        if not isinstance(self.max_file_bytes, int) or self.max_file_bytes < 0:
            raise ValueError("max_file_bytes must be a non-negative integer")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if self.gemini_missing_file_status not in GEMINI_MISSING_FILE_STATUSES:
            raise ValueError(
                "gemini_missing_file_status must be 403 or 404, "
                f"got {self.gemini_missing_file_status!r}"
            )
        switches = ("stall", "isolate_projects", "gemini_partial_results", "gemini_oldest_first")
        for name in (*switches, "openai_oldest_first"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.lost_reply_mode not in LOST_REPLY_MODES:
            raise ValueError(
                f"lost_reply_mode must be one of {', '.join(LOST_REPLY_MODES)}, "
                f"got {self.lost_reply_mode!r}"
            )
        keys = (self.api_keys,) if isinstance(self.api_keys, str) else self.api_keys
        if not all(isinstance(k, str) and k for k in keys):
            raise ValueError(f"api_keys must be non-empty strings, got {self.api_keys!r}")
        object.__setattr__(self, "api_keys", tuple(keys))
        limits = dict(self.token_limits)
        for model, limit in limits.items():
            if not isinstance(model, str) or not isinstance(limit, int) or limit < 0:
                raise ValueError(f"token_limits needs model -> non-negative int, got {model!r}")
        # A plain dict copy, so a caller mutating its mapping cannot change a frozen config.
        object.__setattr__(self, "token_limits", limits)

    def replace(self, **changes: Any) -> EmulatorConfig:
        """A copy with ``changes`` applied; ValueError for an unknown field or a bad value."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown emulator setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def token_limit(self, model: str) -> int:
        """Enqueued input tokens allowed for ``model`` across its unfinished batches."""
        return self.token_limits.get(model, self.default_token_limit)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every setting (what ``GET /_emulator/config`` returns)."""
        out = dataclasses.asdict(self)
        out["token_limits"] = dict(self.token_limits)
        return out
