"""The confirmation prompt on a real terminal (a pseudo-terminal), against the emulator."""

from __future__ import annotations

import os
import pty
import sys
import time


def _run_on_a_terminal(emulator, cwd, answer: bytes) -> tuple[str, int]:
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-key", "OPENAI_BASE_URL": emulator.base_url}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on the terminal's slave side
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, "-m", "synthlib", "w.txt",
                                   "--poll-interval", "0.05"], env)  # fmt: skip
    out = b""
    deadline = time.monotonic() + 60
    while b"[y/N]" not in out and time.monotonic() < deadline:
        out += os.read(fd, 4096)
    os.write(fd, answer)
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    return out.decode(errors="replace"), os.waitstatus_to_exitcode(status)


def test_declining_spends_nothing(emulator, workdir):
    (workdir / "w.txt").write_text("apple\n")
    text, code = _run_on_a_terminal(emulator, workdir, b"n\n")
    assert "Proceed with batch synthesis? [y/N]" in text
    assert "nothing was spent" in text
    assert code == 0
    assert emulator.ledger() == []


def test_accepting_runs_with_a_live_display(emulator, workdir):
    (workdir / "w.txt").write_text("apple\npear\n")
    text, code = _run_on_a_terminal(emulator, workdir, b"y\n")
    assert code == 0
    assert "Finished." in text and "Success rate" in text
    assert len(emulator.ledger()) == 2
