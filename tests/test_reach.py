"""The run's first call: repeated within the time allowed, its failure named."""

from __future__ import annotations

import pytest

from synthlib.core.errors import ApiRefused, ApiUnreachable
from synthlib.engine.reach import reach
from synthlib.providers.base import Endpoint, FatalError, RejectedError, TransientError

WHERE = Endpoint("the OpenAI Batch API", "http://h:1/v1", "OPENAI_BASE_URL", "OPENAI_API_KEY")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


class Backend:
    """Answers with ``answers`` in turn: an exception is raised, a dict returned."""

    def __init__(self, *answers: object, where: Endpoint | None = WHERE) -> None:
        self.answers = list(answers)
        self.calls = 0
        if where is not None:
            self.endpoint = lambda: where

    def location(self) -> dict[str, str]:
        self.calls += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]


def error(kind: type, status: int | None, text: str = "list batches: failed") -> Exception:
    exc = kind(text)
    exc.status = status
    return exc


def run(backend: Backend, clock: Clock, within: float = 60.0) -> dict[str, str] | None:
    return reach(backend, within=within, clock=clock, wait=clock.wait, notify=lambda m: None)


def test_an_api_that_answers_late_is_waited_for() -> None:
    clock = Clock()
    slow = error(TransientError, 500)
    backend = Backend(slow, slow, {"base_url": "http://h:1/v1"})
    assert run(backend, clock) == {"base_url": "http://h:1/v1"}
    assert backend.calls == 3 and clock.waits == [3.0, 6.0]


def test_no_answer_ends_after_the_time_allowed_with_a_bounded_number_of_attempts() -> None:
    clock = Clock()
    refused = error(TransientError, None, "list batches: no answer (connection refused by h:1)")
    backend = Backend(refused)
    with pytest.raises(ApiUnreachable) as caught:
        run(backend, clock, within=60)
    assert clock.now == pytest.approx(60)
    assert backend.calls == 6
    message = str(caught.value)
    assert "connection refused by h:1" in message and "6 attempts over 60 s" in message
    assert "OPENAI_BASE_URL" in message and ApiUnreachable.exit_code == 1


def test_a_404_on_the_first_call_ends_at_once_with_the_hint() -> None:
    hinted = Endpoint(
        "the OpenAI Batch API", "http://h:1", "OPENAI_BASE_URL", "OPENAI_API_KEY", "lacks /v1"
    )
    clock = Clock()
    with pytest.raises(ApiRefused, match=r"404 Not Found.*lacks /v1") as caught:
        run(Backend(error(RejectedError, 404), where=hinted), clock)
    assert clock.waits == [] and caught.value.exit_code == 2


@pytest.mark.parametrize(("status", "says"), [(401, "is refused"), (403, "lacks permission")])
def test_a_refused_key_ends_at_once(status: int, says: str) -> None:
    clock = Clock()
    with pytest.raises(ApiRefused, match=rf"{says}.*OPENAI_API_KEY"):
        run(Backend(error(FatalError, status)), clock)
    assert clock.waits == []


def test_another_refusal_only_leaves_the_account_unidentified() -> None:
    assert run(Backend(error(RejectedError, 400)), Clock()) == {}


def test_a_stop_while_waiting_ends_quietly() -> None:
    clock = Clock()
    backend = Backend(error(TransientError, 502))
    assert reach(backend, within=60, clock=clock, wait=lambda s: True, notify=print) is None
    assert backend.calls == 1
