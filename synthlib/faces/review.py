"""Review of a store's entries for notebooks: one run (the latest, by default) or the whole store.

:class:`Review` holds the raw DataFrames (``entries``, ``senses``, ``examples``, ``failures``,
``runs``) for programmatic use, re-filters them in place (:meth:`Review.filter`), renders one word
as a dictionary page (:meth:`Review.card`), clean tables (:func:`table`) and charts that leave out
what is empty (:meth:`Review.plot`). ``notebooks/review.ipynb`` only builds a review from its
parameters and calls :meth:`Review.show`: widgets in JupyterLab, static output headless.
"""

from __future__ import annotations

import html
import io
import math
import re
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..core.errors import SynthlibError, UsageError
from ..core.extras import require
from ..jobs.frames import StoreLike, load_entries, load_failures, load_senses
from ..store import EntryRecord, using_store
from ..store.records import GIVEN_UP_WORDS
from .notebook import interactive_session

if TYPE_CHECKING:
    from pandas.io.formats.style_render import CSSDict

require("notebook", "the review")  # one line naming the extra if it is missing

CEFR_ORDER = ["A1", "A2", "B1", "B2", "C1", "C2"]
FILTERS = ("part_of_speech", "cefr_level", "register", "provider", "search")
RUN_COLUMNS = [
    "run_id",
    "provider",
    "model",
    "phase",
    "words",
    "processed",
    "given_up",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "batches",
    "failure_reasons",
    "start_time",
    "recorded_at",
]
# Long prose wraps in tables; every other column stays on one line (ids, models, dates).
PROSE_COLUMNS = frozenset(
    {
        "definition",
        "example",
        "examples",
        "usage_notes",
        "etymology",
        "reason",
        "word_forms",
        "synonyms",
        "antonyms",
        "failure_reasons",
        "detail",
    }
)
# how a list column's items are joined in a table: sentences hold commas, syllables read as one
JOINTS = {"examples": " / ", "syllables": "·"}
# The Entries table: what fits a window beside the word (its forms, etymology, provenance and
# cost are on the entry card and in review.entries); (column of review.entries, header)
ENTRY_TABLE = (
    ("word", "word"),
    ("parts_of_speech", "POS"),
    ("ipa", "IPA"),
    ("syllables", "syllables"),
    ("cefr_level", "CEFR"),
    ("sense_count", "senses"),
    ("made_by", "provider/model"),
)
# the findings filters and the column each reads
FINDING_FILTERS = {"field": "field", "severity": "severity", "model": "model"}
FINDING_SHOWN = ["word", "field", "severity", "reason", "value", "expected", "model", "path"]
TABLE_ROWS = 50
MAX_BAR_LABELS = 15  # category labels under a bar chart, at most


