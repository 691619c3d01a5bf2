"""Deterministic fault decisions.

Every decision is a uniform draw in [0, 1) computed by hashing the seed with what the decision is
about, so it is reproducible and independent of timing and thread order:

* per request: ``(seed, kind, batch_id, custom_id)`` — the same request resubmitted in a new
  batch gets a fresh draw, so a retry can succeed;
* per batch: ``(seed, kind, batch_id)``;
* per API call: ``(seed, kind, call number)``, with a cap on consecutive failures of the same
  request (same method, path, query and body), so a client that retries at least
  ``max_consecutive_http_faults`` times always gets through, however many other clients share
  the emulator;
* per wire call (:class:`WireFaults`): ``(seed, kind, wire call number)``, where every
  authorised ``/v1`` call gets the next number. Lost replies (``lost_reply_rate``) and stale
  reads (``stale_read_rate``) are not capped: a retried create is a new create, and may lose
  its answer again.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

from .config import EmulatorConfig
from .errors import ApiError

_SCALE = float(1 << 64)


def draw(seed: int, kind: str, *keys: str | int) -> float:
    """A uniform number in [0, 1) fixed by ``seed``, ``kind`` and ``keys``."""
    text = "\x1f".join([str(seed), kind, *map(str, keys)])
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def seed_int(seed: int, kind: str, *keys: str | int) -> int:
    """A 64-bit integer fixed by its arguments, for seeding a ``random.Random``."""
    text = "\x1f".join([str(seed), kind, *map(str, keys)])
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def hits(rate: float, seed: int, kind: str, *keys: str | int) -> bool:
    """Whether a fault of probability ``rate`` strikes for these keys."""
    if rate <= 0.0:
        return False
    if rate >= 1.0:
        return True
    return draw(seed, kind, *keys) < rate


RATE_LIMIT_MESSAGE = (
    "Rate limit reached for requests in organization org-emulator. Please try again shortly."
)
SERVER_ERROR_MESSAGE = (
    "The server had an error while processing your request. Sorry about that! (emulated)"
)


class TransientFaults:
    """Decides, call by call, whether an API call fails with a 429 or a 500 before doing anything.

    Calls are numbered in arrival order; the n-th call's fate is a draw on (seed, n). A request
    (identified by the caller's ``fingerprint``) that has failed ``max_consecutive_http_faults``
    times in a row always succeeds on its next try.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls = 0
        self._streaks: dict[str, int] = {}  # fingerprint -> failures in a row

    def check(self, config: EmulatorConfig, fingerprint: Callable[[], str]) -> None:
        """Raise the ApiError for this call if it is to fail; return quietly otherwise.

        ``fingerprint`` is only called when faults are enabled (hashing a body costs time).
        """
        if config.http_429_rate <= 0 and config.http_500_rate <= 0:
            return
        key = fingerprint()
        with self._lock:
            call = self._calls
            self._calls += 1
            streak = self._streaks.pop(key, 0)
            if streak >= config.max_consecutive_http_faults:
                return
            if hits(config.http_429_rate, config.seed, "http_429", call):
                self._streaks[key] = streak + 1
                # retry-after-ms is what the SDK reads first; a tiny delay keeps tests quick.
                raise ApiError(
                    429,
                    RATE_LIMIT_MESSAGE,
                    type="requests",
                    code="rate_limit_exceeded",
                    headers={"retry-after": "0", "retry-after-ms": "10"},
                )
            if hits(config.http_500_rate, config.seed, "http_500", call):
                self._streaks[key] = streak + 1
                raise ApiError(500, SERVER_ERROR_MESSAGE, type="server_error")


LOST_REPLY_STATUSES = (500, 502, 504)
LOST_REPLY_MESSAGES = {
    500: SERVER_ERROR_MESSAGE,
    502: "Bad gateway. The upstream server returned an invalid response. (emulated)",
    504: "Gateway timeout. The server did not answer in time. (emulated)",
}


class WireFaults:
    """Numbers authorised ``/v1`` calls in arrival order and decides their wire faults.

    A serial client therefore meets the same faults on every run with the same seed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls = 0

    def next_call(self) -> int:
        """The number of the call now arriving."""
        with self._lock:
            call = self._calls
            self._calls += 1
            return call

    @staticmethod
    def stale_read(config: EmulatorConfig, call: int) -> bool:
        """Whether this read answers 404 although its object exists."""
        return hits(config.stale_read_rate, config.seed, "stale_read", call)

    @staticmethod
    def lost_reply(config: EmulatorConfig, call: int) -> str | int | None:
        """How this call's answer is lost once it took effect: ``"drop"`` (close the connection
        without answering), an HTTP status to answer instead (500, 502 or 504), or None."""
        if not hits(config.lost_reply_rate, config.seed, "lost_reply", call):
            return None
        mode = config.lost_reply_mode
        if mode == "mixed":
            mode = "drop" if draw(config.seed, "lost_reply_mode", call) < 0.5 else "5xx"
        if mode == "drop":
            return "drop"
        pick = int(draw(config.seed, "lost_reply_status", call) * len(LOST_REPLY_STATUSES))
        return LOST_REPLY_STATUSES[pick]

    @staticmethod
    def lost_reply_error(status: int) -> ApiError:
        """The OpenAI-style error answered in place of a lost reply."""
        return ApiError(status, LOST_REPLY_MESSAGES[status], type="server_error")
