"""Review of a store's entries for notebooks: filtered frames, a summary and plots."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .frames import StoreLike, load_entries, load_failures, load_senses
from .store import using_store

CEFR_ORDER = ["A1", "A2", "B1", "B2", "C1", "C2"]


class Review:
    """Entries, senses, examples and failures of a store, filtered once at construction."""

    def __init__(
        self,
        store: StoreLike = None,
        *,
        part_of_speech: str | None = None,
        cefr_level: str | None = None,
        register: str | None = None,
        provider: str | None = None,
        search: str | None = None,
    ) -> None:
        with using_store(store) as opened:
            entries = load_entries(opened, part_of_speech=part_of_speech, cefr_level=cefr_level,
                                   provider=provider)  # fmt: skip
            senses = load_senses(opened, part_of_speech=part_of_speech, provider=provider)
            self.failures = load_failures(opened)
            self.runs = pd.DataFrame(list(opened.iter_runs()))
            self.location = opened.location
        if search:
            entries = entries[entries["word"].str.contains(search, case=False, regex=False)]
        if register:
            senses = senses[senses["register"] == register]
            entries = entries[entries["word"].isin(senses["word"])]
        self.entries = entries.reset_index(drop=True)
        self.senses = senses[senses["word"].isin(entries["word"])].reset_index(drop=True)
        self.examples = (
            self.senses[["word", "part_of_speech", "sense", "examples"]]
            .explode("examples")
            .dropna(subset=["examples"])
            .rename(columns={"examples": "example"})
            .reset_index(drop=True)
        )

    def summary(self) -> pd.DataFrame:
        e = self.entries
        rows = {
            "store": self.location,
            "entries": len(e),
            "senses": len(self.senses),
            "examples": len(self.examples),
            "failures": len(self.failures),
            "providers": ", ".join(sorted(e["provider"].unique())) if len(e) else "",
            "input tokens": int(e["input_tokens"].sum()) if len(e) else 0,
            "output tokens": int(e["output_tokens"].sum()) if len(e) else 0,
            "cost (USD)": round(float(e["cost_usd"].sum()), 6) if len(e) else 0.0,
        }
        frame = pd.DataFrame(rows.items(), columns=["item", "value"]).set_index("item")
        try:
            from IPython.display import display

            display(frame)
        except ImportError:
            pass
        return frame

    def per_batch(self) -> pd.DataFrame:
        """Tokens and cost per batch, in the order the batches' entries were made."""
        e = self.entries
        if not len(e):
            return pd.DataFrame(columns=["batch_id", "words", "tokens", "cost_usd"])
        grouped = e.assign(tokens=e["input_tokens"] + e["output_tokens"]).groupby(
            "batch_id", dropna=False
        )
        frame = grouped.agg(
            words=("word", "count"), tokens=("tokens", "sum"), cost_usd=("cost_usd", "sum"),
            first=("created_at", "min"),
        )  # fmt: skip
        return frame.sort_values("first").drop(columns="first").reset_index()

    def plot(self) -> Any:
        """Four panels: senses per word, CEFR levels, frequency bands, tokens and cost per batch."""
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 2, figsize=(11, 7))
        e = self.entries
        ax = axes[0][0]
        if len(e):
            e["sense_count"].plot.hist(ax=ax, bins=range(1, int(e["sense_count"].max()) + 2))
        ax.set(title="Senses per word", xlabel="senses", ylabel="words")
        ax = axes[0][1]
        levels = e["cefr_level"].value_counts().reindex(CEFR_ORDER, fill_value=0)
        levels.plot.bar(ax=ax, color="#4c72b0")
        ax.set(title="CEFR level", xlabel="", ylabel="words")
        ax = axes[1][0]
        bands = e["frequency_band"].value_counts().reindex(range(1, 6), fill_value=0)
        bands.plot.bar(ax=ax, color="#55a868")
        ax.set(title="Frequency band (1 rare ... 5 common)", xlabel="", ylabel="words")
        ax = axes[1][1]
        batches = self.per_batch()
        if len(batches):
            ax.bar(range(len(batches)), batches["tokens"], color="#8172b2")
            twin = ax.twinx()
            twin.plot(range(len(batches)), batches["cost_usd"].cumsum(), color="#c44e52",
                      marker="o")  # fmt: skip
            twin.set_ylabel("cumulative cost (USD)")
        ax.set(title="Tokens per batch over the run", xlabel="batch", ylabel="tokens")
        fig.tight_layout()
        return fig
