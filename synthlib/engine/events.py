"""The journal's events: one frozen dataclass per kind of change to a run's state.

An event is one line of a checkpoint's journal, ``{"type": ..., "seq": ..., **fields}``, in the
JSON checkpoints were written in before events were typed: :meth:`Event.to_json` writes that
object and :func:`event_from_json` reads it back, so old checkpoints load and new ones read the
same (a field left ``None`` is not written, as the dicts left it out). Values are normalised on
construction, from JSON or from Python alike: words are tuples, failures :class:`Failure` values
(written ``"code: detail"``), histogram buckets and adopted places ints.

:class:`~synthlib.engine.state.RunState` applies them; :meth:`RunState.event` numbers a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar

from ..core.pricing import Usage
from ..core.schema import Failure
from ..providers.base import BatchStatus


class EventError(ValueError):
    """A journal line that is no event this code knows (another type, or fields missing)."""


class UnknownEvent(EventError):
    """A journal step of a type this synthlib does not know (a newer one may have written it)."""


class FlightStatus(StrEnum):
    """A flight's status that no API gives (else it is its batch's :class:`BatchStatus`)."""

    PLANNED = "planned"  # an intent: the words are reserved, no batch is known to exist
    # its batch stayed not found (another key, project or base URL, or gone). Polled again on
    # resume like any unended batch; ``--fresh`` may set it aside.
    UNREADABLE = "unreadable"


_STATUSES: dict[str, BatchStatus | FlightStatus] = {
    **{s.value: s for s in BatchStatus},
    **{s.value: s for s in FlightStatus},
}


def status_of(text: str) -> str:
    """The :class:`BatchStatus` or :class:`FlightStatus` named ``text``; a status neither
    knows (an API's newer one) stays the string it is."""
    return _STATUSES.get(text, text)


# --- how each kind of field is read and written ------------------------------------------------


@dataclass(frozen=True)
class _Codec:
    load: Callable[[Any], Any]  # from JSON or a caller's value to the event's value
    dump: Callable[[Any], Any]  # from the event's value to JSON


def _same(value: Any) -> Any:
    return value


_PLAIN = _Codec(_same, _same)
_INT = _Codec(int, _same)
_FLOAT = _Codec(float, _same)
_WORDS = _Codec(lambda v: tuple(str(w) for w in v), list)
_FAILURES = _Codec(
    lambda v: {str(w): Failure.parse(why) for w, why in v.items()},
    lambda v: {w: str(why) for w, why in v.items()},
)
_SHAPES = _Codec(
    lambda v: tuple(tuple(int(n) for n in s) for s in v), lambda v: [list(s) for s in v]
)
_PLACES = _Codec(
    lambda v: {int(at): str(w) for at, w in v.items()},
    lambda v: {str(at): w for at, w in v.items()},
)
_HISTOGRAM = _Codec(
    lambda v: {int(b): int(n) for b, n in v.items()},
    lambda v: {str(b): n for b, n in v.items()},
)
_REFIT = _Codec(
    lambda v: {str(w): (int(k), int(n)) for w, (k, n) in v.items()},
    lambda v: {w: list(shape) for w, shape in v.items()},
)
_USAGE = _Codec(  # a usage written {} (nothing billed) reads as None, and None writes {}
    lambda v: v if isinstance(v, Usage) else Usage.from_dict(v) if v else None,
    lambda v: v.to_dict(),
)
_STATUS = _Codec(status_of, _same)


# Each field name has one meaning in every event that has it (``words`` are words everywhere).
_CODECS: dict[str, _Codec] = {
    "seq": _INT,
    "input_tokens": _INT,
    "requests": _INT,
    "batch_words": _INT,
    "at": _FLOAT,
    "failed_cost": _FLOAT,
    "answered_at": _FLOAT,
    "words": _WORDS,
    "done": _WORDS,
    "give_up": _WORDS,
    "batch_ids": _WORDS,
    "failed": _FAILURES,
    "shapes": _SHAPES,
    "positions": _PLACES,
    "measured": _HISTOGRAM,
    "refit": _REFIT,
    "usage": _USAGE,
    "status": _STATUS,
}


# --- the events ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Event:
    """One change to a run's state, numbered: applying an event twice is a no-op (by ``seq``)."""

    TYPE: ClassVar[str] = ""
    seq: int

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                object.__setattr__(self, f.name, _CODECS.get(f.name, _PLAIN).load(value))

    def to_json(self) -> dict[str, Any]:
        """The journal line's object: ``type``, ``seq``, then the fields that are set."""
        out: dict[str, Any] = {"type": self.TYPE}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = _CODECS.get(f.name, _PLAIN).dump(value)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        """The event ``data`` (a journal line's object) writes; keys it does not know are
        ignored, as before events were typed. A missing or unreadable field is an
        :class:`EventError`."""
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except (TypeError, ValueError, AttributeError) as exc:
            raise EventError(f"a {cls.TYPE!r} step that cannot be read ({exc})") from None


@dataclass(frozen=True, kw_only=True)
class Planned(Event):
    """Words reserved for a shard: an intent, no batch known to exist yet. ``positions``: an
    adopted batch's places of its words in its own run's list; ``batch_words``: how many words
    its batch asks for when more than ``words`` (see :class:`~synthlib.engine.state.Flight`)."""

    TYPE = "planned"
    shard: str
    words: tuple[str, ...]
    input_tokens: int
    shapes: tuple[tuple[int, ...], ...] | None = None
    positions: dict[int, str] | None = None
    batch_words: int | None = None


@dataclass(frozen=True, kw_only=True)
class Uploaded(Event):
    """The shard's input file is uploaded."""

    TYPE = "uploaded"
    shard: str
    input_file_id: str


@dataclass(frozen=True, kw_only=True)
class Creating(Event):
    """A create is about to be sent, at ``at`` on the API's clock, for ``requests`` requests
    (journalled first for a backend whose batches carry no metadata until they end)."""

    TYPE = "creating"
    shard: str
    at: float
    requests: int


@dataclass(frozen=True, kw_only=True)
class RuledOut(Event):
    """Batches found after a lost create whose results show they are not this shard's."""

    TYPE = "ruled_out"
    shard: str
    batch_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Created(Event):
    """The shard's batch exists: its id is known."""

    TYPE = "created"
    shard: str
    batch_id: str
    status: str = BatchStatus.VALIDATING
    created_at: float | None = None
    answered_at: float | None = None  # when the create's answer came, on the API's clock

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out.setdefault("created_at", None)  # null written, as before
        return out


@dataclass(frozen=True, kw_only=True)
class Status(Event):
    """The shard's batch was seen in another status."""

    TYPE = "status"
    shard: str
    status: str


@dataclass(frozen=True, kw_only=True)
class Abandoned(Event):
    """No batch was created for a planned shard: its words go back."""

    TYPE = "abandoned"
    shard: str


@dataclass(frozen=True, kw_only=True)
class Ended(Event):
    """The shard's batch ended and its results are in the store: the words ``done`` have
    entries, the others fail (``failed``: why, else no result). ``give_up``: failed words the
    user chose not to retry; ``measured``: the answers' output-token histogram; ``refit``: the
    request a cut-off word needs next; ``failed_cost``: USD billed for answers that made no
    entry; ``usage``: what the batch billed."""

    TYPE = "ended"
    shard: str
    done: tuple[str, ...] = ()
    failed: dict[str, Failure] = field(default_factory=dict)
    status: str | None = None
    usage: Usage | None = None  # None: written {}
    measured: dict[int, int] | None = None
    refit: dict[str, tuple[int, int]] | None = None
    failed_cost: float | None = None
    give_up: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out.setdefault("usage", {})  # nothing billed is written {}, as before
        return out


@dataclass(frozen=True, kw_only=True)
class RetryGivenUp(Event):
    """The user asked to retry words that were given up."""

    TYPE = "retry_given_up"
    words: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class AlreadyDone(Event):
    """Words found done elsewhere (``source``: ``store``, ``import`` of ``file``, ``pilot``),
    with the answers measured there."""

    TYPE = "already_done"
    words: tuple[str, ...]
    source: str = ""
    file: str | None = None
    measured: dict[int, int] | None = None


@dataclass(frozen=True, kw_only=True)
class AlreadyGivenUp(Event):
    """Words another run on this model judged for good (a pilot's ``not_a_word``)."""

    TYPE = "already_given_up"
    failed: dict[str, Failure] = field(default_factory=dict)
    source: str = ""


EVENTS: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        Planned,
        Uploaded,
        Creating,
        RuledOut,
        Created,
        Status,
        Abandoned,
        Ended,
        RetryGivenUp,
        AlreadyDone,
        AlreadyGivenUp,
    )
}


def event_class(type_: str) -> type[Event]:
    """The event class named ``type_``; an unknown name is an :class:`EventError`."""
    try:
        return EVENTS[type_]
    except (KeyError, TypeError):
        known = ", ".join(EVENTS)
        raise UnknownEvent(f"unknown event type {type_!r} (known: {known})") from None


def event_from_json(data: Mapping[str, Any]) -> Event:
    """The event a journal line's object writes (:meth:`Event.to_json` of it gives it back)."""
    return event_class(data.get("type")).from_json(data)  # type: ignore[arg-type]
