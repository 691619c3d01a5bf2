"""Fixtures for the browser tests: a private JupyterLab server and a headless Chromium page.

The server runs ``python -m jupyterlab`` from this interpreter on 127.0.0.1 (a free port, a random
token) over a temporary copy of ``notebooks/``, with HOME and every Jupyter config, data, runtime,
settings and workspace directory in a temporary folder, so neither the user's settings nor an
OpenAI key leak in. Its kernels talk to the project's Batch API emulator, started here in the
test process (a test key and ``OPENAI_BASE_URL``; ``emulator.configure(stall=True)`` freezes
batches in flight), and the notebook copy polls it every 0.05 s, as a rehearsal would. Chromium
is Debian's (/usr/bin/chromium, see scripts/install-browser.sh) driven by Playwright with a
fresh profile. Every process either fixture starts (server, kernels, browser) is ended by
process id at teardown.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# 6 real words and one that no dictionary knows
WORDS = ["apple", "river", "happy", "garden", "quickly", "book", "zzqxv"]
SERVER_START_TIMEOUT = 60.0
EMULATOR_SPEED = dict(
    validating_seconds=0.05,
    seconds_per_request=0.0002,
    finalizing_seconds=0.05,
    cancelling_seconds=0.05,
)
POLL_INTERVAL = 0.05
VIEWPORT = {"width": 1400, "height": 1000}


def _skip_without_browser() -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed: run scripts/install-browser.sh")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("Playwright not installed: pip install -e '.[dev]'")


# --- processes ----------------------------------------------------------------------------------


def _pids_mentioning(marker: str) -> list[int]:
    """Processes whose command line contains ``marker`` (a temporary path this run created)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has already exited


def _end_processes_mentioning(marker: str, timeout: float = 10.0) -> list[int]:
    """SIGTERM, then SIGKILL, every process mentioning ``marker``; the pids that survived."""
    deadline = time.monotonic() + timeout
    sig = signal.SIGTERM
    while pids := [p for p in _pids_mentioning(marker) if _alive(p)]:
        if time.monotonic() > deadline:
            if sig == signal.SIGKILL:
                return pids
            sig, deadline = signal.SIGKILL, time.monotonic() + 5.0
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        time.sleep(0.2)
    return []


# --- JupyterLab ---------------------------------------------------------------------------------


