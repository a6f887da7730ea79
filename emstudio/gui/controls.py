"""The controls: widgets that turn what a person sets into requests. No EM logic here."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.core.bins import MAX_CHOSEN_BINS
from emstudio.core.em import FitSettings
from emstudio.core.init import INIT_METHODS
from emstudio.core.factor import FactorSettings
from emstudio.core.params import MixtureParams
from emstudio.gui import model_choice
from emstudio.gui.widgets import WrappedNote

START_LABELS = {
    "auto": "automatic (hc, then k-means)",
    "kmeans": "k-means (raw units)",
    "kmeans-std": "k-means, standardised",
    "kmeans-svd": "k-means, SVD-scaled",
    "kmeans++": "k-means++ seeds",
    "random": "random responsibilities",
    "random-data": "random data points",
    "seed-step0": "k-means, Σ = I (step 0)",
    "hc": "hierarchical (mclust)",
}
START_TIPS = {
    "auto": "the first restart from the hierarchical start, the others from k-means on standardised "
            "columns; the same whatever units the columns are in (the default)",
    "kmeans": "k-means++ seeding and Lloyd iterations on the raw data, then one M-step from the hard labels "
              "(fooled when the columns' units differ ~10× or more)",
    "kmeans-std": "k-means on standardised columns, then one M-step in the data's units",
    "kmeans-svd": "k-means on mclust's SVD-scaled data, then one M-step in the data's units",
    "kmeans++": "means from k-means++ seeding; πₖ = 1/K; every Σₖ the data's covariance",
    "random": "random responsibilities, then one M-step",
    "random-data": "K distinct data points as means; πₖ = 1/K; every Σₖ the data's covariance",
    "seed-step0": "means from k-means; πₖ = 1/K; Σₖ = I",
    "hc": "mclust's start: Ward agglomeration of the scaled data (at most 2,000 rows), then one M-step; "
          "the same whatever units the columns are in",
}
#: (label, seconds waited after each iteration). The first, the default, waits for nothing: EM
#: computes at full speed and the screen shows the newest iteration at every frame it draws (a
#: 20 iterations/s default made a K = 8 fit with 4 restarts take a minute). The others slow a run
#: down so that each iteration can be followed. Tests choose them by index: keep the order.
PACES = [("Fastest", 0.0), ("60 iterations / s", 1 / 60), ("20 iterations / s", 0.05),
         ("5 iterations / s", 0.2), ("1 iteration / s", 1.0)]
DEFAULT_PACE = 0
AUTO_BINS = "auto"
FILE_START = "file"
START_EXPLANATIONS = {
    "seed-step0": "Step 0 of the first seed: every πₖ = 1/K and every Σₖ = I (round, unit-size components), "
                  "means from K-means. A deliberately plain start: press E and M in turn and watch the lower "
                  "bound touch log L after each E-step and rise after each M-step.",
    FILE_START: "The parameters of a file or a selection cell: Run continues from them.",
}


#: The largest K the window offers: what `emstudio fit --k` accepts (any K up to the number of
#: samples, which the fit itself checks and explains).
MAX_K = 1_000_000
SPIN_MAX = 2_000_000_000  # a spin box holds a 32-bit int
MAX_RESTARTS = 10_000


def check_window_settings(settings: FitSettings) -> None:
    """Raise EmstudioError (one line) if the Fit panel cannot show ``settings`` as they are."""
    from emstudio.errors import EmstudioError

    if not 1 <= settings.k <= MAX_K:
        raise EmstudioError(f"--k {settings.k}: the window takes K from 1 to {MAX_K:,}")
    for name, value, most in (("--seed", settings.seed, SPIN_MAX), ("--restarts", settings.restarts, MAX_RESTARTS),
                              ("--max-iter", settings.max_iter, SPIN_MAX)):
        if value > most:
            raise EmstudioError(f"{name} {value}: the window takes at most {most:,}")


class _NumberEdit(QtWidgets.QLineEdit):
    """A line edit for a non-negative float like 1e-6; red when what is typed is not one. ``name``:
    the field's name, for the message that says which field is wrong."""

    def __init__(self, value: float, name: str = "", parent=None) -> None:
        super().__init__(f"{value:g}", parent)
        self.name = name
        self._value = value
        self._ok = True
        self.textChanged.connect(self._check)
        self.setMaximumWidth(120)

    def _check(self, text: str) -> None:
        try:
            value = float(text)
            ok = value >= 0 and value != float("inf")
        except ValueError:
            ok = False
        if ok:
            self._value = value
        self._ok = ok
        self.setStyleSheet("" if ok else "background: #fde2e1;")

    def is_valid(self) -> bool:
        return self._ok

    def value(self) -> float:
        return self._value

    def set_value(self, value: float) -> None:
        self.setText(f"{value:g}")


