"""Modal dialogs: an error, the export dialog and the open-network dialog (with a file picker)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, DirectoryTree, Input, Label, LoadingIndicator, Select, Static

from ...grid.builtin import builtin_descriptions
from ..i18n import t
from ..jobs import open_study

__all__ = ["ErrorModal", "ExportModal", "ExportRequest", "NetworkFileTree", "OpenNetworkModal", "SourceValidator"]

_NETWORK_SUFFIXES = (".json", ".xlsx", ".xls")


class ErrorModal(ModalScreen[None]):
    """An error message (the exception's own text, which names table, index and element)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "dismiss", "Close", id="modal.close")]

    def __init__(self, title: str, message: str) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="error"):
            yield Label(self.title_text, id="dialog-title")
            with VerticalScroll(id="error-body"):
                yield Static(self.message, id="error-message", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("OK", variant="error", id="ok")

    def on_mount(self) -> None:
        self.query_one("#ok", Button).focus()

    @on(Button.Pressed, "#ok")
    def close(self) -> None:
        self.dismiss(None)


class ExportRequest:
    """What the export dialog returns: ``path``, ``fmt`` (xlsx/csv/json) and ``lang`` (en/zh)."""

    def __init__(self, path: str, fmt: str, lang: str) -> None:
        self.path, self.fmt, self.lang = path, fmt, lang

    def __repr__(self) -> str:
        return f"ExportRequest({self.path!r}, fmt={self.fmt!r}, lang={self.lang!r})"


class _PathValidator(Validator):
    def validate(self, value: str) -> ValidationResult:
        text = value.strip()
        if not text:
            return self.failure("give a file name")
        parent = Path(text).expanduser().parent
        if not parent.is_dir():
            return self.failure(f"folder {parent} does not exist")
        return self.success()


class ExportModal(ModalScreen[ExportRequest | None]):
    """Export the capacity tables through the CLI's writer: path, format and language."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Cancel", id="modal.cancel")]

    def __init__(self, default_path: str, lang: str) -> None:
        super().__init__(classes="modal")
        self.default_path = default_path
        self.lang = lang

    def compose(self) -> ComposeResult:
        lang = self.lang
        with Vertical(id="dialog"):
            yield Label(t("export", lang), id="dialog-title")
            yield Label(t("format", lang))
            yield Select([("Excel (.xlsx)", "xlsx"), ("CSV", "csv"), ("JSON", "json")], value="xlsx",
                         allow_blank=False, id="export-format")
            yield Label(t("language", lang))
            yield Select([("English", "en"), ("中文", "zh")], value=lang, allow_blank=False, id="export-lang")
            yield Label(t("path", lang))
            yield Input(self.default_path, id="export-path", validators=[_PathValidator()])
            yield Label("", id="export-error", classes="inline-error")
            with Horizontal(classes="buttons"):
                yield Button(t("export", lang), variant="primary", id="export-ok")
                yield Button(t("cancel", lang), id="export-cancel")

    @on(Select.Changed, "#export-format")
    def _suffix(self, event: Select.Changed) -> None:
        inp = self.query_one("#export-path", Input)
        p = Path(inp.value)
        suffix = "" if event.value == "csv" else f".{event.value}"
        if p.suffix.lower() in (".xlsx", ".csv", ".json") or suffix:
            inp.value = str(p.with_suffix(suffix)) if p.suffix else str(p) + suffix

    @on(Button.Pressed, "#export-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-ok")
    def _ok(self) -> None:
        inp = self.query_one("#export-path", Input)
        result = inp.validate(inp.value)
        if result is not None and not result.is_valid:
            self.query_one("#export-error", Label).update("; ".join(result.failure_descriptions))
            return
        fmt = str(self.query_one("#export-format", Select).value)
        lang = str(self.query_one("#export-lang", Select).value)
        self.dismiss(ExportRequest(os.path.expanduser(inp.value.strip()), fmt, lang))


class SourceValidator(Validator):
    """A network source: a built-in name, ``simbench:<code>`` or an existing .json/.xlsx file."""

    def validate(self, value: str) -> ValidationResult:
        text = value.strip()
        if not text:
            return self.failure("give a built-in name, a file or simbench:<code>")
        if text.lower().startswith("simbench:"):
            return self.success() if text.split(":", 1)[1].strip() else self.failure("simbench:<code> needs a code")
        if text in builtin_descriptions():
            return self.success()
        p = Path(text).expanduser()
        if p.is_dir():
            return self.failure(f"{p} is a folder: pick a .json or .xlsx file")
        if p.suffix.lower() not in _NETWORK_SUFFIXES:
            if not p.exists() and "/" not in text and os.sep not in text:
                names = ", ".join(builtin_descriptions())
                return self.failure(f"unknown built-in network {text!r} (built-in: {names})")
            return self.failure(f"{p.name} is not a network file: use a pandapower .json or .xlsx")
        if not p.is_file():
            return self.failure(f"no such file: {p}")
        return self.success()


class NetworkFileTree(DirectoryTree):
    """A file picker showing folders and pandapower network files only."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".")
                and (p.is_dir() or p.suffix.lower() in _NETWORK_SUFFIXES)]


class OpenNetworkModal(ModalScreen[Any]):
    """Open a network: type a source or pick a file; loads in a worker and shows a failure inline.

    Dismisses with the loaded :class:`~gridscope.study.Study`, or ``None`` when cancelled.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Cancel", id="modal.cancel")]

    def __init__(self, lang: str, start_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__(classes="modal")
        self.lang = lang
        self.start_dir = Path(start_dir or Path.cwd())

    def compose(self) -> ComposeResult:
        lang = self.lang
        with Vertical(id="dialog", classes="open"):
            yield Label(t("open_network", lang), id="dialog-title")
            yield Label(t("open_hint", lang), classes="hint")
            yield Input(placeholder="rbts2", id="open-source", validators=[SourceValidator()],
                        validate_on=["submitted"])
            yield Label("", id="open-error", classes="inline-error")
            names = "  ".join(builtin_descriptions())
            yield Label(f"built-in: {names}", classes="hint")
            yield NetworkFileTree(self.start_dir, id="open-tree")
            yield LoadingIndicator(id="open-loading")
            with Horizontal(classes="buttons"):
                yield Button(t("open", lang), variant="primary", id="open-ok")
                yield Button(t("cancel", lang), id="open-cancel")

    def on_mount(self) -> None:
        self.query_one("#open-loading").display = False
        self.query_one("#open-source", Input).focus()

    @on(DirectoryTree.FileSelected)
    def _picked(self, event: DirectoryTree.FileSelected) -> None:
        self.query_one("#open-source", Input).value = str(event.path)
        self._submit()

    @on(Button.Pressed, "#open-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#open-source")
    @on(Button.Pressed, "#open-ok")
    def _submit(self) -> None:
        inp = self.query_one("#open-source", Input)
        result = inp.validate(inp.value)
        if result is not None and not result.is_valid:
            self._inline("; ".join(result.failure_descriptions))
            return
        self._inline("")
        self.query_one("#open-loading").display = True
        self._load(inp.value.strip())

    def _inline(self, text: str) -> None:
        self.query_one("#open-error", Label).update(text)

    @work(thread=True, exclusive=True, group="open-dialog")
    def _load(self, source: str) -> None:
        try:
            study = open_study(source)
        except Exception as exc:  # every failure is shown inline: this dialog is where the user fixes it
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.dismiss, study)

    def _failed(self, text: str) -> None:
        self.query_one("#open-loading").display = False
        self._inline(text)
