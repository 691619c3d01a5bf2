"""The model pilot: a sample of the list on several models, compared side by side before the
whole list is spent on one.

    p = synthlib.pilot("words.txt", models=["gpt-4o-mini", "gpt-4.1-mini", "offline"], sample=50)
    p.comparison()          # one row per model: tokens and cost per word, projection, quality
    p.frame()               # one row per word and model, for reading entries side by side
    p.mark("bank", "gpt-4.1-mini"); p.tally()
    synthlib.run("words.txt", model="gpt-4.1-mini")   # the pilot's words are not sent again

What a caller may rely on:

* **The sample** (:func:`draw_sample`) is stratified by wordfreq's frequency band (1 rare ... 5
  very common, and words wordfreq does not know as their own band): each band gets its share of
  ``sample`` words, at least one when ``sample`` allows, drawn with ``seed``, listed in the list's
  order. The same list, size and seed give the same sample; ``sample_file`` gives it outright.
* **Each model is an ordinary run** of the sample (:class:`synthlib.jobs.job.Job`), all models at
once,
  each with its own checkpoint under the pilot's folder: the same lock, resume, ledger and cap
  guarantees as a run (``max_cost`` applies to each model's run). Entries and failures are kept in
  the store's pilot area (``keep_pilot_entries``), keyed by pilot, model and word, so the store's
  one entry per word is untouched. Running the same pilot again resumes it and pays nothing twice.
* **The record** (``<store folder>/.synthlib/pilots/<id>.json``, the id from the sample's words)
  holds the sample, each model's measured figures and wall time, and the marks.
* **One denominator**: tokens per word and cost per 1,000 words are the pilot's billed totals
  (the checkpoint's: every billed answer, refusals, truncated attempts and not-a-word answers
  included) divided by the sample's words.
* **Projections** (:func:`project`) price the whole list at batch prices: its exact input tokens
  (:func:`synthlib.core.cost.estimate`) times the sample's billed input over the sample's own exact
  input (what retries add), plus the sample's billed output per sample word times the list's
  words, each frequency band's sample words standing for that band's words in the list (the
  sample was drawn so). The spread is a 90% bootstrap interval: the sample's words resampled
  with replacement within their bands 2,000 times (seeded: the same pilot gives the same band),
  each resample's per-word billed tokens (:class:`synthlib.engine.ingest.Ingested` ``billed``, kept
  in
  ``<model>.billed.jsonl`` beside the model's checkpoint) projected the same way, its 5th and
  95th percentiles. It is the uncertainty of the sample's mean, not of the run's own chance; a
  sample of the whole list has no band.
* **Choosing** a model is running the list on it: words the pilot already has from that model (and
  prompt and schema versions) are copied from the pilot area into the store and not sent again
  (:func:`synthlib.engine.skip.mark_already_done`).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import Field, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import MissingKey, UsageError
from ..core.pricing import Price
from ..core.words import WordList, read_words
from ..engine.checkpoint import checkpoint_dir
from ..engine.ingest import Tokens
from ..engine.progress import Phase
from ..providers import registry
from ..store import Store, open_store
from ..store.ledger import Holder, Purchase, Reservation
from ..store.records import EntryRecord, FailureRecord
from .config import RunConfig, Text, Whole, provider_model, setting

if TYPE_CHECKING:
    import pandas as pd

    from ..core.cost import Estimate
    from ..engine.loop import RunResult

OFFLINE = "offline"
NOTHING_TO_SEND = "Nothing to send: this pilot already has every word of its sample."
DEFAULT_SAMPLE = 50
BANDS = (5, 4, 3, 2, 1, 0)  # wordfreq's frequency band; 0: not in wordfreq's list


@dataclass(frozen=True)
class PilotOptions:
    """What a pilot is, beside the run settings its models share. Each option, declared once
    here, has one name everywhere: a keyword of :func:`pilot` and :func:`prepare_pilot`, a flag
    of the command line's pilot (``--models``, ``--sample``, ``--sample-file``, ``--seed``), a
    parameter of ``notebooks/pilot.ipynb`` and of :func:`synthlib.show_pilot`."""

    models: str | None = setting(
        None,
        Text(),
        "the models to compare, comma-separated (offline: the free local provider)",
        "LIST",
    )
    sample: int = setting(
        DEFAULT_SAMPLE, Whole(1), "words drawn from the list, by frequency band", "N"
    )
    sample_file: str | None = setting(
        None, Text(), "the pilot's words, instead of a drawn sample", "FILE"
    )
    seed: int = setting(0, Whole(0), "the seed of the sample's draw", "N")


def pilot_options() -> dict[str, Field[Any]]:
    """The pilot's options, in order: name -> field (its default, ``metadata["kind"]`` that
    checks and parses it, ``metadata["help"]``), as :func:`.config.settings` lists the run's."""
    return {f.name: f for f in fields(PilotOptions)}


