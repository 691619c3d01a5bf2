"""The emulator as the benches run it: a separate process whose phases take no time and whose
token limit never binds, so a bench measures synthlib, not the emulator's clock."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def start_emulator(state: Path) -> tuple[subprocess.Popen[str], str]:
    """The emulator process and its base URL (for ``OPENAI_BASE_URL``)."""
    emulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "synthlib.emulator",
            "--port",
            "0",
            "--state-dir",
            str(state),
            "--validating-seconds",
            "0",
            "--seconds-per-request",
            "0",
            "--finalizing-seconds",
            "0",
            "--default-token-limit",
            str(10**12),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    first = emulator.stdout.readline() if emulator.stdout else ""
    found = re.search(r"(http://\S+/v1)", first)
    if not found:
        emulator.terminate()
        raise SystemExit(f"the emulator did not start: {first!r}")
    return emulator, found.group(1)
