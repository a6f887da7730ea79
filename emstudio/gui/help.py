"""The Help menu's windows: About, the keyboard shortcuts and mouse gestures, and the documentation
(the project's docs/ pages, shown in the window)."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

#: What the mouse does on the plot (the keys are read from the actions themselves).
MOUSE_GESTURES = [
    ("Drag a mean", "move that component (an edit: Ctrl+Z undoes it)"),
    ("Click a mean", "select its component: its axis handles appear"),
    ("Drag a square or diamond handle", "stretch or turn the selected component's ellipse"),
    ("Double-click the plot", "add a component there"),
    ("Right-click a mean or a table row", "the component's menu: freeze, delete, fixes"),
    ("Hover a point", "its responsibilities rᵢₖ and uncertainty"),
    ("Drag the background / wheel", "pan / zoom the plot (right-drag stretches an axis)"),
    ("Click the history bar", "go to that iteration"),
]
#: The order of the shortcuts table (actions without a shortcut are left out).
SHORTCUT_ORDER = ["run_pause", "step_e", "step_m", "step", "stop", "reinit", "undo", "redo", "add_component",
                  "delete_component", "freeze_component", "shade_uncertainty", "open", "open_workspace",
                  "save_workspace", "save_workspace_as", "export_params",
                  "export_picture", "quit"]


def docs_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "docs"


def doc_pages() -> list[tuple[str, Path]]:
    """(title, path) of every docs/ page, the title being its first heading."""
    pages = []
    for path in sorted(docs_dir().glob("*.md")):
        title = path.stem.replace("-", " ").capitalize()
        try:
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("# "):
                    title = line[2:].split(" — ")[0].split(": ")[0].strip()  # a menu item, not a sentence
                    break
        except OSError:
            continue
        pages.append((title, path))
    return pages


def shortcut_rows(actions: dict[str, QtGui.QAction]) -> list[tuple[str, str]]:
    """(keys, what it does) for every action with a shortcut, in SHORTCUT_ORDER."""
    names = SHORTCUT_ORDER + [n for n in actions if n not in SHORTCUT_ORDER]
    rows = []
    for name in names:
        action = actions.get(name)
        if action is None or not action.shortcuts():
            continue
        keys = " or ".join(s.toString(QtGui.QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        rows.append((keys, action.statusTip() or action.text().replace("&", "")))
    return rows


def about(parent) -> None:
    from emstudio import __version__

    QtWidgets.QMessageBox.about(parent, "About EM Studio",
                                f"EM Studio {__version__}\n\nExplore Gaussian-mixture fits made by the EM "
                                "algorithm: watch the E- and M-steps move the components and climb the "
                                "log-likelihood.")


def _table(title: str, rows) -> str:
    cells = "".join(f"<tr><td style='padding: 2px 14px 2px 0'><b>{html.escape(a)}</b></td>"
                    f"<td style='padding: 2px 0'>{html.escape(b)}</td></tr>" for a, b in rows)
    return f"<h3>{html.escape(title)}</h3><table>{cells}</table>"


class HelpWindow(QtWidgets.QDialog):
    """A non-modal reader: the shortcuts page or one docs/ page (Markdown, with its pictures)."""

    def __init__(self, parent, title: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(False)
        self.browser = QtWidgets.QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setSearchPaths([str(docs_dir())])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.browser)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        available = parent.screen().availableGeometry() if parent is not None else QtCore.QRect(0, 0, 1024, 700)
        self.resize(min(760, available.width() - 40), min(720, available.height() - 80))


class Help:
    """Owns the Help menu's windows (one of each, reused)."""

    def __init__(self, window) -> None:
        self.window = window
        self.shortcuts_window: HelpWindow | None = None
        self.doc_window: HelpWindow | None = None
        self.docs_menu: QtWidgets.QMenu | None = None  # Help ▸ Documentation, one item a docs/ page

    def show_shortcuts(self) -> HelpWindow:
        if self.shortcuts_window is None:
            self.shortcuts_window = HelpWindow(self.window, "Keyboard shortcuts and mouse — EM Studio")
            text = (_table("Keys", shortcut_rows(self.window.actions)) + _table("Mouse", MOUSE_GESTURES)
                    + "<p>The one-key shortcuts work wherever the focus is, except in a text field or a "
                      "list that types with that key.</p>")
            self.shortcuts_window.browser.setHtml(text)
        self.shortcuts_window.show()
        self.shortcuts_window.raise_()
        return self.shortcuts_window

    def show_page(self, path: Path) -> HelpWindow | None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            self.window.report.show_error(f"Could not open the documentation page {Path(path).name}: {exc}")
            return None
        if self.doc_window is None:
            self.doc_window = HelpWindow(self.window, "Documentation — EM Studio")
        self.doc_window.browser.setMarkdown(text)
        self.doc_window.setWindowTitle(f"{Path(path).name} — EM Studio documentation")
        self.doc_window.show()
        self.doc_window.raise_()
        return self.doc_window

    def show_derivation(self, row: int) -> None:
        """The Derivation tab at ``row`` (0…5 the steps, 6 the notation)."""
        w = self.window
        w.tabs.setCurrentWidget(w.derivation)
        w.derivation.steps.setCurrentRow(row)

    def fill_menu(self, menu: QtWidgets.QMenu) -> None:
        """Help ▸ Keyboard shortcuts, Documentation ▸ (one item a page), About."""
        menu.addAction("&Keyboard shortcuts and mouse", self.show_shortcuts).setShortcut(QtGui.QKeySequence("F1"))
        menu.addAction("Why EM &works: the derivation, step by step", lambda: self.show_derivation(0))
        menu.addAction("The seeds' &notation", lambda: self.show_derivation(6))
        pages = doc_pages()
        self.docs_menu = docs = menu.addMenu("&Documentation")
        for title, path in pages:
            docs.addAction(title, lambda p=path: self.show_page(p))
        docs.setEnabled(bool(pages))
        menu.addSeparator()
        menu.addAction("&About EM Studio", lambda: about(self.window))
