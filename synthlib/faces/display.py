"""Printing for people on a terminal: the estimate table (rich when it is a terminal)."""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.table import Table

from ..core.cost import Estimate


def print_estimate(estimate: Estimate, *, title: str, file: TextIO | None = None) -> None:
    """Print the cost table: a rich table on a terminal, aligned plain text otherwise."""
    file = file or sys.stdout
    if not file.isatty():
        print(title, file=file)
        print(estimate, file=file)
        file.flush()
        return
    Console(file=file).print(rows_table(estimate.rows(), title=title))


def rows_table(rows: list[tuple[str, str]], *, title: str) -> Table:
    """(label, value) rows as a two-column rich table (the estimate, the status)."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("item", style="bold")
    table.add_column("value", justify="right")
    for label, value in rows:
        table.add_row(label, value)
    return table