# --- the sample ----------------------------------------------------------------------------------


def frequency_band(word: str) -> int:
    """wordfreq's band of ``word`` (1 rare ... 5 very common), 0 when wordfreq does not know it."""
    from ..lexicon import frequency

    return frequency.frequency_band(frequency.zipf(word)) or 0


def draw_sample(words: Sequence[str], size: int, seed: int = 0) -> list[str]:
    """``size`` words of ``words`` stratified by :func:`frequency_band` (see the module
    docstring), in the list's order; all of them when the list is no longer than ``size``."""
    return _draw(words, size, seed)[0]


def _draw(words: Sequence[str], size: int, seed: int) -> tuple[list[str], dict[int, int]]:
    """:func:`draw_sample`, and the list's words per band ({} when the sample is the list)."""
    if size < 1:
        raise UsageError(f"the pilot's sample needs at least 1 word, not {size}")
    if len(words) <= size:
        return list(words), {}
    by_band: dict[int, list[str]] = {band: [] for band in BANDS}
    for word in words:
        by_band[frequency_band(word)].append(word)
    present = [band for band in BANDS if by_band[band]]
    # largest remainder, then at least one word from each band while the size allows
    shares = {band: size * len(by_band[band]) / len(words) for band in present}
    counts = {band: math.floor(share) for band, share in shares.items()}
    for band in sorted(present, key=lambda b: counts[b] - shares[b])[: size - sum(counts.values())]:
        counts[band] += 1
    for band in present:
        if counts[band] == 0 and size >= len(present):
            donor = max(present, key=lambda b: counts[b])
            counts[donor] -= 1
            counts[band] = 1
    rng = random.Random(seed)
    chosen = {w for band in present for w in rng.sample(by_band[band], counts[band])}
    return [w for w in words if w in chosen], {band: len(by_band[band]) for band in present}


def pilot_id(sample: Sequence[str]) -> str:
    """The pilot's id: 12 hex digits of the sample's words (models may be added later)."""
    return hashlib.sha256("\n".join(sample).encode()).hexdigest()[:12]


# --- the pilot's own view of the store ------------------------------------------------------------


class PilotStore:
    """A :class:`~synthlib.store.Store` for one model's pilot run: entries and failures go to the
    base store's pilot area, and what counts as done is what the pilot already has."""

    def __init__(self, base: Store, pilot: str, model: str, billed: Path | None = None) -> None:
        self.base, self.pilot, self.model = base, pilot, model
        self.billed = billed  # where each batch's per-word billed tokens are kept

    def record_billed(self, batch_id: str, billed: Mapping[str, Tokens]) -> None:
        """Keep a batch's per-word billed tokens (one JSON line per batch; a batch recorded again
        after a crash replaces its earlier line when read)."""
        if self.billed is None or not billed:
            return
        line = json.dumps({"batch": batch_id, "words": billed}, ensure_ascii=False)
        self.billed.parent.mkdir(parents=True, exist_ok=True)
        with self.billed.open("a", encoding="utf-8") as file:
            file.write(line + "\n")

    @property
    def location(self) -> str:
        return self.base.location

    def upsert_entries(self, records: Iterable[EntryRecord]) -> int:
        return self.base.keep_pilot_entries(self.pilot, records)

    def record_failures(self, failures: Iterable[FailureRecord]) -> int:
        return self.base.keep_pilot_failures(self.pilot, self.model, failures)

    def words_with_entries(self, words: Iterable[str] | None = None) -> set[str]:
        return {r.word for r in self.iter_entries(words=words)}

    def words_made_with(
        self,
        words: Iterable[str] | None = None,
        *,
        model: str,
        prompt_version: str,
        schema_version: str,
        api_location: str | None = None,
    ) -> set[str]:
        return self.base.pilot_words_made_with(
            self.pilot, model, prompt_version, schema_version, words, api_location=api_location
        )

    def iter_entries(self, words: Iterable[str] | None = None, **_: Any) -> Iterator[EntryRecord]:
        return self.base.iter_pilot_entries(self.pilot, self.model, words)

    def iter_failures(self) -> Iterator[FailureRecord]:
        return (f for _, f in self.base.iter_pilot_failures(self.pilot, self.model))

    def count(self) -> int:
        return sum(1 for _ in self.iter_entries())

    def record_run(self, summary: dict) -> str:
        return str(summary.get("run_id", ""))  # the pilot's record keeps each model's figures

    # the ledger is the base store's: a pilot and a full run on one model never both pay a word
    def renew(self, holder: Holder, now: float, *, ended: bool = False) -> None:
        self.base.renew(holder, now, ended=ended)

    def reserve(
        self,
        purchase: Purchase,
        holder: Holder,
        shard: str,
        positions: Mapping[str, int],
        now: float,
    ) -> set[str]:
        return self.base.reserve(purchase, holder, shard, positions, now)

    def attach_batch(self, run_id: str, shard: str, batch_id: str) -> None:
        self.base.attach_batch(run_id, shard, batch_id)

    def release(self, run_id: str, words: Iterable[str], state: str) -> None:
        self.base.release(run_id, words, state)

    def reserved_by(self, run_id: str) -> set[str]:
        return self.base.reserved_by(run_id)

    def batch_places(self, batch_id: str) -> dict[str, int]:
        return self.base.batch_places(batch_id)

    def batch_runs(self, batch_id: str) -> set[str]:
        return self.base.batch_runs(batch_id)

    def take_over(
        self, batch_id: str, gone_run: str, holder: Holder, shard: str, now: float, lease: float
    ) -> dict[str, int]:
        return self.base.take_over(batch_id, gone_run, holder, shard, now, lease)

    def take_over_shard(
        self,
        gone_run: str,
        gone_shard: str,
        holder: Holder,
        shard: str,
        now: float,
        lease: float,
        batch_id: str | None = None,
    ) -> dict[str, int]:
        return self.base.take_over_shard(gone_run, gone_shard, holder, shard, now, lease, batch_id)

    def end_if_process(self, run_id: str, host: str, pid: int) -> bool:
        return self.base.end_if_process(run_id, host, pid)

    def mark_creating(self, run_id: str, shard: str, at: float, requests: int) -> bool:
        return self.base.mark_creating(run_id, shard, at, requests)

    def creating_of(self, run_id: str, shard: str) -> tuple[float, float, int] | None:
        return self.base.creating_of(run_id, shard)

    def shard_places(self, run_id: str, shard: str) -> dict[str, int]:
        return self.base.shard_places(run_id, shard)

    def reservations(self, purchase: Purchase, words: Iterable[str]) -> list[Reservation]:
        return self.base.reservations(purchase, words)