class Review:
    """A store's entries, senses, examples and failures, in one scope and through filters.

    ``run`` is the scope: ``"latest"`` (the newest run summary in the store; the whole store when
    none is recorded), ``"all"`` (the whole store) or a run id. The filters keep the words that
    have a sense of that part of speech or register, that overall CEFR level, that provider, or a
    word containing ``search``. The frames hold raw values; :func:`table` makes them readable.
    """

    def __init__(
        self,
        store: StoreLike = None,
        *,
        run: str = "latest",
        part_of_speech: str | None = None,
        cefr_level: str | None = None,
        register: str | None = None,
        provider: str | None = None,
        search: str | None = None,
    ) -> None:
        self._store = store
        self._scopes: dict[str | None, _Scope] = {}
        self._cards: dict[str, EntryRecord] = {}
        self._findings: dict[str | None, pd.DataFrame] = {}
        self._audits: dict[str | None, pd.DataFrame] = {}
        self.finding_filters: dict[str, str | None] = dict.fromkeys(FINDING_FILTERS)
        self.filters: dict[str, str | None] = dict.fromkeys(FILTERS)
        self.run = "latest"
        self.run_id: str | None = None
        self.reload(
            run=run,
            part_of_speech=part_of_speech,
            cefr_level=cefr_level,
            register=register,
            provider=provider,
            search=search,
        )

    # --- scope and filters -----------------------------------------------------------------

    def reload(self, **changes: str | None) -> Review:
        """Read the store again (new runs, new entries: "latest" may now be a newer run) and apply
        :meth:`filter`'s ``changes``."""
        with using_store(self._store) as opened:
            self.location = opened.location
            self.runs = _runs_frame(opened.iter_runs())
        self._scopes.clear()
        self._cards.clear()
        self._findings.clear()
        self._audits.clear()
        return self.filter(**{"run": self.run, **changes})

    def filter(self, **changes: str | None) -> Review:
        """Change the scope (``run``) or filters (``part_of_speech``, ``cefr_level``,
        ``register``, ``provider``, ``search``; None or "" clears one) and re-filter in place."""
        unknown = set(changes) - {"run", *FILTERS}
        if unknown:
            raise UsageError(
                f"unknown review filter {sorted(unknown)[0]!r}: use run or {', '.join(FILTERS)}"
            )
        if "run" in changes:
            self.run, self.run_id = self._resolve(changes.pop("run"))
        for name, value in changes.items():
            self.filters[name] = (str(value).strip() or None) if value is not None else None
        scope = self._scope(self.run_id)
        self.entries, self.senses, self.failures = _filtered(scope, **self.filters)
        self.findings = self._findings_in_view()
        self.examples = (
            self.senses[["word", "part_of_speech", "sense", "examples"]]
            .explode("examples")
            .dropna(subset=["examples"])
            .rename(columns={"examples": "example"})
            .reset_index(drop=True)
        )
        return self

    def _resolve(self, run: str | None) -> tuple[str, str | None]:
        choice = str(run or "latest").strip() or "latest"
        known = self.runs["run_id"].tolist()
        if choice == "all":
            return choice, None
        if choice == "latest":
            return choice, (known[-1] if known else None)
        if choice not in known and not self._scope(choice).holds_anything:
            listed = ", ".join(reversed(known[-5:])) or "none recorded"
            raise UsageError(
                f"no run {choice!r} in {self.location}: use 'latest', 'all' or a "
                f"run id (newest: {listed})"
            )
        return choice, choice

    def _scope(self, run_id: str | None) -> _Scope:
        if run_id not in self._scopes:
            with using_store(self._store) as opened:
                self._scopes[run_id] = _Scope(
                    entries=load_entries(opened, run_id=run_id),
                    senses=load_senses(opened, run_id=run_id),
                    failures=load_failures(opened, run_id=run_id),
                )
        return self._scopes[run_id]

    @property
    def run_summary(self) -> dict[str, Any] | None:
        """The recorded summary of the run in scope (None for the whole store)."""
        if self.run_id is None:
            return None
        rows = self.runs[self.runs["run_id"] == self.run_id]
        return _plain(rows.iloc[-1].to_dict()) if len(rows) else None

    def choices(self) -> dict[str, list[str]]:
        """The values each filter can take in this scope (what the widgets offer)."""
        scope = self._scope(self.run_id)
        levels = set(scope.entries["cefr_level"].dropna())
        return {
            "part_of_speech": sorted(scope.senses["part_of_speech"].dropna().unique()),
            "cefr_level": [c for c in CEFR_ORDER if c in levels],
            "register": sorted(scope.senses["register"].dropna().unique()),
            "provider": sorted(scope.entries["provider"].dropna().unique()),
        }

    def scope_line(self) -> str:
        """One sentence: which run (or the whole store) and how many entries the filters keep."""
        total = len(self._scope(self.run_id).entries)
        if self.run_id is None:
            where = f"Whole store {self.location}"
            if self.run == "latest":
                where += " (no run recorded)"
        else:
            s = self.run_summary or {}
            made = made_by(s.get("provider"), s.get("model"))
            when = _when(s.get("recorded_at"))
            latest = " (latest)" if self.run == "latest" else ""
            where = f"Run {self.run_id}{latest}" + (f" · {made}" if made else "")
            where += f" · {when}" if when else ""
        active = [f"{k.replace('_', ' ')} {v!r}" for k, v in self.filters.items() if v]
        kept = (
            f"{len(self.entries):,} of {_count(total, 'entry')}"
            if active
            else _count(total, "entry")
        )
        failed = f", {_count(len(self.failures), 'failure')}" if len(self.failures) else ""
        where_filters = f" (filters: {', '.join(active)})" if active else ""
        return f"{where}: {kept}{failed}{where_filters}."

    def __repr__(self) -> str:
        return f"<Review {self.scope_line()}>"

    # --- summaries ---------------------------------------------------------------------------

    def summary(self) -> pd.DataFrame:
        """Counts, tokens and cost of the entries in view, as an (item, value) frame. Returned, not
        displayed: a notebook shows it once as the cell's value."""
        e = self.entries
        rows = {
            "store": self.location,
            "scope": self.run_id or "whole store",
            "entries": len(e),
            "senses": len(self.senses),
            "examples": len(self.examples),
            "failures": len(self.failures),
            "providers": ", ".join(sorted(e["provider"].dropna().unique())),
            "models": ", ".join(sorted(e["model"].dropna().unique())),
            "input tokens": int(e["input_tokens"].sum()),
            "output tokens": int(e["output_tokens"].sum()),
            "cost (USD)": round(float(e["cost_usd"].sum()), 6),
        }
        for _, row in self.findings_per_model().iterrows():  # the audit, where one was run
            rows[f"findings per 100 entries ({row['model']})"] = row["findings_per_100"]
        return pd.DataFrame(rows.items(), columns=["item", "value"]).set_index("item")

    def per_batch(self) -> pd.DataFrame:
        """Tokens and cost per batch, in the order the batches' entries were made."""
        e = self.entries
        if not len(e):
            return pd.DataFrame(columns=["batch_id", "words", "tokens", "cost_usd"])
        grouped = e.assign(tokens=e["input_tokens"] + e["output_tokens"]).groupby(
            "batch_id", dropna=False
        )
        frame = grouped.agg(
            words=("word", "count"),
            tokens=("tokens", "sum"),
            cost_usd=("cost_usd", "sum"),
            first=("created_at", "min"),
        )
        return frame.sort_values("first").drop(columns="first").reset_index()

    # --- findings of the audit ----------------------------------------------------------------

    def filter_findings(self, **changes: str | None) -> Review:
        """Keep the findings of this ``field``, ``severity`` or ``model`` (None or "" clears
        one); the entries' filters apply too (findings of the words in view)."""
        unknown = set(changes) - set(FINDING_FILTERS)
        if unknown:
            raise UsageError(
                f"unknown findings filter {sorted(unknown)[0]!r}: use {', '.join(FINDING_FILTERS)}"
            )
        for name, value in changes.items():
            self.finding_filters[name] = (str(value).strip() or None) if value is not None else None
        self.findings = self._findings_in_view()
        return self

    def _all_findings(self) -> pd.DataFrame:
        """The stored findings of the scope's entries as they are now (read once per scope)."""
        if self.run_id not in self._findings:
            from ..jobs.findings import load_findings

            with using_store(self._store) as opened:
                self._findings[self.run_id] = load_findings(opened, run=self.run_id)
        return self._findings[self.run_id]

    def _findings_in_view(self) -> pd.DataFrame:
        found = self._all_findings()
        found = found[found["word"].isin(set(self.entries["word"]))]
        for name, column in FINDING_FILTERS.items():
            if self.finding_filters.get(name):
                found = found[found[column] == self.finding_filters[name]]
        return found.reset_index(drop=True)

    def finding_choices(self) -> dict[str, list[str]]:
        """The values each findings filter can take in this scope."""
        found = self._all_findings()
        return {
            "field": sorted(found["field"].dropna().unique()),
            "severity": [s for s in ("error", "warning", "info") if s in set(found["severity"])],
            "model": sorted(found["model"].dropna().unique()),
        }

    def findings_per_model(self) -> pd.DataFrame:
        """Per model in view: entries audited, and errors, warnings and both per 100 of them
        (notes left out), from the stored audits (``batch-synthesis audit`` makes them)."""
        if self.run_id not in self._audits:
            from ..jobs.findings import load_audits

            with using_store(self._store) as opened:
                self._audits[self.run_id] = load_audits(opened, run=self.run_id)
        audits = self._audits[self.run_id]
        audits = audits[audits["word"].isin(set(self.entries["word"]))]
        rows = []
        for model, mine in audits.groupby("model"):
            n = len(mine)
            errors = int(mine["errors"].sum())
            warnings = int(mine["warnings"].sum())
            rows.append(
                {
                    "model": model,
                    "entries": n,
                    "errors_per_100": round(100 * errors / n, 1),
                    "warnings_per_100": round(100 * warnings / n, 1),
                    "findings_per_100": round(100 * (errors + warnings) / n, 1),
                }
            )
        return pd.DataFrame(
            rows,
            columns=[
                "model",
                "entries",
                "errors_per_100",
                "warnings_per_100",
                "findings_per_100",
            ],
        )

    # --- the entry card ------------------------------------------------------------------------

    def card(self, word: str | None = None) -> Card:
        """One word's entry as a dictionary page (the first word in view when ``word`` is None).
        Any word of the store will do, in this scope or not."""
        if word is None:
            if not len(self.entries):
                raise UsageError(f"no entry to show: {self.scope_line()}")
            word = str(self.entries["word"].iloc[0])
        if word not in self._cards:
            with using_store(self._store) as opened:
                found = next(iter(opened.iter_entries(words=[word])), None)
            if found is None:
                raise UsageError(f"no entry for {word!r} in {self.location}")
            self._cards[word] = found
        from ..store import entry_key

        everything = self._all_findings()
        # the findings of this card's entry only, not of another model's entry of the word
        mine = everything[
            (everything["word"] == word) & (everything["entry_key"] == entry_key(self._cards[word]))
        ]
        return Card(self._cards[word], _rows(mine), self._before(word))

    def _before(self, word: str) -> list[dict[str, Any]]:
        """The errors and warnings of the earlier versions (before a repair) of ``word``'s
        entry by the card's provider and model, as the audit kept them, oldest first; [] when
        the store was never audited. Another model's entry of the word is no earlier version."""
        if self._all_findings().empty:
            return []
        from ..jobs.findings import load_findings
        from ..store import entry_key

        shown = self._cards[word]
        current = entry_key(shown)
        with using_store(self._store) as opened:
            history = load_findings(opened, words=[word], current=False)
        history = history[
            (history["entry_key"] != current)
            & (history["provider"] == shown.provider)
            & (history["model"] == shown.model)
            & history["severity"].isin(["error", "warning"])
        ]
        return _rows(history.sort_values("audited_at", kind="stable"))

    # --- charts -----------------------------------------------------------------------------

    def plot(self) -> Any:
        """A matplotlib Figure with a panel for each chart that has data (None if none has):
        senses per word, words per part of speech, CEFR levels, frequency bands, and tokens (and
        cumulative cost, when anything was paid) per batch. Counts have integer axes."""
        panels = [p for p in _panels(self) if p is not None]
        if not panels:
            return None
        from matplotlib.figure import Figure  # no pyplot: the figure is shown only when asked

        cols = 2 if len(panels) > 1 else 1
        rows = math.ceil(len(panels) / cols)
        fig = Figure(figsize=(5.5 * cols, 3.4 * rows), layout="constrained")
        for i, draw in enumerate(panels):
            draw(fig.add_subplot(rows, cols, i + 1))
        return fig

    # --- display ----------------------------------------------------------------------------

    def show(self, *, word: str | None = None, rows: int = TABLE_ROWS) -> None:
        """Widgets in JupyterLab (filters re-filter one output area in place, an entry card with a
        word picker); static tables, charts and a card from the parameters anywhere else."""
        if interactive_session():
            from IPython.display import display

            self.widgets = ReviewWidgets(self, word=word, rows=rows)
            display(self.widgets.box)
        else:
            self.show_static(word=word, rows=rows)

    def show_static(self, *, word: str | None = None, rows: int = TABLE_ROWS) -> None:
        """Everything :meth:`show` shows, as plain display outputs (papermill, nbmake)."""
        from IPython.display import display

        for bundle in self.sections(word=word, rows=rows):
            display(bundle, raw=True)

    def sections(
        self, *, word: str | None = None, rows: int = TABLE_ROWS
    ) -> Iterable[dict[str, Any]]:
        """The static review as display bundles, in order (what :meth:`show_static` shows)."""
        yield _text(self.scope_line())
        if not self._scope(self.run_id).holds_anything:
            empty = "Nothing to review in this run: run='all' shows the whole store."
            yield _text("The store holds no entries yet." if self.run_id is None else empty)
            return
        yield _table_bundle(self.summary().rename_axis(None), index=True)
        for title, frame in self.frames().items():
            if title == "Failures" and not len(frame):
                continue
            if title == "Findings" and not len(self._all_findings()):
                continue  # never audited: `batch-synthesis audit` fills it
            yield _heading(title)
            if not len(frame):
                yield _text("None with these filters.")
                continue
            yield _table_bundle(frame.head(rows))
            if len(frame) > rows:
                yield _text(
                    f"First {rows:,} of {len(frame):,} rows: review.{title.lower()} has them all."
                )
        figure = self.plot()
        if figure is not None:
            yield _heading("Charts")
            yield _png(figure)
        if len(self.entries) or word:
            yield _heading("Entry card")
            yield _card_bundle(self.card(word))

    def frames(self) -> dict[str, pd.DataFrame]:
        """The frames a review shows, by title (runs newest first)."""
        return {
            "Entries": entry_table(self.entries),
            "Senses": self.senses,
            "Examples": self.examples,
            "Failures": failure_table(self.failures),
            "Runs": run_table(self.runs.iloc[::-1]),
            "Findings": self.findings[FINDING_SHOWN],
        }

    @staticmethod
    def table(frame: pd.DataFrame, *, index: bool = False) -> Any:
        """:func:`table`: ``frame`` as a readable pandas Styler."""
        return table(frame, index=index)


