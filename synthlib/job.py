"""A prepared run: settings checked, provider chosen, store opened, checkpoint loaded, estimate
made; then run in the foreground (terminal, Python) or in a background thread (notebook)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from .api import estimate_config, provider_model
from .backends.base import Backend
from .checkpoint import Checkpoint, CheckpointLock, set_aside
from .config import RunConfig, WordsSource, poll_interval_for, resolve_provider, with_settings
from .cost import Estimate
from .engine import Engine, EngineSettings, RunResult, spool_dir
from .errors import Interrupted, UsageError
from .pricing import Price
from .progress import ProgressListener
from .skip import mark_already_done, refuse_fresh_over_flights
from .store import Store, open_store


def make_backend(provider: str, state_dir: Path) -> Backend:
    if provider == "openai":
        from .backends.openai import OpenAIBackend

        return OpenAIBackend()
    if provider == "offline":
        from .backends.offline import OfflineBackend

        return OfflineBackend(state_dir)
    raise UsageError(f"unknown provider {provider!r}")


class Job:
    """One run, ready to go. Nothing is spent until :meth:`run` or :meth:`start`.

    A Job holds its checkpoint's lock (one run per checkpoint) from construction until the run
    ends, or until :meth:`close` for a Job that is never run."""

    def __init__(
        self,
        config: RunConfig,
        *,
        backend: Backend | None = None,
        store: Store | None = None,
        listener: ProgressListener | None = None,
        estimate: Estimate | None = None,
    ) -> None:
        # first of all: a second run on this checkpoint stops here, before anything is touched
        self._lock = CheckpointLock(config.checkpoint).acquire()
        try:
            self._prepare(
                config, backend=backend, store=store, listener=listener, estimate=estimate
            )
        except BaseException:
            self._lock.release()
            raise

    def _prepare(
        self,
        config: RunConfig,
        *,
        backend: Backend | None,
        store: Store | None,
        listener: ProgressListener | None,
        estimate: Estimate | None,
    ) -> None:
        self.config = config
        self.provider = (
            backend.provider if backend is not None else resolve_provider(config.provider)
        )
        self.model = provider_model(self.provider, config.model)
        self.store = store if store is not None else open_store(config.store)
        self.backend = (
            backend
            if backend is not None
            else make_backend(self.provider, spool_dir(config.checkpoint) / "offline")
        )
        self.set_aside: Path | None = None
        if config.fresh:
            refuse_fresh_over_flights(config.checkpoint)  # they would be paid for twice
            self.set_aside = set_aside(config.checkpoint)
        identity = config.identity(self.provider, self.model)
        if config.checkpoint.exists():
            self.checkpoint = Checkpoint.load(
                config.checkpoint, identity, config.words, max_attempts=config.max_attempts
            )
            self.resumed = True
        else:
            self.checkpoint = Checkpoint.create(
                config.checkpoint,
                identity,
                config.words,
                max_attempts=config.max_attempts,
                source=config.words.source,
                store=self.store.location,
            )
            self.resumed = False
        # words done elsewhere (the store, an imported checkpoint): one journalled event each
        self.notices: list[str] = mark_already_done(
            self.checkpoint.state,
            config.words,
            store=self.store,
            model=self.model,
            redo=config.redo,
            imported=config.imported,
            record=self.checkpoint.record,
        )
        reference = None
        if config.grounding:  # the lexicon loads once, for the estimate and the requests
            from .grounding import references

            reference = references()
        # the estimate shown before the user said yes was made from this same state
        self.estimate: Estimate = estimate or estimate_config(
            config, self.checkpoint.state, reference
        )
        price = self._price()
        self.engine = Engine(
            self.backend,
            self.checkpoint,
            self.store,
            price,
            EngineSettings(
                batch_size=config.batch_size,
                token_budget=config.token_budget,
                max_cost=config.max_cost,
                poll_interval=poll_interval_for(config, self.provider),
                words_per_request=config.words_per_request,
                grounding=config.grounding,
                cancel_on_exit=config.cancel_on_exit,
            ),
            model=self.model,
            words=config.words,
            listener=listener,
            reference=reference,
        )
        self._thread: threading.Thread | None = None
        self._result: RunResult | None = None
        self._error: BaseException | None = None

    def _price(self) -> Price:
        if self.provider == "offline":
            return Price(self.model, 0.0, 0.0, 0.0)
        return self.config.price

    # --- running -------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run in this thread. In the main thread, the first Ctrl+C or SIGTERM stops gracefully
        (checkpoint saved, batches left running) and a second one exits at once."""
        if threading.current_thread() is not threading.main_thread():
            try:
                return self._run()
            finally:
                self.close()
        interrupts = 0

        def on_signal(signum: int, frame: Any) -> None:
            nonlocal interrupts
            interrupts += 1
            if interrupts > 1:
                raise KeyboardInterrupt
            self.engine.stop()

        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in previous:
            signal.signal(s, on_signal)
        try:
            return self._run()
        except KeyboardInterrupt:
            # the second Ctrl+C: every step already on disk is consistent (journal + atomic
            # snapshot); the checkpoint is saved once more where possible
            self.checkpoint.save()
            raise Interrupted(
                f"stopped at once; checkpoint {self.checkpoint.path} is valid, "
                "batches in flight are collected on resume"
            ) from None
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            self.close()

    def close(self) -> None:
        """Release the checkpoint for the next run (idempotent; done when a run ends). A closed
        Job does not run again: build a new one."""
        if self.running:
            raise UsageError("the run is still going: stop it and wait for it first")
        self._lock.release()

    def _run(self) -> RunResult:
        if not self._lock.held:
            raise UsageError(
                f"this job has ended and released checkpoint {self.config.checkpoint}; "
                "build a new job to run again"
            )
        self._result = self.engine.run()
        return self._result

    def start(self) -> threading.Thread:
        """Run in a background thread (a notebook keeps its UI); see :meth:`wait`."""
        if self.running:
            raise UsageError("this job is already running")

        def target() -> None:
            try:
                self._run()
            except BaseException as exc:
                self._error = exc
            finally:
                self._lock.release()

        self._thread = threading.Thread(target=target, name="synthlib-run", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, *, cancel: bool = False) -> None:
        """Stop after the step in hand (thread-safe); ``cancel`` also cancels batches in flight."""
        self.engine.stop(cancel=cancel)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """The result once the background run ended (None if still running after ``timeout``)."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return None
        if self._error is not None:
            raise self._error
        return self._result


@with_settings
def run(
    words: WordsSource,
    *,
    listener: ProgressListener | None = None,
    words_name: str | None = None,
    **settings: Any,
) -> RunResult:
    """Run the whole job: every word ends with an entry in the store or a failure with its reason.

    Resumes from the checkpoint when it exists (default ``<word file stem>.<job key>.checkpoint
    .json``: one per list, model, provider and versions). Words the store already has for this
    model and versions are not sent (``redo=True`` sends them), nor the processed words of
    ``import_checkpoint`` (the original script's checkpoint file).
    Spends money when the provider is OpenAI; call :func:`synthlib.dry_run` first to see how much.
    """
    return Job(RunConfig.build(words, words_name=words_name, **settings), listener=listener).run()


def build_config(words: WordsSource, **settings: Any) -> RunConfig:
    """:meth:`RunConfig.build` (None means "the default" for every setting)."""
    return RunConfig.build(words, **settings)