def read_billed(path: Path) -> dict[str, Tokens]:
    """Each word's billed tokens over every batch in ``path`` (see
    :meth:`PilotStore.record_billed`); {} when there is none. A torn last line is skipped."""
    batches: dict[str, dict[str, Any]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    for line in text.splitlines():
        try:
            data = json.loads(line)
            batches[str(data["batch"])] = dict(data["words"])
        except (ValueError, KeyError, TypeError):
            continue
    totals: dict[str, Tokens] = {}
    for words in batches.values():
        for word, tokens in words.items():
            i, c, o = totals.get(word, (0, 0, 0))
            totals[word] = (i + int(tokens[0]), c + int(tokens[1]), o + int(tokens[2]))
    return totals


def billed_path(checkpoint: Path) -> Path:
    """Where a pilot model's per-word billed tokens are kept: beside its checkpoint."""
    return checkpoint.with_name(checkpoint.name.removesuffix(".checkpoint.json") + ".billed.jsonl")


# --- the projection ------------------------------------------------------------------------------

BAND = 0.90  # the projection's bootstrap interval
RESAMPLES = 2000


@dataclass(frozen=True)
class Projection:
    """The whole list's projected cost at batch prices, and its 90% band."""

    cost: float
    low: float
    high: float


def project(
    price: Price,
    billed: Tokens,
    *,
    words: int,
    sample_input: int,
    list_input: int,
    list_words: int,
    per_word: Sequence[Tokens] = (),
    bands: Sequence[int] = (),
    list_bands: Mapping[int, int] | None = None,
    seed: int = 0,
) -> Projection:
    """The list's cost projected from the pilot's ``billed`` (input, cached, output) tokens over
    ``words`` sample words (see the module docstring). Pure.

    Input is scaled by ``list_input / sample_input`` (the exact first-attempt input tokens of the
    list and of the sample: what retries add stays in proportion), output by ``list_words /
    words``. ``per_word`` is each sample word's billed tokens (zeros for a word never billed),
    in the order of ``bands`` (each word's frequency band); with ``list_bands`` (the list's
    words per band) each band's words stand for that band's share of the list, as the sample was
    drawn (the totals are still ``billed``'s), and the bootstrap resamples within each band.
    Without per-word figures, or when the sample is the whole list, the band is the point."""
    if words < 1:
        raise ValueError("a projection needs at least one sample word")
    if not per_word or words >= list_words or not any(map(any, per_word)):
        per_word = ()
    n = len(per_word)
    per_input = list_input / sample_input if sample_input else 0.0

    def priced(i: float, c: float, o: float) -> float:
        return price.cost(round(i * per_input), round(o), round(c * per_input))

    if not n:
        point = priced(billed[0], billed[1], billed[2] * list_words / words)
        return Projection(point, point, point)
    weights = _weights(bands if len(bands) == n else (), list_bands, n, list_words)
    sums = [sum(t[j] for t in per_word) for j in range(3)]
    # per-word figures add up to the billed totals (a batch's own usage may exceed its lines')
    adjust = [billed[j] / sums[j] if sums[j] else 0.0 for j in range(3)]

    def weighted(rows: Iterable[int]) -> float:
        i = c = o = 0.0
        for k in rows:
            w, t = weights[k], per_word[k]
            i, c, o = i + w * t[0], c + w * t[1], o + w * t[2]
        return priced(i * adjust[0] * n / list_words, c * adjust[1] * n / list_words, o * adjust[2])

    point = weighted(range(n))
    groups: dict[int, list[int]] = {}
    for k in range(n):
        groups.setdefault(bands[k] if len(bands) == n and list_bands else 0, []).append(k)
    rng = random.Random(seed)
    draws = sorted(
        weighted(k for group in groups.values() for k in rng.choices(group, k=len(group)))
        for _ in range(RESAMPLES)
    )
    tail = (1 - BAND) / 2
    return Projection(point, draws[int(tail * RESAMPLES)], draws[int((1 - tail) * RESAMPLES) - 1])


def _weights(
    bands: Sequence[int], list_bands: Mapping[int, int] | None, n: int, list_words: int
) -> list[float]:
    """How many of the list's words each sample word stands for (they add up to the list):
    its band's list words over its band's sample words, or the list over the sample."""
    if not bands or not list_bands:
        return [list_words / n] * n
    in_sample = Counter(bands)
    covered = sum(list_bands.get(b, 0) for b in in_sample)
    if not covered:
        return [list_words / n] * n
    # a band of the list with no sample word (a given sample) is spread over the others
    spread = list_words / covered
    return [list_bands.get(b, 0) / in_sample[b] * spread for b in bands]


# --- the record ----------------------------------------------------------------------------------


@dataclass
class ModelReport:
    """One model's pilot: what it cost and what its entries look like."""

    model: str  # as asked ("offline" for the offline provider)
    provider: str
    recorded_model: str  # as recorded with entries (the offline provider names its sources)
    words: int = 0
    entries: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    wall_seconds: float = 0.0
    phase: Phase = Phase.NOT_RUN  # not run | running | finished | interrupted | budget | failed
    error: str = ""  # why a failed model's run stopped (one line)
    senses_per_entry: float = 0.0
    examples_per_sense: float = 0.0
    examples_showing_word: float = 0.0
    findings_per_100: float | None = None  # the audit's errors and warnings per 100 entries
    projected_cost_usd: float | None = None
    projected_low_usd: float | None = None  # the projection's 90% band (see :func:`project`)
    projected_high_usd: float | None = None
    projected_words: int = 0

    def __post_init__(self) -> None:
        self.phase = Phase(self.phase)  # as a pilot record's JSON writes it

    @property
    def valid_share(self) -> float:
        return self.entries / self.words if self.words else 0.0

    @property
    def input_per_word(self) -> float:
        return self.input_tokens / self.words if self.words else 0.0

    @property
    def output_per_word(self) -> float:
        return self.output_tokens / self.words if self.words else 0.0

    @property
    def cost_per_1000(self) -> float:
        return self.cost_usd / self.words * 1000 if self.words else 0.0


@dataclass
class Pilot:
    """A pilot's record: its sample, each model's report, and the marks a reader gave."""

    id: str
    path: Path
    store: Any
    list_name: str
    list_words: int
    sample: list[str]
    bands: dict[str, int]
    reports: dict[str, ModelReport] = field(default_factory=dict)
    # the list's words per frequency band, as the sample was drawn ({}: a given sample)
    list_bands: dict[int, int] = field(default_factory=dict)
    marks: dict[str, str] = field(default_factory=dict)  # word -> the better model
    created_at: str = ""
    sample_name: str = ""  # the file that gave the sample ("": drawn by frequency band)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def models(self) -> list[str]:
        return list(self.reports)

    # --- reading -----------------------------------------------------------------------------

    def comparison(self) -> pd.DataFrame:
        """One row per model, indexed by model: its state (phase, and the error of a failed
        run), tokens and cost per word, projection, quality, failures."""
        import pandas as pd

        tally = self.tally()
        rows = [
            {
                "model": r.model,
                "provider": r.provider,
                "phase": str(r.phase),
                "error": r.error,
                "words": r.words,
                "valid": r.valid_share,
                "failures": ", ".join(f"{k} {v}" for k, v in sorted(r.failures.items())) or "",
                "input tokens/word": r.input_per_word,
                "output tokens/word": r.output_per_word,
                "cost/1,000 words": r.cost_per_1000,
                "projected cost": r.projected_cost_usd,
                "projected low": r.projected_low_usd,
                "projected high": r.projected_high_usd,
                "senses/entry": r.senses_per_entry,
                "examples/sense": r.examples_per_sense,
                "examples showing word": r.examples_showing_word,
                "findings/100 entries": r.findings_per_100,
                "wall s": r.wall_seconds,
                "marked better": tally.get(r.model, 0),
            }
            for r in self.reports.values()
        ]
        columns = list(rows[0]) if rows else ["model"]
        return pd.DataFrame(rows, columns=columns).set_index("model")

    def entries(self, model: str | None = None) -> dict[tuple[str, str], EntryRecord]:
        """(word, model) -> the pilot's entry (model as asked)."""
        recorded = {r.recorded_model: r.model for r in self.reports.values()}
        if model is not None and model in self.reports:
            model = self.reports[model].recorded_model
        with _opened(self.store) as store:
            return {
                (r.word, recorded.get(r.model, r.model)): r
                for r in store.iter_pilot_entries(self.id, model)
                if recorded.get(r.model, r.model) in self.reports
            }

    def failures(self) -> dict[tuple[str, str], FailureRecord]:
        recorded = {r.recorded_model: r.model for r in self.reports.values()}
        with _opened(self.store) as store:
            return {(f.word, recorded.get(m, m)): f for m, f in store.iter_pilot_failures(self.id)}

    def frame(self) -> pd.DataFrame:
        """One row per word and model: the entry's outline, or its failure, and the mark."""
        import pandas as pd

        entries, failures = self.entries(), self.failures()
        rows = []
        for word in self.sample:
            for model in self.reports:
                record = entries.get((word, model))
                failure = failures.get((word, model))
                e = record.entry if record else {}
                groups = e.get("parts_of_speech") or []
                senses = [s for g in groups for s in g.get("senses") or []]
                rows.append(
                    {
                        "word": word,
                        "band": self.bands.get(word, 0),
                        "model": model,
                        "ok": record is not None,
                        "failure": failure.reason if failure and not record else None,
                        "ipa": (e.get("pronunciation") or {}).get("ipa"),
                        "parts_of_speech": [g.get("part_of_speech") for g in groups],
                        "senses": len(senses),
                        "first_definition": senses[0].get("definition") if senses else None,
                        "examples": sum(len(s.get("examples") or []) for s in senses),
                        "output_tokens": record.output_tokens if record else None,
                        "cost_usd": record.cost_usd if record else None,
                        "marked_better": self.marks.get(word) == model,
                    }
                )
        return pd.DataFrame(rows)

    def tally(self) -> dict[str, int]:
        """Words marked, per model."""
        return dict(Counter(self.marks.values()))

    # --- writing -----------------------------------------------------------------------------

    def mark(self, word: str, model: str | None) -> None:
        """Mark ``model``'s entry for ``word`` the better one (None clears the mark); saved."""
        if word not in self.sample:
            raise UsageError(f"{word!r} is not in this pilot's sample")
        if model is not None and model not in self.reports:
            raise UsageError(f"{model!r} is not one of this pilot's models")
        with self._lock:
            if model is None:
                self.marks.pop(word, None)
            else:
                self.marks[word] = model
        self.save()

    def save(self) -> None:
        with self._lock:
            data = {
                "id": self.id,
                "created_at": self.created_at,
                "list_name": self.list_name,
                "list_words": self.list_words,
                "sample": self.sample,
                "bands": self.bands,
                "list_bands": {str(band): n for band, n in self.list_bands.items()},
                "sample_name": self.sample_name,
                "reports": [asdict(r) for r in self.reports.values()],
                "marks": self.marks,
            }
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_name(f".{self.path.name}.{threading.get_ident()}.tmp")
            temp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
            temp.replace(self.path)

    @classmethod
    def load(cls, path: str | Path, store: Any = None) -> Pilot:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            reports = {r["model"]: ModelReport(**r) for r in data["reports"]}
            return cls(
                id=data["id"],
                path=path,
                store=store,
                list_name=data["list_name"],
                list_words=data["list_words"],
                sample=list(data["sample"]),
                bands={k: int(v) for k, v in data["bands"].items()},
                list_bands={int(k): int(v) for k, v in (data.get("list_bands") or {}).items()},
                reports=reports,
                marks=dict(data.get("marks") or {}),
                created_at=data.get("created_at", ""),
                sample_name=data.get("sample_name") or "",
            )
        except FileNotFoundError:
            raise UsageError(f"{path}: no such pilot record") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path}: not a pilot record ({exc})") from None


