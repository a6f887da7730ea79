"""The window's own small widgets: the error banner, the collapse bar, the welcome page, and the
event filter that lets typing widgets keep their keys."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.samples import WINDOW_SAMPLES, samples_dir


class ErrorBanner(QtWidgets.QFrame):
    """A dismissable message across the top of the plot: errors never block the window."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setStyleSheet("ErrorBanner { background: #fdecea; border: 1px solid #f5c2c0; border-radius: 4px; }"
                           "QLabel { color: #8a1f17; }")
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        close = QtWidgets.QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss this message")
        close.clicked.connect(self.hide)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()


class CollapseBar(QtWidgets.QFrame):
    """Under the parameter table while a component collapses: which one, its λmin and Nₖ, and the
    three fixes (the window does them)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setStyleSheet("CollapseBar { background: #fdecea; border: 1px solid #f5c2c0; border-radius: 4px; }"
                           "QLabel { color: #8a1f17; }")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 5, 8, 5)
        layout.setSpacing(4)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        layout.addWidget(self.label)
        buttons = QtWidgets.QHBoxLayout()
        self.raise_button = QtWidgets.QPushButton("Raise reg_covar ×10")
        self.raise_button.setToolTip("Multiply reg_covar by 10 and continue the fit from the state on screen")
        self.remove_button = QtWidgets.QPushButton("Remove component")
        self.remove_button.setToolTip("Delete this component (K − 1; the other weights renormalised): an edit "
                                      "in the history; Run continues from it, Ctrl+Z undoes it")
        self.reseed_button = QtWidgets.QPushButton("Re-seed component")
        self.reseed_button.setToolTip("Move this component's mean to the least likely data point, give it the "
                                      "data's covariance and weight 1/K: an edit; Run continues, Ctrl+Z undoes it")
        for button in (self.raise_button, self.remove_button, self.reseed_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.hide()

    def show_collapse(self, entry, count: int) -> None:
        """Show ``entry`` (core.edits.Collapse) of ``count`` collapsing components, or hide (None)."""
        if entry is None:
            self.hide()
            return
        k = entry.component + 1
        more = f" ({count} components are collapsing; click a red row to choose)" if count > 1 else ""
        self.label.setText(f"⚠ Component {k} is collapsing: λmin = {entry.smallest_eigenvalue:.3g}, "
                           f"Nₖ = {entry.size:.1f}{more}")
        self.remove_button.setText(f"Remove component {k}")
        self.reseed_button.setText(f"Re-seed component {k}")
        self.show()


class WelcomePage(QtWidgets.QWidget):
    """Shown while no data is loaded: the sample data sets and Open."""

    chosen = QtCore.Signal(str)

    def __init__(self, open_action: QtGui.QAction, parent=None) -> None:
        super().__init__(parent)
        outer = QtWidgets.QVBoxLayout(self)
        outer.addStretch(1)
        box = QtWidgets.QWidget()
        box.setMaximumWidth(560)
        layout = QtWidgets.QVBoxLayout(box)
        title = QtWidgets.QLabel("EM Studio")
        font = title.font()
        font.setPointSize(22)
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        text = QtWidgets.QLabel("Watch EM fit a Gaussian mixture: open a data file (or drop one here), "
                                "or start with a sample data set.")
        text.setWordWrap(True)
        layout.addWidget(text)
        layout.addSpacing(8)
        self.sample_buttons: dict[str, QtWidgets.QPushButton] = {}
        for filename, label, tip in WINDOW_SAMPLES:
            path = samples_dir() / filename
            if not path.exists():
                continue
            button = QtWidgets.QPushButton(f"{label}  —  {tip}")
            button.setStyleSheet("text-align: left; padding: 7px 10px;")
            button.setToolTip(f"Load the sample {filename}")
            button.clicked.connect(lambda _=False, p=str(path): self.chosen.emit(p))
            layout.addWidget(button)
            self.sample_buttons[filename] = button
        layout.addSpacing(8)
        open_button = QtWidgets.QPushButton("Open a data file…")
        open_button.setToolTip("CSV/TSV/text, .npy, .npz, .xlsx or .parquet (Ctrl+O)")
        open_button.clicked.connect(open_action.trigger)
        open_button.setStyleSheet("padding: 7px 10px; font-weight: bold;")
        layout.addWidget(open_button)
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)


class TypingKeys(QtCore.QObject):
    """Lets the widget with the focus keep the plain keys it types with: a combo box or the table
    searches by letter and a focused button presses on Space, where the window's one-key shortcuts
    (Space, E, M, N, R, A, F, U) would otherwise take them. Text fields already keep theirs."""

    KEEPERS = (QtWidgets.QComboBox, QtWidgets.QAbstractItemView)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QtCore.QEvent.Type.ShortcutOverride:
            plain = not (event.modifiers() & ~QtCore.Qt.KeyboardModifier.ShiftModifier
                         & ~QtCore.Qt.KeyboardModifier.KeypadModifier)
            typed = plain and bool(event.text()) and event.text().isprintable()
            space = plain and event.key() == QtCore.Qt.Key.Key_Space
            if (typed and isinstance(obj, self.KEEPERS)) or (space and isinstance(obj, QtWidgets.QAbstractButton)):
                event.accept()  # the key goes to the widget, not to the shortcut
        return False


class WrappedNote(QtWidgets.QLabel):
    """A word-wrapped note whose minimum height follows its text at its current width, so a form
    squeezed by a short screen scrolls instead of cutting the note's lines off (QFormLayout gives a
    wrapped label its one-line hint otherwise)."""

    def __init__(self, text: str = "", parent=None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)

    def _fit_height(self) -> None:
        width = self.width() if self.width() > 20 else self.sizeHint().width()
        needed = self.heightForWidth(width)
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_height()  # another width, another height for the text

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self._fit_height()
