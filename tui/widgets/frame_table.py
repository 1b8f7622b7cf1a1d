"""A DataTable showing a pandas DataFrame: formatted and coloured cells, sort by header, pages of 1,000 rows.

DataTable renders lazily (only the visible rows are drawn), but adding 37,000 rows still takes seconds; a page
of :data:`PAGE_ROWS` keeps every table instant whatever the network's size. Sorting and filtering act on the
whole frame, then the page is refilled.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from ...reliability.report import FORMATS
from ..i18n import header, t, value

__all__ = ["PAGE_ROWS", "FrameTable", "format_cell"]

#: Rows per page.
PAGE_ROWS = 1000
#: Widest a column is drawn (longer texts are cut; the element tab shows them whole).
MAX_COLUMN_WIDTH = 60

#: Cell styles of categorical values (grades, severities, target checks, decisions).
_STYLES: dict[str, str] = {
    "green": "bold green", "yellow": "bold yellow", "red": "bold red",
    "overload": "bold red", "undervoltage": "bold red", "overvoltage": "yellow", "heavy": "yellow",
    "pass": "bold green", "FAIL": "bold red", "yes": "bold green", "NO": "bold red",
    "connect": "bold green", "connect_then_reinforce": "bold yellow", "reject": "bold red",
    "approve": "bold green", "approved": "bold green", "over budget": "bold red", "no date": "bold red",
    "rejected": "bold red", "live line": "bold green",
}


def format_cell(v: Any, lang: str = "en", fmt: str | None = None) -> Text | str:
    """A cell as shown: numbers right-aligned in ``fmt`` (default 4 decimals, 1 above 1,000), categories
    coloured."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return Text("–", style="dim", justify="right")
    if fmt is not None and isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
        return Text(fmt.format(v), justify="right")
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return Text(f"{int(v):,}", justify="right")
    if isinstance(v, float | np.floating):
        f = float(v)
        text = f"{f:,.1f}" if abs(f) >= 1000 else f"{f:.4f}"
        return Text(text, justify="right")
    if isinstance(v, str) and v in _STYLES:
        return Text(str(value(v, lang)), style=_STYLES[v])
    return str(v)


class FrameTable(DataTable):
    """A :class:`~textual.widgets.DataTable` over a DataFrame.

    Click (or select) a header to sort by it, again to reverse; ``[`` / ``]`` page through large tables.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left_square_bracket", "page(-1)", "Prev page", id="table.prev_page", show=False),
        Binding("right_square_bracket", "page(1)", "Next page", id="table.next_page", show=False),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, zebra_stripes=True, cursor_type="row")
        self.frame = pd.DataFrame()
        self.view = pd.DataFrame()
        self.lang = "en"
        self.page = 0
        self.sort_by: str | None = None
        self.sort_reverse = False
        self.formats: dict[str, str] = {}
        self.categories: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ data
    def show(self, df: pd.DataFrame, lang: str | None = None, formats: dict[str, str] | None = None,
             categories: Collection[str] = ()) -> None:
        """Show ``df`` (its column names as headers, translated to ``lang``) from its first page.

        ``formats`` maps columns to format strings (``"{:.1f}"``); the reliability display formats apply
        everywhere unless overridden. Every text cell of the ``categories`` columns is a category word shown
        in ``lang`` (:func:`~gridscope.tui.i18n.value`); elsewhere only the coloured categories are.
        """
        self.frame = df.reset_index(drop=True)
        self.formats = dict(formats or {})
        self.categories = frozenset(categories)
        if lang is not None:
            self.lang = lang
        self.page = 0
        self._sort_and_fill()

    def relabel(self, lang: str) -> None:
        """Redraw the same data with headers and categories in ``lang``."""
        self.lang = lang
        self._fill()

    def _sort_and_fill(self) -> None:
        view = self.frame
        if self.sort_by is not None and self.sort_by in view.columns:
            view = view.sort_values(self.sort_by, ascending=not self.sort_reverse, kind="stable",
                                    na_position="last")
        self.view = view
        self._fill()

    @property
    def n_pages(self) -> int:
        """Number of pages of the current view."""
        return max(1, math.ceil(len(self.view) / PAGE_ROWS))

    def _fill(self) -> None:
        self.clear(columns=True)
        a = self.page * PAGE_ROWS
        page = self.view.iloc[a:a + PAGE_ROWS]
        lang = self.lang
        cols = list(page.columns)
        fmts = [self.formats.get(str(c), FORMATS.get(str(c))) for c in cols]  # the core's, as the CLI prints
        cats = [str(c) in self.categories for c in cols]
        rows = [[str(value(v, lang)) if cat and isinstance(v, str) and v not in _STYLES else format_cell(v, lang, f)
                 for v, f, cat in zip(row, fmts, cats, strict=True)]
                for row in page.itertuples(index=False, name=None)]
        for j, col in enumerate(cols):
            label = header(str(col), lang)
            if col == self.sort_by:
                label += " ▼" if self.sort_reverse else " ▲"
            # widths measured here: a table refilled quickly (filters) must not keep its header widths
            width = max([cell_len(label)] + [cell_len(r[j].plain if isinstance(r[j], Text) else r[j])
                                            for r in rows])
            self.add_column(label, key=str(col), width=min(width, MAX_COLUMN_WIDTH))
        for pos, row in zip(page.index, rows, strict=True):
            self.add_row(*row, key=str(pos))
        n = len(self.view)
        if n > PAGE_ROWS:
            self.border_subtitle = t("page", lang, a=f"{a + 1:,}", b=f"{min(n, a + PAGE_ROWS):,}", n=f"{n:,}")
        else:
            self.border_subtitle = t("rows", lang, n=f"{n:,}") if cols else ""

    def row_data(self, row_key: Any) -> pd.Series | None:
        """The frame row behind a DataTable row key."""
        key = getattr(row_key, "value", row_key)
        if key is None:
            return None
        pos = int(key)
        return self.frame.loc[pos] if pos in self.frame.index else None

    def cell_text(self, row: int, column: str) -> str:
        """The text shown in row ``row`` (0-based, on this page) of ``column`` (tests, copy)."""
        cell = self.get_cell_at((row, list(self.view.columns).index(column)))
        return cell.plain if isinstance(cell, Text) else str(cell)

    def column_texts(self, column: str) -> list[str]:
        """Every text shown in ``column`` on this page."""
        return [self.cell_text(r, column) for r in range(self.row_count)]

    # ------------------------------------------------------------------ interaction
    def sort_on(self, column: str) -> None:
        """Sort by ``column`` (ascending; again: descending)."""
        if self.sort_by == column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_by, self.sort_reverse = column, False
        self.page = 0
        self._sort_and_fill()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_on(str(event.column_key.value))

    def action_page(self, step: int) -> None:
        """Go ``step`` pages forward or back."""
        new = min(self.n_pages - 1, max(0, self.page + int(step)))
        if new != self.page:
            self.page = new
            self._fill()