def pilot_folder(store: Any = None) -> Path:
    """Where pilot records and the pilots' checkpoints live: beside the default checkpoints."""
    return checkpoint_dir(store) / "pilots"


def latest_pilot(store: Any = None) -> Pilot | None:
    """The most recently written pilot record beside ``store``, or None."""
    folder = pilot_folder(store)
    records = (
        sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime) if folder.exists() else []
    )
    return Pilot.load(records[-1], store) if records else None


# --- running -------------------------------------------------------------------------------------


def provider_of(model: str) -> str:
    """The provider a pilot model runs on: the one whose models include it (``offline`` for
    the offline provider), else the one that takes any model (OpenAI, also an OpenAI-compatible
    server at ``OPENAI_BASE_URL``, such as the bundled emulator); see
    :func:`synthlib.providers.registry.spec_for_model`."""
    return registry.spec_for_model(model).name


def parse_models(models: str | Iterable[str]) -> list[str]:
    """``"a,b, c"`` or a list -> distinct model names in order; a one-line error when empty."""
    names = models.split(",") if isinstance(models, str) else list(models)
    found = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    if not found:
        raise UsageError("the pilot needs at least one model ({models})", settings="models")
    return found


@dataclass
class PilotPlan:
    """A pilot ready to run: its record (new or resumed) and one run setting per model."""

    record: Pilot
    configs: dict[str, RunConfig]
    full: WordList

    def estimate(self, model: str) -> Estimate:
        """What the pilot will send for ``model``: what its run would start from, counted as
        the run counts it (the model's pilot checkpoint: words finished, given up or in flight;
        then this pilot's entries in the store), priced as a dry run prices it. Reads only."""
        from ..store import store_if_any
        from .plan import estimate_config, starting_point_of

        config = self.configs[model]
        provider = provider_of(model)
        recorded = provider_model(provider, config.model)
        with store_if_any(self.record.store) as base:
            own = PilotStore(base, self.record.id, recorded) if base is not None else None
            bought = config.bought_at(provider=provider)
            start = starting_point_of(config, bought, own)
        # words another run's batches hold are still the pilot's to buy: that run's entries go to
        # the store's entries, not the pilot's area, and words it lets go come back to the pilot
        start = replace(start, held=frozenset(), holders=())
        return estimate_config(config, bought=bought, start=start)

    def nothing_to_send(self) -> bool:
        """Whether every model's run already has every sample word finished or given up (a
        pilot run again): it sends nothing and costs nothing."""
        return not any(self.estimate(model).remaining for model in self.configs)


