"""``batch-synthesis``: the terminal face of :mod:`synthlib` (a thin shell over the library)."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from . import __version__
from .config import DEFAULT_POLL_INTERVAL, MAX_WORDS_PER_REQUEST, PROVIDERS
from .errors import SynthlibError
from .pricing import DEFAULT_MODEL
from .shards import DEFAULT_BATCH_SIZE, DEFAULT_TOKEN_BUDGET

PROG = "batch-synthesis"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one line, exit 2: the same promise as every other bad input
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _whole(least: int = 1, most: int | None = None) -> Any:
    """An argparse type: a whole number in range, its error naming the flag (argparse adds it)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < least or (most is not None and value > most):
            bound = f"from {least} to {most}" if most is not None else f"at least {least}"
            raise argparse.ArgumentTypeError(f"must be {bound}, not {value}")
        return value

    return parse


def _amount(*, zero: bool) -> Any:
    """An argparse type: a finite number, at least 0 (``zero``) or more than 0."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
            bound = "a number of at least 0" if zero else "a number above 0"
            raise argparse.ArgumentTypeError(f"must be {bound}, not {text}")
        return value

    return parse


def _parser() -> _Parser:
    p = _Parser(
        prog=PROG,
        description="Synthesize validated dictionary entries for a word list through OpenAI's "
        "Batch API (or the offline provider), with a dry-run cost estimate, checkpoints and "
        "resume.",
    )
    p.add_argument(
        "words", metavar="WORDS", help="word list: .txt (one a line), .csv/.tsv, .jsonl, .json"
    )
    p.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="checkpoint file (default: .synthlib/<WORDS stem>.<job key>.checkpoint.json "
        "beside the store: one per list, model, provider and versions)",
    )
    p.add_argument(
        "--batch-size",
        type=_whole(),
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"words per batch job (default {DEFAULT_BATCH_SIZE:,})",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the cost estimate and exit without contacting any API",
    )
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model (default {DEFAULT_MODEL})")
    p.add_argument(
        "--store",
        metavar="URI",
        help="entry store: a file path (default synthlib.db) or a mongodb:// URI",
    )
    p.add_argument(
        "--max-cost",
        type=_amount(zero=True),
        metavar="USD",
        help="stop submitting before the projected spend would pass this",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask before spending")
    p.add_argument(
        "--provider",
        choices=PROVIDERS,
        default="auto",
        help="auto: openai when OPENAI_API_KEY is set, else offline",
    )
    p.add_argument(
        "--poll-interval",
        type=_amount(zero=False),
        metavar="SECONDS",
        help=f"first wait between status checks (default {DEFAULT_POLL_INTERVAL:g}; offline: "
        "none); later waits grow to a few minutes",
    )
    p.add_argument(
        "--words-per-request",
        type=_whole(1, MAX_WORDS_PER_REQUEST),
        default=1,
        metavar="N",
        help="words packed into one request (default 1)",
    )
    p.add_argument(
        "--max-attempts",
        type=_whole(),
        default=3,
        metavar="N",
        help="attempts per word before it is given up (default 3)",
    )
    p.add_argument(
        "--token-budget",
        type=_whole(),
        default=DEFAULT_TOKEN_BUDGET,
        metavar="TOKENS",
        help="input tokens allowed in flight (the model's enqueued-token limit)",
    )
    p.add_argument("--prices", metavar="FILE", help="JSON file overriding or adding model prices")
    p.add_argument(
        "--grounding",
        action="store_true",
        help="send each word's local dictionary senses with its request",
    )
    p.add_argument(
        "--cancel-on-exit",
        action="store_true",
        help="on Ctrl+C, cancel batches in flight instead of leaving them to finish",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="set an existing checkpoint aside and start a new run (refused while its batches "
        "are in flight)",
    )
    p.add_argument(
        "--redo",
        action="store_true",
        help="send words even when the store has their entry for this model and versions",
    )
    p.add_argument(
        "--import-checkpoint",
        metavar="FILE",
        help="the original script's checkpoint: its processed words are not sent again",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p  # fmt: skip


class _Display:
    """Standard output that goes quiet when its reader leaves (``| head``): a confirmed run
    carries on to the end, its state saved as usual, instead of dying on a broken pipe."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.reader_left = False

    def write(self, text: str) -> int:
        if not self.reader_left:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._leave()
        return len(text)

    def flush(self) -> None:
        if not self.reader_left:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._leave()

    def _leave(self) -> None:
        self.reader_left = True
        # the interpreter's own flush at exit must not complain either
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stdout = sys.stdout
    sys.stdout = _Display(stdout)
    try:
        return _main(args)
    finally:
        sys.stdout = stdout


def _main(args: argparse.Namespace) -> int:
    try:
        if args.dry_run:
            return _dry_run(args)
        from .terminal import run_in_terminal

        return run_in_terminal(args)
    except SynthlibError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, and the checkpoint is already saved
        if os.environ.get("SYNTHLIB_DEBUG"):
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc} (the checkpoint is saved; "
              "set SYNTHLIB_DEBUG=1 for a traceback)", file=sys.stderr)  # fmt: skip
        return 1


def _dry_run(args: argparse.Namespace) -> int:
    from .api import dry_run
    from .display import print_estimate

    estimate = dry_run(
        args.words,
        checkpoint=args.checkpoint,
        model=args.model,
        batch_size=args.batch_size,
        words_per_request=args.words_per_request,
        provider=args.provider,
        prices=args.prices,
        token_budget=args.token_budget,
        grounding=args.grounding,
        max_cost=args.max_cost,
        store=args.store,
        redo=args.redo,
        import_checkpoint=args.import_checkpoint,
        fresh=args.fresh,
    )
    for note in estimate.notes:
        print(note)
    print_estimate(estimate, title="Cost estimate (dry run: nothing sent)")
    resumes = " (exists: the run resumes it)" if os.path.exists(estimate.checkpoint or "") else ""
    print(f"Checkpoint: {estimate.checkpoint}{resumes}")
    return 0


def run() -> NoReturn:
    sys.exit(main())