def made_by(provider: Any, model: Any) -> str:
    """``provider/model`` as a table shows it (the offline provider's model names its sources:
    "offline" says enough there; the card has them)."""
    if blank(provider):
        return "" if blank(model) else str(model)
    if provider == "offline" or blank(model):
        return str(provider)
    return f"{provider}/{model}"


def entry_table(entries: pd.DataFrame) -> pd.DataFrame:
    """The Entries tab's columns of ``entries`` (see :data:`ENTRY_TABLE`)."""
    frame = entries.assign(
        made_by=[made_by(p, m) for p, m in zip(entries["provider"], entries["model"], strict=True)]
    )
    return frame[[c for c, _ in ENTRY_TABLE]].rename(columns=dict(ENTRY_TABLE))


def failure_table(failures: pd.DataFrame) -> pd.DataFrame:
    """The Failures tab: each word, why (the code), the detail, "did you mean" and attempts
    (batch and run ids, times and the raw reason stay in ``review.failures``)."""
    details = [
        _detail_of(str(reason), str(code))
        for reason, code in zip(failures["reason"], failures["code"], strict=True)
    ]
    return pd.DataFrame(
        {
            "word": failures["word"],
            "why": failures["code"],
            "detail": details,
            "did you mean": failures["suggestions"],
            "attempts": failures["attempts"],
        },
        index=failures.index,
    )