def _needs_key(model: str, missing: MissingKey) -> UsageError:
    """The pilot chose ``model``'s provider itself: ``provider`` is not the way out."""
    return UsageError(
        f"{model}: the {missing.provider} provider needs {missing.needs} in the environment: "
        f"set the key, or leave {model} out of {{models}}",
        settings="models",
    )


def prepare_pilot(
    words: Any,
    *,
    models: str | Iterable[str],
    sample: int = DEFAULT_SAMPLE,
    sample_file: str | Path | None = None,
    seed: int = 0,
    words_name: str | None = None,
    **settings: Any,
) -> PilotPlan:
    """Draw the sample and build each model's run settings; reads only, writes nothing."""
    options = pilot_options()
    for name, value in (("sample", sample), ("seed", seed)):
        options[name].metadata["kind"].check(name, value)
    for name in ("model", "provider", "checkpoint"):
        if settings.get(name) is not None:
            raise UsageError(f"the pilot sets {name} itself: give models=... instead")
    chosen = parse_models(models)
    full = words if isinstance(words, WordList) else read_words(words, name=words_name)
    list_bands: dict[int, int] = {}
    sample_name = ""
    if sample_file is not None:
        drawn = list(read_words(sample_file))
        sample_name = Path(sample_file).name
    else:
        drawn, list_bands = _draw(list(full), sample, seed)
    if not drawn:
        raise UsageError("the pilot's sample is empty")
    ident = pilot_id(drawn)
    store_setting = settings.get("store")
    folder = pilot_folder(store_setting)
    path = folder / f"{ident}.json"
    if path.exists():
        record = Pilot.load(path, store_setting)
        record.list_bands = record.list_bands or list_bands  # (kept by records from now on)
        record.sample_name = record.sample_name or sample_name
    else:
        record = Pilot(
            id=ident,
            path=path,
            store=store_setting,
            list_name=str(getattr(full, "source", "") or words_name or "words"),
            list_words=len(full),
            sample=drawn,
            bands={w: frequency_band(w) for w in drawn},
            list_bands=list_bands,
            created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            sample_name=sample_name,
        )
    configs = {
        model: RunConfig.build(
            drawn,
            words_name=f"pilot-{ident}",
            **{
                **settings,
                "model": model if registry.paid(provider_of(model)) else None,
                "provider": provider_of(model),
                "checkpoint": str(folder / ident / f"{_safe(model)}.checkpoint.json"),
            },
        )
        for model in chosen
    }
    return PilotPlan(record, configs, full)


