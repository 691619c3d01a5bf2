"""The interface every backend satisfies: the Batch APIs (OpenAI, Anthropic, ...), the offline
provider, and anything else that speaks Files + Batches. The engine drives a :class:`Backend`
and never knows which.

Errors are sorted by what the engine should do about them, not by where they came from:
:class:`TransientError` (try again later), :class:`UncertainError` (the call may or may not have
happened: look before repeating it), :class:`RejectedError` (the request itself is wrong; repeating
it cannot help) and :class:`FatalError` (nothing will work: bad key, no permission).
"""

from __future__ import annotations

import email.utils
import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from ..core.errors import BackendError
from ..core.pricing import Usage

# The tags a batch carries (OpenAI: in its metadata; Anthropic: in every custom_id), so that a
# batch whose create was not answered, or not journalled before a crash, is found again.
RUN_TAG = "synthlib_run"
SHARD_TAG = "synthlib_shard"


class BatchStatus(StrEnum):
    """A batch's status as the Batch API names it (equal to the API's strings)."""

    VALIDATING = "validating"
    FAILED = "failed"  # failed validation: nothing ran
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"  # past its window: what ran is billed and in its files
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"


TERMINAL = frozenset(
    {BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.EXPIRED, BatchStatus.CANCELLED}
)
# past validation: accepted under the model's enqueued-token limit
ACCEPTED = frozenset({BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING, BatchStatus.COMPLETED})


@dataclass(frozen=True)
class Endpoint:
    """Where a backend's API is, in the words a user fixes it with: how the run names the API,
    its base URL, the environment variables that set the URL and the key, and what a 404 on
    the first call most likely means (a base URL with or without ``/v1``)."""

    api: str  # "the OpenAI Batch API"
    base_url: str
    url_variable: str  # OPENAI_BASE_URL
    key_variable: str  # OPENAI_API_KEY
    hint_404: str = ""


class TransientError(BackendError):
    """Rate limited, server error or unreachable: the same call may work later."""


class UncertainError(TransientError):
    """No answer came (timeout, dropped connection): the call may have taken effect."""


class RejectedError(BackendError):
    """The API refused the request as invalid (HTTP 400, 404, 409, 422)."""


class FatalError(BackendError):
    """Authentication or permission failure: stop the run (state is saved)."""


@dataclass(frozen=True)
class SdkErrors:
    """The exception classes of one provider's SDK, sorted by what the engine should do: each
    backend declares its own (the SDKs differ: Anthropic's has ``PaymentRequiredError`` and
    ``ContentTooLargeError``, OpenAI's neither), so :func:`sdk_call` never guesses by name."""

    fatal: tuple[type[BaseException], ...]  # bad key, no permission, no credit
    rejected: tuple[type[BaseException], ...]  # the request is wrong (400, 404, 409, 413, 422)
    rate_limited: tuple[type[BaseException], ...]  # 429: refused before anything was done
    no_answer: tuple[type[BaseException], ...]  # connection lost or timed out
    status: tuple[type[BaseException], ...]  # any other HTTP status (5xx, 529)
    timeout: tuple[type[BaseException], ...] = ()  # the part of ``no_answer`` that timed out


def sdk_call[T](
    errors: SdkErrors, what: str, fn: Callable[..., T], *args: Any, once: bool, **kw: Any
) -> T:
    """``fn(*args, **kw)`` with the SDK's exceptions (declared by ``errors``) sorted by what the
    engine should do: a bad key or permission is :class:`FatalError`, a request the API refused
    :class:`RejectedError`, a 429 (refused before anything was done) :class:`TransientError`,
    and no answer or a 5xx :class:`UncertainError` for a call made ``once`` (it may have taken
    effect) and :class:`TransientError` otherwise.
    Messages say what failed and the HTTP status, never the key."""
    try:
        return fn(*args, **kw)
    except errors.fatal as exc:
        raise _sorted(FatalError, what, exc) from None
    except errors.rejected as exc:
        raise _sorted(RejectedError, what, exc) from None
    except errors.rate_limited as exc:
        raise _sorted(TransientError, what, exc) from None
    except errors.no_answer as exc:  # includes timeouts: the call may have happened
        kind = UncertainError if once else TransientError
        raise kind(f"{what}: no answer ({_no_answer(errors, exc)})") from None
    except errors.status as exc:  # 5xx (529 overloaded, for Anthropic)
        kind = UncertainError if once else TransientError
        raise _sorted(kind, what, exc) from None


def _sorted[E: BackendError](kind: type[E], what: str, exc: Any) -> E:
    error = kind(f"{what}: {_describe(exc)}")
    error.status = getattr(exc, "status_code", None)
    return error


def account_fingerprint(secret: str | None) -> str:
    """12 hex digits standing for an API key's account (never the key, nor enough to find it)."""
    if not secret:
        return ""
    return hashlib.sha256(b"synthlib-account\n" + secret.encode()).hexdigest()[:12]


def _describe(exc: Any) -> str:
    status = getattr(exc, "status_code", None)
    message = getattr(exc, "message", None) or type(exc).__name__
    return f"HTTP {status}: {message}" if status else message