def run_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The Runs tab: each run's id, provider/model, how it ended, its counts, failures by reason,
    cost and when it was recorded (tokens, batches and start times stay in ``review.runs``)."""
    made = [made_by(p, m) for p, m in zip(runs["provider"], runs["model"], strict=True)]
    return pd.DataFrame(
        {
            "run": runs["run_id"],
            "provider/model": made,
            "ended": runs["phase"],
            "words": runs["words"],
            "entries": runs["processed"],
            "given up": runs["given_up"],
            "failures": runs["failure_reasons"],
            "cost_usd": runs["cost_usd"],
            "recorded": runs["recorded_at"],
        },
        index=runs.index,
    )


def _detail_of(reason: str, code: str) -> str:
    detail = reason.removeprefix(code).removeprefix(":").strip()
    return _SUGGESTED.sub("", detail).strip()


_SUGGESTED = re.compile(r"\s*\(did you mean: [^)]*\)")


class _Scope:
    """The frames of one run (or the whole store) before filters."""

    def __init__(self, entries: pd.DataFrame, senses: pd.DataFrame, failures: pd.DataFrame):
        self.entries, self.senses, self.failures = entries, senses, failures

    @property
    def holds_anything(self) -> bool:
        return bool(len(self.entries) or len(self.failures))


def _filtered(
    scope: _Scope,
    *,
    part_of_speech: str | None,
    cefr_level: str | None,
    register: str | None,
    provider: str | None,
    search: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    entries, senses, failures = scope.entries, scope.senses, scope.failures
    if provider:
        entries = entries[entries["provider"] == provider]
    if cefr_level:
        entries = entries[entries["cefr_level"] == cefr_level]
    if search:
        entries = entries[entries["word"].str.contains(search, case=False, regex=False)]
        failures = failures[failures["word"].str.contains(search, case=False, regex=False)]
    if part_of_speech:
        senses = senses[senses["part_of_speech"] == part_of_speech]
    if register:
        senses = senses[senses["register"] == register]
    if part_of_speech or register:
        entries = entries[entries["word"].isin(senses["word"])]
    senses = senses[senses["word"].isin(entries["word"])]
    return (
        entries.reset_index(drop=True),
        senses.reset_index(drop=True),
        failures.reset_index(drop=True),
    )


def _runs_frame(runs: Iterable[dict[str, Any]]) -> pd.DataFrame:
    # a run's given-up words are its Failures, not a cell of the Runs table
    rows = [{k: v for k, v in run.items() if k != GIVEN_UP_WORDS} for run in runs]
    extra = [k for row in rows for k in row if k not in RUN_COLUMNS]
    return pd.DataFrame(rows, columns=RUN_COLUMNS + list(dict.fromkeys(extra)))


# --- clean tables ------------------------------------------------------------------------------


def blank(value: Any) -> bool:
    """None, NaN, NA, an empty string, list or dict: a cell to leave empty."""
    if value is None or (isinstance(value, str | list | tuple | dict | set) and not value):
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


_ISO_TIME = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d(?:\.\d+)?)?(Z|[+-]\d\d:\d\d)?$")


def cell(value: Any, *, whole: bool = False, money: bool = False, joint: str = ", ") -> str:
    """One value as table text: blank for None/NaN, lists joined with ``joint``, dicts as
    "plural: apples; ...", integral numbers (and any ``whole`` one) without ".0", ``money`` to
    six decimals at most, ISO times to the minute."""
    if blank(value):
        return ""
    if isinstance(value, dict):
        return "; ".join(
            f"{str(k).replace('_', ' ')}: {cell(v)}" for k, v in value.items() if not blank(v)
        )
    if isinstance(value, list | tuple | set):
        return joint.join(cell(v) for v in value if not blank(v))
    if isinstance(value, pd.Timestamp):
        zone = " UTC" if value.tzinfo is not None and value.utcoffset() == pd.Timedelta(0) else ""
        return value.strftime("%Y-%m-%d %H:%M") + zone
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if money:
            return f"{value:.6f}".rstrip("0").rstrip(".")
        if whole or value.is_integer():
            return f"{round(value):,}"
        return f"{value:,.4g}"
    text = str(value)
    match = _ISO_TIME.match(text)
    if match:
        zone = match.group(4)
        utc = " UTC" if zone in ("Z", "+00:00") else (f" {zone}" if zone else "")
        return f"{match.group(1)} {match.group(2)}{utc}"
    return text


def clean(frame: pd.DataFrame, *, hide_empty: bool = True) -> pd.DataFrame:
    """``frame`` with every cell as display text (see :func:`cell`); with ``hide_empty``, columns
    blank on every row are left out, and so are token and cost columns that are all zero (a free
    run). A new frame: ``frame`` is not changed."""
    columns = {}
    for name in frame.columns:
        series = frame[name]
        money = "cost" in str(name)
        numbers = series.dropna()
        whole = (
            pd.api.types.is_float_dtype(series)
            and not money
            and bool((numbers == numbers.round()).all())
        )
        joint = JOINTS.get(str(name), ", ")
        columns[name] = [cell(v, whole=whole, money=money, joint=joint) for v in series]
    out = pd.DataFrame(columns, index=frame.index, columns=frame.columns, dtype=object)
    if hide_empty and len(out):
        out = out.loc[:, [c for c in out.columns if not _empty_column(c, frame[c], out[c])]]
    return out


def _empty_column(name: Any, raw: pd.Series, shown: pd.Series) -> bool:
    if (shown == "").all():
        return True
    spend = any(word in str(name) for word in ("tokens", "cost"))
    return spend and pd.api.types.is_numeric_dtype(raw.dtype) and bool((raw.fillna(0) == 0).all())


def table(frame: pd.DataFrame, *, index: bool = False, hide_empty: bool = True) -> Any:
    """``frame`` as a pandas Styler fit to read: :func:`clean` cells (HTML-escaped), prose columns
    wrapping at a readable width, everything else (words, models, run ids, dates) on one line,
    numbers right-aligned and text left-aligned. ``frame`` itself keeps its raw values."""
    shown = clean(frame, hide_empty=hide_empty)
    numeric = [
        c
        for c in shown.columns
        if pd.api.types.is_numeric_dtype(frame[c].dtype)
        and not pd.api.types.is_bool_dtype(frame[c].dtype)
    ]
    prose = [c for c in shown.columns if c in PROSE_COLUMNS]
    styler = shown.style.format(escape="html")
    if not index:
        styler = styler.hide(axis="index")
    line = "white-space: nowrap; text-align: left; vertical-align: top;"
    styler = styler.set_table_styles([{"selector": tag, "props": line} for tag in ("th", "td")])
    # Per-column rules (``td.colN``) outrank the table-wide ones above.
    by_column: dict[str, list[CSSDict]] = {
        c: [{"selector": tag, "props": "text-align: right;"} for tag in ("th", "td")]
        for c in numeric
    }
    by_column |= {
        c: [{"selector": "td", "props": "white-space: normal; min-width: 14em; max-width: 32em;"}]
        for c in prose
    }
    if by_column:
        styler = styler.set_table_styles(by_column, overwrite=False)
    return styler


# --- the entry card ----------------------------------------------------------------------------

CARD_CSS = """
.synthlib-card .flag{text-decoration:underline wavy;text-underline-offset:3px}
.synthlib-card .flag.error{text-decoration-color:#d62728}
.synthlib-card .flag.warning{text-decoration-color:#ff9f1c}
.synthlib-card .flag.info{text-decoration-color:#999}
.synthlib-card .findings ul{margin:.2em 0 0 1.2em;padding:0}
.synthlib-card{max-width:46em;padding:.9em 1.2em;line-height:1.5;
  border:1px solid var(--jp-border-color2,#d0d0d0);border-radius:6px;
  font-family:var(--jp-content-font-family,system-ui,sans-serif);
  color:var(--jp-content-font-color1,#1a1a1a);background:var(--jp-layout-color0,#fff)}
.synthlib-card .head{display:flex;flex-wrap:wrap;align-items:baseline;gap:.35em .8em}
.synthlib-card .hw{font-size:1.9em;font-weight:700;font-family:Georgia,'Times New Roman',serif}
.synthlib-card .syl{color:var(--jp-content-font-color2,#555)}
.synthlib-card .ipa{font-family:'Charis SIL','Doulos SIL','DejaVu Sans',sans-serif}
.synthlib-card .resp{color:var(--jp-content-font-color2,#555)}
.synthlib-card .lbl{display:inline-block;font-size:.78em;padding:0 .45em;margin-right:.3em;
  border-radius:3px;border:1px solid var(--jp-border-color1,#bbb);
  color:var(--jp-content-font-color2,#444);vertical-align:.1em}
.synthlib-card .lbl.cefr{border-color:#4c72b0;color:#4c72b0;font-weight:600}
.synthlib-card .freq{color:#c08a00;letter-spacing:.05em}
.synthlib-card .pos{margin-top:.8em}
.synthlib-card .pos-name{font-style:italic;font-weight:700;font-size:1.1em;
  color:var(--jp-content-font-color1,#1a1a1a);border-bottom:1px solid var(--jp-border-color2,#ddd)}
.synthlib-card ol{margin:.3em 0 0 0;padding-left:1.6em}
.synthlib-card li{margin:.35em 0}
.synthlib-card .ex{font-style:italic;color:var(--jp-content-font-color2,#444);
  margin:.15em 0 0 .2em;padding-left:.6em;border-left:2px solid var(--jp-border-color2,#ddd)}
.synthlib-card .k{font-size:.8em;font-weight:700;text-transform:uppercase;letter-spacing:.04em;
  color:var(--jp-content-font-color2,#555);margin-right:.35em}
.synthlib-card .more{margin-top:.15em}
.synthlib-card .part{margin-top:.7em}
.synthlib-card .prov{margin-top:.9em;padding-top:.4em;font-size:.8em;
  border-top:1px solid var(--jp-border-color2,#ddd);color:var(--jp-content-font-color2,#666)}
"""


class Card:
    """One word's entry as a dictionary page: ``html`` (every stored text escaped), shown as
    HTML by Jupyter, as the word's name elsewhere."""

    def __init__(
        self,
        record: EntryRecord,
        findings: Iterable[dict[str, Any]] = (),
        before: Iterable[dict[str, Any]] = (),
    ) -> None:
        self.record = record
        self.word = record.word
        self.findings = list(findings)
        self.before = list(before)  # findings of the entry's earlier versions (before a repair)
        self.html = card_html(record, self.findings, self.before)

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<Card {self.word!r}>"


def _e(value: Any) -> str:
    return html.escape(cell(value))


def card_html(
    record: EntryRecord,
    findings: Iterable[dict[str, Any]] = (),
    before: Iterable[dict[str, Any]] = (),
) -> str:
    """``record`` as an HTML dictionary page: headword, pronunciation, syllables, CEFR level and
    frequency band; senses grouped by part of speech (labels, definition, examples, synonyms and
    antonyms, usage notes); word forms; etymology; and a provenance line. A field the audit has
    ``findings`` on is underlined in its severity's colour with the reason on hover, and the
    findings are listed below the entry; ``before``, the findings of its earlier versions (what
    a repair changed), after them."""
    mark = _Marks(findings)
    e = record.entry
    pron = e.get("pronunciation") or {}
    head = [f"<span class='hw'>{_e(e.get('word') or record.word)}</span>"]
    syllables = [s for s in pron.get("syllables") or [] if not blank(s)]
    if len(syllables) > 1:
        head.append(
            mark(
                f"<span class='syl' title='syllables'>{'·'.join(map(_e, syllables))}</span>",
                "pronunciation.syllables",
            )
        )
    if pron.get("ipa"):
        how = f"IPA, {pron['note']}" if pron.get("note") else "IPA"
        estimated = "<sup title='estimated'>*</sup>" if pron.get("note") else ""
        head.append(
            mark(
                f"<span class='ipa' title='{_e(how)}'>{_e(pron['ipa'])}{estimated}</span>",
                "pronunciation.ipa",
            )
        )
    if pron.get("respelling"):
        head.append(f"<span class='resp' title='respelling'>({_e(pron['respelling'])})</span>")
    if e.get("cefr_level"):
        head.append(
            mark(
                f"<span class='lbl cefr' title='CEFR level'>{_e(e['cefr_level'])}</span>",
                "cefr_level",
            )
        )
    band = e.get("frequency_band")
    if isinstance(band, int | float) and not blank(band):
        n = max(0, min(5, int(band)))
        head.append(
            mark(
                f"<span title='frequency band {n} of 5 (1 rare … 5 very common)'><span "
                f"class='k'>frequency</span><span class='freq'>{'●' * n}{'○' * (5 - n)}"
                "</span></span>",
                "frequency_band",
            )
        )
    parts = [f"<div class='head'>{' '.join(head)}</div>"]
    if not blank(e.get("lemma")):
        lemma = mark(_e(e["lemma"]), "lemma")
        parts.append(f"<div class='part'><span class='k'>Headword</span>{lemma}</div>")
    for g, group in enumerate(e.get("parts_of_speech") or []):
        listed = group.get("senses") or []
        where = f"parts_of_speech[{g}]"
        senses = "".join(
            _sense_html(sense, mark, f"{where}.senses[{i}]") for i, sense in enumerate(listed)
        )
        total = group.get("sense_count")
        more = (
            f" <span class='k' title='senses in all'>{len(listed)} of {int(total)} senses</span>"
            if isinstance(total, int) and total > len(listed)
            else ""
        )
        parts.append(
            f"<div class='pos'><div class='pos-name'>"
            f"{mark(_e(group.get('part_of_speech')), f'{where}.part_of_speech')}{more}"
            f"</div><ol>{senses}</ol></div>"
        )
    forms = {
        k: v
        for k, v in (e.get("word_forms") or {}).items()
        if not blank(v) or mark.has(f"word_forms.{k}")  # a missing form the audit expects
    }
    if forms:
        listed = "; ".join(
            f"{_e(k.replace('_', ' '))} "
            + mark(f"<b>{_e(v) if not blank(v) else '(missing)'}</b>", f"word_forms.{k}")
            for k, v in forms.items()
        )
        parts.append(f"<div class='part'><span class='k'>Forms</span>{listed}</div>")
    ety = e.get("etymology") or {}
    bits = [_e(ety["text"])] if ety.get("text") else []
    for key, label in (
        ("origin_language", "Origin"),
        ("roots", "Roots"),
        ("first_known_use", "First known use"),
    ):
        if not blank(ety.get(key)):
            bits.append(f"{label}: {_e(ety[key])}.")
    if bits:
        parts.append(f"<div class='part'><span class='k'>Etymology</span>{' '.join(bits)}</div>")
    parts.append(mark.listing())
    earlier = [
        f"<li><span class='flag {_e(f.get('severity'))}'>{_e(f.get('path'))}</span> "
        f"{_e(repr(f.get('value')) if f.get('value') else '(missing)')}: {_e(f.get('reason'))}"
        f" <span class='k'>{_e(cell(f.get('audited_at')))}</span></li>"
        for f in before
    ]
    if earlier:
        parts.append(
            "<div class='part findings'><span class='k'>Before repair</span>"
            f"<ul>{''.join(earlier)}</ul></div>"
        )
    parts.append(f"<div class='prov'>{_provenance(record)}</div>")
    return (
        f"<div class='synthlib-card' data-word='{_e(record.word)}'><style>{CARD_CSS}</style>"
        + "".join(parts)
        + "</div>"
    )


def _sense_html(sense: dict[str, Any], mark: _Marks | None = None, where: str = "") -> str:
    mark = mark if mark is not None else _Marks(())
    labels = []
    if sense.get("register") and sense["register"] != "neutral":
        labels.append(f"<span class='lbl' title='register'>{_e(sense['register'])}</span>")
    for key in ("domain", "region"):
        if not blank(sense.get(key)):
            labels.append(f"<span class='lbl' title='{key}'>{_e(sense[key])}</span>")
    if sense.get("cefr_level"):
        labels.append(f"<span class='lbl cefr' title='CEFR level'>{_e(sense['cefr_level'])}</span>")
    definition = mark(
        f"<span class='def'>{_e(sense.get('definition'))}</span>", f"{where}.definition"
    )
    out = [f"<li>{''.join(labels)}{definition}"]
    out += [
        f"<div class='ex'>{mark(_e(x), f'{where}.examples[{i}]')}</div>"
        for i, x in enumerate(sense.get("examples") or [])
        if not blank(x)
    ]
    nyms = [
        f"<span class='k'>{label}</span>{mark(_e(sense[key]), f'{where}.{key}')}"
        for key, label in (("synonyms", "Synonyms"), ("antonyms", "Antonyms"))
        if not blank(sense.get(key))
    ]
    if nyms:
        out.append(f"<div class='more'>{' &ensp; '.join(nyms)}</div>")
    if not blank(sense.get("usage_notes")):
        out.append(
            f"<div class='more'><span class='k'>Usage</span>{_e(sense['usage_notes'])}</div>"
        )
    return "".join(out) + "</li>"


class _Marks:
    """The audit's findings on one entry, by path: marks the fields they are on."""

    def __init__(self, findings: Iterable[dict[str, Any]]) -> None:
        self.findings = [f for f in findings if isinstance(f, dict)]

    def on(self, path: str) -> list[dict[str, Any]]:
        return [
            f
            for f in self.findings
            if (p := str(f.get("path", ""))) == path or p.startswith((f"{path}[", f"{path}."))
        ]

    def has(self, path: str) -> bool:
        return bool(self.on(path))

    def __call__(self, snippet: str, path: str) -> str:
        found = self.on(path)
        if not found:
            return snippet
        worst = min(found, key=lambda f: _SEVERITY_RANK.get(str(f.get("severity")), 3))
        reasons = "; ".join(f"{f.get('severity')}: {f.get('reason')}" for f in found)
        return (
            f"<span class='flag {_e(worst.get('severity'))}' title='{_e(reasons)}'>{snippet}</span>"
        )

    def listing(self) -> str:
        if not self.findings:
            return ""
        ordered = sorted(self.findings, key=lambda f: _SEVERITY_RANK.get(str(f.get("severity")), 3))
        items = "".join(
            f"<li><span class='flag {_e(f.get('severity'))}'>{_e(f.get('severity'))}</span> "
            f"<span class='k'>{_e(f.get('field'))}</span>{_e(f.get('reason'))}"
            + (
                f" <span class='k'>sources</span>{_e(f.get('expected'))}"
                if f.get("expected")
                else ""
            )
            + "</li>"
            for f in ordered
        )
        return f"<div class='part findings'><span class='k'>Audit</span><ul>{items}</ul></div>"


_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


def _provenance(r: EntryRecord) -> str:
    made = [r.provider, r.model, f"prompt v{r.prompt_version}", f"schema v{r.schema_version}"]
    if r.batch_id:
        made.append(f"batch {r.batch_id}")
    tokens = r.input_tokens + r.output_tokens
    if tokens:
        cached = f", {r.cached_tokens:,} cached" if r.cached_tokens else ""
        made.append(f"{tokens:,} tokens ({r.input_tokens:,} in{cached}, {r.output_tokens:,} out)")
    made.append(f"${cell(r.cost_usd, money=True)}" if r.cost_usd else "no cost")
    if r.provider == "offline":  # said once here, not on every sense (lexicon.frequency)
        made.append("CEFR level estimated from word frequency")
    if r.grounded:
        made.append("grounded in local lexical sources")
    if r.run_id:
        made.append(f"run {r.run_id}")
    if r.created_at:
        made.append(cell(r.created_at))
    return " · ".join(html.escape(str(m)) for m in made)


# --- charts ------------------------------------------------------------------------------------


def _panels(review: Review) -> list[Callable[[Any], None] | None]:
    e, s = review.entries, review.senses
    batches = review.per_batch()
    batches = batches[batches["batch_id"].notna() & (batches["tokens"] > 0)]  # paid batches
    return [
        _bars(
            e["sense_count"].value_counts(),
            "Senses per word",
            "senses",
            "#4c72b0",
            every=range(1, int(e["sense_count"].max()) + 1) if len(e) else None,
        ),
        _bars(
            s.drop_duplicates(["word", "part_of_speech"])["part_of_speech"].value_counts(),
            "Words per part of speech",
            "",
            "#dd8452",
            horizontal=True,
        ),
        _bars(e["cefr_level"].value_counts(), "CEFR level", "", "#4c72b0", every=CEFR_ORDER),
        _bars(
            e["frequency_band"].dropna().astype(int).value_counts(),
            "Frequency band (1 rare ... 5 very common)",
            "",
            "#55a868",
            every=range(1, 6),
        ),
        _tokens(batches) if len(batches) else None,
    ]


def _bars(
    counts: pd.Series,
    title: str,
    xlabel: str,
    color: str,
    *,
    every: Iterable[Any] | None = None,
    horizontal: bool = False,
) -> Callable[[Any], None] | None:
    if not len(counts) or counts.sum() == 0:
        return None
    counts = counts.reindex(list(every), fill_value=0) if every is not None else counts
    if horizontal:
        counts = counts.sort_values()

    def draw(ax: Any) -> None:
        from matplotlib.ticker import MaxNLocator

        labels = [str(k) for k in counts.index]
        if horizontal:
            ax.barh(labels, counts.values, color=color)
            ax.set(title=title, xlabel="words")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            ax.bar(labels, counts.values, color=color)
            ax.set(title=title, xlabel=xlabel, ylabel="words")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            if len(labels) > MAX_BAR_LABELS:  # a word of 57 senses: not 57 labels run together
                every = math.ceil(len(labels) / MAX_BAR_LABELS)
                ax.set_xticks(range(0, len(labels), every), labels[::every])

    return draw


def _tokens(batches: pd.DataFrame) -> Callable[[Any], None]:
    def draw(ax: Any) -> None:
        from matplotlib.ticker import MaxNLocator

        x = range(1, len(batches) + 1)
        ax.bar(x, batches["tokens"], color="#8172b2")
        ax.set(title="Tokens per batch over the run", xlabel="batch", ylabel="tokens")
        # min_n_ticks=1: with one batch a plain integer locator falls back to 0.6, 0.8, ...
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if batches["cost_usd"].sum() > 0:
            twin = ax.twinx()
            twin.plot(x, batches["cost_usd"].cumsum(), color="#c44e52", marker="o")
            twin.set_ylabel("cumulative cost (USD)")
            twin.set_ylim(bottom=0)

    return draw


# --- display bundles ---------------------------------------------------------------------------


def _table_bundle(frame: pd.DataFrame, *, index: bool = False) -> dict[str, str]:
    """:func:`table` as a display bundle: its HTML, and the clean cells as plain text (readable
    where no HTML is rendered, unlike a Styler's repr)."""
    text = clean(frame).to_string(index=index) if len(frame.columns) else ""
    return {"text/html": table(frame, index=index).to_html(), "text/plain": text}


def _card_bundle(card: Card) -> dict[str, str]:
    return {"text/html": card.html, "text/plain": f"Entry card: {card.word}"}


def _text(line: str) -> dict[str, str]:
    return {"text/plain": line}


def _heading(title: str) -> dict[str, str]:
    return {"text/html": f"<h3>{html.escape(title)}</h3>", "text/plain": f"\n{title}"}


def _png(figure: Any) -> dict[str, Any]:
    import base64

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return {
        "image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
        "text/plain": "<charts>",
    }


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n:,} {noun if n == 1 else plural}"


def _when(value: Any) -> str:
    return cell(value) if not blank(value) else ""


def _plain(row: Mapping[Hashable, Any]) -> dict[str, Any]:
    return {
        str(k): (None if blank(v) else (v.item() if hasattr(v, "item") else v))
        for k, v in row.items()
    }


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame``'s rows as dicts by column name (pandas types the names as any hashable)."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


# --- widgets -----------------------------------------------------------------------------------


class ReviewWidgets:
    """The JupyterLab review: run and filter pickers that re-filter one output area in place,
    tabs of tables and charts, and an entry card with a word picker. Every callback calls the
    :class:`Review` and only displays."""

    ANY = ("(any)", "")  # not None: a Dropdown shows a None value as no selection at all
    TABS = ("Entries", "Senses", "Examples", "Failures", "Runs", "Findings", "Charts")

    def __init__(self, review: Review, *, word: str | None = None, rows: int = TABLE_ROWS) -> None:
        import ipywidgets as w

        self.review = review
        self.rows = rows
        self._quiet = False
        wide = w.Layout(width="250px")
        self.run = w.Dropdown(description="Run", layout=w.Layout(width="640px"))
        self.pickers = {
            "part_of_speech": w.Dropdown(description="Part of speech", layout=wide),
            "cefr_level": w.Dropdown(description="CEFR", layout=wide),
            "register": w.Dropdown(description="Register", layout=wide),
            "provider": w.Dropdown(description="Provider", layout=wide),
        }
        self.search = w.Text(
            value=review.filters["search"] or "",
            description="Word",
            placeholder="contains...",
            layout=wide,
        )
        self.reset = w.Button(description="Clear filters", icon="times")
        self.reload = w.Button(description="Reload store", icon="refresh")
        for picker in (self.run, self.search, *self.pickers.values()):
            picker.style.description_width = "100px"
        self.status = w.HTML()
        self.outputs = {title: w.Output() for title in self.TABS}
        self.finding_pickers = {
            "field": w.Dropdown(description="Field", layout=wide),
            "severity": w.Dropdown(description="Severity", layout=wide),
            "model": w.Dropdown(description="Model", layout=wide),
        }
        children = {t: self.outputs[t] for t in self.TABS}
        children["Findings"] = w.VBox(
            [w.HBox(list(self.finding_pickers.values())), self.outputs["Findings"]]
        )
        self.tabs = w.Tab(children=[children[t] for t in self.TABS], titles=self.TABS)
        self.word = w.Dropdown(description="Entry card", layout=w.Layout(width="330px"))
        self.word.style.description_width = "100px"
        self.previous = w.Button(
            icon="chevron-left", tooltip="previous word", layout=w.Layout(width="40px")
        )
        self.next = w.Button(
            icon="chevron-right", tooltip="next word", layout=w.Layout(width="40px")
        )
        self.card = w.Output()
        self._charts_stale = True
        self._fill_choices()
        self._fill_words(word)
        # JupyterLab (4.4+, "comms over subshells") may deliver widget messages on a kernel
        # subshell: two callbacks can then run at once on two threads, and a click during a
        # redraw would be lost (``_quiet``) or undone. One callback at a time.
        self._lock = threading.RLock()
        serial = self._serial
        self.run.observe(serial(self.on_run), names="value")
        for picker in self.pickers.values():
            picker.observe(serial(self.on_filter), names="value")
        self.search.observe(serial(self.on_filter), names="value")
        for picker in self.finding_pickers.values():
            picker.observe(serial(self.on_filter_findings), names="value")
        self.reset.on_click(serial(self.on_reset))
        self.reload.on_click(serial(self.on_reload))
        self.tabs.observe(serial(self._draw_charts), names="selected_index")
        self.word.observe(serial(self.on_word), names="value")
        self.previous.on_click(serial(lambda: self.step(-1)))
        self.next.on_click(serial(lambda: self.step(+1)))
        self.box = w.VBox(
            [
                w.HTML(f"<b>synthlib review</b> · {html.escape(review.location)}"),
                w.HBox([self.run, self.reload]),
                w.HBox(
                    [
                        self.pickers["part_of_speech"],
                        self.pickers["cefr_level"],
                        self.pickers["register"],
                    ]
                ),
                w.HBox([self.pickers["provider"], self.search, self.reset]),
                self.status,
                self.tabs,
                w.HBox([self.word, self.previous, self.next]),
                self.card,
            ]
        )
        self.refresh()

    # --- filling the pickers -------------------------------------------------------------------

    def _fill_choices(self) -> None:
        r = self.review
        self._quiet = True
        try:
            runs = r.runs.iloc[::-1]
            latest = f"latest: {_run_label(runs.iloc[0])}" if len(runs) else "latest (none yet)"
            options = [(latest, "latest"), ("whole store", "all")]
            options += [(_run_label(row), row["run_id"]) for _, row in runs.iterrows()]
            if r.run not in {value for _, value in options}:  # entries of a run not recorded
                options.append((r.run, r.run))
            self.run.options = options
            self.run.value = r.run
            for name, values in r.finding_choices().items():
                current = r.finding_filters[name]
                if current is not None and current not in values:  # kept though no row has it
                    values = [*values, current]
                self.finding_pickers[name].options = [self.ANY, *((v, v) for v in values)]
                self.finding_pickers[name].value = current or ""
            for name, values in r.choices().items():
                current = r.filters[name]
                if current is not None and current not in values:  # kept though no row has it
                    values = [*values, current]
                self.pickers[name].options = [self.ANY, *((v, v) for v in values)]
                self.pickers[name].value = current or ""
        finally:
            self._quiet = False

    def _fill_words(self, wanted: str | None = None) -> None:
        words = self.review.entries["word"].tolist()
        keep = wanted if wanted is not None else self.word.value
        self._quiet = True
        try:
            self.word.options = words
            self.word.value = keep if keep in words else (words[0] if words else None)
        finally:
            self._quiet = False

    # --- callbacks ----------------------------------------------------------------------------

    def _serial(self, action: Callable[[], Any]) -> Callable[[Any], None]:
        """``action`` as a widget callback that waits for any other callback to finish."""

        def callback(_: Any) -> None:
            with self._lock:
                action()

        return callback

    def on_run(self) -> None:
        if self._quiet or not self._guard(lambda: self.review.filter(run=self.run.value)):
            return
        self._fill_choices()
        self.refresh()

    def on_filter(self) -> None:
        if self._quiet:
            return
        chosen = {name: picker.value for name, picker in self.pickers.items()}
        if self._guard(lambda: self.review.filter(search=self.search.value, **chosen)):
            self.refresh()

    def on_filter_findings(self) -> None:
        if self._quiet:
            return
        chosen = {name: picker.value for name, picker in self.finding_pickers.items()}
        if self._guard(lambda: self.review.filter_findings(**chosen)):
            self.refresh()

    def on_reset(self) -> None:
        self._quiet = True
        try:
            for picker in self.pickers.values():
                picker.value = ""
            self.search.value = ""
        finally:
            self._quiet = False
        self.review.filter(**dict.fromkeys(FILTERS))
        self.refresh()

    def on_reload(self) -> None:
        if self._guard(lambda: self.review.reload()):
            self._fill_choices()
            self.refresh()

    def on_word(self) -> None:
        if self._quiet:
            return
        self.card.outputs = ()
        word = self.word.value
        if word is not None:
            self._guard(lambda: self._append(self.card, _card_bundle(self.review.card(word))))

    def step(self, by: int) -> None:
        words = list(self.word.options)
        if not words:
            return
        at = words.index(self.word.value) if self.word.value in words else -by
        self.word.value = words[max(0, min(len(words) - 1, at + by))]

    def refresh(self) -> None:
        """Redraw the status line, the tables and the word picker from the review (the charts
        when their tab is open, else when it next opens)."""
        r = self.review
        self.status.value = f"<div style='margin:.4em 0'>{html.escape(r.scope_line())}</div>"
        for title, frame in r.frames().items():
            out = self.outputs[title]
            out.outputs = ()
            if not len(frame):
                out.append_stdout("Nothing here with these filters.\n")
                continue
            self._append(out, _table_bundle(frame.head(self.rows)))
            if len(frame) > self.rows:
                out.append_stdout(
                    f"First {self.rows:,} of {len(frame):,} rows: "
                    f"review.{title.lower()} has them all.\n"
                )
        self._charts_stale = True
        self._draw_charts()
        before = self.word.value
        self._fill_words()
        if self.word.value != before or not self.card.outputs:
            self.on_word()

    def _draw_charts(self) -> None:
        if not self._charts_stale or self.tabs.selected_index != self.TABS.index("Charts"):
            return
        self._charts_stale = False
        out = self.outputs["Charts"]
        out.outputs = ()
        figure = self.review.plot()
        if figure is None:
            out.append_stdout("Nothing to chart with these filters.\n")
        else:
            self._append(out, _png(figure))

    def _guard(self, action: Callable[[], Any]) -> bool:
        """Run ``action``; a synthlib error (a store gone, say) shows in the status line."""
        try:
            action()
        except SynthlibError as exc:
            self.status.value = f"<span style='color:#b00020'>{html.escape(str(exc))}</span>"
            return False
        return True

    @staticmethod
    def _append(out: Any, bundle: dict[str, Any]) -> None:
        out.outputs += ({"output_type": "display_data", "data": bundle, "metadata": {}},)


def _run_label(row: pd.Series) -> str:
    made = made_by(row.get("provider"), row.get("model"))
    done = row.get("processed")
    count = f" · {cell(done)} words" if not blank(done) else ""
    return f"{row['run_id']} · {made} · {_when(row.get('recorded_at'))}{count}"