def pilot(
    words: Any,
    *,
    models: str | Iterable[str],
    sample: int = DEFAULT_SAMPLE,
    sample_file: str | Path | None = None,
    seed: int = 0,
    words_name: str | None = None,
    on_model_done: Any = None,
    stop: threading.Event | None = None,
    **settings: Any,
) -> Pilot:
    """Run the pilot (see the module docstring) and return its record. ``settings`` are run
    settings shared by every model's run (``store``, ``max_cost``, ``batch_size``, ...; not
    ``model``, ``provider`` or ``checkpoint``, which the pilot sets). ``on_model_done(report)``
    is called as each model's run ends; setting ``stop`` stops every run after its step in hand
    (what ran is kept, and running the same pilot again resumes it)."""
    plan = prepare_pilot(
        words,
        models=models,
        sample=sample,
        sample_file=sample_file,
        seed=seed,
        words_name=words_name,
        **settings,
    )
    return run_pilot(plan, on_model_done=on_model_done, stop=stop)


def run_pilot(
    plan: PilotPlan,
    *,
    on_model_done: Any = None,
    stop: threading.Event | None = None,
    on_progress: Any = None,
) -> Pilot:
    """Run every model of ``plan`` at once; the record is saved as each ends. ``on_progress(model,
    progress)`` hears each model's :class:`~synthlib.engine.progress.Progress` as its run goes (on
    the
    runs' threads); a model whose run fails ends with phase "failed" and its error."""
    record = plan.record
    with _opened(record.store) as store:
        _run_all(
            plan.configs, store, record.id, stop, record, plan.full, on_model_done, on_progress
        )
    record.save()
    return record


