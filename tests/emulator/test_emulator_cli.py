"""``python -m synthlib.emulator`` as a separate process: startup line, signals, kill and resume."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from emulator_harness import Harness, word_lines

LISTENING = re.compile(
    r"synthlib emulator listening on (http://127\.0\.0\.1:\d+/v1) \(state: (.+)\)"
)


def _launch(state: Path, *flags: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "synthlib.emulator",
            "--port",
            "0",
            "--state-dir",
            str(state),
            *flags,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    match = LISTENING.fullmatch(line.strip())
    if match is None:
        process.kill()
        raise AssertionError(f"unexpected first line {line!r}; stderr: {process.stderr.read()}")
    assert match.group(2) == str(state)
    return process, match.group(1)


def _client(base_url: str) -> Harness:
    client = openai.OpenAI(api_key="test", base_url=base_url, max_retries=0)
    return Harness(client)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serves_until_signalled_and_exits_zero(tmp_path, stop_signal):
    process, base_url = _launch(
        tmp_path / "state", "--seed", "4", "--token-limit", "gpt-4o-mini=50000"
    )
    try:
        assert _client(base_url).client.batches.list().data == []
    finally:
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0


def test_killed_emulator_resumes_mid_batch(tmp_path):
    state = tmp_path / "state"
    flags = (
        "--validating-seconds",
        "0.05",
        "--seconds-per-request",
        "0.01",
        "--finalizing-seconds",
        "0.05",
    )
    process, base_url = _launch(state, *flags)
    try:
        h = _client(base_url)
        batch = h.submit(word_lines(150))
        h.wait(batch.id, lambda b: b.status == "in_progress" and b.request_counts.completed > 0)
    finally:
        process.kill()  # no chance to clean up
        process.wait(timeout=10)

    process, base_url = _launch(state, *flags)
    try:
        h = _client(base_url)
        done = h.wait(batch.id)
        assert done.status == "completed"
        assert sorted(x["custom_id"] for x in h.content(done.output_file_id)) == sorted(
            f"r{i}" for i in range(150)
        )
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
