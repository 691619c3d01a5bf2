"""Running the emulator in-process: :class:`Emulator` serves HTTP from a background thread."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from .api import Api
from .config import EmulatorConfig
from .server import EmulatorHTTPServer
from .store import StateDir


class Emulator:
    """A local OpenAI Files and Batches API (with Anthropic's and Gemini's batch APIs beside it)
    on ``host:port`` (port 0 picks a free one).

    ``with Emulator(state_dir, config=EmulatorConfig(...)) as emu:`` starts it; point the SDK at
    ``emu.base_url`` with any API key (``google-genai`` at ``emu.url``: it adds the version).
    State lives under ``state_dir``, so a new Emulator on the same directory carries on with the
    same files, batches and ledger. Only one emulator at a time may use a directory
    (:class:`~.store.StateDirInUse` otherwise). ``clock`` returns the time in seconds and
    drives every batch's status (default ``time.time``).
    """

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state_dir = Path(state_dir)
        self._initial_config = config or EmulatorConfig()
        self._host = host
        self._port = port
        self._clock = clock
        self._state: StateDir | None = None
        self._api: Api | None = None
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Emulator:
        """Load the state and start serving; returns self. Idempotent while running."""
        if self._server is not None:
            return self
        state = StateDir(self.state_dir)
        state.acquire()
        try:
            api = Api(state, self._initial_config, self._clock)
            server = EmulatorHTTPServer((self._host, self._port), api)
        except BaseException:
            state.release()
            raise
        self._state, self._api, self._server = state, api, server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"synthlib-emulator-{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and release the state directory."""
        server, thread, state = self._server, self._thread, self._state
        if server is None:
            return
        if self._api is not None:
            self._initial_config = self._api.config  # a restart keeps runtime changes
        server.shutdown()
        server.close_connections()
        server.wait_idle(timeout=60)  # let a batch being settled finish writing its results
        server.server_close()
        if thread is not None:
            thread.join()
        if state is not None:
            state.release()
        self._server = self._thread = self._state = self._api = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _running(self) -> tuple[Api, EmulatorHTTPServer]:
        if self._api is None or self._server is None:
            raise RuntimeError("the emulator is not running; call start() or use `with`")
        return self._api, self._server

    @property
    def port(self) -> int:
        """The port actually listened on."""
        return int(self._running()[1].server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port``, without a path."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass to ``openai.OpenAI(base_url=...)``: :attr:`url` + ``/v1``."""
        return self.url + "/v1"

    @property
    def config(self) -> EmulatorConfig:
        """The configuration now in force."""
        return self._api.config if self._api is not None else self._initial_config

    @property
    def api(self) -> Api:
        """The API behind the HTTP server, for in-process inspection."""
        return self._running()[0]

    def configure(self, **changes: Any) -> EmulatorConfig:
        """Change settings at run time (as ``POST /_emulator/config`` does); returns the result.

        Before start, the changes apply to the configuration it will start with.
        """
        if self._api is None:
            self._initial_config = self._initial_config.replace(**changes)
            return self._initial_config
        return self._api.configure(**changes)

    def proxy_duplicates(self) -> list[str]:
        """The ids of the batches made by a retrying proxy's first try (``duplicate_create_rate``:
        their answer was lost, the client got the second batch's), since this start."""
        return list(self._running()[1].duplicates)

    def ledger(self) -> list[dict[str, Any]]:
        """Every billed request so far, oldest first (reads the ledger from disk)."""
        if self._api is not None:
            return self._api.ledger()
        return StateDir(self.state_dir).read_ledger()
