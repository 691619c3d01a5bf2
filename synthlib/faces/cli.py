"""``batch-synthesis``: the terminal face of :mod:`synthlib` (a thin shell over the library)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from ..core.errors import SynthlibError, worded
from ..core.version import VERSION as __version__
from .wording import COMMAND_LINE

PROG = "batch-synthesis"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one line, exit 2: the same promise as every other bad input
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> _Parser:
    from ..jobs.config import Choice, Switch, settings
    from ..jobs.pilots import pilot_options

    p = _Parser(
        prog=PROG,
        description="Synthesize validated dictionary entries for a word list through the "
        f"Batch API of {_paid_titles()} (or the free offline provider), with a dry-run cost "
        "estimate, checkpoints and resume.",
        epilog=f"Other commands: {PROG} audit (check the store's entries against the local "
        f"lexical sources; {PROG} audit --help), {PROG} repair (send the entries with findings "
        f"again; {PROG} repair --help).",
    )
    p.add_argument(
        "words", metavar="WORDS", help="word list: .txt (one a line), .csv/.tsv, .jsonl, .json"
    )
    for name, f in settings().items():  # every run setting, declared once in RunConfig
        kind, flag = f.metadata["kind"], "--" + name.replace("_", "-")
        if isinstance(kind, Switch):
            p.add_argument(flag, action="store_true", default=None, help=f.metadata["help"])
            continue
        shown = f" (default {f.default:,})" if isinstance(f.default, int) else ""
        shown = f" (default {f.default})" if isinstance(f.default, str) else shown
        p.add_argument(
            flag,
            type=kind.parse,
            metavar=f.metadata["metavar"],
            help=f.metadata["help"] + shown,
            choices=kind.options if isinstance(kind, Choice) else None,
        )
        if name == "batch_size":  # the original script's order: ... --batch-size N --dry-run
            p.add_argument(
                "--dry-run",
                action="store_true",
                help="print the cost estimate and exit without contacting any API",
            )
        elif name == "max_cost":
            p.add_argument("--yes", "-y", action="store_true", help="do not ask before spending")
    pilot = p.add_argument_group(
        "pilot",
        "try a sample of the list on several models and compare them before the run (any of "
        "these runs the pilot instead of the whole list)",
    )
    pilot.add_argument(
        "--pilot",
        action="store_const",
        const=True,
        help="run a pilot (--pilot N: of N words, the same as --sample N)",
    )
    # --pilot N reaches here as --pilot-words N (_pilot_size): a plain switch cannot swallow WORDS
    pilot.add_argument("--pilot-words", dest="pilot", type=_whole_number, help=argparse.SUPPRESS)
    for name, f in pilot_options().items():  # declared once in PilotOptions
        kind = f.metadata["kind"]
        shown = f" (default {f.default})" if f.default is not None else ""
        pilot.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=kind.parse,
            metavar=f.metadata["metavar"],
            help=f.metadata["help"] + shown,
            default=None,
        )
    # the names before the options were declared once (kept working, no longer listed)
    pilot.add_argument("--pilot-sample", dest="sample_file", help=argparse.SUPPRESS)
    pilot.add_argument("--pilot-seed", dest="seed", type=_whole_number, help=argparse.SUPPRESS)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def _paid_titles() -> str:
    """The built-in paid providers by title, from the registry: ``OpenAI, Anthropic or
    Gemini``."""
    from ..providers import registry

    titles = [s.title for s in map(registry.spec, registry.built_in()) if s.paid]
    return ", ".join(titles[:-1]) + " or " + titles[-1] if len(titles) > 1 else "".join(titles)


def _pilot_size(arguments: Sequence[str]) -> list[str]:
    """``--pilot N`` (N a whole number) as the hidden ``--pilot-words N``; any other word after
    ``--pilot`` stays where it is (``--pilot words.txt`` is the switch and the word list)."""
    out: list[str] = []
    for at, argument in enumerate(arguments):
        following = arguments[at + 1] if at + 1 < len(arguments) else ""
        if argument == "--pilot" and following.removeprefix("-").isdigit():
            argument = "--pilot-words"
        elif argument.startswith("--pilot="):
            argument = "--pilot-words=" + argument.removeprefix("--pilot=")
        out.append(argument)
    return out


def _whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


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


COMMANDS = ("audit", "repair")
"""Subcommands; any other first argument is the word list (``batch-synthesis words.txt``). A word
list named like a subcommand is given with a path: ``./audit``."""


def _audit_parser() -> _Parser:
    p = _Parser(
        prog=f"{PROG} audit",
        description="Audit the store's entries against the local lexical sources (WordNet, "
        "CMUdict, eSpeak NG, lemminflect, pyphen, wordfreq) and keep the findings in the store. "
        "Entries already audited are not audited again, so an interrupted audit resumes.",
    )
    p.add_argument(
        "--store",
        metavar="URI",
        help="SQLite file or mongodb:// URI (default: $SYNTHLIB_STORE, else synthlib.db)",
    )
    p.add_argument("--run", metavar="ID", help="only the entries of this run")
    p.add_argument("--words", metavar="FILE", help="only the entries of the words in this list")
    p.add_argument(
        "--workers", type=_whole_number, metavar="N", help="processes (default: cores, at most 2)"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments == ["--version"]:
        print(f"{PROG} {__version__}")  # before the settings (and the schema they use) load
        return 0
    if arguments and arguments[0] == "audit":
        return _command("audit", _audit_parser().parse_args(arguments[1:]))
    if arguments and arguments[0] == "repair":
        return _command("repair", _repair_args(arguments[1:]))
    args = _parser().parse_args(_pilot_size(arguments))
    stdout = sys.stdout
    sys.stdout = _Display(stdout)
    try:
        return _main(args)
    finally:
        sys.stdout = stdout


def _main(args: argparse.Namespace) -> int:
    try:
        from ..jobs.pilots import pilot_options

        if args.pilot is not None or any(getattr(args, n) is not None for n in pilot_options()):
            from .terminal import pilot_in_terminal

            return pilot_in_terminal(args)
        if args.dry_run:
            return _dry_run(args)
        from .terminal import run_in_terminal

        return run_in_terminal(args)
    except SynthlibError as exc:
        print(f"{PROG}: error: {exc.worded(COMMAND_LINE)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, and the checkpoint is already saved
        if os.environ.get("SYNTHLIB_DEBUG"):
            raise
        print(
            f"{PROG}: internal error: {type(exc).__name__}: {exc} (the checkpoint is saved; "
            "set SYNTHLIB_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 1


def _repair_args(arguments: list[str]) -> argparse.Namespace:
    own = _Parser(
        prog=f"{PROG} repair",
        add_help=False,
        description="Send the words whose entries have audit findings again, with the findings "
        "and the local facts in the prompt, as an ordinary run (estimate first, --max-cost, "
        "checkpoint and resume); the repaired entries are audited again. Takes the run's "
        "settings (--model, --provider, --store, --max-cost, --yes, --dry-run, ...).",
    )
    own.add_argument("--severity", choices=("error", "warning"), default="error")
    own.add_argument("--run", metavar="ID", help="only the entries of this run")
    own.add_argument("-h", "--help", action="store_true")
    known, rest = own.parse_known_args(arguments)
    if known.help:
        own.print_help()
        print(f"\nRun settings: see {PROG} --help.")
        raise SystemExit(0)
    args = _parser().parse_args(["repair.txt", *rest])
    args.severity, args.run = known.severity, known.run
    return args


def _command(name: str, args: argparse.Namespace) -> int:
    from ..store import default_store, store_file

    location = os.fspath(args.store or default_store())
    file = store_file(location)
    if file is not None and not file.exists():
        # a mistyped path is no store to create: audit and repair (even a dry run) say so
        print(f"{PROG} {name}: error: no store at {location}", file=sys.stderr)
        return 2
    try:
        if name == "repair":
            from .terminal import repair_in_terminal

            return repair_in_terminal(args)
        return _audit(args)
    except SynthlibError as exc:
        print(f"{PROG} {name}: error: {exc.worded(COMMAND_LINE)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        if name == "repair":
            print(f"{PROG} repair: interrupted (run it again to resume from its checkpoint)")
        else:
            print(f"{PROG} audit: interrupted (audited chunks are kept; run it again to resume)")
        return 130


def _audit(args: argparse.Namespace) -> int:
    from ..jobs.findings import audit
    from ..store import default_store, mask_uri

    location = args.store or default_store()
    words = None
    if args.words is not None:
        from ..core.words import read_words

        words = list(read_words(args.words))
    print(f"Auditing the entries in {mask_uri(location)} against the local lexical sources ...")
    bar = _bar()
    summary = audit(location, run=args.run, words=words, workers=args.workers, progress=bar)
    if bar is not None:
        bar.close()
    if not summary.entries:
        which = [
            f"run {args.run}" if args.run else "",
            f"the words of {args.words}" if words else "",
        ]
        print(f"No entries to audit ({' and '.join(filter(None, which)) or 'the store is empty'})")
        return 0
    _print_audit(summary)
    return 0


class _Bar:
    def __init__(self) -> None:
        from tqdm.auto import tqdm

        self.tqdm = tqdm(desc="Auditing", unit=" entries", disable=None, leave=False)

    def __call__(self, done: int, total: int) -> None:
        self.tqdm.total = total
        self.tqdm.update(done - self.tqdm.n)

    def close(self) -> None:
        self.tqdm.close()


def _bar() -> _Bar | None:
    return _Bar() if sys.stderr.isatty() else None


def _print_audit(summary: Any) -> None:
    s = summary.severities
    resumed = f", {summary.resumed:,} audited before" if summary.resumed else ""
    print(
        f"Audited {summary.audited:,} of {summary.entries:,} entries{resumed} in "
        f"{summary.seconds:.1f} s: {s['error']:,} errors, {s['warning']:,} warnings, "
        f"{s['info']:,} notes"
    )
    fields = sorted({f for f, _ in summary.fields})
    if fields:
        print(f"  {'field':<16}{'errors':>8}{'warnings':>10}{'notes':>8}")
        for name in fields:
            counts = [summary.fields[(name, sev)] for sev in ("error", "warning", "info")]
            print(f"  {name:<16}{counts[0]:>8,}{counts[1]:>10,}{counts[2]:>8,}")
    if len(summary.by_model) > 1:
        for model, tally in sorted(summary.by_model.items()):
            per = 100 * (tally["error"] + tally["warning"]) / max(tally["entries"], 1)
            print(f"  {model}: {per:.1f} findings per 100 entries")
    if summary.doubtful:
        print("Most doubtful first:")
        for word, errors, warnings, reason in summary.doubtful[:10]:
            print(f"  {word}: {errors} errors, {warnings} warnings - {reason}")
    print("Findings are kept in the store: synthlib.load_findings() or the review's Findings tab.")


def _dry_run(args: argparse.Namespace) -> int:
    from ..jobs.plan import dry_run
    from .display import print_estimate
    from .terminal import given_settings

    estimate = dry_run(args.words, **given_settings(args))
    for note in estimate.notes:
        print(worded(note, COMMAND_LINE))
    print_estimate(estimate, title="Cost estimate (dry run: nothing sent)")
    resumes = " (exists: the run resumes it)" if os.path.exists(estimate.checkpoint or "") else ""
    print(f"Checkpoint: {estimate.checkpoint}{resumes}")
    return 0


def run() -> NoReturn:
    sys.exit(main())
