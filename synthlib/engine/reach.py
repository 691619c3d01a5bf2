"""A run's first call to the API, tried for a bounded time, and its failure named in one line.

A wrong ``OPENAI_BASE_URL`` (without ``/v1``: every path 404s), a closed port, a refused key:
none of these cures itself, and a run that retried them forever would never end. So the run's
first call (the backend's :meth:`~synthlib.providers.base.Backend.location`, one attempt each) is
repeated with doubling waits for at most ``within`` seconds (the ``unreachable_after`` setting,
a minute by default), and then the run stops, saying which URL, what was tried and what to fix:

* 404: the URL serves no Batch API (:class:`~synthlib.core.errors.ApiRefused`, exit 2), with the
  backend's hint (``/v1`` missing, or doubled);
* 401 / 403: the key is refused or lacks permission (:class:`~synthlib.core.errors.ApiRefused`);
* no answer (connection refused, unknown host, timeouts) or server errors until the time is up:
  :class:`~synthlib.core.errors.ApiUnreachable` (exit 1), naming ``host:port`` and the attempts.

A 429 or a 5xx is only waited on. Nothing here spends or writes anything.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.errors import ApiRefused, ApiUnreachable
from ..providers.base import Backend, Endpoint, FatalError, RejectedError, TransientError

# The first wait is this share of the time allowed; each wait doubles, so about six attempts
# fit in it whatever it is (60 s: after 0, 3, 9, 21, 45 and 60 s).
FIRST_WAIT_SHARE = 1 / 20
MIN_WAIT_SECONDS = 0.05


def reach(
    backend: Backend,
    *,
    within: float,
    clock: Callable[[], float],
    wait: Callable[[float], bool],
    notify: Callable[[str], None],
) -> dict[str, str] | None:
    """The backend's :meth:`location` once it answers; None if ``wait`` (which sleeps up to the
    seconds given and returns True when the run is being stopped) says to stop first. Raises
    :class:`ApiRefused` or :class:`ApiUnreachable` as the module says."""
    endpoint = getattr(backend, "endpoint", None)
    where = endpoint() if endpoint is not None else None
    started = clock()
    pause = max(MIN_WAIT_SECONDS, within * FIRST_WAIT_SHARE)
    attempts = 0
    while True:
        attempts += 1
        try:
            found = backend.location()
        except (FatalError, RejectedError) as exc:
            if isinstance(exc, RejectedError) and exc.status != 404:
                # refused as a request, not as a place: the account is just not identified
                notify(f"could not identify the account ({exc}); going on")
                return {}
            raise refused(where, exc) from None
        except TransientError as exc:
            elapsed = clock() - started
            if elapsed >= within:
                raise unreachable(where, exc, attempts, elapsed, within) from None
            step = min(pause, within - elapsed)
            notify(f"{_name(where)} does not answer ({exc}); trying again in {step:.1f} s")
            if wait(step):
                return None
            pause *= 2
            continue
        if attempts > 1:
            notify(f"{_name(where)} answered after {attempts} attempts")
        return found


def refused(where: Endpoint | None, exc: FatalError | RejectedError) -> ApiRefused:
    """The first call's 401, 403 or 404, as what to fix."""
    name, url = _name(where), where.base_url if where else ""
    if exc.status == 404:
        fix = where.hint_404 if where and where.hint_404 else "the URL serves no Batch API"
        setting = f"; set {where.url_variable} right" if where else ""
        return ApiRefused(
            f"{name} answered 404 Not Found to the run's first call ({exc}): {fix}{setting} "
            "(nothing was sent)"
        )
    what = "lacks permission" if exc.status == 403 else "is refused"
    check = f"check {where.key_variable}" if where else "check the key"
    at = f" at {url}" if url else ""
    return ApiRefused(
        f"the key{at} {what} on the run's first call ({exc}): {check} (nothing was sent)"
    )


def unreachable(
    where: Endpoint | None, exc: TransientError, attempts: int, elapsed: float, within: float
) -> ApiUnreachable:
    """No answer within the time allowed, as what was tried and what to check."""
    check = f"check {where.url_variable} and that the server is up" if where else "try later"
    return ApiUnreachable(
        f"{_name(where)} did not answer: {exc} ({attempts} attempts over {elapsed:.0f} s, "
        f"{{unreachable_after={within:g}}}); {check} (nothing was sent)",
        settings="unreachable_after",
    )


def _name(where: Endpoint | None) -> str:
    return f"{where.api} at {where.base_url}" if where else "the API"
