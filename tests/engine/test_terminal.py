"""The confirmation prompt on a real terminal (a pseudo-terminal), against the emulator."""

from __future__ import annotations

import os
import pty
import sys
import time


def _run_on_a_terminal(emulator, cwd, answer: bytes, *args: str) -> tuple[str, int]:
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-key", "OPENAI_BASE_URL": emulator.base_url}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on the terminal's slave side
        os.chdir(cwd)
        argv = [sys.executable, "-m", "synthlib", "w.txt", "--poll-interval", "0.05", *args]
        os.execve(sys.executable, argv, env)
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
    # nothing was written either: no checkpoint, no store, no lock (it is written on "yes")
    assert sorted(p.name for p in workdir.rglob("*")) == ["w.txt"]


def test_declining_a_fresh_start_keeps_the_checkpoint_where_it_was(emulator, workdir):
    (workdir / "w.txt").write_text("apple\n")
    text, code = _run_on_a_terminal(emulator, workdir, b"y\n")
    assert code == 0 and len(emulator.ledger()) == 1
    before = sorted(p.name for p in workdir.rglob("*"))
    (workdir / "w.txt").write_text("apple\npear\n")
    text, code = _run_on_a_terminal(emulator, workdir, b"n\n", "--fresh", "--redo")
    assert code == 0 and "nothing was spent" in text
    assert len(emulator.ledger()) == 1
    assert sorted(p.name for p in workdir.rglob("*")) == before  # nothing renamed or written


def test_accepting_runs_with_a_live_display(emulator, workdir):
    (workdir / "w.txt").write_text("apple\npear\n")
    text, code = _run_on_a_terminal(emulator, workdir, b"y\n")
    assert code == 0
    assert "Finished." in text and "Success rate" in text
    assert len(emulator.ledger()) == 2


def test_the_end_summary_is_said_once_after_the_live_table_is_gone(emulator, workdir):
    (workdir / "w.txt").write_text("apple\npear\n")
    text, code = _run_on_a_terminal(emulator, workdir, b"y\n")
    assert code == 0
    ended = text.split("Finished.")[1]
    assert text.count("Summary") == 1 and ended.count("Success rate") == 1
    assert "Status" not in ended and "ETA" not in ended
