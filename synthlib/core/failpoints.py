"""Crash points for fault-injection tests: ``SYNTHLIB_FAILPOINTS=after-create:2`` kills the
process with SIGKILL the second time the engine passes ``after-create``. Unset (always, outside
tests), :func:`hit` is a dictionary lookup and nothing else."""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def _armed() -> dict[str, int]:
    spec = os.environ.get("SYNTHLIB_FAILPOINTS", "")
    armed = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, nth = item.partition(":")
        armed[name] = int(nth or 1)
    return armed


_ARMED = _armed()


def hit(name: str) -> None:
    """Die here (SIGKILL, no cleanup, like a power cut) if this point is armed for this pass."""
    if name not in _ARMED:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] == _ARMED[name]:
        os.kill(os.getpid(), signal.SIGKILL)