def _run_all(
    configs: Mapping[str, RunConfig],
    store: Store,
    ident: str,
    stop: threading.Event | None,
    record: Pilot,
    full: WordList,
    on_model_done: Any,
    on_progress: Any = None,
) -> None:
    from .job import Job

    def listener(model: str) -> Any:
        if on_progress is None:
            return None
        return lambda progress, message: on_progress(model, progress)

    jobs: dict[str, Job] = {}
    started: dict[str, float] = {}
    reports = dict(record.reports)
    record.reports.clear()  # the asked order first, whatever order the runs end in
    for model, config in configs.items():
        provider = provider_of(model)
        recorded = provider_model(provider, config.model)
        own = PilotStore(store, ident, recorded, billed_path(config.checkpoint_file))
        try:
            jobs[model] = Job(config, store=own, listener=listener(model))
        except MissingKey as exc:  # nothing started yet
            raise _needs_key(model, exc) from None
        earlier: ModelReport | None = reports.pop(model, None)
        record.reports[model] = earlier or ModelReport(
            model, provider, recorded, words=len(config.words)
        )
    record.reports.update(reports)
    for model, job in jobs.items():
        started[model] = time.monotonic()
        try:
            job.start()
        except MissingKey as exc:
            for other in started:  # the models already started end with this one
                if other != model:
                    jobs[other].stop()
                    jobs[other].wait()
            raise _needs_key(model, exc) from None
    errors: list[str] = []
    pending = dict(jobs)
    try:
        while pending:
            if stop is not None and stop.is_set():
                for job in pending.values():
                    job.stop()
            for model, job in list(pending.items()):
                try:
                    result = job.wait(timeout=0.1)
                except Exception as exc:  # one model's failure does not lose the others'
                    errors.append(f"{model}: {exc}")
                    del pending[model]
                    failed = record.reports[model]
                    failed.phase, failed.error = Phase.FAILED, str(exc) or type(exc).__name__
                    record.save()
                    if on_model_done is not None:
                        on_model_done(failed)
                    continue
                if result is None:
                    continue
                del pending[model]
                previous = record.reports.get(model)
                seconds = time.monotonic() - started[model]
                if previous is not None and previous.phase == Phase.FINISHED:
                    seconds += previous.wall_seconds  # a resumed pilot adds its earlier time
                report = _report(model, configs[model], result, store, record, full, seconds)
                record.reports[model] = report
                record.save()
                if on_model_done is not None:
                    on_model_done(report)
    except KeyboardInterrupt:
        for job in pending.values():
            job.stop()
        for job in pending.values():
            job.wait()
        raise
    if errors:
        raise UsageError("; ".join(errors))