def _no_answer(errors: SdkErrors, exc: Any) -> str:
    """Why no answer came, and from where (``host:port``), in a few words: "connection refused
    by 127.0.0.1:9", "timed out waiting for api.openai.com:443"."""
    url = getattr(getattr(exc, "request", None), "url", None)
    where = ""
    if url is not None and getattr(url, "host", None):
        port = url.port or {"https": 443, "http": 80}.get(url.scheme, "")
        where = f"{url.host}:{port}" if port else str(url.host)
    cause, texts = exc, list[str]()
    while cause is not None and len(texts) < 5:  # the transport's error is a cause or two down
        texts.append(str(cause).lower())
        cause = cause.__cause__ or cause.__context__
    text = " ".join(texts)
    if isinstance(exc, errors.timeout) or "timed out" in text:
        return f"timed out waiting for {where}" if where else "timed out"
    if "refused" in text:
        return f"connection refused by {where}" if where else "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text:
        return f"unknown host {where}" if where else "unknown host"
    return f"{type(exc).__name__} from {where}" if where else type(exc).__name__


class ServerClock:
    """The API's clock, read from the ``Date`` header of its answers: :meth:`now` is this
    machine's time plus the offset last measured. The API's times (a batch's ``created_at``)
    are compared with it, never with this machine's clock, which may be hours off."""

    def __init__(self, local: Callable[[], float] = time.time) -> None:
        self._local = local
        self.offset = 0.0  # the API's clock less this machine's (whole seconds: Date's grain)

    def note(self, headers: Any) -> None:
        """Measure the offset from an answer's headers (no ``Date``: nothing changes)."""
        date = headers.get("date") if headers is not None else None
        if not date:
            return
        try:
            server = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError):
            return
        self.offset = server - self._local()

    def now(self) -> float:
        return self._local() + self.offset


@dataclass(frozen=True)
class BatchError:
    code: str
    message: str = ""
    line: int | None = None


# The tokens a batch was billed for, as the API reports them on the batch itself: the one
# :class:`Usage` (its cost left 0: the engine prices it). The name stays for providers.
BatchUsage = Usage


@dataclass(frozen=True)
class BatchInfo:
    """What the engine needs to know about a batch, whatever backend it lives on."""

    id: str
    status: str
    input_file_id: str
    created_at: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    metadata: Mapping[str, str] = field(default_factory=dict)
    errors: tuple[BatchError, ...] = ()
    usage: Usage | None = None  # None: the API does not report it (older batches)
    counted: bool = True  # False: the API reports no request counts (completed, failed)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def counts(self) -> str:
        """The requests as a status line shows them: ``3/5 requests`` done of all; ``5
        requests`` when the API counts none done (Gemini); "" when nothing is known."""
        if self.counted:
            return f"{self.completed + self.failed}/{self.total} requests"
        return f"{self.total} requests" if self.total else ""


class Backend(Protocol):
    """Files and Batches, as the engine uses them."""

    @property
    def provider(self) -> str:
        """The provider's registered name (``openai``, ``anthropic``, ``offline``, ...): recorded
        with every entry."""
        ...

    # True when :meth:`list` and :meth:`retrieve` show a batch's ``metadata`` from the moment it
    # exists (OpenAI, offline). False when a batch can carry no metadata and its tags can only be
    # read from its results once it has ended (Anthropic): then a create whose answer was lost
    # is resolved by its journalled attempt (time, request count) and confirmed from the results
    # of the candidates (see :mod:`synthlib.engine.recover`). Read with ``getattr(.., True)``.
    metadata_before_end: bool

    def server_time(self) -> float:
        """The API's time now (epoch seconds, the clock of ``created_at``), as the ``Date``
        header of its latest answer tells; this machine's clock for a backend without a server
        (offline). Read with ``getattr(backend, "server_time", time.time)``."""
        ...

    def upload(self, path: Path) -> str:
        """Upload a JSONL batch input file; returns its file id."""
        ...

    def find_upload(self, filename: str, since: float) -> str | None:
        """An upload of ``filename`` made at or after ``since`` (epoch seconds), if any: how an
        upload whose answer was lost is found instead of sent again."""
        ...

    def create(self, input_file_id: str, metadata: Mapping[str, str]) -> BatchInfo:
        """Create a batch over an uploaded file (24 h window), tagged with ``metadata``."""
        ...

    def retrieve(self, batch_id: str) -> BatchInfo: ...

    def list(self) -> Iterator[BatchInfo]:
        """Batches (paginated lazily): newest first where the spec says so
        (:attr:`~synthlib.providers.spec.ProviderSpec.lists_newest_first`), else in the API's
        own order."""
        ...

    def cancel(self, batch_id: str) -> BatchInfo: ...

    def download(self, file_id: str, dest: Path) -> None:
        """Write a file's content to ``dest`` (complete on return)."""
        ...

    def delete_file(self, file_id: str) -> None: ...

    def location(self) -> dict[str, str]:
        """Where the batches live (base URL, account, project; never a secret), so a resume
        against another place is refused instead of resubmitting. Empty when it does not
        matter (the offline provider)."""
        ...
