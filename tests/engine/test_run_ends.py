"""Every run ends in bounded time with one line naming why: a wrong URL, a closed port, a refused
key, a token budget below one request. Driven through the terminal and the real SDKs."""

from __future__ import annotations

import socket
import time

import pytest

from .conftest import cli, words

WORDS = words(12)
ARGS = ["words.txt", "--checkpoint", "words.checkpoint.json", "--yes", "--poll-interval", "0.05"]
# a hang must end well within this (the settings make it seconds); subprocess start included
BOUND_SECONDS = 60


@pytest.fixture
def word_file(workdir):
    (workdir / "words.txt").write_text("\n".join(WORDS) + "\n")
    return workdir / "words.txt"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ends(args, emulator, workdir, **kw):
    started = time.monotonic()
    done = cli(args, emulator, workdir, timeout=BOUND_SECONDS, **kw)
    return done, time.monotonic() - started


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_openai_base_url_without_v1_says_so_and_suggests_it(emulator, workdir, word_file):
    done, took = ends(ARGS, emulator, workdir, env={"OPENAI_BASE_URL": emulator.url})
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "404" in line and "lacks /v1" in line
    assert f"OPENAI_BASE_URL={emulator.url}/v1" in line
    assert emulator.ledger() == []
    assert took < BOUND_SECONDS


def test_anthropic_base_url_with_v1_says_so(emulator, workdir, word_file):
    pytest.importorskip("anthropic")
    env = {"ANTHROPIC_BASE_URL": emulator.url + "/v1"}
    done, _ = ends(ARGS, emulator, workdir, env=env, provider="anthropic")
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "404" in line and f"try {emulator.url}" in line
    assert emulator.ledger() == []


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_connection_refused_names_host_and_port_within_the_setting(
    emulator, workdir, word_file, provider
):
    if provider == "anthropic":
        pytest.importorskip("anthropic")
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    variable = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL"}[provider]
    env = {variable: url + "/v1" if provider == "openai" else url}
    args = [*ARGS, "--unreachable-after", "2"]
    done, took = ends(args, emulator, workdir, env=env, provider=provider)
    assert done.returncode == 1, done.stderr
    line = one_line(done.stderr)
    assert f"connection refused by 127.0.0.1:{port}" in line
    assert "attempts over" in line and variable in line
    assert took < 30  # 2 s of attempts, plus the start of a Python process


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_refused_key_is_named_on_the_first_call(emulator, workdir, word_file, provider):
    if provider == "anthropic":
        pytest.importorskip("anthropic")
    emulator.configure(api_keys=("the-only-good-key",))
    done, _ = ends(ARGS, emulator, workdir, provider=provider)
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    variable = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}[provider]
    assert "401" in line and "refused" in line and variable in line
    assert "sk-test-key" not in line and "sk-ant-test-key" not in line
    assert emulator.ledger() == []


def test_a_token_budget_below_one_request_is_a_usage_error_before_anything(
    emulator, workdir, word_file
):
    done, _ = ends([*ARGS, "--token-budget", "500"], emulator, workdir)
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "--token-budget 500 is below one request" in line
    assert not (workdir / "words.checkpoint.json").exists()
    assert emulator.ledger() == []
    # the dry run says what the run would: not a cost table for a run that cannot start
    done, _ = ends([*ARGS, "--token-budget", "500", "--dry-run"], emulator, workdir)
    assert done.returncode == 2, done.stdout
    assert "--token-budget 500 is below one request" in one_line(done.stderr)
