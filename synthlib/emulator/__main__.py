"""``python -m synthlib.emulator``: serve the emulator until SIGINT or SIGTERM.

Prints one line, ``synthlib emulator listening on http://127.0.0.1:PORT/v1 (state: DIR)``, as
soon as it accepts connections, and exits 0 on either signal. Every :class:`EmulatorConfig`
setting has a flag (``--error-rate 0.1``, ``--stall``, ``--token-limit gpt-4o-mini=50000``, ...),
the wire and odd-output faults included: ``--lost-reply-rate``, ``--lost-reply-mode
{5xx,drop,mixed}``, ``--stale-read-rate``, ``--stale-status-rate``,
``--duplicate-create-rate``, ``--listing-lag-seconds``, ``--clock-offset-seconds``,
``--isolate-projects``, ``--extra-entry-rate``, ``--duplicate-entry-rate``,
``--duplicate-line-rate``, ``--conflicting-line-rate`` and ``--bogus-custom-id-rate``, and
Gemini's: ``--gemini-missing-file-status {403,404}``, ``--gemini-expiry-seconds``,
``--no-gemini-partial-results``, ``--gemini-thinking-tokens`` and ``--gemini-max-inline-bytes``.
It serves OpenAI's Files and Batches under ``/v1``, Anthropic's Message Batches under
``/v1/messages/batches`` and Gemini's Batch API under ``/v1beta`` (and ``/v1`` with Google's key
header): point ``google-genai`` at ``http://127.0.0.1:PORT`` (without ``/v1``).
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import Any

from .config import GEMINI_MISSING_FILE_STATUSES, LOST_REPLY_MODES, EmulatorConfig
from .emulator import Emulator

_HELP = {
    "seed": "seed of every deterministic choice (ids, answers, faults)",
    "validating_seconds": "seconds a batch spends validating",
    "seconds_per_request": "seconds of in_progress per request",
    "finalizing_seconds": "seconds a batch spends finalizing",
    "cancelling_seconds": "seconds between cancelling and cancelled",
    "error_rate": "share of requests answered with a 500 in the error file",
    "truncate_rate": "share of answers cut short (finish_reason length)",
    "refusal_rate": "share of answers that are refusals",
    "expire_rate": "share of batches that expire half done",
    "no_output_rate": "share of batches whose every request fails",
    "http_429_rate": "share of API calls answered 429 before doing anything",
    "http_500_rate": "share of API calls answered 500 before doing anything",
    "max_consecutive_http_faults": "at most this many transient 429/500s in a row",
    "extra_entry_rate": "share of answers with an entry for a word that was not asked (billed)",
    "duplicate_entry_rate": "share of answers with an asked word's entry twice (billed)",
    "long_entry_rate": "share of words whose entry is long (drawn per word: retries too)",
    "long_entry_factor": "how many times longer a long entry's lists of senses are",
    "duplicate_line_rate": "share of batches writing some output lines twice (billed once)",
    "conflicting_line_rate": "share of batches with error lines for some answered requests",
    "bogus_custom_id_rate": "share of batches with unbilled output lines for ids not asked",
    "lost_reply_rate": "share of successful POST/DELETE calls whose answer is lost after the "
    "effect",
    "lost_reply_mode": "how a reply is lost: 5xx (500/502/504), drop (close the connection) or "
    "mixed",
    "stale_read_rate": "share of retrieve/content calls answered 404 although the object exists",
    "stale_status_rate": "share of reads of an ended batch answered in_progress (a lagging "
    "replica)",
    "duplicate_create_rate": "share of batch creates that take effect twice (a retrying proxy)",
    "listing_lag_seconds": "seconds before a new batch shows in listings",
    "clock_offset_seconds": "how far the server's clock runs ahead of this machine's (negative: "
    "behind); shifts every reported time and the Date header",
    "isolate_projects": "one project per API key; other projects' objects are 404",
    "api_keys": "accept only this key (repeatable); others get 401 (default: any key)",
    "stall": "hold every batch in in_progress (until restarted without --stall)",
    "default_token_limit": "enqueued input tokens allowed per model without --token-limit",
    "max_requests": "most requests in one batch input file",
    "max_file_bytes": "largest batch input file, in bytes",
    "anthropic_max_requests": "most requests in one Anthropic message batch",
    "anthropic_max_batch_bytes": "largest Anthropic message batch request body, in bytes",
    "anthropic_invalid_request_rate": "share of Anthropic requests whose result is an "
    "invalid_request_error",
    "gemini_missing_file_status": "what a Gemini read of a missing, deleted or stale file "
    "answers: 403 (as the real API) or 404",
    "gemini_expiry_seconds": "seconds after which a Gemini batch not yet ended is EXPIRED",
    "gemini_partial_results": "cancelled and expired Gemini batches keep the results of the "
    "requests that ran (--no-gemini-partial-results: no output; what ran is billed anyway)",
    "gemini_thinking_tokens": "thinking tokens a thinking Gemini model spends per answer "
    "(billed as output)",
    "gemini_max_inline_bytes": "largest body of inline Gemini batch requests, in bytes",
    "gemini_oldest_first": "list Gemini batches and files oldest first (the order is not "
    "documented; default newest first)",
    "gemini_max_display_name": "longest Gemini batch display name accepted (0: any)",
    "openai_oldest_first": "list OpenAI batches oldest first, as a compatible server may (the "
    "order is not documented; default newest first)",
}


def _token_limit(text: str) -> tuple[str | None, int]:
    model, sep, number = text.rpartition("=")
    try:
        return (model if sep else None), int(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MODEL=TOKENS or TOKENS, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser; flags mirror :class:`EmulatorConfig` fields."""
    parser = argparse.ArgumentParser(
        prog="python -m synthlib.emulator",
        description="Serve a local emulator of OpenAI's Files and Batches API, Anthropic's "
        "Message Batches API and Google's Gemini Batch API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument(
        "--state-dir", help="where state is kept (default: a new temporary directory)"
    )
    defaults = EmulatorConfig()
    for spec in dataclasses.fields(EmulatorConfig):
        if spec.name == "token_limits":
            continue
        flag = "--" + spec.name.replace("_", "-")
        default = getattr(defaults, spec.name)
        if isinstance(default, bool):
            # a setting on by default is turned off with --no-...
            action = argparse.BooleanOptionalAction if default else "store_true"
            parser.add_argument(flag, action=action, default=default, help=_HELP.get(spec.name))
        elif spec.name == "gemini_missing_file_status":
            parser.add_argument(
                flag,
                type=int,
                choices=GEMINI_MISSING_FILE_STATUSES,
                default=default,
                help=f"{_HELP.get(spec.name)} (default {default})",
            )
        elif spec.name == "api_keys":
            parser.add_argument(
                "--api-key",
                dest="api_keys",
                action="append",
                default=[],
                metavar="KEY",
                help=_HELP.get(spec.name),
            )
        elif spec.name == "lost_reply_mode":
            parser.add_argument(
                flag,
                choices=LOST_REPLY_MODES,
                default=default,
                help=f"{_HELP.get(spec.name)} (default {default})",
            )
        else:
            kind = int if isinstance(default, int) else float
            metavar = "N" if kind is int else "RATE" if spec.name.endswith("rate") else "SECONDS"
            parser.add_argument(
                flag,
                type=kind,
                default=default,
                metavar=metavar,
                help=f"{_HELP.get(spec.name)} (default {default})",
            )
    parser.add_argument(
        "--token-limit",
        type=_token_limit,
        action="append",
        default=[],
        metavar="[MODEL=]TOKENS",
        help="enqueued-token limit for one model, or the default without MODEL (repeatable)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The configuration the parsed flags describe."""
    values: dict[str, Any] = {
        spec.name: getattr(args, spec.name)
        for spec in dataclasses.fields(EmulatorConfig)
        if spec.name != "token_limits"
    }
    limits: dict[str, int] = {}
    for model, tokens in args.token_limit:
        if model is None:
            values["default_token_limit"] = tokens
        else:
            limits[model] = tokens
    values["api_keys"] = tuple(values["api_keys"])
    return EmulatorConfig(token_limits=limits, **values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    state_dir = args.state_dir or tempfile.mkdtemp(prefix="synthlib-emulator-")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    emulator = Emulator(state_dir, config, host=args.host, port=args.port).start()
    try:
        print(
            f"synthlib emulator listening on {emulator.base_url} (state: {state_dir})", flush=True
        )
        while not stop.wait(0.2):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