class ControlPanel(QtWidgets.QWidget):
    """Fit settings, the run and step buttons (bound to the window's actions) and the axes."""

    settings_changed = QtCore.Signal(object)  # FitSettings
    factor_changed = QtCore.Signal(object)  # FactorSettings, or None for a Gaussian mixture
    pace_changed = QtCore.Signal(float)
    axes_changed = QtCore.Signal(int, int)
    bins_changed = QtCore.Signal(int)  # the 1-D histogram's bins; 0: automatic
    sheet_chosen = QtCore.Signal(str)  # another sheet of the workbook on screen

    def __init__(self, actions: dict[str, QtGui.QAction], parent=None) -> None:
        super().__init__(parent)
        self._file_start: MixtureParams | None = None
        self._emitting = True
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)

        # -- model: the kind, K, the covariance model, the factors and Ψ (model_choice.ModelBox)
        self.model_box = model = model_choice.ModelBox(MAX_K)
        self.kind, self.k, self.covariance, self.factors, self.psi = (
            model.kind, model.k, model.covariance, model.factors, model.psi)
        layout.addWidget(model)

        # -- start
        start = QtWidgets.QGroupBox("Start")
        form = QtWidgets.QFormLayout(start)
        self.init = QtWidgets.QComboBox()
        for i, name in enumerate(INIT_METHODS):
            self.init.addItem(START_LABELS[name], name)
            self.init.setItemData(i, START_TIPS[name], QtCore.Qt.ItemDataRole.ToolTipRole)
        self.init.setToolTip("How EM's first parameters θ₀ are chosen (File ▸ Import start parameters… adds a file)")
        form.addRow("Method", self.init)
        self.factor_init = QtWidgets.QComboBox()
        self.factor_init.setToolTip("How the factor model's first parameters θ₀ are chosen")
        form.addRow("Method", self.factor_init)
        self.start_form = form
        self.seed = QtWidgets.QSpinBox()
        self.seed.setRange(0, SPIN_MAX)
        self.seed.setToolTip("Random seed: the same seed gives the same start and the same fit")
        form.addRow("Seed", self.seed)
        self.restarts = QtWidgets.QSpinBox()
        self.restarts.setRange(1, MAX_RESTARTS)
        self.restarts.setToolTip("Starts tried when Run begins afresh; the best log-likelihood is kept "
                                 "(collapsed starts lose to healthy ones)")
        form.addRow("Restarts", self.restarts)
        # What the chosen start does, in words (seed-step0 is the first seed's step 0).
        self.start_note = WrappedNote()
        self.start_note.setStyleSheet("color: #555;")
        form.addRow(self.start_note)
        self.init.currentIndexChanged.connect(self._explain_start)
        self._explain_start()
        layout.addWidget(start)

        # -- stopping
        stopping = QtWidgets.QGroupBox("Convergence")
        form = QtWidgets.QFormLayout(stopping)
        self.max_iter = QtWidgets.QSpinBox()
        self.max_iter.setRange(0, SPIN_MAX)
        self.max_iter.setValue(500)
        self.max_iter.setToolTip("Most EM iterations (one iteration = one E-step then one M-step)")
        form.addRow("Max iterations", self.max_iter)
        self.tol = _NumberEdit(1e-6, "Tolerance")
        self.tol.setToolTip("Stop when the mean per-sample log-likelihood rises by less than this; "
                            "0 runs exactly Max iterations")
        form.addRow("Tolerance", self.tol)
        self.reg_covar = _NumberEdit(1e-6, "reg_covar")
        self.reg_covar.setToolTip("Added to every covariance's diagonal after each M-step "
                                  "(keeps components from collapsing onto a point)")
        form.addRow("reg_covar", self.reg_covar)
        self.stopping_form = form
        self.pace = QtWidgets.QComboBox()
        for label, seconds in PACES:
            self.pace.addItem(label, seconds)
        self.pace.setCurrentIndex(DEFAULT_PACE)
        self.pace.setToolTip("How fast a run goes. Fastest: EM at full speed, the screen showing the newest "
                             "iteration as often as it can draw;\nthe others wait after each iteration so that "
                             "you can watch every one (the computation itself is not slowed)")
        form.addRow("Pace", self.pace)
        layout.addWidget(stopping)

        self._settings_boxes = [model, start, stopping]

        # -- run and step
        run = QtWidgets.QGroupBox("Run")
        grid = QtWidgets.QGridLayout(run)
        grid.setSpacing(4)
        self.buttons: dict[str, QtWidgets.QToolButton] = {}
        placement = [("run", 0, 0), ("pause", 0, 1), ("stop", 0, 2),
                     ("step_e", 1, 0), ("step_m", 1, 1), ("step", 1, 2), ("reinit", 2, 0)]
        for name, row, col in placement:
            button = QtWidgets.QToolButton()
            button.setDefaultAction(actions[name])
            button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
            button.setMinimumHeight(28)
            self.buttons[name] = button
            grid.addWidget(button, row, col, 1, 3 if name == "reinit" else 1)
        layout.addWidget(run)

        # -- axes
        self.axes_box = QtWidgets.QGroupBox("Axes shown")
        form = QtWidgets.QFormLayout(self.axes_box)
        self.x_axis = QtWidgets.QComboBox()
        self.y_axis = QtWidgets.QComboBox()
        self.x_axis.setToolTip("Column on the horizontal axis (the ellipses are each component's exact marginal)")
        self.y_axis.setToolTip("Column on the vertical axis (the ellipses are each component's exact marginal)")
        form.addRow("X", self.x_axis)
        form.addRow("Y", self.y_axis)
        self.axes_box.setVisible(False)
        layout.addWidget(self.axes_box)

        # -- the 1-D histogram
        self.histogram_box = QtWidgets.QGroupBox("Histogram")
        form = QtWidgets.QFormLayout(self.histogram_box)
        self.bins = QtWidgets.QSpinBox()
        self.bins.setRange(0, MAX_CHOSEN_BINS)
        self.bins.setSpecialValueText(AUTO_BINS)  # 0: the Freedman–Diaconis number
        self.bins.setToolTip("Bins of the histogram. auto: the Freedman–Diaconis rule, bin width "
                             "2·IQR·n^(−1/3), which follows the data's spread; or type a number")
        self.bins.setAccelerated(True)
        form.addRow("Bins", self.bins)
        self.histogram_box.setVisible(False)
        layout.addWidget(self.histogram_box)

        # -- what was loaded
        self.report = QtWidgets.QLabel()
        self.report.setWordWrap(True)
        self.report.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.report.setStyleSheet("color: #444;")
        self.report.setToolTip("What the loader read: rows and columns used, columns left out, rows dropped")
        report_box = QtWidgets.QGroupBox("Data")
        report_layout = QtWidgets.QVBoxLayout(report_box)
        self.sheet = QtWidgets.QComboBox()
        self.sheet.setToolTip("The workbook's sheet the data are read from: choose another to read it")
        self.sheet_row = QtWidgets.QWidget()
        sheet_layout = QtWidgets.QFormLayout(self.sheet_row)
        sheet_layout.setContentsMargins(0, 0, 0, 0)
        sheet_layout.addRow("&Sheet", self.sheet)
        self.sheet_row.setVisible(False)  # only for a workbook of several sheets
        report_layout.addWidget(self.sheet_row)
        report_layout.addWidget(self.report)
        layout.addWidget(report_box)
        layout.addStretch(1)

        for widget in (self.k, self.seed, self.restarts, self.max_iter, self.factors):
            widget.valueChanged.connect(self._changed)
        for widget in (self.covariance, self.init, self.psi, self.factor_init):
            widget.currentIndexChanged.connect(self._changed)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()
        for widget in (self.tol, self.reg_covar):
            widget.textChanged.connect(self._changed)
        self.pace.currentIndexChanged.connect(lambda _: self.pace_changed.emit(self.pace_seconds()))
        self.x_axis.currentIndexChanged.connect(self._axes_changed)
        self.y_axis.currentIndexChanged.connect(self._axes_changed)
        self.bins.valueChanged.connect(self.bins_changed.emit)
        self.sheet.activated.connect(lambda index: self.sheet_chosen.emit(self.sheet.itemText(index)))
        # A choice's longest item never sets the column's width (its list opens as wide as it needs).
        for combo in self.findChildren(QtWidgets.QComboBox):
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)

    # ------------------------------------------------------------------ settings
    def set_editable(self, editable: bool) -> None:
        """Settings are locked while EM runs (the run and step buttons follow their actions)."""
        for box in self._settings_boxes + [self.axes_box]:
            box.setEnabled(editable)

    def invalid_fields(self) -> list[str]:
        """One message for each field whose text is not a value it takes (empty: all are)."""
        return [f"{edit.name} is “{edit.text()}”, not a number ≥ 0" for edit in (self.tol, self.reg_covar)
                if not edit.is_valid()]

    def pace_seconds(self) -> float:
        return float(self.pace.currentData())

    def settings(self) -> FitSettings:
        init = self.init.currentData()
        if init == FILE_START and self._file_start is not None:
            init = self._file_start
        return FitSettings(k=self.k.value(), covariance_type=self.covariance.currentData(), init=init,
                           seed=self.seed.value(), restarts=self.restarts.value(),
                           max_iter=self.max_iter.value(), tol=self.tol.value(),
                           reg_covar=self.reg_covar.value())

    def set_settings(self, settings: FitSettings) -> None:
        self._emitting = False
        try:
            self.k.setValue(settings.k)
            self.covariance.setCurrentIndex(model_choice.covariance_index(self.covariance, settings.covariance_type))
            if isinstance(settings.init, MixtureParams):
                self.set_file_start(settings.init, "parameter file")
            else:
                self.init.setCurrentIndex(self.init.findData(settings.init))
            self.seed.setValue(settings.seed)
            self.restarts.setValue(settings.restarts)
            self.max_iter.setValue(settings.max_iter)
            self.tol.set_value(settings.tol)
            self.reg_covar.set_value(settings.reg_covar)
        finally:
            self._emitting = True
        self._changed()

    def show_k(self, k: int) -> None:
        """Show K (after a hand edit added or deleted a component) without announcing new settings."""
        was = self._emitting
        self._emitting = False
        try:
            self.k.setValue(k)
        finally:
            self._emitting = was

    def set_file_start(self, params: MixtureParams, name: str) -> None:
        """Offer an imported parameter file as the start (and set K to its K)."""
        was = self._emitting
        self._emitting = False
        self._file_start = params
        self.set_kind("mixture")  # a parameter file is a Gaussian mixture's start
        index = self.init.findData(FILE_START)
        if index < 0:
            self.init.addItem("", FILE_START)
            index = self.init.count() - 1
        self.init.setItemText(index, f"file: {name}")
        self.init.setItemData(index, f"the parameters read from {name}", QtCore.Qt.ItemDataRole.ToolTipRole)
        self.init.setCurrentIndex(index)
        self.k.setValue(params.n_components)
        self._emitting = was

    def _explain_start(self, *_) -> None:
        if self.model_kind() != "mixture":
            self.start_note.setText(self.factor_init.currentData(QtCore.Qt.ItemDataRole.ToolTipRole) or "")
            return
        method = self.init.currentData()
        self.start_note.setText(START_EXPLANATIONS.get(method, START_TIPS.get(method, "")))

    def _changed(self, *_) -> None:
        if self._emitting:
            self.settings_changed.emit(self.settings())
            self.factor_changed.emit(self.factor_settings())

    # ------------------------------------------------------------------ the model kind
    def model_kind(self) -> str:
        """"mixture", "fa" or "mfa"."""
        return self.kind.currentData()

    def factor_settings(self) -> FactorSettings | None:
        """The factor model asked for (the Start and Convergence boxes' seed, restarts, iterations and
        tolerance), or None for a Gaussian mixture."""
        kind = self.model_kind()
        if kind == "mixture":
            return None
        return FactorSettings(k=1 if kind == "fa" else self.k.value(), n_factors=self.factors.value(),
                              psi=self.psi.currentData(), init=self.factor_init.currentData(),
                              seed=self.seed.value(), restarts=self.restarts.value(),
                              max_iter=self.max_iter.value(), tol=self.tol.value())

    def _kind_changed(self, *_) -> None:
        """Show the rows of the chosen kind (ModelBox.show_kind), the start methods of the kind;
        reg_covar is the Gaussian mixture's."""
        kind = self.model_kind()
        mixture = kind == "mixture"
        self.model_box.show_kind(kind)
        self.start_form.setRowVisible(self.init, mixture)
        self.start_form.setRowVisible(self.factor_init, not mixture)
        self.stopping_form.setRowVisible(self.reg_covar, mixture)
        if not mixture:
            model_choice.fill_factor_starts(self.factor_init, kind)
        self._explain_start()
        self._changed()

    def set_kind(self, kind: str) -> None:
        """Choose the model kind ("mixture", "fa", "mfa")."""
        self.kind.setCurrentIndex(max(self.kind.findData(kind), 0))

    def set_factor_model(self, kind: str, factors: int, psi: str = "shared") -> None:
        """A factor model (``emstudio gui --model fa|mfa --factors Q --psi …``); q larger than the
        data allows is lowered to d − 1 when the data is loaded."""
        self.set_kind(kind)
        self.factors.setValue(factors)
        self.psi.setCurrentIndex(max(self.psi.findData(psi), 0))

    # ------------------------------------------------------------------ data
    def set_columns(self, columns, report_lines) -> None:
        d = len(columns)
        for combo in (self.x_axis, self.y_axis):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(list(columns))
            combo.blockSignals(False)
        if d > 1:
            self.x_axis.setCurrentIndex(0)
            self.y_axis.setCurrentIndex(1)
        self.axes_box.setVisible(d > 2)
        self.histogram_box.setVisible(d == 1)
        # 1-D data has the covariance models E and V only, and no factor model (q < d).
        was = self._emitting
        self._emitting = False
        self.model_box.set_dimension(d)
        self._emitting = was
        self._changed()
        self.report.setText("\n".join(report_lines))

    def set_sheets(self, sheets, sheet) -> None:
        """List a workbook's sheets with the one read chosen (hidden for other files and one sheet)."""
        self.sheet.blockSignals(True)
        self.sheet.clear()
        self.sheet.addItems(list(sheets))
        if sheet in sheets:
            self.sheet.setCurrentIndex(list(sheets).index(sheet))
        self.sheet.blockSignals(False)
        self.sheet_row.setVisible(len(sheets) > 1)

    def show_bins(self, bins: int) -> None:
        """Say how many bins "auto" gave (the plot's count after new data or a new choice)."""
        self.bins.setSpecialValueText(f"{AUTO_BINS} ({bins})" if self.bins.value() == 0 else AUTO_BINS)

    def _axes_changed(self, *_) -> None:
        x, y = self.x_axis.currentIndex(), self.y_axis.currentIndex()
        if x >= 0 and y >= 0:
            self.axes_changed.emit(x, y)
