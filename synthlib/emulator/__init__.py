"""A local emulator of OpenAI's Files and Batches API, Anthropic's Message Batches and Google's
Gemini Batch API, for tests and offline runs.

It serves real HTTP on 127.0.0.1 so the official ``openai`` SDK drives it unchanged::

    from synthlib.emulator import Emulator, EmulatorConfig

    with Emulator(state_dir, config=EmulatorConfig(error_rate=0.1)) as emu:
        client = openai.OpenAI(api_key="test", base_url=emu.base_url)
        ...
        emu.ledger()  # every billed request

Batches move validating → in_progress → finalizing → completed on a clock, answer
``/v1/chat/completions`` requests with deterministic fake completions (JSON valid against the
request's ``json_schema``), and inject seeded faults: in answers and batches, in result files
(duplicated, conflicting and bogus lines) and on the wire (lost replies, stale reads), with
optional per-key project isolation (see :mod:`.config`). ``python -m synthlib.emulator --help``
runs it as a server. Modules: :mod:`.config` (settings), :mod:`.api` (what each endpoint does),
:mod:`.lifecycle` (status from timestamps), :mod:`.validation` (input file checks),
:mod:`.execution` (running settled batches), :mod:`.responder` (fake answers),
:mod:`.schema_instances` (schema-valid JSON), :mod:`.tokens` (token counting rule),
:mod:`.faults` (fault draws), :mod:`.anthropic_batches` and :mod:`.anthropic_answers`
(Anthropic), :mod:`.gemini_batches` and :mod:`.gemini_answers` (Gemini; ``google-genai`` talks to
:attr:`Emulator.url`), :mod:`.store` (on-disk state), :mod:`.server` and
:mod:`.multipart` (HTTP), :mod:`.emulator` (in-process runner).
"""

from .config import EmulatorConfig
from .emulator import Emulator
from .store import StateDirInUse

__all__ = ["Emulator", "EmulatorConfig", "StateDirInUse"]