def _report(
    model: str,
    config: RunConfig,
    result: RunResult,
    store: Store,
    record: Pilot,
    full: WordList,
    seconds: float,
) -> ModelReport:
    ident = record.id
    recorded = provider_model(result.provider, config.model)
    entries = list(store.iter_pilot_entries(ident, recorded))
    failures = Counter(f.code for _, f in store.iter_pilot_failures(ident, recorded) if f.given_up)
    report = ModelReport(
        model=model,
        provider=result.provider,
        recorded_model=recorded,
        words=len(config.words),
        entries=len(entries),
        failures=dict(failures),
        input_tokens=sum(r.input_tokens or 0 for r in entries),
        output_tokens=sum(r.output_tokens or 0 for r in entries),
        cost_usd=result.progress.cost_usd,
        wall_seconds=round(seconds, 3),
        phase=result.phase,
        projected_words=len(full),
    )
    report.input_tokens = max(report.input_tokens, result.progress.input_tokens)
    report.output_tokens = max(report.output_tokens, result.progress.output_tokens)
    quality = entry_quality(r.entry for r in entries)
    report.senses_per_entry, report.examples_per_sense, report.examples_showing_word = quality
    from .findings import findings_per_100

    report.findings_per_100 = findings_per_100(r.entry for r in entries)
    if not registry.paid(result.provider):
        report.projected_cost_usd = report.projected_low_usd = report.projected_high_usd = 0.0
    elif report.words and report.input_tokens + report.output_tokens:
        projection = _projection(config, result, full, report, record)
        report.projected_cost_usd = projection.cost
        report.projected_low_usd, report.projected_high_usd = projection.low, projection.high
    return report


def _projection(
    config: RunConfig, result: RunResult, full: WordList, report: ModelReport, record: Pilot
) -> Projection:
    """The whole list's projection from this model's pilot (see :func:`project`)."""
    from ..core.cost import estimate

    reference = None
    if config.grounding:
        from ..lexicon.grounding import references

        reference = references()

    def exact_input(words: WordList) -> int:
        return estimate(
            words,
            config.price,
            provider=result.provider,
            tokens=registry.token_scale(result.provider),
            limits=registry.batch_limits(result.provider),
            batch_size=config.batch_size,
            words_per_request=config.words_per_request,
            token_budget=config.token_budget,
            reference=reference,
        ).input_tokens

    billed = read_billed(billed_path(config.checkpoint_file))
    per_word = [billed.get(word, (0, 0, 0)) for word in config.words]
    cached = min(report.input_tokens, sum(t[1] for t in per_word))  # the totals keep none
    return project(
        config.price,
        (report.input_tokens, cached, report.output_tokens),
        words=report.words,
        sample_input=exact_input(config.words),
        list_input=exact_input(full),
        list_words=len(full),
        per_word=per_word,
        bands=[record.bands.get(word, 0) for word in config.words],
        list_bands=record.list_bands,
    )


def entry_quality(entries: Iterable[Mapping[str, Any]]) -> tuple[float, float, float]:
    """(senses per entry, examples per sense, share of examples that show the word or one of its
    forms, by lemminflect's inflections of the word and its lemma)."""
    from ..lexicon.glosses import shows

    n_entries = n_senses = n_examples = showing = 0
    for entry in entries:
        n_entries += 1
        forms = _forms(str(entry.get("word") or "")) | _forms(str(entry.get("lemma") or ""))
        for group in entry.get("parts_of_speech") or []:
            for sense in group.get("senses") or []:
                n_senses += 1
                for example in sense.get("examples") or []:
                    n_examples += 1
                    showing += shows(example, frozenset(forms))
    return (
        n_senses / n_entries if n_entries else 0.0,
        n_examples / n_senses if n_senses else 0.0,
        showing / n_examples if n_examples else 0.0,
    )


def _forms(word: str) -> set[str]:
    import lemminflect

    word = word.strip().lower()
    if not word:
        return set()
    found = {word}
    last = word.split()[-1]
    for spellings in lemminflect.getAllInflections(last).values():
        found.update(f"{word[: len(word) - len(last)]}{s}" for s in spellings)
    return found


def _safe(model: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in model)


class _opened:
    """A store for the pilot's reads and writes: opened from a location, or the one given."""

    def __init__(self, location: Any) -> None:
        self.location = location
        self.store: Any = None
        self.owned = False

    def __enter__(self) -> Any:
        if hasattr(self.location, "iter_pilot_entries"):
            self.store = self.location
        else:
            self.store, self.owned = open_store(self.location), True
        return self.store

    def __exit__(self, *exc: object) -> None:
        if self.owned and hasattr(self.store, "close"):
            self.store.close()


__all__ = [
    "DEFAULT_SAMPLE",
    "NOTHING_TO_SEND",
    "ModelReport",
    "Pilot",
    "PilotPlan",
    "PilotStore",
    "Projection",
    "billed_path",
    "draw_sample",
    "entry_quality",
    "latest_pilot",
    "parse_models",
    "pilot",
    "prepare_pilot",
    "project",
    "read_billed",
    "run_pilot",
]