@dataclass
class JupyterServer:
    url: str
    token: str
    root_dir: Path
    words_file: Path
    words: list[str]
    log: Path
    emulator: Any

    def lab_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _private_jupyter_env(base: Path, openai: dict[str, str]) -> dict[str, str]:
    """The environment for the server and its kernels: nothing from the user's Jupyter setup,
    and ``openai`` (the emulator's key and base URL) for the OpenAI SDK."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "JPY_", "IPYTHON", "OPENAI_"))
        and k not in ("PYTEST_CURRENT_TEST", "PYTHONSTARTUP")
    }
    dirs = {
        "HOME": "home",
        "JUPYTER_CONFIG_DIR": "jupyter/config",
        "JUPYTER_DATA_DIR": "jupyter/data",
        "JUPYTER_RUNTIME_DIR": "jupyter/runtime",
        "JUPYTERLAB_SETTINGS_DIR": "jupyter/lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "jupyter/lab-workspaces",
        "IPYTHONDIR": "ipython",
    }
    for var, sub in dirs.items():
        path = base / sub
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    env["XDG_CONFIG_HOME"] = str(base / "home" / ".config")
    env["XDG_CACHE_HOME"] = str(base / "home" / ".cache")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(openai)

    # The kernel runs this interpreter (where synthlib is installed), whatever else is on PATH
    kernel = base / "jupyter/data/kernels/python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
            }
        )
    )
    # No "get notified about Jupyter news?" toast over the notebook, and no update checks
    notification = base / "jupyter/lab-settings/@jupyterlab/apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    return env


def _wait_until_up(proc: subprocess.Popen, url: str, token: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    request = urllib.request.Request(
        f"{url}/api/status", headers={"Authorization": f"token {token}"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    while True:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{tail}")
        try:
            with opener.open(request, timeout=2) as response:
                if response.status == 200 and "started" in json.load(response):
                    return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"JupyterLab did not answer /api/status in time:\n{tail}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    """The Batch API emulator, fast, in this process (its state in a temporary folder)."""
    _skip_without_browser()
    from synthlib.emulator import Emulator, EmulatorConfig

    state = Path(tempfile.mkdtemp(prefix="synthlib-browser-emulator-"))
    emu = Emulator(state, config=EmulatorConfig(**EMULATOR_SPEED)).start()
    try:
        yield emu
    finally:
        emu.stop()
        shutil.rmtree(state, ignore_errors=True)


def _poll_quickly(notebook: Path) -> None:
    """The notebook copy's ``poll_interval`` parameter set for the local emulator."""
    nb = json.loads(notebook.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    source = "".join(cell["source"])
    assert "poll_interval = None" in source, "the parameters cell changed: update this fixture"
    cell["source"] = source.replace("poll_interval = None", f"poll_interval = {POLL_INTERVAL}")
    notebook.write_text(json.dumps(nb, indent=1))


@pytest.fixture(scope="module")
def jupyter_server(emulator) -> Iterator[JupyterServer]:
    _skip_without_browser()
    base = Path(tempfile.mkdtemp(prefix="synthlib-browser-"))
    root_dir = base / "notebooks"
    shutil.copytree(
        ROOT / "notebooks",
        root_dir,
        ignore=shutil.ignore_patterns(
            ".ipynb_checkpoints",
            "*.db*",
            "*.checkpoint.json*",
            ".synthlib",
            "*.csv",
            "*.parquet",
            "*.jsonl",
        ),
    )
    _poll_quickly(root_dir / "run.ipynb")
    words_file = root_dir / "browser-words.txt"
    words_file.write_text("\n".join(WORDS) + "\n")
    openai = {"OPENAI_API_KEY": "sk-browser-test", "OPENAI_BASE_URL": emulator.base_url}
    env = _private_jupyter_env(base, openai)
    port, token = _free_port(), secrets.token_hex(16)
    log = base / "jupyter.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=root_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, ended as one below
        )
    server = JupyterServer(
        f"http://127.0.0.1:{port}", token, root_dir, words_file, WORDS, log, emulator
    )
    try:
        _wait_until_up(proc, server.url, token, log)
        yield server
    finally:
        # The server shuts its kernels down on SIGTERM; kernels live in their own sessions, so
        # anything left (kernel, its children) is found by the temporary path in its command line
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        survivors = _end_processes_mentioning(str(base))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            shutil.copyfile(log, ARTIFACTS / "jupyter.log")
        shutil.rmtree(base, ignore_errors=True)
        assert not survivors, f"processes outlived the JupyterLab server: {survivors}"


# --- Chromium -----------------------------------------------------------------------------------


@pytest.fixture
def artifacts() -> Path:
    """``test-artifacts/browser/`` under the repo root, emptied of the previous run's images."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    return ARTIFACTS


@pytest.fixture
def page(jupyter_server):
    """A Playwright page in headless Debian Chromium with a fresh profile."""
    _skip_without_browser()
    from playwright.sync_api import sync_playwright

    profile = Path(tempfile.mkdtemp(prefix="synthlib-chromium-"))
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(profile),
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                viewport=VIEWPORT,
                accept_downloads=False,
            )
            try:
                tab = context.pages[0] if context.pages else context.new_page()
                tab.set_default_timeout(30_000)
                yield tab
            finally:
                context.close()
    finally:
        survivors = _end_processes_mentioning(str(profile))
        shutil.rmtree(profile, ignore_errors=True)
        assert not survivors, f"Chromium processes outlived the test: {survivors}"


@pytest.fixture
def run_all_cells():
    """Run > Run All Cells in the open notebook, retried in case the menu closes before the
    click lands (shared by the browser tests)."""
    return _run_all_cells


def _run_all_cells(page) -> None:
    """Run > Run All Cells, retried in case the menu closes before the click lands."""
    import re

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    menu = page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$"))
    item = page.locator("li.lm-Menu-item[data-command='runmenu:run-all']")
    for attempt in range(3):
        menu.click()
        try:
            item.wait_for(state="visible", timeout=10_000)
            item.click()
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
