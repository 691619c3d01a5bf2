"""A prepared run: settings checked, provider chosen, store opened, checkpoint loaded, estimate
made; then run in the foreground (terminal, Python) or in a background thread (notebook)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.cost import Estimate
from ..core.errors import CheckpointError, Interrupted, MissingKey, UsageError
from ..core.pricing import Price, price_for
from ..core.prompts import prompt_version
from ..engine.checkpoint import (
    Checkpoint,
    CheckpointLock,
    read_raw,
    refuse_fresh_over_flights,
    set_aside,
)
from ..engine.ledger import api_location
from ..engine.loop import Engine, EngineSettings, RunResult, spool_dir
from ..engine.progress import ProgressListener
from ..engine.skip import (
    fallback_notice,
    mark_already_done,
)
from ..providers import registry
from ..providers.base import Backend
from ..providers.registry import BackendOptions
from ..store import RunStore, open_store
from ..store.ledger import RELEASED
from .config import RunConfig, WordsSource, poll_interval_for, with_settings
from .plan import estimate_config, starting_point_of


def _run_of(checkpoint: Path) -> str:
    """The run id of the checkpoint at ``checkpoint`` ("" when there is none to read)."""
    try:
        return str(read_raw(checkpoint).get("run_id", "")) if checkpoint.exists() else ""
    except CheckpointError:
        return ""


def make_backend(provider: str, state_dir: Path, *, offline_senses: int = 8) -> Backend:
    """The backend of ``provider``, built by its spec's factory; ``state_dir`` holds what it
    keeps on disk (the offline provider's files and batches, Anthropic's request files and
    batch tags). An unknown provider is a one-line :class:`UsageError`."""
    options = BackendOptions(state_dir, offline_senses=offline_senses or None)
    return registry.spec(provider).make_backend(options)


class Job:
    """One run, ready to go: its provider, model and estimate (read as a dry run reads them).

    Building a Job writes nothing. :meth:`run` and :meth:`start` first :meth:`open` it: take the
    checkpoint's lock (one run per checkpoint), set an old checkpoint aside (``fresh``), load or
    create the checkpoint. The lock is held until the run ends, or until :meth:`close`."""

    def __init__(
        self,
        config: RunConfig,
        *,
        backend: Backend | None = None,
        store: RunStore | None = None,
        listener: ProgressListener | None = None,
        reference: Mapping[str, Any] | None = None,
    ) -> None:
        # a run going on this checkpoint already: say so now, before anything is shown or asked
        CheckpointLock(config.checkpoint_file).check()
        self.config = config
        # what the run buys: where its backend buys (a backend given may differ from the
        # environment), else where the environment points the provider's SDK
        self.bought = (
            config.bought_at(api_location(backend), provider=backend.provider)
            if backend is not None
            else config.bought
        )
        self.provider, self.model = self.bought.provider, self.bought.model
        spec = self.bought.spec
        if backend is None and spec.paid and spec.key_variables and spec.key() is None:
            # said before the estimate is shown or anything asked (its backend would say it later)
            first, *others = spec.key_variables
            raise MissingKey(
                self.provider, first + (f" (or {', '.join(others)})" if others else "")
            )
        self.listener = listener
        self._backend, self._store = backend, store
        # ``reference``: each word's material for a grounded run's prompt (a repair's findings);
        # without it, the local dictionary's senses
        self._reference = reference
        if config.grounding and reference is None:  # the lexicon loads once, for both
            from ..lexicon.grounding import references

            self._reference = references()
        # what the run starts from, read without writing (the dry run's own reading); a key
        # missing: auto fell back to offline, and the store's paid entries of these words are
        # counted (the terminal says so and asks; the workbench says so in its log; offline
        # entries are kept beside the paid ones and never hide them)
        fell_back = config.provider == "auto" and not self.bought.spec.paid
        start = starting_point_of(config, self.bought, store, count_paid=fell_back)
        self.estimate: Estimate = estimate_config(
            config, bought=self.bought, start=start, reference=self._reference
        )
        self.notices: list[str] = list(self.estimate.notes)
        self.resumed = config.checkpoint_file.exists() and not config.fresh
        self.fallback: str | None = (
            fallback_notice(start.paid, len(config.words)) if start.paid else None
        )
        # words other runs' batches hold: said before anything is asked or spent
        if start.held_notice:
            self.notices.append(start.held_notice)
        self.set_aside: Path | None = None
        self._lock = CheckpointLock(config.checkpoint_file)
        self._opened = self._closed = False
        self._thread: threading.Thread | None = None
        self._result: RunResult | None = None
        self._error: BaseException | None = None

    def open(self) -> Job:
        """Take the checkpoint's lock, set an old checkpoint aside (``fresh``), load or create
        the checkpoint and journal the words done elsewhere: what :meth:`run` and :meth:`start`
        do first (nothing is spent here). Afterwards :attr:`checkpoint`, :attr:`store` and
        :attr:`engine` exist; a second call does nothing."""
        if self._opened:
            return self
        self._refuse_if_closed()
        self._lock.acquire()  # a second run on this checkpoint stops here, with one line
        try:
            self._open()
        except BaseException:
            self._lock.release()
            raise
        self._opened = True
        return self

    def _open(self) -> None:
        config = self.config
        self.store = self._store if self._store is not None else open_store(config.store)
        self.backend = (
            self._backend
            if self._backend is not None
            else make_backend(
                self.provider,
                spool_dir(config.checkpoint_file) / self.provider,
                offline_senses=config.offline_senses,
            )
        )
        if config.fresh:
            refuse_fresh_over_flights(config.checkpoint_file)  # they would be paid for twice
            given_up_on = _run_of(config.checkpoint_file)
            self.set_aside = set_aside(config.checkpoint_file)
            if given_up_on:
                # its batches cannot be read (else --fresh was refused): the user starts anew,
                # so what that run still holds in the store's ledger is let go too
                self.store.release(
                    given_up_on, sorted(self.store.reserved_by(given_up_on)), RELEASED
                )
        # where this run buys is its backend's (a backend given may differ from the environment)
        here = api_location(self.backend)
        identity = replace(self.bought.identity, api_location=here)
        self.resumed = config.checkpoint_file.exists()
        if self.resumed:
            self.checkpoint = Checkpoint.load(
                config.checkpoint_file, identity, config.words, max_attempts=config.max_attempts
            )
        else:
            self.checkpoint = Checkpoint.create(
                config.checkpoint_file,
                identity,
                config.words,
                max_attempts=config.max_attempts,
                source=config.words.source,
                store=self.store.location,
            )
        bought_at = self.checkpoint.bought_at
        # (batches in flight elsewhere are the submitter's to refuse, naming where they live)
        if self.resumed and bought_at and here != bought_at and not self.checkpoint.state.flights:
            raise CheckpointError(
                f"{self.checkpoint.path}: its words were bought at {bought_at}, but this run "
                f"buys at {here}; an entry from one API is not one from the other. Choose another "
                "checkpoint file ({checkpoint}; words in the store for this API are not sent "
                "again)",
                settings="checkpoint",
            )
        # words done elsewhere (the store, an imported checkpoint): one journalled event each
        self.notices = mark_already_done(
            self.checkpoint.state,
            config.words,
            store=self.store,
            model=self.model,
            redo=config.redo,
            imported=config.imported,
            record=self.checkpoint.record,
            prompt_version=prompt_version(config.grounding),
            api_location=api_location(self.backend),
        )
        self.engine = Engine(
            self.backend,
            self.checkpoint,
            self.store,
            self._price(),
            EngineSettings(
                batch_size=config.batch_size,
                token_budget=config.token_budget,
                max_cost=config.max_cost,
                poll_interval=poll_interval_for(config, self.provider),
                words_per_request=config.words_per_request,
                grounding=config.grounding,
                cancel_on_exit=config.cancel_on_exit,
                unreachable_after=config.unreachable_after,
                lost_results=config.lost_results,
                redo=config.redo,
            ),
            model=self.model,
            words=config.words,
            listener=self.listener,
            reference=self._reference,
            resumed=self.resumed,
        )

    def _price(self) -> Price:
        if not registry.paid(self.provider):
            return Price(self.model, 0.0, 0.0, 0.0)
        return price_for(self.model, self.config.prices or registry.prices())

    # --- running -------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run in this thread. In the main thread, the first Ctrl+C or SIGTERM stops gracefully
        (checkpoint saved, batches left running) and a second one exits at once."""
        self.open()
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
        self._closed = True
        self._lock.release()

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise UsageError(
                f"this job has ended and released checkpoint {self.config.checkpoint}; "
                "build a new job to run again"
            )

    def _run(self) -> RunResult:
        self._refuse_if_closed()
        self._result = self.engine.run()
        return self._result

    def start(self) -> threading.Thread:
        """Run in a background thread (a notebook keeps its UI); see :meth:`wait`."""
        if self.running:
            raise UsageError("this job is already running")
        self.open()

        def target() -> None:
            try:
                self._run()
            except BaseException as exc:
                self._error = exc
            finally:
                self._closed = True
                self._lock.release()

        self._thread = threading.Thread(target=target, name="synthlib-run", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, *, cancel: bool = False) -> None:
        """Stop after the step in hand (thread-safe); ``cancel`` also cancels batches in flight.
        A job not started yet has nothing to stop."""
        if self._opened:
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
    Spends money unless the provider is the offline one (OpenAI, Anthropic and Gemini bill their
    batches); call :func:`synthlib.dry_run` first.
    """
    return Job(RunConfig.build(words, words_name=words_name, **settings), listener=listener).run()


def build_config(words: WordsSource, **settings: Any) -> RunConfig:
    """:meth:`RunConfig.build` (None means "the default" for every setting)."""
    return RunConfig.build(words, **settings)
